"""Sections -> chunks that fit the model's window, each led by the module title and heading path so that a chunk
read alone (by the embedder or in a snippet) still says what it is about."""

from __future__ import annotations

import re
from collections.abc import Callable

from kb.content import Document, Section
from kb.store.rows import Chunk

CHUNKER_VERSION = "1"
"""Bump when chunk text changes shape, so that fingerprints (and staleness checks) see it."""

MIN_BUDGET = 32
"""Fewest tokens of body a chunk may hold, however long its title and headings."""
SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|(?<=[。！？；])")
"""A sentence end: Latin punctuation needs a space after it, so that 2.5 mg is never cut."""


def chunk_document(doc: Document, count_tokens: Callable[[str], int], max_tokens: int = 512) -> list[Chunk]:
    """All chunks of a document, in reading order."""
    out: list[Chunk] = []
    for section in doc.sections:
        out += chunk_section(doc, section, count_tokens, max_tokens)
    return out


def chunk_section(doc: Document, section: Section, count_tokens: Callable[[str], int],
                  max_tokens: int = 512) -> list[Chunk]:
    """One chunk when the section fits, else paragraph- then sentence-packed pieces, none over the window."""
    path = tuple(doc.heading_path(section))
    header = f"{doc.title} › {' › '.join(path)}\n"
    # Room for the passage prompt and special tokens; a heading path longer than the window itself still leaves
    # MIN_BUDGET for the body (the embedder truncates such a chunk, the keyword index keeps all of it).
    budget = max(max_tokens - count_tokens(header) - 8, min(MIN_BUDGET, max_tokens))
    body = section.text
    pieces = _pack(body.split("\n"), count_tokens, budget) if count_tokens(header + body) > max_tokens else [body]
    if not body.strip():
        pieces = [""]
    return [Chunk(doc.module, doc.lang, section.id, i, doc.title, section.heading, path, piece)
            for i, piece in enumerate(pieces)]


def _pack(units: list[str], count: Callable[[str], int], budget: int) -> list[str]:
    """Greedily join units (paragraphs, then sentences, then characters) into pieces within the budget."""
    pieces: list[str] = []
    current = ""
    for unit in units:
        if not unit.strip():
            continue
        if count(unit) > budget:
            finer = SENTENCE_END.split(unit) if SENTENCE_END.search(unit.rstrip()) else _halves(unit)
            finer = [u for u in finer if u.strip()]
            if len(finer) <= 1:
                finer = [u for u in _halves(unit) if u.strip()]
            if current:
                pieces.append(current)
                current = ""
            # One character over the budget cannot be cut further: it is a piece of its own.
            pieces += _pack(finer, count, budget) if len(finer) > 1 else [unit]
            continue
        joined = f"{current}\n{unit}" if current else unit
        if count(joined) <= budget:
            current = joined
        else:
            pieces.append(current)
            current = unit
    if current:
        pieces.append(current)
    return pieces


def _halves(text: str) -> list[str]:
    mid = len(text) // 2
    cut = text.rfind(" ", 0, mid)
    cut = cut if cut > 0 else mid
    return [text[:cut], text[cut:]]
