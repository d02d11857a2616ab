"""A module's change log: the `changes` front-matter field, newest first, one `{version, date, summary}` per
version, so a trainer sees what changed since the last training.

What `kb check` can know without the file's history (it never reads git):
- the log's shape, that it runs newest first, and that its first entry is the module's `version`;
- that every language carries the same versions and dates as the source, and the same `version`;
- that a source changed without a version bump: a translation records which source text it was made from (its
  stamps) and its `version` says which source version that was. When a stamp is outdated (the source section
  changed since) but the source's `version` still equals the translation's, the source text moved and its version
  did not. A change to a source nobody has translated or stamped yet cannot be seen without history."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kb.content import Document, Finding, is_iso_date

ENTRY_KEYS = ("version", "date", "summary")


@dataclass(frozen=True)
class Change:
    """One version's entry in a module's change log."""

    version: str
    date: str
    summary: str

    def as_dict(self) -> dict[str, str]:
        return {"version": self.version, "date": self.date, "summary": self.summary}


def read_changes(meta: dict[str, Any]) -> list[Change]:
    """The well-formed entries of a document's change log, in file order (the pages show these)."""
    items = meta.get("changes")
    if not isinstance(items, list):
        return []
    out = []
    for item in items:
        if isinstance(item, dict) and all(item.get(k) not in (None, "") for k in ENTRY_KEYS):
            out.append(Change(str(item["version"]), str(item["date"]), str(item["summary"]).strip()))
    return out


def version_key(version: str) -> tuple[int, ...] | None:
    """`"1.10"` -> (1, 10), so 1.10 sorts after 1.9; None when the version is not dotted numbers."""
    try:
        return tuple(int(p) for p in version.split("."))
    except ValueError:
        return None


def check_changes(doc: Document) -> list[Finding]:
    """Findings for one document's change log (its shape and order, and its agreement with `version`)."""
    shown, line = doc.display_path, doc.line_of("changes")
    items = doc.meta.get("changes")
    if items is None:
        return []  # allowed: the change log is optional until every module has one (see docs/content-guide.md)
    if not isinstance(items, list) or not items:
        return [Finding(shown, line, "changes", "changes must be a list of entries, newest first, each with "
                        "version, date and summary")]
    out: list[Finding] = []
    for n, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            out.append(Finding(shown, line, "changes", f"change {n} is not a mapping of version, date, summary"))
            continue
        for key in ENTRY_KEYS:
            if item.get(key) in (None, ""):
                out.append(Finding(shown, line, "changes", f"change {n} has no '{key}'"))
        for key in item:
            if key not in ENTRY_KEYS:
                out.append(Finding(shown, line, "changes", f"change {n} has an unknown key '{key}' (keys: "
                                   f"{', '.join(ENTRY_KEYS)})", "warning"))
        if "version" in item and not isinstance(item["version"], str):
            out.append(Finding(shown, line, "changes", f"change {n}: quote the version (\"{item['version']}\"), "
                               "or YAML reads 1.10 as the number 1.1", "warning"))
        if "date" in item and not is_iso_date(item["date"]):
            out.append(Finding(shown, line, "changes", f"change {n}: date '{item['date']}' is not YYYY-MM-DD"))
    if any(f.severity == "error" for f in out):
        return out
    changes = read_changes(doc.meta)
    version = str(doc.meta.get("version", ""))
    if changes[0].version != version:
        out.append(Finding(shown, line, "changes", f"the newest change is version {changes[0].version} but the "
                           f"module is version {version}: add an entry for {version} at the top", "warning"))
    updated = str(doc.meta.get("updated", ""))
    if is_iso_date(updated) and changes[0].date > updated:
        out.append(Finding(shown, line, "changes", f"the newest change is dated {changes[0].date}, after "
                           f"updated ({updated})", "warning"))
    seen: set[str] = set()
    for newer, older in zip(changes, changes[1:], strict=False):
        a, b = version_key(newer.version), version_key(older.version)
        if (a is not None and b is not None and a <= b) or newer.date < older.date:
            out.append(Finding(shown, line, "changes", f"the change log must run newest first: {newer.version} "
                               f"({newer.date}) is listed before {older.version} ({older.date})", "warning"))
    for change in changes:
        if change.version in seen:
            out.append(Finding(shown, line, "changes", f"version {change.version} has two entries", "warning"))
        seen.add(change.version)
    return out


def compare_changes(source: Document, doc: Document, outdated: list[str]) -> list[Finding]:
    """A translation against its source: same version, same change-log versions and dates, and a source whose
    stamped sections changed (`outdated`, section ids) must have moved its version."""
    out: list[Finding] = []
    shown = doc.display_path
    src_version, version = str(source.meta.get("version", "")), str(doc.meta.get("version", ""))
    if outdated and src_version == version:
        out.append(Finding(source.display_path, source.line_of("version"), "version-not-bumped",
                           f"section(s) {', '.join(outdated)} changed since {doc.display_path} was stamped, and both "
                           f"are version {version}: if the source changed, bump its version and updated and add a "
                           f"change-log entry; if only the translation was updated, stamp it", "warning"))
    elif not outdated and src_version != version:
        out.append(Finding(shown, doc.line_of("version"), "version", f"version {version} differs from the "
                           f"source's {src_version}: once the translation is updated and stamped, set "
                           f"version: \"{src_version}\"", "warning"))
    src_log = [(c.version, c.date) for c in read_changes(source.meta)]
    log = [(c.version, c.date) for c in read_changes(doc.meta)]
    if src_log and src_log != log and not (outdated and log == src_log[len(src_log) - len(log):]):
        missing = [v for v, _ in src_log if v not in {v2 for v2, _ in log}]
        detail = (f"version(s) {', '.join(missing)} missing" if missing else
                  "the versions or dates differ")
        out.append(Finding(shown, doc.line_of("changes") if "changes" in doc.meta else doc.line_of("version"),
                           "changes", f"change log differs from the source's ({detail}): give the same versions "
                           "and dates, with the summaries translated", "warning"))
    return out


