"""A snapshot: one build loaded for serving (its reader, searcher and library view), and what changed between two
of them. A request takes one snapshot and uses only it, so it never mixes two builds."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from kb.embedders import Embedder
from kb.glossary import load_glossary
from kb.library import Library
from kb.search import Searcher
from kb.settings import Settings
from kb.store import BuildReader


@dataclass(eq=False)
class Snapshot:
    reader: BuildReader
    searcher: Searcher
    library: Library
    loaded_at: float = field(default_factory=time.time)
    users: int = 0
    retired: bool = False

    @property
    def build_id(self) -> str:
        return self.reader.build_id

    def close(self) -> None:
        self.reader.close()

    def errors(self) -> list[dict[str, Any]]:
        """Error findings of the content this build was made from (files served from their last good version
        or skipped), as the API shows them: content paths, never server paths."""
        return [{"path": f.path, "line": f.line, "rule": f.rule,
                 "message": f.message, "module": f.module, "lang": f.lang}
                for f in self.reader.findings if f.severity == "error"]


def load_snapshot(settings: Settings, embedder: Embedder, reader: BuildReader | None = None) -> Snapshot:
    """Open the live build (verified against its checksums) and everything search and pages need from it."""
    reader = reader or BuildReader.open_current(settings.index_dir)
    try:
        glossary = None
        if settings.glossary_expansion and reader.glossary_path is not None:
            glossary, _ = load_glossary(reader.glossary_path)
        searcher = Searcher(reader, embedder, glossary, settings.query_cache_size)
        return Snapshot(reader, searcher, Library(reader, searcher.langs))
    except BaseException:
        reader.close()
        raise


def changes(old: Snapshot | None, new: Snapshot) -> dict[str, Any]:
    """What a page needs to know to refresh: the modules whose text, metadata or errors changed, and their
    changed sections per language."""
    before = old.reader.section_hashes if old else {}
    after = new.reader.section_hashes
    sections: dict[str, dict[str, list[str]]] = {}
    for key in sorted(set(before) | set(after)):
        if before.get(key) != after.get(key):
            module, lang, sid = key
            sections.setdefault(module, {}).setdefault(lang, []).append(sid)
    modules = set(sections)
    old_docs = {(d.module, d.lang): (d.meta, d.title) for d in old.reader.documents} if old else {}
    new_docs = {(d.module, d.lang): (d.meta, d.title) for d in new.reader.documents}
    modules |= {m for (m, L) in set(old_docs) | set(new_docs) if old_docs.get((m, L)) != new_docs.get((m, L))}
    old_errors = _errors_by_module(old) if old else {}
    new_errors = _errors_by_module(new)
    modules |= {m for m in set(old_errors) | set(new_errors) if old_errors.get(m) != new_errors.get(m)}
    return {"modules": sorted(modules), "sections": sections}


def _errors_by_module(snap: Snapshot) -> dict[str, list[tuple]]:
    out: dict[str, list[tuple]] = {}
    for f in snap.reader.findings:
        if f.severity == "error" and f.module:
            out.setdefault(f.module, []).append((f.path, f.line, f.rule, f.message))
    return out
