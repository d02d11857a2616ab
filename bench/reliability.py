"""Reliability of the live knowledge base, measured against a real `kb serve --watch` process on loopback:

- load: N concurrent clients for S seconds against /api/search and the pages, first with no edits (the
  reference), then while the content is edited three times (each edit rebuilt and swapped in): failed requests,
  p50 / p95 / p99 latency, throughput, and the time from file save to the new text being searchable;
- kills: a build killed with SIGKILL at 10 random moments while the server answers; the next build succeeds;
  no orphaned temp folders are left;
- two `kb index` at once: one refuses with a clear message, the index is never mixed; `--wait` serialises them;
- the cost of verifying a build's checksums at load, and the resident memory of a server (one worker).

Works on a private copy of the shipped corpus (the embedding cache of `.kb/index` is reused when present).
Every loop is bounded in count and time and targets 127.0.0.1 only.

Usage: python bench/reliability.py [--write docs/reliability.md] [--clients 50] [--seconds 60] [--kills 10]"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.report import provenance, replace_block, table  # noqa: E402
from bench.server import start_kb_server  # noqa: E402
from kb.settings import Settings  # noqa: E402
from kb.store import BuildReader, current_build  # noqa: E402

TEMPLATE = ("# Reliability\n\nHow the knowledge base behaves under load, kills, damage and hostile input, "
            "measured by\n`bench/reliability.py` and kept so by the tests named beside each row.\n")
KB = [sys.executable, "-m", "kb.cli"]
EDITED = Path("tace") / "en.md"
MARK_SECTION = "## Overview {#overview}\n\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], p: float) -> float:
    return float(np.percentile(values, p)) if values else float("nan")


def workdir(tmp: Path) -> Settings:
    """A private copy of guidelines/ and an index over it, seeded from the repository's embedding cache."""
    content, index = tmp / "guidelines", tmp / "index"
    shutil.copytree(ROOT / "guidelines", content)
    index.mkdir()
    cache = ROOT / ".kb" / "index" / "cache.sqlite"
    if cache.is_file():
        shutil.copyfile(cache, index / "cache.sqlite")
    subprocess.run(KB + ["index", "--quiet", "--content", str(content), "--index", str(index)], check=True)
    return Settings(content_dir=content, index_dir=index)


def request_pool() -> list[str]:
    queries = [q["q"] for q in yaml.safe_load((ROOT / "bench" / "queries.yaml").read_text("utf-8"))["queries"]]
    modules = sorted(p.name for p in (ROOT / "guidelines").iterdir() if p.is_dir())
    pool = [f"/api/search?q={q}" for q in queries]
    pool += [f"/modules/{m}/{L}" for m in modules for L in ("zh", "en", "vi")]
    pool += [f"/compare/{m}?langs=vi,zh" for m in modules] + [f"/search?q={q}" for q in queries[:20]] + ["/modules"]
    return pool


def warm(base: str) -> None:
    with httpx.Client(base_url=base, timeout=120) as http:
        for path in request_pool():
            http.get(path)


async def load(base: str, clients: int, seconds: float, edits: list[float] | None, s: Settings) -> dict:
    """Clients loop over the request pool until the deadline; with `edits`, the content is edited at those
    offsets (seconds) and a watcher measures when each edit's marker becomes searchable."""
    pool = request_pool()
    latencies: list[float] = []
    failures: list[str] = []
    searchable: list[float] = []
    deadline = time.monotonic() + seconds
    max_requests = clients * int(seconds) * 200  # a hard bound besides the clock

    async def client(rng: random.Random) -> None:
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            while time.monotonic() < deadline and len(latencies) < max_requests:
                path = rng.choice(pool)
                t = time.perf_counter()
                try:
                    r = await http.get(path)
                    ok = r.status_code == 200
                except httpx.HTTPError as exc:
                    ok, r = False, exc
                latencies.append((time.perf_counter() - t) * 1000)
                if not ok:
                    failures.append(f"{path}: {getattr(r, 'status_code', r)!r}")

    async def editor() -> None:
        file = s.content_dir / EDITED
        original = file.read_text(encoding="utf-8")
        start = time.monotonic()
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            for n, at in enumerate(edits or []):
                await asyncio.sleep(max(0.0, start + at - time.monotonic()))
                marker = f"qzx{n}mark{random.randrange(10**6)}"
                file.write_text(original.replace(MARK_SECTION, f"{MARK_SECTION}{marker}. ", 1), encoding="utf-8")
                saved = time.monotonic()
                seen = False
                while not seen and time.monotonic() - saved < 120:
                    body = (await http.get("/api/search", params={"q": marker, "lang": "en", "k": 10})).json()
                    seen = any(marker in r["snippet"] for r in body["results"])
                    if not seen:
                        await asyncio.sleep(0.05)
                searchable.append(time.monotonic() - saved if seen else None)
        file.write_text(original, encoding="utf-8")

    started = time.monotonic()
    tasks = [client(random.Random(i)) for i in range(clients)]
    if edits:
        tasks.append(editor())
    await asyncio.gather(*tasks)
    took = time.monotonic() - started
    return {"requests": len(latencies), "failed": len(failures), "examples": failures[:3],
            "p50": pct(latencies, 50), "p95": pct(latencies, 95), "p99": pct(latencies, 99),
            "rps": len(latencies) / took, "searchable": searchable}


