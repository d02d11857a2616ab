"""Glossary variants, proposed and applied: the helper behind the glossary-term rule's clean-up.

`propose` prints, for every translated section where `kb check` reports `glossary-term`, the source sentence that
names the term beside the translation's sentence at the same place, so a reviewer can judge whether the
translation's wording is a correct form of the term (add it as a variant), a wrong form (fix the translation) or
another sense of the source word (reword). `apply` adds the variants a reviewer accepted, given as a JSON object
`{"<lang>|<term id>": [form, ...]}`, to the `forms:` lists of `guidelines/glossary.yaml` without rewriting the
rest of the file. Nothing is added without that judgement.

    python -m bench.glossary_variants propose [guidelines]
    python -m bench.glossary_variants apply accepted.json [guidelines/glossary.yaml]"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from kb.checks import glossary_issues
from kb.corpus import load_corpus
from kb.text import fold

_SENTENCE = re.compile(r"(?<=[.;:。；：])\s*")


def propose(root: Path) -> None:
    corpus = load_corpus(root)
    for docs in corpus.modules.values():
        for doc in docs.values():
            source = corpus.source_of(doc)
            if source is None or corpus.glossary is None:
                continue
            for s in doc.sections:
                src = source.section(s.id)
                for issue in glossary_issues(corpus.glossary, src.text, source.lang, s.text, doc.lang) if src else []:
                    if issue.kind != "missing":
                        continue
                    term = issue.term
                    named = [fold(f) for f in term.forms.get(source.lang, ())]
                    src_sents = [x for x in _SENTENCE.split(src.text) if x.strip()]
                    tr_sents = [x for x in _SENTENCE.split(s.text) if x.strip()]
                    at = next((i for i, x in enumerate(src_sents) if any(f in fold(x) for f in named)), 0)
                    shown = tr_sents[at] if len(tr_sents) == len(src_sents) else s.text[:300]
                    print(f"{doc.lang}|{term.id}  {doc.module}#{s.id}  forms: {' / '.join(term.forms[doc.lang])}")
                    print(f"    {source.lang}: {src_sents[at][:300] if src_sents else ''}")
                    print(f"    {doc.lang}: {shown[:300]}")


def apply(accepted: Path, glossary: Path) -> int:
    wanted = json.loads(accepted.read_text(encoding="utf-8"))
    lines = glossary.read_text(encoding="utf-8").split("\n")
    added = 0
    for key, forms in wanted.items():
        lang, term_id = key.split("|")
        start = next(i for i, line in enumerate(lines) if line.strip() == f"- id: {term_id}")
        at = next(i for i in range(start + 1, len(lines)) if lines[i].strip() == f"{lang}:")
        row = lines[at + 1]
        m = re.match(r"^(\s*forms: \[)(.*)(\]\s*)$", row)
        if m is None:
            raise SystemExit(f"{glossary}:{at + 2}: forms of {term_id}/{lang} are not a one-line list")
        present = [f.strip() for f in m.group(2).split(",")]
        new = [f for f in forms if f not in present]
        lines[at + 1] = m.group(1) + ", ".join(present + new) + m.group(3)
        added += len(new)
    glossary.write_text("\n".join(lines), encoding="utf-8")
    return added


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "apply":
        target = Path(sys.argv[3]) if len(sys.argv) > 3 else Path("guidelines/glossary.yaml")
        print(f"{apply(Path(sys.argv[2]), target)} variants added")
    else:
        propose(Path(sys.argv[2]) if len(sys.argv) > 2 else Path("guidelines"))
