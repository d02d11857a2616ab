"""Hybrid, section-aware, cross-lingual search over a built index.

The default model prefers text in the query's own language over the true translation, so raw cosines are never
compared across languages. Instead every language is searched on its own, dense (FAISS) and keyword (SQLite FTS5)
separately; each ranked list of chunks becomes a ranked list of sections (module + section id, the id that aligns
languages), and the lists are fused by reciprocal rank. Evidence for a section in any language therefore counts
for that section in all of them: a Vietnamese query finds the Chinese version of the section it matched in
Vietnamese."""

from __future__ import annotations

import math
import re
import threading
import time
from collections import OrderedDict, defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from kb import LANGS
from kb.embedders import Embedder
from kb.errors import KbError
from kb.glossary import Glossary
from kb.snippets import make_snippet, normalise_for_snippet, query_terms
from kb.store import BuildReader, embedder_mismatch
from kb.text import CJK, fts_query, tokens, visible

MAX_QUERY = 500
MAX_K = 50
RRF_K = 10
"""Reciprocal-rank constant: small, because the top ranks carry the signal here (K=60 loses 0.14 recall@1 on
XQuAD; docs/benchmarks.md)."""
LANG_TEMPERATURE = 0.02
"""How sharply the language of the best dense match is trusted (see `language_weights`)."""
DEPTH = 30
"""How many chunks each per-language list contributes to the fusion (at least twice k). XQuAD recall@1/@5/MRR
are the same to 3 decimals at 30 as at 100, and the fusion loop is cheaper."""
MODES = ("hybrid", "dense", "keyword")


