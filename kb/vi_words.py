"""Vietnamese words of two syllables in a query, from the corpus's own counts, so highlights mark words.

Vietnamese writes a space between syllables, not between words: `điều trị` (treatment) is one word, and so are
`xạ trị` (radiotherapy) and `trực tuyến` (online). Marking each syllable of `điều trị ung thư` marks `trị` in
`xạ trị` and `tuyến` in `trực tuyến`, which reads as a match that is not there. Two adjacent syllables of a query
form a word when the corpus writes them together far more often than chance (a Dice coefficient over the word and
near-pair counts the index stores for the diacritics restorer, `BuildReader.word_counts`); each syllable joins at
most one neighbour, the more strongly bound one first (`giai đoạn sớm` is `giai đoạn` + `sớm`).

Only syllables with Vietnamese diacritics are joined: an English pair met in Vietnamese text (`ion carbon`) stays
two words, so the English `carbon-ion` still marks both, and a query typed without diacritics (searched as typed)
marks syllable by syllable as before."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from kb.text import fold, words

JOIN_AT = 0.08
"""Dice coefficient 2·n(a b) / (n(a) + n(b)) from which two syllables are one word. Read off twelve Vietnamese
queries' pairs over the shipped corpus (words 0.09–0.97, `hóa chất`, `chuẩn độ`, `hai chiều` lowest; pairs that
are not words 0.00–0.13, the highest of which lose to a stronger neighbour: `hội chẩn` + `đa`, `giai đoạn` +
`sớm`); it changes what is highlighted, never what is found."""
MIN_PAIR = 2
"""A pair the corpus writes once is not evidence of a word."""


class WordJoiner:
    """Which adjacent syllables of a text are one word, from one language's word and near-pair counts."""

    def __init__(self, counts: Mapping[str, int], pairs: Mapping[tuple[str, str], int]) -> None:
        self.counts, self.pairs = counts, pairs

    def bond(self, a: str, b: str) -> float:
        """How strongly `a b` is one word (Dice), 0 when either has no diacritics or the pair is rare."""
        n = self.pairs.get((a, b), 0)
        if n < MIN_PAIR or fold(a) == a and fold(b) == b:
            return 0.0
        return 2 * n / (self.counts.get(a, 0) + self.counts.get(b, 0) or 1)

    def bound(self, ws: list[str], i: int) -> bool:
        """Whether the word at `i` of a text's lowercase words is one syllable of a two-syllable word there
        (the strongest pair of its neighbourhood first, as `joined` pairs a query's)."""
        lo = max(0, i - 2)
        for a, b in self._pairs(ws[lo:i + 3]):
            if i - lo in (a, b):
                return True
        return False

    def _pairs(self, ws: list[str]) -> list[tuple[int, int]]:
        """Positions of the joined pairs of a word sequence, strongest first, each word in at most one pair."""
        bonds = sorted(((self.bond(a, b), i) for i, (a, b) in enumerate(zip(ws, ws[1:], strict=False))),
                       reverse=True)
        taken: set[int] = set()
        out = []
        for strength, i in bonds:
            if strength < JOIN_AT:
                break
            if i not in taken and i + 1 not in taken:
                taken |= {i, i + 1}
                out.append((i, i + 1))
        return out

    def joined(self, texts: Iterable[str]) -> frozenset[tuple[str, str]]:
        """The adjacent lowercase syllable pairs of these texts that are words (`JOIN_AT`), at most one per
        syllable in each text, the strongest first."""
        out: set[tuple[str, str]] = set()
        for text in texts:
            ws = words(text)
            out |= {(ws[a], ws[b]) for a, b in self._pairs(ws)}
        return frozenset(out)
