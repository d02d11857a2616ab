"""The web layer: `create_app(kb)` builds the FastAPI app over a KnowledgeBase (JSON API and HTML pages)."""
