"""What search needs beyond rows and vectors, computed at build time so that it is rebuilt whenever the content
changes: each language's mean passage vector (cross-language calibration) and the word statistics of the
Latin-script languages (telling plain Vietnamese from English, restoring diacritics)."""

from __future__ import annotations

from collections import Counter
from functools import lru_cache

import numpy as np

from kb.content import Document
from kb.text import words

VOCABULARY_LANGS = ("en", "vi")
"""Latin-script languages whose vocabulary is stored."""


def language_means(vectors: np.ndarray, langs: list[str]) -> dict[str, np.ndarray]:
    """Each language's mean passage vector. The model puts every language in its own region of the space; taking
    the region's centre away leaves what the text is about (Libovický et al. 2020), so that a query can be
    compared with passages of another language."""
    by_lang = np.array(langs)
    return {L: vectors[by_lang == L].mean(axis=0) for L in sorted(set(langs))}


def vocabulary(docs: list[Document], lang: str) -> tuple[dict[str, int], dict[tuple[str, str], int]]:
    """Word counts and near-pair counts (adjacent, or one word apart: "đau do ung thư" ties đau to ung) of one
    language, from module titles, headings and text, words as written."""
    counts: Counter[str] = Counter()
    pairs: Counter[tuple[str, str]] = Counter()
    for d in (d for d in docs if d.lang == lang):
        words_of, pairs_of = _document_vocabulary((d.title, *(f"{s.heading}\n{s.text}" for s in d.sections)))
        counts.update(words_of)
        pairs.update(pairs_of)
    return dict(counts), dict(pairs)


@lru_cache(maxsize=256)  # a live rebuild counts every document again; unchanged ones come from here (read-only)
def _document_vocabulary(texts: tuple[str, ...]) -> tuple[Counter[str], Counter[tuple[str, str]]]:
    counts: Counter[str] = Counter()
    pairs: Counter[tuple[str, str]] = Counter()
    for text in texts:
        for line in text.splitlines():
            ws = words(line)
            counts.update(ws)
            pairs.update(zip(ws, ws[1:], strict=False))
            pairs.update(zip(ws, ws[2:], strict=False))
    return counts, pairs
