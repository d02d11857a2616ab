"""Trainer mode without a browser: speaker notes kept out of the section text, slides split without cutting a
table or a list item, and the session flow over a real server (start, publish, follow over server-sent events,
who may publish, the QR code's payload, notes never on an audience page)."""

from __future__ import annotations

import json
import os
import re

import httpx
import segno

from kb.markdown import notes_html, plain_text, render_html
from kb.web.lan import announce
from kb.web.present import qr_data_uri
from kb.web.slides import END_KEY, TITLE_KEY, atoms, build_deck, continued, join, split_section

SOURCE = "Before.\n\n::: notes\nSay **this** to the room.\n:::\n\nAfter."


def test_notes_are_lifted_out_of_the_html_and_the_indexed_text() -> None:
    assert "Say" not in render_html(SOURCE) and "After." in render_html(SOURCE)
    assert plain_text(SOURCE) == "Before.\nAfter."
    assert notes_html(SOURCE) == "<p>Say <strong>this</strong> to the room.</p>\n"
    assert notes_html("No notes here.") == ""


def test_a_long_list_is_split_between_items_and_numbering_continues() -> None:
    items = "".join(f"<li>{'word ' * 60}{n}</li>\n" for n in range(1, 9))
    parts = split_section({"en": f"<ol>\n{items}</ol>\n", "vi": f"<ol>\n{items}</ol>\n"})
    assert len(parts) >= 2
    for part in parts:
        for html in part.values():
            assert html.count("<li>") == html.count("</li>")  # no item cut
    second = parts[1]["en"]
    first_no = int(re.search(r'<ol start="(\d+)"', second).group(1))
    assert continued(second) and not continued(parts[0]["en"])
    assert first_no == parts[0]["en"].count("<li>") + 1
    assert [p["en"].count("<li>") for p in parts] == [p["vi"].count("<li>") for p in parts]  # aligned


def test_a_table_is_never_cut_and_a_break_splits_every_language() -> None:
    table = "<table>\n<tr><td>a</td></tr>\n" + "<tr><td>row text here</td></tr>\n" * 40 + "</table>\n"
    parts = split_section({"en": "<p>intro</p>\n" + table})
    assert sum(p["en"].count("<table>") for p in parts) == 1 and all(
        p["en"].count("<table>") == p["en"].count("</table>") for p in parts)
    broken = split_section({"en": "<p>one</p>\n<hr />\n<p>two</p>\n", "zh": "<p>一</p>\n<hr />\n<p>二</p>\n"})
    assert [p["en"] for p in broken] == ["<p>one</p>", "<p>two</p>"] and broken[1]["zh"] == "<p>二</p>"
    uneven = split_section({"en": "<p>one</p>\n<hr />\n<p>two</p>\n", "zh": "<p>一二</p>\n"})
    assert len(uneven) == 1  # breaks only some languages have would misalign the slides: not used
    assert join(atoms("<ul>\n<li>a</li>\n<li>b</li>\n</ul>\n")) == "<ul>\n<li>a</li>\n<li>b</li>\n</ul>"


def test_a_tall_table_is_split_between_rows_repeating_its_header() -> None:
    head = "<thead>\n<tr>\n<th>Drug</th>\n<th>Dose</th>\n</tr>\n</thead>\n"
    body = "".join(f"<tr>\n<td>drug {n}</td>\n<td>{n} mg a day with food and plenty of water</td>\n</tr>\n"
                   for n in range(1, 41))
    zh = "".join(f"<tr>\n<td>药物 {n}</td>\n<td>每日 {n} 毫克，随餐服用</td>\n</tr>\n" for n in range(1, 41))
    parts = split_section({"en": f"<p>intro</p>\n<table>\n{head}<tbody>\n{body}</tbody>\n</table>\n",
                           "zh": f"<p>简介</p>\n<table>\n{head}<tbody>\n{zh}</tbody>\n</table>\n"})
    assert len(parts) >= 3
    rows = []
    for n, part in enumerate(parts):
        html = part["en"]
        assert html.count("<table") == html.count("</table>") == 1 and html.count("<thead>") == 1  # header again
        assert html.count("<tr>") == html.count("</tr>")  # no row cut
        assert continued(html) == (n > 0) and continued(part["zh"]) == (n > 0)
        assert part["zh"].count("<tr>") == html.count("<tr>")  # the languages stay aligned row by row
        rows += re.findall(r"<td>drug (\d+)</td>", html)
    assert rows == [str(n) for n in range(1, 41)]


def test_the_deck_has_a_slide_per_section_in_every_language_and_notes_beside(knowledge_base) -> None:  # noqa: ANN001
    library = knowledge_base.current.library
    deck = build_deck(library, "liver-tace")
    assert deck.keys[0] == TITLE_KEY and deck.keys[-1] == END_KEY
    sections = [s.id for s in library.document("liver-tace", "en").sections]
    assert [k for k in deck.keys if not k.startswith("_")] == sections
    aftercare = deck.slides[deck.index("aftercare")]
    assert set(aftercare.notes) == {"zh", "en", "vi"} and "PEARL" in aftercare.notes["en"]
    assert all("PEARL" not in body for s in deck.slides for body in s.bodies.values())
    assert build_deck(library, "no-such-module") is None


def test_notes_are_not_searchable(http: httpx.Client) -> None:
    results = http.get("/api/search", params={"q": "PEARL checklist", "k": 10}).json()["results"]
    assert all("PEARL" not in r["snippet"] for r in results)


