"""Evaluation query files: mistakes are reported with file and line, the shipped files load and point at real
sections, and the report's rows count what they say they count."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import querysets
from kb.corpus import load_corpus

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted((ROOT / "bench").glob("queries*.yaml"))


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "q.yaml"
    path.write_text("queries:\n" + body, encoding="utf-8")
    return path


GOOD = '  - {q: "FLOT dose", lang: en, module: gastric-cancer, section: perioperative-therapy, split: tune}\n'


@pytest.mark.parametrize(("body", "line", "message"), [
    (GOOD + '  - {q: "x", lang: en, module: m, section: s}\n', 3, "query without split"),
    (GOOD + '  - {q: "x", lang: fr, module: m, section: s, split: test}\n', 3, "unknown lang 'fr'"),
    (GOOD + '  - {q: "x", lang: en, module: m, split: test}\n', 3, "query without section"),
    (GOOD + '  - {q: "x", lang: en, module: m, section: s, split: later}\n', 3, "unknown split 'later'"),
    (GOOD + "  - just text\n", 3, "a query must be a mapping"),
    (GOOD + '  - {q: "x", lang: en\n', 4, "not valid YAML"),
])
def test_a_bad_query_names_its_file_and_line(tmp_path: Path, body: str, line: int, message: str) -> None:
    path = write(tmp_path, body)
    with pytest.raises(querysets.QueryFileError) as e:
        querysets.load(path)
    assert e.value.message.startswith(f"{path}:{line}: ")
    assert message in e.value.message


def test_a_missing_file_and_a_file_without_queries_are_errors(tmp_path: Path) -> None:
    with pytest.raises(querysets.QueryFileError, match="no such query file"):
        querysets.load(tmp_path / "nope.yaml")
    (tmp_path / "empty.yaml").write_text("", encoding="utf-8")
    with pytest.raises(querysets.QueryFileError, match="'queries' list"):
        querysets.load(tmp_path / "empty.yaml")


def test_a_gold_section_the_index_lacks_names_the_query(tmp_path: Path) -> None:
    queries = querysets.load(write(tmp_path, GOOD))
    querysets.check_golds(queries, {("gastric-cancer", "perioperative-therapy")})
    with pytest.raises(querysets.QueryFileError, match=r"q.yaml:2: gold section gastric-cancer#perioperative"):
        querysets.check_golds(queries, {("gastric-cancer", "surgery")})


def test_vietnamese_typing_and_halves_are_grouped(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + "".join(
        f'  - {{q: "{q}", lang: vi, module: m, section: s, split: {split}}}\n'
        for q, split in (("liều FLOT", "tune"), ("lieu FLOT", "test"), ("đau", "test"), ("dau", "tune"))))
    queries = querysets.load(path)
    assert [q.accented for q in queries] == [False, True, False, True, False]
    groups = querysets.groups(queries)
    assert groups["vi with diacritics, test"] == [3]
    assert groups["vi without diacritics, both halves"] == [2, 4]
    assert groups["all, tune"] == [0, 1, 4]
    assert len(groups["all, both halves"]) == 5


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_query_files_load_and_point_at_shipped_sections(path: Path) -> None:
    corpus = load_corpus(ROOT / "guidelines")
    sections = {(m, s.id) for m, docs in corpus.modules.items() for d in docs.values() for s in d.sections}
    queries = querysets.load(path)
    querysets.check_golds(queries, sections)
    assert queries


def test_the_new_modules_set_has_ten_queries_a_language_a_module_in_two_halves() -> None:
    queries = querysets.load(ROOT / "bench" / "queries-new-modules.yaml")
    assert querysets.has_splits(queries)
    per = {}
    for q in queries:
        per.setdefault((q.gold[0], q.lang), []).append(q.split)
    assert len(per) == 21 and all(sorted(s) == ["test"] * 5 + ["tune"] * 5 for s in per.values())
    vi = [q for q in queries if q.lang == "vi"]
    assert sum(not q.accented for q in vi) == len(vi) // 2
