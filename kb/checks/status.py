"""Translation status of one document (a module in one language): the state of each section against its source
and the counts the dashboard, `kb status` and the module list show.

Pure data in, data out: `kb status` feeds it the corpus read from the Markdown files, the web workbench the
library of the live build, so both say the same thing about the same content."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

STATES = ("complete", "outdated", "not-stamped", "flagged", "missing", "extra")
"""A section's state, worst first after `complete`: `flagged` is stamped and current but has a safety warning
(numbers, negation, structure); `missing` is a source section not translated; `extra` is not in the source."""
SAFETY_RULES = ("numbers", "negation", "structure-parity", "glossary-term")


@dataclass(frozen=True)
class Issue:
    rule: str
    severity: str
    message: str


@dataclass
class SectionStatus:
    id: str
    heading: str
    state: str
    issues: list[Issue] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "heading": self.heading, "state": self.state,
                "issues": [{"rule": i.rule, "severity": i.severity, "message": i.message} for i in self.issues]}


@dataclass
class DocumentStatus:
    module: str
    lang: str
    source_lang: str | None
    sections: list[SectionStatus] = field(default_factory=list)
    errors: int = 0
    warnings: int = 0

    @property
    def is_source(self) -> bool:
        return self.source_lang is None

    def count(self, state: str) -> int:
        return sum(1 for s in self.sections if s.state == state)

    @property
    def state(self) -> str:
        """One word for the matrix cell: errors, missing, outdated, not-stamped, flagged, complete (or source)."""
        if self.errors:
            return "errors"
        if self.is_source:
            return "source"
        for state in ("missing", "outdated", "not-stamped", "flagged", "extra"):
            if self.count(state):
                return state
        return "complete"

    def counts(self) -> dict[str, int]:
        return {state: self.count(state) for state in STATES} | {"errors": self.errors, "warnings": self.warnings}

    def as_dict(self) -> dict[str, Any]:
        return {"module": self.module, "lang": self.lang, "source_lang": self.source_lang, "state": self.state,
                "counts": self.counts(), "sections": [s.as_dict() for s in self.sections]}


def document_status(module: str, lang: str, source_lang: str | None, sections: list[tuple[str, str]],
                    source_sections: list[tuple[str, str]], issues: dict[str | None, list[Issue]]) -> DocumentStatus:
    """`sections` / `source_sections`: (id, heading) in order; `issues`: findings by section id (None: the
    document's own). A section's state comes from `kb check`'s own findings (`outdated`, `not-stamped`, the
    safety rules), so the status can never disagree with the check. Sections are listed in source order,
    missing ones included, extra ones after."""
    all_issues = [i for group in issues.values() for i in group]
    status = DocumentStatus(module, lang, source_lang, errors=sum(i.severity == "error" for i in all_issues),
                            warnings=sum(i.severity == "warning" for i in all_issues))
    mine = dict(sections)
    unstamped = any(i.rule == "not-stamped" for i in issues.get(None, []))  # no translated_from at all
    if source_lang is None:
        status.sections = [SectionStatus(sid, heading, "complete", issues.get(sid, [])) for sid, heading in sections]
        return status
    for sid, heading in source_sections:
        if sid not in mine:
            status.sections.append(SectionStatus(sid, heading, "missing"))
            continue
        found = issues.get(sid, [])
        rules = {i.rule for i in found}
        if "not-stamped" in rules or unstamped:
            state = "not-stamped"
        elif "outdated" in rules:
            state = "outdated"
        elif any(i.rule in SAFETY_RULES for i in found):
            state = "flagged"
        else:
            state = "complete"
        status.sections.append(SectionStatus(sid, mine[sid], state, found))
    known = {sid for sid, _ in source_sections}
    status.sections += [SectionStatus(sid, heading, "extra", issues.get(sid, []))
                        for sid, heading in sections if sid not in known]
    return status
