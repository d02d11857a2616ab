"""The shipped corpus: complete, aligned, stamped and numerically faithful in all three languages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kb import LANGS
from kb.corpus import load_corpus, missing_numbers

ROOT = Path(__file__).resolve().parent.parent
CORPUS = load_corpus(ROOT / "guidelines")
MODULES = sorted(CORPUS.modules)


def test_kb_check_is_clean_even_strict() -> None:
    assert [f.format() for f in CORPUS.findings] == []


def test_at_least_twelve_modules() -> None:
    assert len(MODULES) >= 12


@pytest.mark.parametrize("module", MODULES)
def test_module_has_every_language_and_the_same_sections(module: str) -> None:
    docs = CORPUS.modules[module]
    assert sorted(docs) == sorted(LANGS)
    source = docs["en"]
    ids = [(s.id, s.level) for s in source.sections]
    assert sum(1 for s in source.sections if s.level == 2) >= 6
    for lang in ("zh", "vi"):
        assert [(s.id, s.level) for s in docs[lang].sections] == ids
        assert docs[lang].translation_of == "en"


@pytest.mark.parametrize("module", MODULES)
def test_module_front_matter_is_complete(module: str) -> None:
    for doc in CORPUS.modules[module].values():
        assert doc.meta["status"] in ("draft", "reviewed")
        assert doc.meta["sources"] and all(any(ch.isdigit() for ch in s) for s in doc.meta["sources"])
        assert doc.meta["disclaimer"]
        assert doc.meta["version"] == CORPUS.modules[module]["en"].meta["version"]


@pytest.mark.parametrize("module", MODULES)
def test_english_source_has_at_least_800_words(module: str) -> None:
    words = sum(len(s.text.split()) for s in CORPUS.modules[module]["en"].sections)
    assert words >= 800


@pytest.mark.parametrize("module", MODULES)
def test_every_source_number_appears_in_each_translation(module: str) -> None:
    """A translator's safety net for doses: no number of an English section may be missing from zh or vi."""
    docs = CORPUS.modules[module]
    problems = []
    for section in docs["en"].sections:
        for lang in ("zh", "vi"):
            missing = missing_numbers(section.text, docs[lang].section(section.id).text, "en", lang)
            if missing:
                problems.append(f"{lang}#{section.id}: {missing}")
    assert problems == []


@pytest.mark.parametrize("module", MODULES)
def test_translations_are_stamped_against_the_current_source(module: str) -> None:
    docs = CORPUS.modules[module]
    for lang in ("zh", "vi"):
        stamps = docs[lang].translated_from
        assert stamps == {s.id: s.hash for s in docs["en"].sections}


def test_vietnamese_has_diacritics_and_chinese_is_simplified() -> None:
    traditional = set("體與國醫學療診斷檢癥藥術後發轉腫癒點時間個們說對會無")
    for module in MODULES:
        vi = CORPUS.modules[module]["vi"].body
        assert sum(ch in "ăâđêôơưĐ" for ch in vi.lower()) > 100, module
        zh = CORPUS.modules[module]["zh"].body
        assert not traditional & set(zh), (module, sorted(traditional & set(zh)))


def test_vietnamese_writes_decimal_commas() -> None:
    """The content guide's rule: a '.' between digits in Vietnamese text is a version or a name, never a decimal."""
    names = ("RECIST ", "phiên bản ", "Claudin ")
    dotted = []
    for module in MODULES:
        for section in CORPUS.modules[module]["vi"].sections:
            text = section.text
            for m in re.finditer(r"(?<![\w.,])\d+\.\d+", text):
                if not text[:m.start()].endswith(names):
                    dotted.append(f"{module}#{section.id}: {text[max(0, m.start() - 20):m.end() + 10]}")
    assert dotted == []

def test_glossary_is_complete() -> None:
    glossary = CORPUS.glossary
    assert glossary is not None and len(glossary.terms) >= 200
    for term in glossary.terms:
        assert set(term.forms) == set(LANGS) and set(term.definitions) == set(LANGS), term.id
    assert len({t.id for t in glossary.terms}) == len(glossary.terms)


def test_glossary_bridges_languages() -> None:
    glossary = CORPUS.glossary
    assert "肝癌" in glossary.expansions("ung thu gan", "zh")
    assert any("TACE" in form for form in glossary.expansions("经动脉化疗栓塞", "vi"))
