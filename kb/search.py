"""Hybrid, section-aware, cross-lingual search over a built index.

The default model prefers text in the query's own language over the true translation, so raw cosines are never
compared across languages. Instead every language is searched on its own, dense (FAISS) and keyword (SQLite FTS5)
separately; each ranked list of chunks becomes a ranked list of sections (module + section id, the id that aligns
languages), and the lists are fused by reciprocal rank. Evidence for a section in any language therefore counts
for that section in all of them: a Vietnamese query finds the Chinese version of the section it matched in
Vietnamese."""

from __future__ import annotations

import math
import threading
import time
from collections import Counter, OrderedDict, defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from kb import LANGS
from kb.calibration import Calibration
from kb.diacritics import CONTEXT_CHUNKS, Restorer
from kb.embedders import Embedder
from kb.errors import KbError
from kb.glossary import Glossary
from kb.headings import HeadingIndex
from kb.recommendations import FilterError, RecFilter, parse_filter
from kb.relevance import Relevance
from kb.snippets import Terms, make_snippet, mark, normalise_for_snippet, query_terms
from kb.store import BuildReader, embedder_mismatch
from kb.text import exact_tokens, fold, fts_query, tokens, visible, words
from kb.vi_words import WordJoiner

MAX_QUERY = 500
MAX_K = 50
RRF_K = 10
"""Reciprocal-rank constant: small, because the top ranks carry the signal here (K=60 loses 0.14 recall@1 on
XQuAD; docs/benchmarks.md)."""
LANG_TEMPERATURE = 0.02
"""How sharply the language of the best (centred) dense match is trusted (see `language_weights`)."""
FIELD_WEIGHTS = (0.3, 4.0, 1.0, 1.0)
"""BM25 column weights: module title, heading path, body, and the exact (accented) words. A word of the heading
says more about a section than the same word in its body; the title is shared by every section of a module, so
it says which module, not which section; an accented match adds to its folded one."""
MODULE_TIE = 0.5
"""Extra fusion share, as a fraction of a first-rank share, for every section of a module whose title names a
glossary term the query names (`NPC T3 vs T4` ties to the nasopharyngeal module, not to lung staging)."""
MAX_TIED_MODULES = 2
"""A term named in more module titles than this (cancer, TACE) says nothing about which module is meant."""
OTHER_DISEASE = 0.5
"""Fraction of its fused score that a section loses when the query names a disease some module is about and the
section's module title names only other diseases (`điều trị ung thư gan giai đoạn sớm` is not about the breast
module's "early breast cancer" section, which shares every other word)."""
HEADING_MATCH = 0.5
"""Extra fusion share, as a fraction of a first-rank share, for a section whose heading in the query's language
holds every word of the query (`opioid titration` is the heading "Opioid titration and breakthrough pain"; the
dense lists had put "Opioid conversion and rotation" first, and the heading list's first rank alone did not
outvote them). Rare in question-like queries: on the tune halves it changed no top-10 list of the oncology sets
and no XQuAD figure, and put one more of 18 terse queries first (`bench/queries-terse.yaml`; 0.5 and 1.0 alike);
measured once after on the test halves: the same, one terse query more first (0.611 -> 0.667), the 105 new-module
queries unchanged."""
DISEASES = "cancer types and disease concepts"
"""The glossary category (`# ---- <name>` line) whose terms are diseases, for `OTHER_DISEASE`."""
KEYWORD_SHARE = 1.0
"""Fusion weight of each language's keyword list over every field (weighted again by `language_weights`)."""
CROSS_KEYWORD_SHARE = 0.25
"""The fraction of its weight that a keyword list (every field, and headings) keeps in a language other than the
query's, in hybrid search. Words match across languages mostly by accident (an English word quoted in Vietnamese,
a number), and the Chinese or Vietnamese list of an English question, voting for whatever holds those words,
outvoted the dense evidence for the answer there: told which language holds it, the search put it first for
0.796 / 0.766 of the non-parallel XQuAD tune half (A / B) with these lists, 0.806 / 0.786 without any keyword list.
Even the glossary's forms of the query's terms in that language did not earn the whole weight back (tune halves:
the oncology queries 0.789 -> 0.767 recall@1, partly translated answers in another language 0.544 -> 0.456). In
keyword mode, where the words are all the evidence there is, every list keeps its weight (a Vietnamese query finds
the Chinese side-effects section through the glossary's 便秘). Only the lists of a query of known language are
scaled. Chosen on the tune halves (0, 0.25, 0.5, 1; keeping only numbers and capitalised names in the lists
instead did nothing), measured on the test halves: docs/benchmarks.md, "Part of the language mean across
languages"."""
HEADING_SHARE = 1.0
"""Fusion weight of each language's heading-only keyword list (`kb.headings`)."""
POOL_SHARE = 1.0
"""Fusion weight of the one mixed-language list by centred cosine (`_pool`)."""
POOL_ABSENT_BOOST = 3.0
"""The mixed list counts 1 + this much when its top section does not exist in the query's language: the dense
evidence then points at content that only another language holds (a chapter not translated yet), which the
query language's own dense and keyword lists cannot vote for, and which they outvoted before. Where every section
exists in every language the rule never fires, so parallel content ranks as before. Chosen on the tune halves
(boosts 1-6; 3 and above level off), then measured once on the test halves (XQuAD even articles, the held-out
oncology queries): non-parallel, answer in another language, recall@1 0.638 -> 0.671 (split A) and 0.646 -> 0.689
(B), recall@5 0.814 -> 0.836 and 0.835 -> 0.855; same-language answers -0.003 recall@1, +0.002-0.003 recall@5;
parallel XQuAD and the oncology queries (accented, folded, partly translated) unchanged. The same boost whenever
another language's best cosine was the highest also cost parallel XQuAD 0.003 and 3 held-out oncology queries."""
POOL_ABSENT_TOP = 3
"""How many of the mixed list's first sections are looked at for `POOL_ABSENT_BOOST`: one missing in the query's
language is enough (it was the first one alone until 2026-12-03). Where every section exists in every language the
rule still never fires. Chosen on the tune halves (1, 2, 3, 5, 10; 3 and above level off): non-parallel XQuAD,
answer in another language, recall@5 0.859 -> 0.886 (split A) and 0.872 -> 0.898 (B), recall@1 unchanged;
same-language answers recall@1 -0.008 (A) and 0.000 (B); partly translated oncology, answer in another language,
recall@5 0.614 -> 0.667; parallel XQuAD and the oncology sets unchanged. Measured once after on the test halves:
recall@5 0.836 -> 0.861 (A) and 0.856 -> 0.881 (B), recall@1 +0.001 / 0.000; same-language recall@1 -0.005 and
-0.004; partly translated, answer in another language, recall@5 0.667 -> 0.778 (n=9) but answer in the same
language recall@1 0.905 -> 0.873 (2 of 63 queries lose their first place); parallel XQuAD and the oncology sets
unchanged."""
ABSENT_LIFT = 0.06
"""Added to the centred cosine of a section missing in the query's language, where languages are compared: in the
language weights (`language_weights`, by each language's best section) and in the mixed list (`_pool`). Centring
takes away each language's mean, not all of what text in one language shares: a question's centred cosine with
an unrelated passage of its own language still runs higher than with the answer in another (of the questions
whose answer the search, told the language, puts first but this search did not, two in three had a first result
in the question's own language). The value is what a softmax over the three languages fitted on the tune halves
of non-parallel XQuAD gives the question's own language (-0.77 against 12.0 per unit of cosine: 0.064); a section
that exists in the query's language is never lifted, so where every section is translated nothing changes.
Measured on the tune halves (0.04, 0.06, 0.08 in the weights; 0.03, 0.06, 0.1 in the mixed list) and once on the
test halves: docs/benchmarks.md, "A lift for sections the query's language lacks"."""
PER_LANGUAGE_SHARE = 1.0
"""Fusion weight of each language's own dense list (weighted again by `language_weights`)."""
WEAK_DENSE_SHARE = 0.3
"""When no passage is close (the query is weak), the dense lists count this much: the words typed decide."""
WEAK_FLOOR = 0.232
"""Best centred cosine below which the dense lists get `WEAK_DENSE_SHARE` in the fusion. Whether a response is
`weak` (no good match) is `kb.relevance`'s judgement over several signals, of which this cosine is one."""
LIST_CENTRING = 0.6
"""How much of the language means is taken away (`kb.calibration`) from the query and the passages to rank the
dense lists of languages other than the query's and the mixed one (`_pool`): 0 is the model's plain cosine, 1 the
centred one, which still weighs the languages (`language_weights`) and judges a response weak. Across languages
the plain cosine keeps the language gap and the centred one overshoots: told which language holds the answer, the
model alone (its sentences counted in) puts the answer of a non-parallel XQuAD question in another language first
for 0.792 / 0.775 of the tune half (splits A / B) at 0, 0.809 / 0.793 at 1, 0.829 / 0.814 at 0.6. Chosen on the
tune halves of every set (0.3-1 for the mixed list, 0-0.7 for the language lists; one value for both, 0.6 or 0.7,
did as well as two), measured on the test halves: docs/benchmarks.md, "Part of the language mean across
languages"."""
OWN_LIST_CENTRING = 0.0
"""The same for the dense list of the query's own language: its plain cosine, the model's own order (centring
divides by each passage's distance from its language's mean, which reorders passages for no gain; `RAW_WITHIN`
of 2026-12-02). On the tune halves against 0.6: the oncology queries 0.778 -> 0.789 recall@1, same-language
answers on non-parallel XQuAD +0.002 and on the partly translated corpus +0.005, nothing else moved."""
DEPTH = 30
"""How many chunks each per-language list contributes to the fusion, whatever k is, so that a larger k lists the
same first sections (it looked at 2k before, and k = 30 reordered the top 10). XQuAD recall@1/@5/MRR are the
same to 3 decimals at 30 as at 100, and the fusion loop is cheaper. When the lists of this depth hold fewer than
k sections, a second, deeper pass appends the rest."""
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
    recommendations: list[dict[str, str | None]] = field(default_factory=list)
    """The section's rec blocks in the shown language: {grade: "nccn:2A" or None, cn, vn}."""
    heading_highlights: list[list[int]] = field(default_factory=list)
    """[start, end] spans of the query's words in `heading`, as `highlights` are in `snippet`."""


