"""Screenshots of the trainer mode for the README (docs/screenshots/present-*.png): the deck at 1920x1080 on its
title slide with the session's QR code, the presenter view, and a phone following in Vietnamese with a glossary
term tapped. Serves the real corpus (after `kb index`) with `kb serve` on a loopback port, drives Debian's Chromium.

    .venv/bin/python bench/present_screenshots.py [--out docs/screenshots]"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.present import free_port, start_server  # noqa: E402
from bench.screenshots import CHROMIUM, CHROMIUM_ARGS  # noqa: E402


def main() -> None:
    from playwright.sync_api import sync_playwright

    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = ap.parse_args()
    port = free_port()
    server = start_server(port, ROOT / ".kb" / "index", ROOT / "guidelines")
    base = f"http://127.0.0.1:{port}"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            presenter_ctx = browser.new_context(base_url=base, viewport={"width": 1440, "height": 900},
                                                locale="en-US")
            pres = presenter_ctx.new_page()
            pres.goto("/present/tace/presenter?langs=zh,vi")
            pres.get_by_role("button", name="Start an audience session").click()
            pres.wait_for_load_state("networkidle")
            session = pres.locator("body").get_attribute("data-session")
            projector = browser.new_context(base_url=base, viewport={"width": 1920, "height": 1080}).new_page()
            projector.goto(f"/present/tace?session={session}")
            projector.wait_for_timeout(800)
            projector.screenshot(path=str(args.out / "present-title.png"))
            pres.keyboard.press("ArrowRight")
            projector.wait_for_timeout(800)
            projector.screenshot(path=str(args.out / "present-deck.png"))
            pres.wait_for_timeout(300)
            pres.screenshot(path=str(args.out / "present-presenter.png"))
            phone = browser.new_context(base_url=base, viewport={"width": 390, "height": 844}, locale="vi-VN",
                                        is_mobile=True, has_touch=True, device_scale_factor=2).new_page()
            phone.goto(f"/follow/{session}?lang=vi")
            pres.keyboard.press("ArrowRight")
            phone.wait_for_timeout(1000)
            term = phone.locator(".slide.current button.term").first
            if term.count():
                term.click()
            phone.screenshot(path=str(args.out / "present-phone.png"))
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"wrote {args.out}/present-{{title,deck,presenter,phone}}.png")


if __name__ == "__main__":
    main()
