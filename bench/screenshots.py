"""Screenshots of the search, reading and side-by-side pages for the README (docs/screenshots/*.png).

Serves the real corpus (guidelines/ and its index in .kb/index, built by `kb index`) on a loopback port and
drives Debian's Chromium through Playwright, as the browser tests do:

    .venv/bin/python bench/screenshots.py [--out docs/screenshots] [--content guidelines --index .kb/index]
"""

from __future__ import annotations

import argparse
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1280, "height": 800}

SHOTS = [
    # (file, path, UI language, what to wait for)
    ("search.png", "/search?q=chu%E1%BA%A9n+%C4%91%E1%BB%99+opioid", "en", ".result"),
    ("reading.png", "/modules/tace/vi", "vi", ".document"),
    ("compare.png", "/compare/tace?langs=vi,zh", "zh", ".compare-row"),
]


@contextmanager
def serve(content: Path, index: Path) -> Iterator[str]:
    """The app over `index` behind uvicorn on a free loopback port; yields its base URL."""
    import uvicorn

    from kb.runtime import KnowledgeBase
    from kb.settings import Settings
    from kb.web.app import create_app
    from kb.web.i18n import compile_catalogs

    settings = Settings(content_dir=content, index_dir=index)
    compile_catalogs(settings.translations_dir)
    app = create_app(KnowledgeBase(settings))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def capture(base_url: str, out: Path, shots: list[tuple[str, str, str, str]] = SHOTS) -> list[Path]:
    """One PNG per shot, the viewport only (what a reader sees first)."""
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    written = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for name, path, ui, ready in shots:
            context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
            page = context.new_page()
            sep = "&" if "?" in path.split("#")[0] else "?"
            url = path.replace("#", f"{sep}ui={ui}#", 1) if "#" in path else f"{path}{sep}ui={ui}"
            page.goto(base_url + url)
            page.wait_for_selector(ready)
            page.wait_for_timeout(300)  # let the smooth scroll to #section finish
            page.screenshot(path=str(out / name))
            written.append(out / name)
            context.close()
        browser.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--content", type=Path, default=ROOT / "guidelines")
    parser.add_argument("--index", type=Path, default=ROOT / ".kb" / "index")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--base-url", help="use a server that is already running instead of starting one")
    args = parser.parse_args(argv)
    if args.base_url:
        written = capture(args.base_url.rstrip("/"), args.out)
    else:
        if not (args.index / "CURRENT").is_file():
            print(f"no index in {args.index}: build it with 'kb index' first", file=sys.stderr)
            return 1
        with serve(args.content, args.index) as base_url:
            written = capture(base_url, args.out)
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
