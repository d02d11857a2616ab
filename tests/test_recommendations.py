"""Recommendation blocks, change logs and deprecated glossary forms: parsed, rendered as badges, kept out of the
indexed text, and checked by `kb check` with file and line, in every language of a module."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from kb.corpus import load_corpus
from kb.markdown import parser, plain_text, recommendations, render_html
from kb.recommendations import SCHEMES, Recommendation, parse_attributes

DISCLAIMER = {"en": "Training material.", "zh": "培训材料。", "vi": "Tài liệu đào tạo."}


def write_module(root: Path, lang: str, body: str, *, version: str = "1.1", changes: str | None = None,
                 module: str = "demo") -> Path:
    """One module file with valid front matter; `changes` is the YAML of the change log (None: none)."""
    if changes is None:
        changes = f'changes:\n  - version: "{version}"\n    date: 2026-12-01\n    summary: "s"\n' \
                  '  - version: "1.0"\n    date: 2026-11-20\n    summary: "t"\n'
    translation = "" if lang == "en" else "translation_of: en\n"
    path = root / module / f"{lang}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"---\nmodule: {module}\ntitle: \"Demo\"\nlang: {lang}\nversion: \"{version}\"\n"
                    f"updated: 2026-12-01\nstatus: draft\nsources:\n  - \"NCCN 2026\"\n"
                    f"disclaimer: \"{DISCLAIMER[lang]}\"\n{translation}{changes}---\n\n"
                    + textwrap.dedent(body).lstrip("\n"), encoding="utf-8")
    return path


def stamp(root: Path, module: str = "demo") -> None:
    from kb.stamp import stamp as write_stamps

    for lang in ("zh", "vi"):
        write_stamps(load_corpus(root), module, lang)


def findings(root: Path, rule: str | None = None) -> list[tuple[str, int, str, str]]:
    corpus = load_corpus(root)
    return [(Path(f.path).name, f.line, f.rule, f.message) for f in corpus.findings
            if rule is None or f.rule == rule]


# --- the markup itself ---

def test_a_trailing_block_becomes_badges_and_leaves_the_text() -> None:
    md = "经动脉化疗栓塞适用于 BCLC B 期。 {rec grade=esmo:I-A cn=available vn=limited}\n"
    html = render_html(md)
    assert "{rec" not in html
    assert 'data-grade="esmo:I-A"' in html and 'data-cn="available"' in html and 'data-vn="limited"' in html
    assert "ESMO I-A" in html
    assert plain_text(md) == "经动脉化疗栓塞适用于 BCLC B 期。"
    assert plain_text(md, with_recs=True).endswith("{rec grade=esmo:I-A cn=available vn=limited}")


def test_list_items_carry_their_own_block_and_lines_are_exact() -> None:
    md = ("- Morphine đường uống là lựa chọn đầu tay. {rec grade=grade:strong cn=available vn=available}\n"
          "- Fentanyl dán mỗi 72 giờ\n  khi không nuốt được. {rec grade=nccn:2A vn=limited}\n"
          "- Không có khối\n")
    found = recommendations(parser().parse(md))
    assert [(line, rec.grade_code, rec.vn) for line, rec, _ in found] == [
        (1, "grade:strong", "available"), (3, "nccn:2A", "limited")]
    assert "{rec" not in plain_text(md) and "72 giờ khi không nuốt được." in plain_text(md)


@pytest.mark.parametrize(("body", "needle"), [
    ("grade=nccn:2a", "did you mean 'nccn:2A'"),
    ("grade=nccn:4", "not a NCCN grade"),
    ("grade=esmo:VI-A", "not a ESMO grade"),
    ("grade=who:strong", "unknown grading scheme 'who'"),
    ("grade=2A", "names no scheme"),
    ("cn=yes", "availability in China is one of"),
    ("vn=avail", "did you mean 'available'"),
    ("region=cn", "unknown key 'region'"),
    ("cn=available cn=limited", "given twice"),
    ("cn", "not key=value"),
    ("", "empty rec block"),
])
def test_bad_blocks_say_what_is_wrong(body: str, needle: str) -> None:
    rec, problems = parse_attributes(body)
    assert rec is None and any(needle in p for p in problems), problems


def test_every_scheme_value_listed_is_accepted() -> None:
    for scheme, values in SCHEMES.items():
        for value in values:
            rec, problems = parse_attributes(f"grade={scheme}:{value}")
            assert problems == [] and rec == Recommendation(scheme, value)


def test_a_broken_block_stays_visible_as_written() -> None:
    md = "Paracetamol tối đa 2 g/ngày. {rec grade=nccn:2a}\n"
    assert "{rec grade=nccn:2a}" in render_html(md)
    assert "{rec grade=nccn:2a}" in plain_text(md)


# --- kb check ---

def test_check_names_file_and_line_of_malformed_and_misplaced_blocks(tmp_path: Path) -> None:
    write_module(tmp_path, "en", """
        ## Doses {#doses}

        Paracetamol at most 2 g a day in cirrhosis. {rec grade=nccn:9}

        A block {rec cn=available} in the middle of a paragraph.

        | drug | note {rec vn=limited} |
        |---|---|
        | morphine | oral |

        Unclosed {rec grade=nccn:1
    """)
    got = [(name, line, rule) for name, line, rule, _ in findings(tmp_path) if rule == "rec"]
    assert got == [("en.md", 22, "rec"), ("en.md", 24, "rec"), ("en.md", 26, "rec"), ("en.md", 30, "rec")]
    corpus = load_corpus(tmp_path)
    assert corpus.errors() and not corpus.indexable()  # a wrong grade is an error: the data would be wrong


def test_translations_must_carry_the_same_blocks_in_the_same_order(tmp_path: Path) -> None:
    write_module(tmp_path, "en", """
        ## Pain {#pain}

        Oral morphine first. {rec grade=grade:strong cn=available vn=available}

        - Fentanyl patch every 72 h. {rec grade=nccn:2A cn=available vn=limited}
    """)
    write_module(tmp_path, "zh", """
        ## 疼痛 {#pain}

        首选口服吗啡。 {rec grade=grade:strong cn=available vn=available}

        - 芬太尼贴剂每 72 小时更换。 {rec grade=nccn:2A cn=available vn=limited}
    """)
    write_module(tmp_path, "vi", """
        ## Đau {#pain}

        Ưu tiên morphine đường uống. {rec grade=grade:strong cn=available vn=available}

        - Miếng dán fentanyl thay mỗi 72 giờ. {rec grade=nccn:1 cn=available vn=limited}
    """)
    stamp(tmp_path)
    mismatches = findings(tmp_path, "rec-mismatch")
    assert [(n, line) for n, line, _, _ in mismatches] == [("vi.md", 23)]  # the section heading
    message = mismatches[0][3]
    assert "recommendation 2" in message and "grade=nccn:2A" in message and "grade=nccn:1" in message
    assert "line 27" in message  # the block's own line in vi.md


def test_a_missing_block_in_a_translation_is_named(tmp_path: Path) -> None:
    write_module(tmp_path, "en", "## A {#a}\n\nRFA for tumours up to 3 cm. {rec grade=esmo:I-A cn=available}\n")
    write_module(tmp_path, "zh", "## 甲 {#a}\n\n肿瘤不超过 3 cm 时射频消融。\n")
    write_module(tmp_path, "vi", "## A {#a}\n\nRFA cho khối u đến 3 cm. {rec grade=esmo:I-A cn=available}\n")
    stamp(tmp_path)
    got = findings(tmp_path, "rec-mismatch")
    assert [n for n, *_ in got] == ["zh.md"] and "is missing" in got[0][3]


def test_rec_blocks_do_not_trip_the_numbers_check_and_a_grade_change_outdates_the_stamp(tmp_path: Path) -> None:
    en = write_module(tmp_path, "en", "## A {#a}\n\nTACE for BCLC B. {rec grade=nccn:2A cn=available}\n")
    write_module(tmp_path, "zh", "## 甲 {#a}\n\nBCLC B 期行 TACE。 {rec grade=nccn:2A cn=available}\n")
    write_module(tmp_path, "vi", "## A {#a}\n\nTACE cho BCLC B. {rec grade=nccn:2A cn=available}\n")
    stamp(tmp_path)
    assert findings(tmp_path, "numbers") == [] and findings(tmp_path, "outdated") == []
    en.write_text(en.read_text().replace("nccn:2A", "nccn:1"))
    assert {n for n, *_ in findings(tmp_path, "outdated")} == {"zh.md", "vi.md"}


# --- change logs ---

def test_change_log_shape_order_and_version(tmp_path: Path) -> None:
    write_module(tmp_path, "en", "## A {#a}\n\nText.\n", version="1.2", changes=(
        'changes:\n  - version: "1.0"\n    date: 2026-11-01\n    summary: "first"\n'
        '  - version: "1.1"\n    date: 2026-11-20\n    summary: "second"\n'))
    messages = [m for _, _, _, m in findings(tmp_path, "changes")]
    assert any("newest change is version 1.0 but the module is version 1.2" in m for m in messages)
    assert any("newest first" in m for m in messages)


def test_malformed_change_log_is_an_error_on_its_line(tmp_path: Path) -> None:
    write_module(tmp_path, "en", "## A {#a}\n\nText.\n", changes='changes:\n  - version: "1.1"\n    date: soon\n')
    got = findings(tmp_path, "changes")
    assert {(n, line) for n, line, _, _ in got} == {("en.md", 11)}
    assert any("has no 'summary'" in m for *_, m in got) and any("not YYYY-MM-DD" in m for *_, m in got)
    assert load_corpus(tmp_path).errors()


def test_translations_share_the_versions_and_dates_of_the_change_log(tmp_path: Path) -> None:
    write_module(tmp_path, "en", "## A {#a}\n\nText.\n")
    write_module(tmp_path, "zh", "## 甲 {#a}\n\n正文。\n", changes=(
        'changes:\n  - version: "1.1"\n    date: 2026-12-02\n    summary: "改"\n'
        '  - version: "1.0"\n    date: 2026-11-20\n    summary: "初"\n'))
    write_module(tmp_path, "vi", "## A {#a}\n\nVăn bản.\n")
    stamp(tmp_path)
    got = findings(tmp_path, "changes")
    assert {n for n, *_ in got} == {"zh.md"}
    assert any("differs from the source" in m for *_, m in got) and any("after updated" in m for *_, m in got)


def test_a_source_that_changed_without_a_version_bump_is_reported(tmp_path: Path) -> None:
    en = write_module(tmp_path, "en", "## A {#a}\n\nMorphine 5 mg orally every 4 h.\n")
    write_module(tmp_path, "zh", "## 甲 {#a}\n\n吗啡 5 mg 口服，每 4 小时一次。\n")
    write_module(tmp_path, "vi", "## A {#a}\n\nMorphin 5 mg uống mỗi 4 giờ.\n")
    stamp(tmp_path)
    assert findings(tmp_path, "version-not-bumped") == []
    en.write_text(en.read_text().replace("5 mg", "10 mg"))
    got = findings(tmp_path, "version-not-bumped")
    assert got and {n for n, *_ in got} == {"en.md"} and got[0][1] == 5  # the source's version line


def test_a_module_without_a_change_log_is_accepted_for_now(tmp_path: Path) -> None:
    write_module(tmp_path, "en", "## A {#a}\n\nText.\n", changes="")
    assert findings(tmp_path, "changes") == []


# --- glossary forms ---

GLOSSARY = """\
terms:
  - id: lipiodol
    en: {forms: [Lipiodol, ethiodised oil], definition: An iodised poppy-seed oil.}
    zh: {forms: [碘油], deprecated: [碘化油], definition: 碘化罂粟籽油。}
    vi: {forms: [lipiodol], definition: Dầu iod hóa.}
  - id: clinical-guideline
    en: {forms: [clinical guideline], definition: Recommendations for care.}
    zh: {forms: [临床指南], definition: 诊疗推荐。}
    vi: {forms: [hướng dẫn], deprecated: [quy phạm], definition: Khuyến cáo điều trị.}
"""


def test_a_deprecated_glossary_form_in_a_module_is_a_warning(tmp_path: Path) -> None:
    (tmp_path / "glossary.yaml").write_text(GLOSSARY, encoding="utf-8")
    write_module(tmp_path, "en", "## A {#a}\n\nLipiodol is mixed with the drug.\n")
    write_module(tmp_path, "zh", "## 甲 {#a}\n\n碘化油与药物混合。\n")
    write_module(tmp_path, "vi", "## A {#a}\n\nTheo quy phạm của Bộ Y tế, lipiodol được trộn.\n")
    got = findings(tmp_path, "term")
    assert [(n, line) for n, line, _, _ in got] == [("vi.md", 21), ("zh.md", 21)]
    assert "'碘油'" in got[1][3] and "'hướng dẫn'" in got[0][3]


def test_a_form_both_listed_and_deprecated_is_a_glossary_error(tmp_path: Path) -> None:
    (tmp_path / "glossary.yaml").write_text(GLOSSARY.replace("deprecated: [碘化油]", "deprecated: [碘油]"),
                                            encoding="utf-8")
    got = findings(tmp_path, "glossary")
    assert len(got) == 1 and "both deprecated and a form" in got[0][3]


# --- the shipped corpus ---

SHIPPED = Path(__file__).parent.parent / "guidelines"


def test_every_shipped_recommendation_has_the_same_grade_in_all_its_languages() -> None:
    corpus = load_corpus(SHIPPED)
    checked = 0
    for docs in corpus.modules.values():
        for doc in docs.values():
            source = corpus.source_of(doc)
            if source is None:
                continue
            for section in doc.sections:
                src = source.section(section.id)
                assert src is not None
                assert [r.key for r in section.recs] == [r.key for r in src.recs], f"{doc.display_path}#{section.id}"
                checked += len(section.recs)
    assert checked > 0


@pytest.mark.parametrize("module", ["tace", "hcc-staging", "nasopharyngeal-carcinoma", "lung-cancer",
                                    "cancer-pain"])
def test_the_key_modules_mark_graded_recommendations(module: str) -> None:
    doc = load_corpus(SHIPPED).modules[module]["en"]
    assert any(r.scheme for s in doc.sections for r in s.recs), f"{module} has no graded rec block"
