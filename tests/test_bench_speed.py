"""`bench/speed.py`'s engines taking turns: each engine in its own process answers every query, in turn."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.speed import interleaved  # noqa: E402


def test_engines_take_turns_over_every_query() -> None:
    queries = ["liver cancer staging", "肝癌分期", "phân giai đoạn ung thư gan", "a question\nover two lines"]
    times = interleaved(queries, ["e5-small-q4", "e5-small-q4-ort"])
    assert set(times) == {"e5-small-q4", "e5-small-q4-ort"}
    for engine, ms in times.items():
        assert len(ms) == len(queries), engine
        assert all(t > 0 for t in ms), engine
