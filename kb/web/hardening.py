"""What every response gets, whichever route answers it: relative redirects, HEAD, `Cache-Control`, an optional
trusted-host check, and an OpenAPI schema that says what the API really accepts and answers.

- Starlette's trailing-slash redirect builds an absolute URL from the `Host` header, so `Host: evil.example` came
  back as `Location: http://evil.example/...`. Redirects here are relative and never leave the site (`//host`
  and `/\\host` are cut to one `/`). `KB_ALLOWED_HOSTS` additionally refuses other `Host` headers (Starlette's
  `TrustedHostMiddleware`); by default any host is served, as a training-room laptop is reached by whatever
  address the room's network gives it.
- HEAD is answered as GET without the body, on every GET route (monitors probe `/` and `/api/health` that way).
- `Cache-Control`: static files are named with a content hash (`?v=`), so they are cacheable for a year; pages
  and API answers are `no-cache`, so nothing is stale after a rebuild.
- The OpenAPI schema documents the project's `{"error": {"field", "message"}}` body for 4xx (not FastAPI's
  `HTTPValidationError`), 404s, the languages and modules of the live index as enums, and HEAD on health."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

STATIC_CACHE = "public, max-age=31536000, immutable"
"""For `/static/...?v=<hash>`: the URL changes when the file does."""
UNVERSIONED_STATIC_CACHE = "public, max-age=300"
DYNAMIC_CACHE = "no-cache"
"""Pages and API: a browser may keep a copy but asks again each time, so a rebuild is seen at once."""

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {
        "type": "object",
        "required": ["field", "message"],
        "properties": {
            "field": {"anyOf": [{"type": "string"}, {"type": "null"}],
                      "description": "the request field that is wrong (a query parameter, 'path'), or null"},
            "message": {"type": "string", "description": "what is wrong, in English"},
        },
    }},
}


def wrap(app: ASGIApp, allowed_hosts: Iterable[str] = ("*",)) -> ASGIApp:
    """The app inside `Hardening` (and `TrustedHostMiddleware` when hosts are configured): put it outside
    Starlette's error middleware, so that 500s get `Cache-Control` too."""
    app = Hardening(app)
    hosts = list(allowed_hosts)
    return app if hosts == ["*"] else TrustedHostMiddleware(app, allowed_hosts=hosts)


def install_schema(app: FastAPI, enums: Callable[[], dict[str, list[str]]]) -> None:
    """Serve `openapi_schema` (slash redirects are `Hardening`'s: Starlette's own would use the Host header)."""
    app.router.redirect_slashes = False
    app.openapi = lambda: openapi_schema(app, enums())  # type: ignore[method-assign]


class Hardening:
    """Pure ASGI middleware (it sees every response, streamed or not): slash redirects, HEAD, Cache-Control."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        method: str = scope["method"]
        if method in ("GET", "HEAD") and len(path) > 1 and path.endswith("/"):
            await _redirect(scope, send, "/" + path.strip("/\\"))
            return
        head = method == "HEAD"
        if head:
            scope = {**scope, "method": "GET"}
        cache = _cache_control(path, scope.get("query_string", b""))

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(k.lower() == b"cache-control" for k, _ in headers):
                    headers.append((b"cache-control", cache.encode()))
                message = {**message, "headers": _allow_head(headers)}
            elif message["type"] == "http.response.body" and head:
                message = {**message, "body": b""}
            await send(message)

        await self.app(scope, receive, send_wrapper)


async def _redirect(scope: Scope, send: Send, target: str) -> None:
    location = quote(target, safe="/:@!$&'()*+,;=-._~%")
    if scope.get("query_string"):
        location += "?" + scope["query_string"].decode("latin-1")
    headers = [(b"location", location.encode("latin-1")), (b"content-length", b"0"),
               (b"cache-control", DYNAMIC_CACHE.encode())]
    await send({"type": "http.response.start", "status": 307, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


def _cache_control(path: str, query: bytes) -> str:
    if path.startswith("/static/"):
        return STATIC_CACHE if b"v=" in query else UNVERSIONED_STATIC_CACHE
    return DYNAMIC_CACHE


def _allow_head(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """A 405's `Allow` names HEAD wherever GET is allowed, as this middleware answers it."""
    out = []
    for key, value in headers:
        if key.lower() == b"allow":
            methods = [m.strip() for m in value.decode("latin-1").split(",") if m.strip()]
            if "GET" in methods and "HEAD" not in methods:
                methods.append("HEAD")
            value = ", ".join(methods).encode("latin-1")
        out.append((key, value))
    return out


def openapi_schema(app: FastAPI, enums: dict[str, list[str]]) -> dict[str, Any]:
    """The app's schema with the project's error model, the live enums and HEAD on health (built per request:
    the modules of the index can change while the server runs)."""
    schema = get_openapi(title=app.title, version=app.version, routes=app.routes, description=app.description)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    components["Error"] = ERROR_SCHEMA
    ref = {"$ref": "#/components/schemas/Error"}
    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                if status.startswith("4"):
                    response["content"] = {"application/json": {"schema": ref}}
            for param in operation.get("parameters", []):
                if param["name"] in enums and param["in"] == "query":
                    param["schema"] = {"type": "string", "enum": ["", *enums[param["name"]]],
                                       "default": "", "description": "empty: all"}
        if path == "/api/health" and "get" in operations:
            get = operations["get"]
            operations["head"] = {"summary": get.get("summary", "") + " (headers only)",
                                  "operationId": get.get("operationId", "health") + "_head",
                                  "responses": {"200": {"description": "the index is loaded"}}}
    return schema
