"""The modules as the web app shows them, read from the index (never from the Markdown sources): documents,
sections with their rendered HTML, and the translation state of each section (outdated, not stamped, numbers)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from kb.changelog import read_changes
from kb.store import BuildReader, FindingRow

SECTION_FLAGS = ("outdated", "not-stamped", "numbers", "negation", "structure-parity", "section-extra",
                 "rec-mismatch")


@dataclass
class SectionView:
    id: str
    level: int
    heading: str
    parent: str | None
    html: str
    text: str
    flags: dict[str, str] = field(default_factory=dict)


@dataclass
class DocumentView:
    module: str
    lang: str
    title: str
    meta: dict[str, Any]
    html: str
    sections: list[SectionView]

    @property
    def version(self) -> str:
        return str(self.meta.get("version", ""))

    @property
    def updated(self) -> str:
        return str(self.meta.get("updated", ""))

    @property
    def status(self) -> str:
        return str(self.meta.get("status", ""))

    @property
    def sources(self) -> list[str]:
        return list(self.meta.get("sources") or [])

    @property
    def disclaimer(self) -> str:
        return str(self.meta.get("disclaimer", ""))

    @property
    def translation_of(self) -> str | None:
        return self.meta.get("translation_of")

    @property
    def notes(self) -> dict[str, str]:
        """Speaker notes HTML by section id (the build keeps them beside the metadata, out of the section text:
        never searchable, never on an audience page)."""
        return dict(self.meta.get("_speaker_notes") or {})

    def section(self, section_id: str) -> SectionView | None:
        return next((s for s in self.sections if s.id == section_id), None)

    def as_dict(self) -> dict[str, Any]:
        return {"module": self.module, "lang": self.lang, "title": self.title, "version": self.version,
                "updated": self.updated, "status": self.status, "sources": self.sources,
                "disclaimer": self.disclaimer, "translation_of": self.translation_of, "html": self.html,
                "changes": [c.as_dict() for c in read_changes(self.meta)],
                "sections": [{"id": s.id, "level": s.level, "heading": s.heading, "parent": s.parent,
                              "flags": s.flags} for s in self.sections]}


@dataclass
class ModuleSummary:
    module: str
    titles: dict[str, str]
    languages: list[str]
    version: str
    updated: str
    status: str
    source_lang: str | None

    def title(self, lang: str) -> str:
        """The title in `lang`, else in the source language, else any."""
        return self.titles.get(lang) or self.titles.get(self.source_lang or "") or next(iter(self.titles.values()))

    def as_dict(self) -> dict[str, Any]:
        return {"module": self.module, "titles": self.titles, "languages": self.languages,
                "version": self.version, "updated": self.updated, "status": self.status,
                "source_lang": self.source_lang}


@dataclass
class CompareRow:
    id: str
    level: int
    cells: dict[str, SectionView | None]


class Library:
    """Everything the pages need, loaded once: the corpus is small, so no request touches SQLite."""

    def __init__(self, index: BuildReader, langs: list[str]) -> None:
        self.langs = langs
        flags: dict[tuple[str, str, str], dict[str, str]] = defaultdict(dict)
        self.errors: dict[str, list[FindingRow]] = defaultdict(list)
        """Error findings by module: a module with errors is served from its last good version, with a banner."""
        for f in index.findings:
            if f.section is not None and f.rule in SECTION_FLAGS:
                flags[(f.module, f.lang, f.section)][f.rule] = f.message
            if f.severity == "error" and f.module:
                self.errors[f.module].append(f)
        sections: dict[tuple[str, str], list[SectionView]] = defaultdict(list)
        for s in index.sections:
            sections[(s.module, s.lang)].append(SectionView(s.id, s.level, s.heading, s.parent, s.html, s.text,
                                                            flags.get((s.module, s.lang, s.id), {})))
        self.documents: dict[str, dict[str, DocumentView]] = defaultdict(dict)
        for d in index.documents:
            self.documents[d.module][d.lang] = DocumentView(d.module, d.lang, d.title, d.meta, d.html,
                                                            sections[(d.module, d.lang)])
        self.held_back = set(index.manifest.held_back)
        self.findings: list[FindingRow] = list(index.findings)
        """Every finding of the build, for the translator's workbench (`kb.web.translate`)."""

    def languages(self, module: str) -> list[str]:
        return [L for L in self.langs if L in self.documents.get(module, {})]

    def document(self, module: str, lang: str) -> DocumentView | None:
        return self.documents.get(module, {}).get(lang)

    def source(self, module: str) -> DocumentView | None:
        docs = self.documents.get(module, {})
        return next((d for d in docs.values() if not d.translation_of), None) or next(iter(docs.values()), None)

    def modules(self) -> list[ModuleSummary]:
        out = []
        for module, docs in sorted(self.documents.items()):
            src = self.source(module)
            assert src is not None
            out.append(ModuleSummary(module, {L: d.title for L, d in docs.items()}, self.languages(module),
                                     src.version, src.updated, src.status, src.lang))
        return out

    def compare(self, module: str, langs: list[str]) -> list[CompareRow]:
        """Rows aligned by section id in source order; ids only some languages have come after their neighbours."""
        order: list[tuple[str, int]] = []
        for doc in [self.source(module)] + [self.document(module, L) for L in langs]:
            if doc is None:
                continue
            for s in doc.sections:
                if s.id not in [i for i, _ in order]:
                    order.append((s.id, s.level))
        rows = []
        for sid, level in order:
            cells = {}
            for L in langs:
                doc = self.document(module, L)
                cells[L] = doc.section(sid) if doc else None
            rows.append(CompareRow(sid, level, cells))
        return rows
