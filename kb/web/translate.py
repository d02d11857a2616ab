"""The translator's workbench, read-only part: `/translate`, the module x language matrix of translation status,
and `/translate/{module}/{lang}`, each section's state, its findings, and what changed in the source since it
was stamped (a word-level diff), beside the translation.

The status comes from the live build's findings through the same model as `kb status` (`kb.checks.status`).
The old source text comes from the module's translation memory (`kb.checks.memory`), read from the content
folder: it is keyed by the hash the stamp names, so an entry never changes and cannot disagree with the
build it is shown beside."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from kb.checks.memory import load_memory, section_text, word_diff
from kb.checks.status import SectionStatus
from kb.library import SectionView
from kb.web.deps import LibraryDep, RendererDep, SettingsDep, UiDep
from kb.web.pages import library_title, not_found_language, not_found_module
from kb.web.translation_status import STATE_LABELS, library_status

router = APIRouter(include_in_schema=False)

@dataclass
class SectionRow:
    status: SectionStatus
    translation: SectionView | None
    source: SectionView | None
    diff: list[tuple[str, str]] | None
    """Word-level diff of the source section from the text stamped to now; None when not outdated or when
    the stamped text is not in the translation memory (stamped before the memory existed)."""


@router.get("/translate", response_class=HTMLResponse)
def dashboard(request: Request, renderer: RendererDep, ui: UiDep, library: LibraryDep) -> Response:
    statuses = library_status(library)
    modules = library.modules()
    return renderer.render(request, ui, "translate.html", {
        "modules": modules, "langs": library.langs, "statuses": statuses,
        "live_module": "*",  # live.js: refresh the matrix when a build changes any module
        "labels": {k: ui.gettext(v) for k, v in STATE_LABELS.items()},
    })


@router.get("/translate/{module}/{lang}", response_class=HTMLResponse)
def document_page(request: Request, renderer: RendererDep, ui: UiDep, library: LibraryDep,
                  settings: SettingsDep, module: str, lang: str) -> Response:
    if module not in library.documents:
        return not_found_module(request, renderer, ui, module)
    doc = library.document(module, lang)
    if doc is None:
        return not_found_language(request, renderer, ui, library, module, lang)
    status = library_status(library)[(module, lang)]
    source = library.source(module) if doc.translation_of else None
    memory = load_memory(settings.content_dir / module) if source is not None else {}
    stamps = doc.meta.get("translated_from") or {}
    rows = []
    for s in status.sections:
        src = source.section(s.id) if source else None
        diff = None
        if s.state == "outdated" and src is not None and isinstance(stamps, dict):
            old = memory.get(str(stamps.get(s.id)))
            diff = word_diff(old, section_text(src.heading, src.text)) if old is not None else None
        rows.append(SectionRow(s, doc.section(s.id), src, diff))
    return renderer.render(request, ui, "translate_doc.html", {
        "doc": doc, "source": source, "status": status, "rows": rows, "live_module": module,
        "editing": getattr(request.app.state, "editor", None) is not None,
        "module_title": library_title(library, module, ui.locale),
        "labels": {k: ui.gettext(v) for k, v in STATE_LABELS.items()},
    })
