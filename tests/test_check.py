"""`kb check`: one broken file per rule, each reported with its file, line and rule; errors fail the command."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from kb.cli import main
from kb.corpus import load_corpus

BROKEN = Path(__file__).parent / "fixtures" / "broken"
GOOD = Path(__file__).parent / "fixtures" / "guidelines"

EXPECTED = [
    # (file below broken/, line, rule, severity)
    ("no-front-matter/en.md", 1, "front-matter", "error"),
    ("bad-yaml/en.md", 4, "yaml", "error"),
    ("missing-field/en.md", 1, "field", "error"),
    ("bad-status/en.md", 7, "field", "error"),
    ("bad-date/en.md", 6, "field", "error"),
    ("lang-mismatch/en.md", 4, "field", "error"),
    ("module-mismatch/en.md", 2, "field", "error"),
    ("no-section-id/en.md", 13, "section-id", "error"),
    ("duplicate-id/en.md", 17, "duplicate-id", "error"),
    ("empty-section/en.md", 13, "empty-section", "error"),
    ("bad-utf8/en.md", 15, "encoding", "error"),
    ("text-before-section/en.md", 13, "structure", "error"),
    ("wrong-language-file/fr.md", 1, "path", "error"),
    ("glossary.yaml", 6, "glossary", "error"),
    ("glossary.yaml", 10, "glossary", "error"),
    ("translations/zh.md", 13, "section-missing", "warning"),
    ("translations/zh.md", 20, "section-extra", "warning"),
    ("translations/zh.md", 16, "outdated", "warning"),
    ("translations/vi.md", 11, "not-stamped", "warning"),
    ("translations/vi.md", 18, "numbers", "warning"),
    ("translations/en.md", 5, "version-not-bumped", "warning"),  # zh's stamp is outdated, both still 1.0
]


@pytest.fixture(scope="module")
def findings() -> set[tuple[str, int, str, str]]:
    corpus = load_corpus(BROKEN)
    return {(str(Path(f.path).resolve().relative_to(BROKEN.resolve())), f.line, f.rule, f.severity)
            for f in corpus.findings}


@pytest.mark.parametrize("expected", EXPECTED, ids=lambda e: f"{e[0]}:{e[1]}:{e[2]}")
def test_each_rule_is_reported_at_its_file_and_line(findings, expected) -> None:  # noqa: ANN001
    assert expected in findings


def test_no_unexpected_findings(findings) -> None:  # noqa: ANN001
    assert findings == set(EXPECTED)


def test_messages_say_how_to_fix() -> None:
    by_rule = {f.rule: f.message for f in load_corpus(BROKEN).findings}
    assert "kb stamp translations zh --section overview" in by_rule["outdated"]
    assert "75" in by_rule["numbers"]
    assert "{#some-id}" in by_rule["section-id"]


def test_files_with_errors_are_not_indexable_but_named() -> None:
    corpus = load_corpus(BROKEN)
    indexable = {d.display_path for d in corpus.indexable()}
    assert not any("bad-status" in p for p in indexable)
    assert any(p.endswith("translations/vi.md") for p in indexable)  # warnings do not stop indexing


def test_cli_exit_codes_and_compiler_style_lines(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(BROKEN)]) == 1
    out = capsys.readouterr().out
    assert "bad-status/en.md:7: error: field: status 'final'" in out
    assert main(["check", str(GOOD)]) == 0  # warnings only
    assert main(["check", str(GOOD), "--strict"]) == 1


def test_json_format_gives_the_same_findings(capsys: pytest.CaptureFixture[str]) -> None:
    main(["check", str(BROKEN), "--format", "json"])
    data = json.loads(capsys.readouterr().out)
    assert data["errors"] == sum(1 for e in EXPECTED if e[3] == "error")
    assert {"path", "line", "severity", "rule", "message"} <= set(data["findings"][0])
    assert len(data["findings"]) == len(EXPECTED)


def test_shipped_corpus_has_no_errors() -> None:
    corpus = load_corpus(Path(__file__).parent.parent / "guidelines")
    assert corpus.errors() == []


def test_good_fixture_reports_translation_state(tmp_path: Path) -> None:
    shutil.copytree(GOOD, tmp_path / "g")
    rules = {(Path(f.path).parent.name + "/" + Path(f.path).name, f.rule) for f in load_corpus(tmp_path / "g").findings}
    assert ("cancer-pain/zh.md", "outdated") in rules
    assert ("cancer-pain/vi.md", "section-missing") in rules
    assert not any(p.startswith("liver-tace") for p, _ in rules)
