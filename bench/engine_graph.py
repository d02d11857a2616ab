"""Two ONNX graphs of the default engine against each other, interleaved in one process: lone queries, batches of
queries on one thread, passages, memory per session, and the cosine between their vectors.

Why interleaved: on this shared machine either engine's speed moves by 20-40% between runs minutes apart, so a
graph change is only visible when both graphs take turns over the same texts in the same minutes. The graphs are
cached model files (`~/.cache/oncology-kb/e5-small-q4-<weights>-g<version>.onnx`); a file of an earlier graph
version is built by the commit that had it (e.g. `git worktree add /tmp/g1 1276aa9`, then `kb search x` there).

A graph file named `…-unpadded.onnx` has no attention mask (`build_model(padded=False)`): it is timed as the
engine runs it, one window a call (lone queries and passages), and has no batches-of-16 figure; a padded graph's
passages are run in the engine's padded batches, as they were before the unpadded graph.

Usage: python bench/engine_graph.py --graph g1=FILE --graph g2=FILE [--write docs/benchmarks.md]
       [--block engine-graph] [--title TEXT] [--rounds 4] [--xquad DIR]"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402

from bench.report import provenance, replace_block, table  # noqa: E402
from bench.speed import XQUAD, query_texts  # noqa: E402
from kb.build.chunking import chunk_document  # noqa: E402
from kb.corpus import load_corpus  # noqa: E402
from kb.embedders.onnx_e5 import OnnxE5Embedder, _session  # noqa: E402


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--graph", action="append", required=True, help="NAME=FILE, two or more")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--xquad", type=Path, default=XQUAD)
    ap.add_argument("--write", type=Path)
    ap.add_argument("--block", default="engine-graph", help="the docs block to write (one per comparison)")
    ap.add_argument("--title", default="Engine graph: two ONNX graphs of `e5-small-q4-ort` interleaved")
    args = ap.parse_args()
    graphs = dict(g.split("=", 1) for g in args.graph)
    unpadded = {n for n, p in graphs.items() if Path(p).name.endswith("-unpadded.onnx")}
    engine = OnnxE5Embedder()  # the tokenizer, the input embeddings and the windowing: the engine's own
    queries = query_texts(150, args.xquad)
    ids = [engine.tokenizer.content_ids(q, True) for q in queries]
    chunks = [c.text for d in load_corpus(ROOT / "guidelines").indexable()
              for c in chunk_document(d, engine.token_count)][:96]
    memory, wide, lane = {}, {}, {}
    for name, path in graphs.items():
        before = rss_mb()
        wide[name] = _session(ort, path, 2)
        memory[name] = rss_mb() - before
        lane[name] = _session(ort, path, 1)
    lone = {n: [] for n in graphs}
    batched = {n: [] for n in graphs}
    passages = {n: [] for n in graphs}
    vectors = {}
    for name in graphs:  # warm both before timing either
        for i in ids[:5]:
            engine._run([i], wide[name])  # noqa: SLF001
    for _ in range(args.rounds):
        for i in ids:
            for name in graphs:
                t = time.perf_counter()
                engine._run([i], wide[name])  # noqa: SLF001
                lone[name].append((time.perf_counter() - t) * 1000)
        for name in graphs:
            if name not in unpadded:  # padding needs the mask
                t = time.perf_counter()
                for k in range(0, len(ids), 16):
                    engine._run(ids[k:k + 16], lane[name])  # noqa: SLF001
                batched[name].append(len(ids) / (time.perf_counter() - t))
            # the engine runs its wide session one window a call: so for an unpadded graph, not for the others
            engine._wide = wide[name] if name in unpadded else None  # noqa: SLF001
            t = time.perf_counter()
            vectors[name] = engine.encode(chunks, False, claimed=wide[name])
            passages[name].append(len(chunks) / (time.perf_counter() - t))
    names = list(graphs)
    ref = vectors[names[0]]
    rows = [[name, f"{statistics.median(lone[name]):.2f}",
             f"{statistics.median(batched[name]):.1f}" if batched[name] else "—",
             " · ".join(f"{x:.0f}" for x in batched[name]) or "—",
             " · ".join(f"{x:.2f}" for x in passages[name]),
             f"{statistics.median(passages[name]):.2f}",
             f"{memory[name]:.0f}", f"{float(np.min(np.sum(ref * vectors[name], axis=1))):.5f}"] for name in names]
    body = "\n\n".join([
        f"## {args.title}",
        provenance("python bench/engine_graph.py " + " ".join(f"--graph {n}=…/{Path(p).name}"
                                                               for n, p in graphs.items())
                   + (f" --rounds {args.rounds}" if args.rounds != 4 else "")
                   + (f" --block {args.block} --title '{args.title}'" if args.block != "engine-graph" else "")
                   + " --write docs/benchmarks.md"),
        f"{len(queries)} XQuAD questions (en, zh, vi), {args.rounds} rounds, each question run by every graph in "
        f"turn; {len(chunks)} chunks of `guidelines/` as passages.",
        table(["graph", "lone query p50 (ms, 2 threads)", "batches of 16 on 1 thread (queries/s, median)",
               "each round", "passages/s (2 threads), each round", "passages/s (median)", "session (MB)",
               f"min cosine to `{names[0]}` (passages)"], rows),
    ])
    print(body)
    if args.write:
        replace_block(args.write, args.block, body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
