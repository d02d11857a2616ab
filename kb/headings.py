"""Headings as their own keyword field, matched in memory.

FTS5's BM25 normalises by the length of the whole row, so a long section whose heading is the query
(`CNLC分期`) loses to a short one that mentions the words twice. Search therefore gives headings their own ranked
list. There are a few hundred headings, so an in-memory inverted index answers in microseconds, where a second
FTS query per language doubled the keyword cost. An accented query word must match a heading word as written
(`thư` is not `thủ`), a plain one matches folded."""

from __future__ import annotations

import math
from collections import defaultdict

from kb.text import exact_tokens, fold, tokens


class HeadingIndex:
    """(module, section) per language by the query tokens their headings contain, rarer tokens counting more."""

    def __init__(self, headings: dict[tuple[str, str, str], str]) -> None:
        self.postings: dict[str, dict[str, set[tuple[str, str]]]] = defaultdict(lambda: defaultdict(set))
        self.length: dict[tuple[str, str, str], int] = {}
        for (module, lang, sid), heading in headings.items():
            words = set(tokens(heading)) | {"=" + w for w in exact_tokens(heading)}
            self.length[(module, lang, sid)] = max(1, len(words))
            for w in words:
                self.postings[lang][w].add((module, sid))
        self.count = {lang: len({k for k in self.length if k[1] == lang}) for lang in self.postings}

    def wanted(self, read: str, stop: frozenset[str]) -> list[str]:
        """The query tokens a heading is matched on: accented words as written, the rest folded."""
        exact = exact_tokens(read)
        plain = " ".join(w for w in read.split() if fold(w) == w.lower()) if exact else read
        wanted = [t for t in dict.fromkeys(tokens(plain, query=True)) if t not in stop]
        return wanted + ["=" + w for w in dict.fromkeys(exact)]

    def complete(self, read: str, lang: str, stop: frozenset[str]) -> set[tuple[str, str]]:
        """Sections of `lang` whose heading holds every query token (the query is the heading, or inside it)."""
        postings = self.postings.get(lang, {})
        found: set[tuple[str, str]] | None = None
        for w in self.wanted(read, stop):
            found = set(postings.get(w, ())) if found is None else found & postings.get(w, set())
            if not found:
                return set()
        return found or set()

    def ranked(self, read: str, lang: str, stop: frozenset[str], module: str | None,
               depth: int) -> list[tuple[str, str]]:
        """Sections of `lang` whose heading contains query tokens, best first."""
        wanted = self.wanted(read, stop)
        postings = self.postings.get(lang, {})
        n = self.count.get(lang, 1)
        scores: dict[tuple[str, str], float] = defaultdict(float)
        for w in wanted:
            hits = postings.get(w)
            if hits:
                idf = math.log(1 + n / len(hits))
                for key in hits:
                    scores[key] += idf
        ranked = sorted(((s / math.sqrt(self.length[(m, lang, sid)]), (m, sid)) for (m, sid), s in scores.items()
                         if module is None or m == module), key=lambda item: (-item[0], item[1]))
        return [key for _, key in ranked[:depth]]
