"""Benchmarks for content that is not parallel, queries typed without diacritics and the "no good match" floor
(issue 8). Used by bench/retrieval.py; every figure is printed beside the bare model and beside the previous
ranking, measured in the same run.

- Non-parallel XQuAD: each of the 48 articles in one language only (split A: round robin en, zh, vi; split B: a
  seeded shuffle), questions in all three languages, no language filter.
- Partly translated oncology corpus: for a third of the modules one or two languages are dropped (several seeded
  draws), queries in all three languages, no filter: the gold section counts in whichever language holds it.
- Folded Vietnamese: every Vietnamese query again with its diacritics removed.
- The weak floor: fitted on the tune halves of the off-topic set and of the real queries, measured on the test
  halves.

"previous" is the ranking before issue 8, emulated on the same index: per-language lists of raw cosines (no mean
removal, no mixed-language list), one BM25 weight for every field, no exact-accent column, no heading list, no
diacritic restoration, no module tie of glossary terms, no weak-query dense share."""

from __future__ import annotations

import random
import re
import shutil
from collections import defaultdict
from pathlib import Path

import numpy as np
import yaml

from kb import LANGS
from kb.search import Searcher
from kb.text import fold

Query = tuple[str, str, tuple[str, str]]


def previous_ranking(searcher: Searcher) -> Searcher:
    """A copy of `searcher` that ranks as the search did before issue 8 (see the module docstring)."""
    import copy

    old = copy.copy(searcher)
    cal = searcher.calibration.raw()
    old.calibration, old.restorer, old.field_weights, old.exact_keywords = cal, None, (1.0, 1.0, 1.0, 0.0), False
    old.term_modules, old.heading_list, old.pool_share, old.per_language_share = {}, False, 0.0, 1.0
    old.weak_dense_share, old.lang_temperature, old.other_disease, old.heading_match = 1.0, 0.02, 0.0, 0.0
    old.absent_lift, old.cross_keyword_share = 0.0, 1.0
    old._cache, old._vectors = type(searcher._cache)(), searcher._vectors
    return old


def write_nonparallel_xquad(xquad_content: Path, out: Path, assign: dict[str, str]) -> None:
    """Copy each XQuAD module in its assigned language only, as a source file (no translation_of)."""
    shutil.rmtree(out, ignore_errors=True)
    for module, lang in assign.items():
        (out / module).mkdir(parents=True)
        text = (xquad_content / module / f"{lang}.md").read_text(encoding="utf-8")
        (out / module / f"{lang}.md").write_text(_as_source(text), encoding="utf-8")


def xquad_assignments(modules: list[str]) -> dict[str, dict[str, str]]:
    order = ("en", "zh", "vi")
    shuffled = modules[:]
    random.Random(8).shuffle(shuffled)
    return {"A (round robin)": {m: order[i % 3] for i, m in enumerate(modules)},
            "B (shuffled)": {m: order[i % 3] for i, m in enumerate(shuffled)}}


