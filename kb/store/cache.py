"""Embedding cache (SQLite, so it lives in the store): a chunk whose text did not change is never embedded twice
by the same embedder.

Kept beside the builds (not inside one) and committed batch by batch, so an interrupted build keeps what it
already paid for."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import numpy as np


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS embeddings (embedder TEXT, hash TEXT, dim INTEGER, "
                        "vector BLOB, PRIMARY KEY (embedder, hash))")

    def get_many(self, embedder: str, hashes: list[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(hashes))
        for start in range(0, len(unique), 500):
            part = unique[start:start + 500]
            marks = ",".join("?" * len(part))
            for h, dim, blob in self.db.execute(
                f"SELECT hash, dim, vector FROM embeddings WHERE embedder = ? AND hash IN ({marks})",
                [embedder, *part],
            ):
                found[h] = np.frombuffer(blob, dtype=np.float32, count=dim)
        return found

    def put_many(self, embedder: str, items: dict[str, np.ndarray]) -> None:
        self.db.executemany(
            "INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?, ?)",
            [(embedder, h, int(v.shape[0]), np.asarray(v, dtype=np.float32).tobytes()) for h, v in items.items()],
        )
        self.db.commit()

    def close(self) -> None:
        self.db.close()
