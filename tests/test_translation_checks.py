"""The language-aware safety checks (kb.checks), each with zh and vi cases: decimal commas, full-width digits and
punctuation, ranges, units, Chinese and Vietnamese negation, structure, rendering, glossary adherence."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from kb.checks import compare_numbers, glossary_issues, negation_issues, quantities, rendering_issues, structure_issues
from kb.glossary import load_glossary

GLOSSARY, _ = load_glossary(Path(__file__).parent.parent / "guidelines" / "glossary.yaml")


def described(source: str, translation: str, lang: str) -> list[str]:
    return [i.describe() for i in compare_numbers(source, "en", translation, lang)]


def test_vietnamese_decimal_commas_and_thousands_are_the_same_numbers() -> None:
    source = "Hold if neutrophils are below 0.5 × 10⁹/L or fever above 38.3 °C; give 1,000 mL."
    assert described(source, "Ngừng nếu bạch cầu trung tính dưới 0,5 × 10⁹/L hoặc sốt trên 38,3 °C; "
                             "truyền 1.000 mL.", "vi") == []
    # the corpus's own convention ('.' as decimal point in Vietnamese too) is accepted as well
    assert described(source, "dưới 0.5 ×10^9/L, sốt trên 38.3 °C, truyền 1000 ml.", "vi") == []


def test_vietnamese_thousands_grouped_with_spaces_are_one_number() -> None:
    source = "About 120000 new cases a year, under 4 per 100000 women; 1500 mg; 10000.5 mL."
    assert described(source, "Khoảng 120 000 ca mới mỗi năm, dưới 4 trên 100\u00a0000 phụ nữ; 1500 mg; "
                             "10 000,5 mL.", "vi") == []
    assert described("120000 new cases.", "120 500 ca mới.", "vi") == ["120000 -> 120 500"]
    grouped = quantities("trên 100 000, và 1 000,5 mg; có 120 000.", "vi")
    assert [(q.text, q.values, q.unit) for q in grouped] == [
        ("100 000", frozenset({Decimal("100000")}), ""), ("1 000,5", frozenset({Decimal("1000.5")}), "mg"),
        ("120 000", frozenset({Decimal("120000")}), "")]
    # a space between numbers that are not groups of three, or in another language, still separates them
    assert [q.text for q in quantities("ngày 1, 8 và 15; 2 10 mg; 1 000.5", "vi")] == [
        "1", "8", "15", "2", "10", "1", "000.5"]
    assert [q.text for q in quantities("1 000 mg", "en")] == ["1", "000"]

def test_chinese_full_width_digits_punctuation_and_ranges() -> None:
    source = "Give 5-10 mg every 4 h, at most 60 mg/m² per day (38.3 °C)."
    assert described(source, "每４小时给予５～１０ mg，每日最多６０ mg/m2（38.3℃）。", "zh") == []
    assert described(source, "每4小时给予5至10 mg，每日最多60 mg/m²（38.3 °C）。", "zh") == []


def test_a_changed_dose_reads_old_to_new() -> None:
    assert described("Morphine 150 mg daily.", "吗啡每日120 mg。", "zh") == ["150 mg -> 120 mg"]
    assert described("Morphine 150 mg daily.", "Morphin 120 mg mỗi ngày.", "vi") == ["150 mg -> 120 mg"]
    assert described("Fever above 38.3 °C.", "Sốt trên 39,3 °C.", "vi") == ["38.3 °C -> 39,3 °C"]


def test_a_dropped_number_and_a_changed_unit() -> None:
    assert described("Platelets at least 50 ×10^9/L and INR 1.5.", "血小板≥50 ×10⁹/L。", "zh") == ["1.5 missing"]
    assert described("Give 150 mg.", "Dùng 150 g.", "vi") == ["150 mg -> 150 g"]
    assert described("Give 5 μg/kg.", "给予5 mg/kg。", "zh") == ["5 μg/kg -> 5 mg/kg"]
    assert described("Give 75 mg/m2.", "给予75 mg/kg。", "zh") == ["75 mg/m2 -> 75 mg/kg"]


def test_codes_are_not_quantities() -> None:
    assert quantities("HER2 T2N1M0 mg/m2 CNLC IIb", "en") == []
    assert [q.values for q in quantities("0,5", "vi")] == [frozenset({Decimal("0.5")})]
    assert [q.values for q in quantities("1.000", "vi")] == [frozenset({Decimal("1000"), Decimal("1")})]


def test_negation_lost_in_vietnamese_and_chinese_sentences() -> None:
    source = "Check platelets first. Do not give NSAIDs after TACE."
    lost = negation_issues(source, "en", "Kiểm tra tiểu cầu trước. Dùng NSAID sau TACE.", "vi")
    assert [(i.kind, i.sentence) for i in lost] == [("lost", 2)]
    assert negation_issues(source, "en", "Kiểm tra tiểu cầu trước. Không dùng NSAID sau TACE.", "vi") == []
    assert [i.kind for i in negation_issues(source, "en", "先查血小板。TACE后使用NSAID。", "zh")] == ["lost"]
    for ok in ("先查血小板。TACE后勿用NSAID。", "先查血小板。TACE后禁用NSAID。", "先查血小板。TACE后不用NSAID。"):
        assert negation_issues(source, "en", ok, "zh") == []


def test_negation_added_and_terms_that_only_look_negative() -> None:
    added = negation_issues("Give NSAIDs after TACE.", "en", "TACE 后不要给予 NSAID。", "zh")
    assert [i.kind for i in added] == ["added"]
    terms = "不良反应和无进展生存期。"
    assert negation_issues("Adverse events and progression-free survival.", "en", terms, "zh") == []
    assert negation_issues("Clean air.", "en", "Không khí sạch.", "vi") == []
    assert [i.kind for i in negation_issues("Clean air.", "en", "Chưa sạch.", "vi")] == ["added"]


def test_structure_parity() -> None:
    source = "- a\n- b\n- c\n\n| x | y |\n|---|---|\n| 1 | 2 |\n\n[link](http://e.org)"
    assert structure_issues(source, "- 甲\n- 乙\n- 丙\n\n| x | y |\n|---|---|\n| 1 | 2 |\n\n[链接](http://e.org)") == []
    issues = {i.part: (i.source, i.translation) for i in structure_issues(source, "- a\n- b\n\n| x |\n|---|\n| 1 |")}
    assert issues == {"list items": (3, 2), "table columns": (2, 1), "links": (1, 0)}


def test_rendering_lint_finds_unclosed_chinese_bold_raw_html_and_broken_tables() -> None:
    kinds = [i.kind for i in rendering_issues("**肿瘤：**尽可能切除。")]
    assert kinds == ["emphasis"]
    assert rendering_issues("**肿瘤**：尽可能切除。") == []
    assert [i.kind for i in rendering_issues("Dùng <b>liều</b> cao.")] == ["html"]
    assert [i.kind for i in rendering_issues("| a | b |\n| 1 | 2 |")] == ["table"]
    assert rendering_issues("`**` in code is fine") == []


def test_glossary_term_needs_an_approved_form() -> None:
    assert [i.term.id for i in glossary_issues(GLOSSARY, "Hepatocellular carcinoma.", "en", "肝脏肿瘤。", "zh")] \
        == ["hepatocellular-carcinoma"]
    assert glossary_issues(GLOSSARY, "Hepatocellular carcinoma.", "en", "肝细胞癌。", "zh") == []
    assert glossary_issues(GLOSSARY, "Hepatocellular carcinoma.", "en", "Ung thư biểu mô tế bào gan.", "vi") == []


def test_negation_constructions_that_ask_or_omit() -> None:
    """Found on modules written after the rules (breast and cervical cancer): 'whether' constructions, 'can be
    omitted' said with a negation, and 'rather than' (chứ không) which is a real negation."""
    assert negation_issues("Biopsy shows invasion.", "en", "Sinh thiết cho biết có xâm nhập hay không.", "vi") == []
    assert negation_issues("Biopsy shows invasion.", "en", "活检能判断有无浸润。", "zh") == []
    assert negation_issues("ALND can be omitted.", "en", "Có thể không vét hạch nách.", "vi") == []
    assert negation_issues("A lesion needs biopsy, not a smear.", "en",
                           "Tổn thương cần sinh thiết chứ không chỉ làm phiến đồ.", "vi") == []
    assert [i.kind for i in negation_issues("A lesion needs biopsy, not a smear.", "en",
                                            "Tổn thương cần sinh thiết và làm phiến đồ.", "vi")] == ["lost"]
