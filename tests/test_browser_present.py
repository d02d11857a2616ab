"""Trainer mode in Chromium over a real server: a deck driven by the keyboard and readable from the back of the
room (>= 32 px, no slide overflowing at 1920x1080); a presenter view driving a projector and a phone in another
language (three browser contexts); notes never on audience pages; a phone that reloads after a new build and
lands on the presenter's slide."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from tests.conftest import edit
from tests.test_browser import Tab, expect

pytestmark = pytest.mark.browser


def context(browser, base: str, width: int = 1920, height: int = 1080, locale: str = "en-US", **kw):  # noqa: ANN001, ANN201
    ctx = browser.new_context(base_url=base, viewport={"width": width, "height": height}, locale=locale, **kw)
    ctx.set_default_timeout(20_000)
    return ctx


def current(page) -> str:  # noqa: ANN001
    return page.locator("body").get_attribute("data-current") or ""


def test_a_deck_is_navigated_with_the_keyboard_and_fits_the_screen(browser, live_server: str) -> None:  # noqa: ANN001
    ctx = context(browser, live_server)
    tab = Tab(ctx.new_page())
    page = tab.page
    page.goto("/present/liver-tace?langs=zh,vi")
    expect(page.locator("body")).to_have_attribute("data-current", "_title")
    keys = page.locator("#main > .slide").evaluate_all("els => els.map(e => e.dataset.key)")
    page.keyboard.press("ArrowRight")
    expect(page.locator("body")).to_have_attribute("data-current", keys[1])
    assert urlsplit(page.url).fragment == keys[1]
    page.keyboard.press("Space")
    page.keyboard.press("PageDown")
    expect(page.locator("body")).to_have_attribute("data-current", keys[3])
    page.keyboard.press("PageUp")
    expect(page.locator("body")).to_have_attribute("data-current", keys[2])
    page.keyboard.press("End")
    expect(page.locator("body")).to_have_attribute("data-current", "_end")
    page.keyboard.press("Home")
    expect(page.locator("body")).to_have_attribute("data-current", "_title")
    for k in ("g", "3", "Enter"):
        page.keyboard.press(k)
    expect(page.locator("body")).to_have_attribute("data-current", keys[2])
    page.keyboard.press("b")
    expect(page.locator(".blank-screen")).to_be_visible()
    page.keyboard.press("b")
    expect(page.locator(".blank-screen")).to_be_hidden()
    # a shared link opens at its slide
    page.goto(f"/present/liver-tace?langs=zh,vi#{keys[4]}")
    expect(page.locator("body")).to_have_attribute("data-current", keys[4])
    # every slide: body text >= 32 px and nothing cut off at 1920x1080
    for key in keys:
        page.evaluate(f"location.hash = '{key}'")
        expect(page.locator("body")).to_have_attribute("data-current", key)
        m = page.evaluate("""() => { const s = document.querySelector('#main > .slide.current');
            const texts = [...s.querySelectorAll('.slide-body p, .slide-body li, .slide-body td, .slide-meta')];
            return {over: s.scrollHeight > s.clientHeight + 1,
                    smallest: Math.min(...texts.map(t => parseFloat(getComputedStyle(t).fontSize)))}; }""")
        assert not m["over"], key
        assert m["smallest"] >= 31.9, (key, m)
    assert tab.errors == []
    ctx.close()


def test_the_presenter_drives_a_projector_and_a_phone_in_another_language(browser, live_server: str) -> None:  # noqa: ANN001
    presenter_ctx = context(browser, live_server, 1600, 900)
    projector_ctx = context(browser, live_server)
    phone_ctx = context(browser, live_server, 390, 844, locale="vi-VN", is_mobile=True, has_touch=True)
    presenter = Tab(presenter_ctx.new_page())
    projector = Tab(projector_ctx.new_page())
    phone = Tab(phone_ctx.new_page())
    p = presenter.page
    p.goto("/present/liver-tace/presenter?langs=en,zh")
    p.get_by_role("button", name="Start an audience session").click()
    expect(p.locator("body")).to_have_attribute("data-session", re.compile(r"^[A-Za-z0-9]+$"))
    session = p.locator("body").get_attribute("data-session")
    follow = p.locator("[data-follow-url]").first.get_attribute("href")
    assert follow.endswith(f"/follow/{session}")

    projector.page.goto(f"/present/liver-tace?session={session}")
    phone.page.goto(urlsplit(follow).path)  # the phone opens what the QR code names
    for tab in (projector, phone):
        expect(tab.page.locator("body")).to_have_attribute("data-current", "_title")

    p.keyboard.press("ArrowRight")
    p.keyboard.press("ArrowRight")
    key = current(p)
    assert key not in ("", "_title")
    for tab in (projector, phone):
        expect(tab.page.locator("body")).to_have_attribute("data-current", key)
    # the phone shows the slide in its own language (vi), the projector in the presenter's two
    expect(phone.page.locator(".slide.current .slide-col")).to_have_attribute("lang", "vi")
    assert projector.page.locator(".slide.current .slide-col").evaluate_all("e => e.map(x => x.lang)") == ["en", "zh"]
    # the slide list jumps too, and the presenter sees its notes
    p.locator('[data-list-key="aftercare"]').click()
    for tab in (projector, phone):
        expect(tab.page.locator("body")).to_have_attribute("data-current", "aftercare")
    expect(p.locator('[data-notes-for="aftercare"]')).to_contain_text("PEARL checklist")
    for tab in (projector, phone):
        assert "PEARL" not in tab.page.content()
    # a glossary term on the phone shows its other-language forms
    terms = phone.page.locator("button.term")
    assert terms.count() > 0
    for i in range(terms.count()):  # Latin-script terms are whole words, never the inside of a longer word
        before, word, after = terms.nth(i).evaluate(
            "b => [b.previousSibling ? b.previousSibling.textContent.slice(-1) : '', b.textContent,"
            " b.nextSibling ? b.nextSibling.textContent.slice(0, 1) : '']")
        if word.isascii():
            assert not (before + after).strip(" ,.;:()/-").isalnum(), (before, word, after)
    key = terms.first.evaluate("b => b.closest('.slide').dataset.key")
    p.locator(f'[data-list-key="{key}"]').click()
    expect(phone.page.locator("body")).to_have_attribute("data-current", key)
    phone.page.locator(".slide.current button.term").first.click()
    expect(phone.page.locator(".term-pop")).to_be_visible()
    expect(phone.page.locator(".term-pop")).to_contain_text("English")
    for tab in (presenter, projector, phone):
        assert tab.errors == []
    for ctx in (presenter_ctx, projector_ctx, phone_ctx):
        ctx.close()


def test_a_phone_lands_on_the_presenters_slide_after_a_new_build(browser, live, fresh) -> None:  # noqa: ANN001
    kb, url = live
    presenter_ctx = context(browser, url, 1600, 900)
    phone_ctx = context(browser, url, 390, 844, locale="vi-VN", is_mobile=True)
    p = presenter_ctx.new_page()
    p.goto("/present/liver-tace/presenter?langs=en,vi")
    p.get_by_role("button", name="Start an audience session").click()
    expect(p.locator("body")).to_have_attribute("data-session", re.compile(r"."))
    session = p.locator("body").get_attribute("data-session")
    phone = Tab(phone_ctx.new_page())
    phone.page.goto(f"/follow/{session}?lang=vi")
    p.locator('[data-list-key="aftercare"]').click()
    expect(phone.page.locator("body")).to_have_attribute("data-current", "aftercare")
    before = phone.page.locator("body").get_attribute("data-build")
    phone.page.evaluate("window.kbMarker = 'old page'")
    edit(fresh, "usually settles", "usually settles (new build for the phone)")
    # the new build reloads the phone's page (its module changed) and it lands on the presenter's slide again
    expect(phone.page.locator("body")).not_to_have_attribute("data-build", before, timeout=120_000)
    expect(phone.page.locator("body")).to_have_attribute("data-current", "aftercare")
    assert phone.page.evaluate("window.kbMarker") is None
    p.locator('[data-list-key="overview"]').click()
    expect(phone.page.locator("body")).to_have_attribute("data-current", "overview")
    assert phone.errors == []
    presenter_ctx.close()
    phone_ctx.close()


def test_the_side_by_side_menu_closes_after_a_choice_and_the_languages_are_remembered(browser, live_server) -> None:  # noqa: ANN001
    ctx = context(browser, live_server, 1280, 800)
    tab = Tab(ctx.new_page())
    page = tab.page
    page.goto("/compare/liver-tace?langs=vi,zh")
    menu = page.locator("details.jump")
    menu.locator("summary").click()
    assert menu.evaluate("m => m.open") is True
    menu.locator("a[href='#deb-tace']").click()
    expect(page).to_have_url(re.compile(r"#deb-tace$"))
    assert menu.evaluate("m => m.open") is False  # the menu no longer covers the text
    menu.locator("summary").click()
    page.keyboard.press("Escape")
    assert menu.evaluate("m => m.open") is False
    # without ?langs= the last choice comes back, in its order, in this module and in another
    page.goto("/compare/liver-tace")
    expect(page).to_have_url(re.compile(r"langs=vi,zh"))
    page.locator("#lang-picker input[value=en]").check()
    page.locator("#lang-picker input[value=zh]").uncheck()
    expect(page).to_have_url(re.compile(r"langs=vi,en"))
    page.goto("/compare/cancer-pain")
    expect(page).to_have_url(re.compile(r"langs=vi,en"))
    assert page.locator(".compare").get_attribute("data-langs") == "vi,en"
    assert tab.errors == []
    ctx.close()


def test_a_tall_table_is_split_between_rows_with_its_header_on_every_slide(browser, fresh, embedder) -> None:  # noqa: ANN001
    from kb.build import build_index
    from kb.runtime import KnowledgeBase
    from kb.web.app import create_app
    from tests.conftest import serve

    rows = "\n".join(f"| Drug {n} | {n * 10} mg every {n} days, adjusted for body weight and liver function |"
                     for n in range(1, 41))
    with (fresh.content_dir / "liver-tace" / "en.md").open("a", encoding="utf-8") as f:
        f.write(f"\n## Dose table {{#dose-table}}\n\n| Drug | Dose |\n|---|---|\n{rows}\n")
    build_index(fresh, embedder, progress=False)
    kb = KnowledgeBase(fresh, embedder)
    with serve(create_app(kb)) as url:
        ctx = context(browser, url, locale="zh-CN")  # the UI in Chinese: "(continued)" is "（续）"
        tab = Tab(ctx.new_page())
        page = tab.page
        page.goto("/present/liver-tace?langs=en,zh")
        keys = [k for k in page.locator("#main > .slide").evaluate_all("els => els.map(e => e.dataset.key)")
                if k.split(".")[0] == "dose-table"]
        assert len(keys) >= 3
        seen: list[str] = []
        for n, key in enumerate(keys):
            page.evaluate(f"location.hash = '{key}'")
            expect(page.locator("body")).to_have_attribute("data-current", key)
            m = page.evaluate("""() => { const s = document.querySelector('#main > .slide.current');
                const col = s.querySelector('.slide-col.pri');
                return {over: s.scrollHeight > s.clientHeight + 1,
                        head: [...col.querySelectorAll('thead th')].map(t => t.textContent),
                        rows: [...col.querySelectorAll('tbody tr')].map(r => r.cells[0].textContent),
                        cells: [...col.querySelectorAll('tbody tr')].map(r => r.cells.length),
                        label: (col.querySelector('.slide-continued') || {}).textContent || '',
                        smallest: Math.min(...[...col.querySelectorAll('td')].map(
                            t => parseFloat(getComputedStyle(t).fontSize)))}; }""")
            assert not m["over"], key
            assert m["head"] == ["Drug", "Dose"]  # the header row on every part
            assert set(m["cells"]) == {2}  # whole rows only
            assert m["label"] == ("" if n == 0 else "（续）")
            assert m["smallest"] >= 31.9
            seen += m["rows"]
        assert seen == [f"Drug {n}" for n in range(1, 41)]  # every row once, in order
        assert tab.errors == []
        ctx.close()
    kb.close()
