"""Where issue 8's remaining cross-language gap lies: in the choice of the answer's language, or in the ranking
within it, and how much of that choice the dense scores can make at all.

Non-parallel XQuAD (each article in one language only, splits A and B; questions in all three languages, no
filter), the answer in another language than the question's. Three measurements:

1. **This search against the same search told the answer's language** (the language filter set to it): the
   ceiling of any language weighting. Their difference is what a perfect language decision would add.
2. **How often the language weighting picks the answer's language** (the language of the largest weight,
   `Searcher.weights_of`), beside conditional-logit models over richer per-language features, fitted on the tune
   half (odd articles, both splits pooled) and read on the test half (even articles): the dense scores' shape
   (best, second, mean of the five best, z-score of the best within the language), the best plainly and partly
   centred cosine, the share of the query's words the language's keyword index holds. If no feature set decides
   much better than the weighting, the gap is not a constant away.
3. **The model alone, told the language, with a linear map learned from the corpus's own translations**: the
   oncology corpus's parallel sections (every section in all three languages, their mean chunk vectors) give
   either the directions translations differ along (projected out of query and passages, k of them) or an
   orthogonal map into English (Procrustes, blended with the identity), or the language offsets measured on
   translations alone (the means of the parallel sections, topic left out) in place of each language's own mean.
   Chunk cosines only (no sentences), so figures sit below the search's; beside the partly centred cosine the
   search ranks by (`LIST_CENTRING`).

Nothing in `kb/` was chosen on these figures. Indexes and query vectors are the ones `bench/retrieval.py` built
(run it first).

Usage: python bench/language_decision.py [--write]"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import crosslingual as xl  # noqa: E402
from bench import retrieval as rt  # noqa: E402
from bench.report import provenance, replace_block, table  # noqa: E402
from kb.embedders import get_embedder  # noqa: E402
from kb.runtime import open_searcher  # noqa: E402
from kb.search import DEPTH, LIST_CENTRING, Searcher  # noqa: E402
from kb.settings import Settings  # noqa: E402
from kb.store import BuildReader  # noqa: E402
from kb.text import tokens  # noqa: E402

LANGS = ("en", "zh", "vi")
FEATURE_SETS = {
    "best centred cosine, language lacks the section (the weighting's own inputs, refitted)": ("c1", "absent"),
    "+ the shape of the language's scores (second best, mean of five, z-score)": ("c1", "absent", "gap", "top5",
                                                                                  "z"),
    "+ best plain and partly centred cosine": ("c1", "absent", "c06", "c0"),
    "+ share of the query's words the language's keyword index holds": ("c1", "absent", "known"),
    "all of these": ("c1", "absent", "gap", "top5", "z", "c06", "c0", "known"),
}


def features(searcher: Searcher, text: str) -> tuple[str, dict[str, dict[str, float]], dict[str, float]]:
    """(the query's language, per language its features, the search's language weights) of one question."""
    vector = searcher.query_vector(text)
    asked = searcher.calibration.query_language(text, vector)
    dense = searcher._dense(vector, asked, None, DEPTH)  # noqa: SLF001 - the lists the weighting sees
    weights = searcher.weights_of(dense, asked)
    by_centring = {c: searcher.calibration.scores(vector, asked, None, c) for c in (1.0, LIST_CENTRING, 0.0)}
    words = [w for w in tokens(text, query=True)]
    out: dict[str, dict[str, float]] = {}
    for L in LANGS:
        scores = np.sort(by_centring[1.0][L][1])[::-1]
        present = searcher.index.keyword_tokens.get(L, frozenset())
        out[L] = {"c1": float(scores[0]), "absent": float(searcher._absent(dense[L][0][:1], asked)),  # noqa: SLF001
                  "gap": float(scores[0] - scores[1]), "top5": float(scores[:5].mean()),
                  "z": float((scores[0] - scores.mean()) / (scores.std() or 1.0)),
                  "c06": float(by_centring[LIST_CENTRING][L][1].max()), "c0": float(by_centring[0.0][L][1].max()),
                  "known": sum(w in present for w in words) / len(words) if words else 0.0}
    return asked, out, weights


def fit(x: np.ndarray, y: np.ndarray, l2: float = 1e-3, steps: int = 3000, rate: float = 0.5) -> np.ndarray:
    """Conditional logit (one score per language, a softmax over the three): weights on the raw features."""
    flat = x.reshape(-1, x.shape[-1])
    mu, sd = flat.mean(0), flat.std(0) + 1e-9
    z = (x - mu) / sd
    w = np.zeros(x.shape[-1])
    for _ in range(steps):
        s = z @ w
        p = np.exp(s - s.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        grad = np.einsum("nl,nlk->k", p, z) - z[np.arange(len(y)), y].sum(0)
        w -= rate * (grad / len(y) + l2 * w)
    return w / sd


def accuracy(rows: list[dict], pick) -> str:  # noqa: ANN001 - row -> chosen language
    """Share of rows whose chosen language is the answer's, for answers in another and in the same language."""
    cells = []
    for other in (True, False):
        sel = [r for r in rows if (r["asked"] != r["gold"]) == other]
        cells.append(f"{np.mean([pick(r) == r['gold'] for r in sel]):.3f}" if sel else "–")
    return " / ".join(cells)


