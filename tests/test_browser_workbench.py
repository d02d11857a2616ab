"""The translator's workbench in headless Chromium, on a live knowledge base watching a private content copy:
dashboard -> outdated section -> source diff -> edit with findings as you type (a dropped negation, a changed
dose) -> save and stamp -> the open reading page updates; and a conflicting save that loses neither version."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from kb.corpus import load_corpus
from kb.runtime import KnowledgeBase
from kb.stamp import stamp
from kb.web import editor
from kb.web.app import create_app
from tests.conftest import edit, serve
from tests.test_browser import Tab, expect

pytestmark = pytest.mark.browser
LONG = 120_000  # a rebuild on a busy 2-core machine; no timing is asserted


@pytest.fixture()
def workbench(fresh, embedder) -> Iterator[str]:  # noqa: ANN001
    stamp(load_corpus(fresh.content_dir), "liver-tace", "vi")  # fills the translation memory
    kb = KnowledgeBase(fresh, embedder)
    kb.start(watch_content=True)
    time.sleep(0.5)
    app = create_app(kb)
    editor.install(app)
    with serve(app) as url:
        try:
            yield url
        finally:
            kb.close()


def open_tab(chromium, base: str) -> Tab:  # noqa: ANN001
    context = chromium.new_context(base_url=base, viewport={"width": 1200, "height": 900}, locale="en-US")
    context.set_default_timeout(15_000)
    return Tab(context.new_page())


def test_from_dashboard_to_saved_translation(browser, workbench, fresh) -> None:  # noqa: ANN001
    edit(fresh, "150 mg per session", "120 mg per session")  # the source dose changes
    tab = open_tab(browser, workbench)
    page = tab.page
    page.goto("/translate")
    cell = page.locator('tr[data-module="liver-tace"] td[data-lang="vi"]')
    for _ in range(120):
        if "status-outdated" in (cell.get_attribute("class") or ""):
            break
        time.sleep(1)
        page.reload()
    expect(cell).to_contain_text("Outdated")
    cell.locator("a").click()
    section = page.locator('li[data-section="deb-tace"]')
    expect(section.locator(".source-diff del")).to_have_text("150")
    expect(section.locator(".source-diff ins")).to_have_text("120")

    reading = open_tab(browser, workbench)
    reading.page.goto("/modules/liver-tace/vi#deb-tace")
    reading.page.wait_for_load_state("networkidle")

    page.goto("/edit/liver-tace/vi?section=contraindications")
    text = page.locator("#editor-text")
    findings = page.locator(".editor-findings")
    text.fill(text.input_value().replace("Không làm", "Làm").replace("không có", "có"))
    expect(findings.locator('[data-rule="negation"]')).to_contain_text("negation lost")

    page.goto("/edit/liver-tace/vi?section=deb-tace")
    expect(findings.locator('[data-rule="numbers"]')).to_contain_text("120 mg -> 150 mg")
    text.fill(text.input_value().replace("150 mg", "130 mg"))
    expect(findings.locator('[data-rule="numbers"]')).to_contain_text("120 mg -> 130 mg")
    text.fill(text.input_value().replace("130 mg", "120 mg"))
    expect(findings.locator('[data-rule="numbers"]')).to_have_count(0)
    expect(page.locator(".editor-preview")).to_contain_text("120 mg mỗi lần")
    page.locator(".editor-stamp").check()
    page.locator(".editor-save").click()
    expect(page.locator("[data-editor]")).to_have_attribute("data-state", "saved")

    expect(reading.page.locator("#main")).to_contain_text("120 mg mỗi lần", timeout=LONG)
    assert "120 mg mỗi lần" in (fresh.content_dir / "liver-tace" / "vi.md").read_text(encoding="utf-8")
    assert not [f for f in load_corpus(fresh.content_dir).findings if f.path.endswith("liver-tace/vi.md")]
    assert tab.errors == [] and reading.errors == []
    page.context.close()
    reading.page.context.close()


def test_a_conflicting_save_shows_both_versions(browser, workbench, fresh) -> None:  # noqa: ANN001
    tab = open_tab(browser, workbench)
    page = tab.page
    page.goto("/edit/liver-tace/vi?section=aftercare")
    text = page.locator("#editor-text")
    text.fill(text.input_value() + " Mine.")
    path = fresh.content_dir / "liver-tace" / "vi.md"
    theirs = path.read_text(encoding="utf-8").replace("Tổng quan", "Tổng quan (theirs)")
    path.write_text(theirs, encoding="utf-8")
    page.locator(".editor-save").click()
    conflict = page.locator(".editor-conflict")
    expect(conflict).to_be_visible()
    assert "Tổng quan (theirs)" in page.locator(".editor-conflict-disk").input_value()
    assert "Mine." in page.locator(".editor-conflict-yours").input_value()
    assert path.read_text(encoding="utf-8") == theirs
    assert [e for e in tab.errors if "status of 409" not in e] == []  # Chromium logs the 409 response itself
    page.context.close()


def test_the_editor_works_with_javascript_off(browser, workbench, fresh) -> None:  # noqa: ANN001
    context = browser.new_context(base_url=workbench, viewport={"width": 1200, "height": 900}, locale="en-US",
                                  java_script_enabled=False)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto("/edit/liver-tace/vi?section=aftercare")
    text = page.locator("#editor-text")
    text.fill(text.input_value().replace("3-5 ngày.", "3-5 ngày. Uống nhiều nước."))
    page.locator(".editor-check").click()  # "Preview": the server renders it
    expect(page.locator(".editor-preview")).to_contain_text("Uống nhiều nước.")
    page.locator(".editor-save").click()
    expect(page.locator(".editor-saved")).to_be_visible()
    assert page.url.endswith("/edit/liver-tace/vi?section=aftercare&saved=1#editor")
    path = fresh.content_dir / "liver-tace" / "vi.md"
    assert "Uống nhiều nước." in path.read_text(encoding="utf-8")

    text.fill(text.input_value() + " Mine.")
    theirs = path.read_text(encoding="utf-8").replace("Tổng quan", "Tổng quan (theirs)")
    path.write_text(theirs, encoding="utf-8")  # a text editor saved meanwhile
    page.locator(".editor-save").click()
    expect(page.locator(".editor-conflict")).to_be_visible()
    assert "Tổng quan (theirs)" in page.locator(".editor-conflict-disk").input_value()
    assert "Mine." in page.locator(".editor-conflict-yours").input_value()
    assert path.read_text(encoding="utf-8") == theirs
    context.close()


def test_the_dashboard_and_a_section_list_follow_a_file_saved_on_disk(browser, workbench, fresh) -> None:  # noqa: ANN001
    """Under `--watch`, a source saved in any text editor turns the open dashboard's cell and the open section
    list 'outdated' without a reload (the pages keep a marker set before the save)."""
    dashboard = open_tab(browser, workbench)
    dashboard.page.goto("/translate")
    cell = dashboard.page.locator('tr[data-module="liver-tace"] td[data-lang="vi"]')
    expect(cell).not_to_have_class("status-cell status-outdated")
    dashboard.page.wait_for_load_state("networkidle")
    sections = open_tab(browser, workbench)
    sections.page.goto("/translate/liver-tace/vi")
    sections.page.wait_for_load_state("networkidle")
    row = sections.page.locator('li[data-section="deb-tace"]')
    expect(row).not_to_have_class("workbench-section state-outdated")
    for tab in (dashboard, sections):
        tab.page.evaluate("window.kbMarker = 'not reloaded'")

    edit(fresh, "150 mg per session", "120 mg per session")  # the source dose changes, saved on disk

    expect(cell).to_have_class("status-cell status-outdated", timeout=LONG)
    expect(cell).to_contain_text("Outdated")
    expect(row).to_have_class("workbench-section state-outdated", timeout=LONG)
    expect(row.locator(".source-diff ins")).to_have_text("120")
    for tab in (dashboard, sections):
        assert tab.page.evaluate("window.kbMarker") == "not reloaded"
        assert tab.errors == []
        tab.page.context.close()
