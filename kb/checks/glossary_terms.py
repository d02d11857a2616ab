"""Glossary adherence (rule `glossary-term`): a term of the source section that has an approved translation in
`guidelines/glossary.yaml` must appear in the translation in one of its listed forms (or as its abbreviation),
so a ward's word for a drug or a procedure is the same in every module. Forms marked deprecated or forbidden in
the glossary (`deprecated:` list under a language, when the glossary has one) are flagged where they are used."""

from __future__ import annotations

from dataclasses import dataclass

from kb.glossary import Glossary, Term
from kb.text import contains_form, fold


@dataclass(frozen=True)
class GlossaryIssue:
    kind: str  # "missing": no approved form; "deprecated": a deprecated form is used
    term: Term
    lang: str
    form: str = ""

    def describe(self) -> str:
        approved = " / ".join(self.term.forms.get(self.lang, ()))
        if self.kind == "deprecated":
            return f"'{self.form}' is a deprecated form of glossary term '{self.term.id}': write {approved}"
        source = " / ".join(self.term.forms.get("en", ())[:1]) or self.term.id
        return f"glossary term '{source}' ({self.term.id}) is not translated with an approved form: {approved}"


def glossary_issues(glossary: Glossary, source: str, source_lang: str, translation: str,
                    lang: str) -> list[GlossaryIssue]:
    out: list[GlossaryIssue] = []
    folded = fold(translation)
    found_here = {t.id for t, _ in glossary.find(translation)}
    for term, langs in glossary.find(source):
        if source_lang not in langs or not term.forms.get(lang):
            continue
        forms = list(term.forms[lang]) + list(term.abbr)
        if term.id not in found_here and not any(contains_form(folded, fold(f)) for f in forms):
            out.append(GlossaryIssue("missing", term, lang))
    for term in glossary.terms:
        for form in getattr(term, "deprecated", {}).get(lang, ()):
            if contains_form(folded, fold(form)):
                out.append(GlossaryIssue("deprecated", term, lang, form))
    return out


