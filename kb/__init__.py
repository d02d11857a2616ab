"""Multilingual oncology guideline knowledge base: content model, search, web app and CLI."""

LANGS: tuple[str, ...] = ("zh", "en", "vi")
"""The content languages, in the order the UI lists them."""

__version__ = "0.1.0"
