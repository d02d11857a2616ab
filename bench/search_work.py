"""The search work alone (query embedding cached), this search beside the previous ranking, same process, same
queries: the latency budget of issue 8 (search work under 5 ms p50 on top of the embedding).

Every query is embedded once first (not timed); then the answer cache is cleared before each timed search, so
each timing is a full ranking: restoration, language, centred scores, keyword queries, fusion, snippets.

Usage: python bench/search_work.py [--rounds N]"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import crosslingual as xl  # noqa: E402
from kb.embedders import get_embedder  # noqa: E402
from kb.runtime import open_searcher  # noqa: E402
from kb.settings import Settings  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--embedder", default=Settings().embedder,
                    help="engine; the index and query vectors of bench/retrieval.py under .kb/bench/<engine>/")
    args = ap.parse_args()
    embedder = get_embedder(args.embedder)
    work = ROOT / ".kb" / "bench" / embedder.id
    vectors = xl.QueryVectors(work / "query-vectors.npz")
    searcher = vectors.attach(open_searcher(Settings(content_dir=ROOT / "guidelines", embedder=embedder.id,
                                                     index_dir=work / "oncology" / "index"), embedder))
    queries = [q for path in ("queries.yaml", "queries-test.yaml") for q, _, _ in
               xl.load_queries(ROOT / "bench" / path)]
    queries += [q for q, _, _ in xl.folded(xl.load_queries(ROOT / "bench" / "queries-test.yaml"))]
    previous = xl.previous_ranking(searcher)
    for q in queries:  # embed (and restore) once, untimed
        searcher.search(q)
        previous.search(q)
    timings: dict[str, list[float]] = {"this search": [], "previous ranking": []}
    for _ in range(args.rounds):
        for name, s in (("this search", searcher), ("previous ranking", previous)):
            for q in queries:
                s._cache.clear()  # noqa: SLF001 - time the ranking, not the answer cache
                t = time.perf_counter()
                s.search(q)
                timings[name].append((time.perf_counter() - t) * 1000)
    print(f"{len(queries)} queries x {args.rounds} rounds over guidelines/ (embedding cached, {embedder.id})")
    print("| ranking | p50 ms | p95 ms |\n|---|---|---|")
    for name, ts in timings.items():
        ts.sort()
        print(f"| {name} | {statistics.median(ts):.2f} | {ts[int(0.95 * len(ts))]:.2f} |")
    vectors.save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
