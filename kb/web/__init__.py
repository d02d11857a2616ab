"""The web layer: `create_app(settings)` builds the FastAPI app (JSON API and HTML pages)."""
