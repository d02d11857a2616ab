"""Vietnamese typed without diacritics against the same queries typed with them (issue 8's target: folded recall@1
within 0.02 of accented on every Vietnamese query set), on XQuAD and on the oncology query sets, by half.

Every Vietnamese query written with diacritics is searched as written and again with its diacritics removed
(`bench.crosslingual.strip_marks`), no language filter, k = 10; the gold is the section (XQuAD: the paragraph) in
any language. `bare` is the model alone over one mixed pool (raw cosines; the folded text embedded as typed),
`hybrid` the project's search (which restores diacritics from the corpus vocabulary, `kb/diacritics.py`, before
embedding); `restorer without question phrases` is the same search with the restorer as it was before
`diacritics.QUESTION_PHRASES`. `restored exactly` is the share of folded queries whose restoration gives back the
accented query (case aside).

Sets and halves: XQuAD (the 1,190 Vietnamese questions over the parallel 48 articles; questions at even positions
are tune, odd ones test), `bench/queries.yaml` (seen while developing: tune), `bench/queries-test.yaml` and
`bench/queries-new-modules.yaml` with their own halves.

Usage: python bench/folded.py [--engine NAME] [--xquad DIR] [--articles N] [--write]"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import time
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import crosslingual as xl  # noqa: E402
from bench import querysets  # noqa: E402
from bench.report import provenance, replace_block, table  # noqa: E402
from bench.retrieval import DEFAULT_XQUAD, write_xquad_content  # noqa: E402
from kb import diacritics  # noqa: E402
from kb.build import build_index, is_stale  # noqa: E402
from kb.embedders import get_embedder  # noqa: E402
from kb.runtime import open_searcher  # noqa: E402
from kb.search import Searcher  # noqa: E402
from kb.settings import DEFAULT_EMBEDDER, Settings  # noqa: E402
from kb.text import fold  # noqa: E402

SETS = (ROOT / "bench" / "queries.yaml", ROOT / "bench" / "queries-test.yaml",
        ROOT / "bench" / "queries-new-modules.yaml")
Query = xl.Query


def accented(text: str) -> bool:
    return fold(text) != unicodedata.normalize("NFKC", text).lower()


def open_index(content: Path, index_dir: Path, engine: str, embedder, glossary: bool) -> Searcher:  # noqa: ANN001
    settings = Settings(content_dir=content, index_dir=index_dir, embedder=engine, glossary_expansion=glossary,
                        query_cache_size=10**6)
    if is_stale(settings):
        t = time.perf_counter()
        build_index(settings, embedder, progress=False)
        print(f"built {index_dir} in {time.perf_counter() - t:.0f}s", file=sys.stderr)
    return open_searcher(settings, embedder)


def without_phrases(searcher: Searcher) -> Searcher:
    """A copy of `searcher` whose restorer knows the corpus only (no `diacritics.QUESTION_PHRASES`): the state
    before the question phrases were added, for comparison."""
    import copy

    old = copy.copy(searcher)
    saved, diacritics.QUESTION_PHRASES = diacritics.QUESTION_PHRASES, ()
    try:
        old.restorer = diacritics.Restorer(*searcher.index.word_counts("vi"))
    finally:
        diacritics.QUESTION_PHRASES = saved
    old._cache = type(searcher._cache)()  # noqa: SLF001 - answers differ; the query vectors are shared
    return old


def rows_for(searcher: Searcher, name: str, halves: dict[str, list[Query]]) -> list[list[object]]:
    rows = []
    before = without_phrases(searcher)
    for half, queries in halves.items():
        typed = [q for q in queries if q[1] == "vi" and accented(q[0])]
        if not typed:
            continue
        flat = xl.folded(typed)
        cells = []
        r1 = {}
        for method, fn in (("bare", xl.ranks_bare_pool), ("hybrid", xl.ranks_any_language)):
            for form, qs in (("accented", typed), ("folded", flat)):
                m = xl._metrics(fn(searcher, qs))  # noqa: SLF001
                r1[(method, form)] = m[0]
                cells.append(f"{m[0]:.3f} / {m[1]:.3f}")
        m = xl._metrics(xl.ranks_any_language(before, flat))  # noqa: SLF001
        cells.append(f"{m[0]:.3f} / {m[1]:.3f}")
        exact = sum(unicodedata.normalize("NFC", searcher.read_query(f[:500])[1]).lower()
                    == unicodedata.normalize("NFC", t[:500]).lower()
                    for (t, _, _), (f, _, _) in zip(typed, flat, strict=True)) / len(typed)
        gap = r1[("hybrid", "folded")] - r1[("hybrid", "accented")]
        label = f"{name}, **{half}**" if half == "test" else f"{name}, {half}"
        rows.append([label, len(typed), *cells, f"{gap:+.3f}", "yes" if gap >= -0.02 else "no", f"{exact:.2f}"])
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--engine", default=DEFAULT_EMBEDDER)
    ap.add_argument("--xquad", type=Path, default=DEFAULT_XQUAD)
    ap.add_argument("--articles", type=int, default=None, help="only the first N XQuAD articles (smoke runs)")
    ap.add_argument("--skip-xquad", action="store_true")
    ap.add_argument("--write", action="store_true", help="the table into docs/benchmarks.md (`folded-vi` block)")
    args = ap.parse_args()
    embedder = get_embedder(args.engine)
    work = ROOT / ".kb" / "bench"
    vectors = xl.QueryVectors(work / f"query-vectors-{args.engine}.npz")  # keyed by engine (file) and text
    rows: list[list[object]] = []
    t = time.perf_counter()
    if not args.skip_xquad:
        tag = f"xquad-{args.articles or 'all'}"
        content = work / tag / "guidelines"
        queries = write_xquad_content(args.xquad, content, args.articles)
        index = work / tag / f"index-{args.engine}"
        full = work / "xquad-all" / f"index-{args.engine}" / "cache.sqlite"
        if index != full.parent and not (index / "cache.sqlite").exists() and full.exists():
            index.mkdir(parents=True, exist_ok=True)  # the same paragraphs: reuse what a full run embedded
            src, dst = sqlite3.connect(full), sqlite3.connect(index / "cache.sqlite")
            src.backup(dst)
            src.close()
            dst.close()
        searcher = vectors.attach(open_index(content, index, args.engine, embedder, glossary=False))
        vi = [q for q in queries if q[1] == "vi"]
        rows += rows_for(searcher, f"XQuAD vi questions, parallel corpus ({len(searcher.modules)} articles)",
                         {"test": vi[1::2], "tune": vi[0::2]})
        vectors.save()
    searcher = vectors.attach(open_index(ROOT / "guidelines", ROOT / ".kb" / f"index-{args.engine}", args.engine,
                                         embedder, glossary=True))
    for path in SETS:
        qs = querysets.load(path)
        halves = {h: [q.as_tuple() for q in qs if (q.split or "tune") == h] for h in ("test", "tune")}
        rows += rows_for(searcher, f"`{path.relative_to(ROOT)}`" + (" (seen, no halves)" if not
                                                                     querysets.has_splits(qs) else ""), halves)
        vectors.save()
    header = ["Vietnamese queries typed with diacritics (half)", "n", "bare accented R@1 / R@5",
              "bare folded R@1 / R@5", "hybrid accented R@1 / R@5", "hybrid folded R@1 / R@5",
              "hybrid folded, restorer without question phrases", "hybrid folded − accented, R@1",
              "within 0.02?", "restored exactly"]
    text = table(header, rows)
    print(text)
    print(f"{time.perf_counter() - t:.0f}s", file=sys.stderr)
    if args.write:
        command = "python bench/folded.py --write" + (f" --engine {args.engine}" if args.engine != DEFAULT_EMBEDDER
                                                      else "") + (f" --articles {args.articles}" if args.articles
                                                                  else "") + (" --skip-xquad" if args.skip_xquad
                                                                              else "")
        replace_block(ROOT / "docs" / "benchmarks.md", "folded-vi",
                      "## Vietnamese without diacritics against the same queries with them\n\n"
                      + provenance(command) + f" Engine `{args.engine}`.\n\n" + __doc__.split("\n\n")[1] + "\n\n"
                      + __doc__.split("\n\n")[2] + " Nothing in `kb/diacritics.py` was chosen on a **test** "
                      "half.\n\n" + text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
