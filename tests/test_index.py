"""The indexer: what a build writes, incremental re-embedding, atomic publication, embedder bookkeeping."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from kb import store
from kb.build import BuildError, build_index, is_stale
from kb.build.chunking import chunk_section
from kb.content import parse_document
from kb.embedders import EmbedderError, get_embedder
from kb.runtime import open_searcher
from kb.settings import Settings
from kb.store import IndexUnavailableError, current_build

FIXTURES = Path(__file__).parent / "fixtures" / "guidelines"


@pytest.fixture()
def fresh(tmp_path: Path, embedder) -> Settings:  # noqa: ANN001
    """A private content copy and index, so a test may edit and rebuild freely."""
    shutil.copytree(FIXTURES, tmp_path / "guidelines")
    s = Settings(content_dir=tmp_path / "guidelines", index_dir=tmp_path / "index")
    build_index(s, embedder, progress=False)
    return s


def test_manifest_records_embedder_counts_and_fingerprint(settings: Settings) -> None:
    manifest = store.read_manifest(settings.index_dir)
    assert manifest.embedder == "e5-small-q4-ort" and manifest.dim == 384
    assert manifest.documents == 6 and manifest.languages == ["en", "vi", "zh"]
    assert manifest.chunks >= manifest.sections >= 20
    assert len(manifest.fingerprint) == 16 and manifest.built_at
    assert not is_stale(settings)


def test_chunks_carry_title_and_heading_path(searcher) -> None:  # noqa: ANN001
    rows = [c for c in searcher.index.chunks.values() if c.section == "contraindications" and c.lang == "en"]
    assert rows and rows[0].heading_path == ("Indications", "Contraindications")
    assert rows[0].title == "TACE for liver cancer"


def test_long_section_is_split_within_the_window(embedder) -> None:  # noqa: ANN001
    doc, _ = parse_document(FIXTURES / "liver-tace" / "en.md")
    short = doc.section("overview")
    section = dataclasses.replace(short, markdown="\n\n".join([short.markdown] * 30))
    chunks = chunk_section(doc, section, embedder.token_count, 512)
    assert len(chunks) > 1
    assert all(embedder.token_count(c.text) <= 512 for c in chunks)
    assert all(c.text.startswith("TACE for liver cancer › Overview\n") for c in chunks)


def test_one_edit_re_embeds_only_the_changed_chunk(fresh: Settings, embedder) -> None:  # noqa: ANN001
    path = fresh.content_dir / "liver-tace" / "en.md"
    path.write_text(path.read_text(encoding="utf-8").replace("usually settles", "often settles"), encoding="utf-8")
    assert is_stale(fresh)
    report = build_index(fresh, embedder, progress=False)
    assert report.embedded == 1 and report.reused == report.manifest.chunks - 1
    hits = open_searcher(fresh, embedder).search("often settles", lang="en", k=1, mode="keyword").results
    assert hits[0].section == "aftercare"


def test_after_the_warm_up_a_rebuild_redoes_only_the_changed_file(fresh: Settings, embedder) -> None:  # noqa: ANN001
    """The live preview's budget: `warm` fills the per-input caches a rebuild reads, so one edited file costs one
    file's parsing, tokenising, counting and rendering (and the outcome equals a cold build: the caches are keyed
    by their inputs)."""
    from kb.build import statistics
    from kb.build.pipeline import _fields, warm
    from kb.markdown import render_html

    caches = {"keyword fields": _fields, "vocabulary": statistics._document_vocabulary, "html": render_html}
    for f in caches.values():
        f.cache_clear()  # the fixture's build filled them: what follows must come from the warm-up alone
    warm(fresh, embedder)
    before = {name: f.cache_info().misses for name, f in caches.items()}
    build_index(fresh, embedder, progress=False)
    assert {name: f.cache_info().misses - before[name] for name, f in caches.items()} == {
        "keyword fields": 0, "vocabulary": 0, "html": 0}
    path = fresh.content_dir / "liver-tace" / "en.md"
    marker = f"settles (warm-up test {time.time_ns()})"  # new to this process's caches
    path.write_text(path.read_text(encoding="utf-8").replace("settles", marker, 1), encoding="utf-8")
    before = {name: f.cache_info().misses for name, f in caches.items()}
    report = build_index(fresh, embedder, progress=False)
    missed = {name: f.cache_info().misses - before[name] for name, f in caches.items()}
    assert missed["keyword fields"] == 1 and missed["vocabulary"] == 1 and 1 <= missed["html"] <= 3
    assert report.embedded == 1
    hits = open_searcher(fresh, embedder).search("warm-up test", lang="en", k=1, mode="keyword").results
    assert hits[0].section == "aftercare"


def test_a_file_with_errors_keeps_its_last_good_version_and_is_named(fresh: Settings, embedder) -> None:  # noqa: ANN001
    bad = fresh.content_dir / "liver-tace" / "vi.md"
    good = bad.read_text(encoding="utf-8")
    bad.write_text(good.replace("status: draft", "status: final").replace("## ", "## Mới ", 1), encoding="utf-8")
    report = build_index(fresh, embedder, progress=False)
    assert report.held_back == ["liver-tace/vi.md"] and report.skipped == []
    assert any(f.severity == "error" and f.path.endswith("liver-tace/vi.md") for f in report.findings)
    searcher = open_searcher(fresh, embedder)
    assert "vi" in searcher.section_langs[("liver-tace", "overview")]
    assert not any(s.heading.startswith("Mới") for s in searcher.index.sections)  # the last good text
    # fixed again: served from the file itself, nothing held back
    bad.write_text(good, encoding="utf-8")
    assert build_index(fresh, embedder, progress=False).held_back == []


def test_a_file_that_never_had_a_good_version_is_skipped_and_named(fresh: Settings, embedder) -> None:  # noqa: ANN001
    new = fresh.content_dir / "new-module" / "en.md"
    new.parent.mkdir()
    new.write_text("---\nmodule: new-module\n---\n\n## A {#a}\n\nText.\n", encoding="utf-8")
    report = build_index(fresh, embedder, progress=False)
    assert report.skipped == ["new-module/en.md"] and report.held_back == []
    assert "new-module" not in open_searcher(fresh, embedder).modules


def test_a_failed_build_leaves_the_previous_index_live(fresh: Settings, embedder, monkeypatch) -> None:  # noqa: ANN001
    before = current_build(fresh.index_dir)

    def crash(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise OSError("disk full")

    monkeypatch.setattr(store.BuildWriter, "add_vectors", crash)
    (fresh.content_dir / "liver-tace" / "en.md").write_text(
        (fresh.content_dir / "liver-tace" / "en.md").read_text(encoding="utf-8") + "\nExtra line.\n",
        encoding="utf-8")
    with pytest.raises(OSError):
        build_index(fresh, embedder, progress=False)
    assert current_build(fresh.index_dir) == before
    assert open_searcher(fresh, embedder).search("DEB-TACE", k=1).results[0].section == "deb-tace"


KILLABLE = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from kb.build import build_index
    from kb.embedders import get_embedder
    from kb.settings import Settings

    real = get_embedder("e5-small-q4-ort")

    class Slow:
        id, dim, max_tokens = real.id, real.dim, real.max_tokens
        token_count = staticmethod(real.token_count)
        embed_queries = staticmethod(real.embed_queries)
        def embed_passages(self, texts):
            Path(sys.argv[3]).touch()
            time.sleep(0.5)
            return real.embed_passages(texts)

    build_index(Settings(content_dir=Path(sys.argv[1]), index_dir=Path(sys.argv[2])), Slow(), progress=False)
""")


