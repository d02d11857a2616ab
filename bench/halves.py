"""Tune and test halves of the issue 8 sets, and switches of the ranking measured against each other in one run.

The halves: XQuAD odd-numbered articles (tune) and even-numbered ones (test); `bench/queries.yaml` with
`bench/queries-test.yaml` `split: tune` (tune) and `split: test` (test), also over the partly translated draws;
`bench/queries-new-modules.yaml` by its own `split` (set `new`).
Every variant is a copy of the real Searcher with attributes switched (`cal.<name>` switches the calibration), so
each figure is the ranking the search serves, not a re-implementation. Indexes and query vectors are the ones
`bench/retrieval.py` built for the same engine (run it first).

Usage: python bench/halves.py --half test [--embedder ID] [--per-paragraph N] [--sets par,np,onco,new,partial]
       [--sentences all]
       [--variants '{"this search": {}, "previous": {"previous": 1}, "no pool": {"pool_share": 0}}']

A variant {"told": "search"} or {"told": "bare"} (non-parallel sets only) is told which language holds each
answer: this search, or the model alone, over that language only; the ceiling of any language weighting."""

from __future__ import annotations

import argparse
import copy
import json
import shutil
import sys
import tempfile
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import crosslingual as xl  # noqa: E402
from bench import retrieval as rt  # noqa: E402
from kb.build import build_index  # noqa: E402
from kb.embedders import get_embedder  # noqa: E402
from kb.runtime import open_searcher  # noqa: E402
from kb.search import Searcher  # noqa: E402
from kb.settings import SENTENCE_SCOPES, Settings  # noqa: E402


def variant(base: Searcher, attrs: dict) -> Searcher:
    """A copy of `base` with attributes switched; {"previous": 1} is the ranking before issue 8."""
    if attrs.get("previous"):
        return xl.previous_ranking(base)
    v = copy.copy(base)
    v._cache = type(base._cache)()  # noqa: SLF001
    v.calibration = copy.copy(base.calibration)
    for key, value in attrs.items():
        setattr(v.calibration if key.startswith("cal.") else v, key.removeprefix("cal."), value)
    return v


