"""A content folder read as a whole: every module's documents, the glossary, and every finding, including the
cross-language ones (missing, extra and outdated sections, numbers that changed in translation)."""

from __future__ import annotations

import os
import stat
import threading
from dataclasses import dataclass, field
from pathlib import Path

from cachetools import LRUCache

from kb import LANGS
from kb.changelog import check_changes, compare_changes
from kb.checks import compare_numbers, glossary_issues, negation_issues, rendering_issues, structure_issues
from kb.checks.memory import describe_changes, load_memory, section_text
from kb.checks.overrides import load_overrides
from kb.content import Document, Finding, Section, display_path, parse_document
from kb.glossary import GLOSSARY_FILE, Glossary, load_glossary
from kb.recommendations import compare_recommendations


@dataclass
class Corpus:
    root: Path
    modules: dict[str, dict[str, Document]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    glossary: Glossary | None = None

    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    def documents(self) -> list[Document]:
        return [d for langs in self.modules.values() for d in langs.values()]

    def indexable(self) -> list[Document]:
        """Documents with no error finding: these get indexed; the others are named in the report."""
        bad = {f.path for f in self.errors()}
        return [d for d in self.documents() if d.display_path not in bad]

    def source_of(self, doc: Document) -> Document | None:
        src = doc.translation_of
        return self.modules.get(doc.module, {}).get(src) if src else None


CONTENT_SUFFIXES = (".md", ".yaml", ".yml")


def content_files(root: Path) -> tuple[list[Path], list[Finding]]:
    """Every content file (.md, .yaml) below root that may be read, and a finding for each one that may not.

    Content stays inside the content folder: a file symlink is read only when its target is a regular file inside
    the folder, and folder symlinks are never followed (a link to '/' would walk the disk); both are reported at
    the link's own path, so no finding names a file outside the folder. Fifos and devices are refused too (a
    link to /dev/zero would never finish reading)."""
    base = root.resolve()
    files: list[Path] = []
    findings: list[Finding] = []
    for folder, dirs, names in os.walk(root):
        here = Path(folder)
        for name in sorted(dirs):
            if (here / name).is_symlink():
                findings.append(Finding(display_path(here / name), 1, "symlink", "symlinked folder, not read: "
                                        "move or copy the folder into the content folder"))
        dirs[:] = sorted(d for d in dirs if not (here / d).is_symlink())
        for name in sorted(names):
            path = here / name
            if not name.lower().endswith(CONTENT_SUFFIXES):
                continue
            problem = _unreadable(path, base)
            if problem:
                findings.append(Finding(display_path(path), 1, "symlink" if path.is_symlink() else "path", problem))
            else:
                files.append(path)
    return files, findings


def _unreadable(path: Path, base: Path) -> str | None:
    try:
        target = path.resolve(strict=True)
        mode = target.stat().st_mode
    except (OSError, RuntimeError):  # a dangling link or a symlink loop
        return "broken symlink, not read" if path.is_symlink() else "cannot be read"
    if path.is_symlink() and not target.is_relative_to(base):
        return "symlink to a file outside the content folder, not read: copy the file into the folder instead"
    if not stat.S_ISREG(mode):
        return "not a regular file, not read"
    return None


def load_corpus(root: Path) -> Corpus:
    """Read every `<module>/<lang>.md` below root and check each file and each translation against its source."""
    root = Path(root)
    corpus = Corpus(root=root)
    if not root.is_dir():
        corpus.findings.append(Finding(display_path(root), 0, "content", "content folder not found"))
        return corpus
    files, corpus.findings = content_files(root)
    for path in files:
        rel = path.relative_to(root)
        if path.suffix.lower() != ".md":
            continue
        shown = display_path(path)
        if path.name.lower() == "readme.md" and len(rel.parts) == 1:
            continue  # a README at the top of the content folder documents it; it is not a module
        if len(rel.parts) != 2 or path.stem not in LANGS:
            corpus.findings.append(Finding(shown, 1, "path", f"not a module file: content files are "
                                           f"<module>/<lang>.md with lang one of {', '.join(LANGS)}"))
            continue
        doc, findings = parse_document(path)
        corpus.findings += findings
        if doc is not None:
            corpus.modules.setdefault(doc.module, {})[doc.lang] = doc
    if root / GLOSSARY_FILE in files:
        corpus.glossary, findings = load_glossary(root / GLOSSARY_FILE)
        corpus.findings += findings
        corpus.findings += check_term_forms(corpus.documents(), corpus.glossary)
    for module in corpus.modules.values():
        corpus.findings += overridden(check_translations(module, corpus.glossary), module)
        for doc in module.values():
            corpus.findings += check_changes(doc)
            corpus.findings += check_rendering(doc)
    corpus.findings.sort(key=lambda f: (f.path, f.line, f.rule))
    return corpus


def overridden(findings: list[Finding], docs: dict[str, Document], folder: Path | None = None) -> list[Finding]:
    """Findings without the warnings a translator saved anyway with a reason (`kb.checks.overrides`), as long
    as the section still has the text they were saved with. `folder`: the module's folder (default: the
    documents' own)."""
    folder = folder or (next(iter(docs.values())).path.parent if docs else None)
    overrides = load_overrides(folder) if folder is not None else []
    if not overrides:
        return findings
    accepted = {(o.lang, o.section, o.section_hash, rule) for o in overrides for rule in o.rules}
    at = {(d.display_path, s.line): (d.lang, s.id, s.hash) for d in docs.values() for s in d.sections}
    return [f for f in findings
            if f.severity != "warning" or (*at.get((f.path, f.line), ("", "", "")), f.rule) not in accepted]


def check_translations(docs: dict[str, Document], glossary: Glossary | None = None) -> list[Finding]:
    """Cross-language findings for one module (with glossary adherence when a glossary is given)."""
    out: list[Finding] = []
    sources = [d for d in docs.values() if d.translation_of is None]
    if len(sources) > 1:
        for d in sources[1:]:
            out.append(Finding(d.display_path, 1, "translation-of", f"module has several source files "
                               f"({', '.join(s.lang for s in sources)}); mark translations with translation_of",
                               "warning"))
    for doc in docs.values():
        if doc.translation_of is None:
            continue
        source = docs.get(doc.translation_of)
        if source is None:
            out.append(Finding(doc.display_path, doc.line_of("translation_of"), "translation-of",
                               f"source language '{doc.translation_of}' has no file in this module"))
            continue
        out += _compare(source, doc, glossary)
    return out


def _compare(source: Document, doc: Document, glossary: Glossary | None) -> list[Finding]:
    out: list[Finding] = []
    shown = doc.display_path
    ids = {s.id for s in doc.sections}
    for s in source.sections:
        if s.id not in ids:
            out.append(Finding(shown, _end_of_front_matter(doc), "section-missing", f"section '{s.id}' of "
                               f"{source.display_path}:{s.line} is not translated here", "warning"))
    src_ids = {s.id for s in source.sections}
    stamps = doc.translated_from
    memory = load_memory(doc.path.parent) if stamps else {}
    if not stamps:
        out.append(Finding(shown, doc.line_of("translation_of"), "not-stamped", "translation has no "
                           f"translated_from: after checking it, run 'kb stamp {doc.module} {doc.lang}'", "warning"))
    for key in stamps:
        if key not in src_ids:
            out.append(Finding(shown, doc.line_of("translated_from"), "stamp-unknown", f"translated_from names "
                               f"'{key}', which is not a section of the source", "warning"))
    outdated: list[str] = []
    for s in doc.sections:
        src = source.section(s.id)
        if src is None:
            out.append(Finding(shown, s.line, "section-extra", f"section '{s.id}' is not in the source "
                               f"{source.display_path}", "warning"))
            continue
        if stamps and s.id not in stamps:
            out.append(Finding(shown, s.line, "not-stamped", f"section '{s.id}' has no stamp: run 'kb stamp "
                               f"{doc.module} {doc.lang} --section {s.id}' once it is translated", "warning"))
        elif stamps and stamps[s.id] != src.hash:
            outdated.append(s.id)
            old = memory.get(stamps[s.id])
            changed = (f"; the source changed: {describe_changes(old, section_text(src.heading, src.text))}"
                       if old is not None else "")
            out.append(Finding(shown, s.line, "outdated", f"source section '{s.id}' "
                               f"({source.display_path}:{src.line}) changed since it was translated; update "
                               f"the translation, then run 'kb stamp {doc.module} {doc.lang} --section {s.id}'"
                               f"{changed}", "warning"))
        out += _safety(source, src, doc, s, glossary)
        differs = compare_recommendations(src.recs, s.recs)
        if differs:
            out.append(Finding(shown, s.line, "rec-mismatch", f"section '{s.id}': {differs}", "warning"))
    return out + compare_changes(source, doc, outdated)


def check_term_forms(docs: list[Document], glossary: Glossary) -> list[Finding]:
    """A form the glossary marks as deprecated in a language, used in a module of that language: one warning
    per section, naming the preferred form. (Whether a translation uses *a* listed form of every term its source
    names is not decidable: a correct paraphrase is not a glossary form.)"""
    out: list[Finding] = []
    for doc in docs:
        for section in doc.sections:
            for form, term in glossary.deprecated_in(section.heading + "\n" + section.text, doc.lang):
                preferred = term.forms.get(doc.lang, ("?",))[0]
                out.append(Finding(doc.display_path, section.line, "term", f"section '{section.id}' uses "
                                   f"'{form}', which the glossary marks as deprecated for '{term.id}': write "
                                   f"'{preferred}'", "warning"))
    return out


SAFETY_CACHE = 8192
"""Translated sections whose check results are kept per process: every section of a large corpus."""
_checked: LRUCache[tuple, tuple[Glossary | None, tuple[Finding, ...]]] = LRUCache(SAFETY_CACHE)
_checked_lock = threading.Lock()


def _safety(source: Document, src: Section, doc: Document, s: Section, glossary: Glossary | None) -> list[Finding]:
    """The language-aware checks of one translated section (kb.checks), as findings at its heading line.

    Cached by everything the findings depend on (both sections' text and place, the languages, the glossary
    object, which `load_glossary` reuses while its file is unchanged): a rebuild after a one-section edit
    re-checks only the pairs that changed; these checks were a third of such a rebuild."""
    key = (id(glossary), source.lang, source.display_path, src.line, src.heading, src.markdown,
           doc.lang, doc.display_path, s.id, s.line, s.heading, s.markdown)
    with _checked_lock:
        hit = _checked.get(key)
    if hit is not None and hit[0] is glossary:
        return list(hit[1])
    out = _check_section(source, src, doc, s, glossary)
    with _checked_lock:
        _checked[key] = (glossary, tuple(out))  # the glossary is held, so its id is not reused meanwhile
    return out


def _check_section(source: Document, src: Section, doc: Document, s: Section,
                   glossary: Glossary | None) -> list[Finding]:
    out: list[Finding] = []
    issues = glossary_issues(glossary, f"{src.heading}\n{src.text}", source.lang, f"{s.heading}\n{s.text}",
                             doc.lang) if glossary else []
    missing = [i for i in issues if i.kind == "missing"]
    if missing:  # deprecated forms are the `term` rule (check_term_forms), which also covers source files
        out.append(Finding(doc.display_path, s.line, "glossary-term", f"section '{s.id}': "
                           f"{'; '.join(i.describe() for i in missing)}", "warning"))
    numbers = compare_numbers(src.text, source.lang, s.text, doc.lang)
    if numbers:
        out.append(Finding(doc.display_path, s.line, "numbers", f"section '{s.id}' numbers differ from the "
                           f"source (source -> translation): {'; '.join(i.describe() for i in numbers)}", "warning"))
    for issue in negation_issues(src.text, source.lang, s.text, doc.lang):
        out.append(Finding(doc.display_path, s.line, "negation", f"section '{s.id}': {issue.describe()}",
                           "warning"))
    parts = structure_issues(src.markdown, s.markdown)
    if parts:
        out.append(Finding(doc.display_path, s.line, "structure-parity", f"section '{s.id}' differs in "
                           f"structure from {source.display_path}:{src.line}: "
                           f"{'; '.join(i.describe() for i in parts)}", "warning"))
    return out


def check_rendering(doc: Document) -> list[Finding]:
    """Markdown of any file that would not render as written (literal `**`, raw HTML, a table without its
    delimiter row), at the line of the block."""
    return [Finding(doc.display_path, s.line + 1 + issue.offset, "rendering", issue.describe(), "warning")
            for s in doc.sections for issue in rendering_issues(s.markdown)]


def missing_numbers(source_text: str, translated_text: str, source_lang: str = "en",
                    lang: str = "en") -> list[str]:
    """Source numbers missing or changed in the translation, as `150 mg -> 120 mg` / `38.3 °C missing`."""
    return [i.describe() for i in compare_numbers(source_text, source_lang, translated_text, lang)]


def _end_of_front_matter(doc: Document) -> int:
    return max(doc.meta_lines.values(), default=1) + 1
