"""`kb stamp` records source hashes without touching the rest of the file, and clears outdated warnings."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kb.cli import main
from kb.corpus import load_corpus
from kb.stamp import StampError, stamp

GOOD = Path(__file__).parent / "fixtures" / "guidelines"


@pytest.fixture()
def content(tmp_path: Path) -> Path:
    shutil.copytree(GOOD, tmp_path / "g")
    return tmp_path / "g"


def rules_for(content: Path, name: str) -> set[str]:
    return {f.rule for f in load_corpus(content).findings if f.path.endswith(name)}


def test_stamp_one_section_only_changes_that_stamp(content: Path) -> None:
    path = content / "cancer-pain" / "zh.md"
    before = path.read_text(encoding="utf-8")
    assert "outdated" in rules_for(content, "cancer-pain/zh.md")
    written = stamp(load_corpus(content), "cancer-pain", "zh", "assessment")
    after = path.read_text(encoding="utf-8")
    assert list(written) == ["assessment"]
    assert "outdated" not in rules_for(content, "cancer-pain/zh.md")
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=True) if a != b]
    assert changed == [('  assessment: "0000000000"', f'  assessment: "{written["assessment"]}"')]


def test_stamp_whole_file_inserts_block_and_keeps_body(content: Path) -> None:
    path = content / "cancer-pain" / "vi.md"
    before = path.read_text(encoding="utf-8")
    assert main(["stamp", "cancer-pain", "vi", "--content", str(content)]) == 0
    after = path.read_text(encoding="utf-8")
    assert after.split("---\n", 2)[2] == before.split("---\n", 2)[2]
    assert "translated_from:\n  assessment:" in after
    assert "not-stamped" not in rules_for(content, "cancer-pain/vi.md")


def test_editing_the_source_makes_the_translation_outdated(content: Path) -> None:
    src = content / "liver-tace" / "en.md"
    src.write_text(src.read_text(encoding="utf-8").replace("up to 75 mg per vial", "up to 50 mg per vial"),
                   encoding="utf-8")
    outdated = [f for f in load_corpus(content).findings if f.rule == "outdated"]
    assert {(Path(f.path).name, f.line) for f in outdated if "liver-tace" in f.path} == {("zh.md", 39),
                                                                                        ("vi.md", 39)}


def test_stamp_refuses_a_source_file_and_unknown_section(content: Path) -> None:
    with pytest.raises(StampError):
        stamp(load_corpus(content), "liver-tace", "en")
    with pytest.raises(StampError):
        stamp(load_corpus(content), "liver-tace", "zh", "no-such-section")
