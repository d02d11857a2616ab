"""Translation status of the live build's documents, for the workbench dashboard and for the counts on the
module list and the reading view: `kb.checks.status` fed from the library's findings."""

from __future__ import annotations

from collections import defaultdict

from kb.checks.status import DocumentStatus, Issue, document_status
from kb.library import Library
from kb.web.i18n import N_
from kb.web.templating import Ui

STATE_LABELS = {
    "source": N_("Source"), "complete": N_("Complete"), "outdated": N_("Outdated"),
    "not-stamped": N_("Not stamped"), "flagged": N_("Check findings"), "missing": N_("Missing sections"),
    "extra": N_("Extra sections"), "errors": N_("Errors"),
}


def library_status(library: Library) -> dict[tuple[str, str], DocumentStatus]:
    """The status of every document of the build, by (module, lang)."""
    issues: dict[tuple[str | None, str | None], dict[str | None, list[Issue]]] = defaultdict(
        lambda: defaultdict(list))
    for f in library.findings:
        issues[(f.module, f.lang)][f.section].append(Issue(f.rule, f.severity, f.message))
    out = {}
    for module, docs in library.documents.items():
        source = library.source(module)
        for lang, doc in docs.items():
            src = source if source is not None and doc.translation_of else None
            out[(module, lang)] = document_status(
                module, lang, doc.translation_of, [(s.id, s.heading) for s in doc.sections],
                [(s.id, s.heading) for s in (src.sections if src else [])], issues[(module, lang)])
    return out


def status_summary(status: DocumentStatus | None) -> dict[str, int]:
    """The counts a module card or a reading page shows: only the non-zero ones that need work."""
    if status is None or status.is_source:
        return {}
    counts = status.counts()
    return {k: counts[k] for k in ("missing", "outdated", "not-stamped", "flagged", "errors") if counts[k]}


def translation_counts(library: Library) -> dict[tuple[str, str], dict[str, int]]:
    """The non-zero counts that need work (missing, outdated, not stamped, flagged, errors) per translation."""
    return {key: summary for key, status in library_status(library).items() if (summary := status_summary(status))}


def state_labels(ui: Ui) -> dict[str, str]:
    return {k: ui.gettext(v) for k, v in STATE_LABELS.items()}
