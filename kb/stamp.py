"""`kb stamp`: record in a translation which version of each source section it was translated from.

Only the `translated_from:` block of the front matter is rewritten; every other byte of the file stays as the
translator left it, and the file is replaced atomically. The source text stamped is kept in the module's
translation memory (`kb.checks.memory`), so a later change of the source can be shown word by word."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from kb.checks.memory import remember, section_text
from kb.content import Document
from kb.corpus import Corpus
from kb.errors import KbError


class StampError(KbError):
    pass


def stamp(corpus: Corpus, module: str, lang: str, section: str | None = None) -> dict[str, str]:
    """Write current source hashes into the translation; returns the stamps written."""
    doc = corpus.modules.get(module, {}).get(lang)
    if doc is None:
        raise StampError(f"no file {corpus.root / module / (lang + '.md')} (or it has unreadable front matter)")
    source = corpus.source_of(doc)
    if source is None:
        raise StampError(f"{doc.display_path} is not a translation (no translation_of) or its source is missing")
    current = doc.translated_from
    shared = [s for s in doc.sections if source.section(s.id) is not None]
    if section is not None:
        if doc.section(section) is None or source.section(section) is None:
            raise StampError(f"section '{section}' is not in both {doc.display_path} and {source.display_path}")
        shared = [s for s in shared if s.id == section]
    stamps = dict(current)
    for s in shared:
        stamps[s.id] = source.section(s.id).hash  # type: ignore[union-attr]
    order = [s.id for s in doc.sections]
    stamps = {k: stamps[k] for k in sorted(stamps, key=lambda k: order.index(k) if k in order else len(order))}
    _rewrite(doc, stamps)
    keep = set(stamps.values()).union(*(d.translated_from.values() for L, d in corpus.modules[module].items()
                                        if L != lang))
    stamped = [src for s in shared if (src := source.section(s.id)) is not None]
    remember(doc.path.parent, {src.hash: (src.id, section_text(src.heading, src.text)) for src in stamped}, keep)
    return {s.id: stamps[s.id] for s in shared}


def _rewrite(doc: Document, stamps: dict[str, str]) -> None:
    text = doc.path.read_text(encoding="utf-8")
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.split(newline)
    close = next(i for i in range(1, len(lines)) if lines[i].rstrip() == "---")
    block = ["translated_from:"] + [f"  {k}: \"{v}\"" for k, v in stamps.items()]  # quoted: 0123 is not octal
    start = next((i for i in range(1, close) if re.match(r"translated_from\s*:", lines[i])), None)
    if start is None:
        lines[close:close] = block
    else:
        end = start + 1
        while end < close and (lines[end].startswith((" ", "\t")) or not lines[end].strip()):
            end += 1
        lines[start:end] = block
    _atomic_write(doc.path, newline.join(lines))


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.chmod(tmp, path.stat().st_mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
