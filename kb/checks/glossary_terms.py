"""Glossary adherence (rule `glossary-term`): a term of the source section that has an approved translation in
`guidelines/glossary.yaml` must appear in the translation in one of its listed forms (or as its abbreviation),
so a ward's word for a drug or a procedure is the same in every module. Forms marked deprecated in the glossary
(`deprecated:` under a language) are flagged where they are used.

Matching is meant to accept what a careful translator writes and nothing looser:
- text and forms are compared case- and width-folded (`CT` / `ＣＴ`), Latin-script forms as whole words;
- a language's `equivalents:` (in the glossary file) are read as one word before comparing: zh 癌症 / 癌 (the
  bare 癌 of 肝癌, 浸润性癌), 肝脏 / 肝, 术后 / 手术后; vi `khối u` / `u`, `sống thêm` / `sống còn`. They are
  whole words that are interchangeable in every term, applied with diacritics kept (Vietnamese `mổ` is not
  `mô`), so no single term is loosened on its own;
- the term's abbreviation counts in every language (`HCC` in a Vietnamese sentence);
- Vietnamese word order and other wordings are not guessed: a correct other wording is a listed form."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from kb.glossary import Glossary, Term
from kb.text import CJK, CJK_CHARS, contains_form, fold


@dataclass(frozen=True)
class GlossaryIssue:
    kind: str  # "missing": no approved form; "deprecated": a deprecated form is used
    term: Term
    lang: str
    form: str = ""

    def describe(self) -> str:
        approved = " / ".join(self.term.forms.get(self.lang, ()))
        if self.kind == "deprecated":
            return f"'{self.form}' is a deprecated form of glossary term '{self.term.id}': write {approved}"
        source = " / ".join(self.term.forms.get("en", ())[:1]) or self.term.id
        return f"glossary term '{source}' ({self.term.id}) is not translated with an approved form: {approved}"


def glossary_issues(glossary: Glossary, source: str, source_lang: str, translation: str,
                    lang: str) -> list[GlossaryIssue]:
    """The source's glossary terms that the translation does not render with a listed form, and the
    deprecated forms of `lang` that the translation uses."""
    out: list[GlossaryIssue] = []
    read = _reader(glossary.equivalents.get(lang, ()))
    folded = fold(read(translation))
    for term, langs in glossary.find(source):
        if source_lang not in langs or not term.forms.get(lang):
            continue
        forms = _read_forms(term.forms[lang], term.abbr, glossary.equivalents.get(lang, ()))
        if not any(contains_form(folded, f) for f in forms):
            out.append(GlossaryIssue("missing", term, lang))
    for form, term in glossary.deprecated_in(translation, lang):
        out.append(GlossaryIssue("deprecated", term, lang, form))
    return out


@lru_cache(maxsize=8192)
def _read_forms(forms: tuple[str, ...], abbr: tuple[str, ...], groups: tuple[tuple[str, ...], ...]) -> tuple[str, ...]:
    """A term's forms in one language as the translation is read (equivalents, then folded), with the short
    forms and the abbreviations: computed once per term, not once per section that names it."""
    read = _reader(groups)
    return (*(fold(read(f)) for f in _with_short_forms(forms)), *(fold(a) for a in abbr))


def _with_short_forms(forms: tuple[str, ...]) -> list[str]:
    """The forms, and a Chinese procedure name without its '-术' (胃切除术 is written 胃切除 in 外科胃切除加淋巴结
    清扫), as the glossary's search side also reads it (`Glossary.__post_init__`)."""
    return [*forms, *(f[:-1] for f in forms if len(f) > 3 and f.endswith("术"))]


@lru_cache(maxsize=16)
def _reader(groups: tuple[tuple[str, ...], ...]):  # noqa: ANN202 - a str -> str function
    """A function that writes every word of the groups as the group's first word (lowercase, NFC). Longer words
    are tried first, so 手术后 stays whole where 术后 is also listed."""
    canonical = {_low(w): _low(g[0]) for g in groups for w in g}
    if not canonical:
        return _low
    words = sorted(canonical, key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(w) if CJK.search(w) else rf"(?<!\w){re.escape(w)}(?!\w)"
                                  for w in words))
    return lambda text: pattern.sub(lambda m: canonical[m.group(0)], _low(text))


_HAN_SPACE = re.compile(rf"(?<=[{CJK_CHARS}])[ \u00a0]+(?=[A-Za-z0-9])|(?<=[A-Za-z0-9])[ \u00a0]+(?=[{CJK_CHARS}])")
"""A space between a Han character and a Latin letter or digit: optional in Chinese typesetting (增强 CT, 增强CT)."""


def _low(text: str) -> str:
    text = unicodedata.normalize("NFC", unicodedata.normalize("NFKC", text).lower())
    return _HAN_SPACE.sub("", text)
