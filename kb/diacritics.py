"""Vietnamese typed without diacritics, restored from the corpus's own vocabulary before it is embedded.

Visiting clinicians often type `dieu tri ung thu gan` on a borrowed keyboard. Keyword search copes (text is
folded), but the embedder reads `dieu tri` as a different, rarer string than `điều trị`, and folded matching
also hits `dầu`, `dấu`, `đầu` for `dau`. The index stores the Vietnamese words and adjacent-word pairs as written;
each plain word is replaced by the accented form that the words around it make most likely (a bigram Viterbi
over the candidates sharing its folded form; pairs
one word apart count as neighbours too). Words the corpus does not know (English, acronyms, numbers) stay as
typed and break the chain."""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Mapping

from kb.text import fold

_WORD = re.compile(r"[^\W\d_]+")
NEIGHBOUR_WEIGHT = 0.7
"""Interpolation: how much the neighbour pair counts against the word's own frequency. A pair never seen says
nothing against a word (both candidates fall back to their own frequency alike)."""


QUESTION_PHRASES = (
    "bao nhiêu", "bao lâu", "bao giờ", "khi nào", "lúc nào", "thế nào", "như thế nào", "ra sao", "tại sao",
    "vì sao", "là gì", "những gì", "cái gì", "điều gì", "gì không", "ở đâu", "từ đâu", "đâu là", "là ai", "của ai",
    "ai là", "những ai", "nào là", "loại nào", "người nào", "năm nào", "nước nào", "cách nào", "bằng cách nào",
    "mấy tuổi", "mấy lần", "mấy liều", "mấy ngày", "mấy tuần", "mấy tháng", "mấy năm", "mấy giờ", "mấy người",
    "từ mấy", "tối đa mấy", "có phải", "phải không", "có không", "được không", "có nên", "nên không",
)
"""How Vietnamese asks: question words with their usual neighbours. Guideline text and encyclopaedia text state
things, so `bao nhiêu`, `những gì`, `mấy tuổi`, `ở đâu` are rare there, and the folded `bao nhieu` was restored
as the common `bao nhiều` (`nhiều`, many; `nhiều lần` outvotes `bao nhiêu lần`), `nhung gi` as `nhưng gì`
(`nhưng`, but), `may tuoi` as `máy tuổi` (`máy`, machine). Typed without diacritics, each of these phrases has one
reading, so a run of words that folds to one is restored to it outright; the corpus decides the words around it.
This is general knowledge of the language, not of any query set."""
CONTEXT_WEIGHT = 2.0
"""How much the words of the sections the folded query finds by keyword count (`restore(context=)`): a candidate
that takes a share s of its folded form's occurrences there has its probability multiplied by 1 + this * s. The
query is about something the corpus holds, so the accented forms in the sections its plain words match are the
likely ones (`doi` in a question about a football final is `đội`, team, not `đối`). Chosen on the tune halves
with `CONTEXT_CHUNKS` (XQuAD Vietnamese questions: 262 -> 243 words restored wrongly of 7,978, queries restored
exactly 0.692 -> 0.711; the oncology tune queries 5 -> 4 of 534); 5 and 20 did no better."""
CONTEXT_CHUNKS = 3
"""How many of the folded query's best keyword matches (Vietnamese chunks, BM25) give the context; 5 and 10 did no
better on the tune halves."""
PHRASE_COUNT = 3
"""Pseudo-count added to each word and adjacent pair of a question phrase, so that the corpus's vocabulary knows
them (a word it has never seen is left as typed)."""


