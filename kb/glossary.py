"""The trilingual glossary (`guidelines/glossary.yaml`): validated by `kb check`, and used by search to expand a
query term into its forms in the other languages, which the keyword side cannot bridge on its own."""

from __future__ import annotations

import re
from collections import defaultdict
from contextlib import suppress
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import yaml

from kb import LANGS, yamlsafe
from kb.text import CJK, fold

MAX_GLOSSARY_BYTES = 8_000_000
"""Largest glossary read (the shipped one is 280 kB for ~500 terms)."""

GLOSSARY_FILE = "glossary.yaml"

_CATEGORY = re.compile(r"^\s*#\s*-{4,}\s*(\S.*?)\s*$")
"""A category heading in the glossary file: a comment line of dashes followed by its name."""


@dataclass(frozen=True)
class Term:
    id: str
    abbr: tuple[str, ...]
    forms: dict[str, tuple[str, ...]]
    definitions: dict[str, str]
    line: int = 0
    deprecated: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Forms a language should no longer use for this term (e.g. zh 碘化油 for 碘油); `kb check` warns on them."""
    category: str = ""
    """The glossary's own grouping: the text of the nearest `# ---- <category>` comment line above the term."""
    broader: tuple[str, ...] = ()
    """Ids of the terms this one is a kind of (`broader: primary-liver-cancer` on hepatocellular carcinoma): a
    query that names the broader term is about the narrower one's modules too (`kb.search.Searcher`)."""


FIND_CACHE = 8192
"""Texts whose glossary terms a Glossary remembers (section texts and queries)."""

_WORD = re.compile(r"[a-z0-9-]")
"""Characters that continue a Latin-script word (after folding), for whole-word matching."""


