"""A module as a deck of slides, built from the index's section HTML so every language has the same slides in the
same order: the presenter, the projector and each phone (in its own language) name a slide by the same key.

Each `##` and `###` section is a slide. A section is split further at a `---` break and then by an estimate of
its height at the projector's type size (a 1920x1080 screen, 38 px primary text in a column of about 880 px), so
the split is the same on every device and never depends on a browser's measurement. A split falls only between
top-level blocks or between list items: a table, a paragraph or a list item is never cut. All languages of a
section are split into the same number of parts; when their block structure matches (the usual case for an
aligned translation) at the same block boundaries, otherwise by proportion of height."""

from __future__ import annotations

import html
import math
import re
import weakref
from dataclasses import dataclass, field, replace

from kb.courses import Course
from kb.library import DocumentView, Library

LINE_UNITS = 46
"""Half-em widths in a line of a slide column at the primary type size (880 px / 19 px); a CJK character is 2."""
LINES_PER_SLIDE = 16
"""Lines of body text that fit under a slide's heading at that size."""
TITLE_KEY, END_KEY = "_title", "_end"
"""Keys of the title and closing slides; section ids never start with '_'."""

TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)\b[^>]*?(/?)>")
VOID = {"br", "hr", "img", "input", "col", "wbr"}
LISTS = {"ul", "ol"}


@dataclass
class Atom:
    """A piece a slide may start or end at: a top-level block, or one item of a top-level list."""

    html: str
    lines: float
    list_open: str | None = None
    """For a list item, its list's opening tag (`<ol start="3">` is worked out when the item is placed)."""
    item: int = 0
    """For a list item, its 1-based number in the list."""