class Restorer:
    """Restores diacritics from word and pair counts of one language (`BuildReader.word_counts`), plus the
    question phrases every Vietnamese query may use (`QUESTION_PHRASES`)."""

    def __init__(self, words: dict[str, int], pairs: dict[tuple[str, str], int]) -> None:
        words, pairs = dict(words), dict(pairs)
        for phrase in QUESTION_PHRASES:
            ws = phrase.split()
            for w in ws:
                words[w] = words.get(w, 0) + PHRASE_COUNT
            for pair in zip(ws, ws[1:], strict=False):
                pairs[pair] = pairs.get(pair, 0) + PHRASE_COUNT
        self.words, self.pairs = words, pairs
        self.phrases = sorted(((tuple(fold(phrase).split()), tuple(phrase.split())) for phrase in QUESTION_PHRASES),
                              key=lambda p: -len(p[0]))
        self.total = sum(words.values()) or 1
        self.by_fold: dict[str, list[str]] = defaultdict(list)
        for w in sorted(words, key=lambda w: -words[w]):
            self.by_fold[fold(w)].append(w)

    def knows(self, word: str) -> bool:
        """True when some word of the vocabulary folds to this one."""
        return fold(word) in self.by_fold

    def restore(self, query: str, context: Mapping[str, int] | None = None) -> str:
        """The query with diacritics put back on the words typed without them; other text is left as typed.
        `context` counts the accented words of the sections the query matches by keyword (`CONTEXT_WEIGHT`)."""
        matches = list(_WORD.finditer(query))
        out, last = [], 0
        run: list[re.Match[str]] = []
        for m in matches + [None]:  # type: ignore[list-item]
            plain = m is not None and fold(m.group(0)) == m.group(0).lower() and self.knows(m.group(0))
            adjacent = m is not None and run and query[run[-1].end():m.start()].strip() == ""
            if plain and (not run or adjacent):
                run.append(m)
                continue
            if run:
                out.append(query[last:run[0].start()])
                out.append(self._restore_run(query, run, context or {}))
                last = run[-1].end()
                run = []
            if plain:
                run.append(m)
        out.append(query[last:])
        return "".join(out)

    def _restore_run(self, query: str, run: list[re.Match[str]], context: Mapping[str, int]) -> str:
        """Viterbi over one run of adjacent plain words; the spacing between them is kept."""
        folded = [fold(m.group(0)) for m in run]
        options = [self.by_fold[f][:12] for f in folded]
        pinned = [False] * len(run)
        for plain, accented in self.phrases:  # longest first
            for i in range(len(run) - len(plain) + 1):
                if tuple(folded[i:i + len(plain)]) == plain and not any(pinned[i:i + len(plain)]):
                    for j, word in enumerate(accented):
                        options[i + j], pinned[i + j] = [word], True
        bonus = [self._context_bonus(cands, context) for cands in options]
        best: dict[str, tuple[float, list[str]]] = {w: (self._logp(None, w) + bonus[0][w], [w]) for w in options[0]}
        for cands, extra in zip(options[1:], bonus[1:], strict=True):
            step: dict[str, tuple[float, list[str]]] = {}
            for w in cands:
                score, path = max(((s + self._logp(prev, w) + extra[w], p) for prev, (s, p) in best.items()),
                                  key=lambda sp: sp[0])
                step[w] = (score, [*path, w])
            best = step
        chosen = max(best.values(), key=lambda sp: sp[0])[1]
        pieces = []
        for i, (m, word) in enumerate(zip(run, chosen, strict=True)):
            typed = m.group(0)
            pieces.append(word.capitalize() if typed[:1].isupper() and not typed.isupper() else
                          word.upper() if typed.isupper() and len(typed) > 1 else word)
            if i + 1 < len(run):
                pieces.append(query[m.end():run[i + 1].start()])
        return "".join(pieces)

    @staticmethod
    def _context_bonus(candidates: list[str], context: Mapping[str, int]) -> dict[str, float]:
        """log(1 + CONTEXT_WEIGHT * share) per candidate, the share being its part of the candidates' occurrences
        in the context (0 for all when the context holds none of them)."""
        total = sum(context.get(w, 0) for w in candidates)
        return {w: math.log(1 + CONTEXT_WEIGHT * context.get(w, 0) / total) if total else 0.0 for w in candidates}

    def _logp(self, prev: str | None, word: str) -> float:
        unigram = (self.words.get(word, 0) + 0.1) / self.total
        if prev is None:
            return math.log(unigram)
        seen = self.words.get(prev, 0)
        pair = self.pairs.get((prev, word), 0) / seen if seen else 0.0
        return math.log(NEIGHBOUR_WEIGHT * min(pair, 1.0) + (1 - NEIGHBOUR_WEIGHT) * unigram)