@dataclass
class Glossary:
    terms: list[Term] = field(default_factory=list)
    equivalents: dict[str, tuple[tuple[str, ...], ...]] = field(default_factory=dict)
    """Per language, groups of interchangeable words (`equivalents:` in the glossary file; the first of a group
    is the one the others stand for), such as zh 癌症 / 癌 or vi sống thêm / sống còn. The glossary-adherence
    check reads a translation and the forms through them (`kb.checks.glossary_terms`); search does not."""
    _by_form: dict[str, Term] = field(default_factory=dict)
    _form_langs: dict[str, set[str]] = field(default_factory=dict)
    _lengths: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        for term in self.terms:
            named = [(a, "abbr") for a in term.abbr] + [(f, L) for L, fs in term.forms.items() for f in fs]
            for form, lang in named:
                self._add(form, lang, term)
                if len(form) > 3 and form.endswith("术"):  # 消融术 is typed as 消融 too: '-术' only says "procedure"
                    self._add(form[:-1], lang, term)
            for lang, forms in term.deprecated.items():  # a query (or a source) may still use an old form
                for form in forms:
                    self._add(form, lang, term)
        self._lengths = sorted({len(k) for k in self._by_form}, reverse=True)
        self._by_id = {t.id: t for t in self.terms}
        self._narrower: dict[str, set[str]] | None = None  # built on first use
        self._found: dict[str, list[tuple[Term, frozenset[str]]]] = {}
        """`find` results by text: `kb check` and every rebuild look up the same source sections again."""
        han: dict[str, set[int]] = {}
        latin: dict[str, set[int]] = {}
        for key in self._by_form:
            (han if CJK.search(key) else latin).setdefault(key[0], set()).add(len(key))
        self._han_lengths = {c: sorted(ls, reverse=True) for c, ls in han.items()}
        self._latin_lengths = {c: sorted(ls, reverse=True) for c, ls in latin.items()}
        """Per first character, the lengths of the forms that begin with it, for forms with Han characters (they
        match anywhere) and for Latin-script ones (they must end a word): `find` tries only those at a position,
        where trying all ~60 form lengths at every position made it the slowest part of `kb check`."""
        self._deprecated: dict[str, list[tuple[re.Pattern[str], str, Term, list[str]]]] = {}
        for term in self.terms:
            for lang, forms in term.deprecated.items():
                listed = [f.lower() for t in self.terms for f in t.forms.get(lang, ())]
                for form in forms:
                    low = form.lower()
                    edge = "" if CJK.search(form) else r"(?<!\w)"
                    pattern = re.compile(edge + re.escape(low) + ("" if edge == "" else r"(?!\w)"))
                    containing = [f for f in listed if low in f and f != low]
                    self._deprecated.setdefault(lang, []).append((pattern, form, term, containing))

    def narrower(self, term_id: str) -> set[str]:
        """Every term that is a kind of `term_id` (the inverse of `ancestors`)."""
        if self._narrower is None:
            below: dict[str, set[str]] = defaultdict(set)
            for t in self.terms:
                for up in self.ancestors(t.id):
                    below[up].add(t.id)
            self._narrower = dict(below)
        return self._narrower.get(term_id, set())

    def ancestors(self, term_id: str) -> set[str]:
        """Every term that `term_id` is a kind of, through `broader` links (a loop in them ends the walk)."""
        by_id = self._by_id
        seen: set[str] = set()
        todo = list(by_id[term_id].broader) if term_id in by_id else []
        while todo:
            up = todo.pop()
            if up in seen or up == term_id or up not in by_id:
                continue
            seen.add(up)
            todo += by_id[up].broader
        return seen

    def _add(self, form: str, lang: str, term: Term) -> None:
        key = fold(form)
        if self._by_form.setdefault(key, term) is term:
            self._form_langs.setdefault(key, set()).add(lang)

    def find(self, query: str) -> list[tuple[Term, set[str]]]:
        """Glossary terms named in the query, each once, with the languages (or 'abbr') of the forms used.

        Scans left to right taking the longest form at each word start or CJK character: a dictionary lookup
        per candidate length, well under a millisecond where one regex over ~2000 forms took 2 ms. Forms with
        CJK match anywhere (Chinese has no spaces); Latin-script forms only as whole words."""
        known = self._found.get(query)
        if known is None:
            known = self._found[query] = self._find(query)
            if len(self._found) > FIND_CACHE:
                with suppress(RuntimeError, KeyError, StopIteration):  # another thread trimmed it meanwhile
                    self._found.pop(next(iter(self._found)))  # the oldest entry
        return [(term, set(langs)) for term, langs in known]

    def _find(self, query: str) -> list[tuple[Term, frozenset[str]]]:
        text = fold(query)
        found: dict[str, tuple[Term, set[str]]] = {}
        word = [bool(_WORD.match(c)) for c in text]  # once per text, not once per candidate
        i, n = 0, len(text)
        while i < n:
            at_word_start = word[i] and (i == 0 or not word[i - 1])
            hit = self._longest_at(text, i, word) if at_word_start or CJK.match(text[i]) else None
            if hit is None:
                i += 1
                continue
            term = self._by_form[hit]
            found.setdefault(term.id, (term, set()))[1].update(self._form_langs[hit])
            i += len(hit)
        return [(term, frozenset(langs)) for term, langs in found.values()]

    def _longest_at(self, text: str, i: int, word: list[bool]) -> str | None:
        """The longest form at position i: one with Han characters ending anywhere, or a Latin-script one that
        ends a word there (`word[j]`: whether text[j] continues a Latin-script word)."""
        n = len(text)
        latin = [L for L in self._latin_lengths.get(text[i], ()) if i + L == n or (i + L < n and not word[i + L])]
        han = self._han_lengths.get(text[i], ())
        for length in (sorted({*latin, *han}, reverse=True) if latin and han else latin or han):
            candidate = text[i:i + length]
            if len(candidate) == length and candidate in self._by_form and (length in latin or CJK.search(candidate)):
                return candidate
        return None

    def deprecated_in(self, text: str, lang: str) -> list[tuple[str, Term]]:
        """Deprecated forms of `lang` that the text uses, exactly as listed (case aside: a diacritic that differs
        makes another Vietnamese word). A listed form that merely contains a deprecated one does not count."""
        low = text.lower()
        found = []
        for pattern, form, term, containing in self._deprecated.get(lang, []):
            masked = low
            for listed in containing:
                masked = masked.replace(listed, " ")
            if pattern.search(masked):
                found.append((form, term))
        return found

    def expansions(self, query: str, lang: str) -> list[str]:
        """Forms in `lang` (and abbreviations) of the terms the query names in another language.

        A term the query already names in `lang` is not expanded there, and neither is a bare abbreviation (the
        modules write acronyms in every language): both only added noise to the keyword side (measured on the
        oncology set: recall@1 of Chinese queries fell from 0.864 to 0.818 with same-language synonyms)."""
        return self.all_expansions(query).get(lang, [])

    def all_expansions(self, query: str) -> dict[str, list[str]]:
        """`expansions` for every language at once, matching the query a single time."""
        out: dict[str, list[str]] = {}
        for term, used in self.find(query):
            if used == {"abbr"}:
                continue
            for lang, forms in term.forms.items():
                if lang not in used:
                    out.setdefault(lang, []).extend([*forms, *term.abbr])
        return {lang: list(dict.fromkeys(forms)) for lang, forms in out.items()}


