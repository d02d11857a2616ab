"""The content model: a guideline module is one Markdown file per language, `guidelines/<module>/<lang>.md`,
with YAML front matter and `##`/`###` sections whose `{#id}`s align the languages.

Parsing never raises on bad content: it returns what it could read plus `Finding`s that name the file and line,
because a translator fixing ten files wants all ten problems at once."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import yaml

from kb import LANGS, yamlsafe
from kb.markdown import parser, plain_text, recommendations
from kb.recommendations import Recommendation

MAX_FILE_BYTES = 2_000_000
"""Largest module file read (the largest shipped is 17 kB): a bigger one is a finding, not a slow build."""
MAX_FRONT_MATTER_BYTES = 64_000

REQUIRED_FIELDS = ("module", "title", "lang", "version", "updated", "status", "sources", "disclaimer")
OPTIONAL_FIELDS = ("translation_of", "translated_from", "reviewers", "summary", "changes")
"""`changes`: the module's change log, newest first: a list of `{version, date, summary}` in the file's language."""
STATUSES = ("draft", "reviewed")
ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@dataclass(frozen=True)
class Finding:
    """One problem in one place, printed like a compiler message: `path:line: severity: rule: message`."""

    path: str
    line: int
    rule: str
    message: str
    severity: str = "error"

    def format(self) -> str:
        return f"{self.path}:{self.line}: {self.severity}: {self.rule}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "line": self.line, "severity": self.severity, "rule": self.rule,
                "message": self.message}


@dataclass
class Section:
    """A `##` or `###` heading with its own body (subsections are separate sections)."""

    id: str
    level: int
    heading: str
    parent: str | None
    line: int
    markdown: str
    has_children: bool = False
    recs: list[Recommendation] = field(default_factory=list)
    """The section's rec blocks in order (grades and availability; never part of `text`)."""

    @cached_property
    def text(self) -> str:
        """Readable text of the section; parsed once, as checks, chunking and the index all read it."""
        return plain_text(self.markdown)

    @cached_property
    def hash(self) -> str:
        """Short hash of the section's readable text: a translation stamps it to know when its source moved.
        Whitespace and Markdown formatting changes do not count as a change; a changed rec block does."""
        norm = " ".join((self.heading + "\n" + plain_text(self.markdown, with_recs=True)).split())
        return hashlib.sha256(norm.encode("utf-8")).hexdigest()[:10]


@dataclass
class Document:
    """One language version of a module."""

    module: str
    lang: str
    path: Path
    display_path: str
    meta: dict[str, Any]
    meta_lines: dict[str, int]
    body: str
    sections: list[Section] = field(default_factory=list)
    raw: bytes = b""
    """The exact bytes parsed: what a build keeps as this file's last good version."""

    @property
    def title(self) -> str:
        return str(self.meta.get("title", self.module))

    @property
    def translation_of(self) -> str | None:
        value = self.meta.get("translation_of")
        return str(value) if value else None

    @property
    def translated_from(self) -> dict[str, str]:
        value = self.meta.get("translated_from")
        return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}

    def section(self, section_id: str) -> Section | None:
        return next((s for s in self.sections if s.id == section_id), None)

    def heading_path(self, section: Section) -> list[str]:
        """Headings from the top-level section down to this one, for chunk context and breadcrumbs."""
        path = [section.heading]
        parent = self.section(section.parent) if section.parent else None
        while parent is not None:
            path.insert(0, parent.heading)
            parent = self.section(parent.parent) if parent.parent else None
        return path

    def line_of(self, key: str) -> int:
        return self.meta_lines.get(key, 1)


PARSED_CACHE = 256
"""Parsed files kept per process, by their bytes: more than a large corpus's files."""


def parse_document(path: Path) -> tuple[Document | None, list[Finding]]:
    """Parse one `<module>/<lang>.md` file; the Document is None only when its front matter cannot be read.

    Cached by the file's bytes and where it is: a rebuild after a one-file edit (`kb serve --watch`, the editor)
    reads every file again but parses only the changed one, which was most of a rebuild's time. Each call gets
    its own Document (a shallow copy), so a caller that changes one cannot change the cache."""
    shown = display_path(path)
    with path.open("rb") as handle:
        raw = handle.read(MAX_FILE_BYTES + 1)
    doc, findings = _parsed(path, shown, raw)
    return (replace(doc) if doc is not None else None), list(findings)


