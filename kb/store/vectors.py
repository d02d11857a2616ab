"""Vectors behind one small protocol, so another backend (pgvector, Qdrant, an ANN index) is one new class that
passes `tests/test_vector_index.py`, not a rewrite of search. The manifest names the backend that wrote a build;
the reader loads it by that name."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Protocol

import numpy as np

from kb.store.errors import DamagedIndexError, IndexUnavailableError


class VectorIndex(Protocol):
    """Ids and L2-normalised float32 vectors of one language; search by inner product (cosine)."""

    name: ClassVar[str]
    suffix: ClassVar[str]

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add rows; `ids` are int64 chunk ids, `vectors` an (n, dim) float32 matrix."""
        ...

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids) of the k best rows per query, best first; ids are -1 past the end."""
        ...

    def inner_products(self, vector: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(the inner product of one vector with every row, the row's id), in the order the rows were added: no
        ranking, for a caller that scores every row anyway."""
        ...

    def save(self, path: Path) -> None: ...

    def count(self) -> int: ...

    def rows(self) -> np.ndarray:
        """The stored vectors in the order they were added, (count, dim) float32, read-only, without a copy where
        the backend can (the reader keeps a build's sentence vectors only here)."""
        ...


class FaissFlatIndex:
    """Exact inner-product search with FAISS: at a few thousand chunks a flat index answers in microseconds and
    needs no training, so there is nothing to tune or to go stale."""

    name: ClassVar[str] = "faiss-flat-ip"
    suffix: ClassVar[str] = ".faiss"

    def __init__(self, dim: int, index: object | None = None) -> None:
        import faiss

        self.dim = dim
        self._index = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self._ids: np.ndarray | None = None  # the id of every row, in row order, read once from the index

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids):
            self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32),
                                     np.asarray(ids, dtype=np.int64))

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Search on the calling thread alone. A flat search over a few thousand vectors takes microseconds,
        while an OpenMP team would spin against the embedder for the two cores. OpenMP's thread count is a
        per-thread setting, so it is set here, on whichever server thread runs the search."""
        import faiss

        faiss.omp_set_num_threads(1)
        return self._index.search(np.ascontiguousarray(queries, dtype=np.float32), k)

    def inner_products(self, vector: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Through FAISS's own single-threaded kernel: no top-k heap over every row (a search with k = count kept
        one, 0.8 ms for 5,342 vectors against 0.3 ms), and no numpy BLAS thread team (`BuildReader.sentence_dense`)."""
        import faiss

        rows = self.rows()
        out = np.empty(len(rows), np.float32)
        if len(rows):
            q = np.ascontiguousarray(vector.reshape(-1), dtype=np.float32)
            faiss.fvec_inner_products_ny(faiss.swig_ptr(out), faiss.swig_ptr(q), faiss.swig_ptr(rows), self.dim,
                                         len(rows))
        if self._ids is None or len(self._ids) != len(rows):
            self._ids = faiss.vector_to_array(self._index.id_map).astype(np.int64)
            self._ids.flags.writeable = False
        return out, self._ids

    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self._index, str(path))

    def count(self) -> int:
        return int(self._index.ntotal)

    def rows(self) -> np.ndarray:
        """A view of the flat index's own storage: valid while this object lives."""
        import faiss

        flat = faiss.downcast_index(self._index.index)
        if flat.ntotal == 0:
            return np.zeros((0, flat.d), np.float32)
        view = faiss.rev_swig_ptr(flat.get_xb(), flat.ntotal * flat.d).reshape(flat.ntotal, flat.d)
        view.flags.writeable = False
        return view

    @classmethod
    def load(cls, path: Path, dim: int) -> FaissFlatIndex:
        """Read a saved index; a truncated or foreign file is a DamagedIndexError naming it."""
        import faiss

        try:
            index = faiss.read_index(str(path))
        except RuntimeError as exc:  # FAISS reports every read failure this way
            raise DamagedIndexError(path, f"not a readable FAISS index ({str(exc).splitlines()[0][:120]})") from exc
        if index.d != dim:
            raise DamagedIndexError(path, f"vectors of dimension {index.d}, the manifest says {dim}")
        return cls(dim, index)


BACKENDS: dict[str, type[FaissFlatIndex]] = {FaissFlatIndex.name: FaissFlatIndex}
DEFAULT_BACKEND = FaissFlatIndex.name


def backend(name: str) -> type[FaissFlatIndex]:
    """The vector backend class for a manifest's name."""
    try:
        return BACKENDS[name]
    except KeyError:
        raise IndexUnavailableError(f"the index uses vector backend '{name}', which this version does not have "
                                    f"(it has: {', '.join(BACKENDS)}): rebuild it with 'kb index'") from None