def decision_tables(work: Path, queries: list[xl.Query], vectors: xl.QueryVectors) -> tuple[str, str]:
    assigns = xl.xquad_assignments(sorted({g[0] for _, _, g in queries}))
    rows: list[dict] = []
    recall = []
    for split, assign in assigns.items():
        tag = split.split()[0].lower()
        settings = Settings(content_dir=work / f"xquad-nonparallel-{tag}" / "guidelines",
                            index_dir=work / f"xquad-nonparallel-{tag}" / "index", embedder=Settings().embedder,
                            glossary_expansion=False, query_cache_size=10**6)
        searcher = vectors.attach(open_searcher(settings, get_embedder(settings.embedder)))
        where = {m: [L] for m, L in assign.items()}
        for half, parity in (("tune", 1), ("test", 0)):
            qs = [q for q in queries if int(q[2][0].split("-")[1]) % 2 == parity]
            other = [q for q in qs if assign[q[2][0]] != q[1]]
            found = xl._metrics(xl.ranks_any_language(searcher, other))  # noqa: SLF001
            told = xl._metrics(xl.ranks_told_language(searcher, other, where))  # noqa: SLF001
            recall.append([f"{split}, {'**test**' if half == 'test' else half} half", len(other),
                           f"{found[0]:.3f} / {found[1]:.3f}", f"{told[0]:.3f} / {told[1]:.3f}",
                           f"{told[0] - found[0]:+.3f}"])
            for text, _, gold in qs:
                asked, feats, weights = features(searcher, text[:500])
                rows.append({"half": half, "asked": asked, "gold": assign[gold[0]], "f": feats, "w": weights})
    first = table(["non-parallel XQuAD, answer in another language", "n", "this search R@1 / R@5",
                   "told the answer's language R@1 / R@5", "a perfect language decision adds (R@1)"], recall)
    tune = [r for r in rows if r["half"] == "tune"]
    test = [r for r in rows if r["half"] == "test"]
    out = [["the search's language weights (largest)", accuracy(tune, lambda r: max(r["w"], key=r["w"].get)),
            accuracy(test, lambda r: max(r["w"], key=r["w"].get))]]
    for name, names in FEATURE_SETS.items():
        def x_of(rs: list[dict], names: tuple[str, ...] = names) -> np.ndarray:
            return np.array([[[r["f"][L][n] for n in names] for L in LANGS] for r in rs])
        w = fit(x_of(tune), np.array([LANGS.index(r["gold"]) for r in tune]))
        for rs in (tune, test):
            for r, s in zip(rs, x_of(rs) @ w, strict=True):
                r["pick"] = LANGS[int(np.argmax(s))]
        out.append([name, accuracy(tune, lambda r: r["pick"]), accuracy(test, lambda r: r["pick"])])
    second = table(["how the answer's language is chosen", f"tune half (n={len(tune)}): answer in another / "
                    "the same language", f"**test** half (n={len(test)}): another / the same"], out)
    return first, second


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def chunk_vectors(index_dir: Path) -> dict[str, tuple[np.ndarray, list[tuple[str, str]]]]:
    """Per language: every chunk vector and its (module, section), from a bench index."""
    reader = BuildReader.open_current(index_dir, verify=False)
    out = {}
    for L, index in reader.vectors.items():
        _, ids = index.inner_products(np.zeros(reader.manifest.dim, np.float32))
        out[L] = (np.array(index.rows()), [(reader.chunks[i].module, reader.chunks[i].section) for i in ids])
    reader.close()
    return out


def parallel_sections(corpus: dict[str, tuple[np.ndarray, list]]) -> dict[str, np.ndarray]:
    """Per language, the unit mean chunk vector of every section present in all three languages (same order)."""
    means = {}
    for L, (rows, meta) in corpus.items():
        acc: dict[tuple[str, str], list[np.ndarray]] = {}
        for v, m in zip(rows, meta, strict=True):
            acc.setdefault(m, []).append(v)
        means[L] = {m: _unit(np.mean(vs, 0)) for m, vs in acc.items()}
    common = sorted(set.intersection(*(set(means[L]) for L in LANGS)))
    return {L: np.array([means[L][m] for m in common]) for L in LANGS}


