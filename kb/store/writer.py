"""Writing one build: rows into SQLite (documents, sections, chunks, findings, the FTS5 keyword index), vectors
through the manifest's backend, copies of the glossary and of every good source file, then checksums and an
atomic switch. Until `publish`, nothing a reader sees has changed."""

from __future__ import annotations

import json
import shutil
import sqlite3
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from kb.store import layout
from kb.store.manifest import MANIFEST, Manifest, file_entry
from kb.store.rows import Chunk, DocumentRow, FindingRow, RecommendationRow, SectionRow
from kb.store.vectors import DEFAULT_BACKEND, backend

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
CREATE TABLE recommendations (module TEXT, lang TEXT, section TEXT, ordinal INTEGER, scheme TEXT, grade TEXT,
                              cn TEXT, vn TEXT, line INTEGER, PRIMARY KEY (module, lang, section, ordinal));
CREATE TABLE stop_tokens (lang TEXT, token TEXT, PRIMARY KEY (lang, token));
CREATE TABLE words (lang TEXT, word TEXT, count INTEGER);
CREATE TABLE word_pairs (lang TEXT, first TEXT, second TEXT, count INTEGER);
CREATE TABLE token_chunks (token TEXT, chunks INTEGER);
-- words, word_pairs and token_chunks are read whole when a build is loaded, never looked up by key: without a
-- key index their rows (unique by construction, a dict's keys) go in at half the cost, on every live rebuild
CREATE VIRTUAL TABLE keywords USING fts5(title, heading, body, exact, lang UNINDEXED, module UNINDEXED,
                                         tokenize = "unicode61 remove_diacritics 0 tokenchars '-_.'");
"""
CALIBRATION = "calibration.npz"
"""Per-language mean passage vectors (`mean_<lang>`), which search subtracts so that cosines compare across
languages (kb.calibration)."""
SENTENCES = "sentences.npz"
"""Per language, the vectors of the sentences the build embeds (`vectors_<lang>`) and the chunk each belongs to
(`chunks_<lang>`): search adds a chunk's best sentence to its score (kb.build.sentences)."""
KEYWORD_FIELDS = ("title", "heading", "body", "exact")
"""The FTS5 columns, in order: module title, heading path, body (all folded tokens), and the accented words of
heading and body as written."""


def new_build_id() -> str:
    """Sortable by time to the microsecond, unique across processes."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f") + "-" + uuid.uuid4().hex[:6]


class BuildWriter:
    """A build in its temp folder. Call under `layout.build_lock`; `publish` makes it live, `abort` drops it."""

    def __init__(self, index_dir: Path, dim: int, vectors: str = DEFAULT_BACKEND) -> None:
        self.index_dir = index_dir
        self.build_id = new_build_id()
        self.dim = dim
        self.backend = backend(vectors)
        self.tmp = layout.new_build_dir(index_dir, self.build_id)
        self.db = sqlite3.connect(self.tmp / "meta.sqlite")
        self.db.executescript(SCHEMA)

    def add_document(self, doc: DocumentRow, sections: list[SectionRow]) -> None:
        self.db.execute("INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?)",
                        (doc.module, doc.lang, doc.path, doc.title,
                         json.dumps(doc.meta, default=str, ensure_ascii=False), doc.html))
        self.db.executemany("INSERT INTO sections VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            (s.module, s.lang, s.id, s.ordinal, s.level, s.heading, s.parent, s.line, s.hash, s.text, s.html)
            for s in sections])

    def add_recommendations(self, rows: list[RecommendationRow]) -> None:
        self.db.executemany("INSERT INTO recommendations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            (r.module, r.lang, r.section, r.ordinal, r.scheme, r.grade, r.cn, r.vn, r.line) for r in rows])

    def add_findings(self, findings: list[FindingRow]) -> None:
        self.db.executemany("INSERT INTO findings VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [
            (f.path, f.line, f.severity, f.rule, f.message, f.module, f.lang, f.section) for f in findings])

    def add_chunks(self, chunks: list[Chunk], keyword_fields: list[tuple[tuple[str, ...], ...]],
                   text_hashes: list[str]) -> None:
        """Chunks get ids 0..n-1 in order; the same ids key their vectors. `keyword_fields` holds each chunk's
        tokens per FTS column (`KEYWORD_FIELDS`)."""
        self.db.executemany("INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            (i, c.module, c.lang, c.section, c.ordinal, c.title, c.heading,
             json.dumps(c.heading_path, ensure_ascii=False), c.body, h)
            for i, (c, h) in enumerate(zip(chunks, text_hashes, strict=True))])
        self.db.executemany(
            f"INSERT INTO keywords(rowid, {', '.join(KEYWORD_FIELDS)}, lang, module) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(i, *(" ".join(words) for words in fields), c.lang, c.module)
             for i, (c, fields) in enumerate(zip(chunks, keyword_fields, strict=True))])

    def add_stop_tokens(self, lang: str, tokens: list[str]) -> None:
        self.db.executemany("INSERT INTO stop_tokens VALUES (?, ?)", [(lang, t) for t in tokens])

    def add_token_chunks(self, counts: dict[str, int]) -> None:
        """Keyword token -> how many chunks hold it (every language): the vocabulary `kb.relevance` reads."""
        self.db.executemany("INSERT INTO token_chunks VALUES (?, ?)", counts.items())

    def add_words(self, lang: str, words: dict[str, int], pairs: dict[tuple[str, str], int]) -> None:
        """Word and near-pair counts of one language, as written (diacritics kept): what tells plain Vietnamese
        from English and restores the accents of a Vietnamese query typed without them."""
        self.db.executemany("INSERT INTO words VALUES (?, ?, ?)", [(lang, w, n) for w, n in words.items()])
        self.db.executemany("INSERT INTO word_pairs VALUES (?, ?, ?, ?)",
                            [(lang, a, b, n) for (a, b), n in pairs.items()])

    def add_calibration(self, means: dict[str, np.ndarray]) -> None:
        np.savez(self.tmp / CALIBRATION, **{f"mean_{lang}": v.astype(np.float32) for lang, v in means.items()})

    def add_sentences(self, chunk_ids: np.ndarray, vectors: np.ndarray, langs: list[str]) -> None:
        """Sentence vectors, each with the id of its chunk and the chunk's language; none is an empty file."""
        by_lang = np.array(langs)
        arrays = {}
        for lang in sorted(set(langs)):
            mask = by_lang == lang
            arrays[f"chunks_{lang}"] = chunk_ids[mask].astype(np.int64)
            arrays[f"vectors_{lang}"] = vectors[mask].astype(np.float32)
        np.savez(self.tmp / SENTENCES, **arrays)

    def add_vectors(self, lang: str, ids: np.ndarray, vectors: np.ndarray) -> None:
        index = self.backend(self.dim)
        index.add(ids, vectors)
        index.save(self.tmp / f"vectors-{lang}{self.backend.suffix}")

    def copy_file(self, source: Path, name: str) -> None:
        shutil.copyfile(source, self.tmp / name)

    def save_source(self, module: str, lang: str, data: bytes) -> Path:
        """Keep a file's bytes as its last good version; returns where (a build may parse that copy)."""
        folder = self.tmp / layout.SOURCES / module
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{lang}.md"
        path.write_bytes(data)
        return path

    def publish(self, manifest: Manifest) -> Manifest:
        """Close the database, checksum every file, write the manifest last and switch CURRENT."""
        self.db.commit()
        self.db.close()
        files = {}
        for path in sorted(p for p in self.tmp.rglob("*") if p.is_file() and p.name != MANIFEST):
            layout.fsync(path)
            files[path.relative_to(self.tmp).as_posix()] = file_entry(path)
        manifest = replace(manifest, build_id=self.build_id, dim=self.dim, vectors=self.backend.name, files=files)
        layout.publish(self.index_dir, self.tmp, manifest)
        return manifest

    def abort(self) -> None:
        try:
            self.db.close()
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)
