"""Opening a Searcher from settings: the one place that ties index, embedder and glossary together, shared by the
CLI, the web app and the benchmarks."""

from __future__ import annotations

from kb.embedders import Embedder, get_embedder
from kb.glossary import GLOSSARY_FILE, load_glossary
from kb.search import Searcher
from kb.settings import Settings
from kb.store import IndexData, IndexUnavailableError, embedder_mismatch, read_manifest


def open_searcher(settings: Settings, embedder: Embedder | None = None) -> Searcher:
    """Load the live index and check it was built by the embedder the settings name, before loading a model."""
    manifest = read_manifest(settings.index_dir)
    if manifest is None:
        raise IndexUnavailableError(f"no index in {settings.index_dir}: build it with 'kb index --content "
                                    f"{settings.content_dir} --index {settings.index_dir}'")
    if manifest["embedder"] != settings.embedder:
        raise embedder_mismatch(settings.index_dir, manifest["embedder"], settings.embedder)
    index = IndexData(settings.index_dir)
    glossary = None
    if settings.glossary_expansion and (index.path / GLOSSARY_FILE).is_file():
        glossary, _ = load_glossary(index.path / GLOSSARY_FILE)
    return Searcher(index, embedder or get_embedder(settings.embedder), glossary, settings.query_cache_size)
