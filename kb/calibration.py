"""Cross-language dense scores and the query's language, from per-language statistics stored in the index.

The default model puts each language in its own region of the embedding space, so a query's cosine with text in
its own language is always higher than with the true answer in another language: ranking one mixed pool by raw
cosine, or weighting languages by their best raw cosine, hides content that exists in one language only. Taking
each language's mean passage vector away from its passages, and the query language's mean from the query, leaves
mostly what the text is about ("language-specific mean removal", Libovický et al. 2020); those centred cosines
compare across languages. The means are written at build time (`indexer.build.language_means`), so they follow
the content. Taking away only part of each mean (`centring` below 1) ranks passages of one language better than
either extreme (`kb.search.LIST_CENTRING`).

The query's language decides which mean is taken from the query. Script settles Chinese and accented Vietnamese;
Latin text without diacritics is Vietnamese or English by which corpus vocabulary knows more of its words, and
the embedding (the nearest language centre) decides the rest.

A chunk of more than one sentence also has vectors of its own sentences (`kb.build.sentences`): its
score is the mean of its own cosine and the best of its own and its sentences' (`SENTENCE_WEIGHT`), less the mean
of that lift over the language's chunks with sentences for this query (`debias`). Sentences are centred on their
language's passage mean, like the chunk, so a chunk without sentences keeps its cosine exactly."""

from __future__ import annotations

import re
import threading

import numpy as np

from kb.store import BuildReader
from kb.text import CJK, fold, words

SENTENCE_WEIGHT = 1.0
"""How much a chunk's best sentence counts beside the chunk itself: score = (chunk + w * best) / (1 + w), where
best is the better of the chunk's and its sentences' cosines. Equal weights; 0.5 and 2 on the tune halves are in
docs/benchmarks.md, "Sentences of untranslated sections"."""

_PLAIN_WORD = re.compile(r"[^\W\d_]{2,}")
VI_MARKS = re.compile(r"[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]")


