"""`kb index`: content folder -> checked documents -> chunks -> embeddings (cached) -> a new live build.

A file with errors is never dropped silently: when an earlier build indexed a good version of it, that version
keeps being served (`held_back` in the manifest, its findings shown on its pages) until the file is fixed; a file
that never had a good version is named in `skipped`."""

from __future__ import annotations

import hashlib
import os
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from kb import LANGS
from kb.build.chunking import CHUNKER_VERSION, chunk_document
from kb.build.sentences import SENTENCES_VERSION, sentences
from kb.build.statistics import VOCABULARY_LANGS, language_means, vocabulary
from kb.content import Document, Finding, display_path, parse_document
from kb.corpus import Corpus, content_files, load_corpus
from kb.embedders import Embedder, get_embedder
from kb.errors import KbError
from kb.glossary import GLOSSARY_FILE
from kb.markdown import notes_html, render_html
from kb.settings import SENTENCE_SCOPES, Settings
from kb.store import (
    FORMAT,
    BuildWriter,
    Chunk,
    DamagedIndexError,
    DocumentRow,
    FindingRow,
    IndexUnavailableError,
    Manifest,
    RecommendationRow,
    SectionRow,
    build_lock,
    layout,
)
from kb.store.cache import EmbeddingCache, text_hash
from kb.text import exact_tokens, tokens

BATCH = 8
STOP_RATIO = 0.4
"""A token in this share of a language's chunks (the, của, 的治) ranks nothing but makes FTS score nearly every
row; search leaves such stop tokens out of keyword queries."""


class BuildError(KbError):
    """The build could not run (no content, a wrong embedder); the live index is untouched."""


@dataclass
class BuildReport:
    manifest: Manifest
    findings: list[Finding]
    embedded: int = 0
    """Chunks embedded by this build (the others came from the embedding cache)."""
    reused: int = 0
    seconds: float = 0.0
    sentences: int = 0
    """Sentences embedded by this build (the others came from the embedding cache; `kb.build.sentences`)."""

    @property
    def skipped(self) -> list[str]:
        return self.manifest.skipped

    @property
    def held_back(self) -> list[str]:
        return self.manifest.held_back


def fingerprint(content_dir: Path, embedder_id: str, sentences: str = SENTENCE_SCOPES[0]) -> str:
    """Hash of every content file and of what shapes the index, to tell a stale index from a fresh one."""
    h = hashlib.sha256(f"{FORMAT}:{CHUNKER_VERSION}:{SENTENCES_VERSION}:{sentences}:{embedder_id}".encode())
    files, refused = content_files(Path(content_dir))  # the files the build may read, and the links it refuses
    for path in files:
        h.update(str(path.relative_to(content_dir)).encode() + b"\0" + path.read_bytes() + b"\0")
    for finding in refused:
        h.update(f"{finding.path}:{finding.message}".encode() + b"\0")
    return h.hexdigest()[:16]


def is_stale(settings: Settings) -> bool:
    """True when there is no index, or it was built from other content, by another embedder or by a version that
    wrote another format (a damaged build is not stale: loading it says which file is damaged)."""
    try:
        manifest = layout.read_manifest(settings.index_dir)
    except IndexUnavailableError as exc:
        return not isinstance(exc, DamagedIndexError)
    if manifest is None or manifest.embedder != settings.embedder:
        return True
    return manifest.fingerprint != fingerprint(settings.content_dir, settings.embedder, settings.sentences)


