"""Warnings a translator saved anyway, with the reason: `guidelines/<module>/check-overrides.yaml`.

The workbench editor refuses to save a section with a safety warning unless a reason is given; the reason is
recorded here with the hash of the section's text as saved. `kb check` then leaves that warning out for as
long as the section keeps that text: edit the section and the warning is back, to be judged again."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

OVERRIDES_FILE = "check-overrides.yaml"
HEADER = "# Warnings saved anyway from the workbench editor, with the reason given. Newest last.\n"


@dataclass(frozen=True)
class Override:
    lang: str
    section: str
    section_hash: str
    rules: tuple[str, ...]
    reason: str


def load_overrides(module_dir: Path) -> list[Override]:
    """The recorded overrides of a module; entries that are not complete are ignored (never an error)."""
    path = Path(module_dir) / OVERRIDES_FILE
    try:
        entries = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else []
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return []
    out = []
    for e in entries if isinstance(entries, list) else []:
        if isinstance(e, dict) and all(e.get(k) for k in ("lang", "section", "section_hash", "rules", "reason")):
            out.append(Override(str(e["lang"]), str(e["section"]), str(e["section_hash"]),
                                tuple(str(r) for r in e["rules"]), str(e["reason"])))
    return out


def record_override(module_dir: Path, lang: str, section: str, section_hash: str, warnings: list[str],
                    rules: list[str], reason: str) -> None:
    path = Path(module_dir) / OVERRIDES_FILE
    try:
        entries = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else []
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        entries = []
    entries = entries if isinstance(entries, list) else []
    entries.append({"lang": lang, "section": section, "section_hash": section_hash, "rules": sorted(set(rules)),
                    "reason": reason, "date": dt.date.today().isoformat(), "warnings": warnings})
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(HEADER + yaml.safe_dump(entries, allow_unicode=True, sort_keys=False, width=120))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
