"""The one Markdown dialect of the project: CommonMark + tables + front matter, raw HTML off, and Pandoc-style
heading ids (`## 适应证 {#indications}`).

mdit-py-plugins' attrs plugin reads `{#id}` after inline elements and before blocks, not at the end of a heading,
so a small core rule moves a trailing `{#id}` of a heading onto the heading tag.

Speaker notes are a `::: notes` container (mdit-py-plugins' container plugin). Another core rule lifts them out of
the token stream, so the rendered HTML, the plain text (what is embedded, keyword-indexed and hashed for
translation stamps) never contain them; `notes_html()` renders them on their own for the presenter view. Notes
are therefore not searchable and editing them never marks a translation outdated."""

from __future__ import annotations

import re
from functools import lru_cache

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from mdit_py_plugins.container import container_plugin
from mdit_py_plugins.front_matter import front_matter_plugin

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
    md.core.ruler.push("lift_notes", _lift_notes)  # last: after the inline rule has parsed their text
    # Links to the outside web are not followed in a training room; keep them as text-looking links only.
    md.validateLink = lambda url: not url.lower().startswith(("javascript:", "vbscript:", "file:", "data:"))
    return md


def render_html(markdown: str) -> str:
    """HTML for a Markdown body; raw HTML in the source is escaped, never passed through."""
    return parser().render(markdown)


def notes_html(markdown: str) -> str:
    """HTML of the `::: notes` blocks of a Markdown body (speaker notes), "" when it has none."""
    md = parser()
    env: dict = {}
    md.parse(markdown, env)
    notes = env.get("notes") or []
    return md.renderer.render(notes, md.options, env) if notes else ""


def plain_text(markdown: str) -> str:
    """The readable text of a Markdown fragment, one line per block, for embedding, snippets and keywords."""
    lines: list[str] = []
    for tok in parser().parse(markdown):
        if tok.type == "inline":
            lines.append(_inline_text(tok))
    return "\n".join(line for line in lines if line.strip())


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
