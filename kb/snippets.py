"""Snippets: a short window of a section around the words that matched, with the matched spans marked by
offsets (never by HTML), so each front end escapes the text and highlights safely."""

from __future__ import annotations

import re
from functools import lru_cache

from kb.text import fold

WIDTH = 220


def query_terms(query: str, expansions: list[str]) -> tuple[str, ...]:
    return _query_terms(query, tuple(expansions))


@lru_cache(maxsize=1024)
def _query_terms(query: str, expansions: tuple[str, ...]) -> tuple[str, ...]:
    """Folded words to highlight: the query's words and CJK runs, and glossary forms of this language."""
    terms: list[str] = []
    for part in [query, *expansions]:
        for m in re.finditer(r"[\u3400-\u9fff]+|[^\W_]+(?:[-.][^\W_]+)*", fold(part)):
            word = m.group(0)
            if len(word) > 1 or word.isdigit():
                terms.append(word)
            if re.fullmatch(r"[\u3400-\u9fff]{3,}", word):
                terms += [word[i:i + 2] for i in range(len(word) - 1)]
    return tuple(sorted(set(terms), key=len, reverse=True))


def normalise_for_snippet(text: str) -> tuple[str, str]:
    """The text on one line, and its folded twin with the same offsets (callers may cache the pair)."""
    text = " ".join(text.split())
    return text, _fold_aligned(text)


def make_snippet(text: str, terms: tuple[str, ...], prepared: tuple[str, str] | None = None,
                 width: int = WIDTH) -> tuple[str, list[list[int]]]:
    """A window of about `width` characters around the first match, and [start, end] spans of matches in it."""
    text, folded = prepared or normalise_for_snippet(text)
    spans = _find(folded, terms)
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


def _fold_aligned(text: str) -> str:
    """fold() character by character, so offsets in the folded text are offsets in the original."""
    return "".join(map(_fold_char, text))


@lru_cache(maxsize=8192)
def _fold_char(ch: str) -> str:
    f = fold(ch)
    return f if len(f) == 1 else (ch.lower()[:1] or ch)


def _find(folded: str, terms: tuple[str, ...]) -> list[list[int]]:
    pattern = _pattern(terms)
    return [[m.start(), m.end()] for m in pattern.finditer(folded)] if pattern else []


@lru_cache(maxsize=1024)
def _pattern(terms: tuple[str, ...]) -> re.Pattern[str] | None:
    """One alternation, longest terms first, so overlapping terms mark the longest match once. CJK terms match
    anywhere; other terms only as whole words (one shared pair of look-arounds keeps this fast)."""
    cjk = [re.escape(t) for t in terms if re.match(r"[\u3400-\u9fff]", t)]
    words = [re.escape(t) for t in terms if not re.match(r"[\u3400-\u9fff]", t)]
    parts = ([rf"(?<![^\W_])(?:{'|'.join(words)})(?![^\W_])"] if words else []) + cjk
    return re.compile("|".join(parts)) if parts else None
