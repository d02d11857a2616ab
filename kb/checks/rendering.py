"""Rendering lint: Markdown that does not render as its writer meant. The reader sees literal `**` when CommonMark's
flanking rule does not close an emphasis (`**肿瘤：**尽可能` - full-width punctuation before the closing `**` and
a letter after it), `<b>` when raw HTML was typed (raw HTML is escaped, never rendered), and `| a | b |` as text
when a table lacks its `|---|` delimiter row."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from kb.markdown import parser

_EMPHASIS = re.compile(r"\*\*|__")
_RAW_HTML = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>")
_TABLE_LINE = re.compile(r"^\s*\|.*\|\s*$")


@dataclass(frozen=True)
class RenderingIssue:
    """`offset`: the 0-based line within the Markdown fragment where the block starts."""

    kind: str
    offset: int
    excerpt: str

    def describe(self) -> str:
        what = {"emphasis": "emphasis markers shown literally (a '**' or '__' that does not open or close; with "
                            "full-width punctuation write the punctuation outside: '**肿瘤**：')",
                "html": "raw HTML is shown as text, not rendered",
                "table": "table lines without a '|---|' delimiter row are shown as text"}[self.kind]
        return f"{what}: «{self.excerpt}»"


def rendering_issues(markdown: str) -> list[RenderingIssue]:
    """Problems in the rendered text of each block; code spans and code blocks are left alone."""
    return list(_rendering_issues(markdown))


@lru_cache(maxsize=4096)  # a live rebuild lints every section again; unchanged ones come from here
def _rendering_issues(markdown: str) -> tuple[RenderingIssue, ...]:
    out: list[RenderingIssue] = []
    for tok in parser().parse(markdown):
        if tok.type != "inline" or not tok.map:
            continue
        text = "".join(c.content for c in tok.children or [] if c.type == "text")
        offset = tok.map[0]
        for kind, pattern in (("emphasis", _EMPHASIS), ("html", _RAW_HTML)):
            m = pattern.search(text)
            if m:
                out.append(RenderingIssue(kind, offset, _around(text, m.start())))
        lines = tok.content.splitlines()
        if len(lines) >= 2 and sum(bool(_TABLE_LINE.match(line)) for line in lines) >= 2:
            out.append(RenderingIssue("table", offset, _around(tok.content, 0)))
    return tuple(out)


def _around(text: str, at: int, width: int = 30) -> str:
    start = max(0, at - width)
    return ("…" if start else "") + " ".join(text[start:at + width].split()) + ("…" if at + width < len(text) else "")
