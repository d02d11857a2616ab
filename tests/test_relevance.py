"""The signals of the "no good match" judgement (kb/relevance.py), on a vocabulary written out here; the judgement
itself with the real embedder and index is in tests/test_crosslingual.py."""

from __future__ import annotations

from collections import Counter

import pytest

from kb.relevance import FEATURES, WORD_FEATURES, Evidence, Model, Relevance
from kb.text import tokens

CHUNKS = ["The titration of an opioid such as morphine", "Ung thư gan: điều trị", "Titration of morphine"]
VOCABULARY = Counter(t for chunk in CHUNKS for t in set(tokens(chunk)))  # token -> chunks holding it


@pytest.fixture()
def relevance() -> Relevance:
    return Relevance(VOCABULARY, chunks=len(CHUNKS), stop={"the", "of"})


def test_known_share_leaves_stop_tokens_aside(relevance: Relevance) -> None:
    ev = relevance.evidence(tokens("the titration of morphine", query=True), 0.5, [0.5, 0.2], 0.9, 0)
    assert ev.known == 1.0  # titration, morphine and their pairs; the stop tokens are not counted
    ev = relevance.evidence(tokens("the weather of tomorrow", query=True), 0.2, [0.2, 0.19], 0.9, 0)
    assert ev.known == 0.0 and ev.rare == 0.0


def test_gibberish_knows_no_word_and_a_specific_word_is_rare(relevance: Relevance) -> None:
    assert relevance.evidence(tokens("qwxzj", query=True), 0.1, [0.1], 0.8, 0).known == 0.0
    common = relevance.evidence(tokens("titration", query=True), 0.4, [0.4], 0.9, 0).rare
    specific = relevance.evidence(tokens("ung thu gan", query=True), 0.4, [0.4], 0.9, 0).rare
    assert specific > common


def test_margin_is_the_best_minus_the_tenth(relevance: Relevance) -> None:
    scores = [0.6] + [0.3] * 8 + [0.25, 0.1, 0.05]
    assert relevance.evidence([], 0.6, scores, 0.9, 0).margin == pytest.approx(0.35)


def test_word_signals_say_nothing_when_the_best_section_is_not_in_the_query_language() -> None:
    model = Model(centre=(0.3, 0.1, 0.9, 0.6, 0.8, 0.7), scale=(0.1,) * 6, weights=(1.0,) * 6, bias=0.0,
                  threshold=0.5)
    cross = Evidence(0.3, 0.1, 0.9, 0.0, 0.0, 0.0, same_language=False)
    average = Evidence(0.3, 0.1, 0.9, 0.6, 0.8, 0.7)
    assert model.relevance(cross) == pytest.approx(model.relevance(average)) == pytest.approx(0.5)
    assert model.relevance(Evidence(0.3, 0.1, 0.9, 0.0, 0.0, 0.0)) < 0.01  # the same words, judged in-language
    assert set(WORD_FEATURES) <= set(FEATURES)
