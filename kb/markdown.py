"""The one Markdown dialect of the project: CommonMark + tables + front matter, raw HTML off, Pandoc-style
heading ids (`## 适应证 {#indications}`) and recommendation blocks (`… {rec grade=nccn:2A cn=available}`).

mdit-py-plugins' attrs plugin reads `{#id}` after inline elements and before blocks, not at the end of a heading,
so a small core rule moves a trailing `{#id}` of a heading onto the heading tag. Two more core rules take a valid
trailing `{rec ...}` off a paragraph's text before inline parsing (so it is never in the plain text that is
embedded and searched) and put it back as one `rec` token that renders as badges; the scan of every run that
mentions `{rec` is left in the inline token's meta for `kb check` (`kb.content`).

Links to the outside web (`https://…`, `//host/…`, `mailto:`) stay links, since a source is worth opening where
there is a network, but they are marked: `rel="noopener noreferrer"` (the opened page gets no handle on ours and
no referrer), `class="external"`, the address as a tooltip, and a visible ↗ after the text, so nobody in an
offline training room clicks one expecting a page of the library. An outside image would be a request to another
host from every reader (and the CSP blocks it anyway), so it becomes such a link to the image, its alt text as
the link text.

Speaker notes are a `::: notes` container (mdit-py-plugins' container plugin). Another core rule lifts them out of
the token stream, so the rendered HTML, the plain text (what is embedded, keyword-indexed and hashed for
translation stamps) never contain them; `notes_html()` renders them on their own for the presenter view. Notes
are therefore not searchable and editing them never marks a translation outdated."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from mdit_py_plugins.container import container_plugin
from mdit_py_plugins.front_matter import front_matter_plugin

from kb.recommendations import Recommendation, grade_label, scan_inline

EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//)", re.IGNORECASE)
"""An address that leaves the library: any scheme, or protocol-relative (`//host/...`)."""
HEADING_ID = re.compile(r"\s*\{#([A-Za-z0-9][A-Za-z0-9_-]*)\}\s*$")
"""A trailing `{#id}` on a heading line."""


def split_heading(text: str) -> tuple[str, str | None]:
    """Heading text without its `{#id}`, and the id (None when absent)."""
    m = HEADING_ID.search(text)
    if not m:
        return text.strip(), None
    return text[: m.start()].strip(), m.group(1)


def _heading_ids(state: StateCore) -> None:
    tokens = state.tokens
    for i, tok in enumerate(tokens):
        if tok.type != "heading_open" or i + 1 >= len(tokens):
            continue
        inline = tokens[i + 1]
        text, hid = split_heading(inline.content)
        if hid is None:
            continue
        inline.content = text
        tok.attrSet("id", hid)


def _rec_blocks(state: StateCore) -> None:
    tokens = state.tokens
    for i, tok in enumerate(tokens):
        if tok.type != "inline" or "{rec" not in tok.content:
            continue
        scan = scan_inline(tok.content, in_paragraph=i > 0 and tokens[i - 1].type == "paragraph_open")
        tok.meta["rec_scan"] = scan
        if scan.rec is not None:
            tok.content = scan.text


def _rec_tokens(state: StateCore) -> None:
    for tok in state.tokens:
        scan = tok.meta.get("rec_scan") if tok.type == "inline" and tok.meta else None
        if scan is not None and scan.rec is not None:
            badge = Token("rec", "span", 0)
            badge.meta = {"rec": scan.rec}
            tok.children = [*(tok.children or []), badge]


def render_rec(rec: Recommendation) -> str:
    """Badges for one recommendation, language-neutral: the codes are data attributes, the text is the source's
    notation (`NCCN 2A`) and `CN: available`; the web pages relabel them in the UI language."""
    attrs = "".join(f' data-{k}="{escapeHtml(v)}"' for k, v in
                    (("grade", rec.grade_code), ("cn", rec.cn), ("vn", rec.vn)) if v)
    parts = []
    if rec.scheme and rec.grade:
        parts.append(f'<span class="rec-badge rec-grade" data-scheme="{escapeHtml(rec.scheme)}">'
                     f"{escapeHtml(grade_label(rec.scheme, rec.grade))}</span>")
    for region, value in rec.availability().items():
        parts.append(f'<span class="rec-badge rec-avail rec-{escapeHtml(value)}" data-region="{region}">'
                     f"{region.upper()}: {escapeHtml(value)}</span>")
    return f' <span class="rec"{attrs}>{"".join(parts)}</span>'


def _render_rec_token(self, tokens: list[Token], idx: int, options, env) -> str:  # noqa: ANN001
    return render_rec(tokens[idx].meta["rec"])


def _external_links(state: StateCore) -> None:
    for block in state.tokens:
        if block.type == "inline" and block.children:
            block.children = list(_mark_external(block.children))


def _mark_external(children: list[Token]) -> Iterator[Token]:
    in_link = in_external = False
    for tok in children:
        if tok.type == "image" and EXTERNAL.match(str(tok.attrGet("src") or "")):
            src = str(tok.attrGet("src"))
            text = Token("text", "", 0, content=tok.content or src)
            if in_link:  # an image inside a link: its alt text only, as a link cannot hold another
                yield text
            else:
                yield from (_external(Token("link_open", "a", 1, attrs={"href": src})), text,
                            Token("external_mark", "", 0), Token("link_close", "a", -1))
            continue
        if tok.type == "link_open":
            in_link = True
            if EXTERNAL.match(str(tok.attrGet("href") or "")):
                in_external = bool(_external(tok))
        elif tok.type == "link_close":
            if in_external:
                yield Token("external_mark", "", 0)
            in_link = in_external = False
        yield tok


def _external(link: Token) -> Token:
    link.attrSet("rel", "noopener noreferrer")
    link.attrSet("class", "external")
    link.attrSet("title", str(link.attrGet("href")))
    return link


def _render_external_mark(self: object, tokens: list[Token], idx: int, options: object, env: object) -> str:
    return '<span class="external-mark" aria-hidden="true">\u2197</span>'


def _lift_notes(state: StateCore) -> None:
    """Move every `::: notes` block (its tokens, without the container) into `env["notes"]`."""
    kept: list[Token] = []
    notes: list[Token] = state.env.setdefault("notes", [])
    problems: list[tuple[int, str]] = state.env.setdefault("notes_problems", [])
    depth, opened = 0, 0
    for tok in state.tokens:
        if tok.type == "container_notes_open":
            depth += 1
            opened = (tok.map[0] + 1) if tok.map else 0
        elif tok.type == "container_notes_close":
            depth -= 1
            if not tok.markup:  # closed by the end of the text, not by a ':::' line
                problems.append((opened, "speaker notes opened here are never closed: end them with a ':::' line"))
        elif depth:
            notes.append(tok)
            if tok.type == "heading_open":
                line = (tok.map[0] + 1) if tok.map else opened
                problems.append((line, "a heading inside speaker notes: close the notes with ':::' before it"))
        else:
            kept.append(tok)
    state.tokens = kept


@lru_cache(maxsize=1)
def parser() -> MarkdownIt:
    """The shared parser; building one costs more than parsing a module, so it is cached."""
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable("table")
    md.use(front_matter_plugin)
    md.use(container_plugin, "notes")
    md.core.ruler.after("block", "heading_ids", _heading_ids)
    md.core.ruler.after("heading_ids", "rec_blocks", _rec_blocks)
    md.core.ruler.after("inline", "rec_tokens", _rec_tokens)
    md.add_render_rule("rec", _render_rec_token)
    md.core.ruler.push("external_links", _external_links)
    md.add_render_rule("external_mark", _render_external_mark)
    # Script-bearing and local-file schemes are never links (the text stays as written).


    md.core.ruler.push("lift_notes", _lift_notes)  # last: after the inline rule has parsed their text
    # Links to the outside web are not followed in a training room; keep them as text-looking links only.
    md.validateLink = lambda url: not url.lower().startswith(("javascript:", "vbscript:", "file:", "data:"))
    return md


RENDER_CACHE = 4096
"""Rendered fragments kept per process (render_html, plain_text): a live server rebuilds the whole content folder
after each save, and without them every unchanged section was parsed again, several times, per rebuild."""


@lru_cache(maxsize=RENDER_CACHE)
def render_html(markdown: str) -> str:
    """HTML for a Markdown body; raw HTML in the source is escaped, never passed through."""
    return parser().render(markdown)


@lru_cache(maxsize=RENDER_CACHE)
def notes_html(markdown: str) -> str:
    """HTML of the `::: notes` blocks of a Markdown body (speaker notes), "" when it has none."""
    md = parser()
    env: dict = {}
    md.parse(markdown, env)
    notes = env.get("notes") or []
    return md.renderer.render(notes, md.options, env) if notes else ""


@lru_cache(maxsize=RENDER_CACHE)
def plain_text(markdown: str, *, with_recs: bool = False) -> str:
    """The readable text of a Markdown fragment, one line per block, for embedding, snippets and keywords.

    Rec blocks are not text; `with_recs` keeps each as written, where it stood, for the section hash: a changed
    grade then counts as a changed section, and stamps made before the blocks were parsed stay valid."""
    lines: list[str] = []
    for tok in parser().parse(markdown):
        if tok.type == "inline":
            text = _inline_text(tok)
            scan = tok.meta.get("rec_scan") if tok.meta else None
            if with_recs and scan is not None and scan.rec is not None:
                text = (text + scan.suffix).strip()
            lines.append(text)
    return "\n".join(line for line in lines if line.strip())


def recommendations(tokens: list[Token]) -> list[tuple[int, Recommendation | None, list[str]]]:
    """(1-based line, recommendation or None, problems) of every rec block in parsed tokens, in order."""
    out: list[tuple[int, Recommendation | None, list[str]]] = []
    for tok in tokens:
        scan = tok.meta.get("rec_scan") if tok.type == "inline" and tok.meta else None
        if scan is None:
            continue
        first = tok.map[0] if tok.map else 0
        content = scan.text + scan.suffix if scan.rec is not None else scan.text
        at = len(content) - len(scan.suffix.lstrip()) if scan.rec is not None else None
        for offset, problem in scan.problems:
            out.append((first + content[:offset].count("\n") + 1, None, [problem]))
        if scan.rec is not None and at is not None:
            out.append((first + content[:at].count("\n") + 1, scan.rec, []))
    return sorted(out, key=lambda item: item[0])


def _inline_text(tok: Token) -> str:
    parts: list[str] = []
    for child in tok.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(child.content)
    return "".join(parts).strip()