def cell(ranks: list[int | None]) -> str:
    r1, r5, _ = xl._metrics(ranks)  # noqa: SLF001
    return f"{r1:.3f} / {r5:.3f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--half", choices=("tune", "test"), required=True)
    ap.add_argument("--embedder", default=Settings().embedder)
    ap.add_argument("--per-paragraph", type=int, default=None, help="XQuAD questions per paragraph (default all)")
    ap.add_argument("--sets", default="par,np,onco,new,partial")
    ap.add_argument("--sentences", choices=SENTENCE_SCOPES, default=Settings().sentences,
                    help="the bench indexes' sentence scope; another than the default builds a copy of each "
                         "(`<name>-<scope>/index`, its chunk vectors from the bench index's cache) the first time")
    ap.add_argument("--variants", default='{"this search": {}, "previous": {"previous": 1}}')
    args = ap.parse_args()
    variants, sets = json.loads(args.variants), args.sets.split(",")
    embedder = get_embedder(args.embedder)
    work = rt.WORK / embedder.id
    vectors = xl.QueryVectors(work / "query-vectors.npz")

    def searcher(content: Path, index: Path, glossary: bool = True) -> Searcher:
        settings = Settings(content_dir=content, index_dir=index, embedder=embedder.id, glossary_expansion=glossary,
                            query_cache_size=10**6, sentences=args.sentences)
        if args.sentences != Settings().sentences:  # a copy of the bench index with this scope, built once
            settings = replace(settings, index_dir=index.parent.with_name(f"{index.parent.name}-{args.sentences}")
                               / "index")
            if not (settings.index_dir / "CURRENT").exists():
                settings.index_dir.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(index / "cache.sqlite", settings.index_dir / "cache.sqlite")
                build_index(settings, embedder, progress=False)
        return vectors.attach(open_searcher(settings, embedder))

    content = work / "xquad" / "guidelines"
    queries = rt.write_xquad_content(rt.DEFAULT_XQUAD, content, None, None)
    parity = 1 if args.half == "tune" else 0
    count: dict[tuple, int] = defaultdict(int)
    xq = []
    for q in queries:
        if int(q[2][0].split("-")[1]) % 2 != parity:
            continue
        count[(q[1], q[2])] += 1
        if args.per_paragraph is None or count[(q[1], q[2])] <= args.per_paragraph:
            xq.append(q)
    here = ROOT / "bench"
    oq = (xl.load_queries(here / "queries.yaml") + xl.load_queries(here / "queries-test.yaml", "tune")
          if args.half == "tune" else xl.load_queries(here / "queries-test.yaml", "test"))
    rows: dict[str, dict[str, str]] = defaultdict(dict)
    if "par" in sets:
        base = searcher(content, work / "xquad" / "index", False)
        for name, attrs in variants.items():
            ranks = rt.ranks_project(variant(base, attrs), xq, "hybrid")
            rows[name][f"parallel XQuAD, hybrid (n={sum(map(len, ranks.values()))})"] = cell(
                [r for rr in ranks.values() for r in rr])
            rows[name]["parallel XQuAD, zh questions"] = cell([r for (ql, _), rr in ranks.items() if ql == "zh"
                                                               for r in rr])
    if "np" in sets:
        for split, assign in xl.xquad_assignments(sorted({g[0] for _, _, g in queries})).items():
            tag = split.split()[0].lower()
            base = searcher(work / f"xquad-nonparallel-{tag}" / "guidelines",
                            work / f"xquad-nonparallel-{tag}" / "index", False)
            where = {m: [L] for m, L in assign.items()}
            for name, attrs in variants.items():
                told = attrs.get("told")  # "search" or "bare": told which language holds the answer
                ranks = (xl.ranks_told_language(variant(base, {k: v for k, v in attrs.items() if k != "told"}), xq,
                                                where, told == "bare") if told
                         else xl.ranks_any_language(variant(base, attrs), xq))
                groups = xl.grouped(xq, ranks, where)
                for g in ("answer in other language", "answer in same language", "zh, answer in other language"):
                    rows[name][f"non-parallel {tag.upper()}, {g} (n={len(groups[g])})"] = cell(groups[g])
    if "onco" in sets:
        base = searcher(ROOT / "guidelines", work / "oncology" / "index")
        forms = oq + xl.folded(oq)
        first: list[list[tuple[str, str]]] | None = None
        for name, attrs in variants.items():
            v = variant(base, attrs)
            rows[name][f"oncology, no filter (n={len(oq)})"] = cell(xl.ranks_any_language(v, oq))
            rows[name][f"oncology, Vietnamese folded (n={len(xl.folded(oq))})"] = cell(
                xl.ranks_any_language(v, xl.folded(oq)))
            # what a switch does beyond the gold ranks: the other sections a reader sees
            tops = [[(r.module, r.section) for r in v.search(text[:500], k=10).results] for text, _, _ in forms]
            first = tops if first is None else first
            rows[name][f"oncology, top-10 lists unlike the first column's (n={len(forms)})"] = str(
                sum(a != b for a, b in zip(tops, first, strict=True)))
    if "new" in sets:
        base = searcher(ROOT / "guidelines", work / "oncology" / "index")
        nq = xl.load_queries(here / "queries-new-modules.yaml", args.half)
        accented = [q for q in nq if q[1] != "vi" or xl.strip_marks(q[0]) != q[0]]
        for name, attrs in variants.items():
            v = variant(base, attrs)
            rows[name][f"new modules, no filter (n={len(nq)})"] = cell(xl.ranks_any_language(v, nq))
            rows[name][f"new modules, Vietnamese accented, folded (n={len(xl.folded(accented))})"] = cell(
                xl.ranks_any_language(v, xl.folded(accented)))
    if "partial" in sets:
        pooled: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
        with tempfile.TemporaryDirectory() as tmp:
            for seed in range(3):
                kept = xl.write_partial_corpus(ROOT / "guidelines", Path(tmp) / f"p{seed}", seed)
                base = searcher(work / f"partial-{seed}" / "guidelines", work / f"partial-{seed}" / "index")
                for name, attrs in variants.items():
                    groups = xl.grouped(oq, xl.ranks_any_language(variant(base, attrs), oq), kept)
                    for g in ("answer in other language", "answer in same language"):
                        pooled[name][g] += groups.get(g, [])
        for name, groups in pooled.items():
            for g, ranks in groups.items():
                rows[name][f"partly translated (3 draws), {g} (n={len(ranks)})"] = cell(ranks)
    names = list(variants)
    print(f"{args.half} half, {embedder.id}; cells recall@1 / recall@5\n")
    print("| set | " + " | ".join(names) + " |\n|---|" + "---|" * len(names))
    for key in rows[names[0]]:
        print(f"| {key} | " + " | ".join(rows[n][key] for n in names) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
