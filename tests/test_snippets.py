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
