"""The glossary page, its pocket print and /api/glossary over a real server on the fixture index: a term is found
from each language and from Vietnamese typed without diacritics, browsed by letter and pinyin initial and by
category, shown with its forms, abbreviations and definitions in all three languages and with links that resolve
to the sections using it."""

from __future__ import annotations

import httpx
import pytest
from bs4 import BeautifulSoup

from kb.glossary_book import vi_letter, vi_sort_key


def soup(response: httpx.Response) -> BeautifulSoup:
    assert response.status_code == 200, response.text[:300]
    return BeautifulSoup(response.text, "html.parser")


def term_ids(page: BeautifulSoup) -> list[str]:
    return [li["data-term"] for li in page.select("li.glossary-term")]


@pytest.mark.parametrize("q", ["táo bón", "tao bon", "TAO BON", "便秘", "constipation", "bian mi"])
def test_a_term_is_found_from_every_language_and_folded_vietnamese(http: httpx.Client, q: str) -> None:
    assert term_ids(soup(http.get("/glossary", params={"q": q})))[0] == "constipation"


def test_an_abbreviation_finds_its_term(http: httpx.Client) -> None:
    assert term_ids(soup(http.get("/glossary?q=TACE"))) == ["transarterial-chemoembolisation"]


def test_each_term_shows_forms_and_definitions_in_three_languages(http: httpx.Client) -> None:
    page = soup(http.get("/glossary?q=TACE&pair=vi-zh"))
    term = page.select_one("li.glossary-term")
    langs = [dd["lang"] for dd in term.select(".term-forms dd")]
    assert langs == ["vi", "zh", "en"]  # the chosen pair first, then the third language
    text = " ".join(term.get_text(" ").split())
    for expected in ("nút mạch hóa chất qua động mạch", "经动脉化疗栓塞术", "transarterial chemoembolisation",
                     "Bơm hóa chất", "经肿瘤供血动脉", "Chemotherapy and embolisation", "TACE",
                     "jing dong mai"):
        assert expected in text
    assert term.select_one(".term-abbr abbr").get_text() == "TACE"


def test_usage_links_resolve_to_the_section_in_the_pair_language(http: httpx.Client) -> None:
    page = soup(http.get("/glossary?q=constipation&pair=zh-vi"))
    links = page.select("li.glossary-term .term-usage a[href]")
    assert links, "the constipation term is used in cancer-pain"
    href = links[0]["href"]
    assert href.startswith("/modules/cancer-pain/zh#") and links[0]["lang"] == "zh"
    path, anchor = href.split("#")
    target = soup(http.get(path))
    assert target.find(id=anchor) is not None


def test_browse_by_pinyin_initial_and_by_vietnamese_letter(http: httpx.Client) -> None:
    assert term_ids(soup(http.get("/glossary?lang=zh&letter=B"))) == ["constipation"]  # 便秘 bian mi
    assert term_ids(soup(http.get("/glossary?lang=zh&letter=J"))) == ["transarterial-chemoembolisation"]
    assert term_ids(soup(http.get("/glossary?lang=vi&letter=N"))) == ["transarterial-chemoembolisation"]
    page = soup(http.get("/glossary?lang=vi"))
    letters = [a.get_text() for a in page.select('.glossary-letters[lang="vi"] a')]
    assert letters == ["N", "T"]


def test_browse_by_category(http: httpx.Client) -> None:
    page = soup(http.get("/glossary", params={"category": "supportive care", "lang": "en"}))
    assert term_ids(page) == ["constipation", "laxative"]
    names = [a.get_text() for a in page.select(".glossary-categories a")]
    assert names == ["supportive care", "interventional oncology"]


def test_a_bad_choice_is_a_notice_not_an_error(http: httpx.Client) -> None:
    page = soup(http.get("/glossary?lang=fr&letter=%3Cb%3E&pair=zh-zh&q=TACE"))
    notices = page.select(".notice-warning")
    assert len(notices) == 3 and "<b>" in notices[1].get_text()  # shown as text, escaped
    assert term_ids(page) == ["transarterial-chemoembolisation"]


def test_pocket_glossary_prints_one_language_pair(http: httpx.Client) -> None:
    page = soup(http.get("/glossary/print?pair=zh-vi"))
    rows = page.select("table.pocket tbody tr")
    assert [r["data-term"] for r in rows] == ["constipation", "laxative", "transarterial-chemoembolisation"]
    first = rows[0].find_all("td")
    assert first[0]["lang"] == "zh" and "便秘" in first[0].get_text() and "táo bón" in first[1].get_text()
    css = [link["href"] for link in page.select('link[rel="stylesheet"]')]
    assert any("glossary.css" in href for href in css)
    sheet = http.get(next(h for h in css if "glossary.css" in h)).text
    assert "@media print" in sheet


def test_api_searches_and_browses_like_the_page(http: httpx.Client) -> None:
    body = http.get("/api/glossary", params={"q": "tao bon"}).json()
    assert body["count"] >= 1 and body["terms"][0]["id"] == "constipation"
    term = body["terms"][0]
    assert term["forms"]["vi"] == ["táo bón"] and term["definitions"]["zh"] and term["initials"]["zh"] == "B"
    assert {(s["module"], s["section"]) for s in term["sections"]} == {("cancer-pain", "side-effects")}
    browse = http.get("/api/glossary?lang=zh&letter=H").json()
    assert [t["id"] for t in browse["terms"]] == ["laxative"]  # 缓泻剂 huan xie ji
    assert browse["letters"]["vi"] == {"N": 1, "T": 2}


@pytest.mark.parametrize(("query", "field"), [("lang=fr", "lang"), ("letter=%C3%9F", "letter"),
                                               ("category=nope", "category"), ("limit=0", "limit"),
                                               ("q=" + "x" * 201, "q")])
def test_api_names_the_bad_field(http: httpx.Client, query: str, field: str) -> None:
    response = http.get("/api/glossary?" + query)
    assert response.status_code == 422 and response.json()["error"]["field"] == field


def test_vietnamese_letters_and_order() -> None:
    assert [vi_letter(w) for w in ("ung thư", "ức chế", "đau", "ăn", "Ổ bụng", "5-FU")] == ["U", "Ư", "Đ", "Ă",
                                                                                          "Ô", "#"]
    words = ["đau", "dạ dày", "ung thư", "ức chế", "an thần", "ăn uống", "âm tính"]
    assert sorted(words, key=vi_sort_key) == ["an thần", "ăn uống", "âm tính", "dạ dày", "đau", "ung thư",
                                              "ức chế"]
