"""The glossary as a book to browse and search: each term's initial letter per language (A-Z for English, the
Vietnamese alphabet with Ă Â Đ Ê Ô Ơ Ư as letters of their own, the pinyin initial for Chinese), its category, a
search over every form in every language (folded, so Vietnamese typed without diacritics finds its term), and the
sections of the modules that use it.

Pinyin comes from pypinyin (offline, pure Python, its own dictionary): Chinese clinicians look terms up by the
pinyin of the first character, and without it Chinese could only be searched, not browsed."""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from kb.glossary import Glossary, Term
from kb.text import CJK, contains_form, fold, tokens

VI_ALPHABET = "AĂÂBCDĐEÊGHIKLMNOÔƠPQRSTUƯVXY"
"""The 29 letters of the Vietnamese alphabet in dictionary order (F, J, W, Z come only in loanwords)."""
_TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
"""Combining tone marks (huyền, sắc, ngã, hỏi, nặng); breve, circumflex and horn make letters and stay."""
OTHER = "#"
"""The browse key of a form that starts with a digit or a symbol."""


@dataclass(frozen=True)
class Usage:
    """A section that names a term, with its heading in each language that has it."""

    module: str
    section: str
    headings: dict[str, str]


@dataclass
class Entry:
    term: Term
    initials: dict[str, str]
    pinyin: str
    usage: list[Usage] | None = None
    """Filled on first use by `GlossaryBook.usage` (one pass over the sections per term shown)."""

    @property
    def id(self) -> str:
        return self.term.id

    def preferred(self, lang: str) -> str:
        return (self.term.forms.get(lang) or ("",))[0]

    def as_dict(self) -> dict[str, object]:
        t = self.term
        return {"id": t.id, "category": t.category, "abbr": list(t.abbr), "pinyin": self.pinyin,
                "forms": {L: list(f) for L, f in t.forms.items()}, "definitions": dict(t.definitions),
                "initials": self.initials,
                "sections": [{"module": u.module, "section": u.section, "headings": u.headings}
                             for u in self.usage or []]}


def vi_letter(text: str) -> str:
    """The Vietnamese letter a word starts with, tone marks removed: `ung thư` -> U, `ức chế` -> Ư."""
    first = text.strip()[:1]
    if not first:
        return OTHER
    bare = "".join(c for c in unicodedata.normalize("NFD", first) if c not in _TONES)
    letter = unicodedata.normalize("NFC", bare).upper()
    if letter in VI_ALPHABET:
        return letter
    return letter if "A" <= letter <= "Z" else OTHER


def vi_sort_key(text: str) -> tuple:
    """Dictionary order: letters by the Vietnamese alphabet, tones only to break ties."""
    letters, tones = [], []
    for ch in unicodedata.normalize("NFD", text.lower()):
        if ch in _TONES:
            tones.append(ch)
            continue
        if unicodedata.combining(ch) and letters:
            letters[-1] = unicodedata.normalize("NFC", letters[-1] + ch)
            continue
        letters.append(ch)
    ranks = [VI_ALPHABET.find(c.upper()) if c.upper() in VI_ALPHABET else 100 + ord(c) for c in letters]
    return (ranks, tones)


def _first_token(form: str) -> str:
    found = tokens(form, query=True)
    return found[0] if found else ""




def latin_letter(text: str) -> str:
    first = fold(text.strip()[:1]).upper()
    return first if "A" <= first <= "Z" else OTHER


def pinyin_of(text: str) -> str:
    """Toneless pinyin of a Chinese form, syllables joined by spaces; non-Chinese characters kept as they are."""
    from pypinyin import lazy_pinyin  # its dictionary loads on first use, not at import of the web app

    return " ".join(lazy_pinyin(text)).strip()


