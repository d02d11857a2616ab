"""`kb status`: the translation status of every module in every language, read from the content folder (the same
model the web workbench shows for the live build, `kb.checks.status`)."""

from __future__ import annotations

from collections import defaultdict

from kb.checks.status import DocumentStatus, Issue, document_status
from kb.corpus import Corpus


def corpus_status(corpus: Corpus) -> list[DocumentStatus]:
    """One status per document, modules in name order, the source language first."""
    by_place = {(d.display_path, s.line): s.id for d in corpus.documents() for s in d.sections}
    issues: dict[str, dict[str | None, list[Issue]]] = defaultdict(lambda: defaultdict(list))
    for f in corpus.findings:
        issues[f.path][by_place.get((f.path, f.line))].append(Issue(f.rule, f.severity, f.message))
    out = []
    for module in sorted(corpus.modules):
        docs = corpus.modules[module]
        for doc in sorted(docs.values(), key=lambda d: (d.translation_of is not None, d.lang)):
            source = corpus.source_of(doc)
            out.append(document_status(
                module, doc.lang, doc.translation_of, [(s.id, s.heading) for s in doc.sections],
                [(s.id, s.heading) for s in (source.sections if source else [])], issues[doc.display_path]))
    return out


def format_status(statuses: list[DocumentStatus]) -> str:
    """A table a translator reads in a terminal: one line per document, then the sections needing work."""
    header = f"{'module':34} {'lang':4} {'state':12} {'done':>5} {'outdated':>8} {'missing':>7} " \
             f"{'unstamped':>9} {'flagged':>7} {'errors':>6}"
    lines = [header, "-" * len(header)]
    todo = []
    for s in statuses:
        total = len([x for x in s.sections if x.state != "extra"])
        done = f"{s.count('complete')}/{total}" if not s.is_source else "src"
        lines.append(f"{s.module:34} {s.lang:4} {s.state:12} {done:>5} {s.count('outdated'):>8} "
                     f"{s.count('missing'):>7} {s.count('not-stamped'):>9} {s.count('flagged'):>7} {s.errors:>6}")
        todo += [f"  {s.module}/{s.lang}#{x.id}: {x.state}" for x in s.sections if x.state not in ("complete",)]
    if todo:
        lines += ["", "sections needing work:"] + todo
    return "\n".join(lines)