def kills(s: Settings, base: str, n: int) -> dict:
    """SIGKILL a build at random moments (uniform over a measured build's duration) while the server answers."""
    file = s.content_dir / "cancer-pain" / "en.md"
    original = file.read_text(encoding="utf-8")
    args = KB + ["index", "--quiet", "--content", str(s.content_dir), "--index", str(s.index_dir)]

    def change(k: int) -> None:  # new text in two sections, so the build has embedding work to be killed in
        file.write_text(original.replace("\n## ", f"\nkill round {k} {random.random()}.\n\n## ", 2), "utf-8")

    change(-1)
    t = time.monotonic()
    subprocess.run(args, check=True, capture_output=True)
    duration = time.monotonic() - t
    answered, live_before = 0, current_build(s.index_dir)
    for k in range(n):
        change(k)
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(random.uniform(0, duration))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        ok = httpx.get(f"{base}/api/search", params={"q": "morphine titration", "k": 3}, timeout=60)
        answered += ok.status_code == 200 and bool(ok.json()["results"])
    orphans_after_kills = len(list((s.index_dir / "builds").glob("*.tmp")))
    file.write_text(original, encoding="utf-8")
    final = subprocess.run(args, capture_output=True, text=True)
    orphans = len(list((s.index_dir / "builds").glob("*.tmp")))
    BuildReader.open_current(s.index_dir).close()  # the new live build verifies
    return {"kills": n, "build_s": duration, "answered": answered, "final_rc": final.returncode,
            "orphans_between": orphans_after_kills, "orphans_after": orphans,
            "live_changed": current_build(s.index_dir) != live_before}


DAMAGES = [("vectors-zh.faiss", "truncated"), ("vectors-en.faiss", "64 bytes overwritten"),
           ("meta.sqlite", "64 bytes overwritten"), ("meta.sqlite", "truncated"), ("vectors-vi.faiss", "deleted"),
           ("glossary.yaml", "64 bytes overwritten"), ("manifest.json", "not JSON")]


