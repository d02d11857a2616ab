"""In Chromium: an open page follows the live knowledge base (a rebuild that changes its module refreshes it in
place, keeping the reader's section on screen), and /api/docs renders offline under the strict CSP."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.conftest import edit
from tests.test_browser import Tab, expect

pytestmark = pytest.mark.browser


def open_tab(browser, base: str, height: int = 800) -> Tab:  # noqa: ANN001
    context = browser.new_context(base_url=base, viewport={"width": 1100, "height": height}, locale="en-US")
    context.set_default_timeout(15_000)
    return Tab(context.new_page())


def test_an_open_reading_page_refreshes_after_a_rebuild_keeping_its_section(browser, live, fresh) -> None:  # noqa: ANN001
    kb, url = live
    tab = open_tab(browser, url, height=360)
    page = tab.page
    page.goto("/modules/liver-tace/en#deb-tace")
    page.wait_for_load_state("networkidle")
    top_before = page.locator("#deb-tace").evaluate("el => el.getBoundingClientRect().top")
    build_before = page.locator("body").get_attribute("data-build")
    edit(fresh, "usually settles", "usually settles (refreshed live)")
    expect(page.locator("#main")).to_contain_text("refreshed live", timeout=120_000)
    assert page.locator("body").get_attribute("data-build") not in (None, build_before)
    top_after = page.locator("#deb-tace").evaluate("el => el.getBoundingClientRect().top")
    assert abs(top_after - top_before) < 40  # the reader's place did not jump
    assert urlsplit(page.url).fragment == "deb-tace"
    # the controls inside the swapped-in <main> still work
    page.locator("[data-large-type]").first.click()
    assert "large-type" in (page.locator("html").get_attribute("class") or "")
    assert tab.errors == []
    page.context.close()


def test_a_page_of_another_module_is_left_alone(browser, live, fresh) -> None:  # noqa: ANN001
    kb, url = live
    tab = open_tab(browser, url)
    page = tab.page
    page.goto("/modules/cancer-pain/en")
    page.wait_for_load_state("networkidle")
    page.evaluate("document.getElementById('main').setAttribute('data-marker', 'kept')")
    before = kb.current.build_id
    edit(fresh, "usually settles", "usually settles (other module)")
    expect(page.locator("body")).not_to_have_attribute("data-build", before, timeout=120_000)
    assert page.locator("#main").get_attribute("data-marker") == "kept"  # not refetched
    page.context.close()


def test_api_docs_render_offline_under_the_csp(browser, live_server: str) -> None:  # noqa: ANN001
    tab = open_tab(browser, live_server)
    page = tab.page
    page.goto("/api/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Oncology guideline knowledge base")
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    assert any("/api/search" in t for t in page.locator(".opblock-summary-path").all_text_contents())
    host = urlsplit(live_server).netloc
    outside = [u for u in tab.requests if urlsplit(u).netloc not in (host, "") and not u.startswith("data:")]
    assert outside == [] and tab.errors == []
    page.context.close()
