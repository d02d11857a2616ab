"""The workbench pages over a real server: `/translate` (module x language status), the per-document list with
findings and the word-level source diff, and the status counts on the module list and the reading view."""

from __future__ import annotations

import httpx
from bs4 import BeautifulSoup

from kb.corpus import load_corpus
from kb.stamp import stamp
from tests.conftest import edit, until


def soup(response: httpx.Response) -> BeautifulSoup:
    assert response.status_code == 200, response.text[:300]
    return BeautifulSoup(response.text, "html.parser")


def text(node: object) -> str:
    return " ".join(node.get_text(" ").split()) if node is not None else ""  # type: ignore[attr-defined]


def test_dashboard_matrix(http: httpx.Client) -> None:
    page = soup(http.get("/translate", headers={"Accept-Language": "en"}))
    row = page.select_one('tr[data-module="cancer-pain"]')
    assert "status-outdated" in row.select_one('td[data-lang="zh"]')["class"]
    assert "status-missing" in row.select_one('td[data-lang="vi"]')["class"]
    assert "Missing sections: 1" in text(row.select_one('td[data-lang="vi"]'))
    assert "status-source" in row.select_one('td[data-lang="en"]')["class"]
    tace = page.select_one('tr[data-module="liver-tace"]')
    assert "status-complete" in tace.select_one('td[data-lang="vi"]')["class"]
    assert tace.select_one('td[data-lang="vi"] a')["href"] == "/translate/liver-tace/vi"


def test_document_page_lists_sections_with_their_findings(http: httpx.Client) -> None:
    page = soup(http.get("/translate/cancer-pain/vi", headers={"Accept-Language": "en"}))
    states = {li["data-section"]: li["class"] for li in page.select("li.workbench-section")}
    assert "state-missing" in states["side-effects"] and "state-not-stamped" in states["titration"]
    finding = page.select_one('li[data-section="titration"] .finding[data-rule="numbers"]')
    assert "20% -> 15%" in text(finding)
    assert page.select_one('li[data-section="side-effects"] .workbench-translation .empty') is not None
    assert http.get("/translate/nope/vi").status_code == 404
    assert http.get("/translate/cancer-pain/xx").status_code == 404


def test_counts_on_the_module_list_and_the_reading_view(http: httpx.Client) -> None:
    modules = soup(http.get("/modules", headers={"Accept-Language": "en"}))
    card = modules.select_one('li[data-module="cancer-pain"] .module-status[data-lang="zh"]')
    assert "Outdated: 1" in text(card) and card.select_one("a")["href"] == "/translate/cancer-pain/zh"
    assert modules.select_one('li[data-module="liver-tace"] .module-status') is None  # complete: nothing shown
    reading = soup(http.get("/modules/cancer-pain/vi", headers={"Accept-Language": "en"}))
    assert "Missing sections: 1" in text(reading.select_one(".doc-header .status-counts"))


def test_source_diff_of_an_outdated_section(live, fresh) -> None:  # noqa: ANN001
    kb, url = live
    stamp(load_corpus(fresh.content_dir), "liver-tace", "vi")
    edit(fresh, "up to 75 mg per vial and 150 mg per session", "up to 75 mg per vial and 120 mg per session")
    with httpx.Client(base_url=url, timeout=30, headers={"Accept-Language": "en"}) as client:
        def outdated() -> BeautifulSoup | None:
            page = soup(client.get("/translate/liver-tace/vi"))
            return page if page.select_one('li[data-section="deb-tace"].state-outdated') else None

        page = until(outdated)
        section = page.select_one('li[data-section="deb-tace"]')
        assert [text(d) for d in section.select(".source-diff del")] == ["150"]
        assert [text(i) for i in section.select(".source-diff ins")] == ["120"]
        assert "150 mg -> 120 mg" in text(section.select_one('.finding[data-rule="outdated"]'))
        # the translation still says 150 mg: the numbers check reads source -> translation
        assert "(source -> translation): 120 mg -> 150 mg" in text(section.select_one('.finding[data-rule="numbers"]'))


def test_the_reading_view_names_the_figure_to_check(http: httpx.Client) -> None:
    page = soup(http.get("/modules/cancer-pain/vi", headers={"Accept-Language": "en"}))
    flag = page.select_one('section[data-section="titration"] .flag-numbers')
    assert text(flag.select_one(".flag-detail")) == "20% -> 15%"
