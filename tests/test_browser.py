"""The pages in headless Chromium (Debian's, never a downloaded one) through Playwright's sync API, against
the real server on the fixture index: search as you type, following a result to the side-by-side view,
switching its languages, the UI language switch, the large-type toggle, and no console errors on any page."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

pytestmark = pytest.mark.browser

PAGES = [
    "/",
    "/search?q=morphine",
    "/search?q=%E5%90%97%E5%95%A1&lang=vi",
    "/modules",
    "/modules/liver-tace/zh",
    "/modules/cancer-pain/vi#titration",
    "/compare/cancer-pain?langs=vi,zh#side-effects",
    "/compare/liver-tace?langs=zh,en,vi&ui=vi",
    "/glossary?q=tao+bon",
    "/glossary/print?pair=vi-zh",
]


class Tab:
    """A page plus what it reported: console errors, uncaught exceptions, and every URL it requested."""

    def __init__(self, page) -> None:  # noqa: ANN001
        self.page = page
        self.errors: list[str] = []
        self.requests: list[str] = []
        page.on("console", lambda m: self.errors.append(f"console: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.on("request", lambda r: self.requests.append(r.url))

    def searches(self) -> list[str]:
        return [u for u in self.requests if urlsplit(u).path == "/api/search"]


@pytest.fixture()
def tab(browser, live_server: str) -> Iterator[Tab]:  # noqa: ANN001
    context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 800},
                                  locale="en-US")
    context.set_default_timeout(10_000)
    yield Tab(context.new_page())
    context.close()


def expect(target):  # noqa: ANN001, ANN201
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


# --- search ---

def test_search_as_you_type(tab: Tab, http: httpx.Client) -> None:
    page = tab.page
    page.goto("/")
    page.evaluate("window.notReloaded = true")
    page.locator("#q").press_sequentially("morphine", delay=30)
    results = page.locator("#results li.result")
    expect(results.first).to_be_visible()
    expect(page).to_have_url(re.compile(r"/search\?q=morphine$"))
    assert page.evaluate("window.notReloaded") is True, "results came without reloading the page"
    assert len(tab.searches()) == 1, "typing is debounced into one request"

    api = http.get("/api/search", params={"q": "morphine"}).json()["results"]
    assert results.count() == len(api)
    shown = [results.nth(i).get_attribute("data-section") for i in range(len(api))]
    assert shown == [r["section"] for r in api]
    expect(results.first.locator(".snippet mark").first).to_be_visible()
    typed = " ".join(page.locator("#results").inner_text().split())

    # The shared URL shows the same results, rendered by the server.
    page.reload()
    assert " ".join(page.locator("#results").inner_text().split()) == typed

    # A filter searches again at once and is kept in the URL.
    page.locator("#lang").select_option("vi")
    expect(page).to_have_url(re.compile(r"/search\?q=morphine&lang=vi$"))
    expect(results.first).to_have_attribute("data-lang", "vi")
    assert {results.nth(i).get_attribute("data-lang") for i in range(results.count())} == {"vi"}

    page.locator("#q").fill("")
    expect(results).to_have_count(0)
    expect(page).to_have_url(re.compile(r"/search\?lang=vi$"))
    assert not tab.errors


def test_search_as_you_type_says_when_nothing_matches_well(tab: Tab) -> None:
    page = tab.page
    page.goto("/?ui=vi")
    page.locator("#q").fill("how to bake sourdough bread")
    weak = page.locator("#results .notice-weak")
    expect(weak).to_contain_text("Không có phần nào khớp tốt")
    expect(weak.locator(".notice-hint")).to_contain_text("Hãy thêm một vài từ")  # what to try, as the server says
    expect(page.locator("#results li.result").first).to_be_visible()  # the closest sections are still listed
    count = page.locator("#results .result-count")
    expect(count).to_contain_text("gần nhất")  # the closest sections, not "matching" ones
    has_vi = page.locator("#results li.result:has(.badges a[lang=vi])")  # shown in the reader's language
    expect(has_vi.first).to_have_attribute("data-lang", "vi")
    assert set(has_vi.evaluate_all("els => els.map(e => e.dataset.lang)")) == {"vi"}
    page.reload()  # the server renders the same note in the same place
    expect(weak).to_contain_text("Không có phần nào khớp tốt")
    expect(count).to_contain_text("gần nhất")
    page.locator("#q").fill("opioid titration")
    expect(page.locator("#results li.result[data-section=titration]").first).to_be_visible()
    expect(weak).to_have_count(0)
    expect(count).to_contain_text("phù hợp")
    expect(page.locator("#results li.result").first.locator(".result-heading mark").first).to_be_visible()
    page.locator("#q").fill("chuan do opioid")  # typed without diacritics: the page says how it was read
    expect(page.locator("#results .result-restored")).to_contain_text("chuẩn độ opioid")
    page.locator("#results .result-restored a").click()  # the reader meant exactly what they typed
    expect(page.locator("#results .result-restored")).to_contain_text("không tự thêm dấu")
    assert "as_typed=1" in page.url
    page.locator("#q").fill("chuan do opioid morphine")  # a new query is restored again
    expect(page.locator("#results .result-restored")).to_contain_text("Đã tự thêm dấu khi tìm")
    expect(page).not_to_have_url(re.compile("as_typed"))
    assert not tab.errors


def test_search_results_from_the_api_are_text_never_html(tab: Tab) -> None:
    page = tab.page
    attack = '<img src=x onerror="document.title=1">'
    result = {"module": "liver-tace", "section": "overview", "lang": "en", "title": attack, "heading": attack,
              "score": 1.0, "snippet": f"before {attack} after", "languages": ["en", "vi"],
              "highlights": [[7, 11]], "url": "/modules/liver-tace/en#overview"}
    page.route(lambda url: "/api/search" in url, lambda route: route.fulfill(
        json={"query": "x", "results": [result], "lang": None, "module": None, "k": 10}))
    page.goto("/")
    page.locator("#q").fill(attack)
    heading = page.locator("#results .result-heading a")
    expect(heading).to_have_text(attack)
    assert page.locator("#results img").count() == 0
    expect(page.locator("#results .snippet mark")).to_have_text("<img")
    assert page.locator("#results .action-compare").get_attribute("href") == (
        "/compare/liver-tace?langs=en,vi#overview")
    assert not tab.errors


def test_empty_result_suggests_removing_filters(tab: Tab) -> None:
    page = tab.page
    page.route(lambda url: "/api/search" in url, lambda route: route.fulfill(
        json={"query": "x", "results": [], "lang": None, "module": None, "k": 10}))
    page.goto("/search?lang=vi")
    page.locator("#q").fill("nothing")
    empty = page.locator("#results .empty-state")
    expect(empty).to_be_visible()
    expect(empty.locator("[data-hint=filters]").first).to_be_visible()
    expect(empty.locator("[data-hint=words]")).to_be_hidden()
    empty.locator("[data-clear-filters]").click()
    expect(page.locator("#lang")).to_have_value("")
    expect(page).to_have_url(re.compile(r"/search\?q=nothing$"))
    expect(page.locator("#results [data-hint=words]")).to_be_visible()


def test_search_works_without_javascript(browser, live_server: str) -> None:  # noqa: ANN001
    context = browser.new_context(base_url=live_server, java_script_enabled=False)
    page = context.new_page()
    page.goto("/")
    page.locator("#q").fill("morphine")
    page.locator("#q").press("Enter")
    page.wait_for_url(re.compile(r"/search\?q=morphine"))
    expect(page.locator("#results li.result").first).to_be_visible()
    page.goto("/compare/liver-tace?langs=vi,zh")
    expect(page.locator("[data-large-type]")).to_be_hidden()
    page.get_by_label("English").check()
    page.locator("#lang-picker button[type=submit]").click()
    page.wait_for_url(re.compile(r"langs=zh&langs=en&langs=vi"))
    expect(page.locator(".col-head")).to_have_count(3)
    context.close()


# --- side-by-side ---

def landed_on(page, section: str) -> None:  # noqa: ANN001
    """Every column shows `section` at the top of the viewport, just below the sticky column heads (or as high
    as it goes, for the last rows of a page)."""
    page.wait_for_function("""(id) => {
        const row = document.getElementById(id).getBoundingClientRect();
        const head = document.querySelector('.compare-head').getBoundingClientRect();
        const atBottom = Math.abs(scrollY - (document.documentElement.scrollHeight - innerHeight)) < 2;
        const belowHead = row.top >= head.bottom - 1;
        return belowHead && (row.top - head.bottom < 24 || (atBottom && row.top < innerHeight));
    }""", arg=section)
    tops = page.evaluate("""(id) => Array.from(document.getElementById(id).querySelectorAll('.cell'))
        .map(c => Math.round(c.getBoundingClientRect().top))""", section)
    assert len(set(tops)) == 1 and 0 < tops[0] < 800, tops


def test_follow_a_result_to_the_side_by_side_view(tab: Tab) -> None:
    page = tab.page
    page.goto("/search?q=side+effects+laxative&module=cancer-pain")
    result = page.locator("li.result").first
    section = result.get_attribute("data-section")
    result.locator("a.action-compare").click()
    page.wait_for_url(re.compile(rf"/compare/cancer-pain\?langs=[a-z,]+#{section}$"))
    landed_on(page, section)
    cells = page.locator(f"#{section} .cell")
    langs = [cells.nth(i).get_attribute("lang") for i in range(cells.count())]
    assert langs == [h.get_attribute("lang") for h in page.locator(".col-head").all()]
    assert not tab.errors


def test_switch_languages_in_the_side_by_side_view(tab: Tab) -> None:
    page = tab.page
    page.goto("/compare/cancer-pain?langs=vi,zh#titration")
    landed_on(page, "titration")
    expect(page.locator("#lang-picker button[type=submit]")).to_be_hidden()
    expect(page.locator("#side-effects .cell-gap[lang=vi]")).to_be_visible()

    page.get_by_label("English").check()
    page.wait_for_url(re.compile(r"\?langs=vi,zh,en#titration$"))
    assert [h.get_attribute("lang") for h in page.locator(".col-head").all()] == ["vi", "zh", "en"]
    landed_on(page, "titration")

    page.get_by_label("中文").uncheck()
    page.wait_for_url(re.compile(r"\?langs=vi,en#titration$"))
    assert [h.get_attribute("lang") for h in page.locator(".col-head").all()] == ["vi", "en"]

    # Two columns is the minimum: unticking one more is refused, nothing reloads.
    page.evaluate("window.notReloaded = true")
    page.get_by_label("English").click()
    expect(page.get_by_label("English")).to_be_checked()
    assert page.evaluate("window.notReloaded") is True
    assert not tab.errors


def test_large_type_toggle_is_remembered(tab: Tab) -> None:
    page = tab.page
    page.goto("/compare/liver-tace?langs=vi,zh")
    html = page.locator("html")
    size = page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
    button = page.locator("[data-large-type]")
    expect(button).to_have_attribute("aria-pressed", "false")
    button.click()
    expect(html).to_have_class(re.compile(r"\blarge-type\b"))
    expect(button).to_have_attribute("aria-pressed", "true")
    assert page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)") > size * 1.2
    page.goto("/modules/liver-tace/vi")
    expect(html).to_have_class(re.compile(r"\blarge-type\b"))
    page.locator("[data-large-type]").click()
    page.reload()
    expect(html).not_to_have_class(re.compile(r"\blarge-type\b"))
    assert not tab.errors


# --- UI language ---

def test_ui_language_switch(tab: Tab) -> None:
    page = tab.page
    page.goto("/search?q=morphine")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.locator("#q").fill("TACE")
    expect(page).to_have_url(re.compile(r"q=TACE$"))
    page.locator('.ui-switch a[data-ui="zh"]').click()
    page.wait_for_url(re.compile(r"/search\?q=TACE&ui=zh$"))
    expect(page.locator("html")).to_have_attribute("lang", "zh")
    expect(page.locator(".site-nav a").first).to_have_text("搜索")
    expect(page.locator("#q")).to_have_value("TACE")
    expect(page.locator("li.result .result-module").first).to_contain_text("肝癌")
    # The choice is remembered for pages opened without ?ui=.
    page.goto("/modules")
    expect(page.locator("h1")).to_have_text("专题")
    page.locator('.ui-switch a[data-ui="vi"]').click()
    expect(page.locator("h1")).to_have_text("Chuyên đề")
    assert not tab.errors


# --- every page ---

@pytest.mark.parametrize("url", PAGES)
def test_no_console_errors_and_nothing_fetched_from_outside(tab: Tab, live_server: str, url: str) -> None:
    page = tab.page
    response = page.goto(url)
    assert response is not None and response.status == 200
    page.wait_for_load_state("load")
    assert not tab.errors, tab.errors
    outside = [u for u in tab.requests if not u.startswith(live_server)]
    assert not outside, outside
    assert json.loads(page.evaluate("JSON.stringify(document.documentElement.classList.contains('js'))"))


def test_grade_filter_as_you_type_shows_translated_badges(tab: Tab) -> None:
    page = tab.page
    page.goto("/?ui=vi")
    lede = page.locator(".search-hero .lede")
    expect(lede).to_be_visible()
    page.locator("#q").press_sequentially("TACE", delay=30)
    expect(page.locator("#results li.result").first).to_be_visible()
    expect(lede).to_be_hidden()  # the introduction gives way to the results, as on the server's /search page
    page.locator("#grade").select_option("nccn")
    expect(page).to_have_url(re.compile(r"grade=nccn"))
    results = page.locator("#results li.result")
    expect(results).to_have_count(1)
    assert results.first.get_attribute("data-section") == "indications"
    badges = results.first.locator(".result-recs .rec-badge")
    expect(badges).to_have_text(["NCCN 2A", "Trung Quốc: có sẵn", "Việt Nam: có sẵn"])
    typed = " ".join(page.locator("#results").inner_text().split())
    hints = badges.evaluate_all("els => els.map(e => e.title)")
    assert all(hints) and "Việt Nam" in hints[2]  # the hover hints, as the server writes them
    page.reload()  # the server renders the same results and badges for the shared URL
    assert " ".join(page.locator("#results").inner_text().split()) == typed
    assert badges.evaluate_all("els => els.map(e => e.title)") == hints
