"""`kb status`: the module x language matrix and the sections to work on, from the content folder."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from kb.cli import main

SHIPPED = Path(__file__).parent.parent / "guidelines"


def status_json(content: Path, capsys) -> dict:  # noqa: ANN001
    assert main(["status", str(content), "--format", "json"]) == 0
    docs = json.loads(capsys.readouterr().out)["documents"]
    return {(d["module"], d["lang"]): d for d in docs}


def test_shipped_corpus_is_complete(capsys) -> None:  # noqa: ANN001
    docs = status_json(SHIPPED, capsys)
    assert {d["state"] for (_, lang), d in docs.items() if lang != "en"} == {"complete"}
    assert {d["state"] for (_, lang), d in docs.items() if lang == "en"} == {"source"}


def test_outdated_missing_and_flagged_sections(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    content = tmp_path / "guidelines"
    shutil.copytree(SHIPPED / "tace", content / "tace")
    en, vi, zh = (content / "tace" / f"{L}.md" for L in ("en", "vi", "zh"))
    en.write_text(en.read_text(encoding="utf-8").replace("divided into 3 groups", "divided into 4 groups"),
                  encoding="utf-8")
    text = vi.read_text(encoding="utf-8")
    vi.write_text(re.sub(r"### Giai đoạn CNLC \{#cnlc\}\n.*?(?=\n##)", "", text, flags=re.S), encoding="utf-8")
    text = zh.read_text(encoding="utf-8")
    assert "3-5 cm" in text
    zh.write_text(text.replace("3-5 cm", "3-6 cm", 1), encoding="utf-8")

    docs = status_json(content, capsys)
    vi_status, zh_status = docs[("tace", "vi")], docs[("tace", "zh")]
    assert vi_status["state"] == "missing" and vi_status["counts"]["missing"] == 1
    assert vi_status["counts"]["outdated"] == 1
    states = {s["id"]: s["state"] for s in zh_status["sections"]}
    assert states["bclc-b"] == "outdated"
    flagged = [s for s in zh_status["sections"] if s["state"] == "flagged"]
    assert len(flagged) == 1
    assert "5 cm -> 6 cm" in flagged[0]["issues"][0]["message"]

    assert main(["status", str(content)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^tace\s+vi\s+missing", out, re.M)
    assert "tace/vi#cnlc: missing" in out and "tace/zh#bclc-b: outdated" in out