def build_index(settings: Settings, embedder: Embedder | None = None, *, progress: bool | None = None,
                corpus: Corpus | None = None, wait: float = 0) -> BuildReport:
    """Build and publish a new index; the previous one stays live until the new one is complete.

    `wait`: seconds to wait for another build of the same folder to finish before refusing."""
    started = time.perf_counter()
    embedder = embedder or get_embedder(settings.embedder)
    if embedder.id != settings.embedder:
        raise BuildError(f"embedder '{embedder.id}' given, but settings name '{settings.embedder}'")
    if settings.sentences not in SENTENCE_SCOPES:
        raise BuildError(f"KB_SENTENCES: '{settings.sentences}' is not one of {', '.join(SENTENCE_SCOPES)}")
    with build_lock(settings.index_dir, wait):
        stamp = fingerprint(settings.content_dir, embedder.id, settings.sentences)
        corpus = corpus or load_corpus(settings.content_dir)
        writer = BuildWriter(settings.index_dir, embedder.dim)
        try:
            docs, held_back, skipped = _documents(settings, corpus, writer)
            if not docs:
                raise BuildError(f"nothing to index in {settings.content_dir}: no module file without errors")
            chunks = [c for d in docs for c in chunk_document(d, embedder.token_count, embedder.max_tokens)]
            vectors, embedded, reused = _embed(settings.index_dir, embedder, [c.text for c in chunks], progress)
            pieces = sentences(chunks, settings.sentences)  # `kb.build.sentences`
            sentence_vectors, sentences_embedded, _ = _embed(settings.index_dir, embedder, [t for _, t in pieces],
                                                             progress, "sentence")
            _write(writer, corpus, docs, chunks, vectors)
            writer.add_sentences(np.array([i for i, _ in pieces], dtype=np.int64), sentence_vectors,
                                 [chunks[i].lang for i, _ in pieces])
            manifest = writer.publish(Manifest(
                format=FORMAT, build_id="", embedder=embedder.id, dim=embedder.dim, vectors="",
                chunks=len(chunks), documents=len(docs), sections=sum(len(d.sections) for d in docs),
                languages=sorted({d.lang for d in docs}), fingerprint=stamp,
                built_at=datetime.now(UTC).isoformat(timespec="seconds"), skipped=skipped, held_back=held_back))
        except BaseException:
            writer.abort()
            raise
    return BuildReport(manifest, corpus.findings, embedded, reused, time.perf_counter() - started,
                       sentences_embedded)


def warm(settings: Settings, embedder: Embedder) -> None:
    """Do a rebuild's pure work once, writing nothing: parse and check every file, chunk and count tokens, render
    the rows (HTML, speaker notes), tokenise the keyword fields, count the words. Each step keeps its result in a
    per-process cache keyed by its input (`parse_document`, `kb.corpus`, `TokenCounts`, `render_html`, `kb.text`,
    `kb.build.statistics`), so the live rebuild after a save redoes only the changed file; without this the first
    one after a start did everything (2.7 s against 0.9 s for the next ones, bench/live_preview.py). The rows come
    from `_document_rows`, the one function `_write` uses, so the two cannot drift apart."""
    corpus = load_corpus(settings.content_dir)
    docs = corpus.indexable()
    for d in docs:
        _document_rows(d)
        for c in chunk_document(d, embedder.token_count, embedder.max_tokens):
            _keyword_fields(c)
    for lang in VOCABULARY_LANGS:
        vocabulary(docs, lang)


def _documents(settings: Settings, corpus: Corpus, writer: BuildWriter) -> tuple[list[Document], list[str],
                                                                                 list[str]]:
    """What this build indexes: every file without errors, and for a file with errors its last good version
    from the live build when there is one. Good files are copied into the build as the next last good ones."""
    root = Path(settings.content_dir)
    bad = {f.path for f in corpus.errors()}
    docs = corpus.indexable()
    for d in docs:
        writer.save_source(d.module, d.lang, d.raw)
    held_back: list[str] = []
    skipped: list[str] = []
    good = {(d.module, d.lang) for d in docs}
    for path in sorted(root.glob("*/*.md")):
        module, lang = path.parent.name, path.stem
        if lang not in LANGS or (module, lang) in good or display_path(path) not in bad:
            continue
        rel = f"{module}/{lang}.md"
        old = layout.last_good_source(settings.index_dir, module, lang)
        if old is not None:
            doc, _ = parse_document(writer.save_source(module, lang, old))
            if doc is not None:
                doc.path, doc.display_path = path, display_path(path)
                docs.append(doc)
                held_back.append(rel)
                continue
        skipped.append(rel)
    skipped += sorted(f"{Path(p).parent.name}/{Path(p).name}" for p in bad
                      if p.endswith(".md") and not Path(p).exists())
    return docs, held_back, sorted(set(skipped))