def write_partial_corpus(content: Path, out: Path, seed: int) -> dict[str, list[str]]:
    """The corpus with a third of its modules reduced to one or two languages; returns the languages kept."""
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(content, out)
    rng = random.Random(seed)
    modules = sorted(p.name for p in out.iterdir() if p.is_dir())
    kept = {m: list(LANGS) for m in modules}
    for m in rng.sample(modules, len(modules) // 3):
        keep = rng.sample(list(LANGS), rng.choice((1, 2)))
        for L in LANGS:
            path = out / m / f"{L}.md"
            if L not in keep:
                path.unlink()
            else:
                path.write_text(_as_source(path.read_text(encoding="utf-8")), encoding="utf-8")
        kept[m] = keep
    return kept


def _as_source(text: str) -> str:
    """Front matter without translation_of / translated_from, so the file stands alone. Each key goes with its
    indented lines (`translated_from` is a mapping of section hashes): leaving those behind made the front matter
    invalid YAML, so every kept translation was dropped from the partly translated corpus."""
    head, sep, body = text.partition("\n---\n")
    kept, dropping = [], False
    for line in head.splitlines():
        if re.match(r"(translation_of|translated_from):", line):
            dropping = True
            continue
        if dropping and line[:1] in (" ", "\t"):
            continue
        dropping = False
        kept.append(line)
    return "\n".join(kept) + sep + body


def ranks_any_language(searcher: Searcher, queries: list[Query]) -> list[int | None]:
    """Rank (1-based, None past 10) of the gold section, no language filter."""
    out: list[int | None] = []
    for text, _, gold in queries:
        keys = [(r.module, r.section) for r in searcher.search(text[:500], k=10).results]
        out.append(keys.index(gold) + 1 if gold in keys else None)
    return out


def raw_cosines(searcher: Searcher, vector: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(chunk ids, raw cosines) of every indexed passage of every language, best first: the model alone."""
    parts = searcher.calibration.raw().scores(vector, None)
    ids = np.concatenate([p[0] for p in parts.values()])
    scores = np.concatenate([p[1] for p in parts.values()])
    order = np.argsort(-scores, kind="stable")
    return ids[order], scores[order]


def ranks_bare_pool(searcher: Searcher, queries: list[Query]) -> list[int | None]:
    """The model alone over one mixed pool: raw cosine of the question with every indexed passage of every
    language (the stored vectors), a section ranking where its best passage does."""
    out: list[int | None] = []
    for text, _, gold in queries:
        ids, _ = raw_cosines(searcher, searcher.query_vector(text[:500]))
        top = [(m, s) for m, s, _ in searcher._sections_of(ids[:80].tolist(), None)][:10]  # noqa: SLF001
        out.append(top.index(gold) + 1 if gold in top else None)
    return out


def ranks_told_language(searcher: Searcher, queries: list[Query], answer_lang: dict[str, list[str]],
                        bare: bool = False) -> list[int | None]:
    """Rank of the gold section when the search is told which language holds it (the language filter set to
    it): the ceiling of a language weighting, what the model can do once the language is no longer a question.
    `bare`: the model alone over that language's passages (raw cosines)."""
    out: list[int | None] = []
    for text, _, gold in queries:
        lang = answer_lang[gold[0]][0]
        if bare:
            ids, scores = searcher.calibration.raw().scores(searcher.query_vector(text[:500]), None)[lang]
            ids = ids[np.argsort(-scores, kind="stable")]
            keys = [(m, s) for m, s, _ in searcher._sections_of(ids[:80].tolist(), None)][:10]  # noqa: SLF001
        else:
            keys = [(r.module, r.section) for r in searcher.search(text[:500], lang=lang, k=10).results]
        out.append(keys.index(gold) + 1 if gold in keys else None)
    return out


def folded(queries: list[Query]) -> list[Query]:
    """Vietnamese queries with their diacritics removed (case kept where folding allows)."""
    return [(strip_marks(t), L, g) for t, L, g in queries if L == "vi"]


def strip_marks(text: str) -> str:
    """The text with its diacritics removed, as a clinician types Vietnamese on a keyboard without them."""
    return "".join(c if fold(c) == c.lower() else (fold(c).upper() if c.isupper() else fold(c)) for c in text)


def grouped(queries: list[Query], ranks: list[int | None], answer_lang: dict[str, list[str]]) -> dict:
    """Ranks grouped by query language and by whether the answer exists in the query's language."""
    groups: dict[str, list[int | None]] = defaultdict(list)
    for (_, qlang, gold), r in zip(queries, ranks, strict=True):
        where = "same" if qlang in answer_lang[gold[0]] else "other"
        groups[f"{qlang}, answer in {where} language"].append(r)
        groups[f"answer in {where} language"].append(r)
        groups["all"].append(r)
    return dict(sorted(groups.items()))


def load_queries(path: Path, split: str | None = None) -> list[Query]:
    items = yaml.safe_load(path.read_text(encoding="utf-8"))["queries"]
    return [(i["q"], i["lang"], (i["module"], i["section"])) for i in items
            if split is None or i.get("split") == split]


def fit_floor(real: list[float], off: list[float], max_real: float = 0.03) -> float:
    """The highest floor that flags at most `max_real` of the real queries (scores below it are weak)."""
    allowed = int(max_real * len(real))
    ordered = sorted(real)
    return float(ordered[allowed]) if ordered else 0.0


def floor_rates(searcher: Searcher, real: list[str], off: list[str], floor: float) -> tuple[float, float]:
    """(share of off-topic queries flagged, share of real queries flagged) at a floor."""
    best = lambda q: searcher.search(q[:500], k=10).best  # noqa: E731
    return (sum(best(q) < floor for q in off) / max(1, len(off)),
            sum(best(q) < floor for q in real) / max(1, len(real)))


def cells(groups_by_method: dict[str, dict[str, list[int | None]]]) -> str:
    """A table: one row per group, one column per method, each cell recall@1 / recall@5 / MRR@10."""
    from bench.report import table

    methods = list(groups_by_method)
    names = list(next(iter(groups_by_method.values())))
    rows = []
    for g in names:
        row: list[object] = [f"{g} (n={len(groups_by_method[methods[0]][g])})"]
        for m in methods:
            r1, r5, mrr = _metrics(groups_by_method[m][g])
            row.append(f"{r1:.3f} / {r5:.3f} / {mrr:.3f}")
        rows.append(row)
    return table(["queries", *[f"{m} (R@1 / R@5 / MRR)" for m in methods]], rows)


def _metrics(ranks: list[int | None]) -> tuple[float, float, float]:
    n = len(ranks) or 1
    return (sum(r == 1 for r in ranks) / n, sum(r is not None and r <= 5 for r in ranks) / n,
            sum(1 / r for r in ranks if r is not None) / n)


def compare(searcher: Searcher, queries: list[Query], answer_lang: dict[str, list[str]]) -> dict[str, dict]:
    """bare pool, previous ranking and this search on the same queries, grouped."""
    return {"bare": grouped(queries, ranks_bare_pool(searcher, queries), answer_lang),
            "previous": grouped(queries, ranks_any_language(previous_ranking(searcher), queries), answer_lang),
            "this search": grouped(queries, ranks_any_language(searcher, queries), answer_lang)}


def merge(runs: list[dict[str, dict]]) -> dict[str, dict]:
    """Several draws' grouped ranks as one (ranks concatenated per method and group)."""
    out: dict[str, dict[str, list[int | None]]] = defaultdict(lambda: defaultdict(list))
    for run in runs:
        for m, groups in run.items():
            for g, ranks in groups.items():
                out[m][g] += ranks
    return {m: dict(sorted(g.items())) for m, g in out.items()}


def accented_vs_folded(searcher: Searcher, queries: list[Query], answer_lang: dict[str, list[str]]) -> dict:
    """Vietnamese queries as typed and with diacritics removed, every method, no filter."""
    vi = [q for q in queries if q[1] == "vi"]
    flat = folded(vi)
    out = {}
    for name, run in (("accented", compare(searcher, vi, answer_lang)), ("folded", compare(searcher, flat,
                                                                                         answer_lang))):
        for m, groups in run.items():
            out.setdefault(m, {})[f"vi {name}"] = groups["all"]
    return out


class QueryVectors:
    """Query embeddings kept on disk between runs (the machine is shared; embedding is the slow part)."""

    def __init__(self, path: Path) -> None:
        from collections import OrderedDict

        self.path = path
        self.vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        if path.is_file():
            with np.load(path, allow_pickle=False) as data:
                self.vectors.update(zip(data["texts"].tolist(), data["vectors"], strict=True))

    def attach(self, searcher: Searcher) -> Searcher:
        searcher._vectors = self.vectors  # noqa: SLF001 - the benchmark shares one cache across searchers
        searcher._cache_size = max(searcher._cache_size, 10**6)  # noqa: SLF001
        return searcher

    def prefill(self, searcher: Searcher, texts: list[str], batch: int = 32) -> None:
        """Embed, in batches, every query form `searcher` will embed for these texts (as typed, or with its
        diacritics restored) that the cache lacks: one text at a time is several times slower."""
        wanted = []
        for text in dict.fromkeys(t[:500] for t in texts):
            read = searcher.read_query(searcher.validate(text, None, None, 10))[1]
            if read not in self.vectors:
                wanted.append(read)
        wanted = list(dict.fromkeys(wanted))
        for start in range(0, len(wanted), batch):
            part = wanted[start:start + batch]
            for text, v in zip(part, searcher.embedder.embed_queries(part), strict=True):
                self.vectors[text] = np.asarray(v, dtype=np.float32).reshape(1, -1)
            if start // batch % 20 == 19:
                self.save()
        self.save()

    def save(self) -> None:
        """Write the cache, keeping what another run saved meanwhile."""
        if self.path.is_file():
            with np.load(self.path, allow_pickle=False) as data:
                for text, v in zip(data["texts"].tolist(), data["vectors"], strict=True):
                    self.vectors.setdefault(text, v)
        if self.vectors:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            np.savez(self.path, texts=np.array(list(self.vectors)),
                     vectors=np.vstack([v.reshape(1, -1) for v in self.vectors.values()]))


def _build(content: Path, index_dir: Path, cache_from: Path, embedder, glossary: bool = True) -> Searcher:  # noqa: ANN001
    """An index over `content`, reusing the embedding cache of another index (the texts are the same)."""
    from kb.build import build_index, is_stale
    from kb.runtime import open_searcher
    from kb.settings import Settings

    index_dir.mkdir(parents=True, exist_ok=True)
    if not (index_dir / "cache.sqlite").exists() and (cache_from / "cache.sqlite").exists():
        import sqlite3

        src, dst = sqlite3.connect(cache_from / "cache.sqlite"), sqlite3.connect(index_dir / "cache.sqlite")
        src.backup(dst)
        src.close()
        dst.close()
    s = Settings(content_dir=content, index_dir=index_dir, glossary_expansion=glossary, query_cache_size=10**6,
                 embedder=embedder.id)
    if is_stale(s):
        build_index(s, embedder, progress=False)
    return open_searcher(s, embedder)


def xquad_sections(searcher: Searcher, content: Path, queries: list[Query], settings, embedder,  # noqa: ANN001
                   vectors: QueryVectors, summary: dict) -> list[str]:
    modules = sorted({g[0] for _, _, g in queries})
    out = []
    for name, assign in xquad_assignments(modules).items():
        tag = name.split()[0].lower()
        work = settings.index_dir.parent.parent / f"xquad-nonparallel-{tag}"
        write_nonparallel_xquad(content, work / "guidelines", assign)
        np_searcher = vectors.attach(_build(work / "guidelines", work / "index", settings.index_dir, embedder,
                                            glossary=False))
        vectors.prefill(np_searcher, [q for q, _, _ in queries + folded(queries)])
        result = compare(np_searcher, queries, {m: [L] for m, L in assign.items()})
        vectors.save()
        summary[f"xquad-nonparallel-{tag}"] = {m: {g: _metrics(r) for g, r in gs.items()} for m, gs in result.items()}
        out.append(f"### XQuAD non-parallel, split {name}: each article in one language only, no filter "
                   f"({len(queries)} questions)\n\n{cells(result)}")
    result = accented_vs_folded(searcher, queries, {m: list(LANGS) for m in modules})
    detected = [searcher.search(t[:500], k=1).query_lang == "vi" for t, _, _ in folded(queries)]
    summary["xquad-folded"] = {m: {g: _metrics(r) for g, r in gs.items()} for m, gs in result.items()}
    out.append(f"### XQuAD Vietnamese questions typed without diacritics (parallel corpus, no filter; read as "
               f"Vietnamese: {sum(detected)}/{len(detected)})\n\n{cells(result)}")
    return out


def oncology_sections(searcher: Searcher, seen: list[Query], settings, embedder, vectors: QueryVectors,  # noqa: ANN001
                      draws: int, summary: dict) -> list[str]:
    here = Path(__file__).parent
    tune, test = load_queries(here / "queries-test.yaml", "tune"), load_queries(here / "queries-test.yaml", "test")
    everywhere = {m: list(LANGS) for m in searcher.modules}
    vectors.prefill(searcher, [q for q, _, _ in seen + tune + test + folded(seen + tune + test)])
    out = []
    full = {}
    for name, qs in (("queries.yaml (seen while developing)", seen), ("held-out set, tune half", tune),
                     ("held-out set, test half", test)):
        for m, groups in compare(searcher, qs, everywhere).items():
            full.setdefault(m, {})[name] = groups["all"]
        for m, groups in accented_vs_folded(searcher, qs, everywhere).items():
            for g, r in groups.items():
                full[m][f"{name}: {g}"] = r
    summary["oncology-full"] = {m: {g: _metrics(r) for g, r in gs.items()} for m, gs in full.items()}
    out.append("### Oncology corpus, no language filter (accented and folded Vietnamese beside each set)\n\n"
               + cells(full))
    runs, runs_test = [], []
    for seed in range(draws):
        work = settings.index_dir.parent.parent / f"partial-{seed}"
        kept = write_partial_corpus(settings.content_dir, work / "guidelines", seed)
        partial = vectors.attach(_build(work / "guidelines", work / "index", settings.index_dir, embedder))
        vectors.prefill(partial, [q for q, _, _ in seen + tune + test + folded(seen + tune + test)])
        runs.append(compare(partial, seen + tune, kept))
        runs_test.append(compare(partial, test, kept))
        vectors.save()
    for name, rs in (("queries.yaml + held-out tune half", runs), ("held-out test half", runs_test)):
        merged = merge(rs)
        summary[f"oncology-partial {name}"] = {m: {g: _metrics(r) for g, r in gs.items()}
                                               for m, gs in merged.items()}
        out.append(f"### Oncology corpus partly translated ({draws} draws: a third of the modules keep one or two "
                   f"languages), no filter, {name}\n\n{cells(merged)}")
    out.append(floor_section(searcher, seen, tune, test, summary))
    return out


def floor_section(searcher: Searcher, seen: list[Query], tune: list[Query], test: list[Query],
                  summary: dict) -> str:
    from kb.search import WEAK_FLOOR

    off = yaml.safe_load((Path(__file__).parent / "offtopic.yaml").read_text(encoding="utf-8"))["queries"]
    off_tune = [i["q"] for i in off if i["split"] == "tune"]
    off_test = [i["q"] for i in off if i["split"] == "test"]
    real_tune = [q for q, _, _ in seen + tune]
    real_test = [q for q, _, _ in test]
    best = lambda q: searcher.search(q[:500], k=10).best  # noqa: E731
    fitted = fit_floor([best(q) for q in real_tune], [best(q) for q in off_tune])
    rows = []
    for label, floor in (("fitted on the tune halves", fitted), ("WEAK_FLOOR in kb/search.py", WEAK_FLOOR)):
        for half, real, offs in (("tune", real_tune, off_tune), ("test", real_test, off_test)):
            flagged_off, flagged_real = floor_rates(searcher, real, offs, floor)
            rows.append([label, f"{floor:.3f}", half, f"{flagged_off:.2f} ({len(offs)})",
                         f"{flagged_real:.2f} ({len(real)})"])
    summary["floor"] = {"fitted": fitted, "rows": rows}
    from bench.report import table

    return ("### The weak (no good match) floor: best centred cosine below the floor\n\n"
            + table(["floor", "value", "half", "off-topic flagged (n)", "real flagged (n)"], rows))