class SearchError(KbError):
    """A bad search request, naming the field that is wrong (the API turns it into a 4xx)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass
class SearchResult:
    module: str
    section: str
    lang: str
    title: str
    heading: str
    score: float
    snippet: str
    languages: list[str]
    highlights: list[list[int]] = field(default_factory=list)
    url: str = ""


@dataclass
class SearchResponse:
    query: str
    results: list[SearchResult]
    lang: str | None = None
    module: str | None = None
    k: int = 10
    took_ms: float = 0.0
    expansions: dict[str, list[str]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Section:
    title: str
    heading: str
    text: str
    ordinal: int


class Searcher:
    """Loads an index once and answers queries; thread-safe, with an LRU cache of answers."""

    def __init__(self, index: BuildReader, embedder: Embedder, glossary: Glossary | None = None,
                 cache_size: int = 512) -> None:
        if embedder.id != index.embedder:
            raise embedder_mismatch(index.path.parent.parent, index.embedder, embedder.id)
        self.index, self.embedder, self.glossary = index, embedder, glossary
        self.langs: list[str] = [L for L in LANGS if L in index.manifest.languages]
        self.sections: dict[tuple[str, str, str], _Section] = {}
        self.section_langs: dict[tuple[str, str], list[str]] = defaultdict(list)
        self.modules: dict[str, dict[str, str]] = defaultdict(dict)
        for d in index.documents:
            self.modules[d.module][d.lang] = d.title
        for s in index.sections:
            self.sections[(s.module, s.lang, s.id)] = _Section(self.modules[s.module][s.lang], s.heading, s.text,
                                                               s.ordinal)
            self.section_langs[(s.module, s.id)].append(s.lang)
        for langs in self.section_langs.values():
            langs.sort(key=self.langs.index)
        self._cache: OrderedDict[tuple, SearchResponse] = OrderedDict()
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._cache_size = cache_size
        self._folded_cache: dict[str, tuple[str, str, str]] = {}  # bounded by the number of chunks

    def validate(self, query: str, lang: str | None, module: str | None, k: int, mode: str = "hybrid") -> str:
        """The cleaned query, or a SearchError naming the bad field."""
        q = " ".join(visible(query or "").split())  # invisible-only is as empty as whitespace-only
        if not q:
            raise SearchError("q", "query is empty")
        if len(q) > MAX_QUERY:
            raise SearchError("q", f"query is longer than {MAX_QUERY} characters")
        if lang is not None and lang not in self.langs:
            raise SearchError("lang", f"unknown language '{lang}': one of {', '.join(self.langs)}")
        if module is not None and module not in self.modules:
            raise SearchError("module", f"unknown module '{module}'")
        if not 1 <= k <= MAX_K:
            raise SearchError("k", f"k must be between 1 and {MAX_K}")
        if mode not in MODES:
            raise SearchError("mode", f"mode must be one of {', '.join(MODES)}")
        return q

    def search(self, query: str, lang: str | None = None, module: str | None = None, k: int = 10,
               mode: str = "hybrid") -> SearchResponse:
        """Ranked sections for a query; with `lang`, every result is in that language."""
        started = time.perf_counter()
        q = self.validate(query, lang, module, k, mode)
        key = (q, lang, module, k, mode)
        with self._cache_lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        response = self._search(q, lang, module, k, mode)
        response.took_ms = round((time.perf_counter() - started) * 1000, 2)
        with self._cache_lock:
            self._cache[key] = response
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return response

    def _search(self, q: str, lang: str | None, module: str | None, k: int, mode: str) -> SearchResponse:
        expansions = self.glossary.all_expansions(q) if self.glossary else {}
        lists: list[tuple[str, list[tuple[str, str, int]]]] = []
        depth = max(DEPTH, 2 * k)
        weights = dict.fromkeys(self.langs, 1.0)
        if mode in ("hybrid", "dense"):
            vector = self.query_vector(q)
            dense = {L: self._dense(vector, L, module, depth) for L in self.langs}
            weights = language_weights({L: top for L, (_, top) in dense.items()})
            lists += [(L, ranked) for L, (ranked, _) in dense.items()]
        if mode in ("hybrid", "keyword"):
            lists += [(L, self._keyword(q, expansions.get(L, []), L, module, depth)) for L in self.langs]
        asked_in = query_language(q)
        fused: dict[tuple[str, str], float] = defaultdict(float)
        by_lang: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
        best_chunk: dict[tuple[str, str, str], int] = {}
        for L, ranked in lists:
            for rank, (module_id, sid, chunk_id) in enumerate(ranked):
                share = weights[L] / (RRF_K + rank + 1)
                fused[(module_id, sid)] += share
                by_lang[(module_id, sid)][L] += share
                best_chunk.setdefault((module_id, sid, L), chunk_id)
        results: list[SearchResult] = []
        for (module_id, sid), score in sorted(fused.items(), key=lambda kv: -kv[1]):
            langs = self.section_langs.get((module_id, sid), [])
            evidence = by_lang[(module_id, sid)]
            shown = lang or max(langs, key=lambda L: (evidence.get(L, 0.0), L == asked_in), default=None)
            if shown is None or shown not in langs:
                continue
            results.append(self._result(q, module_id, sid, shown, score, langs, expansions.get(shown, []),
                                        best_chunk.get((module_id, sid, shown))))
            if len(results) == k:
                break
        return SearchResponse(q, results, lang, module, k,
                              expansions={L: v for L, v in expansions.items() if v})

    def _folded(self, body: str) -> tuple[str, str, str]:
        """A chunk's text on one line with its lowercased and folded twins, computed once per chunk."""
        pair = self._folded_cache.get(body)
        if pair is None:
            pair = self._folded_cache[body] = normalise_for_snippet(body)
        return pair

    def query_vector(self, q: str) -> np.ndarray:
        """The query embedding, cached: filters and modes of the same query share it."""
        with self._cache_lock:
            if q in self._vectors:
                return self._vectors[q]
        vector = self.embedder.embed_queries([q]).reshape(1, -1)
        with self._cache_lock:
            self._vectors[q] = vector
            if len(self._vectors) > self._cache_size:
                self._vectors.popitem(last=False)
        return vector

    def _dense(self, vector: np.ndarray, lang: str, module: str | None,
               depth: int) -> tuple[list[tuple[str, str, int]], float]:
        """Sections of one language by their best chunk's cosine, and the best cosine itself."""
        total = self.index.vector_count(lang)
        scores, ids = self.index.dense(lang, vector, total if module else depth)
        ranked = self._sections_of(ids, module)
        if not ranked:
            return [], -1.0
        top = next(float(sc) for sc, i in zip(scores, ids, strict=True) if int(i) == ranked[0][2])
        return ranked, top

    def _keyword(self, q: str, extra: list[str], lang: str, module: str | None,
                 depth: int) -> list[tuple[str, str, int]]:
        words = tokens(q, query=True) + [t for form in extra for t in tokens(form, query=True)]
        stop = self.index.stop_tokens.get(lang, frozenset())
        words = [w for w in words if w not in stop] or words
        if not words:
            return []
        return self._sections_of(self.index.keyword(fts_query(words), lang, module, depth), module)

    def _sections_of(self, chunk_ids: list[int], module: str | None) -> list[tuple[str, str, int]]:
        """Chunks in rank order -> sections in rank order (a section ranks where its best chunk does)."""
        seen: set[tuple[str, str]] = set()
        out: list[tuple[str, str, int]] = []
        for cid in chunk_ids:
            row = self.index.chunks.get(cid)
            if row is None or (module and row.module != module) or (row.module, row.section) in seen:
                continue
            seen.add((row.module, row.section))
            out.append((row.module, row.section, cid))
        return out

    def _result(self, q: str, module: str, sid: str, lang: str, score: float, langs: list[str],
                expansions: list[str], chunk_id: int | None) -> SearchResult:
        sec = self.sections[(module, lang, sid)]
        row = self.index.chunks.get(chunk_id) if chunk_id is not None else None
        body = row.body if row is not None and row.body.strip() else sec.text
        snippet, highlights = make_snippet(body, query_terms(q, expansions), self._folded(body))
        return SearchResult(module, sid, lang, sec.title, sec.heading, round(score, 5), snippet, langs,
                            highlights, f"/modules/{module}/{lang}#{sid}")


def language_weights(tops: dict[str, float]) -> dict[str, float]:
    """Weight each language's lists by how close its best dense match comes to the best of all languages.

    The model scores same-language text higher than true translations, so the language whose best passage scores
    highest is most likely the query's own, and its lists are the most trustworthy; languages whose best match is
    far below get little say. This replaces equal-weight fusion, which let weaker cross-language lists outvote
    the query's own language (en->en recall@1 0.879 instead of 0.943 on XQuAD)."""
    best = max(tops.values(), default=0.0)
    return {L: math.exp((top - best) / LANG_TEMPERATURE) for L, top in tops.items()}


def query_language(q: str) -> str | None:
    """A guess at the query's language from its script, used only to break ties between languages."""
    if CJK.search(q):
        return "zh"
    if re.search(r"[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]", q.lower()):
        return "vi"
    return None
