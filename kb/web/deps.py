"""FastAPI dependencies as Annotated aliases, so handlers name what they need, not where it is.

Everything comes from the one `KnowledgeBase` on `app.state.kb`. A request takes the live snapshot once
(`SnapshotDep`; FastAPI caches a dependency per request, so its searcher and library come from the same build)
and holds it until the response is ready: a swap meanwhile never mixes two builds in one answer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request

from kb.library import Library
from kb.runtime import KnowledgeBase, Snapshot
from kb.search import Searcher
from kb.settings import Settings
from kb.web.templating import Renderer, Ui


def get_kb(request: Request) -> KnowledgeBase:
    return request.app.state.kb


KbDep = Annotated[KnowledgeBase, Depends(get_kb)]


def get_snapshot(request: Request, kb: KbDep) -> Iterator[Snapshot]:
    with kb.acquire() as snapshot:
        request.state.build_id = snapshot.build_id  # pages carry it, so live.js knows what it shows
        yield snapshot


SnapshotDep = Annotated[Snapshot, Depends(get_snapshot)]


def get_settings(kb: KbDep) -> Settings:
    return kb.settings


def get_searcher(snapshot: SnapshotDep) -> Searcher:
    return snapshot.searcher


def get_library(snapshot: SnapshotDep) -> Library:
    return snapshot.library


def get_renderer(request: Request) -> Renderer:
    return request.app.state.renderer


def get_ui(request: Request, renderer: Annotated[Renderer, Depends(get_renderer)]) -> Ui:
    return renderer.ui(request)


SettingsDep = Annotated[Settings, Depends(get_settings)]
SearchDep = Annotated[Searcher, Depends(get_searcher)]
LibraryDep = Annotated[Library, Depends(get_library)]
RendererDep = Annotated[Renderer, Depends(get_renderer)]
UiDep = Annotated[Ui, Depends(get_ui)]
