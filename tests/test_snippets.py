"""Which words a snippet marks: a query typed with diacritics (or restored to them) marks what it says, a query
typed without any marks every accented form."""

from __future__ import annotations

from kb.snippets import make_snippet, mark, query_terms

TEXT = "Mức đáp ứng của khối u gắn với chức năng gan; ung thư gan giai đoạn sớm."


def marked(query: str, text: str = TEXT) -> list[str]:
    snippet, spans = make_snippet(text, query_terms(query, []))
    return [snippet[s:e] for s, e in spans]


def test_a_query_with_diacritics_marks_its_plain_words_only_as_written() -> None:
    """"ung" and "gan" are words of their own: in "ung thư gan" they are not "ứng" (đáp ứng) or "gắn"."""
    assert marked("điều trị ung thư gan giai đoạn sớm") == ["gan", "ung", "thư", "gan", "giai", "đoạn", "sớm"]


def test_a_query_without_diacritics_marks_every_accented_form() -> None:
    assert marked("ung thu gan") == ["ứng", "gắn", "gan", "ung", "thư", "gan"]


def test_a_glossary_form_keeps_its_own_rule() -> None:
    snippet, spans = make_snippet(TEXT, query_terms("liver", ["ung thư gan"]))
    assert [snippet[s:e] for s, e in spans] == ["gan", "ung", "thư", "gan"]


def test_mark_finds_words_in_a_heading_at_its_own_offsets() -> None:
    heading = "Điều trị  theo giai đoạn (BCLC)"
    spans = mark(heading, query_terms("giai đoạn bclc", []))
    assert [heading[s:e] for s, e in spans] == ["giai", "đoạn", "BCLC"]


def test_two_syllables_that_are_one_word_are_marked_as_one() -> None:
    """`điều trị` (treatment) is one word: its `trị` is not the one in `xạ trị` (radiotherapy)."""
    from kb.vi_words import WordJoiner

    counts = {"điều": 30, "trị": 60, "xạ": 25, "ung": 40, "thư": 40, "gan": 20, "giai": 15, "đoạn": 15, "sớm": 5}
    pairs = {("điều", "trị"): 28, ("xạ", "trị"): 24, ("ung", "thư"): 39, ("thư", "gan"): 4, ("giai", "đoạn"): 15,
             ("đoạn", "sớm"): 3, ("trị", "ung"): 2}
    query = "điều trị ung thư gan giai đoạn sớm"
    joined = WordJoiner(counts, pairs).joined([query])
    # `đoạn sớm` and `thư gan` are frequent too, but each loses its syllable to a stronger word
    assert joined == {("điều", "trị"), ("ung", "thư"), ("giai", "đoạn")}
    text = "Xạ trị hoặc điều trị ung thư gan giai đoạn sớm; điều  trị tiếp."
    snippet, spans = make_snippet(text, query_terms(query, [], joined))
    assert [snippet[s:e] for s, e in spans] == ["điều trị", "ung thư", "gan", "giai đoạn", "sớm", "điều trị"]
    heading = "Xạ trị và điều trị"
    assert [heading[s:e] for s, e in mark(heading, query_terms(query, [], joined))] == ["điều trị"]


def test_only_vietnamese_syllables_are_joined() -> None:
    """An English pair inside Vietnamese text (`ion carbon`) stays two words, so `carbon-ion` still marks both."""
    from kb.vi_words import WordJoiner

    joiner = WordJoiner({"ion": 30, "carbon": 30, "xạ": 20, "trị": 20}, {("ion", "carbon"): 29, ("xạ", "trị"): 19})
    joined = joiner.joined(["xạ trị ion carbon"])
    assert joined == {("xạ", "trị")}
    snippet, spans = make_snippet("Carbon-ion radiotherapy", query_terms("xạ trị ion carbon", [], joined))
    assert [snippet[s:e] for s, e in spans] == ["Carbon", "ion"]


def test_a_lone_syllable_inside_another_word_of_the_text_is_not_marked() -> None:
    """`thời tiết` (weather) is not in the corpus: its syllables are looked for alone, but the `thời` of `đồng thời`
    and the `tiết` of `nội tiết` belong to other words of the text. A one-syllable query marks everywhere."""
    from kb.vi_words import WordJoiner

    joiner = WordJoiner({"đồng": 20, "thời": 30, "nội": 20, "tiết": 20, "giảm": 10, "đau": 30},
                        {("đồng", "thời"): 15, ("nội", "tiết"): 15, ("giảm", "đau"): 8})
    text = "Hóa trị đồng thời; biến cố nội tiết; thời tiết xấu; giảm đau."
    snippet, spans = make_snippet(text, query_terms("thời tiết", [], joiner.joined(["thời tiết"])), joiner=joiner)
    assert [snippet[s:e] for s, e in spans] == ["thời", "tiết"]  # only where they stand alone
    assert mark("Biến cố nội tiết", query_terms("thời tiết", []), joiner) == []
    snippet, spans = make_snippet(text, query_terms("đau", []), joiner=joiner)
    assert [snippet[s:e] for s, e in spans] == ["đau"]  # `giảm đau` is pain relief: a query of `đau` marks it


def test_two_query_syllables_found_side_by_side_are_marked_together() -> None:
    """`chuan do` typed without diacritics marks `chuẩn độ` although the text binds the pair (it is one word),
    and `trực tuyến` found as typed is marked whole even where the corpus binds `trực` to another neighbour."""
    from kb.vi_words import WordJoiner

    joiner = WordJoiner({"chuẩn": 10, "độ": 10, "video": 3, "trực": 4, "tuyến": 20, "tiếp": 5},
                        {("chuẩn", "độ"): 8, ("video", "trực"): 3, ("trực", "tiếp"): 2})
    snippet, spans = make_snippet("Chuẩn độ opioid.", query_terms("chuan do opioid", []), joiner=joiner)
    assert [snippet[s:e] for s, e in spans] == ["Chuẩn", "độ", "opioid"]
    text = "Họp video trực tuyến; họp trực tiếp."
    snippet, spans = make_snippet(text, query_terms("hội chẩn trực tuyến", []), joiner=joiner)
    assert [snippet[s:e] for s, e in spans] == ["trực", "tuyến"]  # not the `trực` of `trực tiếp`