def _in_content(corpus: Corpus, text: str) -> str:
    """A finding's path or message with file names relative to the content folder: the index is served, and a
    response must not show where the server keeps its files."""
    return text.replace(display_path(corpus.root) + os.sep, "")


def _embed(index_dir: Path, embedder: Embedder, texts: list[str], progress: bool | None,
           unit: str = "chunk") -> tuple[np.ndarray, int, int]:
    """Passage vectors of `texts` in order, from the cache or embedded (and cached): (matrix, embedded, reused)."""
    cache = EmbeddingCache(index_dir / "cache.sqlite")
    try:
        hashes = [text_hash(t) for t in texts]
        known = cache.get_many(embedder.id, hashes)
        todo = [(h, t) for h, t in zip(hashes, texts, strict=True) if h not in known]
        todo = list(dict((h, t) for h, t in todo).items())
        # longest first, so that each batch holds texts of about one length: an engine that batches pads each
        # batch to its longest text (9% more passages/s with onnxruntime over guidelines/), and the progress
        # estimate errs long, not short
        todo.sort(key=lambda item: -embedder.token_count(item[1]))
        with _progress(len(todo), progress, unit) as bar:
            batch = getattr(embedder, "batch_size", BATCH)  # an engine that batches well asks for more
            for start in range(0, len(todo), batch):
                part = todo[start:start + batch]
                vecs = embedder.embed_passages([t for _, t in part])
                fresh = {h: v for (h, _), v in zip(part, vecs, strict=True)}
                cache.put_many(embedder.id, fresh)
                known.update(fresh)
                bar.update(len(part))
        matrix = np.stack([known[h] for h in hashes]) if hashes else np.zeros((0, embedder.dim), np.float32)
        return matrix.astype(np.float32), len(todo), len(texts) - len(todo)
    finally:
        cache.close()


@contextmanager
def _progress(total: int, enabled: bool | None, unit: str = "chunk") -> Iterator[Any]:
    """A progress bar on a terminal; without one (a service, a log file) and unless turned off, a log line with
    counts, rate and an estimate every few seconds, so that a long first build is visibly alive."""
    from tqdm import tqdm

    if enabled is None and not sys.stderr.isatty() and total:
        yield _ProgressLog(total, unit)
        return
    show = sys.stderr.isatty() if enabled is None else enabled
    with tqdm(total=total, desc="embedding", unit=unit, disable=not show or total == 0) as bar:
        yield bar


