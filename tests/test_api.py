"""The JSON API through a real HTTP client against a real uvicorn server."""

from __future__ import annotations

import httpx
import pytest


def test_health_names_the_index(http: httpx.Client) -> None:
    body = http.get("/api/health").json()
    assert body["status"] == "ok"
    assert body["index"]["embedder"] == "e5-small-q4-ort" and body["index"]["documents"] == 6


def test_search_shape(http: httpx.Client) -> None:
    r = http.get("/api/search", params={"q": "ung thu gan", "lang": "vi", "k": 3})
    assert r.status_code == 200
    body = r.json()
    assert body["query"] == "ung thu gan"
    first = body["results"][0]
    assert {"module", "section", "lang", "title", "heading", "score", "snippet", "languages"} <= set(first)
    assert all(res["lang"] == "vi" for res in body["results"]) and len(body["results"]) <= 3


def test_search_is_cross_lingual_over_http(http: httpx.Client) -> None:
    body = http.get("/api/search", params={"q": "hạt vi cầu tải thuốc", "lang": "zh"}).json()
    assert (body["results"][0]["module"], body["results"][0]["section"]) == ("liver-tace", "deb-tace")
    assert body["results"][0]["lang"] == "zh"


@pytest.mark.parametrize("params, field", [
    ({"q": ""}, "q"), ({}, "q"), ({"q": "x" * 501}, "q"), ({"q": "tace", "k": 0}, "k"),
    ({"q": "tace", "k": 51}, "k"), ({"q": "tace", "k": "many"}, "k"), ({"q": "tace", "lang": "fr"}, "lang"),
    ({"q": "tace", "module": "unknown"}, "module"),
])
def test_bad_search_parameters_are_4xx_naming_the_field(http: httpx.Client, params: dict, field: str) -> None:
    r = http.get("/api/search", params=params)
    assert 400 <= r.status_code < 500
    assert r.json()["error"]["field"] == field


def test_modules_list(http: httpx.Client) -> None:
    modules = {m["module"]: m for m in http.get("/api/modules").json()["modules"]}
    assert set(modules) == {"liver-tace", "cancer-pain"}
    m = modules["cancer-pain"]
    assert m["languages"] == ["zh", "en", "vi"] and m["status"] == "reviewed" and m["version"] == "1.1"
    assert m["titles"]["vi"] == "Đau do ung thư và chuẩn độ opioid"


def test_module_document_has_html_and_sections(http: httpx.Client) -> None:
    body = http.get("/api/modules/liver-tace/zh").json()
    assert body["title"].startswith("肝癌")
    assert '<h2 id="indications">适应证</h2>' in body["html"]
    assert [s["id"] for s in body["sections"]][:3] == ["overview", "indications", "contraindications"]
    assert body["sections"][2]["parent"] == "indications"
    outdated = http.get("/api/modules/cancer-pain/zh").json()["sections"][0]
    assert "outdated" in outdated["flags"]


def test_raw_html_in_content_is_never_passed_through(http: httpx.Client) -> None:
    for lang in ("zh", "en", "vi"):
        assert "<script" not in http.get(f"/api/modules/liver-tace/{lang}").text


@pytest.mark.parametrize("path, field", [("/api/modules/nope/en", "module"), ("/api/modules/liver-tace/fr", "lang")])
def test_unknown_module_or_language_is_404(http: httpx.Client, path: str, field: str) -> None:
    r = http.get(path)
    assert r.status_code == 404 and r.json()["error"]["field"] == field


def test_security_headers(http: httpx.Client) -> None:
    h = http.get("/api/health").headers
    assert "default-src 'self'" in h["content-security-policy"]
    assert h["x-content-type-options"] == "nosniff"