class GlossaryBook:
    """Every term with its browse keys and usage, built once per index (a few hundred terms, a few thousand
    sections: well under a second)."""

    def __init__(self, glossary: Glossary, sections: Iterable[tuple[str, str, str, str, str]]) -> None:
        """`sections`: (module, lang, section id, heading, plain text) of every indexed section."""
        self.entries: list[Entry] = []
        for term in glossary.terms:
            zh = (term.forms.get("zh") or ("",))[0]
            pinyin = pinyin_of(zh) if zh else ""
            initials = {"en": latin_letter((term.forms.get("en") or ("",))[0]),
                        "vi": vi_letter((term.forms.get("vi") or ("",))[0]),
                        "zh": latin_letter(pinyin) if pinyin and CJK.match(zh[:1]) else latin_letter(zh)}
            self.entries.append(Entry(term, initials, pinyin))
        self.by_id = {e.id: e for e in self.entries}
        self._sections = []
        for module, lang, sid, heading, text in sections:
            folded = fold(heading + "\n" + text)
            self._sections.append((module, lang, sid, heading, folded, set(tokens(folded))))
        counts: dict[str, int] = {}  # in file order: the glossary's own order of topics
        for entry in self.entries:
            if entry.term.category:
                counts[entry.term.category] = counts.get(entry.term.category, 0) + 1
        self.categories: list[tuple[str, int]] = list(counts.items())

    def usage(self, entry: Entry) -> list[Usage]:
        """Sections whose text names the term in their own language (or by its abbreviation), by module.

        Worked out per term when first shown, not for all terms up front: scanning every section for every
        term took seconds, a page shows at most a hundred terms."""
        if entry.usage is None:
            places: dict[tuple[str, str], dict[str, str]] = {}
            t = entry.term
            forms = {L: [(f, _first_token(f)) for f in {fold(x) for x in (*t.forms.get(L, ()), *t.abbr)}]
                     for L in {s[1] for s in self._sections}}
            for module, lang, section, heading, text, words in self._sections:
                # the first keyword token of a form must be among the section's: skips most sections at once
                if any(first in words and contains_form(text, f) for f, first in forms[lang]):
                    places.setdefault((module, section), {})[lang] = heading
            entry.usage = [Usage(m, s, h) for (m, s), h in places.items()]
        return entry.usage

    def sorted(self, entries: Iterable[Entry], lang: str) -> list[Entry]:
        """Entries in the dictionary order of `lang`."""
        if lang == "vi":
            return sorted(entries, key=lambda e: vi_sort_key(e.preferred("vi")))
        if lang == "zh":
            return sorted(entries, key=lambda e: (e.pinyin.casefold(), e.preferred("zh")))
        return sorted(entries, key=lambda e: e.preferred(lang).casefold())

    def letters(self, lang: str) -> list[tuple[str, int]]:
        """The initials of `lang` that some term has, in that language's order, with their counts."""
        counts: dict[str, int] = defaultdict(int)
        for entry in self.entries:
            counts[entry.initials.get(lang, OTHER)] += 1
        order = VI_ALPHABET if lang == "vi" else "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
        known = [c for c in order if c in counts]
        extra = sorted(c for c in counts if c not in order)
        return [(c, counts[c]) for c in known + extra]

    def browse(self, lang: str, letter: str | None = None, category: str | None = None) -> list[Entry]:
        chosen = [e for e in self.entries if (letter is None or e.initials.get(lang) == letter)
                  and (category is None or e.term.category == category)]
        return self.sorted(chosen, lang)

    def search(self, query: str, limit: int = 100) -> list[Entry]:
        """Terms whose forms or abbreviations (any language) match the query, best first: exact form, then
        prefix, then a form containing it, then a definition containing it. Folded, so `ung thu gan` finds
        `ung thư gan`; a query typed with diacritics ranks exact-diacritic forms first."""
        q = query.strip()
        folded = fold(q)
        if not folded:
            return []
        scored: list[tuple[float, int, Entry]] = []
        for n, entry in enumerate(self.entries):
            t = entry.term
            best = 0.0
            for form in [*t.abbr, *(f for fs in t.forms.values() for f in fs)]:
                f = fold(form)
                score = 4.0 if f == folded else 3.0 if f.startswith(folded) else 2.0 if folded in f else 0.0
                if score and form.lower() == q.lower():
                    score += 0.5  # typed exactly, diacritics and all
                best = max(best, score)
            if not best and entry.pinyin and fold(entry.pinyin.replace(" ", "")).startswith(folded.replace(" ", "")):
                best = 1.5  # 'gan xi bao ai' or 'ganxibao' finds 肝细胞癌
            if not best and len(folded) >= 3 and any(folded in fold(d) for d in t.definitions.values()):
                best = 1.0
            if best:
                scored.append((-best, n, entry))
        scored.sort(key=lambda item: (item[0], item[1]))
        return [entry for _, _, entry in scored[:limit]]
