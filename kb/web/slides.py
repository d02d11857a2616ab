"""A module as a deck of slides, built from the index's section HTML so every language has the same slides in the
same order: the presenter, the projector and each phone (in its own language) name a slide by the same key.

Each `##` and `###` section is a slide. A section is split further at a `---` break and then by an estimate of
its height at the projector's type size (a 1920x1080 screen, 38 px primary text in a column of about 880 px), so
the split is the same on every device and never depends on a browser's measurement (the slide keys the
presenter and the phones share come from it). A split falls only between top-level blocks, between list items
or between table rows: a list item or a table row is never cut (a paragraph only when it is taller than a slide,
and then at a sentence end), and a table continued on the next slide repeats its header row there (that slide
says "(continued)"). All languages of a section are split into
the same number of parts; when their block structure matches (the usual case for an aligned translation) at the
same block boundaries, otherwise by proportion of height."""

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
    """A piece a slide may start or end at: a top-level block, one item of a top-level list, or one body row of
    a top-level table."""

    html: str
    lines: float
    list_open: str | None = None
    """For a list item, its list's opening tag (`<ol start="3">` is worked out when the item is placed)."""
    item: int = 0
    """For a list item or a table row, its 1-based number in the list or the table's body."""
    table_open: str | None = None
    """For a table row, the table's opening tag and header (`<table><thead>…</thead>`): every slide a table
    continues on repeats its header row."""
    head_lines: float = 0
    """For a table row, the height of that repeated header."""
    para_open: str | None = None
    """For a sentence of a paragraph too tall for one slide, the paragraph's opening tag."""


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

    @property
    def continued(self) -> set[str]:
        """The languages whose part of this slide starts inside a table or list begun on the slide before."""
        return {L for L, b in self.bodies.items() if continued(b)}


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
        if depth == 0 and top == "table":
            out += table_atoms(fragment[start:m.end()])
        elif depth == 1 and top in LISTS and name == "li":
            item_no += 1
            piece = fragment[item_start:m.end()]
            out.append(Atom(piece, _text_lines(piece, LINE_UNITS - 3) + 0.2, list_open, item_no))
        elif depth == 0:
            piece = fragment[start:m.end()]
            if top == "p" and _text_lines(piece) > LINES_PER_SLIDE:
                out += sentence_atoms(piece)
            elif top not in LISTS:
                out.append(Atom(piece, _block_lines(top, piece)))
            list_open = None
    return out


SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\u00C0-\u1EF9\"“(])|(?<=[。！？])")


def sentence_atoms(piece: str) -> list[Atom]:
    """A paragraph taller than a slide as one atom per sentence (cut only between sentences, outside any inline
    markup), so it can go on over two slides; consecutive sentences join back into one paragraph."""
    open_tag = piece[:piece.index(">") + 1]
    inner = piece[len(open_tag):piece.rindex("</p>")]
    cuts, depth, at = [0], 0, 0
    for m in TAG.finditer(inner + "<x>"):
        if depth == 0:
            cuts += [at + b.start() for b in SENTENCE_END.finditer(inner[at:m.start()]) if at + b.start() > 0]
        if m.start() >= len(inner):
            break
        closing, name, selfclose = m.group(1) == "/", m.group(2).lower(), m.group(3) == "/"
        if name not in VOID and not selfclose:
            depth += -1 if closing else 1
        at = m.end()
    cuts = sorted(set(cuts)) + [len(inner)]
    sentences = [inner[a:b].strip() for a, b in zip(cuts, cuts[1:], strict=False) if inner[a:b].strip()]
    if len(sentences) < 2:
        return [Atom(piece, _block_lines("p", piece))]
    return [Atom(text, text_units(text) / LINE_UNITS + 0.05, item=n, para_open=open_tag)
            for n, text in enumerate(sentences, 1)]


ROW = re.compile(r"<tr\b.*?</tr>", re.S)
CELL = re.compile(r"<t[hd]\b[^>]*>(.*?)</t[hd]>", re.S)
CELL_PADDING = 1
"""Half-em widths a table cell loses to its padding and borders."""
ROW_EXTRA = 0.3
"""A table row's padding and border, in lines."""


def table_atoms(piece: str) -> list[Atom]:
    """A table as one atom per body row, each carrying the table's opening tag and header row; a table without a
    header or with a single body row stays one atom."""
    head = re.search(r"<thead>.*?</thead>", piece, re.S)
    body = re.search(r"<tbody>(.*?)</tbody>", piece, re.S)
    rows = ROW.findall(body.group(1)) if body else []
    heights = row_lines(ROW.findall(piece))
    if head is None or len(rows) < 2:
        return [Atom(piece, sum(heights) + 0.5)]
    table_open = piece[:piece.index(">") + 1] + "\n" + head.group(0)
    head_lines = sum(heights[:len(heights) - len(rows)])
    return [Atom(row, h, item=n, table_open=table_open, head_lines=head_lines)
            for n, (row, h) in enumerate(zip(rows, heights[-len(rows):], strict=True), 1)]


