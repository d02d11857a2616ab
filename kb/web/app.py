"""`create_app(settings)`: the app factory. No module-level app: tests and `kb serve` each build their own."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from kb.library import Library
from kb.search import Searcher
from kb.settings import Settings
from kb.web import api, pages

log = logging.getLogger("kb.web")

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; font-src 'self'; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def create_app(settings: Settings, searcher: Searcher | None = None) -> FastAPI:
    """The web app over the index named in settings; pass a searcher to share one loaded model between apps."""
    from kb.service import open_searcher

    searcher = searcher or open_searcher(settings)
    app = FastAPI(title="Oncology guideline knowledge base", docs_url="/api/docs", redoc_url=None,
                  openapi_url="/api/openapi.json")
    app.state.settings = settings
    app.state.searcher = searcher
    app.state.library = Library(searcher.index, searcher.langs)
    app.include_router(api.router)
    pages.install(app, settings)
    _install_errors(app)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):  # noqa: ANN001, ANN202
        return secure(await call_next(request))

    return app


def secure(response: Response) -> Response:
    """Add the security headers a response does not set itself."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        field = str(first.get("loc", ["", "request"])[-1])
        return JSONResponse({"error": {"field": field, "message": first.get("msg", "invalid request")}},
                            status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        handler = getattr(app.state, "html_error", None)
        if handler is not None and not request.url.path.startswith("/api/"):
            return handler(request, exc.status_code)
        body = {"error": {"field": "path", "message": str(exc.detail)}}
        return JSONResponse(body, status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> Response:
        """Starlette answers unhandled errors outside the middleware stack, so headers are added here too."""
        log.exception("unhandled error on %s", request.url.path)
        handler = getattr(app.state, "html_error", None)
        if handler is not None and not request.url.path.startswith("/api/"):
            return secure(handler(request, 500))
        return secure(JSONResponse({"error": {"field": None, "message": "internal error"}}, status_code=500))
