"""`/api/docs` offline: Swagger UI from the `fastapi-offline` package's copy of its assets (swagger-ui, Apache-2.0),
served by this app under the same strict Content Security Policy as every page. FastAPI's own docs page loads
its assets from a CDN (blocked by the CSP, unreachable offline) and starts Swagger UI with an inline script
(also blocked), so the page here is a static shell and the start-up is `static/apidocs.js`."""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = Path(fastapi_offline.__file__).parent / "static"

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · API</title>
<link rel="stylesheet" href="/api/docs/assets/swagger-ui.css">
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
</head>
<body>
<div id="swagger-ui" data-openapi="{openapi}"></div>
<script src="/api/docs/assets/swagger-ui-bundle.js"></script>
<script src="/static/apidocs.js"></script>
</body>
</html>
"""


def install(app: FastAPI) -> None:
    app.mount("/api/docs/assets", StaticFiles(directory=ASSETS), name="apidocs-assets")
    page = PAGE.format(title=app.title, openapi=app.openapi_url)

    @app.get("/api/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(page)
