"""The workbench editor over a real server on a private content copy: off by default, loopback or token only,
CSRF and If-Match on every write, findings as you type, a save that leaves the rest of the file byte-identical,
a conflict that loses neither version, warnings saved only with a recorded reason, stamping on request, and a
rebuild after the save."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import httpx
import pytest
import yaml

from kb.corpus import load_corpus
from kb.editing import OVERRIDES_FILE, file_hash
from kb.runtime import KnowledgeBase
from kb.web import editor
from kb.web.app import create_app
from tests.conftest import serve, until

VI = "liver-tace/vi.md"
CONTRA = "Không làm TACE khi xơ gan mất bù, huyết khối u thân tĩnh mạch cửa không có tuần hoàn bàng hệ, hoặc " \
         "tiểu cầu dưới 50 x 10^9/L."


@pytest.fixture()
def editing(fresh, embedder) -> Iterator[tuple[httpx.Client, KnowledgeBase]]:  # noqa: ANN001
    kb = KnowledgeBase(fresh, embedder)
    kb.start()
    app = create_app(kb)
    editor.install(app)
    with serve(app) as url, httpx.Client(base_url=url, timeout=60) as client:
        try:
            yield client, kb
        finally:
            kb.close()


def open_editor(client: httpx.Client, section: str | None = "contraindications") -> dict[str, str]:
    page = client.get("/edit/liver-tace/vi" + (f"?section={section}" if section else ""))
    assert page.status_code == 200
    return {k: re.search(rf'data-{k}="([^"]*)"', page.text).group(1) for k in ("hash", "csrf")}  # type: ignore[union-attr]


def post(client: httpx.Client, url: str, ids: dict[str, str], markdown: str, section: str | None = "contraindications",
         **extra: object) -> httpx.Response:
    headers = {"X-CSRF-Token": ids["csrf"], "If-Match": f'"{ids["hash"]}"'}
    body = {"module": "liver-tace", "lang": "vi", "section": section, "markdown": markdown, **extra}
    return client.post(url, json=body, headers=headers)


def test_the_editor_is_off_by_default(http: httpx.Client) -> None:
    assert http.get("/edit/liver-tace/vi").status_code == 404
    assert http.post("/api/edit/save", json={}).status_code in (404, 405)


def test_findings_as_you_type_for_a_dropped_negation_and_a_changed_dose(editing) -> None:  # noqa: ANN001
    client, _ = editing
    ids = open_editor(client)
    r = post(client, "/api/edit/preview", ids, CONTRA.replace("Không làm", "Làm").replace("không có", "có"))
    assert r.status_code == 200
    assert "<p>Làm TACE" in r.json()["html"]
    assert [f["rule"] for f in r.json()["findings"]] == ["negation"]
    dose = "DEB-TACE dùng hạt vi cầu 100-300 μm tải doxorubicin, tối đa 75 mg mỗi lọ và 120 mg mỗi lần điều trị."
    r = post(client, "/api/edit/preview", open_editor(client, "deb-tace"), dose, "deb-tace")
    numbers = [f for f in r.json()["findings"] if f["rule"] == "numbers"]
    assert len(numbers) == 1 and "150 mg -> 120 mg" in numbers[0]["message"]


def test_requests_are_checked(editing, fresh) -> None:  # noqa: ANN001
    client, _ = editing
    ids = open_editor(client)
    no_csrf = client.post("/api/edit/save", json={"module": "liver-tace", "lang": "vi", "markdown": "x"},
                          headers={"If-Match": ids["hash"]})
    assert no_csrf.status_code == 403 and no_csrf.json()["error"]["field"] == "csrf"
    r = client.post("/api/edit/save", json={"module": "liver-tace", "lang": "vi", "markdown": "x"},
                    headers={"X-CSRF-Token": ids["csrf"]})
    assert r.status_code == 428 and r.json()["error"]["field"] == "If-Match"
    for module, lang in (("../liver-tace", "vi"), ("liver-tace", "../../etc"), ("nope", "vi")):
        r = client.post("/api/edit/preview", json={"module": module, "lang": lang, "markdown": "x"},
                        headers={"X-CSRF-Token": ids["csrf"]})
        assert r.status_code == 404, (module, lang)
    assert post(client, "/api/edit/preview", ids, "x", "no-such-section").status_code == 404
    not_json = client.post("/api/edit/preview", content=b"not json", headers={"X-CSRF-Token": ids["csrf"]})
    assert not_json.status_code == 422 and not_json.json()["error"]["field"] == "body"
    errors = post(client, "/api/edit/save", ids, "---\nnot: [closed\n---\n", None)
    assert errors.status_code == 422 and errors.json()["blocking"][0]["severity"] == "error"


def test_a_section_save_keeps_the_rest_of_the_file_byte_identical(editing, fresh) -> None:  # noqa: ANN001
    client, _ = editing
    path = fresh.content_dir / VI
    crlf = path.read_bytes().replace(b"\n", b"\r\n").rstrip(b"\r\n")  # CRLF and no final newline
    path.write_bytes(crlf)
    ids = open_editor(client)
    new = CONTRA.replace("dưới 50", "dưới 50 (ngưỡng thường dùng)")
    r = post(client, "/api/edit/save", ids, new)
    assert r.status_code == 200, r.text
    saved = path.read_bytes()
    assert saved == crlf.replace(CONTRA.encode(), new.encode())
    assert r.json()["hash"] == file_hash(saved)


def test_a_conflicting_save_loses_neither_version(editing, fresh) -> None:  # noqa: ANN001
    client, _ = editing
    path = fresh.content_dir / VI
    ids = open_editor(client)
    theirs = path.read_text(encoding="utf-8").replace("Tổng quan", "Tổng quan chung")
    path.write_text(theirs, encoding="utf-8")  # a text editor saved meanwhile
    mine = CONTRA.replace("dưới 50", "dưới 50 (mới)")
    r = post(client, "/api/edit/save", ids, mine)
    assert r.status_code == 409
    assert r.json()["conflict"]["disk"] == theirs
    assert "dưới 50 (mới)" in r.json()["conflict"]["yours"]
    assert path.read_text(encoding="utf-8") == theirs


def test_warnings_need_a_recorded_reason(editing, fresh) -> None:  # noqa: ANN001
    client, _ = editing
    ids = open_editor(client)
    dropped = CONTRA.replace("Không làm", "Làm").replace("không có", "có")
    r = post(client, "/api/edit/save", ids, dropped)
    assert r.status_code == 422 and [f["rule"] for f in r.json()["blocking"]] == ["negation"]
    r = post(client, "/api/edit/save", ids, dropped, reason="test of the override log")
    assert r.status_code == 200
    log = yaml.safe_load((fresh.content_dir / "liver-tace" / OVERRIDES_FILE).read_text(encoding="utf-8"))
    assert log[-1]["reason"] == "test of the override log" and log[-1]["section"] == "contraindications"
    assert log[-1]["rules"] == ["negation"]

    def rules() -> list[str]:
        return [f.rule for f in load_corpus(fresh.content_dir).findings if f.path.endswith(VI)]

    assert "negation" not in rules()  # kb check accepts the recorded reason for this text of the section
    ids = open_editor(client)
    assert post(client, "/api/edit/save", ids, dropped + " Thêm.", reason="").status_code == 422  # new text
    path = fresh.content_dir / VI
    path.write_text(path.read_text(encoding="utf-8").replace(dropped, dropped + " Thêm."), encoding="utf-8")
    assert "negation" in rules()  # edited in a text editor: the warning is back


def test_stamp_on_request_and_rebuild_after_save(editing, fresh) -> None:  # noqa: ANN001
    client, kb = editing
    en = fresh.content_dir / "liver-tace" / "en.md"
    en.write_text(en.read_text(encoding="utf-8").replace("150 mg per session", "120 mg per session"),
                  encoding="utf-8")
    before = [f.rule for f in load_corpus(fresh.content_dir).findings if f.path.endswith(VI)]
    assert "outdated" in before
    ids = open_editor(client, "deb-tace")
    dose = "DEB-TACE dùng hạt vi cầu 100-300 μm tải doxorubicin, tối đa 75 mg mỗi lọ và 120 mg mỗi lần điều trị. " \
           "Hạt giải phóng thuốc chậm bên trong khối u."
    r = post(client, "/api/edit/save", ids, dose, "deb-tace", stamp=True)
    assert r.status_code == 200 and list(r.json()["stamped"]) == ["deb-tace"]
    after = [f.rule for f in load_corpus(fresh.content_dir).findings if f.path.endswith(VI)]
    assert "outdated" not in after and "numbers" not in after
    until(lambda: "120 mg mỗi lần" in client.get("/modules/liver-tace/vi").text)


def test_a_configured_token_is_required(fresh, embedder) -> None:  # noqa: ANN001
    kb = KnowledgeBase(fresh, embedder)
    app = create_app(kb)
    editor.install(app, token="s3cret")
    with serve(app) as url, httpx.Client(base_url=url, timeout=60) as client:
        assert client.get("/edit/liver-tace/vi").status_code == 403
        assert client.get("/edit/liver-tace/vi?token=s3cret").status_code == 200
        assert client.get("/edit/liver-tace/vi").status_code == 200  # the cookie now carries it
    kb.close()


# --- the editor without JavaScript: a plain HTML form ---

def form_fields(page: str) -> dict[str, str]:
    """The hidden fields and the text of the editor form as a browser without JavaScript would send them."""
    fields = {m.group(1): m.group(2) for m in re.finditer(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page)}
    text = re.search(r'<textarea id="editor-text" name="markdown"[^>]*>(.*?)</textarea>', page, re.S)
    assert text is not None and {"csrf", "hash", "section"} <= fields.keys()
    return {**fields, "markdown": html.unescape(text.group(1))}


def test_without_javascript_a_form_post_saves_and_returns_to_the_section(editing, fresh) -> None:  # noqa: ANN001
    client, _ = editing
    page = client.get("/edit/liver-tace/vi?section=contraindications").text
    assert '<form class="editor" id="editor" method="post" action="/edit/liver-tace/vi"' in page
    fields = form_fields(page)
    assert fields["markdown"].strip() == CONTRA and fields["section"] == "contraindications"
    new = CONTRA.replace("dưới 50", "dưới 50 (ngưỡng thường dùng)")
    # the browser sends CRLF line endings from a textarea; the file keeps its own
    preview = client.post("/edit/liver-tace/vi", data={**fields, "markdown": new + "\r\n", "action": "preview"})
    assert preview.status_code == 200 and "(ngưỡng thường dùng)" in preview.text.split('class="editor-preview"')[1]
    assert (fresh.content_dir / VI).read_text(encoding="utf-8").count("(ngưỡng thường dùng)") == 0
    r = client.post("/edit/liver-tace/vi", data={**fields, "markdown": new, "action": "save"})
    assert r.status_code == 303
    assert r.headers["location"] == "/edit/liver-tace/vi?section=contraindications&saved=1#editor"
    assert new in (fresh.content_dir / VI).read_text(encoding="utf-8")
    back = client.get(r.headers["location"])
    assert 'class="notice notice-info editor-saved"' in back.text and "(ngưỡng thường dùng)" in back.text
    assert form_fields(back.text)["hash"] == file_hash((fresh.content_dir / VI).read_bytes())


def test_without_javascript_a_conflict_page_shows_both_versions(editing, fresh) -> None:  # noqa: ANN001
    client, _ = editing
    fields = form_fields(client.get("/edit/liver-tace/vi?section=contraindications").text)
    path = fresh.content_dir / VI
    theirs = path.read_text(encoding="utf-8").replace("Tổng quan", "Tổng quan chung")
    path.write_text(theirs, encoding="utf-8")  # a text editor saved meanwhile
    mine = CONTRA.replace("dưới 50", "dưới 50 (mới)")
    r = client.post("/edit/liver-tace/vi", data={**fields, "markdown": mine, "action": "save"})
    assert r.status_code == 409
    disk = re.search(r'<textarea class="editor-conflict-disk" readonly rows="14">(.*?)</textarea>', r.text, re.S)
    yours = re.search(r'<textarea class="editor-conflict-yours" readonly rows="14">(.*?)</textarea>', r.text, re.S)
    assert disk and html.unescape(disk.group(1)) == theirs
    assert yours and "dưới 50 (mới)" in html.unescape(yours.group(1))
    assert '<section class="editor-conflict">' in r.text  # shown, not hidden
    assert path.read_text(encoding="utf-8") == theirs
    # the page keeps the old hash: sending it again is a conflict again, never an overwrite
    assert form_fields(r.text)["hash"] == fields["hash"]
    assert client.post("/edit/liver-tace/vi", data={**fields, "markdown": mine, "action": "save"}).status_code == 409


def test_without_javascript_warnings_block_and_keep_the_edit(editing, fresh) -> None:  # noqa: ANN001
    client, _ = editing
    fields = form_fields(client.get("/edit/liver-tace/vi?section=contraindications").text)
    dropped = CONTRA.replace("Không làm", "Làm").replace("không có", "có")
    r = client.post("/edit/liver-tace/vi", data={**fields, "markdown": dropped, "action": "save"})
    assert r.status_code == 422 and 'data-rule="negation"' in r.text
    assert form_fields(r.text)["markdown"].strip() == dropped  # the edit is still in the text box
    r = client.post("/edit/liver-tace/vi", data={**fields, "markdown": dropped, "action": "save",
                                                 "reason": "form test"})
    assert r.status_code == 303


def test_without_javascript_the_form_needs_its_csrf_token_and_hash(editing) -> None:  # noqa: ANN001
    client, _ = editing
    fields = form_fields(client.get("/edit/liver-tace/vi?section=contraindications").text)
    r = client.post("/edit/liver-tace/vi", data={**fields, "csrf": "forged", "action": "save"})
    assert r.status_code == 403 and "CSRF" in r.text
    r = client.post("/edit/liver-tace/vi", data={**fields, "hash": "", "action": "save"})
    assert r.status_code == 428
    r = client.post("/edit/liver-tace/vi", json={**fields, "action": "save"}, headers={"X-CSRF-Token": fields["csrf"]})
    assert r.status_code == 415
    assert client.post("/edit/nope/vi", data={**fields, "action": "save"}).status_code == 404