class _ProgressLog:
    EVERY = 5.0

    def __init__(self, total: int, unit: str = "chunk") -> None:
        self.total, self.done, self.unit = total, 0, unit
        self.started = self.last = time.monotonic()
        print(f"embedding {total} {unit}s", file=sys.stderr, flush=True)

    def update(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if now - self.last < self.EVERY and self.done < self.total:
            return
        self.last = now
        rate = self.done / max(now - self.started, 1e-9)
        left = (self.total - self.done) / rate if rate else float("inf")
        print(f"embedding: {self.done}/{self.total} {self.unit}s ({100 * self.done / self.total:.0f}%), "
              f"{rate:.1f} {self.unit}s/s, " + (f"about {left:.0f} s left" if self.done < self.total else "done"),
              file=sys.stderr, flush=True)


NOTES_KEY = "_speaker_notes"
"""Where a build keeps a document's speaker notes: {section id: notes HTML} in its stored metadata, so the store
needs no new column; front matter keys never start with '_'. Notes are not in any section's text or HTML."""


def _with_notes(doc: Document) -> dict:
    notes = {s.id: html for s in doc.sections if (html := notes_html(s.markdown))}
    return {**doc.meta, NOTES_KEY: notes} if notes else doc.meta


def _write(writer: BuildWriter, corpus: Corpus, docs: list[Document], chunks: list[Chunk],
           vectors: np.ndarray) -> None:
    by_place = {(d.display_path, s.line): (d.module, d.lang, s.id) for d in docs for s in d.sections}
    by_path = {d.display_path: (d.module, d.lang) for d in docs}
    for d in docs:
        writer.add_document(*_document_rows(d))
    writer.add_recommendations([
        RecommendationRow(d.module, d.lang, s.id, n, r.scheme, r.grade, r.cn, r.vn, r.line)
        for d in docs for s in d.sections for n, r in enumerate(s.recs)])
    rows = []
    for f in corpus.findings:
        module, lang, section = by_place.get((f.path, f.line)) or (*by_path.get(f.path, _place(f.path)), None)
        rows.append(FindingRow(_in_content(corpus, f.path), f.line, f.severity, f.rule,
                               _in_content(corpus, f.message), module, lang, section))
    writer.add_findings(rows)
    fields = [_keyword_fields(c) for c in chunks]
    writer.add_chunks(chunks, fields, [text_hash(c.text) for c in chunks])
    df: dict[str, Counter[str]] = defaultdict(Counter)
    for c, (title, heading, body, _) in zip(chunks, fields, strict=True):
        df[c.lang].update(set(title + heading + body))
    per_lang = Counter(c.lang for c in chunks)
    every: Counter[str] = Counter()
    for counts in df.values():
        every.update(counts)
    writer.add_token_chunks(every)
    for lang, counts in df.items():
        n = per_lang[lang]
        writer.add_stop_tokens(lang, [t for t, k in counts.items() if n >= 20 and k / n >= STOP_RATIO])
    if corpus.glossary is not None and not any(f.path.endswith(GLOSSARY_FILE) for f in corpus.errors()):
        writer.copy_file(corpus.root / GLOSSARY_FILE, GLOSSARY_FILE)  # search expands queries from the build
    ids = np.arange(len(chunks), dtype=np.int64)
    langs = np.array([c.lang for c in chunks])
    for lang in sorted(set(langs.tolist())):
        mask = langs == lang
        writer.add_vectors(lang, ids[mask], vectors[mask])
    writer.add_calibration(language_means(vectors, langs.tolist()))
    for lang in sorted({d.lang for d in docs} & set(VOCABULARY_LANGS)):
        writer.add_words(lang, *vocabulary(docs, lang))


Fields = tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]]


def _document_rows(d: Document) -> tuple[DocumentRow, list[SectionRow]]:
    """A document's row (metadata with speaker notes, rendered body) and its sections' rows (rendered)."""
    return (DocumentRow(d.module, d.lang, d.display_path, d.title, _with_notes(d), render_html(d.body)),
            [SectionRow(d.module, d.lang, s.id, n, s.level, s.heading, s.parent, s.line, s.hash, s.text,
                        render_html(s.markdown)) for n, s in enumerate(d.sections)])


def _keyword_fields(c: Chunk) -> Fields:
    """A chunk's tokens per FTS column (`kb.store.writer.KEYWORD_FIELDS`)."""
    return _fields(c.title, " › ".join(c.heading_path), c.body)


@lru_cache(maxsize=16384)  # a live rebuild tokenises every chunk again; unchanged ones come from here
def _fields(title: str, path: str, body: str) -> Fields:
    return (tuple(tokens(title)), tuple(tokens(path)), tuple(tokens(body)),
            tuple(exact_tokens(f"{path}\n{body}")))


def _place(path: str) -> tuple[str | None, str | None]:
    """(module, lang) of a content file path that did not parse far enough to be a document."""
    p = Path(path)
    return (p.parent.name, p.stem) if p.suffix == ".md" and p.stem in LANGS else (None, None)
