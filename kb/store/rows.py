"""The rows a build holds, as plain values: what the writer takes and the reader gives back. Nothing above the
store sees a cursor or a tuple from SQLite."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Chunk:
    """A piece of one section that fits the embedder's window; its `text` is what is embedded and indexed."""

    module: str
    lang: str
    section: str
    ordinal: int
    title: str
    heading: str
    heading_path: tuple[str, ...]
    body: str

    @property
    def text(self) -> str:
        """What is embedded and keyword-indexed: context line, then the body."""
        return f"{self.title} › {' › '.join(self.heading_path)}\n{self.body}".strip()


@dataclass(frozen=True)
class DocumentRow:
    module: str
    lang: str
    path: str
    title: str
    meta: dict[str, Any]
    html: str


@dataclass(frozen=True)
class SectionRow:
    module: str
    lang: str
    id: str
    ordinal: int
    level: int
    heading: str
    parent: str | None
    line: int
    hash: str
    text: str
    html: str


@dataclass(frozen=True)
class RecommendationRow:
    """One `{rec ...}` block of a section: its grade (scheme and value) and availability in China and Vietnam,
    in the order the blocks stand in the section (`ordinal`)."""

    module: str
    lang: str
    section: str
    ordinal: int
    scheme: str | None
    grade: str | None
    cn: str | None
    vn: str | None
    line: int


@dataclass(frozen=True)
class FindingRow:
    """A `kb check` finding of the build's content, tied to the document and section it is about when known."""

    path: str
    line: int
    severity: str
    rule: str
    message: str
    module: str | None
    lang: str | None
    section: str | None