def damage(path: Path, how: str) -> None:
    if how == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif how == "deleted":
        path.unlink()
    elif how == "not JSON":
        path.write_text("{not json", encoding="utf-8")
    else:
        data = bytearray(path.read_bytes())
        data[len(data) // 2: len(data) // 2 + 64] = b"\xff" * 64
        path.write_bytes(bytes(data))


def damaged_builds(s: Settings, base: str, tmp: Path) -> list[list[str]]:
    """Each damage applied to a new build before it goes live: the build is made in a copy of the index folder,
    damaged there, moved into the live folder and named in CURRENT, as a disk fault right after publication
    would leave it. The running server must keep its build and say which file; `kb search` must name the file
    and the rebuild command, without a traceback."""
    file = s.content_dir / "cancer-pain" / "en.md"
    original = file.read_text(encoding="utf-8")
    rows = []
    for n, (name, how) in enumerate(DAMAGES):
        serving = current_build(s.index_dir).name
        stage = tmp / f"stage-{n}"
        shutil.copytree(s.index_dir, stage, ignore=shutil.ignore_patterns(".lock"))
        file.write_text(original.replace("\n## ", f"\ndamage round {n}.\n\n## ", 1), "utf-8")
        subprocess.run(KB + ["index", "--quiet", "--content", str(s.content_dir), "--index", str(stage)],
                       check=True, capture_output=True)
        build = current_build(stage)
        damage(build / name, how)
        shutil.copytree(build, s.index_dir / "builds" / build.name)
        (s.index_dir / "CURRENT.tmp").write_text(build.name + "\n", encoding="utf-8")
        os.replace(s.index_dir / "CURRENT.tmp", s.index_dir / "CURRENT")
        time.sleep(2)  # the server polls CURRENT every 250 ms and tries the new build
        health = httpx.get(f"{base}/api/health", timeout=60).json()
        answers = httpx.get(f"{base}/api/search", params={"q": "morphine", "k": 3}, timeout=60).status_code == 200
        kept = health["index"]["build_id"] != build.name and answers  # still on a good build, still answering
        named = name in ((health.get("load_error") or {}).get("message") or "")
        cli = subprocess.run(KB + ["search", "morphine", "--index", str(s.index_dir)], capture_output=True,
                             text=True)
        said = cli.stderr.strip().splitlines()[-1] if cli.stderr.strip() else ""
        ok = cli.returncode == 1 and "Traceback" not in cli.stderr and name in said and "kb index" in said
        rows.append([f"`{name}` {how}", "kept its build; /api/health `load_error` names the file" if kept and named
                     else f"kept={kept} named={named}", "exit 1, one line naming the file and `kb index`" if ok else
                     f"exit {cli.returncode}: {said[:80]}"])
        (s.index_dir / "CURRENT.tmp").write_text(serving + "\n", encoding="utf-8")  # back to the good build
        os.replace(s.index_dir / "CURRENT.tmp", s.index_dir / "CURRENT")
        shutil.rmtree(s.index_dir / "builds" / build.name)
        shutil.rmtree(stage)
    file.write_text(original, encoding="utf-8")
    return rows


def concurrent_builds(s: Settings) -> dict:
    file = s.content_dir / "cancer-pain" / "en.md"
    original = file.read_text(encoding="utf-8")
    file.write_text(original.replace("\n## ", "\nconcurrent build.\n\n## ", 1), "utf-8")
    args = KB + ["index", "--quiet", "--content", str(s.content_dir), "--index", str(s.index_dir)]
    procs = [subprocess.Popen(args, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    out = [(p.wait(), p.stderr.read()) for p in procs]
    refused = [e for rc, e in out if rc != 0]
    waited = [subprocess.Popen(args + ["--wait", "300"], stderr=subprocess.PIPE, text=True) for _ in range(2)]
    rcs = [p.wait() for p in waited]
    file.write_text(original, encoding="utf-8")
    BuildReader.open_current(s.index_dir).close()
    message = next((line for e in refused for line in e.splitlines() if "another build" in line), "")
    return {"rcs": sorted(rc for rc, _ in out), "message": message, "wait_rcs": rcs}


def verify_cost(s: Settings) -> dict:
    build = current_build(s.index_dir)
    size = sum(p.stat().st_size for p in build.rglob("*") if p.is_file())
    times = {}
    for verify in (False, True):
        runs = []
        for _ in range(5):
            t = time.perf_counter()
            BuildReader(build, verify=verify).close()
            runs.append(time.perf_counter() - t)
        times[verify] = min(runs)
    return {"bytes": size, "load_s": times[False], "verified_s": times[True]}


def rss_mb(pid: int) -> float:
    import psutil

    return psutil.Process(pid).memory_info().rss / 2**20


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--write", type=Path)
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--kills", type=int, default=10)
    args = p.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        s = workdir(Path(tmp))
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = start_kb_server(s.content_dir, s.index_dir, port, "--watch")
        try:
            idle_rss = rss_mb(server.pid)
            warm(base)  # every request of the pool once, so both phases see the same caches
            reference = asyncio.run(load(base, args.clients, args.seconds / 2, None, s))
            third = args.seconds / 4
            edited = asyncio.run(load(base, args.clients, args.seconds, [third, 2 * third, 3 * third], s))
            busy_rss = rss_mb(server.pid)
            # the rest builds from outside: a server that follows CURRENT but does not watch the content
            # (a watching one would rebuild on each edit and hold the build lock)
            server.send_signal(signal.SIGINT)
            server.wait(30)
            server = start_kb_server(s.content_dir, s.index_dir, port)
            killed = kills(s, base, args.kills)
            damaged = damaged_builds(s, base, Path(tmp))
            both = concurrent_builds(s)
            cost = verify_cost(s)
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(30)
    report(args, reference, edited, killed, damaged, both, cost, idle_rss, busy_rss, load_before)


def report(args, reference, edited, killed, damaged, both, cost, idle_rss, busy_rss,  # noqa: ANN001
           load_before) -> None:  # noqa: ANN001
    command = (f"python bench/reliability.py --write docs/reliability.md --clients {args.clients} --seconds "
               f"{args.seconds:g} --kills {args.kills}")
    rows = [[f"reference: no edits, {args.seconds / 2:g} s", reference["requests"], reference["failed"],
             round(reference["p50"], 1), round(reference["p95"], 1), round(reference["p99"], 1),
             round(reference["rps"], 1)],
            [f"3 edits rebuilt and swapped, {args.seconds:g} s", edited["requests"], edited["failed"],
             round(edited["p50"], 1), round(edited["p95"], 1), round(edited["p99"], 1), round(edited["rps"], 1)]]
    saves = ", ".join(f"{v:.2f} s" if v is not None else "not in the top 10 within 120 s"
                      for v in edited["searchable"]) or "no edit made"
    body = "\n\n".join([
        "## Live rebuilds under load", provenance(command),
        f"{args.clients} concurrent clients on loopback against one `kb serve --watch` process (one worker), "
        f"requests drawn from a pool of searches (bench/queries.yaml) and reading, side-by-side and search "
        f"pages. Load average before the run: {', '.join(f'{x:.1f}' for x in load_before)} (2 cores).",
        table(["phase", "requests", "failed", "p50 ms", "p95 ms", "p99 ms", "requests/s"], rows),
        f"File save to the new text being searchable (watcher debounce, incremental build, checksum-verified "
        f"load, swap): {saves}." + (f" Failures: {edited['examples']}" if edited["failed"] else ""),
        f"Server resident memory (one worker): {idle_rss:.0f} MB after start, {busy_rss:.0f} MB after the load. "
        "Each worker of `kb serve --workers N` is a process of this size: the model and the snapshot are "
        "per process.",
        "## Killed builds", provenance(command),
        table(["kills (SIGKILL at a uniform random moment of a build)", "server answered after each",
               "next build", "orphaned .tmp after kills", "orphaned .tmp after the next build"],
              [[killed["kills"], f"{killed['answered']} / {killed['kills']}",
                "succeeded" if killed["final_rc"] == 0 else f"failed ({killed['final_rc']})",
                killed["orphans_between"], killed["orphans_after"]]]),
        f"A build took {killed['build_s']:.1f} s here; each kill left the previous build live "
        "(tests/test_index.py kills builds at fixed moments; tests/test_live.py keeps a damaged build out).",
        "## Damaged builds", provenance(command),
        "A new build is damaged right after it is published, while the server runs; then `kb search` is run "
        "against it (tests/test_live.py::test_a_damaged_build_is_refused_naming_the_file keeps every row).",
        table(["damage", "running server", "`kb search`"], damaged),
        "## Two builds at once", provenance(command),
        f"Two `kb index` started together: exit codes {both['rcs']}; the refused one says: `{both['message']}`. "
        f"With `--wait 300` both ran, one after the other: exit codes {both['wait_rcs']}. The live build "
        "verifies against its checksums afterwards (tests/test_live.py::test_two_builds_at_once_one_refuses_clearly).",
        "## Checksums at load", provenance(command),
        f"Loading the live build of the shipped corpus ({cost['bytes'] / 2**20:.1f} MB of files): "
        f"{cost['load_s'] * 1000:.0f} ms with sizes only, {cost['verified_s'] * 1000:.0f} ms with every "
        "SHA-256 checked (best of 5). Hashes are therefore always checked at load.",
    ])
    print(body)
    if args.write:
        replace_block(args.write, "live-reliability", body, template=TEMPLATE)


if __name__ == "__main__":
    main()
