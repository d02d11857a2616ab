"""Glossary adherence as a `kb check` rule (`glossary-term`): a translation that writes a source term in a wrong or
deprecated form is reported, in Chinese and in Vietnamese, while the accepted ways of writing it (listed
variants, the glossary's word equivalents, the '-术' short form, Han/Latin spacing, abbreviations) are not."""

from __future__ import annotations

from pathlib import Path

from kb.checks import glossary_issues
from kb.corpus import load_corpus
from kb.glossary import load_glossary
from tests.test_recommendations import findings, write_module

GLOSSARY = """\
equivalents:
  zh:
    - [癌, 癌症]
    - [肝, 肝脏]
  vi:
    - [u, khối u]
    - [sống thêm, sống còn]
terms:
  - id: oesophageal-cancer
    en: {forms: [oesophageal cancer], definition: Cancer of the oesophagus.}
    zh: {forms: [食管癌], deprecated: [食道癌], definition: 食管的癌。}
    vi: {forms: [ung thư thực quản], definition: Ung thư ở thực quản.}
  - id: tumour
    en: {forms: [tumour], definition: A mass.}
    zh: {forms: [肿瘤], definition: 肿块。}
    vi: {forms: [khối u, bướu], deprecated: [bứu], definition: Khối mô.}
  - id: overall-survival
    abbr: [OS]
    en: {forms: [overall survival], definition: Time alive.}
    zh: {forms: [总生存], definition: 存活时间。}
    vi: {forms: [sống thêm toàn bộ], definition: Thời gian sống.}
  - id: gastrectomy
    en: {forms: [gastrectomy], definition: Removal of the stomach.}
    zh: {forms: [胃切除术], definition: 切除胃。}
    vi: {forms: [cắt dạ dày], definition: Cắt bỏ dạ dày.}
  - id: contrast-enhanced-ct
    en: {forms: [contrast-enhanced CT], definition: CT with contrast.}
    zh: {forms: [增强CT], definition: 注射对比剂的CT。}
    vi: {forms: [CT có cản quang], definition: CT có thuốc cản quang.}
  - id: transarterial-chemoembolisation
    abbr: [TACE]
    en: {forms: [transarterial chemoembolisation], definition: Chemoembolisation through the artery.}
    zh: {forms: [经动脉化疗栓塞术], definition: 经动脉的化疗栓塞。}
    vi: {forms: [hóa tắc mạch qua động mạch], definition: Hóa tắc mạch.}
"""


def glossary(tmp_path: Path):  # noqa: ANN201 - Glossary
    path = tmp_path / "glossary.yaml"
    path.write_text(GLOSSARY, encoding="utf-8")
    g, problems = load_glossary(path)
    assert problems == []
    return g


def missing(g, source: str, translation: str, lang: str) -> list[str]:  # noqa: ANN001
    return [i.term.id for i in glossary_issues(g, source, "en", translation, lang) if i.kind == "missing"]


def test_a_wrong_chinese_form_and_a_deprecated_one_are_reported_by_kb_check(tmp_path: Path) -> None:
    (tmp_path / "glossary.yaml").write_text(GLOSSARY, encoding="utf-8")
    write_module(tmp_path, "en", "## A {#a}\n\nOesophageal cancer after gastrectomy.\n")
    write_module(tmp_path, "zh", "## 甲 {#a}\n\n胃部手术后的食道癌。\n")
    write_module(tmp_path, "vi", "## A {#a}\n\nUng thư thực quản sau cắt dạ dày.\n")
    got = findings(tmp_path, "glossary-term")
    assert [(n, line) for n, line, _, _ in got] == [("zh.md", 21)]
    assert "oesophageal-cancer" in got[0][3] and "食管癌" in got[0][3] and "gastrectomy" in got[0][3]
    deprecated = findings(tmp_path, "term")
    assert [(n, line) for n, line, _, _ in deprecated] == [("zh.md", 21)] and "'食管癌'" in deprecated[0][3]


def test_a_wrong_vietnamese_form_and_a_deprecated_one_are_reported_by_kb_check(tmp_path: Path) -> None:
    (tmp_path / "glossary.yaml").write_text(GLOSSARY, encoding="utf-8")
    write_module(tmp_path, "en", "## A {#a}\n\nThe tumour improved overall survival.\n")
    write_module(tmp_path, "zh", "## 甲 {#a}\n\n该肿瘤改善了总生存。\n")
    write_module(tmp_path, "vi", "## A {#a}\n\nBứu làm tăng thời gian sống chung.\n")
    got = findings(tmp_path, "glossary-term")
    assert [(n, line) for n, line, _, _ in got] == [("vi.md", 21)]
    assert "overall-survival" in got[0][3] and "(tumour)" in got[0][3]
    deprecated = findings(tmp_path, "term")
    assert [(n, line) for n, line, _, _ in deprecated] == [("vi.md", 21)] and "'khối u'" in deprecated[0][3]


def test_equivalent_words_and_short_forms_are_accepted(tmp_path: Path) -> None:
    g = glossary(tmp_path)
    # zh: 癌 for 癌症 is an equivalent, 胃切除 is 胃切除术 without '-术', a space between Han and Latin is optional
    assert missing(g, "Oesophageal cancer after gastrectomy, seen on contrast-enhanced CT.",
                   "外科胃切除后的食管癌，增强 CT 可见。", "zh") == []
    # vi: 'u' is 'khối u' without its classifier, 'sống còn' is 'sống thêm'; an abbreviation counts in any language
    assert missing(g, "The tumour improved overall survival.", "U làm tăng sống còn toàn bộ.", "vi") == []
    assert missing(g, "The tumour improved overall survival.", "Khối u làm tăng OS.", "vi") == []
    # a Latin abbreviation right next to Han characters is a whole word (TACE联合消融)
    assert missing(g, "Transarterial chemoembolisation combined with ablation.", "TACE联合消融。", "zh") == []


def test_the_matching_is_not_toothless(tmp_path: Path) -> None:
    g = glossary(tmp_path)
    # an equivalent only maps whole words: 'u' inside another word is not 'khối u'
    assert missing(g, "The tumour shrank.", "Ung nhọt nhỏ lại.", "vi") == ["tumour"]
    # a Latin form inside a longer Latin word does not count
    assert missing(g, "Transarterial chemoembolisation was repeated.", "Đã làm lại TACEX.", "vi") == [
        "transarterial-chemoembolisation"]
    # diacritics are kept for equivalents: 'sống con' is not 'sống còn'
    assert missing(g, "Overall survival.", "Sống con toàn bộ.", "vi") == ["overall-survival"]
    # only the whole form without its "-术" counts, not a shorter piece of it
    assert missing(g, "Gastrectomy.", "胃切。", "zh") == ["gastrectomy"]


def test_glossary_equivalents_that_are_not_word_groups_are_a_glossary_error(tmp_path: Path) -> None:
    path = tmp_path / "glossary.yaml"
    path.write_text(GLOSSARY.replace("    - [sống thêm, sống còn]\n", "    - [sống thêm]\n"), encoding="utf-8")
    _, problems = load_glossary(path)
    assert [(p.rule, p.line) for p in problems] == [("glossary", 1)] and "two words or more" in problems[0].message


def test_the_shipped_corpus_follows_its_glossary() -> None:
    corpus = load_corpus(Path(__file__).parent.parent / "guidelines")
    assert [f for f in corpus.findings if f.rule in ("glossary-term", "term")] == []
