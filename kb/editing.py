"""Editing a guideline file from the workbench, without ever losing an edit.

- A section edit replaces only that section's body: its heading line, every other section, the front matter,
  the line endings and the trailing newline stay byte for byte as they were.
- A save names the hash of the file it was made from (`If-Match`); when the file on disk changed meanwhile
  (another editor, a `git pull`, a text editor) the save is refused as a conflict carrying both versions.
- The new text is checked before it is written, with the same checks as `kb check`: errors block the save;
  safety warnings on the edited section (numbers, negation, structure) block it unless a reason is given, and
  that reason is recorded in the module's `check-overrides.yaml`.
- Paths come from a module id and a language code, both validated, and must resolve inside the content folder."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from kb import LANGS
from kb.checks.overrides import OVERRIDES_FILE, record_override
from kb.content import ID_RE, Finding, parse_document
from kb.corpus import check_rendering, check_translations, overridden
from kb.errors import KbError
from kb.glossary import GLOSSARY_FILE, load_glossary

__all__ = ["OVERRIDES_FILE", "Conflict", "EditError", "EditResult", "check_text", "file_hash", "module_file",
           "save", "section_bounds", "section_findings", "splice_section"]
BLOCKING_WARNINGS = ("numbers", "negation", "structure-parity", "rendering")
_REGION = re.compile(r"\A((?:[ \t]*\r?\n)*)(.*?)((?:\r?\n[ \t]*)*)\Z", re.S)


class EditError(KbError):
    """A request the editor refuses: `field` names the request field at fault, `status` the HTTP status."""

    def __init__(self, message: str, field: str | None = None, status: int = 422) -> None:
        super().__init__(message)
        self.field = field
        self.status = status


@dataclass
class Conflict(Exception):
    """The file changed on disk since the edit began: both versions, so neither is lost."""

    expected: str
    actual: str
    disk_text: str
    edited_text: str


@dataclass
class EditResult:
    saved: bool
    hash: str
    findings: list[Finding] = field(default_factory=list)
    blocking: list[Finding] = field(default_factory=list)
    text: str = ""


def file_hash(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def module_file(content_dir: Path, module: str, lang: str) -> Path:
    """The file of (module, lang), refusing anything that is not a module id and a language of the content."""
    if not ID_RE.match(module or ""):
        raise EditError(f"'{module}' is not a module id", "module", 404)
    if lang not in LANGS:
        raise EditError(f"'{lang}' is not one of {', '.join(LANGS)}", "lang", 404)
    root = Path(content_dir).resolve()
    path = (root / module / f"{lang}.md").resolve()
    if root not in path.parents or not path.is_file():
        raise EditError(f"no file {module}/{lang}.md in the content folder", "module", 404)
    return path


def splice_section(text: str, section_line: int, next_line: int | None, markdown: str) -> str:
    """`text` with the body between the heading at `section_line` (1-based) and the next heading (or the end)
    replaced by `markdown`; blank lines around the body, line endings and the file's end are kept."""
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.splitlines(keepends=True)
    start, end = section_line, (next_line - 1 if next_line else len(lines))
    region = "".join(lines[start:end])
    m = _REGION.match(region)
    assert m is not None  # the pattern matches any string
    prefix, _, suffix = m.groups()
    core = newline.join(markdown.replace("\r\n", "\n").strip("\n").split("\n"))
    if not prefix and core and not lines[start - 1].endswith("\n"):
        prefix = newline  # the heading was the last line of the file, without a newline
    return "".join(lines[:start]) + prefix + core + suffix + "".join(lines[end:])


def section_bounds(text: str, path: Path, section_id: str) -> tuple[int, int | None, str]:
    """(heading line, next heading line or None, current body) of a section of the file's current text."""
    doc, _ = _parse(text, path)
    if doc is None:
        raise EditError(f"{path.name} cannot be read (front matter); edit the whole file", "section")
    ids = [s.id for s in doc.sections]
    if section_id not in ids:
        raise EditError(f"section '{section_id}' is not in {path.parent.name}/{path.name}", "section", 404)
    n = ids.index(section_id)
    nxt = doc.sections[n + 1].line if n + 1 < len(doc.sections) else None
    return doc.sections[n].line, nxt, doc.sections[n].markdown


