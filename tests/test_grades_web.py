"""Grades and availability end to end, over a real server on the fixture index: indexed per section, filtered in
/api/search and on the search page, shown as badges in the UI language on the reading, side-by-side and search
views; and the change log on the reading view."""

from __future__ import annotations

import httpx
import pytest
from bs4 import BeautifulSoup

from kb.search import Searcher


def soup(response: httpx.Response) -> BeautifulSoup:
    assert response.status_code == 200, response.text[:300]
    return BeautifulSoup(response.text, "html.parser")


def test_every_language_of_a_section_carries_the_same_blocks(searcher: Searcher) -> None:
    blocks = {L: searcher.recs[("liver-tace", L, "indications")] for L in ("en", "zh", "vi")}
    assert blocks["en"] == [{"grade": "nccn:2A", "cn": "available", "vn": "available"}]
    assert blocks["zh"] == blocks["en"] == blocks["vi"]


@pytest.mark.parametrize("grade", ["any", "nccn", "nccn:2A"])
def test_the_grade_filter_returns_only_graded_sections(http: httpx.Client, grade: str) -> None:
    body = http.get("/api/search", params={"q": "TACE liver cancer", "grade": grade}).json()
    assert body["results"] and body["grade"] == grade
    assert {(r["module"], r["section"]) for r in body["results"]} == {("liver-tace", "indications")}
    assert all(rec["grade"] == "nccn:2A" for r in body["results"] for rec in r["recommendations"])


def test_a_grade_no_section_has_returns_nothing(http: httpx.Client) -> None:
    assert http.get("/api/search?q=TACE&grade=nccn:1").json()["results"] == []
    assert http.get("/api/search?q=morphine&grade=esmo").json()["results"] == []


def test_the_availability_filter(http: httpx.Client) -> None:
    def found(value: str) -> set[str]:
        body = http.get("/api/search", params={"q": "TACE doxorubicin beads", "available_in": value}).json()
        return {r["section"] for r in body["results"]}

    assert found("vn") == {"indications", "deb-tace"}  # available or limited there
    assert found("vn:limited") == {"deb-tace"}
    assert found("cn:available") == {"indications", "deb-tace"}
    assert found("vn:unavailable") == set()


def test_unfiltered_results_still_carry_their_blocks(http: httpx.Client) -> None:
    body = http.get("/api/search?q=DEB-TACE doxorubicin&lang=vi").json()
    deb = next(r for r in body["results"] if r["section"] == "deb-tace")
    assert deb["recommendations"] == [{"grade": None, "cn": "available", "vn": "limited"}]


@pytest.mark.parametrize(("query", "field"), [("grade=who", "grade"), ("grade=nccn:4", "grade"),
                                               ("available_in=th", "available_in"),
                                               ("available_in=vn:maybe", "available_in")])
def test_bad_filters_are_422_naming_the_field(http: httpx.Client, query: str, field: str) -> None:
    response = http.get("/api/search?q=TACE&" + query)
    assert response.status_code == 422 and response.json()["error"]["field"] == field


def test_the_search_page_filters_and_shows_badges_in_the_ui_language(http: httpx.Client) -> None:
    page = soup(http.get("/search?q=TACE&grade=nccn&ui=vi"))
    results = page.select("li.result")
    assert [r["data-section"] for r in results] == ["indications"]
    badges = [b.get_text() for b in results[0].select(".result-recs .rec-badge")]
    assert badges == ["NCCN 2A", "Trung Quốc: có sẵn", "Việt Nam: có sẵn"]
    assert page.select_one("#grade option[selected]")["value"] == "nccn"
    bad = soup(http.get("/search?q=TACE&available_in=mars&ui=en"))
    assert "mars" in bad.select_one(".notice-warning").get_text() and bad.select("li.result")


@pytest.mark.parametrize(("ui", "expected"), [("zh", "中国: 可及"), ("en", "China: available"),
                                              ("vi", "Trung Quốc: có sẵn")])
def test_reading_and_side_by_side_views_show_translated_badges(http: httpx.Client, ui: str, expected: str) -> None:
    for url in ("/modules/liver-tace/vi", "/compare/liver-tace?langs=zh,en,vi"):
        page = soup(http.get(url + ("&" if "?" in url else "?") + "ui=" + ui))
        assert "{rec" not in page.get_text()
        spans = page.select('span.rec[data-grade="nccn:2A"]')
        assert spans and expected in spans[0].get_text(" ")
        assert spans[0].select_one(".rec-grade").get_text() == "NCCN 2A"
        assert spans[0].select_one(".rec-avail")["title"]  # the hint is there for the mouse and screen readers
    compare = soup(http.get("/compare/liver-tace?langs=zh,en,vi"))
    assert len(compare.select('span.rec[data-grade="nccn:2A"]')) == 3  # one per column


def test_the_change_log_renders_on_the_reading_view(http: httpx.Client) -> None:
    page = soup(http.get("/modules/liver-tace/vi?ui=vi"))
    entries = page.select("details.changes li")
    assert [e.select_one(".change-version").get_text() for e in entries] == ["1.1", "1.0"]
    assert "Đánh dấu mức khuyến cáo" in entries[0].get_text()
    since = soup(http.get("/modules/liver-tace/vi?since=1.0&ui=en"))
    assert [e.select_one(".change-version").get_text() for e in since.select("details.changes li")] == ["1.1"]
    assert "since version 1.0" in since.select_one("details.changes summary").get_text()
    assert soup(http.get("/modules/cancer-pain/en")).select_one("details.changes") is None  # no log, no box


def test_the_module_api_gives_the_change_log(http: httpx.Client) -> None:
    body = http.get("/api/modules/liver-tace/zh").json()
    assert [c["version"] for c in body["changes"]] == ["1.1", "1.0"] and body["changes"][0]["summary"]
    assert http.get("/api/modules/cancer-pain/en").json()["changes"] == []
