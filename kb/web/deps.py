"""FastAPI dependencies as Annotated aliases, so handlers name what they need, not where it is.

Everything comes from the one `KnowledgeBase` on `app.state.kb`. A request takes the live snapshot once
(`SnapshotDep`; FastAPI caches a dependency per request, so its searcher and library come from the same build)
and holds it until the response is ready: a swap meanwhile never mixes two builds in one answer.

They are `async def` because none of them waits for anything: FastAPI runs a plain `def` dependency in its thread
pool, and the five hops a search request took there were a tenth of the server's CPU under 16 clients (py-spy;
74 against 85 queries/s with them async, the shipped corpus). The handlers that embed or read stay plain `def`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request

from kb.library import Library
from kb.runtime import KnowledgeBase, Snapshot
from kb.search import Searcher
from kb.settings import Settings
from kb.web.templating import Renderer, Ui


async def get_kb(request: Request) -> KnowledgeBase:
    return request.app.state.kb


KbDep = Annotated[KnowledgeBase, Depends(get_kb)]


async def get_snapshot(request: Request, kb: KbDep) -> AsyncIterator[Snapshot]:
    with kb.acquire() as snapshot:
        request.state.build_id = snapshot.build_id  # pages carry it, so live.js knows what it shows
        yield snapshot


SnapshotDep = Annotated[Snapshot, Depends(get_snapshot)]


async def get_settings(kb: KbDep) -> Settings:
    return kb.settings


async def get_searcher(snapshot: SnapshotDep) -> Searcher:
    return snapshot.searcher


async def get_library(snapshot: SnapshotDep) -> Library:
    return snapshot.library


async def get_renderer(request: Request) -> Renderer:
    return request.app.state.renderer


async def get_ui(request: Request, renderer: Annotated[Renderer, Depends(get_renderer)]) -> Ui:
    return renderer.ui(request)


SettingsDep = Annotated[Settings, Depends(get_settings)]
SearchDep = Annotated[Searcher, Depends(get_searcher)]
LibraryDep = Annotated[Library, Depends(get_library)]
RendererDep = Annotated[Renderer, Depends(get_renderer)]
UiDep = Annotated[Ui, Depends(get_ui)]