def test_killing_a_build_midway_leaves_the_old_index_answering(fresh: Settings, embedder, tmp_path) -> None:  # noqa: ANN001
    before = current_build(fresh.index_dir)
    for lang in ("en", "zh", "vi"):  # every chunk changes, so the build has real work to be killed in
        p = fresh.content_dir / "liver-tace" / f"{lang}.md"
        p.write_text(p.read_text(encoding="utf-8").replace("{#overview}", "{#overview}\n\nRevised.\n"),
                     encoding="utf-8")
    started = tmp_path / "started"
    proc = subprocess.Popen([sys.executable, "-c", KILLABLE, str(fresh.content_dir), str(fresh.index_dir),
                             str(started)], env={**os.environ, "PYTHONPATH": str(Path.cwd())})
    deadline = time.monotonic() + 60
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert started.exists(), "the build never started embedding"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert current_build(fresh.index_dir) == before
    answer = open_searcher(fresh, embedder).search("drug-eluting beads doxorubicin", lang="en", k=1)
    assert answer.results[0].section == "deb-tace"
    report = build_index(fresh, embedder, progress=False)  # and the next build completes, reusing the cache
    assert report.reused > 0
    assert not [p for p in (fresh.index_dir / "builds").iterdir() if p.name.endswith(".tmp")]


def test_index_refuses_another_embedder(settings: Settings) -> None:
    other = Settings(content_dir=settings.content_dir, index_dir=settings.index_dir,
                     embedder="sentence-transformers:/nowhere/model")
    with pytest.raises(IndexUnavailableError, match="rebuild it with 'kb index --embedder"):
        open_searcher(other)


def test_unknown_embedder_and_missing_index_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(EmbedderError, match="unknown embedder"):
        get_embedder("word2vec")
    with pytest.raises(IndexUnavailableError, match="kb index"):
        open_searcher(Settings(content_dir=tmp_path, index_dir=tmp_path / "none"))
    with pytest.raises(BuildError, match="nothing to index"):
        build_index(Settings(content_dir=tmp_path, index_dir=tmp_path / "i"), progress=False)


def test_index_stores_section_findings_for_the_web(settings: Settings) -> None:
    build = current_build(settings.index_dir)
    import sqlite3

    db = sqlite3.connect(build / "meta.sqlite")
    rows = set(db.execute("SELECT module, lang, section, rule FROM findings WHERE section IS NOT NULL"))
    assert ("cancer-pain", "zh", "assessment", "outdated") in rows
    meta = json.loads(db.execute("SELECT meta FROM documents WHERE module='liver-tace' AND lang='en'").fetchone()[0])
    assert meta["status"] == "draft"