def load_glossary(path: Path) -> tuple[Glossary, list]:
    """Read and validate the glossary; every problem is a Finding with the line of the term."""
    from kb.content import display_path  # the content model; imported here, no cycle

    shown = display_path(path)
    with path.open("rb") as handle:
        raw = handle.read(MAX_GLOSSARY_BYTES + 1)
    glossary, found = _load_glossary(raw)
    return glossary, [replace(f, path=shown) for f in found]


@lru_cache(maxsize=4)
def _load_glossary(raw: bytes) -> tuple[Glossary, tuple]:
    """The glossary of these bytes, read once per process: a live server rebuilds after every save and loads
    each new build (its own copy of the file), and the 300 kB glossary took a second of each. A Glossary is
    never changed once made; the findings' paths are filled in by the caller."""
    glossary, findings = _parse_glossary(raw, "")
    return glossary, tuple(findings)


def _parse_glossary(raw: bytes, shown: str) -> tuple[Glossary, list]:
    from kb.content import Finding  # the content model owns Finding; imported here, no cycle

    findings: list[Finding] = []
    if len(raw) > MAX_GLOSSARY_BYTES:
        return Glossary(), [Finding(shown, 1, "size", f"glossary is larger than {MAX_GLOSSARY_BYTES:,} bytes")]
    try:
        text = raw.decode("utf-8")
        data, node = yamlsafe.load(text, max_bytes=MAX_GLOSSARY_BYTES)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return Glossary(), [Finding(shown, line, "encoding", f"invalid UTF-8: {exc.reason}")]
    except yamlsafe.YamlProblem as exc:
        return Glossary(), [Finding(shown, exc.line, "yaml", f"invalid YAML: {exc.message}")]
    items = data.get("terms") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return Glossary(), [Finding(shown, 1, "glossary", "the glossary must have a 'terms:' list")]
    equivalents, problem = _read_equivalents(data.get("equivalents"))
    if problem:
        findings.append(Finding(shown, _key_line(node, "equivalents"), "glossary", problem))
    lines = _item_lines(node)
    headings = [(n, m.group(1)) for n, row in enumerate(text.splitlines(), start=1) if (m := _CATEGORY.match(row))]
    terms: list[Term] = []
    seen_ids: dict[str, int] = {}
    seen_forms: dict[tuple[str, str], str] = {}
    for n, item in enumerate(items):
        line = lines[n] if n < len(lines) else 1
        term, problems = _read_term(item, line)
        findings += [Finding(shown, line, "glossary", p) for p in problems]
        if term is None:
            continue
        category = next((name for at, name in reversed(headings) if at < line), "")
        if category:
            term = replace(term, category=category)
        if term.id in seen_ids:
            findings.append(Finding(shown, line, "glossary", f"duplicate term id '{term.id}' (first on line "
                                    f"{seen_ids[term.id]})"))
            continue
        seen_ids[term.id] = line
        for lang, forms in term.forms.items():
            for form in forms:
                key = (lang, fold(form))
                if key in seen_forms and seen_forms[key] != term.id:
                    findings.append(Finding(shown, line, "glossary", f"{lang} form '{form}' of '{term.id}' is "
                                            f"already a form of '{seen_forms[key]}'"))
                seen_forms.setdefault(key, term.id)
        terms.append(term)
    ids = {t.id for t in terms}
    for term in terms:
        for up in term.broader:
            if up not in ids or up == term.id:
                findings.append(Finding(shown, term.line, "glossary", f"term '{term.id}': broader term '{up}' is "
                                        + ("the term itself" if up == term.id else "not a term of this glossary")))
    listed = {(lang, form.lower()): t.id for t in terms for lang, fs in t.forms.items() for form in fs}
    for term in terms:
        for lang, forms in term.deprecated.items():
            for form in forms:
                if (lang, form.lower()) in listed:
                    findings.append(Finding(shown, term.line, "glossary", f"{lang} form '{form}' of '{term.id}' "
                                            f"is both deprecated and a form of '{listed[(lang, form.lower())]}'"))
    return Glossary(terms, equivalents), findings


