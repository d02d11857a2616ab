"""`kb index`: content folder -> checked documents -> chunks -> embeddings (cached) -> a new live build."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from kb import store
from kb.build.cache import EmbeddingCache, text_hash
from kb.build.chunking import CHUNKER_VERSION, Chunk, chunk_document
from kb.content import Document, Finding
from kb.corpus import Corpus, load_corpus
from kb.embedders import Embedder, get_embedder
from kb.glossary import GLOSSARY_FILE
from kb.markdown import render_html
from kb.settings import Settings
from kb.text import tokens

BATCH = 8
STOP_RATIO = 0.4
"""A token in this share of a language's chunks (the, của, 的治) ranks nothing but makes FTS score nearly every
row; search leaves such stop tokens out of keyword queries."""


class BuildError(RuntimeError):
    """The build could not run (another build holds the lock, no content); the live index is untouched."""


@dataclass
class BuildReport:
    manifest: dict[str, Any]
    findings: list[Finding]
    skipped: list[str]
    embedded: int = 0
    reused: int = 0
    seconds: float = 0.0
    built: bool = True


def fingerprint(content_dir: Path, embedder_id: str) -> str:
    """Hash of every content file and of what shapes the index, to tell a stale index from a fresh one."""
    h = hashlib.sha256(f"{store.FORMAT}:{CHUNKER_VERSION}:{embedder_id}".encode())
    for path in sorted(Path(content_dir).rglob("*")):
        if path.is_file() and path.suffix in (".md", ".yaml", ".yml"):
            h.update(str(path.relative_to(content_dir)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def is_stale(settings: Settings) -> bool:
    """True when there is no index, or it was built from other content or by another embedder."""
    manifest = store.read_manifest(settings.index_dir)
    if manifest is None or manifest.get("embedder") != settings.embedder:
        return True
    return manifest.get("fingerprint") != fingerprint(settings.content_dir, settings.embedder)


def build_index(settings: Settings, embedder: Embedder | None = None, *, progress: bool | None = None,
                corpus: Corpus | None = None) -> BuildReport:
    """Build and publish a new index; the previous one stays live until the new one is complete."""
    started = time.perf_counter()
    corpus = corpus or load_corpus(settings.content_dir)
    docs = corpus.indexable()
    if not docs:
        raise BuildError(f"nothing to index in {settings.content_dir}: no module file without errors")
    embedder = embedder or get_embedder(settings.embedder)
    if embedder.id != settings.embedder:
        raise BuildError(f"embedder '{embedder.id}' given, but settings name '{settings.embedder}'")
    settings.index_dir.mkdir(parents=True, exist_ok=True)
    with _lock(settings.index_dir):
        chunks = [c for d in docs for c in chunk_document(d, embedder.token_count, embedder.max_tokens)]
        vectors, embedded, reused = _embed(settings.index_dir, embedder, chunks, progress)
        build_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
        tmp = store.new_build_dir(settings.index_dir, build_id)
        _write(tmp, corpus, docs, chunks, vectors, embedder.dim)
        manifest = {
            "format": store.FORMAT,
            "build_id": build_id,
            "embedder": embedder.id,
            "dim": embedder.dim,
            "chunks": len(chunks),
            "documents": len(docs),
            "sections": sum(len(d.sections) for d in docs),
            "languages": sorted({d.lang for d in docs}),
            "fingerprint": fingerprint(settings.content_dir, embedder.id),
            "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "content_dir": str(settings.content_dir),
            "skipped": sorted({f.path for f in corpus.errors()}),
        }
        store.publish(settings.index_dir, tmp, manifest)
    return BuildReport(manifest, corpus.findings, manifest["skipped"], embedded, reused,
                       time.perf_counter() - started)


@contextmanager
def _lock(index_dir: Path) -> Iterator[None]:
    with open(index_dir / ".lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise BuildError(f"another build of {index_dir} is running; wait for it to finish") from exc
        yield


def _embed(index_dir: Path, embedder: Embedder, chunks: list[Chunk],
           progress: bool | None) -> tuple[np.ndarray, int, int]:
    cache = EmbeddingCache(index_dir / "cache.sqlite")
    try:
        hashes = [text_hash(c.text) for c in chunks]
        known = cache.get_many(embedder.id, hashes)
        todo = [(h, c.text) for h, c in zip(hashes, chunks, strict=True) if h not in known]
        todo = list(dict((h, t) for h, t in todo).items())
        with _progress(len(todo), progress) as bar:
            for start in range(0, len(todo), BATCH):
                part = todo[start:start + BATCH]
                vecs = embedder.embed_passages([t for _, t in part])
                fresh = {h: v for (h, _), v in zip(part, vecs, strict=True)}
                cache.put_many(embedder.id, fresh)
                known.update(fresh)
                bar.update(len(part))
        matrix = np.stack([known[h] for h in hashes]) if hashes else np.zeros((0, embedder.dim), np.float32)
        return matrix.astype(np.float32), len(todo), len(chunks) - len(todo)
    finally:
        cache.close()


@contextmanager
def _progress(total: int, enabled: bool | None) -> Iterator[Any]:
    from tqdm import tqdm

    show = sys.stderr.isatty() if enabled is None else enabled
    with tqdm(total=total, desc="embedding", unit="chunk", disable=not show or total == 0) as bar:
        yield bar


def _write(tmp: Path, corpus: Corpus, docs: list[Document], chunks: list[Chunk], vectors: np.ndarray,
           dim: int) -> None:
    db = store.create_meta_db(tmp)
    by_place = {(d.display_path, s.line): (d.module, d.lang, s.id) for d in docs for s in d.sections}
    by_path = {d.display_path: (d.module, d.lang) for d in corpus.documents()}
    with db:
        for d in docs:
            db.execute("INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?)",
                       (d.module, d.lang, d.display_path, d.title, json.dumps(d.meta, default=str,
                        ensure_ascii=False), render_html(d.body)))
            db.executemany("INSERT INTO sections VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
                (d.module, d.lang, s.id, n, s.level, s.heading, s.parent, s.line, s.hash, s.text,
                 render_html(s.markdown)) for n, s in enumerate(d.sections)])
        for f in corpus.findings:
            module, lang, section = by_place.get((f.path, f.line)) or (*by_path.get(f.path, (None, None)), None)
            db.execute("INSERT INTO findings VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       (f.path, f.line, f.severity, f.rule, f.message, module, lang, section))
        df: dict[str, Counter[str]] = defaultdict(Counter)
        for i, c in enumerate(chunks):
            words = tokens(c.text)
            df[c.lang].update(set(words))
            db.execute("INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (i, c.module, c.lang, c.section, c.ordinal, c.title, c.heading,
                        json.dumps(c.heading_path, ensure_ascii=False), c.body, text_hash(c.text)))
            db.execute("INSERT INTO keywords(rowid, tokens, lang, module) VALUES (?, ?, ?, ?)",
                       (i, " ".join(words), c.lang, c.module))
        per_lang = Counter(c.lang for c in chunks)
        for lang, counts in df.items():
            n = per_lang[lang]
            db.executemany("INSERT INTO stop_tokens VALUES (?, ?)",
                           [(lang, t) for t, k in counts.items() if n >= 20 and k / n >= STOP_RATIO])
    db.close()
    glossary = corpus.root / GLOSSARY_FILE
    if corpus.glossary is not None and not any(f.path.endswith(GLOSSARY_FILE) for f in corpus.errors()):
        shutil.copyfile(glossary, tmp / GLOSSARY_FILE)  # search expands queries from the index, not the sources
    ids = np.arange(len(chunks), dtype=np.int64)
    langs = np.array([c.lang for c in chunks])
    for lang in sorted(set(langs.tolist())):
        mask = langs == lang
        store.write_vectors(tmp, lang, ids[mask], vectors[mask], dim)
    for path in tmp.iterdir():
        fd = os.open(path, os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)
