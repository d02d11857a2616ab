"""sentence-transformers backend: any local model, loaded with the hub switched off so nothing is downloaded.

Imported only when this backend is chosen: importing sentence-transformers (and torch) takes seconds."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np

from kb.embedders import EmbedderError

E5_PROMPTS = {"query": "query: ", "passage": "passage: "}


class SentenceTransformerEmbedder:
    max_tokens = 512

    def __init__(self, name_or_path: str) -> None:
        if not name_or_path:
            raise EmbedderError("sentence-transformers needs a model: 'sentence-transformers:<name-or-path>'")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EmbedderError("the sentence-transformers backend is an extra: pip install -e '.[st]' "
                                "(with torch==2.13.0 for the CPU build)") from exc
        local = Path(name_or_path).expanduser()
        try:
            self._model = SentenceTransformer(str(local) if local.exists() else name_or_path,
                                              local_files_only=True)  # device: cuda when torch has one
        except Exception as exc:  # the library raises OSError, ValueError or HF errors for a missing model
            raise EmbedderError(f"model '{name_or_path}' is not available on this machine (no download is "
                                f"attempted): give a local folder or a model in the Hugging Face cache ({exc})"
                                ) from exc
        self.id = f"sentence-transformers:{name_or_path}"
        dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(dim())
        self.max_tokens = int(getattr(self._model, "max_seq_length", 512) or 512)
        prompts = dict(getattr(self._model, "prompts", {}) or {})
        if "e5" in name_or_path.lower():
            prompts = {**E5_PROMPTS, **prompts}
        self._query_prompt = prompts.get("query")
        self._passage_prompt = prompts.get("passage", prompts.get("document"))
        self._lock = threading.Lock()

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self._query_prompt)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self._passage_prompt)

    def token_count(self, text: str) -> int:
        return len(self._model.tokenizer((self._passage_prompt or "") + text)["input_ids"])

    def _encode(self, texts: list[str], prompt: str | None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            out = self._model.encode(list(texts), prompt=prompt, normalize_embeddings=True,
                                     convert_to_numpy=True, show_progress_bar=False)
        return np.ascontiguousarray(out, dtype=np.float32)