def _read_equivalents(data: object) -> tuple[dict[str, tuple[tuple[str, ...], ...]], str]:
    """`equivalents: {zh: [[癌症, 癌], ...], vi: [[sống thêm, sống còn], ...]}`, or a problem to report."""
    if data is None:
        return {}, ""
    shape = "'equivalents' maps a language to a list of word groups, e.g. vi: [[sống thêm, sống còn]]"
    if not isinstance(data, dict) or not all(lang in LANGS for lang in data):
        return {}, f"{shape}; languages are {', '.join(LANGS)}"
    out: dict[str, tuple[tuple[str, ...], ...]] = {}
    for lang, groups in data.items():
        if not isinstance(groups, list) or not all(
                isinstance(g, list) and len(g) > 1 and all(isinstance(w, str) and w.strip() for w in g)
                for g in groups):
            return {}, f"{shape}; each group needs two words or more ({lang})"
        out[lang] = tuple(tuple(w.strip() for w in g) for g in groups)
    return out, ""


def _key_line(node: yaml.Node | None, name: str) -> int:
    if isinstance(node, yaml.MappingNode):
        for key, _ in node.value:
            if key.value == name:
                return key.start_mark.line + 1
    return 1


def _item_lines(node: yaml.Node | None) -> list[int]:
    if not isinstance(node, yaml.MappingNode):
        return []
    for key, value in node.value:
        if key.value == "terms" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []


def _read_term(item: object, line: int) -> tuple[Term | None, list[str]]:
    if not isinstance(item, dict) or not item.get("id"):
        return None, ["a term needs an 'id' and forms in " + ", ".join(LANGS)]
    tid = str(item["id"])
    problems: list[str] = []
    forms: dict[str, tuple[str, ...]] = {}
    definitions: dict[str, str] = {}
    deprecated: dict[str, tuple[str, ...]] = {}
    for lang in LANGS:
        entry = item.get(lang)
        if not isinstance(entry, dict):
            problems.append(f"term '{tid}' has no {lang} entry")
            continue
        fs = entry.get("forms")
        if not isinstance(fs, list) or not fs or not all(isinstance(f, str) and f.strip() for f in fs):
            problems.append(f"term '{tid}': {lang} needs a non-empty 'forms' list")
        else:
            forms[lang] = tuple(f.strip() for f in fs)
        old = entry.get("deprecated")
        if old is not None:
            if not isinstance(old, list) or not all(isinstance(f, str) and f.strip() for f in old):
                problems.append(f"term '{tid}': {lang} 'deprecated' must be a list of forms")
            else:
                deprecated[lang] = tuple(f.strip() for f in old)
        definition = entry.get("definition")
        if not isinstance(definition, str) or not definition.strip():
            problems.append(f"term '{tid}': {lang} needs a one-line 'definition'")
        else:
            definitions[lang] = definition.strip()
    abbr = item.get("abbr") or []
    if not isinstance(abbr, list):
        problems.append(f"term '{tid}': abbr must be a list")
        abbr = []
    broader = item.get("broader") or []
    broader = [broader] if isinstance(broader, str) else broader
    if not isinstance(broader, list) or not all(isinstance(b, str) and b.strip() for b in broader):
        problems.append(f"term '{tid}': broader must be a term id or a list of term ids")
        broader = []
    return Term(tid, tuple(str(a) for a in abbr), forms, definitions, line, deprecated,
                broader=tuple(b.strip() for b in broader)), problems
