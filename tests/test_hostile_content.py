"""Hostile content, as a probe from outside tried it: YAML alias bombs and recursive aliases in front matter and the
glossary, symlinks out of the content folder, folder symlinks, fifos and oversized files, outside links and
invisible-only queries. Each must end as a finding at the content path (or a 4xx naming the field), never as a
traceback, a hang, an out-of-memory or a server path in a response (docs/reliability.md, "Hostile input")."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import httpx
import pytest

from kb import store
from kb.build import build_index, fingerprint
from kb.cli import main
from kb.embedders import Embedder
from kb.markdown import render_html
from kb.settings import Settings

FIXTURES = Path(__file__).parent / "fixtures" / "guidelines"
BOMB = "\n".join(["a: &a [x, x, x, x, x, x, x, x, x]"] +
                 [f"{c}: &{c} [{', '.join(['*' + p] * 9)}]" for p, c in zip("abcdefgh", "bcdefghi", strict=True)])
"""Nine lines that a YAML loader expanding aliases turns into 9^9 (387 million) strings."""


@pytest.fixture()
def content(tmp_path: Path) -> Path:
    root = tmp_path / "guidelines"
    shutil.copytree(FIXTURES, root)
    return root


def _front_matter(path: Path, add: str, drop: str | None = None) -> None:
    """Insert YAML lines right after the opening '---' (line 2 on), dropping the field `drop`."""
    lines = path.read_text(encoding="utf-8").split("\n")
    kept = [ln for ln in lines[1:] if drop is None or not ln.startswith(drop + ":")]
    path.write_text("\n".join([lines[0], add, *kept]), encoding="utf-8")


def _check(root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["check", str(root)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.mark.parametrize(("add", "drop", "line", "message"), [
    (BOMB + "\nupdated: *i", "updated", 2, "anchor '&a' is not allowed"),
    (BOMB + "\nnotes: *i", None, 2, "anchor '&a' is not allowed"),
    ("reviewers: &r [*r]", None, 2, "anchor '&r' is not allowed"),
    ("updated: 2026-13-45", "updated", 2, "cannot read '2026-13-45': month must be in 1..12"),
    ("nested: " + "[" * 40 + "]" * 40, None, 2, "nested deeper than 16 levels"),
    ("? [a, b]\n: c", None, 2, "a key must be plain text"),
    ("note: \"\x07\"", None, 2, "control character U+0007"),
])
def test_hostile_front_matter_is_a_yaml_error_at_its_line(content: Path, capsys: pytest.CaptureFixture[str],
                                                          add: str, drop: str | None, line: int,
                                                          message: str) -> None:
    _front_matter(content / "cancer-pain" / "en.md", add, drop)
    code, out = _check(content, capsys)
    assert code == 1
    assert f"cancer-pain/en.md:{line}: error: yaml: invalid YAML in front matter: " in out and message in out
    assert "Traceback" not in out


def test_glossary_alias_bomb_is_an_error(content: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (content / "glossary.yaml").write_text(BOMB + "\nterms: *i\n", encoding="utf-8")
    code, out = _check(content, capsys)
    assert code == 1 and "glossary.yaml:1: error: yaml: invalid YAML: anchor '&a' is not allowed" in out


def test_oversized_module_file_is_refused_unread(content: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with (content / "cancer-pain" / "zh.md").open("a", encoding="utf-8") as handle:
        handle.write("x" * 2_100_000)
    code, out = _check(content, capsys)
    assert code == 1 and "cancer-pain/zh.md:1: error: size: file is larger than 2,000,000 bytes" in out


def test_symlink_out_of_the_content_folder_is_named_by_its_own_path(content: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    (content / "evil").mkdir()
    (content / "evil" / "en.md").symlink_to("/etc/passwd")
    code, out = _check(content, capsys)
    assert code == 1
    assert "evil/en.md:1: error: symlink: symlink to a file outside the content folder, not read" in out
    assert "/etc/passwd" not in out and "root:" not in out


def test_folder_symlink_is_reported_not_skipped(content: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copytree(FIXTURES / "liver-tace", tmp_path / "elsewhere")
    (content / "linked").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    code, out = _check(content, capsys)
    assert code == 1 and "linked:1: error: symlink: symlinked folder, not read" in out


def test_symlink_inside_the_content_folder_is_read(content: Path, capsys: pytest.CaptureFixture[str]) -> None:
    module = content / "liver-tace"
    shutil.move(module / "en.md", module / "en.txt")
    (module / "en.md").symlink_to(module / "en.txt")
    code, out = _check(content, capsys)
    assert code == 0 and "\n0 error(s)" in out and "6 file(s)" in out
    (module / "en.txt").unlink()  # now dangling: a broken link is a finding, not a crash
    code, out = _check(content, capsys)
    assert code == 1 and "liver-tace/en.md:1: error: symlink: broken symlink, not read" in out


def test_fifo_is_refused_without_blocking(content: Path, capsys: pytest.CaptureFixture[str]) -> None:
    os.mkfifo(content / "cancer-pain" / "fr.md")
    code, out = _check(content, capsys)
    assert code == 1 and "cancer-pain/fr.md:1: error: path: not a regular file, not read" in out
    fingerprint(content, "e5-small-q4-ort")  # the staleness check reads the same files: it must not block either


def test_build_over_hostile_content_indexes_the_rest_and_shows_no_server_path(
        content: Path, tmp_path: Path, embedder: Embedder) -> None:
    _front_matter(content / "cancer-pain" / "zh.md", BOMB + "\nnotes: *i")
    (content / "evil").mkdir()
    (content / "evil" / "en.md").symlink_to("/etc/passwd")
    settings = Settings(content_dir=content, index_dir=tmp_path / "index")
    report = build_index(settings, embedder, progress=False)
    assert report.manifest.documents == 5
    assert report.manifest.skipped == ["cancer-pain/zh.md", "evil/en.md"]
    db = sqlite3.connect(store.current_build(settings.index_dir) / "meta.sqlite")
    paths = [row[0] for row in db.execute("SELECT path || ' ' || message FROM findings")]
    assert paths and not [p for p in paths if str(tmp_path) in p or "/etc/passwd" in p]
    assert json.dumps(report.manifest.skipped).count("/") == 2


def test_outside_links_are_marked_and_outside_images_become_links() -> None:
    html = render_html("[WHO](https://who.int/x), [p](//evil.example/a), ![scan](http://t.example/p.png), "
                       "[local](/modules/tace) and [j](javascript:alert(1))")
    assert ('<a href="https://who.int/x" rel="noopener noreferrer" class="external" title="https://who.int/x">'
            'WHO<span class="external-mark" aria-hidden="true">↗</span></a>') in html
    assert '<a href="//evil.example/a" rel="noopener noreferrer" class="external"' in html
    assert "<img" not in html and '<a href="http://t.example/p.png" rel="noopener noreferrer"' in html
    assert '<a href="/modules/tace">local</a>' in html and "javascript:" not in html.split("[j]")[0]


@pytest.mark.parametrize("q", ["\u200b\u200c\u200d\ufeff", "\x00", " \u200b \t"])
def test_invisible_only_query_is_rejected_like_whitespace(http: httpx.Client, q: str) -> None:
    r = http.get("/api/search", params={"q": q})
    assert r.status_code == 422 and r.json() == {"error": {"field": "q", "message": "query is empty"}}


def test_invisible_characters_inside_a_query_are_dropped(http: httpx.Client) -> None:
    assert http.get("/api/search", params={"q": "TA\u200bCE"}).json()["query"] == "TACE"


def test_rejected_long_query_is_not_echoed_whole(http: httpx.Client) -> None:
    r = http.get("/search", params={"q": "a" * 60_000})  # httpx refuses URLs over 64 kB; curl probed 100,000
    assert r.status_code == 422 and "at most 500 characters" in r.text
    assert "a" * 501 not in r.text and len(r.content) < 40_000


# --- the HTTP surface -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "location"), [
    ("/modules/liver-tace/", "/modules/liver-tace"),
    ("/search/?q=tace", "/search?q=tace"),
    ("//evil.example/", "/evil.example"),
    ("/\\evil.example/", "/evil.example"),
])
def test_redirects_are_relative_whatever_the_host_header(http: httpx.Client, path: str, location: str) -> None:
    r = http.get(str(http.base_url).rstrip("/") + path, headers={"Host": "evil.example"})  # the path as written
    assert r.status_code == 307 and r.headers["location"] == location


def test_configured_hosts_refuse_others(knowledge_base) -> None:  # noqa: ANN001
    from dataclasses import replace

    from starlette.testclient import TestClient

    from kb.runtime import KnowledgeBase
    from kb.web.app import create_app

    settings = replace(knowledge_base.settings, allowed_hosts=("kb.example.org",))
    kb = KnowledgeBase(settings, knowledge_base.embedder)
    try:
        client = TestClient(create_app(kb), base_url="http://kb.example.org")
        assert client.get("/api/health").status_code == 200
        r = client.get("/api/health", headers={"Host": "evil.example"})
        assert r.status_code == 400 and "evil.example" not in r.text
    finally:
        kb.close()


def test_head_answers_like_get_without_a_body(http: httpx.Client) -> None:
    for path in ("/", "/api/health", "/modules"):
        get, head = http.get(path), http.head(path)
        assert head.status_code == get.status_code == 200 and head.content == b""
        assert head.headers["content-type"] == get.headers["content-type"]


def test_undocumented_method_is_405_with_allow(http: httpx.Client) -> None:
    for path in ("/", "/api/health", "/api/search"):
        r = http.request("TRACE", path)
        assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD"
    assert http.post("/api/search?q=tace").json()["error"]["field"] == "path"


def test_cache_control_fits_each_response(http: httpx.Client) -> None:
    page = http.get("/")
    css = next(part.split('"')[1] for part in page.text.split("href=") if "/static/app.css" in part)
    assert "?v=" in css and http.get(css).headers["cache-control"] == "public, max-age=31536000, immutable"
    assert http.get("/static/app.css").headers["cache-control"] == "public, max-age=300"
    for path in ("/", "/modules", "/api/health", "/api/search?q=tace", "/api/openapi.json", "/nope"):
        assert http.get(path).headers["cache-control"] == "no-cache", path


def test_openapi_schema_documents_the_real_contract(http: httpx.Client) -> None:
    schema = http.get("/api/openapi.json").json()
    assert "HTTPValidationError" not in json.dumps(schema)
    search = schema["paths"]["/api/search"]["get"]
    params = {p["name"]: p for p in search["parameters"]}
    assert params["q"]["required"] and params["q"]["schema"]["maxLength"] == 500
    assert params["q"]["schema"]["minLength"] == 1 and params["q"]["schema"]["pattern"].startswith("[^")
    assert (params["k"]["schema"]["minimum"], params["k"]["schema"]["maximum"]) == (1, 50)
    assert params["module"]["schema"]["enum"] == ["", "cancer-pain", "liver-tace"]
    error_ref = {"$ref": "#/components/schemas/Error"}
    assert search["responses"]["422"]["content"]["application/json"]["schema"] == error_ref
    document = schema["paths"]["/api/modules/{module}/{lang}"]["get"]["responses"]
    assert document["404"]["content"]["application/json"]["schema"] == error_ref
    assert "head" in schema["paths"]["/api/health"]
    r = http.get("/api/search")
    assert r.status_code == 422 and r.json()["error"]["field"] == "q"
