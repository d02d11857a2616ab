"""The "no good match" state: whether any section answers a query, from a tiny logistic model over cheap signals.

A floor on the best dense cosine alone cannot tell `qwxzj` or `weather forecast tomorrow` from a terse clinical
query: the small multilingual model gives every short text a middling cosine with something. Several signals
together do better, each one cheap (a few dictionary look-ups and dot products, well under 0.5 ms):

- `best`: the best centred dense cosine (`kb.calibration`), the signal the floor used alone before;
- `margin`: how far the best passage stands out from the tenth best (an answer is a peak, noise is a plateau);
- `typical`: the raw query's cosine with the nearest language centre (how much it reads like the corpus at all);
- `known`: the share of the query's keyword tokens (folded, any language, stop tokens aside) that occur in the
  corpus: gibberish and everyday questions are mostly words the guidelines never use;
- `rare`: the most specific known token, its inverse document frequency over log(chunks) (a drug or a procedure
  says more than `cancer`);
- `glossary`: whether the query names a glossary term.

The word signals count only when the best-matching section exists in the query's language (`WORD_FEATURES`).
The glossary signal depends on how much of the corpus the glossary covers: a corpus with a much smaller glossary
than the shipped one (or a module whose terms are not in it yet) has its real queries judged a little more
harshly; docs/benchmarks.md has the figures without it.

The coefficients are constants, fitted by `bench/weak_floor.py --write` on the tune halves of
`bench/offtopic.yaml` and of the real query sets (`bench/queries*.yaml`), not at build time: fitting needs labelled
real queries, which a build of arbitrary content does not have. Every feature is relative to the corpus it is
computed on (centred cosines, the corpus's own language centres, shares and document frequencies scaled by the
corpus size), so one model serves a small or a large corpus; the tests check it on the fixture corpus, which it
was not fitted on."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import astuple, dataclass

import numpy as np

FEATURES = ("best", "margin", "typical", "known", "rare", "glossary")
WORD_FEATURES = ("known", "rare", "glossary")
"""Signals from the query's words. They say nothing when the best-matching section does not exist in the
query's language: a Chinese-only module found by a Vietnamese query holds none of its words, and content that
exists in one language only is usually new, its terms not in the glossary yet. Then they are set to their
average (no evidence either way) and the dense signals decide."""
MARGIN_RANK = 10
"""The margin is the best centred cosine minus the one at this rank (over every language's passages)."""

# fitted:start (written by `python bench/weak_floor.py --write`; do not edit by hand)
CENTRE = (0.32268, 0.144938, 0.894462, 0.636654, 0.848357, 0.720461)
SCALE = (0.105146, 0.0768233, 0.0246997, 0.269887, 0.27279, 0.448773)
WEIGHTS = (2.38143, 0.490446, -0.130623, 1.83464, -0.154464, 1.05363)
BIAS = 1.83315
THRESHOLD = 0.344579
# fitted:end


@dataclass(frozen=True)
class Evidence:
    """The signals one query is judged on (see the module docstring), in `FEATURES` order."""

    best: float
    margin: float
    typical: float
    known: float
    rare: float
    glossary: float
    same_language: bool = True
    """Whether the best-matching section exists in the query's language (see `WORD_FEATURES`)."""

    def vector(self) -> np.ndarray:
        return np.asarray(astuple(self)[:len(FEATURES)], dtype=np.float64)


@dataclass(frozen=True)
class Model:
    """Standardisation and logistic coefficients; `THRESHOLD` is the operating point on P(relevant)."""

    centre: tuple[float, ...] = CENTRE
    scale: tuple[float, ...] = SCALE
    weights: tuple[float, ...] = WEIGHTS
    bias: float = BIAS
    threshold: float = THRESHOLD

    def relevance(self, evidence: Evidence) -> float:
        """P(some section answers the query) under the model."""
        z = standardise(evidence.vector()[None, :], self.centre, self.scale, [evidence.same_language])[0]
        logit = float(z @ np.asarray(self.weights)) + self.bias
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, logit))))


def standardise(x: np.ndarray, centre: tuple[float, ...] | np.ndarray, scale: tuple[float, ...] | np.ndarray,
                same_language: list[bool]) -> np.ndarray:
    """Rows of features as z-scores; the word signals of a cross-language best match are 0 (their average)."""
    z = (x - np.asarray(centre)) / np.asarray(scale)
    cross = ~np.asarray(same_language, dtype=bool)
    for name in WORD_FEATURES:
        z[cross, FEATURES.index(name)] = 0.0
    return z


class Relevance:
    """Judges queries against one corpus: its keyword vocabulary (token -> chunks holding it) and stop tokens."""

    def __init__(self, frequencies: Mapping[str, int], chunks: int, stop: Iterable[str] = (),
                 model: Model | None = None) -> None:
        self.frequencies = frequencies
        self.log_chunks = math.log(max(chunks, 1) + 1)
        self.chunks = max(chunks, 1)
        self.stop = frozenset(stop)
        self.model = model or Model()

    def evidence(self, query_tokens: Iterable[str], best: float, top_scores: Iterable[float], typical: float,
                 glossary_hits: int, same_language: bool = True) -> Evidence:
        """The signals of one query: its keyword tokens (`kb.text.tokens(query=True)`), the best centred cosine of
        a section the search may show, the centred cosines of the passages the dense search looked at (any
        order), the raw cosine with the nearest language centre, how many glossary terms it names, and whether the
        best-matching section exists in the query's language."""
        scores = np.fromiter(top_scores, dtype=np.float64)
        if scores.size > MARGIN_RANK:
            tenth = float(-np.partition(-scores, MARGIN_RANK - 1)[MARGIN_RANK - 1])
        else:
            tenth = float(scores.min()) if scores.size else -1.0
        unique = list(dict.fromkeys(query_tokens))
        content = [t for t in unique if t not in self.stop] or unique
        counts = [self.frequencies.get(t, 0) for t in content]
        known = sum(1 for n in counts if n) / len(content) if content else 0.0
        rare = max((math.log((self.chunks + 1) / n) / self.log_chunks for n in counts if n), default=0.0)
        return Evidence(best, best - tenth, float(typical), known, rare, float(glossary_hits > 0), same_language)

    def judge(self, evidence: Evidence) -> tuple[bool, float]:
        """(weak, relevance): weak when the model's P(relevant) is below its operating point."""
        p = self.model.relevance(evidence)
        return p < self.model.threshold, p
