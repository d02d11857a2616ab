"""The index on disk, written atomically and read by search.

    <index>/CURRENT              name of the live build (replaced atomically with os.replace)
    <index>/builds/<id>/         manifest.json, meta.sqlite, vectors-<lang>.faiss
    <index>/cache.sqlite         embedding cache keyed by (embedder, chunk-text hash), shared by builds

A build is written to `builds/<id>.tmp`, renamed, and only then named in CURRENT: a crash or Ctrl-C at any point
leaves the previous build live and complete."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from collections import defaultdict
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from kb.build.chunking import Chunk

FORMAT = 2
SCHEMA = """
CREATE TABLE documents (module TEXT, lang TEXT, path TEXT, title TEXT, meta TEXT, html TEXT,
                        PRIMARY KEY (module, lang));
CREATE TABLE sections (module TEXT, lang TEXT, id TEXT, ordinal INTEGER, level INTEGER, heading TEXT,
                       parent TEXT, line INTEGER, hash TEXT, text TEXT, html TEXT,
                       PRIMARY KEY (module, lang, id));
CREATE TABLE chunks (id INTEGER PRIMARY KEY, module TEXT, lang TEXT, section TEXT, ordinal INTEGER,
                     title TEXT, heading TEXT, heading_path TEXT, body TEXT, text_hash TEXT);
CREATE TABLE findings (path TEXT, line INTEGER, severity TEXT, rule TEXT, message TEXT,
                       module TEXT, lang TEXT, section TEXT);
CREATE TABLE stop_tokens (lang TEXT, token TEXT, PRIMARY KEY (lang, token));
CREATE VIRTUAL TABLE keywords USING fts5(tokens, lang UNINDEXED, module UNINDEXED,
                                         tokenize = "unicode61 remove_diacritics 0 tokenchars '-_.'");
"""


class IndexUnavailableError(RuntimeError):
    """No usable index at the given place, or one built by another embedder."""


def embedder_mismatch(index_dir: Path, built_by: str, wanted: str) -> IndexUnavailableError:
    """The one message for an index queried by an embedder other than the one that built it."""
    return IndexUnavailableError(
        f"the index in {index_dir} was built by '{built_by}', not '{wanted}': rebuild it with "
        f"'kb index --embedder {wanted} --index {index_dir}', or use '--embedder {built_by}'")


def current_build(index_dir: Path) -> Path | None:
    """The live build folder, or None when nothing was ever built completely."""
    pointer = index_dir / "CURRENT"
    if not pointer.is_file():
        return None
    build = index_dir / "builds" / pointer.read_text().strip()
    return build if (build / "manifest.json").is_file() else None


def read_manifest(index_dir: Path) -> dict[str, Any] | None:
    build = current_build(index_dir)
    return json.loads((build / "manifest.json").read_text()) if build else None


def new_build_dir(index_dir: Path, build_id: str) -> Path:
    tmp = index_dir / "builds" / f"{build_id}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    return tmp


def create_meta_db(build_dir: Path) -> sqlite3.Connection:
    db = sqlite3.connect(build_dir / "meta.sqlite")
    db.executescript(SCHEMA)
    return db


def write_vectors(build_dir: Path, lang: str, ids: np.ndarray, vectors: np.ndarray, dim: int) -> None:
    """Inner product on normalised vectors is cosine; a flat index is exact and fast at this corpus size."""
    index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
    if len(ids):
        index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids.astype(np.int64))
    faiss.write_index(index, str(build_dir / f"vectors-{lang}.faiss"))


def publish(index_dir: Path, tmp_dir: Path, manifest: dict[str, Any]) -> Path:
    """Make a finished build live: manifest last inside it, rename, then switch CURRENT atomically."""
    _write_json(tmp_dir / "manifest.json", manifest)
    final = tmp_dir.with_name(tmp_dir.name.removesuffix(".tmp"))
    os.replace(tmp_dir, final)
    pointer_tmp = index_dir / "CURRENT.tmp"
    pointer_tmp.write_text(final.name + "\n")
    _fsync(pointer_tmp)
    os.replace(pointer_tmp, index_dir / "CURRENT")
    _prune(index_dir, keep={final.name})
    return final


def _prune(index_dir: Path, keep: set[str]) -> None:
    """Drop old builds, keeping the newest previous one for a server that still has it open."""
    builds = sorted((p for p in (index_dir / "builds").iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
    finished = [p for p in builds if not p.name.endswith(".tmp") and p.name not in keep]
    for old in finished[:-1] + [p for p in builds if p.name.endswith(".tmp")]:
        shutil.rmtree(old, ignore_errors=True)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    _fsync(path)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class IndexData:
    """A live build opened for reading: manifest, per-language FAISS indexes, chunk rows and SQLite."""

    def __init__(self, index_dir: Path) -> None:
        build = current_build(index_dir)
        if build is None:
            raise IndexUnavailableError(f"no index in {index_dir}: build one with 'kb index'")
        self.path = build
        self.manifest: dict[str, Any] = json.loads((build / "manifest.json").read_text())
        if self.manifest.get("format") != FORMAT:
            raise IndexUnavailableError(f"index in {index_dir} has format {self.manifest.get('format')}, this "
                                        f"version reads {FORMAT}: rebuild it with 'kb index'")
        self.db = sqlite3.connect(f"file:{build / 'meta.sqlite'}?mode=ro", uri=True, check_same_thread=False)
        self.vectors: dict[str, faiss.Index] = {}
        for path in sorted(build.glob("vectors-*.faiss")):
            self.vectors[path.stem.removeprefix("vectors-")] = faiss.read_index(str(path))
        self.chunks: dict[int, Chunk] = {}  # by FAISS id
        for row in self.db.execute("SELECT id, module, lang, section, ordinal, title, heading, heading_path, body "
                                   "FROM chunks"):
            self.chunks[row[0]] = Chunk(*row[1:7], tuple(json.loads(row[7])), row[8])

        stop: dict[str, set[str]] = defaultdict(set)
        for lang, token in self.db.execute("SELECT lang, token FROM stop_tokens"):
            stop[lang].add(token)
        self.stop_tokens: dict[str, frozenset[str]] = {lang: frozenset(t) for lang, t in stop.items()}

    @property
    def embedder(self) -> str:
        return str(self.manifest["embedder"])


def search_vectors(index: faiss.Index, vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Search on the calling thread alone. A flat search over a few thousand vectors takes microseconds, while
    an OpenMP team would spin against the embedder for the two cores. OpenMP's thread count is a per-thread
    setting, so it is set here, on whichever server thread runs the search."""
    faiss.omp_set_num_threads(1)
    return index.search(vector, k)
