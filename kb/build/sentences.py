"""The sentences of each section, each embedded on its own beside its chunk.

A section translated into every language is found from any language through its twin: a question finds the
version in its own language, and the section pivot lends that evidence to the others. A section that exists in
one or two languages only has its own text and nothing else, and a question in another language meets it by a
cross-language cosine, which this model gets right far less often than a same-language one. A question usually
asks about one sentence, and across languages it matches that sentence better than the whole paragraph:
measured on XQuAD written as non-parallel content (tune half), adding each chunk's best sentence to its own score
lifts the recall@1 of the answer's language, told which one holds it, from 0.72-0.73 to 0.79-0.81
(`kb.calibration`, docs/benchmarks.md, "Sentences of untranslated sections").

Translated content gains too, though less: a section's best sentence also ranks the section better in the query's
own language (parallel XQuAD recall@1 0.906 -> 0.928 on the tune half). Sentences cost about one more embedding
of the section's text, so a first build takes about twice as long (the embedding cache keeps them: a later build
embeds only the sentences of changed text). `KB_SENTENCES=untranslated` embeds them only where the pivot cannot
help, sections missing in at least one of the build's languages: a translation that arrives drops them at the
next build (docs/benchmarks.md, "Sentences of untranslated sections" and "Every section's sentences by
default")."""

from __future__ import annotations

import re
from collections import defaultdict

from kb.build.chunking import SENTENCE_END
from kb.settings import SENTENCE_SCOPES
from kb.store.rows import Chunk

SENTENCES_VERSION = "1"
"""Bump when the sentences change shape (which sections, how text is cut), so that fingerprints see it."""

MIN_CHARS = 12
"""A piece shorter than this (`1.`, `a)`, a lone dose line's label) says too little to embed alone: it is joined
to the piece after it."""

_LINE = re.compile(r"\n+")


def untranslated(chunks: list[Chunk]) -> set[tuple[str, str]]:
    """(module, section) of every section missing in at least one language that the build holds."""
    langs = {c.lang for c in chunks}
    present: dict[tuple[str, str], set[str]] = defaultdict(set)
    for c in chunks:
        present[(c.module, c.section)].add(c.lang)
    return {key for key, held in present.items() if held != langs}


def split(body: str) -> list[str]:
    """A chunk body's sentences: lines, then sentence ends (a decimal point never cuts), short pieces joined."""
    pieces = [p.strip() for line in _LINE.split(body) for p in SENTENCE_END.split(line)]
    out: list[str] = []
    carry = ""
    for piece in (p for p in pieces if p):
        piece = f"{carry} {piece}" if carry else piece
        if len(piece) < MIN_CHARS:
            carry = piece
            continue
        out.append(piece)
        carry = ""
    if carry:
        if out:
            out[-1] = f"{out[-1]} {carry}"
        else:
            out.append(carry)
    return out


def sentences(chunks: list[Chunk], scope: str = SENTENCE_SCOPES[0]) -> list[tuple[int, str]]:
    """(chunk index, sentence) for the chunks that hold more than one sentence, of every section (`scope="all"`,
    the default) or of untranslated sections only (`"untranslated"`): a one-sentence chunk's own vector already
    is its sentence's."""
    missing = untranslated(chunks) if scope == "untranslated" else None
    out: list[tuple[int, str]] = []
    for i, c in enumerate(chunks):
        if missing is None or (c.module, c.section) in missing:
            parts = split(c.body)
            if len(parts) > 1:
                out += [(i, p) for p in parts]
    return out
