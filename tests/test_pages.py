"""The HTML pages as a specification, read with BeautifulSoup over a real HTTP server on the fixture index:
every page in every UI language, search without JavaScript, the reading and side-by-side views, escaping,
security headers and error pages."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from bs4 import BeautifulSoup

from kb.search import SearchResponse
from kb.settings import Settings
from kb.web.i18n import COOKIE, compile_catalogs
from kb.web.templating import highlight

LOCALES = ("zh", "en", "vi")
PAGES = [
    "/",
    "/search?q=morphine",
    "/modules",
    "/modules/liver-tace/en",
    "/modules/cancer-pain/vi",
    "/compare/cancer-pain?langs=vi,zh",
    "/compare/liver-tace?langs=zh,en,vi",
    "/search?q=TACE&grade=any",
    "/glossary?q=tao+bon",
    "/glossary?lang=zh&letter=B",
    "/glossary/print?pair=zh-vi",
    "/translate",
    "/translate/cancer-pain/zh",
]
# The nav labels and site name, per UI language: if these show, the catalog of that language is in use.
NAV = {"zh": ("搜索", "专题", "术语表", "翻译", "课程"),
       "en": ("Search", "Modules", "Glossary", "Translation", "Courses"),
       "vi": ("Tìm kiếm", "Chuyên đề", "Thuật ngữ", "Bản dịch", "Khóa học")}
SITE = {"zh": "肿瘤诊疗指南库", "en": "Oncology Guideline Library", "vi": "Thư viện hướng dẫn ung bướu"}
NOT_FOUND = {"zh": "页面未找到", "en": "Page not found", "vi": "Không tìm thấy trang"}
SECURITY_HEADERS = ("content-security-policy", "x-content-type-options", "x-frame-options", "referrer-policy")


@pytest.fixture(scope="session", autouse=True)
def compiled_catalogs() -> None:
    """The .mo files `make install` builds, so running pytest alone after editing a .po tests the edit."""
    compile_catalogs(Settings().translations_dir)


def soup_of(response: httpx.Response) -> BeautifulSoup:
    assert response.headers["content-type"].startswith("text/html")
    return BeautifulSoup(response.text, "html.parser")


def get(http: httpx.Client, url: str, ui: str | None = None, **kwargs: object) -> httpx.Response:
    if ui:
        url += ("&" if "?" in url else "?") + f"ui={ui}"
    return http.get(url, **kwargs)


def text_of(node: object) -> str:
    return " ".join(node.get_text(" ").split())  # type: ignore[attr-defined]


# --- every page, every language ---

@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("url", PAGES)
def test_every_page_renders_in_every_ui_language(http: httpx.Client, url: str, locale: str) -> None:
    response = get(http, url, locale)
    assert response.status_code == 200
    assert response.headers["content-language"] == locale
    soup = soup_of(response)
    assert soup.html["lang"] == locale
    nav = [text_of(a) for a in soup.select(".site-nav a")]
    assert nav == list(NAV[locale])
    assert SITE[locale] in soup.title.string
    switch = soup.select(".ui-switch a[data-ui]")
    assert [a["data-ui"] for a in switch] == list(LOCALES)
    assert [a["data-ui"] for a in switch if a.get("aria-current") == "true"] == [locale]


@pytest.mark.parametrize("url", PAGES)
def test_pages_need_no_inline_script_or_style(http: httpx.Client, url: str) -> None:
    """The CSP allows scripts and styles from files only: no inline code, style attributes or handlers."""
    soup = soup_of(get(http, url))
    for script in soup.find_all("script"):
        assert script.get("src", "").startswith("/static/"), script
    assert not soup.find_all("style")
    for tag in soup.find_all(True):
        assert "style" not in tag.attrs, tag.name
        assert not [a for a in tag.attrs if a.lower().startswith("on")], tag.name
    for link in soup.select("link[href], script[src], img[src]"):
        ref = link.get("href") or link.get("src")
        assert ref.startswith("/"), f"external resource {ref}"


@pytest.mark.parametrize("url", PAGES)
def test_ids_are_unique_and_links_to_sections_resolve(http: httpx.Client, url: str) -> None:
    soup = soup_of(get(http, url))
    ids = [tag["id"] for tag in soup.find_all(id=True)]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    for a in soup.select('a[href^="#"]'):
        assert a["href"][1:] in ids, a["href"]


@pytest.mark.parametrize("url", [*PAGES, "/static/app.css", "/nope", "/api/health"])
def test_security_headers_on_every_response(http: httpx.Client, url: str) -> None:
    response = http.get(url)
    for header in SECURITY_HEADERS:
        assert header in response.headers, (url, header)
    assert "script-src 'self'" in response.headers["content-security-policy"]


def test_static_files_are_served_with_versioned_urls(http: httpx.Client) -> None:
    soup = soup_of(http.get("/"))
    css = soup.select_one("link[rel=stylesheet]")["href"]
    assert re.fullmatch(r"/static/app\.css\?v=[0-9a-f]{10}", css)
    response = http.get(css)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/css")
    for script in soup.find_all("script"):
        assert http.get(script["src"]).status_code == 200
    assert http.get(soup.select_one("link[rel=icon]")["href"]).status_code == 200


# --- UI language negotiation ---

def test_ui_language_from_accept_language(http: httpx.Client) -> None:
    soup = soup_of(http.get("/modules", headers={"Accept-Language": "vi-VN,vi;q=0.9,en;q=0.5"}))
    assert soup.html["lang"] == "vi"
    soup = soup_of(http.get("/modules", headers={"Accept-Language": "fr-FR, zh-CN;q=0.8"}))
    assert soup.html["lang"] == "zh"


def test_default_ui_language_is_english(http: httpx.Client) -> None:
    assert soup_of(http.get("/modules", headers={"Accept-Language": "fr"})).html["lang"] == "en"


def test_ui_query_sets_a_cookie_that_wins_over_accept_language(live_server: str) -> None:
    with httpx.Client(base_url=live_server) as client:
        response = client.get("/modules?ui=zh", headers={"Accept-Language": "vi"})
        assert soup_of(response).html["lang"] == "zh"
        cookie = response.headers["set-cookie"]
        assert cookie.startswith(f"{COOKIE}=zh")
        assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
        # The client keeps the cookie: the next page, without ?ui=, stays in Chinese.
        assert soup_of(client.get("/", headers={"Accept-Language": "vi"})).html["lang"] == "zh"
        # ?ui= wins over the cookie, and an unknown ?ui= is ignored.
        assert soup_of(client.get("/?ui=vi")).html["lang"] == "vi"
        assert soup_of(client.get("/?ui=xx")).html["lang"] == "vi"
        assert "set-cookie" not in client.get("/?ui=xx").headers


def test_language_switcher_keeps_the_page_and_query(http: httpx.Client) -> None:
    soup = soup_of(http.get("/search?q=morphine&lang=vi"))
    link = soup.select_one('.ui-switch a[data-ui="zh"]')["href"]
    parts = urlsplit(link)
    assert parts.path == "/search"
    assert parse_qs(parts.query) == {"q": ["morphine"], "lang": ["vi"], "ui": ["zh"]}


def test_language_switcher_links_stay_on_this_site(http: httpx.Client) -> None:
    for path in ("//evil.example/x", "/\\evil.example/x"):
        response = http.get(http.base_url.copy_with(raw_path=path.encode()))
        assert response.status_code == 404
        soup = soup_of(response)
        for a in soup.select(".ui-switch a"):
            assert a["href"].startswith("/") and not a["href"].startswith(("//", "/\\")), a["href"]


# --- search ---

def test_home_page_has_the_search_form_and_module_list(http: httpx.Client) -> None:
    soup = soup_of(get(http, "/", "en"))
    form = soup.select_one("form#search-form")
    assert form["method"] == "get" and form["action"] == "/search"
    assert soup.select_one("input#q[name=q]") is not None
    assert [o["value"] for o in soup.select("select#lang option")] == ["", "zh", "en", "vi"]
    assert [o["value"] for o in soup.select("select#module option")] == ["", "cancer-pain", "liver-tace"]
    assert not soup.select(".result")
    assert len(soup.select(".browse-list li")) == 2


def test_search_results_without_javascript(http: httpx.Client) -> None:
    soup = soup_of(get(http, "/search?q=morphine", "en"))
    results = soup.select("ol.result-list > li.result")
    assert results
    first = results[0]
    module, section, lang = first["data-module"], first["data-section"], first["data-lang"]
    assert text_of(first.select_one(".result-heading"))
    assert first.select_one(".snippet mark") is not None, "matched terms are highlighted"
    assert "morphine" in text_of(first.select_one(".snippet mark")).lower()
    badges = [a["lang"] for a in first.select(".badges a.badge")]
    assert lang in badges
    assert first.select_one(".badges a.is-current")["lang"] == lang
    assert first.select_one("a.action-read")["href"] == f"/modules/{module}/{lang}#{section}"
    compare = urlsplit(first.select_one("a.action-compare")["href"])
    assert compare.path == f"/compare/{module}" and compare.fragment == section
    assert parse_qs(compare.query)["langs"][0].split(",")[0] == lang
    assert soup.select_one("input#q")["value"] == "morphine"


def test_search_page_and_api_make_the_same_search(http: httpx.Client) -> None:
    for query in ("morphine", "TACE&lang=vi", "吗啡&module=cancer-pain"):
        page = soup_of(http.get(f"/search?q={query}"))
        api = http.get(f"/api/search?q={query}").json()
        shown = [(li["data-module"], li["data-section"], li["data-lang"]) for li in page.select("li.result")]
        assert shown == [(r["module"], r["section"], r["lang"]) for r in api["results"]]


def test_result_module_titles_are_in_the_ui_language(http: httpx.Client) -> None:
    titles = {"zh": "癌痛与阿片类药物滴定", "en": "Cancer pain and opioid titration",
              "vi": "Đau do ung thư và chuẩn độ opioid"}
    for locale, title in titles.items():
        soup = soup_of(get(http, "/search?q=morphine&module=cancer-pain", locale))
        assert {text_of(p) for p in soup.select(".result-module")} == {title}


def test_filters_restrict_results_and_stay_selected(http: httpx.Client) -> None:
    soup = soup_of(http.get("/search?q=TACE&lang=vi&module=liver-tace"))
    results = soup.select("li.result")
    assert results and {(r["data-lang"], r["data-module"]) for r in results} == {("vi", "liver-tace")}
    assert soup.select_one("select#lang option[selected]")["value"] == "vi"
    assert soup.select_one("select#module option[selected]")["value"] == "liver-tace"


def test_query_text_is_escaped(http: httpx.Client) -> None:
    attack = "<script>alert(1)</script>"
    response = http.get("/search", params={"q": attack})
    assert response.status_code == 200
    assert attack not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
    soup = soup_of(response)
    assert soup.select_one("input#q")["value"] == attack
    assert all(s.get("src") for s in soup.find_all("script"))


def test_highlight_escapes_snippets_and_marks_spans() -> None:
    assert highlight("a <b> c", [[2, 5]]) == "a <mark>&lt;b&gt;</mark> c"
    assert highlight("morphine 5 mg", [[0, 8], [3, 5], [20, 30], [9, 8]]) == "<mark>morphine</mark> 5 mg"
    assert highlight("<i>", None) == "&lt;i&gt;"


def test_empty_result_says_so_and_suggests_removing_filters(http: httpx.Client, searcher,  # noqa: ANN001
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    def no_hits(q: str, lang: str | None = None, module: str | None = None, k: int = 10,
                **filters: str | None) -> SearchResponse:
        return SearchResponse(q, [], lang, module, k)

    monkeypatch.setattr(searcher, "search", no_hits)
    soup = soup_of(get(http, "/search?q=nothing&lang=vi&module=cancer-pain", "en"))
    empty = soup.select_one("#results .empty-state")
    assert empty is not None and "No matching sections" in text_of(empty)
    hint = [p for p in empty.select("[data-hint=filters]") if not p.has_attr("hidden")]
    assert hint and "Try removing a filter" in text_of(hint[0])
    clear = empty.select_one("a[data-clear-filters]")["href"]
    assert parse_qs(urlsplit(clear).query) == {"q": ["nothing"]}
    soup = soup_of(get(http, "/search?q=nothing", "vi"))
    words = soup.select_one("#results .empty-state [data-hint=words]")
    assert not words.has_attr("hidden") and "Không có kết quả" in text_of(words)


def test_unknown_filters_are_ignored_with_a_notice(http: httpx.Client) -> None:
    soup = soup_of(get(http, "/search?q=morphine&lang=fr&module=nope", "en"))
    notices = [text_of(n) for n in soup.select(".notice")]
    assert any("fr" in n for n in notices) and any("nope" in n for n in notices)
    assert soup.select("li.result")


def test_too_long_query_is_a_readable_error(http: httpx.Client) -> None:
    response = http.get("/search", params={"q": "x" * 600, "ui": "zh"})
    assert response.status_code == 422
    assert "查询内容过长" in text_of(soup_of(response).select_one(".notice-error"))


# --- module list ---

@pytest.mark.parametrize(("locale", "title", "updated", "status"), [
    ("en", "Cancer pain and opioid titration", "Oct 15, 2026", "Reviewed"),
    ("zh", "癌痛与阿片类药物滴定", "2026年10月15日", "已审核"),
    ("vi", "Đau do ung thư và chuẩn độ opioid", "15 thg 10, 2026", "Đã thẩm định"),
])
def test_module_list_in_the_ui_language(http: httpx.Client, locale: str, title: str, updated: str,
                                        status: str) -> None:
    soup = soup_of(get(http, "/modules", locale))
    cards = {li["data-module"]: li for li in soup.select(".module-card")}
    assert set(cards) == {"cancer-pain", "liver-tace"}
    card = cards["cancer-pain"]
    assert text_of(card.select_one(".module-title")) == title
    assert card.select_one(".module-title a")["href"] == f"/modules/cancer-pain/{locale}"
    assert [a["lang"] for a in card.select(".lang-links a")] == ["zh", "en", "vi"]
    assert text_of(card.select_one("time")) == updated
    assert text_of(card.select_one(".status")) == status
    assert "1.1" in text_of(card)


# --- reading view ---

def test_reading_view(http: httpx.Client) -> None:
    soup = soup_of(get(http, "/modules/cancer-pain/vi", "en"))
    article = soup.select_one("article.document")
    assert text_of(article.select_one("h1")) == "Đau do ung thư và chuẩn độ opioid"
    assert article.select_one("h1")["lang"] == "vi"
    toc = [a["href"] for a in soup.select(".toc a")]
    assert toc == ["#assessment", "#titration", "#doc-sources"]
    for section_id in ("assessment", "titration"):
        heading = soup.find(id=section_id)
        assert heading.name == "h2"
        assert heading.find_parent("section")["data-section"] == section_id
    meta = text_of(article.select_one(".meta"))
    assert "Version 1.1" in meta and "Oct 15, 2026" in meta and "Reviewed" in meta and "English" in meta
    assert "World Health Organization" in text_of(soup.select_one("#doc-sources"))
    disclaimer = soup.select_one(".disclaimer")
    assert "Tài liệu đào tạo" in text_of(disclaimer) and disclaimer.select_one("p")["lang"] == "vi"
    assert [a["lang"] for a in soup.select(".read-in a")] == ["zh", "en"]


def test_reading_view_links_each_section_to_its_other_languages(http: httpx.Client) -> None:
    soup = soup_of(http.get("/modules/cancer-pain/zh"))
    links = {s["data-section"]: [a["href"] for a in s.select(".section-links a[hreflang]")]
             for s in soup.select("section.doc-section")}
    assert links["assessment"] == ["/modules/cancer-pain/en#assessment", "/modules/cancer-pain/vi#assessment"]
    assert links["side-effects"] == ["/modules/cancer-pain/en#side-effects"], "vi has no side-effects section"
    compare = soup.select_one('section[data-section="side-effects"] a.section-compare')["href"]
    assert compare.startswith("/compare/cancer-pain?langs=zh,") and compare.endswith("#side-effects")


def test_reading_view_marks_flagged_sections(http: httpx.Client) -> None:
    soup = soup_of(get(http, "/modules/cancer-pain/zh", "zh"))
    assert soup.select_one('section[data-section="assessment"] .flag-outdated') is not None
    assert "译文已过时" in text_of(soup.select_one(".flag-outdated"))
    soup = soup_of(get(http, "/modules/cancer-pain/vi", "en"))
    assert "Check the numbers" in text_of(soup.select_one('section[data-section="titration"] .flag-numbers'))


def test_module_without_language_redirects_to_the_ui_language(http: httpx.Client) -> None:
    response = http.get("/modules/liver-tace?ui=vi")
    assert response.status_code == 307 and response.headers["location"] == "/modules/liver-tace/vi"


# --- side-by-side view ---

def test_side_by_side_columns_and_rows(http: httpx.Client) -> None:
    soup = soup_of(get(http, "/compare/cancer-pain?langs=vi,zh", "en"))
    assert [h["lang"] for h in soup.select(".compare-head .col-head")] == ["vi", "zh"]
    rows = soup.select("section.compare-row")
    assert [r["id"] for r in rows] == ["assessment", "titration", "side-effects"]
    for row in rows:
        assert row["data-section"] == row["id"]
        assert [c["lang"] for c in row.select(".cell")] == ["vi", "zh"]
    gap = soup.select_one("#side-effects .cell-gap")
    assert gap["lang"] == "vi" and gap["data-missing"] == "true"
    assert "Tiếng Việt" in text_of(gap)
    outdated = soup.select_one("#assessment .cell.cell-outdated")
    assert outdated["lang"] == "zh" and "Outdated translation" in text_of(outdated)
    assert soup.select_one("#titration .cell[lang=vi] .flag-numbers") is not None
    summary = text_of(soup.select_one(".compare-summary"))
    assert "3 sections" in summary and "1 missing" in summary and "1 outdated" in summary


def test_side_by_side_three_languages_in_url_order(http: httpx.Client) -> None:
    soup = soup_of(http.get("/compare/liver-tace?langs=en,vi,zh"))
    assert [h["lang"] for h in soup.select(".col-head")] == ["en", "vi", "zh"]
    assert "compare-cols-3" in soup.select_one(".compare")["class"]
    assert len(soup.select("#indications .cell")) == 3


def test_side_by_side_accepts_the_no_javascript_form(http: httpx.Client) -> None:
    soup = soup_of(http.get("/compare/liver-tace?langs=zh&langs=vi"))
    assert [h["lang"] for h in soup.select(".col-head")] == ["zh", "vi"]
    checked = [i["value"] for i in soup.select("#lang-picker input[checked]")]
    assert checked == ["zh", "vi"]


@pytest.mark.parametrize("langs", ["vi", "vi,vi", ""])
def test_side_by_side_falls_back_to_all_languages(http: httpx.Client, langs: str) -> None:
    soup = soup_of(get(http, f"/compare/liver-tace?langs={langs}", "en"))
    assert [h["lang"] for h in soup.select(".col-head")] == ["zh", "en", "vi"]
    notices = [text_of(n) for n in soup.select(".notice")]
    assert notices == (["Choose two or three languages to compare."] if langs else [])


def test_side_by_side_ignores_repeated_languages(http: httpx.Client) -> None:
    soup = soup_of(http.get("/compare/liver-tace?langs=vi,zh,vi,en,zh"))
    assert [h["lang"] for h in soup.select(".col-head")] == ["vi", "zh", "en"]


def test_side_by_side_unknown_language_or_module_is_404(http: httpx.Client) -> None:
    response = get(http, "/compare/liver-tace?langs=vi,xx", "vi")
    assert response.status_code == 404
    assert NOT_FOUND["vi"] in text_of(soup_of(response).select_one("h1"))
    assert get(http, "/compare/nope?langs=vi,zh").status_code == 404


# --- errors ---

@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("url", ["/nope", "/modules/nope/en", "/modules/liver-tace/fr", "/static/nope.css"])
def test_not_found_pages_in_the_ui_language(http: httpx.Client, url: str, locale: str) -> None:
    response = get(http, url, locale)
    assert response.status_code == 404
    soup = soup_of(response)
    assert soup.html["lang"] == locale
    assert text_of(soup.select_one("h1")) == NOT_FOUND[locale]


def test_not_found_follows_accept_language(http: httpx.Client) -> None:
    response = http.get("/nope", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert response.status_code == 404 and NOT_FOUND["zh"] in response.text


def test_missing_language_lists_the_available_ones(http: httpx.Client) -> None:
    soup = soup_of(http.get("/modules/liver-tace/fr"))
    assert [a["href"] for a in soup.select(".error-links a")] == [f"/modules/liver-tace/{L}" for L in LOCALES]


def test_api_errors_stay_json(http: httpx.Client) -> None:
    response = http.get("/api/nope")
    assert response.status_code == 404 and response.headers["content-type"].startswith("application/json")


def test_a_crash_is_a_500_page_without_traceback(knowledge_base) -> None:  # noqa: ANN001
    from starlette.testclient import TestClient

    from kb.web.app import create_app

    app = create_app(knowledge_base)

    @app.get("/crash")
    def crash() -> None:
        raise RuntimeError("secret internals")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/crash?ui=vi")
    assert response.status_code == 500
    assert "secret internals" not in response.text and "Traceback" not in response.text
    soup = soup_of(response)
    assert soup.html["lang"] == "vi" and text_of(soup.select_one("h1")) == "Đã xảy ra lỗi"
    for header in SECURITY_HEADERS:
        assert header in response.headers


def test_a_blank_query_leaves_no_dash_in_the_title(http: httpx.Client) -> None:
    title = soup_of(get(http, "/search?q=%20%20", "vi")).title.get_text()
    assert title.startswith("Tìm kiếm"), title
    assert soup_of(get(http, "/search?q=%20morphine%20", "en")).title.get_text().startswith("morphine – ")