@dataclass
class Slide:
    key: str
    kind: str  # "title", "section" or "end"; in a course deck also "course" and "day"
    section: str | None = None
    level: int = 2
    part: int = 1
    parts: int = 1
    headings: dict[str, str] = field(default_factory=dict)
    kickers: dict[str, str] = field(default_factory=dict)
    """The parent `##` heading of a `###` slide, per language."""
    bodies: dict[str, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    docs: dict[str, DocumentView] = field(default_factory=dict)
    """The module's documents, for a title or closing slide (version, date, disclaimer, sources)."""


@dataclass
class Deck:
    module: str
    """The module's name, or `course:<name>` for a course deck."""
    docs: dict[str, DocumentView]
    slides: list[Slide]
    titles: dict[str, str] = field(default_factory=dict)

    @property
    def keys(self) -> list[str]:
        return [s.key for s in self.slides]

    def index(self, key: str) -> int | None:
        return next((i for i, s in enumerate(self.slides) if s.key == key), None)


def text_units(fragment: str) -> int:
    """Width of an HTML fragment's text in half-ems: CJK and full-width characters count 2."""
    text = html.unescape(TAG.sub("", fragment))
    return sum(2 if ord(ch) >= 0x2E80 else 1 for ch in text if not ch.isspace()) + text.count(" ")


def _lines(units: int, width: int = LINE_UNITS) -> float:
    return max(1, math.ceil(units / max(width, 8)))


def atoms(fragment: str) -> list[Atom]:
    """The section HTML (markdown-it output: well-formed, text escaped) cut at its top-level blocks, lists at
    their items."""
    out: list[Atom] = []
    depth, start, top, list_open, item_start, item_no = 0, 0, "", None, 0, 0
    for m in TAG.finditer(fragment):
        closing, name, selfclose = m.group(1) == "/", m.group(2).lower(), m.group(3) == "/"
        if name in VOID or selfclose:
            if depth == 0:
                out.append(Atom(fragment[m.start():m.end()], 0.5))
            continue
        if not closing:
            if depth == 0:
                start, top = m.start(), name
                if name in LISTS:
                    list_open, item_no = m.group(0), 0
            elif depth == 1 and top in LISTS and name == "li":
                item_start = m.start()
            depth += 1
            continue
        depth -= 1
        if depth == 1 and top in LISTS and name == "li":
            item_no += 1
            piece = fragment[item_start:m.end()]
            out.append(Atom(piece, _lines(text_units(piece), LINE_UNITS - 3) + 0.2, list_open, item_no))
        elif depth == 0:
            piece = fragment[start:m.end()]
            if top not in LISTS:
                out.append(Atom(piece, _block_lines(top, piece)))
            list_open = None
    return out


def _block_lines(tag: str, piece: str) -> float:
    if tag == "table":
        rows = piece.count("<tr")
        cols = max(1, piece.count("<th") or piece.split("</tr>")[0].count("<td"))
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", piece, re.S)
        widest = max((text_units(c) for c in cells), default=1)
        return rows * _lines(widest, LINE_UNITS // cols) * 1.1 + 0.5
    if tag == "pre":
        return piece.count("\n") + 1
    return _lines(text_units(piece)) + 0.4


def join(parts: list[Atom]) -> str:
    """HTML of consecutive atoms, list items wrapped back in their list (numbered from where they left off)."""
    out: list[str] = []
    open_list: str | None = None
    for a in parts:
        if a.list_open != open_list or (a.list_open and a.item == 1 and out):
            if open_list:
                out.append(f"</{open_list[1:3]}>")
            open_list = a.list_open
            if open_list:
                tag = open_list
                if open_list.startswith("<ol") and a.item > 1:
                    first = int(m.group(1)) if (m := re.search(r'start="(\d+)"', open_list)) else 1
                    tag = re.sub(r'\s*start="\d+"', "", open_list)[:-1] + f' start="{first + a.item - 1}">'
                out.append(tag)
        out.append(a.html)
    if open_list:
        out.append(f"</{open_list[1:3]}>")
    return "\n".join(out)


def split_atoms(atoms_: list[Atom], n: int) -> list[list[Atom]]:
    """`n` groups of consecutive atoms of about equal height (some may be empty when there are few atoms)."""
    total = sum(a.lines for a in atoms_) or 1
    groups: list[list[Atom]] = [[] for _ in range(n)]
    acc = 0.0
    for a in atoms_:
        g = min(n - 1, int((acc + a.lines / 2) / total * n))
        groups[g].append(a)
        acc += a.lines
    return groups


def split_section(bodies: dict[str, str]) -> list[dict[str, str]]:
    """One section's HTML per language as slide parts: at `<hr>` when every language has the same breaks, then by
    height; aligned across languages."""
    per_lang = {L: re.split(r"<hr\s*/?>\s*", h) for L, h in bodies.items()}
    if len({len(p) for p in per_lang.values()}) != 1:
        per_lang = {L: [re.sub(r"<hr\s*/?>\s*", "", h)] for L, h in bodies.items()}
    chunks = len(next(iter(per_lang.values()))) if per_lang else 0
    parts: list[dict[str, str]] = []
    for c in range(chunks):
        cut = {L: atoms(p[c]) for L, p in per_lang.items()}
        height = max((sum(a.lines for a in at) for at in cut.values()), default=0)
        n = max(1, math.ceil(height / LINES_PER_SLIDE))
        n = min(n, max((len(at) for at in cut.values()), default=1))
        counts = {len(at) for at in cut.values()}
        if n > 1 and len(counts) == 1:
            ref = max(cut.values(), key=lambda at: sum(a.lines for a in at))
            bounds = _bounds(split_atoms(ref, n))
            groups = {L: [at[b0:b1] for b0, b1 in bounds] for L, at in cut.items()}
        else:
            groups = {L: split_atoms(at, n) for L, at in cut.items()}
        for i in range(n):
            part = {L: join(g[i]) for L, g in groups.items()}
            if c == 0 or i > 0 or any(part.values()):
                parts.append(part)
    return [p for p in parts if any(v.strip() for v in p.values())] or [dict.fromkeys(bodies, "")]


def _bounds(groups: list[list[Atom]]) -> list[tuple[int, int]]:
    out, at = [], 0
    for g in groups:
        out.append((at, at + len(g)))
        at += len(g)
    return out


_decks: weakref.WeakKeyDictionary[Library, dict[str, Deck | None]] = weakref.WeakKeyDictionary()


def build_deck(library: Library, module: str) -> Deck | None:
    """The deck of a module in every language it has; None for an unknown module. A snapshot's library never
    changes, so its decks are kept as long as it lives."""
    cached = _decks.setdefault(library, {})
    if module not in cached:
        cached[module] = _build(library, module)
    return cached[module]


def _build(library: Library, module: str, sections: list[str] | None = None) -> Deck | None:
    langs = library.languages(module)
    if not langs:
        return None
    docs = {L: d for L in langs if (d := library.document(module, L)) is not None}
    titles = {L: d.title for L, d in docs.items()}
    slides = [Slide(TITLE_KEY, "title", headings=titles, docs=docs)]
    headings: dict[str, dict[str, str]] = {}
    for row in library.compare(module, langs):
        if sections is not None and row.id not in sections and not (
                row.level == 3 and any(c and c.parent in sections for c in row.cells.values())):
            continue
        cells = {L: c for L, c in row.cells.items() if c is not None}
        headings[row.id] = {L: c.heading for L, c in cells.items()}
        parent = next((c.parent for c in cells.values() if c.parent), None)
        kickers = headings.get(parent, {}) if parent else {}
        bodies = {L: c.html for L, c in cells.items()}
        parts = split_section(bodies)
        if row.level == 2 and not any(_visible(b) for b in bodies.values()) and _has_children(library, module,
                                                                                               row.id, langs):
            # a `##` with only subsections: its heading becomes the kicker of their slides, not an empty slide
            continue
        notes = {L: n for L, d in docs.items() if (n := d.notes.get(row.id))}
        for i, part in enumerate(parts, 1):
            key = row.id if i == 1 else f"{row.id}.{i}"
            slides.append(Slide(key, "section", row.id, row.level, i, len(parts), headings[row.id], kickers, part,
                                notes if i == 1 else {}))
    slides.append(Slide(END_KEY, "end", headings=titles, docs=docs))
    return Deck(module, docs, slides, titles)


def build_course_deck(library: Library, course: Course) -> tuple[Deck, list[str]]:
    """One deck for a whole course: its title slide, then per day a divider and each module's slides (only the
    sections named, with their subsections), keys prefixed by the module; and what was left out (unknown modules
    or sections), for the agenda page to say."""
    titles = dict(course.titles)
    slides = [Slide(TITLE_KEY, "course", headings=titles)]
    missing: list[str] = []
    docs: dict[str, DocumentView] = {}
    for d, day in enumerate(course.days, 1):
        slides.append(Slide(f"_day{d}", "day", headings=day.titles))
        for item in day.items:
            deck = _build(library, item.module, item.sections)
            if deck is None:
                missing.append(item.module)
                continue
            known = {s.section for s in deck.slides}
            missing += [f"{item.module}#{sid}" for sid in item.sections or [] if sid not in known]
            for L, doc in deck.docs.items():
                docs.setdefault(L, doc)
            for s in deck.slides[:-1]:  # a module's closing slide would interrupt the day
                slides.append(replace(s, key=f"{item.module}.{s.key}"))
    slides.append(Slide(END_KEY, "end", headings=titles, docs=docs))
    return Deck(f"course:{course.name}", docs, slides, titles), missing


def _visible(fragment: str) -> bool:
    return bool(TAG.sub("", fragment).strip())


def _has_children(library: Library, module: str, section: str, langs: list[str]) -> bool:
    return any(s.parent == section for L in langs if (d := library.document(module, L)) for s in d.sections)
