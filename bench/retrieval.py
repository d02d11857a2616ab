"""Retrieval quality: XQuAD cross-lingual (9 query/target language pairs) and the oncology query set.

For XQuAD each article becomes a module and each paragraph a section, in en, zh and vi. Titles and headings are
neutral ("XQuAD article 7", "Paragraph 3") so the project gets no hint the bare model lacks. For every question
in language Q and every target language T we search with lang=T and look for the gold paragraph.

- bare: the default model alone, no project code: cosine of the question against raw paragraphs in T.
- dense / keyword / hybrid: the project's section-aware search restricted to that retriever, or both fused.

Issue 8 adds (bench/crosslingual.py): non-parallel XQuAD (two language assignments), a partly translated
oncology corpus, folded Vietnamese, the held-out query set (bench/queries-test.yaml, tune/test halves) and the
weak floor, each beside the bare model and the previous ranking.

Issue 13 adds query files whose queries carry tune/test halves (bench/queries-new-modules.yaml): each is reported
in its own block of docs/benchmarks.md (bench/querysets.py), so it can be refreshed without the rest.

Usage: python bench/retrieval.py [--write docs/benchmarks.md] [--xquad DIR] [--articles N] [--per-paragraph N]
       [--skip-xquad] [--queries FILE ...] [--embedder ID]
       (default queries: bench/queries.yaml and bench/queries-new-modules.yaml; default engine: kb/settings.py's)"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import crosslingual as xl  # noqa: E402
from bench import querysets  # noqa: E402
from bench.report import provenance, replace_block, table  # noqa: E402
from kb import LANGS  # noqa: E402
from kb.build import build_index, is_stale  # noqa: E402
from kb.embedders import get_embedder  # noqa: E402
from kb.runtime import open_searcher  # noqa: E402
from kb.search import Searcher  # noqa: E402
from kb.settings import Settings  # noqa: E402

XQUAD_PLACES = (ROOT.parent / "shared" / "data" / "xquad", Path("/work/shared/data/xquad"))
DEFAULT_XQUAD = next((p for p in XQUAD_PLACES if p.is_dir()), XQUAD_PLACES[0])
WORK = ROOT / ".kb" / "bench"
MODES = ("dense", "keyword", "hybrid")
DEFAULT_QUERIES = (ROOT / "bench" / "queries.yaml", ROOT / "bench" / "queries-new-modules.yaml")
Query = tuple[str, str, tuple[str, str]]  # (text, language, gold (module, section))


def write_xquad_content(xquad: Path, out: Path, articles: int | None, per_paragraph: int | None = None) -> list[Query]:
    """XQuAD as parallel guideline modules; returns its questions with their gold sections."""
    data = {L: json.loads((xquad / f"xquad.{L}.json").read_text(encoding="utf-8"))["data"] for L in LANGS}
    queries: list[Query] = []
    for a in range(len(data["en"][:articles])):
        module = f"xquad-{a + 1:02d}"
        (out / module).mkdir(parents=True, exist_ok=True)
        for L in LANGS:
            paragraphs = data[L][a]["paragraphs"]
            front = {"module": module, "title": f"XQuAD article {a + 1}", "lang": L, "version": "1",
                     "updated": "2020-01-01", "status": "reviewed", "sources": ["XQuAD (Artetxe et al., 2020)"],
                     "disclaimer": "Benchmark text, CC BY-SA 4.0."}
            if L != "en":
                front["translation_of"] = "en"
            body = "".join(f"\n## Paragraph {p + 1} {{#p{p + 1}}}\n\n{para['context'].strip()}\n"
                           for p, para in enumerate(paragraphs))
            text = "---\n" + yaml.safe_dump(front, allow_unicode=True, sort_keys=False) + "---\n" + body
            (out / module / f"{L}.md").write_text(text, encoding="utf-8")
            for p, para in enumerate(paragraphs):
                queries += [(qa["question"], L, (module, f"p{p + 1}")) for qa in para["qas"][:per_paragraph]]
    return queries


def load_oncology_queries(queries: list[querysets.EvalQuery]) -> list[tuple[Query, str]]:
    return [(q.as_tuple(), q.set) for q in queries]


def ranks_project(searcher: Searcher, queries: list[Query], mode: str) -> dict[tuple[str, str], list[int | None]]:
    """Rank (1-based, None past 10) of the gold section for every query and target language."""
    out: dict[tuple[str, str], list[int | None]] = defaultdict(list)
    for text, qlang, gold in queries:
        for target in searcher.langs:
            results = searcher.search(text[:500], lang=target, k=10, mode=mode).results
            keys = [(r.module, r.section) for r in results]
            out[(qlang, target)].append(keys.index(gold) + 1 if gold in keys else None)
    return out


def ranks_bare(searcher: Searcher, queries: list[Query]) -> dict[tuple[str, str], list[int | None]]:
    """The model alone: the question's cosine with the indexed passages of the target language (the vectors the
    index stores, not re-embedded), a section ranking where its best passage does; no project ranking."""
    out: dict[tuple[str, str], list[int | None]] = defaultdict(list)
    raw = searcher.calibration.raw()
    for text, qlang, gold in queries:
        parts = raw.scores(searcher.query_vector(text[:500]), None)
        for target in searcher.langs:
            ids, scores = parts[target]
            order = ids[np.argsort(-scores, kind="stable")][:60]
            top = [(m, s) for m, s, _ in searcher._sections_of(order.tolist(), None)][:10]  # noqa: SLF001
            out[(qlang, target)].append(top.index(gold) + 1 if gold in top else None)
    return out


def metrics(ranks: list[int | None]) -> tuple[float, float, float]:
    n = len(ranks) or 1
    r1 = sum(1 for r in ranks if r == 1) / n
    r5 = sum(1 for r in ranks if r is not None and r <= 5) / n
    mrr = sum(1 / r for r in ranks if r is not None) / n
    return r1, r5, mrr


def evaluate(searcher: Searcher, queries: list[Query], glossary_off: Searcher | None = None,
             modes: tuple[str, ...] = MODES) -> dict:
    results = {"bare": ranks_bare(searcher, queries)}
    for mode in modes:
        results[mode] = ranks_project(searcher, queries, mode)
    if glossary_off is not None:
        results["keyword, no glossary"] = ranks_project(glossary_off, queries, "keyword")
        results["hybrid, no glossary"] = ranks_project(glossary_off, queries, "hybrid")
    return results


def render(results: dict, langs: list[str]) -> tuple[str, dict]:
    methods = list(results)
    pairs = [(q, t) for q in langs for t in langs if results["bare"].get((q, t))]
    blocks, means = [], {}
    for name, idx in (("recall@1", 0), ("recall@5", 1), ("MRR@10", 2)):
        rows = []
        for q, t in pairs:
            rows.append([f"{q} → {t}", *[metrics(results[m][(q, t)])[idx] for m in methods]])
        mean = [float(np.mean([r[i + 1] for r in rows])) for i in range(len(methods))]
        means[name] = dict(zip(methods, mean, strict=True))
        rows.append(["**mean**", *mean])
        blocks.append(f"**{name}**\n\n" + table(["query → target", *methods], rows))
    wins = {m: all(metrics(results[m][p])[1] >= metrics(results["bare"][p])[1] and
                   metrics(results[m][p])[2] > metrics(results["bare"][p])[2] for p in pairs)
            for m in methods if m != "bare"}
    return "\n\n".join(blocks), {"means": means, "beats_bare_every_pair": wins, "pairs": len(pairs)}


def build(settings: Settings, embedder) -> Settings:  # noqa: ANN001
    if is_stale(settings):
        t = time.perf_counter()
        report = build_index(settings, embedder)
        print(f"built {settings.index_dir}: {report.manifest.chunks} chunks, {report.embedded} embedded, "
              f"{time.perf_counter() - t:.0f}s", file=sys.stderr)
    return settings


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--xquad", type=Path, default=DEFAULT_XQUAD)
    ap.add_argument("--articles", type=int, default=None, help="only the first N XQuAD articles (smoke runs)")
    ap.add_argument("--per-paragraph", type=int, default=None, help="only the first N questions per paragraph")
    ap.add_argument("--queries", type=Path, action="append", metavar="FILE",
                    help="an oncology query file (repeatable; default: bench/queries.yaml and "
                         "bench/queries-new-modules.yaml); files with tune/test splits get their own block")
    ap.add_argument("--write", type=Path, help="markdown file to update (docs/benchmarks.md)")
    ap.add_argument("--skip-xquad", action="store_true")
    ap.add_argument("--draws", type=int, default=3, help="random draws of the partly translated corpus")
    ap.add_argument("--xquad-modes", default=",".join(MODES), help="retrievers on parallel XQuAD (comma list)")
    ap.add_argument("--embedder", default=Settings().embedder,
                    help="engine (default: the project's default, kb/settings.py); every index and the query "
                         "vector cache live under .kb/bench/<engine>/")
    args = ap.parse_args()
    files = args.queries or list(DEFAULT_QUERIES)
    try:
        loaded = {path: querysets.load(path) for path in files}
    except querysets.QueryFileError as e:
        print(f"error: {e.message}", file=sys.stderr)
        return 2
    development = [q for qs in loaded.values() if not querysets.has_splits(qs) for q in qs]
    split_files = {path: qs for path, qs in loaded.items() if querysets.has_splits(qs)}
    load_before = _load()
    embedder = get_embedder(args.embedder)
    work = WORK / embedder.id
    vectors = xl.QueryVectors(work / "query-vectors.npz")
    sections: list[str] = []
    summary: dict = {}

    if args.skip_xquad:
        pass
    elif not (args.xquad / "xquad.en.json").is_file():
        msg = f"XQuAD not found at {args.xquad}: the cross-lingual benchmarks were skipped."
        print(msg, file=sys.stderr)
        sections.append(f"### XQuAD\n\n{msg}")
    else:
        content = work / "xquad" / "guidelines"
        queries = write_xquad_content(args.xquad, content, args.articles, args.per_paragraph)
        s = build(Settings(content_dir=content, index_dir=work / "xquad" / "index", query_cache_size=200000,
                           glossary_expansion=False, embedder=embedder.id), embedder)
        searcher = vectors.attach(open_searcher(s, embedder))
        vectors.prefill(searcher, [q for q, _, _ in queries] + [q for q, _, _ in xl.folded(queries)])
        t = time.perf_counter()
        results = evaluate(searcher, queries, modes=tuple(args.xquad_modes.split(",")))
        results["previous hybrid"] = ranks_project(xl.previous_ranking(searcher), queries, "hybrid")
        text, summary["xquad"] = render(results, list(LANGS))
        vectors.save()
        print(f"XQuAD: {len(queries)} questions x 3 targets in {time.perf_counter() - t:.0f}s", file=sys.stderr)
        sections.append(f"### XQuAD cross-lingual retrieval, parallel ({len(queries)} questions × 3 target "
                        f"languages, {len(searcher.sections) // 3} paragraphs per language)\n\n{text}")
        sections += xl.xquad_sections(searcher, content, queries, s, embedder, vectors, summary)

    blocks: dict[str, str] = {}
    if loaded:
        s = build(Settings(content_dir=ROOT / "guidelines", index_dir=work / "oncology" / "index",
                           query_cache_size=200000, embedder=embedder.id), embedder)
        searcher = vectors.attach(open_searcher(s, embedder))
        plain = vectors.attach(open_searcher(Settings(content_dir=s.content_dir, index_dir=s.index_dir,
                                                      glossary_expansion=False, embedder=embedder.id), embedder))
        for path, qs in split_files.items():
            title = f"`{_relative(path)}` ({len(qs)} queries over `guidelines/`)"
            try:
                text = querysets.split_report(searcher, qs, title, summary.setdefault(path.stem, {}))
            except querysets.QueryFileError as e:
                print(f"error: {e.message}", file=sys.stderr)
                return 2
            blocks[f"retrieval-{path.stem}"] = text
        items = load_oncology_queries(development)
        for subset in ("core", "corpus", "all"):
            queries = [q for q, tag in items if subset in ("all", tag)]
            if not queries:
                continue
            results = evaluate(searcher, queries, plain)
            results["previous hybrid"] = ranks_project(xl.previous_ranking(searcher), queries, "hybrid")
            text, summary[f"oncology-{subset}"] = render(results, list(LANGS))
            sections.append(f"### Oncology queries, set '{subset}' ({len(queries)} queries × 3 target languages "
                            f"over `guidelines/`)\n\n{text}")
        if items:
            sections += xl.oncology_sections(searcher, [q for q, _ in items], s, embedder, vectors, args.draws,
                                             summary)
        vectors.save()

    body = "\n\n".join(sections)
    print("\n\n".join([body, *blocks.values()]))
    print(json.dumps(summary, indent=2), file=sys.stderr)
    if args.write:
        command = "python bench/retrieval.py --write docs/benchmarks.md" + "".join(
            f" --queries {_relative(p)}" for p in files if args.queries) + (
            f" --articles {args.articles}" if args.articles else "") + (
            f" --per-paragraph {args.per_paragraph}" if args.per_paragraph else "") + (
            " --skip-xquad" if args.skip_xquad else "") + (
            f" --xquad-modes {args.xquad_modes}" if args.xquad_modes != ",".join(MODES) else "") + (
            f" --embedder {embedder.id}" if embedder.id != Settings().embedder else "")
        if sections:
            replace_block(args.write, "retrieval", "## Retrieval quality\n\n" + provenance(command) + "\n\n"
                          + _explain() + "\n\n" + body)
        for name, text in blocks.items():
            replace_block(args.write, name, f"## Retrieval quality, `{name.removeprefix('retrieval-')}.yaml`\n\n"
                          + provenance(command) + f" Machine load (`uptime`) at the start: {load_before}; at the "
                          f"end: {_load()}.\n\n" + querysets.EXPLAIN + "\n\n" + text)
    return 0


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def _load() -> str:
    """`uptime` as it reads now (the machine is shared: the figures below are not speed figures, but say how busy
    it was)."""
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def _explain() -> str:
    return ("Each cell is over all questions of the query language, searched with the target language as filter "
            "(`lang=T`), gold = the parallel paragraph (XQuAD) or the gold section (oncology set). `bare` is the "
            "default embedder alone (multilingual-e5-small, 4-bit, no project code): the question's cosine with the "
            "indexed passages of the target language. `previous hybrid` is the ranking before issue 8, emulated "
            "on the same index (bench/crosslingual.py). `dense`, `keyword` and `hybrid` are the project's "
            "section-aware search (every language ranked separately, fused by reciprocal rank) with one retriever "
            "or both. `…, no glossary` switches off glossary query expansion.")


if __name__ == "__main__":
    sys.exit(main())
