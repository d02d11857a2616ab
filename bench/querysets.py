"""Evaluation query files (bench/queries*.yaml) read with their line numbers, and the report of a file whose
queries carry tune/test halves (issue 13: the new modules' set).

A mistake in a query file (a missing field, an unknown language or split, a gold section the index does not
hold) is a `QueryFileError` naming the file and line, so a benchmark run stops with a message, not a traceback,
and never silently scores a query against a section that does not exist.

The split report puts the default model alone (`bare`) beside the project's hybrid search on the same queries,
per query language, per half, and Vietnamese typed without diacritics apart from Vietnamese typed with them."""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import yaml

from bench import crosslingual as xl
from kb import LANGS
from kb.errors import KbError
from kb.search import Searcher
from kb.text import fold

REQUIRED = ("q", "lang", "module", "section")
SPLITS = ("tune", "test")


class QueryFileError(KbError):
    """A query file that cannot be evaluated as written."""


@dataclass(frozen=True)
class EvalQuery:
    """One evaluation query with its gold section and where it is written."""

    text: str
    lang: str
    gold: tuple[str, str]  # (module, section id)
    set: str
    split: str | None
    path: Path
    line: int

    @property
    def accented(self) -> bool:
        """Whether the query is typed with diacritics (or a letter such as đ that folding changes)."""
        return fold(self.text) != unicodedata.normalize("NFKC", self.text).lower()

    def as_tuple(self) -> tuple[str, str, tuple[str, str]]:
        """The (text, language, gold) form the ranking functions of bench/retrieval.py take."""
        return self.text, self.lang, self.gold


def load(path: Path) -> list[EvalQuery]:
    """The queries of one file; a file with a `split` on any query must have one on every query."""
    where = lambda line: f"{path}:{line}"  # noqa: E731
    if not path.is_file():
        raise QueryFileError(f"{path}: no such query file")
    try:
        loader = yaml.SafeLoader(path.read_text(encoding="utf-8"))
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise QueryFileError(f"{where(mark.line + 1 if mark else 1)}: not valid YAML: "
                             f"{getattr(e, 'problem', None) or e}") from None
    if not isinstance(data, dict) or not isinstance(data.get("queries"), list):
        raise QueryFileError(f"{where(1)}: expected a mapping with a 'queries' list")
    nodes = next(v for k, v in node.value if k.value == "queries").value
    out: list[EvalQuery] = []
    for item, item_node in zip(data["queries"], nodes, strict=True):
        line = item_node.start_mark.line + 1
        if not isinstance(item, dict):
            raise QueryFileError(f"{where(line)}: a query must be a mapping with {', '.join(REQUIRED)}")
        missing = [f for f in REQUIRED if not isinstance(item.get(f), str) or not item[f].strip()]
        if missing:
            raise QueryFileError(f"{where(line)}: query without {', '.join(missing)}")
        if item["lang"] not in LANGS:
            raise QueryFileError(f"{where(line)}: unknown lang '{item['lang']}': one of {', '.join(LANGS)}")
        split = item.get("split")
        if split is not None and split not in SPLITS:
            raise QueryFileError(f"{where(line)}: unknown split '{split}': one of {', '.join(SPLITS)}")
        out.append(EvalQuery(item["q"], item["lang"], (item["module"], item["section"]), str(item.get("set", "core")),
                             split, path, line))
    with_split = [q for q in out if q.split]
    if with_split and len(with_split) != len(out):
        q = next(q for q in out if not q.split)
        raise QueryFileError(f"{where(q.line)}: query without split ('tune' or 'test'); the other queries of "
                             f"this file have one")
    return out


def has_splits(queries: list[EvalQuery]) -> bool:
    return bool(queries) and all(q.split for q in queries)


def check_golds(queries: list[EvalQuery], sections: set[tuple[str, str]]) -> None:
    """Every gold section must be one the index holds (in some language)."""
    for q in queries:
        if q.gold not in sections:
            raise QueryFileError(f"{q.path}:{q.line}: gold section {q.gold[0]}#{q.gold[1]} is not in the index")


