"""Courses and handouts over a real server: a course file's errors named at their line, the agenda page, a
course presented as one deck, and handout PDFs (WeasyPrint) with the disclaimer and a page number on every page,
read back with pypdf."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from kb.courses import load_course
from kb.runtime import KnowledgeBase
from tests.conftest import FIXTURES, serve

DISCLAIMER_EN = "Training material summarising public guidelines"


@pytest.fixture(scope="module")
def course_server(settings, embedder) -> Iterator[str]:  # noqa: ANN001
    """The session index served with the fixture courses folder."""
    from kb.web.app import create_app

    kb = KnowledgeBase(replace(settings, courses_dir=FIXTURES / "courses"), embedder)
    kb.start()
    try:
        with serve(create_app(kb)) as url:
            yield url
    finally:
        kb.close()


@pytest.fixture()
def client(course_server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=course_server, timeout=120) as c:
        yield c


def test_a_bad_course_file_is_named_at_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad-course.yaml"
    bad.write_text("title: {en: A course}\ndays:\n  - title: Day 1\n    items:\n      - sections: [a]\n",
                   encoding="utf-8")
    course, findings = load_course(bad)
    assert course is None and [(f.line, f.rule) for f in findings] == [(5, "course")]
    assert "module" in findings[0].message
    broken = tmp_path / "broken.yaml"
    broken.write_text("title: [unclosed\n", encoding="utf-8")
    course, findings = load_course(broken)
    assert course is None and findings[0].message.startswith("invalid YAML")
    odd = tmp_path / "Bad Name.yaml"
    odd.write_text("title: x\n", encoding="utf-8")
    assert load_course(odd)[1][0].rule == "course"


def test_the_agenda_names_days_modules_and_what_is_missing(client: httpx.Client) -> None:
    listing = client.get("/courses")
    assert listing.status_code == 200 and 'href="/courses/pain-and-tace"' in listing.text
    agenda = client.get("/courses/pain-and-tace", headers={"Accept-Language": "en"})
    assert agenda.status_code == 200
    assert "Day 1" in agenda.text and "Day 2" in agenda.text and "not-a-module" in agenda.text
    assert "Opioid titration" in agenda.text  # the one section named for cancer-pain
    assert client.get("/courses/nope").status_code == 404


def test_a_course_is_presented_as_one_deck(client: httpx.Client) -> None:
    page = client.get("/courses/pain-and-tace/present")
    assert page.status_code == 200
    keys = re.findall(r'data-key="([^"]+)"', page.text)
    assert keys[0] == "_title" and keys[-1] == "_end" and "_day1" in keys and "_day2" in keys
    assert "liver-tace.aftercare" in keys and "cancer-pain.titration" in keys
    assert "cancer-pain.side-effects" not in keys  # only the sections the course names
    assert keys.index("_day2") < keys.index("cancer-pain.titration")
    assert "PEARL" not in page.text
    r = client.post("/courses/pain-and-tace/session", data={"langs": "en,vi"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/courses/pain-and-tace/presenter?session=")
    session = re.search(r"session=([A-Za-z0-9]+)", r.headers["location"]).group(1)
    moved = client.post(f"/api/present/{session}/position", json={"slide": "cancer-pain.titration"})
    assert moved.status_code == 200
    assert client.get(f"/follow/{session}?lang=vi").status_code == 200


def pdf_pages(data: bytes) -> list[str]:
    from pypdf import PdfReader

    return [" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(data)).pages]


def test_a_module_handout_pdf_has_the_disclaimer_and_page_number_on_every_page(client: httpx.Client) -> None:
    pytest.importorskip("weasyprint")
    r = client.get("/handouts/liver-tace/handout.pdf", params={"langs": "en,vi"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    pages = pdf_pages(r.content)
    assert pages
    for n, text in enumerate(pages, 1):
        assert DISCLAIMER_EN in text, n
        assert f"{n} / {len(pages)}" in text
    everything = " ".join(pages)
    assert "Drug-eluting beads" in everything and "Hạt vi cầu tải thuốc" in everything  # both columns
    assert "PEARL" not in everything  # notes only on request
    with_notes = " ".join(pdf_pages(client.get("/handouts/liver-tace/handout.pdf",
                                                params={"langs": "en,vi", "notes": 1}).content))
    assert "PEARL checklist" in with_notes


def test_a_course_handout_and_the_printable_page(client: httpx.Client) -> None:
    pytest.importorskip("weasyprint")
    pages = pdf_pages(client.get("/courses/pain-and-tace/handout.pdf").content)
    assert all(DISCLAIMER_EN in p for p in pages)
    assert "Opioid titration" in " ".join(pages) and "Side effects" not in " ".join(pages)
    page = client.get("/handouts/liver-tace", params={"langs": "zh,vi"})
    assert page.status_code == 200 and 'href="/static/handout.css' in page.text
    assert client.get("/handouts/no-such-module/handout.pdf").status_code == 404