def check_text(path: Path, text: str) -> list[Finding]:
    """The findings `kb check` would report for this file if it held `text` (its source file as it is on
    disk), with paths and lines of the real file."""
    with tempfile.TemporaryDirectory(prefix="kb-edit-") as tmp:
        folder = Path(tmp) / path.parent.name
        folder.mkdir()
        for other in path.parent.glob("*.md"):
            if other.name != path.name:
                shutil.copyfile(other, folder / other.name)
        (folder / path.name).write_bytes(text.encode("utf-8"))
        docs = {}
        findings: list[Finding] = []
        for file in sorted(folder.glob("*.md")):
            doc, found = parse_document(file)
            if file.name == path.name:
                findings += found
            if doc is not None:
                docs[doc.lang] = doc
        findings += [f for f in overridden(check_translations(docs, _glossary_of(path)), docs, path.parent)
                     if Path(f.path).name == path.name]
        if path.stem in docs:
            findings += check_rendering(docs[path.stem])
    shown = str(path)
    return [Finding(shown, f.line, f.rule, f.message, f.severity) for f in findings]


@lru_cache(maxsize=2)
def _load_glossary(path: str, mtime_ns: int):  # noqa: ANN202 - Glossary; keyed by mtime, read once per change
    return load_glossary(Path(path))[0]


def _glossary_of(path: Path):  # noqa: ANN202 - Glossary | None
    """The content folder's glossary (the file's module folder is in the content folder), read once per change."""
    glossary_path = path.parent.parent / GLOSSARY_FILE
    return _load_glossary(str(glossary_path), glossary_path.stat().st_mtime_ns) if glossary_path.exists() else None


def section_findings(path: Path, text: str, section: str | None, findings: list[Finding]) -> list[Finding]:
    """The findings of the edited section (all of them for a whole-file edit)."""
    lines = _section_lines(path, text, section)
    return findings if lines is None else [f for f in findings if f.line in lines]


def save(path: Path, expected_hash: str, text: str, reason: str = "", section: str | None = None) -> EditResult:
    """Write `text` to `path` atomically if the file still has `expected_hash` and the text passes the checks.
    Raises Conflict when the file changed; returns saved=False with the blocking findings otherwise."""
    raw = path.read_bytes()
    if file_hash(raw) != expected_hash:
        raise Conflict(expected_hash, file_hash(raw), raw.decode("utf-8", "replace"), text)
    findings = check_text(path, text)
    errors = [f for f in findings if f.severity == "error"]
    lines = _section_lines(path, text, section)
    warnings = [f for f in findings if f.severity == "warning" and f.rule in BLOCKING_WARNINGS
                and (lines is None or f.line in lines)]
    if errors or (warnings and not reason.strip()):
        return EditResult(False, expected_hash, findings, errors or warnings, text)
    new_raw = text.encode("utf-8")
    _atomic_write(path, new_raw, expected_hash)
    if warnings:
        _record(path, text, warnings, reason.strip())
    return EditResult(True, file_hash(new_raw), findings, [], text)


def _record(path: Path, text: str, warnings: list[Finding], reason: str) -> None:
    """One override per section warned about, keyed by the section's text hash as saved."""
    doc, _ = _parse(text, path)
    by_line = {s.line: s for s in doc.sections} if doc else {}
    for line in sorted({f.line for f in warnings}):
        s = by_line.get(line)
        if s is None:
            continue  # a warning not at a section heading (rendering, at its block's line): nothing to key it to
        mine = [f for f in warnings if f.line == line]
        record_override(path.parent, path.stem, s.id, s.hash, [f"{f.rule}: {f.message}" for f in mine],
                        [f.rule for f in mine], reason)


def _section_lines(path: Path, text: str, section: str | None) -> set[int] | None:
    """Lines of the edited section in the new text (its warnings are the ones a save may be blocked on)."""
    if section is None:
        return None
    doc, _ = _parse(text, path)
    s = doc.section(section) if doc else None
    if s is None:
        return None
    return set(range(s.line, s.line + s.markdown.count("\n") + 3))


def _parse(text: str, path: Path):  # noqa: ANN202 - (Document | None, findings)
    with tempfile.TemporaryDirectory(prefix="kb-edit-") as tmp:
        copy = Path(tmp) / path.parent.name / path.name
        copy.parent.mkdir()
        copy.write_bytes(text.encode("utf-8"))
        return parse_document(copy)


def _atomic_write(path: Path, raw: bytes, expected_hash: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(raw)
        os.chmod(tmp, path.stat().st_mode)
        current = path.read_bytes()  # a last look: a change in the meantime is a conflict, not an overwrite
        if file_hash(current) != expected_hash:
            raise Conflict(expected_hash, file_hash(current), current.decode("utf-8", "replace"),
                           raw.decode("utf-8"))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
