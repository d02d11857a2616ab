"""Text folding and keyword tokens shared by the indexer, the glossary and search, so that documents and queries
are cut the same way.

- Vietnamese typed without diacritics must match: everything is folded to lowercase ASCII-like form
  (`ung thư gan` -> `ung thu gan`, `đ` -> `d`), and adjacent words also index as pairs (`ung_thu`) so that
  syllable-by-syllable Vietnamese keeps some phrase precision after folding.
- Chinese has no spaces: CJK runs become character bigrams (and, in documents, single characters too), so a
  2-character term such as 肺癌 matches.
- Acronyms and drug names keep their hyphenated whole form and their parts: `DEB-TACE` -> `deb-tace deb tace`."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_LATIN = re.compile(r"[a-z0-9]+(?:[-.][a-z0-9]+)*")
CJK_CHARS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
"""The Han character ranges, shared by tokens, the glossary matcher, snippets and the query-language guess."""
CJK = re.compile(f"[{CJK_CHARS}]")
_CJK = re.compile(f"[{CJK_CHARS}]+")
_TOKEN = re.compile(rf"{_LATIN.pattern}|{_CJK.pattern}")

INVISIBLE = (r"\u0000-\u0008\u000e-\u001b\u007f-\u0084\u0086-\u009f\u00ad\u0600-\u0605\u061c\u06dd\u070f"
             r"\u0890-\u0891\u08e2\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb")
"""Control and format characters of the Basic Multilingual Plane that are not whitespace (U+200B-U+200F, U+FEFF,
bidi controls, ...), as the body of a regex character class: they carry no text, so queries drop them (and lone
surrogates). Written out (Unicode 14, as in Python 3.11) because computing it scans every code point; a test
checks it against the running Python. The API schema's `q` pattern uses it too, so it keeps to what every regex
engine reads: no astral escapes (the few astral format characters, tags and musical controls, stay as text)."""
SPACE = r"\u0009-\u000d\u001c-\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028-\u2029\u202f\u205f\u3000"
"""What `str.isspace()` calls whitespace, as a character class body."""
VISIBLE_PATTERN = f"[^{INVISIBLE}{SPACE}]"
"""Matches a text with at least one character that is neither whitespace nor invisible (the API's `q` pattern)."""
_INVISIBLE = re.compile(f"[{INVISIBLE}\ud800-\udfff]")


def visible(text: str) -> str:
    """The text without invisible characters (`INVISIBLE`); whitespace is kept."""
    return text if text.isprintable() else _INVISIBLE.sub("", text)


@lru_cache(maxsize=65536)  # pure; a live rebuild folds the same texts and forms again
def fold(text: str) -> str:
    """Lowercase, width-normalised, without diacritics: the form both queries and documents are compared in."""
    text = unicodedata.normalize("NFKC", text).lower().replace("đ", "d")
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


def tokens(text: str, *, query: bool = False) -> list[str]:
    """Keyword tokens of a text; `query=True` leaves out CJK single characters unless the run is one character."""
    return list(_tokens(text, query))


@lru_cache(maxsize=16384)  # a live rebuild tokenises every chunk again; unchanged ones come from here
def _tokens(text: str, query: bool) -> tuple[str, ...]:
    out: list[str] = []
    prev_word: str | None = None  # the previous Latin word, when only one character separates it from this one
    prev_end = -2
    for m in _TOKEN.finditer(fold(text)):
        run = m.group(0)
        if _CJK.fullmatch(run):
            prev_word = None
            if len(run) == 1:
                out.append(run)
                continue
            out += [run[i:i + 2] for i in range(len(run) - 1)]
            if not query:
                out += list(run)
            continue
        out.append(run)
        if "-" in run or "." in run:
            out += [p for p in re.split(r"[-.]", run) if len(p) > 1 or p.isdigit()]
        if prev_word is not None and m.start() - prev_end == 1:
            out.append(f"{prev_word}_{run}")
        prev_word, prev_end = run, m.end()
    return tuple(out)


_WORDS = re.compile(r"[^\W\d_]+")


def words(text: str) -> list[str]:
    """Lowercase letter runs as written (diacritics kept), in order: the vocabulary of a language and the words
    whose accents are restored in a query."""
    return _WORDS.findall(unicodedata.normalize("NFC", text).lower())


def exact_tokens(text: str) -> list[str]:
    """The words that carry diacritics, as written (lowercase): indexed beside the folded tokens so that an exact,
    accented match (`dầu`) outranks a folded one (`dau` also matching `đầu`, `dấu`)."""
    return [w for w in words(text) if fold(w) != w]


def fts_query(words: list[str]) -> str:
    """An FTS5 MATCH expression that ORs the tokens, each quoted so no token is read as FTS syntax."""
    unique = list(dict.fromkeys(words))
    return " OR ".join('"' + w.replace('"', '""') + '"' for w in unique)


def contains_form(text: str, form: str) -> bool:
    """Whether (folded) text contains a (folded) term form: anywhere for Chinese, as whole words otherwise, so
    `gan` is not found inside `ganh` nor `PE` inside `PET`."""
    if not form:
        return False
    if CJK.search(form):
        return form in text
    start = text.find(form)
    while start >= 0:
        end = start + len(form)
        before_ok = start == 0 or not _continues_word(text[start - 1])
        if before_ok and (end == len(text) or not _continues_word(text[end])):
            return True
        start = text.find(form, start + 1)
    return False


def _continues_word(char: str) -> bool:
    """A letter or digit that would make a Latin-script form part of a longer word; a Han character does not
    (`TACE联合消融` names TACE)."""
    return char.isalnum() and not CJK.match(char)
