"""One build opened for reading: its manifest checked, every file verified against its checksum, the vectors
loaded through the backend the manifest names, and the rows search and pages need read once. Queries that need
the database (keyword search) go through methods here, so no SQL lives above the store."""

from __future__ import annotations

import json
import sqlite3
import threading
import zipfile
from collections import defaultdict
from functools import cached_property
from pathlib import Path

import numpy as np

from kb.store import layout
from kb.store.errors import DamagedIndexError, IndexUnavailableError
from kb.store.manifest import MANIFEST, Manifest, read_manifest_file, verify_files
from kb.store.rows import Chunk, DocumentRow, FindingRow, RecommendationRow, SectionRow
from kb.store.vectors import backend
from kb.store.writer import CALIBRATION, KEYWORD_FIELDS, SENTENCES

GLOSSARY = "glossary.yaml"


class BuildReader:
    """A verified, read-only build. Thread-safe: SQLite calls are serialised, vectors are immutable."""

    def __init__(self, build: Path, verify: bool = True) -> None:
        self.path = build
        self.manifest: Manifest = read_manifest_file(build / MANIFEST)
        verify_files(build, self.manifest, hashes=verify)
        self._lock = threading.Lock()
        db_path = build / "meta.sqlite"
        try:
            self.db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, check_same_thread=False)
            self._load_rows()
        except sqlite3.DatabaseError as exc:
            raise DamagedIndexError(db_path, f"not a readable index database ({exc})") from None
        cls = backend(self.manifest.vectors)
        self.vectors = {}
        for lang in self.manifest.languages:
            path = build / f"vectors-{lang}{cls.suffix}"
            if not path.is_file():
                raise DamagedIndexError(path, "the file is missing")
            self.vectors[lang] = cls.load(path, self.manifest.dim)
        self.calibration: dict[str, np.ndarray] = {}
        if (build / CALIBRATION).is_file():
            try:
                with np.load(build / CALIBRATION, allow_pickle=False) as stats:
                    self.calibration = {k.removeprefix("mean_"): stats[k] for k in stats.files
                                        if k.startswith("mean_")}
            except (OSError, ValueError) as exc:
                raise DamagedIndexError(build / CALIBRATION, f"unreadable calibration statistics ({exc})") from None
        self.sentences = _read_sentences(build / SENTENCES, self.manifest.dim, self.chunks)
        """Per language, (chunk ids, sentence vectors) of the sentences the build embedded (`kb.build.sentences`)."""
        self._sentence_index = {}
        for lang, (ids, vectors) in self.sentences.items():  # searched like the chunks: see `sentence_dense`
            self._sentence_index[lang] = cls(self.manifest.dim)
            self._sentence_index[lang].add(np.arange(len(ids), dtype=np.int64), vectors)
            # the index's own copy stands in for the file's (8 MB for the shipped corpus, held once)
            self.sentences[lang] = (ids, self._sentence_index[lang].rows())

    @classmethod
    def open_current(cls, index_dir: Path, verify: bool = True) -> BuildReader:
        """The live build of an index folder."""
        build = layout.current_build(index_dir)
        if build is None:
            raise IndexUnavailableError(f"no index in {index_dir}: build one with 'kb index --index {index_dir}'")
        return cls(build, verify)

    @property
    def build_id(self) -> str:
        return self.manifest.build_id

    @property
    def embedder(self) -> str:
        return self.manifest.embedder

    def _load_rows(self) -> None:
        self.documents: list[DocumentRow] = [
            DocumentRow(m, L, p, t, json.loads(meta), html) for m, L, p, t, meta, html in self.db.execute(
                "SELECT module, lang, path, title, meta, html FROM documents ORDER BY module, lang")]
        self.sections: list[SectionRow] = [SectionRow(*row) for row in self.db.execute(
            "SELECT module, lang, id, ordinal, level, heading, parent, line, hash, text, html FROM sections "
            "ORDER BY module, lang, ordinal")]
        self.recommendations: list[RecommendationRow] = [RecommendationRow(*row) for row in self.db.execute(
            "SELECT module, lang, section, ordinal, scheme, grade, cn, vn, line FROM recommendations "
            "ORDER BY module, lang, section, ordinal")]
        self.findings: list[FindingRow] = [FindingRow(*row) for row in self.db.execute(
            "SELECT path, line, severity, rule, message, module, lang, section FROM findings")]
        self.chunks: dict[int, Chunk] = {}  # by vector id
        for row in self.db.execute("SELECT id, module, lang, section, ordinal, title, heading, heading_path, body "
                                   "FROM chunks"):
            self.chunks[row[0]] = Chunk(*row[1:7], tuple(json.loads(row[7])), row[8])
        stop: dict[str, set[str]] = defaultdict(set)
        for lang, token in self.db.execute("SELECT lang, token FROM stop_tokens"):
            stop[lang].add(token)
        self.stop_tokens: dict[str, frozenset[str]] = {lang: frozenset(t) for lang, t in stop.items()}
        # every keyword token of each language's chunks: a query token absent from a language cannot change that
        # language's BM25 ranking, but FTS5 would still walk its rows in the other languages before the language
        # filter drops them (search leaves such tokens out: 1.24 -> 0.53 ms a query for the three lists, with
        # identical lists on 894 XQuAD question x language cases)
        present: dict[str, set[str]] = defaultdict(set)
        for lang, *fields in self.db.execute(f"SELECT lang, {', '.join(KEYWORD_FIELDS)} FROM keywords"):
            for text in fields:
                present[lang].update(text.split())
        self.keyword_tokens: dict[str, frozenset[str]] = {lang: frozenset(t) for lang, t in present.items()}

    @cached_property
    def section_hashes(self) -> dict[tuple[str, str, str], str]:
        """(module, lang, section) -> hash of its text: what tells two builds' sections apart."""
        return {(s.module, s.lang, s.id): s.hash for s in self.sections}

    def inner_products(self, lang: str, vector: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(inner products with every chunk vector of one language, the chunk ids), unranked: for a caller that
        scores every chunk (`kb.calibration`); empty when the language has none."""
        index = self.vectors.get(lang)
        if index is None or index.count() == 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        return index.inner_products(vector)

    def sentence_dense(self, lang: str, vector: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(inner products with every sentence vector of one language, the chunk id of each); empty when the
        language has none. About seven sentences a chunk (5,342 for the shipped corpus's 742 chunks, 8 MB of float32),
        in the order of `sentences`. Through the vector index, not numpy's `@`: numpy's BLAS runs a product this size
        on a team of threads, and under 16 concurrent searches those teams spun against each other and the embedder
        (8 threads searching: 34 searches/s, against 242 with BLAS on one thread; `bench/speed.py`'s 16 clients
        fell from 77-96 to 17 queries/s) while the index computes on the calling thread alone."""
        ids, _ = self.sentences.get(lang, (np.zeros(0, np.int64), None))
        index = self._sentence_index.get(lang)
        if index is None or not len(ids):
            return np.zeros(0, np.float32), ids
        scores, _ = index.inner_products(vector)  # in row order, the order of `ids` (`__init__` adds them so)
        return scores, ids

    def vector_count(self, lang: str) -> int:
        index = self.vectors.get(lang)
        return index.count() if index is not None else 0

    def keyword(self, match: str, lang: str, module: str | None, limit: int,
                weights: tuple[float, ...] = ()) -> list[int]:
        """Chunk ids of one language matching an FTS5 query, best BM25 first; `weights` are per-column BM25
        weights in `writer.KEYWORD_FIELDS` order (all 1 when empty)."""
        # FTS5's own rank column, with the weights given to it (`rank MATCH 'bm25(...)'`), orders the same rows as
        # ORDER BY bm25(keywords, ...) in 0.42 ms against 0.59 (the same first 30 for 278 query and language pairs)
        sql = "SELECT rowid FROM keywords WHERE keywords MATCH ? AND lang = ? AND rank MATCH ?"
        args: list[object] = [match, lang, f"bm25({', '.join(str(float(w)) for w in weights)})"]
        if module:
            sql += " AND module = ?"
            args.append(module)
        sql += " ORDER BY rank LIMIT ?"
        args.append(int(limit))
        try:
            with self._lock:
                return [row[0] for row in self.db.execute(sql, args)]
        except sqlite3.DatabaseError as exc:
            raise DamagedIndexError(self.path / "meta.sqlite", f"keyword index unreadable ({exc})") from None

    def word_counts(self, lang: str) -> tuple[dict[str, int], dict[tuple[str, str], int]]:
        """Word and near-pair counts of one language (`BuildWriter.add_words`)."""
        with self._lock:
            words = dict(self.db.execute("SELECT word, count FROM words WHERE lang = ?", (lang,)).fetchall())
            pairs = {(a, b): n for a, b, n in self.db.execute(
                "SELECT first, second, count FROM word_pairs WHERE lang = ?", (lang,))}
        return words, pairs

    def token_frequencies(self) -> dict[str, int]:
        """Keyword token -> how many chunks hold it (any language): the corpus vocabulary that tells a query of
        words the guidelines never use (`kb.relevance`). Written at build time (`BuildWriter.add_token_chunks`); a
        build from before that table is read from the keyword index itself (slower: it scans the index)."""
        try:
            with self._lock:
                if self.db.execute("SELECT 1 FROM sqlite_master WHERE name = 'token_chunks'").fetchone():
                    return dict(self.db.execute("SELECT token, chunks FROM token_chunks").fetchall())
                self.db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.keyword_vocabulary "
                                "USING fts5vocab(main, keywords, row)")
                return dict(self.db.execute("SELECT term, doc FROM temp.keyword_vocabulary").fetchall())
        except sqlite3.DatabaseError as exc:
            raise DamagedIndexError(self.path / "meta.sqlite", f"keyword index unreadable ({exc})") from None

    @property
    def glossary_path(self) -> Path | None:
        path = self.path / GLOSSARY
        return path if path.is_file() else None


    def close(self) -> None:
        with self._lock:
            self.db.close()


def _read_sentences(path: Path, dim: int, chunks: dict[int, Chunk]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The sentence vectors of a build (`BuildWriter.add_sentences`), checked against its chunks; none when the
    build has no such file."""
    if not path.is_file():
        return {}
    out = {}
    try:
        with np.load(path, allow_pickle=False) as stored:
            for key in (k for k in stored.files if k.startswith("chunks_")):
                lang = key.removeprefix("chunks_")
                ids, vectors = stored[key], stored[f"vectors_{lang}"]
                if vectors.shape != (len(ids), dim):
                    raise ValueError(f"{lang}: {len(ids)} chunk ids against vectors of shape {vectors.shape}")
                if any(chunks.get(i) is None or chunks[i].lang != lang for i in ids.tolist()):
                    raise ValueError(f"{lang}: a sentence of no chunk of that language")
                out[lang] = (ids.astype(np.int64), vectors.astype(np.float32))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise DamagedIndexError(path, f"unreadable sentence vectors ({exc})") from None
    return out
