"""Writing benchmark results into docs/benchmarks.md: each script owns one marked block and replaces only it, so
retrieval and speed numbers can be refreshed separately."""

from __future__ import annotations

import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path

TEMPLATE = """# Benchmarks

Numbers measured on this project's reference machine (2 cores, 24 GiB, no GPU) by the scripts in `bench/`.
Each block says the command that produced it; re-run `make bench` to refresh all of them.
"""


def replace_block(path: Path, name: str, body: str, template: str = TEMPLATE) -> None:
    """Put `body` between `<!-- name:start -->` and `<!-- name:end -->`, appending the block if it is new; a new
    file starts with `template`."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    text = path.read_text(encoding="utf-8") if path.exists() else template
    block = f"{start}\n{body.rstrip()}\n{end}"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


def provenance(command: str) -> str:
    """A line saying what produced the numbers below it, and where."""
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             check=False).stdout.strip() or "unknown"
    except OSError:
        rev = "unknown"
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (f"Command: `{command}` — commit {rev}, {when}, Python {platform.python_version()}, "
            f"{platform.machine()}.")


def table(header: list[str], rows: list[list[object]]) -> str:
    def cell(v: object) -> str:
        return f"{v:.3f}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)