@lru_cache(maxsize=PARSED_CACHE)
def _parsed(path: Path, shown: str, raw: bytes) -> tuple[Document | None, tuple[Finding, ...]]:
    doc, findings = _parse(path, shown, raw)
    return doc, tuple(findings)


def _parse(path: Path, shown: str, raw: bytes) -> tuple[Document | None, list[Finding]]:
    if len(raw) > MAX_FILE_BYTES:
        return None, [Finding(shown, 1, "size", f"file is larger than {MAX_FILE_BYTES:,} bytes; split the module")]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return None, [Finding(shown, line, "encoding", f"invalid UTF-8 (byte 0x{raw[exc.start]:02x}); "
                              "save the file as UTF-8")]
    text = text.removeprefix("\ufeff")
    env: dict = {}
    tokens = parser().parse(text, env)
    notes_findings = [Finding(shown, line, "notes", message) for line, message in env.get("notes_problems", [])]
    if not tokens or tokens[0].type != "front_matter":
        return None, [Finding(shown, 1, "front-matter", "missing YAML front matter: the file must start with a "
                              "'---' line, the fields, and a closing '---' line")]
    fm = tokens[0]
    meta, meta_lines, findings = _read_front_matter(fm.content, shown)
    if meta is None:
        return None, findings
    body_start = fm.map[1] if fm.map else 0
    lines = text.splitlines()
    doc = Document(
        module=path.parent.name, lang=path.stem, path=path, display_path=shown, meta=meta,
        meta_lines=meta_lines, body="\n".join(lines[body_start:]), raw=raw,
    )
    findings += _check_fields(doc)
    sections, section_findings = _read_sections(tokens[1:], lines, body_start, shown)
    doc.sections = sections
    return doc, findings + section_findings + _read_recommendations(tokens, sections, shown) + notes_findings