def map_table(work: Path, queries: list[xl.Query], vectors: xl.QueryVectors) -> str:
    sections = parallel_sections(chunk_vectors(work / "oncology" / "index"))
    offsets = {L: sections[L].mean(0) for L in LANGS}
    common = np.mean([offsets[L] for L in LANGS], 0)
    centred = {L: sections[L] - offsets[L] for L in LANGS}
    diffs = np.vstack([centred[a] - centred[b] for i, a in enumerate(LANGS) for b in LANGS[i + 1:]])
    directions = np.linalg.svd(diffs, full_matrices=False)[2]
    into_en = {}
    for L in LANGS:
        u, _, vt = np.linalg.svd(centred[L].T @ centred["en"])
        into_en[L] = u @ vt
    eye = np.eye(diffs.shape[1])
    methods = {f"partly centred cosine ({LIST_CENTRING} of each language's mean; what the search ranks by)":
               (LIST_CENTRING, None, False),
               "fully centred cosine": (1.0, None, False)}
    for k in (2, 5, 20):
        methods[f"centred, {k} translation directions projected out"] = (1.0, directions[:k], False)
    methods["centred, mapped into English (Procrustes, a quarter blended in)"] = (1.0, "procrustes", False)
    methods["partly centred on the corpus mean plus the translations' language offsets"] = (LIST_CENTRING, None,
                                                                                          True)
    rows = []
    for tag in ("a", "b"):
        corpus = chunk_vectors(work / f"xquad-nonparallel-{tag}" / "index")
        where = {m[0]: L for L, (_, meta) in corpus.items() for m in meta}
        own = {L: corpus[L][0].mean(0) for L in LANGS}
        everything = np.mean([own[L] for L in LANGS], 0)
        for name, (centring, extra, offset) in methods.items():
            mean = ({L: everything + offsets[L] - common for L in LANGS} if offset else own)

            def view(x: np.ndarray, L: str, centring: float = centring, extra: object = extra,
                     mean: dict = mean) -> np.ndarray:
                x = x - centring * mean[L]
                if isinstance(extra, np.ndarray):
                    x = x - (x @ extra.T) @ extra
                elif extra == "procrustes":
                    x = x @ (0.75 * eye + 0.25 * into_en[L])
                return _unit(x)
            passages = {L: view(corpus[L][0], L) for L in LANGS}
            hits: dict[str, list[bool]] = {"tune": [], "test": []}
            for text, qlang, gold in queries:
                lang = where[gold[0]]
                if lang == qlang:
                    continue
                q = view(vectors.vectors[text[:500]].reshape(1, -1), qlang)[0]
                best = corpus[lang][1][int(np.argmax(passages[lang] @ q))]
                hits["tune" if int(gold[0].split("-")[1]) % 2 else "test"].append(best == gold)
            rows.append([f"split {tag.upper()}: {name}", f"{np.mean(hits['tune']):.3f}",
                         f"{np.mean(hits['test']):.3f}"])
    return (f"Parallel oncology sections the maps are learned from: {len(sections['en'])}.\n\n"
            + table(["model alone, told the answer's language (chunk cosines, R@1)", "tune half", "**test** half"],
                    rows))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="into docs/benchmarks.md (`language-decision` block)")
    args = ap.parse_args()
    if not rt.DEFAULT_XQUAD.is_dir():
        print(f"XQuAD not found at {rt.DEFAULT_XQUAD}: nothing to measure", file=sys.stderr)
        return 1
    t = time.perf_counter()
    work = rt.WORK / Settings().embedder
    vectors = xl.QueryVectors(work / "query-vectors.npz")
    queries = rt.write_xquad_content(rt.DEFAULT_XQUAD, work / "xquad" / "guidelines", None, None)
    missing = [q for q, _, _ in queries if q[:500] not in vectors.vectors]
    if missing:
        print(f"{len(missing)} questions have no cached vector: run bench/retrieval.py first", file=sys.stderr)
        return 1
    recall, decision = decision_tables(work, queries, vectors)
    maps = map_table(work, queries, vectors)
    text = "\n\n".join([recall, decision, maps])
    print(text)
    print(f"{time.perf_counter() - t:.0f}s", file=sys.stderr)
    if args.write:
        parts = __doc__.split("\n\n")
        replace_block(ROOT / "docs" / "benchmarks.md", "language-decision",
                      "### Where the remaining gap is: the language decision (2026-12-04, night)\n\n"
                      + provenance("python bench/language_decision.py --write") + "\n\n" + "\n\n".join(parts[1:4])
                      + "\n\n" + text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