def test_audience_pages_never_show_notes_and_the_presenter_view_does(http: httpx.Client) -> None:
    deck = http.get("/present/liver-tace", params={"langs": "zh,vi"})
    assert deck.status_code == 200 and 'data-key="aftercare"' in deck.text
    assert "PEARL" not in deck.text
    assert 'lang="zh"' in deck.text and 'lang="vi"' in deck.text
    presenter = http.get("/present/liver-tace/presenter", params={"langs": "en,vi"})
    assert presenter.status_code == 200 and "PEARL checklist" in presenter.text
    assert http.get("/present/no-such-module").status_code == 404


def start(http: httpx.Client, langs: str = "zh,vi") -> tuple[str, httpx.Cookies]:
    r = http.post("/present/liver-tace/session", data={"langs": langs}, follow_redirects=False)
    assert r.status_code == 303
    session = re.search(r"session=([A-Za-z0-9]+)", r.headers["location"]).group(1)
    return session, r.cookies


def test_only_the_presenter_moves_the_audience(live_server: str) -> None:
    with httpx.Client(base_url=live_server, timeout=30) as presenter, \
            httpx.Client(base_url=live_server, timeout=30) as phone:
        session, cookies = start(presenter)
        assert presenter.cookies.get(f"kb_present_{session}")  # HttpOnly cookie held by the presenter only
        url = f"/api/present/{session}/position"
        assert phone.post(url, json={"slide": "overview"}).status_code == 403
        assert presenter.post(url, json={"slide": "nope"}).status_code == 422
        assert presenter.post(url, json={"slide": "<script>"}).status_code == 422
        assert presenter.post("/api/present/unknown/position", json={"slide": "overview"}).status_code == 404
        ok = presenter.post(url, json={"slide": "indications"})
        assert ok.status_code == 200 and ok.json()["slide"] == "indications"
        follow = phone.get(f"/follow/{session}", params={"lang": "en"})
        assert follow.status_code == 200 and "PEARL" not in follow.text
        terms = json.loads(re.search(r'id="glossary-terms">(.*?)</script>', follow.text, re.S).group(1))
        assert terms and all(set(t["forms"]) <= {"zh", "en", "vi"} for t in terms)
        assert phone.get("/follow/unknown").status_code == 404


def test_a_phone_follows_over_server_sent_events_starting_from_the_last_position(live_server: str) -> None:
    with httpx.Client(base_url=live_server, timeout=30) as presenter:
        session, _ = start(presenter)
        presenter.post(f"/api/present/{session}/position", json={"slide": "overview"})
        with httpx.Client(base_url=live_server, timeout=30) as phone, phone.stream(
                "GET", "/api/events", params={"channel": f"present:{session}"}) as stream:
            lines = stream.iter_lines()
            hello = _next_event(lines)
            assert hello[0] == "hello" and hello[1]["last"][f"present:{session}"]["slide"] == "overview"
            presenter.post(f"/api/present/{session}/position", json={"slide": "deb-tace"})
            name, data = _next_event(lines)
            assert (name, data["slide"], data["channel"]) == ("slide", "deb-tace", f"present:{session}")


def _next_event(lines) -> tuple[str, dict]:  # noqa: ANN001
    name = None
    for line in lines:
        if line.startswith("event:"):
            name = line.split(":", 1)[1].strip()
        elif line.startswith("data:") and name:
            return name, json.loads(line.split(":", 1)[1])
    raise AssertionError("stream ended")


def test_the_qr_code_encodes_the_follow_url(http: httpx.Client) -> None:
    session, _ = start(http)
    page = http.get(f"/present/liver-tace/presenter?session={session}").text
    url = f"{http.base_url}".rstrip("/") + f"/follow/{session}"
    assert f'href="{url}"' in page
    # the same payload through segno gives the same symbol: the image encodes exactly the follow URL
    assert qr_data_uri(url) in page.replace("&amp;", "&")
    assert segno.make(url, error="m").designator  # a valid symbol for this payload


def test_lan_addresses_are_announced_only_for_every_interface(monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("KB_PUBLIC_URL", "")  # restored (removed) after the test
    monkeypatch.delenv("KB_PUBLIC_URL")
    assert announce("127.0.0.1", 8000) == []
    lines = announce("0.0.0.0", 8123)
    assert lines
    if lines[0].startswith("on the room's network"):
        assert all(":8123" in line for line in lines)
        assert os.environ["KB_PUBLIC_URL"].endswith(":8123")


def test_unclosed_notes_or_a_heading_inside_them_is_an_error_at_its_line(tmp_path) -> None:  # noqa: ANN001
    from kb.content import parse_document

    head = ("---\nmodule: m\ntitle: T\nlang: en\nversion: \"1\"\nupdated: 2026-12-01\nstatus: draft\n"
            "sources: [S]\ndisclaimer: D\n---\n\n")
    path = tmp_path / "m" / "en.md"
    path.parent.mkdir()
    path.write_text(head + "## A {#a}\n\nText.\n\n::: notes\nSay it.\n\n## B {#b}\n\nMore.\n", encoding="utf-8")
    doc, findings = parse_document(path)
    notes = [(f.line, f.rule, f.severity) for f in findings if f.rule == "notes"]
    assert sorted(notes) == [(16, "notes", "error"), (19, "notes", "error")]  # the ::: line, the heading
    path.write_text(head + "## A {#a}\n\nText.\n\n::: notes\nSay it.\n:::\n\n## B {#b}\n\nMore.\n", encoding="utf-8")
    doc, findings = parse_document(path)
    assert not [f for f in findings if f.rule == "notes"] and [s.id for s in doc.sections] == ["a", "b"]