def row_lines(rows: list[str]) -> list[float]:
    """Each row's height in lines. Columns share the slide's width in proportion to their text (the way a
    browser lays out a table), but never narrower than their longest word."""
    cells = [[text_units(c) for c in CELL.findall(r)] for r in rows]
    cols = max((len(c) for c in cells), default=1) or 1
    words = [max((_longest_word(c) for r in rows for i, c in enumerate(CELL.findall(r)) if i == col), default=1)
             for col in range(cols)]
    weight = [max(1, sum(r[col] for r in cells if col < len(r))) for col in range(cols)]
    room = max(cols * 4, LINE_UNITS - cols * CELL_PADDING)
    widths = [max(words[col], room * weight[col] / sum(weight)) for col in range(cols)]
    scale = room / sum(widths)
    widths = [max(4.0, w * scale) for w in widths]
    return [max((math.ceil(u / widths[i]) for i, u in enumerate(r) if u), default=1) + ROW_EXTRA for r in cells]


def _longest_word(fragment: str) -> int:
    text = html.unescape(TAG.sub("", fragment))
    return max((text_units(w) for w in text.split()), default=1)


def _block_lines(tag: str, piece: str) -> float:
    if tag == "pre":
        return piece.count("\n") + 1
    return _text_lines(piece) + 0.4


BLOCK_START = re.compile(r"<(?:p|li|br|h[1-6]|div|blockquote|dt|dd)\b[^>]*>")


def _text_lines(piece: str, width: int = LINE_UNITS) -> float:
    """Lines of a fragment's text: each inner block (a list item's paragraphs, a nested list's items) starts a
    line of its own, with a third of a line of margin between them."""
    blocks = [b for b in BLOCK_START.split(piece) if _visible(b)]
    return sum(_lines(text_units(b), width) for b in blocks) + 0.33 * max(0, len(blocks) - 1) if blocks else 1


def join(parts: list[Atom]) -> str:
    """HTML of consecutive atoms, list items wrapped back in their list (numbered from where they left off) and
    table rows in their table (with its header row again, marked `continued` after the first slide)."""
    out: list[str] = []
    open_: str | None = None
    close = ""
    for a in parts:
        wrapper = a.list_open or a.table_open or a.para_open
        if wrapper != open_ or (wrapper and a.item == 1 and out):
            if open_:
                out.append(close)
            open_, close = wrapper, ""
            if a.para_open:
                out.append(a.para_open)
                close = "</p>"
            elif a.table_open:
                tag = a.table_open
                if a.item > 1:
                    tag = tag.replace("<table", '<table class="continued"', 1)
                out.append(tag + "\n<tbody>")
                close = "</tbody>\n</table>"
            elif a.list_open:
                tag = a.list_open
                if a.list_open.startswith("<ol") and a.item > 1:
                    first = int(m.group(1)) if (m := re.search(r'start="(\d+)"', a.list_open)) else 1
                    tag = re.sub(r'\s*start="\d+"', "", a.list_open)[:-1] + f' start="{first + a.item - 1}">'
                if a.item > 1:
                    tag = tag[:-1] + ' class="continued">'
                out.append(tag)
                close = f"</{a.list_open[1:3]}>"
        out.append(a.html)
    if open_:
        out.append(close)
    return "\n".join(out)


def continued(fragment: str) -> bool:
    """Whether a slide part starts in the middle of a table or a list (the slide says "(continued)")."""
    first = fragment.lstrip().split(">", 1)[0]
    return first.startswith(("<table", "<ul", "<ol")) and 'class="continued"' in first


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
        most = max((len(at) for at in cut.values()), default=1)
        aligned = len({len(at) for at in cut.values()}) == 1
        height = max((sum(a.lines for a in at) for at in cut.values()), default=0)
        n = min(max(1, math.ceil(height / LINES_PER_SLIDE)), most)
        while True:
            groups = _groups(cut, n, aligned)
            if n >= most or all(_height(g) <= LINES_PER_SLIDE for gs in groups.values() for g in gs):
                break
            n += 1  # equal shares still leave one part too tall (a repeated header, an uneven block): one more
        for i in range(n):
            part = {L: join(g[i]) for L, g in groups.items()}
            if c == 0 or i > 0 or any(part.values()):
                parts.append(part)
    return [p for p in parts if any(v.strip() for v in p.values())] or [dict.fromkeys(bodies, "")]


def _groups(cut: dict[str, list[Atom]], n: int, aligned: bool) -> dict[str, list[list[Atom]]]:
    """Every language's atoms in `n` parts: at the same atom boundaries when their structure matches (split by
    the tallest language), else each by its own heights."""
    if n > 1 and aligned:
        ref = max(cut.values(), key=lambda at: sum(a.lines for a in at))
        bounds = _bounds(split_atoms(ref, n))
        return {L: [at[b0:b1] for b0, b1 in bounds] for L, at in cut.items()}
    return {L: split_atoms(at, n) for L, at in cut.items()}


def _height(group: list[Atom]) -> float:
    """A part's height, with the header row it repeats when it starts inside a table."""
    head = group[0].head_lines if group and group[0].table_open and group[0].item > 1 else 0
    return head + sum(a.lines for a in group)


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
