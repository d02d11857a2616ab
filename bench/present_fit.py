"""Do slides fit a 1920x1080 projector? For every slide of every shipped module, in every ordered pair of its
languages, in Chromium: whether it overflows after present.js's shrink-to-fit, whether it had to shrink (never
below 32 px), and how full it is (the lowest text's bottom as a share of the screen height).

The split budget in kb/web/slides.py (LINES_PER_SLIDE, LINE_UNITS, the table-row estimate) was set looking at the
*tune* modules only; the *held-out* modules are reported separately and were not looked at while setting it; the
other shipped modules are the third row. The slides that overflow are listed by module, order and key.

    .venv/bin/python bench/present_fit.py [--write docs/benchmarks.md]"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.present import free_port, start_server  # noqa: E402
from bench.report import provenance, replace_block, table  # noqa: E402
from bench.screenshots import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

TUNE = ["tace", "cancer-pain", "lung-cancer"]
HELD_OUT = ["gastric-cancer", "nasopharyngeal-carcinoma", "immune-checkpoint-inhibitor-toxicity",
            "carbon-ion-radiotherapy", "cross-border-referral"]
ORDERS = ["zh,vi", "vi,zh", "en,vi", "vi,en", "zh,en", "en,zh"]
MEASURE = """() => { const s = document.querySelector('#main > .slide.current');
  const cols = [...s.querySelectorAll('.slide-col')].map(c => c.getBoundingClientRect().bottom);
  const texts = [...s.querySelectorAll('.slide-body p, .slide-body li, .slide-body td, .slide-body th')];
  return {fit: parseFloat(s.style.getPropertyValue('--fit') || '1'), over: s.scrollHeight > s.clientHeight + 1,
          bottom: Math.max(0, ...cols),
          smallest: Math.min(99, ...texts.map(t => parseFloat(getComputedStyle(t).fontSize)))}; }"""


def shipped_modules() -> list[str]:
    return sorted(p.name for p in (ROOT / "guidelines").iterdir() if p.is_dir() and any(p.glob("*.md")))


def orders_of(module: str) -> list[str]:
    """Every ordered pair of the module's languages (all six when it has zh, en and vi)."""
    have = {p.stem for p in (ROOT / "guidelines" / module).glob("*.md")}
    return [o for o in ORDERS if set(o.split(",")) <= have]


def measure(page, modules: list[str]) -> dict:  # noqa: ANN001
    rows, over = [], []
    for module in modules:
        for order in orders_of(module):
            page.goto(f"/present/{module}?langs={order}")
            keys = page.locator("#main > .slide").evaluate_all("els => els.map(e => e.dataset.key)")
            for key in keys:
                page.evaluate(f"location.hash = {key!r}")
                page.wait_for_function(f"document.body.dataset.current === {key!r}")
                rows.append(page.evaluate(MEASURE))
                if rows[-1]["over"]:
                    over.append(f"{module}?langs={order}#{key}")
    fills = sorted(r["bottom"] / 1080 for r in rows)
    return {"slides": len(rows), "overflow": len(over), "shrunk": sum(r["fit"] < 1 for r in rows),
            "smallest": min(r["smallest"] for r in rows), "fill50": fills[len(fills) // 2],
            "fill10": fills[len(fills) // 10], "over": over}


def main() -> None:
    from playwright.sync_api import sync_playwright

    ap = argparse.ArgumentParser()
    ap.add_argument("--write", type=Path)
    args = ap.parse_args()
    port = free_port()
    server = start_server(port, ROOT / ".kb" / "index", ROOT / "guidelines")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_context(base_url=f"http://127.0.0.1:{port}",
                                       viewport={"width": 1920, "height": 1080}).new_page()
            others = [m for m in shipped_modules() if m not in TUNE + HELD_OUT]
            sets = {"tune": TUNE, "held-out": HELD_OUT, "other shipped": others}
            results = {name: measure(page, mods) for name, mods in sets.items()}
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    rows = [[name, ", ".join(sets[name]), r["slides"], r["overflow"], r["shrunk"], round(r["smallest"], 1),
             round(r["fill50"], 2), round(r["fill10"], 2)] for name, r in results.items()]
    total = {k: sum(r[k] for r in results.values()) for k in ("slides", "overflow", "shrunk")}
    rows.append(["all", f"{sum(len(m) for m in sets.values())} modules", total["slides"], total["overflow"],
                 total["shrunk"], round(min(r["smallest"] for r in results.values()), 1), "", ""])
    listed = [f"{name}: {key}" for name, r in results.items() for key in r["over"]]
    body = "\n".join([
        "## Trainer mode: do slides fit a 1920x1080 projector?", "",
        provenance("python bench/present_fit.py"), "",
        f"Every slide of every shipped module in each ordered pair of its languages ({', '.join(ORDERS)}), in "
        "Chromium at 1920x1080. *Overflowing*: content cut off after the shrink-to-fit; *shrunk*: type reduced to "
        "fit (never below 32 px); *smallest text*: the smallest body text size seen; *fill*: the lowest text's "
        "bottom as a share of the screen height (median, 10th percentile). The split budget was set on the tune "
        "modules; the held-out row is the figure to quote. Slides are split by an estimate of their height when "
        "the deck is built (between blocks, list items or table rows, a continued table repeating its header "
        "row), never by the browser, so every device has the same slides. The two rules that bring overflow to 0 "
        "(a tall table split between rows, a paragraph taller than a screen split at a sentence end) were written "
        "after the previous run had listed its overflowing slides, held-out ones among them "
        "(immune-checkpoint-inhibitor-toxicity#hepatitis): no constant was set on the held-out modules, but the "
        "sentence rule was made for a case seen there.", "",
        table(["set", "modules", "slides", "overflowing", "shrunk", "smallest text px", "fill p50", "fill p10"],
              rows), "",
        "Overflowing slides: " + ("; ".join(listed) if listed else "none") + "."])
    print(body)
    if args.write:
        replace_block(args.write, "present-fit", body)


if __name__ == "__main__":
    main()
