"""The CLI through its entry point: search output, index summary, serve refusing a foreign index."""

from __future__ import annotations

import json

import pytest

from kb.cli import main
from kb.settings import Settings


def test_search_json_is_the_api_shape(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["search", "DEB-TACE", "--index", str(settings.index_dir), "--json", "-k", "2"])
    body = json.loads(capsys.readouterr().out)
    assert code == 0 and body["query"] == "DEB-TACE" and len(body["results"]) == 2
    assert body["results"][0]["section"] == "deb-tace"


def test_search_text_output(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    main(["search", "肺癌", "--index", str(settings.index_dir), "--lang", "zh", "-k", "1"])
    out = capsys.readouterr().out
    assert out.startswith(" 1. [zh] 癌痛与阿片类药物滴定 › 疼痛评估")


def test_bad_k_is_a_clear_error(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "tace", "--index", str(settings.index_dir), "-k", "99"]) == 1
    assert "k must be between 1 and 50" in capsys.readouterr().err


def test_index_prints_findings_and_summary(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["index", "--content", str(settings.content_dir), "--index", str(settings.index_dir)]) == 0
    err = capsys.readouterr().err
    assert "warning: outdated" in err
    assert "indexed 6 document(s)" in err and "0 embedded" in err


def test_serve_refuses_an_index_built_by_another_embedder(settings: Settings,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["serve", "--content", str(settings.content_dir), "--index", str(settings.index_dir),
                 "--embedder", "sentence-transformers:some-model"])
    assert code == 1
    err = capsys.readouterr().err
    assert "built by 'e5-small-q4-ort'" in err and "kb index --embedder sentence-transformers:some-model" in err
