"""Structure parity of a translated section: the same list items, table rows and columns, links and sub-headings
as its source. A dropped list item is often a dropped contraindication; a table with a row fewer is a dose
schedule with a line missing."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from kb.markdown import parser

PARTS = {"list_item_open": "list items", "tr_open": "table rows", "th_open": "table columns",
         "link_open": "links", "heading_open": "sub-headings"}


@dataclass(frozen=True)
class StructureIssue:
    part: str
    source: int
    translation: int

    def describe(self) -> str:
        return f"{self.part}: {self.source} in the source, {self.translation} here"


@lru_cache(maxsize=4096)  # a rebuild checks every section again; unchanged ones are not parsed again
def shape(markdown: str) -> Counter[str]:
    """How many of each structural part a Markdown fragment has (header cells count a table's columns)."""
    tokens = parser().parse(markdown)
    inline = [c for t in tokens if t.type == "inline" for c in t.children or []]
    return Counter(PARTS[t.type] for t in tokens + inline if t.type in PARTS)


def structure_issues(source_markdown: str, translation_markdown: str) -> list[StructureIssue]:
    src, dst = shape(source_markdown), shape(translation_markdown)
    return [StructureIssue(part, src[part], dst[part]) for part in PARTS.values() if src[part] != dst[part]]