def _unit(x: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.where(norm == 0, 1, norm)


def _centred_norms(dots: np.ndarray, centring: float, size: np.ndarray | float) -> np.ndarray:
    """|v - c m| of unit vectors v from their inner products with m, |m|² = size: sqrt(1 - 2c v·m + c² |m|²)."""
    return np.sqrt(np.maximum(1 - 2 * centring * np.asarray(dots) + centring ** 2 * size, 1e-12)).astype(np.float32)


class Calibration:
    """Language means and every passage's inner product with them, from which centred cosines follow from the raw
    inner products the vector index returns: (q'·p - a q'·m) / |p - a m|, with |p - a m|² = 1 - 2a p·m + a²|m|²,
    q' the query less a times its centre (unit length) and a the centring."""

    def __init__(self, reader: BuildReader, vocab: dict[str, frozenset[str]]) -> None:
        self.reader = reader
        self.means = {L: m.astype(np.float32) for L, m in reader.calibration.items()}
        self.centres = {L: _unit(m) for L, m in self.means.items()}
        self.counts = {L: reader.vector_count(L) for L in reader.vectors}
        size = max(reader.chunks, default=-1) + 1
        # Every vector's inner product with every centre a query can be centred on (a language's mean, or the mean
        # of them for a query of no known language): then a query's centred cosines follow from its raw inner
        # products, p.(q - a c) = p.q - a p.c for any centring a, and one search per language serves both the
        # centred scores (which weigh languages) and the partly centred ones (which rank the lists,
        # `kb.search.LIST_CENTRING`). The products with a language's own mean also give its passages' norms.
        self.query_centres = self._query_centres()
        self.centres_at: dict[str | None, tuple[np.ndarray, dict[str, np.ndarray]]] = {}
        self.own_at = np.zeros(size, np.float32)  # p.m of every chunk with its own language's mean m
        self.own_size = np.zeros(size, np.float32)  # |m|² of that mean
        for key, centre in self.query_centres.items():
            at = np.zeros(size, np.float32)
            for L, n in self.counts.items():
                if n:
                    dots, ids = reader.inner_products(L, centre)
                    at[ids] = dots
                    if key == L:
                        self.own_at[ids], self.own_size[ids] = dots, float(centre @ centre)
            self.centres_at[key] = (at, {L: reader.sentence_dense(L, centre)[0] for L in reader.sentences})
        self.sentence_own_at = {L: self.centres_at[L][1][L] if L in self.means else np.zeros(len(ids), np.float32)
                                for L, (ids, _) in reader.sentences.items()}
        self._norms_at: dict[float, tuple[np.ndarray, dict[str, np.ndarray]]] = {}
        self._last = threading.local()  # this thread's last query's raw inner products, per language
        self.sentence_weight = SENTENCE_WEIGHT
        self.size = size
        self.debias = True
        """Take away the mean lift of a language's chunks that have sentences, per query: the best of several
        sentences is higher than one cosine even for unrelated text, and without this a language holding
        untranslated sections would look the better match for every query (its best score, its fusion weight)."""
        self.vocab = vocab  # folded words per Latin-script language
        self.query_means: dict[str, np.ndarray] = {}
        """Per language, a mean query vector to centre a query on instead of the passage mean. The build writes
        none: bench/query_centring.py sets them to measure the idea (docs/benchmarks.md, "Centring queries on a
        query mean": it helps XQuAD, not the oncology set or the weak floor)."""

    def raw(self) -> Calibration:
        """A copy that does not centre (means zero) and has no sentences: the bare model's cosines, for
        comparison in the benchmarks."""
        import copy

        other = copy.copy(self)
        other.means = {L: np.zeros_like(m) for L, m in self.means.items()}
        other.own_at, other.own_size = np.zeros_like(self.own_at), np.zeros_like(self.own_size)
        other.sentence_own_at = {L: np.zeros_like(a) for L, a in self.sentence_own_at.items()}
        other._norms_at = {}
        other.sentence_weight = 0.0
        other.query_means = {}
        other.query_centres = {key: np.zeros_like(c) for key, c in self.query_centres.items()}
        other.centres_at = {key: (np.zeros_like(at), {L: np.zeros_like(s) for L, s in by_lang.items()})
                            for key, (at, by_lang) in self.centres_at.items()}
        return other

    def _query_centres(self) -> dict[str | None, np.ndarray]:
        """What a query is centred on, by the language it was read as (None: not known)."""
        out: dict[str | None, np.ndarray] = dict(self.means)
        if self.means:
            out[None] = np.mean(list(self.means.values()), axis=0).astype(np.float32)
        return out

    def _norms(self, centring: float) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """|p - c m| of every chunk (by chunk id) and, per language, of every sentence, m the passage's language mean
        and c the centring; kept per centring (the search uses 1 across languages and `kb.search.LIST_CENTRING`
        for its lists; the plain cosine needs none)."""
        kept = self._norms_at.get(centring)
        if kept is None:
            chunk = _centred_norms(self.own_at, centring, self.own_size)
            sentences = {L: _centred_norms(at, centring, float(self.means[L] @ self.means[L]) if L in self.means
                                           else 0.0) for L, at in self.sentence_own_at.items()}
            kept = self._norms_at[centring] = chunk, sentences
        return kept

    def _raw_dots(self, lang: str, q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(chunk ids, their inner products with q, sentence owners, the sentences' inner products with q) of one
        language, kept for this thread's last query: the centred and the raw scores of a search share them."""
        key = q.tobytes()
        kept = self._last.__dict__.setdefault("by_lang", {})
        if lang in kept and kept[lang][0] == key:
            return kept[lang][1]
        dots, ids = self.reader.inner_products(lang, q)
        sentence_dots, owners = self.reader.sentence_dense(lang, q)
        kept[lang] = key, (ids, dots, owners, sentence_dots)
        return kept[lang][1]

    def query_language(self, q: str, vector: np.ndarray | None) -> str | None:
        """The query's language: script, then vocabulary, then the nearest language centre of the embedding."""
        langs = [L for L in self.means if self.counts.get(L)]
        if not langs:
            return None
        cjk = len(CJK.findall(q))
        latin = [fold(w) for w in words(q) if not CJK.search(w)]
        plain = [fold(w) for w in _PLAIN_WORD.findall(q) if not w.isupper()]  # acronyms say nothing of language
        if "zh" in langs and cjk and cjk >= sum(map(len, latin)) / 3:
            return "zh"
        if "vi" in langs and VI_MARKS.search(q.lower()):
            return "vi"
        if plain and "vi" in self.vocab and "en" in self.vocab:
            only_vi = sum(1 for w in plain if w in self.vocab["vi"] and w not in self.vocab["en"])
            only_en = sum(1 for w in plain if w in self.vocab["en"] and w not in self.vocab["vi"])
            if only_vi != only_en:
                return "vi" if only_vi > only_en else "en"
        if vector is None or not plain:
            return None
        near = {L: float(vector.reshape(-1) @ self.centres[L]) for L in langs if L != "zh" or cjk}
        return max(near, key=near.get) if near else None

    def scores(self, vector: np.ndarray, asked_in: str | None, langs: list[str] | None = None,
               centring: float = 1.0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """(chunk ids, centred cosines) of every passage per language (of `langs`, default all); a query of no
        known language (an acronym, a number) is centred on the mean of the language centres. `centring` is how
        much of the means is taken away, from the query and from the passages: 1 (centred cosines, which compare
        across languages), 0 (the model's plain cosines), or between (`kb.search.LIST_CENTRING`); the sentences
        are counted in whichever it is."""
        raw = _unit(vector.reshape(-1).astype(np.float32))
        centre, at, sentence_at = None, None, {}
        if centring and asked_in in self.query_means:
            centre = self.query_means[asked_in]  # the bench's experiment: no inner products kept for it
        elif centring and self.query_centres:
            key = asked_in if asked_in in self.means else None
            centre, (at, sentence_at) = self.query_centres[key], self.centres_at[key]
        length = float(np.linalg.norm(raw - centring * centre)) if centre is not None else 1.0
        q = (raw - centring * centre) / (length or 1.0) if centre is not None else raw  # the centred query, unit
        chunk_norms, sentence_norms = self._norms(centring) if centre is not None else (None, {})
        out = {}
        for L, n in self.counts.items():
            if langs is not None and L not in langs:
                continue
            if n == 0:
                out[L] = (np.zeros(0, np.int64), np.zeros(0, np.float32))
                continue
            if centre is not None and at is None:  # a centre with no inner products kept: search with it
                dots, ids = self.reader.inner_products(L, q)
                sentence_dots, owners = self.reader.sentence_dense(L, q)
            else:
                ids, dots, owners, sentence_dots = self._raw_dots(L, raw)
                if at is not None:  # p.(q - c centre) / |q - c centre|
                    dots = (dots - centring * at[ids]) / length
                    if L in sentence_at:
                        sentence_dots = (sentence_dots - centring * sentence_at[L]) / length
            shift = centring * float(q @ self.means[L]) if centre is not None and L in self.means else 0.0
            scores = (dots - shift) / chunk_norms[ids] if chunk_norms is not None else dots
            if self.sentence_weight and L in self.sentence_own_at:
                scores = self._with_sentences(sentence_dots, owners, shift, ids, scores, sentence_norms.get(L))
            out[L] = (ids, scores)
        return out

    def _with_sentences(self, dots: np.ndarray, owners: np.ndarray, shift: float, ids: np.ndarray,
                        scores: np.ndarray, norms: np.ndarray | None) -> np.ndarray:
        """Chunk scores with each chunk's best sentence counted in (`SENTENCE_WEIGHT`), from the sentences' inner
        products with the (centred) query and their norms (None: not centred)."""
        best = np.full(self.size, -np.inf, np.float32)
        np.maximum.at(best, owners, (dots - shift) / norms if norms is not None else dots)
        w = self.sentence_weight
        lift = np.maximum(best[ids] - scores, 0)
        if self.debias:
            held = np.isfinite(best[ids])
            if held.any():
                lift[held] -= lift[held].mean()
        return (scores + w * lift / (1 + w)).astype(np.float32)
