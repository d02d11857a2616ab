"""The translation memory: `kb stamp` keeps the source text it stamped, and a later change of the source is shown
word by word in the `outdated` finding, a changed dose as `150 mg -> 120 mg`."""

from __future__ import annotations

import shutil
from pathlib import Path

from kb.checks.memory import MEMORY_FILE, describe_changes, load_memory, word_diff
from kb.cli import main
from kb.corpus import load_corpus
from kb.stamp import stamp

SHIPPED = Path(__file__).parent.parent / "guidelines"


def test_word_diff_and_described_changes() -> None:
    old, new = "Give morphine 150 mg daily.", "Give oral morphine 120 mg daily."
    assert ("-", "150") in word_diff(old, new) and ("+", "120") in word_diff(old, new)
    assert describe_changes(old, new) == "+«oral»; 150 mg -> 120 mg"
    assert describe_changes("每日150 mg吗啡", "每日120 mg吗啡") == "150 mg -> 120 mg"
    assert describe_changes("Không dùng NSAID.", "Dùng NSAID.") == "Không dùng -> Dùng"


def test_shipped_memory_holds_every_stamped_source_text() -> None:
    corpus = load_corpus(SHIPPED)
    for module, docs in corpus.modules.items():
        memory = load_memory(SHIPPED / module)
        for doc in docs.values():
            for sid, h in doc.translated_from.items():
                assert h in memory, f"{module}/{doc.lang}#{sid}"


def test_a_source_dose_change_is_shown_in_the_outdated_finding(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    content = tmp_path / "guidelines"
    shutil.copytree(SHIPPED / "tace", content / "tace")
    en = content / "tace" / "en.md"
    text = en.read_text(encoding="utf-8")
    assert "BCLC B is divided into 3 groups" in text
    en.write_text(text.replace("BCLC B is divided into 3 groups", "BCLC B is divided into 4 groups"),
                  encoding="utf-8")
    assert main(["check", str(content)]) == 0
    out = capsys.readouterr().out
    outdated = [line for line in out.splitlines() if ": outdated: " in line and "'bclc-b'" in line]
    assert len(outdated) == 2  # zh and vi
    assert all("the source changed: 3 groups -> 4 groups" in line for line in outdated)

    corpus = load_corpus(content)
    stamp(corpus, "tace", "zh", "bclc-b")
    new_hash = load_corpus(content).modules["tace"]["en"].section("bclc-b").hash
    memory = load_memory(content / "tace")
    assert new_hash in memory and "4 groups" in memory[new_hash]
    old_hash = corpus.modules["tace"]["vi"].translated_from["bclc-b"]
    assert old_hash in memory  # vi is still stamped against the old text: it is kept
    stamp(load_corpus(content), "tace", "vi", "bclc-b")
    assert old_hash not in load_memory(content / "tace")  # no stamp names it any more
    assert (content / "tace" / MEMORY_FILE).read_text(encoding="utf-8").startswith("# Written by `kb stamp`")
