"""A real `kb serve` process on a loopback port, for the benchmark scripts."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def start_kb_server(content: Path, index: Path, port: int, *extra: str, wait: float = 120,
                    env: dict[str, str] | None = None) -> subprocess.Popen:
    """`kb serve --no-build` over an existing index, returned once /api/health answers."""
    cmd = [sys.executable, "-m", "kb.cli", "serve", "--no-build", "--content", str(content), "--index", str(index),
           "--port", str(port), *extra]
    log = tempfile.TemporaryFile()  # a file, not a pipe: a long run's log must never block the server
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log, cwd=ROOT,
                            env={**os.environ, **(env or {})})
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    log.seek(0)
    raise RuntimeError("kb serve did not start: " + log.read().decode(errors="replace")[-2000:])
