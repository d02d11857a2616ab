"""Snippets: a short window of a section around the words that matched, with the matched spans marked by
offsets (never by HTML), so each front end escapes the text and highlights safely."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple

from kb.text import CJK, CJK_CHARS, fold
from kb.vi_words import WordJoiner

WIDTH = 220


class Terms(NamedTuple):
    """Words to highlight: (exact, folded), and whether the query has several syllables.

    A word typed with diacritics matches only itself ("độ" marks "độ", not "đó" or "do"); in a query typed without
    any, a word matches every accented form ("ung thu" marks "ung thư"). A query that carries diacritics anywhere
    (typed so, or restored by `kb.diacritics`) was written with them, so its plain words are plain too: "ung thư
    gan" marks "gan", not "gắn", and "ung", not "ứng" in "đáp ứng"."""

    exact: tuple[str, ...]
    folded: tuple[str, ...]
    several: bool = False
    """The query has several Vietnamese syllables: a lone one is not marked inside another word of the text
    (`kb.vi_words.WordJoiner.bound`), so `thời tiết` does not mark the `thời` of `đồng thời`; a one-syllable
    query (`đau`) marks its syllable everywhere, `giảm đau` too."""


_WORD_RE = re.compile(rf"[{CJK_CHARS}]+|[^\W_]+(?:[-.][^\W_]+)*")
_LONG_CJK_RUN = re.compile(f"[{CJK_CHARS}]{{3,}}")


def query_terms(query: str, expansions: list[str], joined: frozenset[tuple[str, str]] = frozenset()) -> Terms:
    """Terms of a query and its glossary forms; `joined` holds the adjacent syllable pairs that are one
    Vietnamese word (`kb.vi_words`): such a pair is marked as a whole, never syllable by syllable."""
    return _query_terms(query, tuple(expansions), joined)


@lru_cache(maxsize=1024)
def _query_terms(query: str, expansions: tuple[str, ...], joined: frozenset[tuple[str, str]]) -> Terms:
    """The query's words and CJK runs (and bigrams of longer runs), and glossary forms of this language."""
    exact: set[str] = set()
    folded: set[str] = set()
    for part in [query, *expansions]:
        lowered = _lower_aligned(part)
        matches = list(_WORD_RE.finditer(lowered))
        found = _join(lowered, matches, joined)
        accented = any(fold(word) != word for word in found if not CJK.match(word))
        for word in found:
            words = [word]
            if _LONG_CJK_RUN.fullmatch(word):
                words += [word[i:i + 2] for i in range(len(word) - 1)]
            for w in words:
                if len(w) > 1 or w.isdigit():
                    (exact if accented or fold(word) != word else folded).add(w)
    by_length = lambda terms: tuple(sorted(terms, key=len, reverse=True))  # noqa: E731
    syllables = [w for w in _WORD_RE.findall(_lower_aligned(query)) if not CJK.match(w)]
    return Terms(by_length(exact), by_length(folded), len(syllables) > 1)


def _join(lowered: str, matches: list[re.Match[str]], joined: frozenset[tuple[str, str]]) -> list[str]:
    """The words of a text, two syllables that are one word (`joined`, separated by spaces only) as one term
    with a single space."""
    out: list[str] = []
    i = 0
    while i < len(matches):
        word = matches[i].group(0)
        if i + 1 < len(matches) and (word, matches[i + 1].group(0)) in joined \
                and not lowered[matches[i].end():matches[i + 1].start()].strip():
            out.append(f"{word} {matches[i + 1].group(0)}")
            i += 2
            continue
        out.append(word)
        i += 1
    return out


def normalise_for_snippet(text: str) -> tuple[str, str, str]:
    """The text on one line, and its lowercased and folded twins with the same offsets (callers cache these)."""
    text = " ".join(text.split())
    return text, _lower_aligned(text), _fold_aligned(text)