def display_path(path: Path) -> str:
    """How findings name a file: relative to the working directory when below it (clickable in a terminal).

    Symlinks are not followed: a finding names the file in the content folder, never the target of a link."""
    absolute = Path(os.path.abspath(path))
    try:
        return str(absolute.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(absolute)


def _read_front_matter(source: str, shown: str) -> tuple[dict[str, Any] | None, dict[str, int], list[Finding]]:
    try:
        meta, node = yamlsafe.load(source, max_bytes=MAX_FRONT_MATTER_BYTES)
    except yamlsafe.YamlProblem as exc:  # the front matter starts on the file's line 2
        return None, {}, [Finding(shown, exc.line + 1, "yaml", f"invalid YAML in front matter: {exc.message}")]
    if not isinstance(meta, dict):
        return None, {}, [Finding(shown, 2, "front-matter", "front matter must be a mapping of fields")]
    lines: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, _ in node.value:
            lines[str(key_node.value)] = key_node.start_mark.line + 2
    return meta, lines, []


def _check_fields(doc: Document) -> list[Finding]:
    out: list[Finding] = []
    meta, shown = doc.meta, doc.display_path

    def bad(key: str, message: str, severity: str = "error") -> None:
        out.append(Finding(shown, doc.line_of(key), "field", message, severity))

    for key in REQUIRED_FIELDS:
        if meta.get(key) in (None, "", []):
            out.append(Finding(shown, 1, "field", f"missing front matter field '{key}'"))
    for key in meta:
        if key not in REQUIRED_FIELDS and key not in OPTIONAL_FIELDS:
            bad(key, f"unknown front matter field '{key}' (known: {', '.join(REQUIRED_FIELDS + OPTIONAL_FIELDS)})",
                "warning")
    if "lang" in meta and meta["lang"] != doc.lang:
        bad("lang", f"lang '{meta['lang']}' disagrees with the file name '{doc.path.name}'")
    if "module" in meta and meta["module"] != doc.module:
        bad("module", f"module '{meta['module']}' disagrees with the folder '{doc.module}'")
    if "status" in meta and meta["status"] not in STATUSES:
        bad("status", f"status '{meta['status']}' is not one of: {', '.join(STATUSES)}")
    if "updated" in meta and not is_iso_date(meta["updated"]):
        bad("updated", f"updated '{meta['updated']}' is not an ISO date (YYYY-MM-DD)")
    sources = meta.get("sources")
    if sources is not None and (not isinstance(sources, list) or not all(isinstance(s, str) for s in sources)):
        bad("sources", "sources must be a list of citations (strings)")
    for key in ("title", "disclaimer", "version"):
        if key in meta and not isinstance(meta[key], str | int | float):
            bad(key, f"{key} must be text")
    src = meta.get("translation_of")
    if src is not None and (src not in LANGS or src == doc.lang):
        bad("translation_of", f"translation_of '{src}' must be another language of: {', '.join(LANGS)}")
    stamps = meta.get("translated_from")
    if stamps is not None and not isinstance(stamps, dict):
        bad("translated_from", "translated_from must map section ids to source hashes (run kb stamp)")
    if stamps and src is None:
        bad("translated_from", "translated_from without translation_of: name the source language", "warning")
    return out


def is_iso_date(value: object) -> bool:
    """A date, or text in YYYY-MM-DD form."""
    if isinstance(value, dt.date):
        return True
    try:
        dt.date.fromisoformat(str(value))
    except ValueError:
        return False
    return True


def _read_recommendations(tokens: list, sections: list[Section], shown: str) -> list[Finding]:
    """Give each section its rec blocks (by line) and report every malformed or misplaced block."""
    findings: list[Finding] = []
    starts = [s.line for s in sections]
    for line, rec, problems in recommendations(tokens):
        findings += [Finding(shown, line, "rec", p) for p in problems]
        owner = next((s for s, start in zip(reversed(sections), reversed(starts), strict=True) if start <= line),
                     None)
        if rec is not None and owner is not None:
            owner.recs.append(replace(rec, line=line))
    return findings


def _read_sections(tokens: list, lines: list[str], body_start: int, shown: str) -> tuple[list[Section], list[Finding]]:
    findings: list[Finding] = []
    heads: list[tuple[int, int, str, str | None]] = []  # (line index, level, text, id)
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open" and tok.tag in ("h1", "h2", "h3") and tok.map:
            level = int(tok.tag[1])
            text, hid = tokens[i + 1].content, tok.attrGet("id")
            heads.append((tok.map[0], level, text.strip(), str(hid) if hid else None))
    sections: list[Section] = []
    seen: dict[str, int] = {}
    parent: str | None = None
    first = heads[0][0] if heads else len(lines)
    if any(ln.strip() for ln in lines[body_start:first]):
        at = next(n for n in range(body_start, first) if lines[n].strip())
        findings.append(Finding(shown, at + 1, "structure", "text before the first heading is not part of any "
                                "section; put it under a '## Heading {#id}'"))
    for n, (start, level, text, hid) in enumerate(heads):
        end = heads[n + 1][0] if n + 1 < len(heads) else len(lines)
        body = "\n".join(lines[start + 1:end]).strip("\n")
        line = start + 1
        if level == 1:
            if n != 0:
                findings.append(Finding(shown, line, "structure", "a '#' heading is only allowed as the first "
                                        "heading (the title); use '##' for sections"))
            elif body.strip():
                findings.append(Finding(shown, line + 1, "structure", "text under the '#' title is not part of "
                                        "any section; put it under a '## Heading {#id}'"))
            continue
        if hid is None:
            findings.append(Finding(shown, line, "section-id", f"heading '{text}' has no id: write "
                                    f"'{'#' * level} {text} {{#some-id}}'"))
            continue
        if not ID_RE.match(hid):
            findings.append(Finding(shown, line, "section-id", f"section id '{hid}' must be lowercase ASCII "
                                    "words joined by '-'"))
        if hid in seen:
            findings.append(Finding(shown, line, "duplicate-id", f"section id '{hid}' is already used on line "
                                    f"{seen[hid]}"))
            continue
        seen[hid] = line
        if level == 3 and parent is None:
            findings.append(Finding(shown, line, "structure", f"subsection '{hid}' comes before any '##' section"))
        if level == 2:
            parent = hid
        else:
            prev = next((s for s in sections if s.id == parent), None)
            if prev is not None:
                prev.has_children = True
        sections.append(Section(hid, level, text, parent if level == 3 else None, line, body))
    for s in sections:
        if not s.text.strip() and not s.has_children:
            findings.append(Finding(shown, s.line, "empty-section", f"section '{s.id}' has no text"))
    return sections, findings