def groups(queries: list[EvalQuery]) -> dict[str, list[int]]:
    """Row name -> positions in `queries`: every query language and the Vietnamese typing, each per half."""
    out: dict[str, list[int]] = defaultdict(list)
    for i, q in enumerate(queries):
        names = [q.lang] + ([f"vi {'with' if q.accented else 'without'} diacritics"] if q.lang == "vi" else [])
        for name in [*names, "all"]:
            out[f"{name}, {q.split}"].append(i)
            out[f"{name}, both halves"].append(i)
    order = [*LANGS, "vi with diacritics", "vi without diacritics", "all"]
    halves = ("test", "tune", "both halves")
    return {f"{n}, {h}": out[f"{n}, {h}"] for n in order for h in halves if out.get(f"{n}, {h}")}


def by_group(queries: list[EvalQuery], ranks: list[int | None]) -> dict[str, list[int | None]]:
    """Ranks of one method, grouped as `groups` names them."""
    return {name: [ranks[i] for i in idx] for name, idx in groups(queries).items()}


def _rank(keys: list[tuple[str, str]], gold: tuple[str, str]) -> int | None:
    return keys.index(gold) + 1 if gold in keys else None


def ranks_hybrid(searcher: Searcher, queries: list[EvalQuery], own_language: bool) -> list[int | None]:
    """Rank (1-based, None past 10) of the gold section in the project's hybrid search, with no language filter
    (what the search page does by default) or filtered to the query's language."""
    return [_rank([(r.module, r.section) for r in searcher.search(
        q.text[:500], lang=q.lang if own_language else None, k=10).results], q.gold) for q in queries]


def ranks_bare(searcher: Searcher, queries: list[EvalQuery], own_language: bool) -> list[int | None]:
    """The model alone: raw cosine of the query with the stored passage vectors (every language, or the query's
    own), a section ranking where its best passage does."""
    if not own_language:
        return xl.ranks_bare_pool(searcher, [q.as_tuple() for q in queries])
    raw, out = searcher.calibration.raw(), []
    for q in queries:
        ids, scores = raw.scores(searcher.query_vector(q.text[:500]), None)[q.lang]
        order = ids[np.argsort(-scores, kind="stable")][:60]
        top = [(m, s) for m, s, _ in searcher._sections_of(order.tolist(), None)][:10]  # noqa: SLF001
        out.append(_rank(top, q.gold))
    return out


def folded_copies(queries: list[EvalQuery]) -> list[EvalQuery]:
    """The Vietnamese queries typed with diacritics, again without them (the same query both ways)."""
    return [replace(q, text=xl.strip_marks(q.text)) for q in queries if q.lang == "vi" and q.accented]


def split_report(searcher: Searcher, queries: list[EvalQuery], title: str, summary: dict) -> str:
    """Markdown: bare and hybrid side by side, no filter and own-language filter, grouped by `groups`, plus the
    accented Vietnamese queries folded by the bench (compare with the "vi with diacritics" rows: same queries)."""
    check_golds(queries, set(searcher.section_langs))
    flat = folded_copies(queries)
    parts = []
    for own, label in ((False, "no language filter (the search page's default)"),
                       (True, "filtered to the query's language (`lang` = query language)")):
        table: dict[str, dict[str, list[int | None]]] = {}
        for method, fn in (("bare", ranks_bare), ("hybrid", ranks_hybrid)):
            table[method] = by_group(queries, fn(searcher, queries, own))
            for half in ("test", "tune"):
                table[method][f"vi with diacritics, {half}, the same queries folded by the bench"] = fn(
                    searcher, [q for q in flat if q.split == half], own)
        key = "own-language" if own else "no-filter"
        summary[key] = {m: {g: xl._metrics(r) for g, r in gs.items()} for m, gs in table.items()}  # noqa: SLF001
        parts.append(f"### {title}, {label}\n\n{xl.cells(table)}")
    return "\n\n".join(parts)


EXPLAIN = ("Each cell is recall@1 / recall@5 / MRR@10 of the gold section (module and section id, in whichever "
           "language the search returns it) over the queries of that row; n is the number of queries. `bare` is the "
           "default embedder alone (multilingual-e5-small, 4-bit, no project code): the query's cosine with the "
           "indexed passages, a section ranked where its best passage is. `hybrid` is the project's search "
           "(dense and keyword, section-aware, cross-lingual). Nothing was tuned on either half of this set; the "
           "`test` half is the held-out one (keep it unseen while tuning), `tune` may be looked at when choosing "
           "constants later. \"vi without diacritics\" are the queries the file has typed that way (most of them in "
           "the test half, most accented ones in the tune half, so compare within a half); the \"folded by the "
           "bench\" rows search the queries typed with diacritics again without them, a paired comparison with the "
           "\"vi with diacritics\" row of the same half.")