def make_snippet(text: str, terms: Terms, prepared: tuple[str, str, str] | None = None,
                 width: int = WIDTH, joiner: WordJoiner | None = None) -> tuple[str, list[list[int]]]:
    """A window of about `width` characters around the first match, and [start, end] spans of matches in it;
    with `joiner`, a lone syllable inside another Vietnamese word is not a match (`Terms.several`)."""
    text, lowered, folded = prepared or normalise_for_snippet(text)
    spans = _unbound(lowered, _find(lowered, folded, terms), terms, joiner)
    start = 0
    if spans and spans[0][0] > width // 3:
        start = max(0, spans[0][0] - width // 4)
        space = text.rfind(" ", 0, start)
        start = space + 1 if space >= 0 and start - space < 20 else start
    end = min(len(text), start + width)
    if end < len(text):
        space = text.rfind(" ", start + width // 2, end)
        end = space if space > 0 else end
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(text) else ""
    shift = len(prefix) - start
    inside = [[s + shift, e + shift] for s, e in spans if s >= start and e <= end]
    return prefix + text[start:end] + suffix, inside


def mark(text: str, terms: Terms, joiner: WordJoiner | None = None) -> list[list[int]]:
    """[start, end] spans of the terms in a short text shown whole (a section heading), at its own offsets."""
    lowered = _lower_aligned(text)
    return _unbound(lowered, _find(lowered, _fold_aligned(text), terms), terms, joiner)


def _unbound(lowered: str, spans: list[list[int]], terms: Terms, joiner: WordJoiner | None) -> list[list[int]]:
    """The spans, less each single word that the text binds to a neighbour into another word (when the query
    has several syllables and a joiner says which syllables are words)."""
    if joiner is None or not terms.several or not spans:
        return spans
    found = list(_WORD_RE.finditer(lowered))
    at = {m.start(): i for i, m in enumerate(found)}
    ws = [m.group(0) for m in found]
    single = {at[s]: (s, e) for s, e in spans if s in at and found[at[s]].end() == e}
    out = []
    for s, e in spans:
        i = at.get(s)
        if i in single and joiner.bound(ws, i) and not (_adjacent(lowered, found, i, i - 1, single)
                                                        or _adjacent(lowered, found, i, i + 1, single)):
            continue  # a syllable of another word, whose other syllable the query did not ask for
        out.append([s, e])
    return out


def _adjacent(lowered: str, found: list[re.Match[str]], i: int, j: int, single: dict[int, tuple[int, int]]) -> bool:
    """Whether word j, next to word i with only spaces between, is matched too (`trực tuyến` typed and found
    together is marked together, whatever the corpus counts say about the pair)."""
    if j not in single:
        return False
    a, b = sorted((i, j))
    return not lowered[found[a].end():found[b].start()].strip()


def _lower_aligned(text: str) -> str:
    """Lowercase (and width-normalised) character by character, so offsets stay those of the original."""
    return "".join(map(_lower_char, text))


def _fold_aligned(text: str) -> str:
    """fold() character by character, so offsets in the folded text are offsets in the original."""
    return "".join(map(_fold_char, text))


@lru_cache(maxsize=8192)
def _lower_char(ch: str) -> str:
    low = unicodedata.normalize("NFKC", ch).lower()
    return low if len(low) == 1 else ch


@lru_cache(maxsize=8192)
def _fold_char(ch: str) -> str:
    f = fold(ch)
    return f if len(f) == 1 else (ch.lower()[:1] or ch)


def _find(lowered: str, folded: str, terms: Terms) -> list[list[int]]:
    """Spans of exact terms in the lowercased text and of plain terms in the folded text; where two overlap,
    the longer wins."""
    spans: list[tuple[int, int]] = []
    for haystack, group in ((lowered, terms[0]), (folded, terms[1])):
        pattern = _pattern(group)
        if pattern is not None:
            spans += [(m.start(), m.end()) for m in pattern.finditer(haystack)]
    chosen: list[list[int]] = []
    for s, e in sorted(spans, key=lambda sp: (sp[0], -(sp[1] - sp[0]))):
        if chosen and s < chosen[-1][1]:
            continue
        chosen.append([s, e])
    return chosen


@lru_cache(maxsize=1024)
def _pattern(terms: tuple[str, ...]) -> re.Pattern[str] | None:
    """One alternation, longest terms first, so overlapping terms mark the longest match once. CJK terms match
    anywhere; other terms only as whole words (one shared pair of look-arounds keeps this fast)."""
    cjk = [re.escape(t) for t in terms if CJK.match(t)]
    words = [re.escape(t).replace(r"\ ", r"\s+") for t in terms if not CJK.match(t)]
    parts = ([rf"(?<![^\W_])(?:{'|'.join(words)})(?![^\W_])"] if words else []) + cjk
    return re.compile("|".join(parts)) if parts else None
