"""Translation memory: the source text each translated section was stamped against, so that when the source
moves on, `kb check` and the workbench can show *what* changed (`150 mg -> 120 mg`), not only *that* it changed.

Stored as one `source-memory.yaml` per module, beside its Markdown files, keyed by the section hash the stamps
name. Files in the content folder rather than git history, because the content folder is not always a git
checkout (a copied `guidelines/`, a build's `sources/`), the stamp and the text it names travel together in one
commit, and a reviewer sees the remembered text in the same diff as the stamp. `kb stamp` writes it and drops
texts no stamp names any more, so it stays one source version per stamped section."""

from __future__ import annotations

import difflib
import os
import re
import tempfile
from functools import lru_cache
from pathlib import Path

import yaml

from kb.text import CJK_CHARS
from kb.yamlsafe import LOADER

MEMORY_FILE = "source-memory.yaml"
HEADER = ("# Written by `kb stamp`: the source text each translation was stamped against, by section hash, so\n"
          "# `kb check` can show what changed in the source since. Do not edit by hand.\n")
_TOKEN = re.compile(rf"\d+(?:[.,]\d+)*|[{CJK_CHARS}]|[^\W\d_{CJK_CHARS}]+|\S")
_NUMBER = re.compile(r"\d")


def load_memory(module_dir: Path) -> dict[str, str]:
    """hash -> remembered source text (heading line, then the section's readable text); {} when absent or bad."""
    path = Path(module_dir) / MEMORY_FILE
    try:
        stat = path.stat()
    except OSError:
        return {}
    return dict(_read_memory(str(path), stat.st_mtime_ns, stat.st_size))


@lru_cache(maxsize=64)
def _read_memory(path: str, mtime_ns: int, size: int) -> dict[str, str]:
    """One read per version of the file (keyed by its mtime and size): every check of a module, and every
    rebuild of a live server, asked for it again. libyaml's loader where PyYAML has it (10x faster)."""
    try:
        data = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=LOADER)  # noqa: S506 - a safe loader
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): str(v.get("text", "")) for k, v in data.items() if isinstance(v, dict)}


def remember(module_dir: Path, entries: dict[str, tuple[str, str]], keep: set[str]) -> None:
    """Add `hash -> (section id, text)` entries and keep only the hashes in `keep` (those some stamp names)."""
    path = Path(module_dir) / MEMORY_FILE
    try:
        current = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        current = {}
    data = {k: v for k, v in (current or {}).items() if str(k) in keep and isinstance(v, dict)}
    for h, (section, text) in entries.items():
        data[h] = {"section": section, "text": text}
    body = yaml.dump(dict(sorted(data.items(), key=lambda kv: (kv[1].get("section", ""), kv[0]))),
                     Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=120)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(HEADER + body)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class _Dumper(yaml.SafeDumper):
    """Multi-line texts as `|` blocks, so the remembered source reads like the source in a diff."""


_Dumper.add_representer(str, lambda dumper, value: dumper.represent_scalar(
    "tag:yaml.org,2002:str", value, style="|" if "\n" in value else None))


def section_text(heading: str, text: str) -> str:
    """What is remembered of a source section: what its hash is computed over."""
    return heading + "\n" + text


def word_diff(old: str, new: str) -> list[tuple[str, str]]:
    """(op, text) runs of a word-level diff, op one of '=', '-', '+'; Chinese is compared per character."""
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    out: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(("=", _join(a[i1:i2])))
            continue
        if i2 > i1:
            out.append(("-", _join(a[i1:i2])))
        if j2 > j1:
            out.append(("+", _join(b[j1:j2])))
    return out


def describe_changes(old: str, new: str, limit: int = 5) -> str:
    """The changes as `old -> new`, a changed number followed by its unit (`150 mg -> 120 mg`), `+new`,
    `-old`; at most `limit`, then a count of the others."""
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    changes: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            continue
        after = a[i2:i2 + 1] if i2 < len(a) and _NUMBER.search(" ".join(a[i1:i2] + b[j1:j2])) else []
        was, now = _join(a[i1:i2] + after), _join(b[j1:j2] + after)
        changes.append(f"{was} -> {now}" if i2 > i1 and j2 > j1 else (f"+«{now}»" if j2 > j1 else f"-«{was}»"))
    shown = "; ".join(changes[:limit])
    return shown + (f"; and {len(changes) - limit} more change(s)" if len(changes) > limit else "")


def _join(tokens: list[str]) -> str:
    out = ""
    for t in tokens:
        if out and not (re.match(rf"[{CJK_CHARS}]", t) and re.search(rf"[{CJK_CHARS}]$", out)) \
                and not re.match(r"[.,;:!?)\]%]", t) and not out.endswith(("(", "[")):
            out += " "
        out += t
    return out
