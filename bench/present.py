"""Trainer mode under a room's load, against a real `kb serve` process on loopback: N phones (server-sent event
clients on `present:<session>`) while the presenter advances every I seconds for S seconds, with one worker and
then with two (sessions in the index folder's store; a move taken by one worker reaches the other's phones
through its poll of the store).

Measured per slide change: delivery latency from the moment the presenter's POST is sent to the moment each phone
has the event (p50 / p95 / max over every phone and change), slide changes lost (a change some phone never got),
and the server's resident memory (all its processes) before the phones connect, with them connected, and at the
end. The reference, in the same run and against the same one-worker server, is one phone for a shorter stretch.
Changes are matched by the store's change number (`seq`), which is the same on every worker.

Usage: python bench/present.py [--write docs/benchmarks.md] [--clients 30] [--seconds 120] [--interval 2]"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.report import provenance, replace_block, table  # noqa: E402
from bench.server import start_kb_server  # noqa: E402
from kb.runtime.sessions import POLL_SECONDS  # noqa: E402

MODULE = "tace"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(port: int, index: Path, content: Path) -> subprocess.Popen:
    return start_kb_server(content, index, port, wait=180)


def rss_mb(pid: int) -> float:
    """Resident memory of the server: its process and, with several workers, theirs."""
    proc = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)]) / 2**20


async def phone(base: str, session: str, got: dict[int, float], ready: asyncio.Event, stop: asyncio.Event) -> None:
    """One phone: subscribes, records when each slide change (by its `seq`) arrived."""
    async with httpx.AsyncClient(base_url=base, timeout=httpx.Timeout(10, read=None)) as client, \
            client.stream("GET", "/api/events", params={"channel": f"present:{session}"}) as stream:
        name = None
        async for line in stream.aiter_lines():
            if line.startswith("event:"):
                name = line.split(":", 1)[1].strip()
                if name == "hello":
                    ready.set()
            elif line.startswith("data:") and name == "slide":
                got[int(json.loads(line.split(":", 1)[1])["seq"])] = time.perf_counter()
            if stop.is_set():
                return


async def run(base: str, clients: int, seconds: float, interval: float, pid: int) -> dict:
    async with httpx.AsyncClient(base_url=base, timeout=30) as presenter:
        r = await presenter.post(f"/present/{MODULE}/session", data={"langs": "zh,vi"})
        session = re.search(r"session=([A-Za-z0-9]+)", str(r.url) + r.headers.get("location", "")).group(1)
        keys = re.findall(r'data-list-key="([^"]+)"', (await presenter.get(
            f"/present/{MODULE}/presenter?session={session}")).text)
        rss_before = rss_mb(pid)
        stop = asyncio.Event()
        received: list[dict[int, float]] = [{} for _ in range(clients)]
        readies = [asyncio.Event() for _ in range(clients)]
        tasks = [asyncio.create_task(phone(base, session, received[i], readies[i], stop)) for i in range(clients)]
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in readies)), 60)
        rss_connected = rss_mb(pid)
        spread = await workers_of(base)
        sent: dict[int, float] = {}
        changes = max(1, int(seconds / interval))
        t0 = time.perf_counter()
        for n in range(changes):
            at = time.perf_counter()
            # a new connection per move (no keep-alive), so with several workers every worker takes some moves
            answer = await presenter.post(f"/api/present/{session}/position", json={"slide": keys[n % len(keys)]},
                                          headers={"Connection": "close"})
            sent[answer.json()["seq"]] = at
            await asyncio.sleep(max(0.0, t0 + (n + 1) * interval - time.perf_counter()))
        await asyncio.sleep(1.0)  # the last change's deliveries
        rss_end = rss_mb(pid)
        stop.set()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    latencies = [(got[i] - at) * 1000 for got in received for i, at in sent.items() if i in got]
    lost = sum(1 for i in sent if any(i not in got for got in received))
    return {"clients": clients, "changes": len(sent), "deliveries": len(latencies),
            "p50": float(np.percentile(latencies, 50)), "p95": float(np.percentile(latencies, 95)),
            "max": float(max(latencies)), "lost": lost, "rss_before": rss_before, "rss_connected": rss_connected,
            "rss_end": rss_end, "spread": spread}


async def workers_of(base: str, asks: int = 40) -> dict[int, int]:
    """Subscribers per worker process, as each worker's /api/health reports them (asked on new connections
    until every worker has answered)."""
    seen: dict[int, int] = {}
    for _ in range(asks):
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            health = (await client.get("/api/health")).json()
        seen[health["pid"]] = health["subscribers"]
    return seen


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--write", type=Path)
    ap.add_argument("--clients", type=int, default=30)
    ap.add_argument("--seconds", type=float, default=120)
    ap.add_argument("--interval", type=float, default=2.0)
    ap.add_argument("--reference-seconds", type=float, default=30)
    ap.add_argument("--index", type=Path, default=ROOT / ".kb" / "index")
    ap.add_argument("--content", type=Path, default=ROOT / "guidelines")
    args = ap.parse_args()
    runs = []
    for workers in (1, 2):
        port = free_port()
        server = start_kb_server(args.content, args.index, port, "--workers", str(workers), wait=180)
        try:
            base = f"http://127.0.0.1:{port}"
            if workers == 1:
                runs.append((1, asyncio.run(run(base, 1, args.reference_seconds, args.interval, server.pid))))
            runs.append((workers, asyncio.run(run(base, args.clients, args.seconds, args.interval, server.pid))))
        finally:
            server.terminate()
            server.wait(timeout=30)
    rows = [[f"{w} worker(s), {r['clients']} phone(s), {r['changes']} changes",
             " / ".join(str(n) for n in sorted(r["spread"].values(), reverse=True)), r["deliveries"], r["lost"],
             round(r["p50"], 1), round(r["p95"], 1), round(r["max"], 1), round(r["rss_before"]),
             round(r["rss_connected"]), round(r["rss_end"])] for w, r in runs]
    body = "\n".join([
        "## Trainer mode: phones following a presenter", "",
        provenance(f"python bench/present.py --clients {args.clients} --seconds {args.seconds:g} "
                   f"--interval {args.interval:g}"), "",
        f"A real `kb serve` on loopback, with one worker and then with two; the presenter advances every "
        f"{args.interval:g} s, each move on a new connection (with two workers both take moves); each phone is a "
        "server-sent events client on the session's channel (all phones in one asyncio process beside the "
        "server, so the latency includes that client's own scheduling). Sessions are kept in the index folder's "
        "store: a move is sent at once to the phones on the worker that took it, and reaches the other worker's "
        f"phones through that worker's poll of the store every {POLL_SECONDS * 1000:g} ms, which is what the "
        "two-worker rows add. Latency: from sending the presenter's POST to a phone having the change. The first "
        "row is the reference (one phone), measured in the same run against the one-worker server. *Phones per "
        "worker*: subscribers each worker process reported. Memory: all the server's processes. The server "
        "answers no search in this run, so its resident size does not include a loaded query embedder.", "",
        table(["run", "phones per worker", "deliveries", "changes lost", "p50 ms", "p95 ms", "max ms",
               "RSS before MB", "RSS with phones MB", "RSS at end MB"], rows)])
    print(body)
    if args.write:
        replace_block(args.write, "present", body)
    print(json.dumps([{"workers": w, **r} for w, r in runs], default=str))


if __name__ == "__main__":
    main()
