"""FastAPI dependencies as Annotated aliases over `app.state`, so handlers name what they need, not where it is."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from kb.library import Library
from kb.search import Searcher
from kb.settings import Settings


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_searcher(request: Request) -> Searcher:
    return request.app.state.searcher


def get_library(request: Request) -> Library:
    return request.app.state.library


SettingsDep = Annotated[Settings, Depends(get_settings)]
SearchDep = Annotated[Searcher, Depends(get_searcher)]
LibraryDep = Annotated[Library, Depends(get_library)]
