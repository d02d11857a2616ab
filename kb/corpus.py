"""A content folder read as a whole: every module's documents, the glossary, and every finding, including the
cross-language ones (missing, extra and outdated sections, numbers that changed in translation)."""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from kb import LANGS
from kb.content import Document, Finding, display_path, parse_document
from kb.glossary import GLOSSARY_FILE, Glossary, load_glossary

NUMBER = re.compile(r"(?<![A-Za-z])\d+(?:\.\d+)?")
"""A number as a dose or a count is written (the corpus uses '.' as decimal point in every language). Digits
right after a letter (HER2, T2N1M0) belong to a code, not a quantity, and are left out."""


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
    for module in corpus.modules.values():
        corpus.findings += check_translations(module)
    if root / GLOSSARY_FILE in files:
        corpus.glossary, findings = load_glossary(root / GLOSSARY_FILE)
        corpus.findings += findings
    corpus.findings.sort(key=lambda f: (f.path, f.line, f.rule))
    return corpus


def check_translations(docs: dict[str, Document]) -> list[Finding]:
    """Cross-language findings for one module."""
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
        out += _compare(source, doc)
    return out


def _compare(source: Document, doc: Document) -> list[Finding]:
    out: list[Finding] = []
    shown = doc.display_path
    ids = {s.id for s in doc.sections}
    for s in source.sections:
        if s.id not in ids:
            out.append(Finding(shown, _end_of_front_matter(doc), "section-missing", f"section '{s.id}' of "
                               f"{source.display_path}:{s.line} is not translated here", "warning"))
    src_ids = {s.id for s in source.sections}
    stamps = doc.translated_from
    if not stamps:
        out.append(Finding(shown, doc.line_of("translation_of"), "not-stamped", "translation has no "
                           f"translated_from: after checking it, run 'kb stamp {doc.module} {doc.lang}'", "warning"))
    for key in stamps:
        if key not in src_ids:
            out.append(Finding(shown, doc.line_of("translated_from"), "stamp-unknown", f"translated_from names "
                               f"'{key}', which is not a section of the source", "warning"))
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
            out.append(Finding(shown, s.line, "outdated", f"source section '{s.id}' "
                               f"({source.display_path}:{src.line}) changed since it was translated; update "
                               f"the translation, then run 'kb stamp {doc.module} {doc.lang} --section {s.id}'",
                               "warning"))
        missing = missing_numbers(src.text, s.text)
        if missing:
            out.append(Finding(shown, s.line, "numbers", f"section '{s.id}' lacks number(s) of its source: "
                               f"{', '.join(missing)}", "warning"))
    return out


def missing_numbers(source_text: str, translated_text: str) -> list[str]:
    """Numbers of the source that do not appear in the translation: a dose or a count that changed."""
    have = set(NUMBER.findall(translated_text))
    return list(dict.fromkeys(n for n in NUMBER.findall(source_text) if n not in have))


def _end_of_front_matter(doc: Document) -> int:
    return max(doc.meta_lines.values(), default=1) + 1
