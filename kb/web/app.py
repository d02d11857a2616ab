"""`create_app(kb)`: the app factory over one `KnowledgeBase`. No module-level app: tests and `kb serve` each
build their own; `worker_app` builds one per process for `kb serve --workers N`."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp

from kb.errors import KbError
from kb.recommendations import filter_values
from kb.runtime import KnowledgeBase
from kb.settings import Settings
from kb.web import api, apidocs, courses, events, glossary, handouts, hardening, pages, present, translate
from kb.web.security import SecurityHeaders
from kb.web.templating import Renderer

log = logging.getLogger("kb.web")


class KbApp(FastAPI):
    def build_middleware_stack(self) -> ASGIApp:
        """The security headers, then redirects, HEAD and Cache-Control, wrap everything, Starlette's own error
        middleware included."""
        return SecurityHeaders(hardening.wrap(super().build_middleware_stack(), self.state.kb.settings.allowed_hosts))


def create_app(kb: KnowledgeBase) -> FastAPI:
    """The web app over a knowledge base; the caller starts its watchers (`kb.start()`) and closes it."""
    app = KbApp(title="Oncology guideline knowledge base", docs_url=None, redoc_url=None,
                openapi_url="/api/openapi.json")
    renderer = Renderer(kb.settings)
    app.state.kb = kb
    app.state.renderer = renderer
    app.include_router(api.router)
    app.include_router(events.router)
    apidocs.install(app)
    app.include_router(present.router)  # trainer mode: slides, presenter view, phones following
    app.include_router(present.api_router)
    app.include_router(handouts.router)
    app.include_router(courses.router)
    pages.install(app, kb.settings)
    glossary.install(app)
    app.include_router(translate.router)
    _install_errors(app, renderer)
    hardening.install_schema(app, lambda: schema_enums(kb))
    return app


def schema_enums(kb: KnowledgeBase) -> dict[str, list[str]]:
    """The values of the live index that query parameters take, published as enums in the API schema."""
    searcher = kb.current.searcher
    categories = sorted({t.category for t in searcher.glossary.terms if t.category}) if searcher.glossary else []
    return {"lang": list(searcher.langs), "module": sorted(searcher.modules), "category": categories,
            **filter_values()}


def worker_app() -> FastAPI:
    """One worker of `kb serve --workers N`: its own knowledge base from the environment (KB_*), following the
    CURRENT pointer on its own; the parent process watches the content and builds."""
    kb = KnowledgeBase(Settings.from_env())
    kb.start()
    return create_app(kb)


def _install_errors(app: FastAPI, renderer: Renderer) -> None:
    def wants_html(request: Request) -> bool:
        return not request.url.path.startswith("/api/")

    def json_error(status: int, field: str | None, message: str) -> JSONResponse:
        return JSONResponse({"error": {"field": field, "message": message}}, status_code=status)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        field = str(first.get("loc", ["", "request"])[-1])
        return json_error(422, field, first.get("msg", "invalid request"))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        response = (pages.error_page(request, renderer, exc.status_code) if wants_html(request)
                    else json_error(exc.status_code, "path", str(exc.detail)))
        response.headers.update(exc.headers or {})  # a 405's Allow
        return response

    @app.exception_handler(KbError)
    async def ours(request: Request, exc: KbError) -> Response:
        """An error of ours that reached a handler (a damaged index file read mid-request): no traceback."""
        log.error("%s: %s", request.url.path, exc.message)
        if wants_html(request):
            return pages.error_page(request, renderer, 503)
        return json_error(503, None, "the index could not answer; the server log says why")

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s", request.url.path)
        if wants_html(request):
            return pages.error_page(request, renderer, 500)
        return json_error(500, None, "internal error")