@dataclass
class SearchResponse:
    query: str
    results: list[SearchResult]
    lang: str | None = None
    module: str | None = None
    k: int = 10
    took_ms: float = 0.0
    expansions: dict[str, list[str]] = field(default_factory=dict)
    grade: str | None = None
    available_in: str | None = None
    weak: bool = False
    """True when no section is a good match: the results are only the closest ones."""
    query_lang: str | None = None
    """The language the query was read as (script, vocabulary, embedding)."""
    restored: str | None = None
    """The query with its Vietnamese diacritics restored, when it was typed without them."""
    as_typed: bool = False
    """True when the query was searched exactly as typed, on request (`as_typed`), although it would have had its
    diacritics restored: the page then offers the restored search back."""
    offer: str | None = None
    """With `as_typed`, the query as the search would have read it, diacritics restored: what the page's link back
    searches (None when `as_typed` is False)."""
    best: float = 0.0
    """The best centred dense score, one of the signals `weak` is decided on (`kb.relevance`)."""
    relevance: float | None = None
    """P(some section answers the query) under `kb.relevance`'s model; `weak` is this below its operating point
    (None in keyword mode, which is never judged)."""

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
        self.recs: dict[tuple[str, str, str], list[dict[str, str | None]]] = defaultdict(list)
        for r in index.recommendations:
            self.recs[(r.module, r.lang, r.section)].append(
                {"grade": f"{r.scheme}:{r.grade}" if r.scheme else None, "cn": r.cn, "vn": r.vn})
        vocab = {L: index.word_counts(L) for L in ("en", "vi") if L in self.langs}
        self.calibration = Calibration(index, {L: frozenset(fold(w) for w in words) for L, (words, _) in
                                               vocab.items()})
        self.restorer = Restorer(*vocab["vi"]) if "vi" in vocab else None
        self.joiner = WordJoiner(*vocab["vi"]) if "vi" in vocab else None  # highlights mark words, not syllables
        # switchable, to measure what each adds (bench/crosslingual.previous_ranking)
        self.field_weights, self.exact_keywords, self.heading_list = FIELD_WEIGHTS, True, True
        self.pool_share, self.per_language_share, self.weak_dense_share = POOL_SHARE, PER_LANGUAGE_SHARE, \
            WEAK_DENSE_SHARE
        self.lang_temperature, self.heading_share, self.keyword_share = LANG_TEMPERATURE, HEADING_SHARE, KEYWORD_SHARE
        self.list_centring, self.own_list_centring = LIST_CENTRING, OWN_LIST_CENTRING
        self.cross_keyword_share = CROSS_KEYWORD_SHARE
        self.pool_absent_boost = POOL_ABSENT_BOOST
        self.pool_absent_top = POOL_ABSENT_TOP
        self.heading_match = HEADING_MATCH
        self.absent_lift = ABSENT_LIFT
        self.term_modules = self._term_modules()
        self.other_disease = OTHER_DISEASE
        self.module_diseases = self._module_diseases()
        self.relevance = Relevance(index.token_frequencies(), len(index.chunks),
                                   {t for stop in index.stop_tokens.values() for t in stop})
        self.headings = HeadingIndex({key: sec.heading for key, sec in self.sections.items()})
        self.first_chunk: dict[tuple[str, str, str], int] = {}
        for cid in sorted(index.chunks):
            c = index.chunks[cid]
            self.first_chunk.setdefault((c.module, c.lang, c.section), cid)
        self._cache: OrderedDict[tuple, SearchResponse] = OrderedDict()
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._cache_size = cache_size
        self._folded_cache: dict[str, tuple[str, str, str]] = {}  # bounded by the number of chunks

    def rec_filter(self, grade: str | None, available_in: str | None) -> RecFilter | None:
        """The recommendation filter of a request, or a SearchError naming `grade` or `available_in`."""
        try:
            return parse_filter(grade, available_in)
        except FilterError as exc:
            raise SearchError(exc.field, exc.message) from None

    def graded_sections(self, rec_filter: RecFilter) -> set[tuple[str, str]]:
        """(module, section) of every section, in any language, with a rec block the filter accepts."""
        return {(m, sid) for (m, _L, sid), recs in self.recs.items()
                if any(rec_filter.matches(*_parts(r)) for r in recs)}

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
               mode: str = "hybrid", grade: str | None = None, available_in: str | None = None,
               prefer: str | None = None, as_typed: bool = False) -> SearchResponse:
        """Ranked sections for a query; with `lang`, every result is in that language; with `grade` and/or
        `available_in`, only sections with a recommendation block that meets them. `prefer` (the reader's UI
        language) is the language a result is shown in when the query's own words do not tell its language (an
        acronym or a drug name written alike in every language, `tace`, `morphine`: the embedding's guess ranks,
        the reader's language shows) or when no section matches well (`weak`: the words may be a typo).
        `as_typed` searches a Vietnamese query typed without diacritics as it is, without restoring them (the
        restorer guessed wrong, or the reader means a word the corpus does not hold)."""
        started = time.perf_counter()
        q = self.validate(query, lang, module, k, mode)
        rec_filter = self.rec_filter(grade, available_in)
        prefer = prefer if prefer in self.langs else None
        key = (q, lang, module, k, mode, rec_filter, prefer, as_typed)
        with self._cache_lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        response = self._search(q, lang, module, k, mode, rec_filter, prefer, DEPTH, as_typed)
        if len(response.results) < k and 2 * k > DEPTH and rec_filter is None:
            # More sections than the lists of depth DEPTH reach: look deeper, and append what is new, so the first
            # results of k = 30 are those of k = 10 (a client paging through an answer sees one order). A
            # recommendation filter ranks every chunk already (`_search`): deeper would find nothing more.
            deeper = self._search(q, lang, module, k, mode, rec_filter, prefer, 2 * k, as_typed)
            seen = {(r.module, r.section) for r in response.results}
            response.results += [r for r in deeper.results if (r.module, r.section) not in seen][
                :k - len(response.results)]
        # searched as typed although it would have been restored: the page offers the restored search back
        if as_typed and (restored := self.read_query(q)[1]) != q:
            response.as_typed, response.offer = True, restored
        response.took_ms = round((time.perf_counter() - started) * 1000, 2)
        with self._cache_lock:
            self._cache[key] = response
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return response

    def _search(self, q: str, lang: str | None, module: str | None, k: int, mode: str,
                rec_filter: RecFilter | None = None, prefer: str | None = None,
                depth: int = DEPTH, as_typed: bool = False) -> SearchResponse:
        expansions = self.glossary.all_expansions(q) if self.glossary else {}
        lists: list[tuple[str | None, list[tuple[str, str, int]], float]] = []  # (language, sections, weight)
        allowed = self.graded_sections(rec_filter) if rec_filter is not None else None
        if allowed is not None:
            depth = len(self.index.chunks)  # few sections pass: rank them all rather than miss them
        weights = dict.fromkeys(self.langs, 1.0)
        asked_in, read = self.read_query(q, as_typed)
        guessed = asked_in is None  # the words alone did not tell the language (`tace`, `morphine`, `qwxzj`)
        best = 1.0
        if mode in ("hybrid", "dense"):
            vector = self.query_vector(read)
            asked_in = self.calibration.query_language(read, vector) if asked_in is None else asked_in
            dense = self._dense(vector, asked_in, module, depth, allowed)
            weights = self.weights_of(dense, asked_in)
            best = max((top for _, top, _ in dense.values()), default=-1.0)
            share = self.weak_dense_share if best < WEAK_FLOOR and mode == "hybrid" else 1.0
            ranking = (dense if self.list_centring == 1.0 else
                       self._dense(vector, asked_in, module, depth, allowed, self.list_centring))
            own = (self._dense(vector, asked_in, module, depth, allowed, self.own_list_centring, [asked_in])
                   if asked_in in ranking and self.own_list_centring != self.list_centring else {})
            lists += [(L, own.get(L, ranking[L])[0], share * self.per_language_share) for L in ranking]
            if self.pool_share:
                pool = self._pool(ranking, module, depth, asked_in)
                absent = self._absent(pool[:self.pool_absent_top], asked_in)
                lists.append((None, pool, share * self.pool_share * (1 + self.pool_absent_boost * absent)))
        if mode in ("hybrid", "keyword"):
            exact = exact_tokens(read) if self.exact_keywords else []
            for L in self.langs:
                for ranked, factor in zip(self._keyword(q, read, expansions.get(L, []), exact, L, module, depth,
                                                                      allowed),
                                          (self.keyword_share, self.heading_share), strict=False):
                    accidental = mode == "hybrid" and asked_in is not None and L != asked_in
                    lists.append((L, ranked, factor * (self.cross_keyword_share if accidental else 1.0)))
        fused: dict[tuple[str, str], float] = defaultdict(float)
        by_lang: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
        best_chunk: dict[tuple[str, str, str], int] = {}
        for list_lang, ranked, factor in lists:
            for rank, (module_id, sid, chunk_id) in enumerate(ranked):
                L = list_lang or self.index.chunks[chunk_id].lang
                share = factor * (weights[list_lang] if list_lang else 1.0) / (RRF_K + rank + 1)
                fused[(module_id, sid)] += share
                by_lang[(module_id, sid)][L] += share
                best_chunk.setdefault((module_id, sid, L), chunk_id)
        terms = self.glossary.find(q) if self.glossary else []
        tied = {m for term, _ in terms for m in self.term_modules.get(term.id, ())}
        named = self._diseases_named(terms)
        first_share = max(weights.values(), default=1.0) / (RRF_K + 1)
        whole = (self.headings.complete(read, asked_in, self.index.stop_tokens.get(asked_in, frozenset()))
                 if self.heading_match and asked_in and mode != "dense" else set())
        for key in fused:
            if key[0] in tied:
                fused[key] += MODULE_TIE * first_share
            if key in whole:
                fused[key] += self.heading_match * first_share
            theirs = self.module_diseases.get(key[0])
            if named and theirs and not theirs & named:
                fused[key] *= 1.0 - self.other_disease
        weak, relevance = (self.judge(read, vector, best, dense, asked_in, len(terms)) if mode != "keyword" else
                           (False, None))
        first = [prefer, asked_in] if weak or guessed else [asked_in]
        results: list[SearchResult] = []
        marked: dict[str, Terms] = {}  # the words to mark, per shown language: the same for all its results
        for (module_id, sid), score in sorted(fused.items(), key=lambda kv: -kv[1]):
            langs = self.section_langs.get((module_id, sid), [])
            evidence = by_lang[(module_id, sid)]
            shown = lang or next((L for L in first if L in langs), None) or \
                max(langs, key=lambda L: evidence.get(L, 0.0), default=None)
            if shown is None or shown not in langs:
                continue
            if shown not in marked:
                marked[shown] = self._terms(read, shown, expansions.get(shown, []))
            results.append(self._result(module_id, sid, shown, score, langs, marked[shown],
                                        best_chunk.get((module_id, sid, shown))))
            if len(results) == k:
                break
        params = rec_filter.as_params() if rec_filter is not None else {}
        return SearchResponse(q, results, lang, module, k, expansions={L: v for L, v in expansions.items() if v},
                              weak=weak, query_lang=asked_in, restored=read if read != q else None,
                              best=round(best, 4), relevance=None if relevance is None else round(relevance, 4),
                              **params)

    def judge(self, read: str, vector: np.ndarray, best: float, dense: dict, asked_in: str | None,
              glossary_hits: int) -> tuple[bool, float]:
        """(weak, relevance) of a query from its dense scores and words (`kb.relevance`)."""
        typical = max((float(vector.reshape(-1) @ c) for c in self.calibration.centres.values()), default=0.0)
        scores = [s for _, _, score_of in dense.values() for s in score_of.values()]
        top = max((ranked[0] for ranked, _, _ in dense.values() if ranked), key=lambda r: dense_score(dense, r),
                  default=None)
        own = asked_in is None or top is None or asked_in in self.section_langs.get(top[:2], [asked_in])
        return self.relevance.judge(self.relevance.evidence(tokens(read, query=True), best, scores, typical,
                                                            glossary_hits, own))

    def _diseases(self, terms: list) -> set[str]:  # noqa: ANN001 - Glossary.find's (term, languages)
        """The diseases among glossary terms, with what each is a kind of (HCC is primary liver cancer)."""
        named: set[str] = set()
        if self.glossary is not None:
            for term, _ in terms:
                if term.category == DISEASES:
                    named |= {term.id} | self.glossary.ancestors(term.id)
        return named

    def _module_diseases(self) -> dict[str, set[str]]:
        """Module -> the diseases its title names in every one of its languages (a form that one language's title
        happens to use, 肿瘤 for a care-organisation module, does not make it a disease module)."""
        out: dict[str, set[str]] = {}
        for module, titles in self.modules.items():
            each = [self._diseases(self.glossary.find(t)) for t in titles.values()] if self.glossary else []
            common = set.intersection(*each) if each else set()
            if common:
                out[module] = common
        return out

    def _diseases_named(self, terms: list) -> set[str]:  # noqa: ANN001 - Glossary.find's (term, languages)
        """The diseases a query names that some module is about, with the kinds of each and the kinds of them
        (a query naming primary liver cancer is about the HCC module), for `OTHER_DISEASE`; empty when the query
        names no disease a module is about (then no module is "another disease")."""
        named = self._diseases(terms)
        if self.glossary is not None:
            named |= {t for up in list(named) for t in self.glossary.narrower(up)}
        return named if any(named & ds for ds in self.module_diseases.values()) else set()

    def _term_modules(self) -> dict[str, tuple[str, ...]]:
        """Glossary term id -> the modules whose title names it or a kind of it (in any language), for specific
        terms only: `ung thư gan` (primary liver cancer) ties the module titled with hepatocellular carcinoma,
        whose glossary entry says it is a kind of primary liver cancer (`broader`)."""
        if self.glossary is None:
            return {}
        named: dict[str, set[str]] = defaultdict(set)
        for module, titles in self.modules.items():
            for title in titles.values():
                for term, _ in self.glossary.find(title):
                    for tid in {term.id} | self.glossary.ancestors(term.id):
                        named[tid].add(module)
        return {t: tuple(sorted(ms)) for t, ms in named.items() if len(ms) <= MAX_TIED_MODULES}

    def read_query(self, q: str, as_typed: bool = False) -> tuple[str | None, str]:
        """(language if the text alone tells it, the query to embed): a Vietnamese query typed without
        diacritics gets them back from the corpus's vocabulary, so the embedder reads the words it was built on
        (unless `as_typed`)."""
        asked_in = self.calibration.query_language(q, None)
        if asked_in == "vi" and self.restorer is not None and not as_typed and fold(q) == q.lower():
            return "vi", self.restorer.restore(q, self._restoring_context(q))
        return asked_in, q

    def _restoring_context(self, q: str) -> Counter[str]:
        """The accented words of the Vietnamese sections a folded query matches best by keyword: what its plain
        words most likely mean here (`kb.diacritics.CONTEXT_WEIGHT`)."""
        stop = self.index.stop_tokens.get("vi", frozenset())
        present = self.index.keyword_tokens.get("vi", frozenset())
        kept = [t for t in tokens(q, query=True) if t in present and t not in stop]
        ids = self.index.keyword(fts_query(kept), "vi", None, CONTEXT_CHUNKS, self.field_weights) if kept else []
        context: Counter[str] = Counter()
        for cid in ids:
            context.update(set(words(self.index.chunks[cid].body)))
        return context

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

    def _dense(self, vector: np.ndarray, asked_in: str | None, module: str | None, depth: int,
               allowed: set[tuple[str, str]] | None = None, centring: float = 1.0, langs: list[str] | None = None
               ) -> dict[str, tuple[list[tuple[str, str, int]], float, dict[int, float]]]:
        """Per language: sections by their best chunk's cosine with `centring` of the language means taken away,
        the best of those cosines, and the cosine of every chunk looked at.

        Centred cosines (1) compare across languages (`kb.calibration`), so the language that holds the answer,
        not the query's own, gets the most weight in the fusion; the lists rank by `LIST_CENTRING` (the query's own
        language's by `OWN_LIST_CENTRING`)."""
        out: dict[str, tuple[list[tuple[str, str, int]], float, dict[int, float]]] = {}
        for L, (ids, scores) in self.calibration.scores(vector, asked_in, langs, centring).items():
            if not len(ids):
                out[L] = ([], -1.0, {})
                continue
            n = len(ids) if module else min(len(ids), depth)
            top = np.argpartition(-scores, n - 1)[:n] if n < len(ids) else np.arange(len(ids))
            top = top[np.argsort(-scores[top], kind="stable")]
            ranked = self._sections_of(ids[top].tolist(), module, allowed)
            score_of = dict(zip(ids[top].tolist(), scores[top].tolist(), strict=True))
            out[L] = (ranked, float(score_of[ranked[0][2]]) if ranked else -1.0, score_of)
        return out

    def weights_of(self, dense: dict[str, tuple[list[tuple[str, str, int]], float, dict[int, float]]],
                   asked_in: str | None) -> dict[str, float]:
        """Each language's weight in the fusion (`language_weights`) from its best centred dense match, lifted
        when the query's language lacks that section (`ABSENT_LIFT`)."""
        return language_weights({L: top + (self.absent_lift if self._absent(ranked[:1], asked_in) else 0.0)
                                 for L, (ranked, top, _) in dense.items()}, self.lang_temperature)

    def _absent(self, sections: list, asked_in: str | None) -> bool:
        """Whether any of these (module, section, ...) is missing in the query's language; for a query of no known
        language every section is (the mixed list's boost fires; the lift, added to every language alike, then
        changes no weight and no order)."""
        return any(asked_in not in self.section_langs.get(tuple(p[:2]), []) for p in sections)

    def _pool(self, dense: dict[str, tuple[list[tuple[str, str, int]], float, dict[int, float]]],
              module: str | None, depth: int, asked_in: str | None = None) -> list[tuple[str, str, int]]:
        """One list over every language by cosine (`LIST_CENTRING`): a section present in one language only
        competes with the query language's sections (the per-language lists each rank within a language), its
        cosine lifted by `ABSENT_LIFT` when the query's language lacks it."""
        scored = sorted(((score_of[cid] + (self.absent_lift if self._absent([(m, s)], asked_in) else 0.0),
                          (m, s, cid)) for ranked, _, score_of in dense.values() for m, s, cid in ranked),
                        key=lambda item: -item[0])
        seen: set[tuple[str, str]] = set()
        out = []
        for _, (m, s, cid) in scored:
            if (m, s) not in seen:
                seen.add((m, s))
                out.append((m, s, cid))
        return out[:depth]

    def _keyword(self, q: str, read: str, extra: list[str], exact: list[str], lang: str, module: str | None,
                 depth: int, allowed: set[tuple[str, str]] | None = None) -> list[list[tuple[str, str, int]]]:
        """Two ranked lists of one language: every field (BM25 with column weights), and headings alone
        (`kb.headings`: a heading query such as `CNLC分期` gets its own vote)."""
        words = tokens(q, query=True) + [t for form in extra for t in tokens(form, query=True)]
        stop = self.index.stop_tokens.get(lang, frozenset())
        words = [w for w in words if w not in stop] or words
        if not words:
            return []
        present = self.index.keyword_tokens.get(lang, frozenset())
        kept = [w for w in words + exact if w in present]
        ids = self.index.keyword(fts_query(kept), lang, module, depth, self.field_weights) if kept else []
        heads = self.headings.ranked(read, lang, stop, module, depth) if self.heading_list else []
        return [self._sections_of(ids, module, allowed),
                [(m, sid, self.first_chunk[(m, lang, sid)]) for m, sid in heads if (m, lang, sid) in self.first_chunk
                 and (allowed is None or (m, sid) in allowed)]]

    def _sections_of(self, chunk_ids: list[int], module: str | None,
                     allowed: set[tuple[str, str]] | None = None) -> list[tuple[str, str, int]]:
        """Chunks in rank order -> sections in rank order (a section ranks where its best chunk does)."""
        seen: set[tuple[str, str]] = set()
        out: list[tuple[str, str, int]] = []
        for cid in chunk_ids:
            row = self.index.chunks.get(cid)
            if row is None or (module and row.module != module) or (row.module, row.section) in seen:
                continue
            if allowed is not None and (row.module, row.section) not in allowed:
                continue
            seen.add((row.module, row.section))
            out.append((row.module, row.section, cid))
        return out

    def _terms(self, q: str, lang: str, expansions: list[str]) -> Terms:
        """The words a result shown in `lang` marks: the query's and its glossary forms there, Vietnamese
        syllables that are one word marked as one (`kb.vi_words`)."""
        joined = self.joiner.joined((q, *expansions)) if self.joiner is not None and lang == "vi" else frozenset()
        return query_terms(q, expansions, joined)

    def _result(self, module: str, sid: str, lang: str, score: float, langs: list[str], terms: Terms,
                chunk_id: int | None) -> SearchResult:
        sec = self.sections[(module, lang, sid)]
        row = self.index.chunks.get(chunk_id) if chunk_id is not None else None
        body = row.body if row is not None and row.body.strip() else sec.text
        joiner = self.joiner if lang == "vi" else None
        snippet, highlights = make_snippet(body, terms, self._folded(body), joiner=joiner)
        return SearchResult(module, sid, lang, sec.title, sec.heading, round(score, 5), snippet, langs,
                            highlights, f"/modules/{module}/{lang}#{sid}", list(self.recs.get((module, lang, sid), [])),
                            mark(sec.heading, terms, joiner))


def dense_score(dense: dict, hit: tuple[str, str, int]) -> float:
    """The centred cosine of one chunk the dense search looked at (`Searcher._dense`)."""
    return max((score_of.get(hit[2], -1.0) for _, _, score_of in dense.values()), default=-1.0)


def _parts(rec: dict[str, str | None]) -> tuple[str | None, str | None, str | None, str | None]:
    scheme, _, grade = (rec.get("grade") or "").partition(":")
    return scheme or None, grade or None, rec.get("cn"), rec.get("vn")


def language_weights(tops: dict[str, float], temperature: float = LANG_TEMPERATURE) -> dict[str, float]:
    """Weight each language's lists by how close its best (centred) dense match comes to the best of all.

    On centred cosines the language whose best passage scores highest is the one most likely to hold the answer
    (with raw cosines it was always the query's own language, which hid content present in one language only);
    languages whose best match is far below get little say. Equal weights let weak cross-language lists outvote
    the good one (en->en recall@1 0.879 instead of 0.943 on parallel XQuAD, before centring)."""
    best = max(tops.values(), default=0.0)
    return {L: math.exp((top - best) / temperature) for L, top in tops.items()}
