"""The contract every vector backend passes (`kb.store.vectors.BACKENDS`): a new backend (pgvector, Qdrant, an
ANN index) is one class plus its name in that table, and this file runs it through the same checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kb.store import DamagedIndexError, IndexUnavailableError
from kb.store.vectors import BACKENDS, backend


def unit_rows(n: int, dim: int, seed: int = 0) -> np.ndarray:
    rows = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


@pytest.fixture(params=sorted(BACKENDS))
def cls(request: pytest.FixtureRequest):  # noqa: ANN201
    return BACKENDS[request.param]


def test_add_count_search_by_cosine(cls) -> None:  # noqa: ANN001
    rows = unit_rows(50, 16)
    ids = np.arange(100, 150, dtype=np.int64)
    index = cls(16)
    assert index.count() == 0
    index.add(ids, rows)
    assert index.count() == 50
    scores, found = index.search(rows[[7]], 5)
    assert found[0][0] == 107 and scores[0][0] == pytest.approx(1.0, abs=1e-5)
    assert list(scores[0]) == sorted(scores[0], reverse=True)
    expected = np.argsort(-(rows @ rows[7]))[:5] + 100
    assert list(found[0]) == list(expected)


def test_inner_products_score_every_row_in_the_order_added(cls, tmp_path: Path) -> None:  # noqa: ANN001
    """Unranked products for a caller that scores every row (the calibration): the same as the rows' own products,
    with their ids; after a save and load, and after more rows are added."""
    rows = unit_rows(30, 16, seed=2)
    ids = np.arange(500, 470, -1, dtype=np.int64)  # ids not in row order
    index = cls(16)
    assert len(index.inner_products(rows[0])[0]) == 0
    index.add(ids, rows)
    scores, got = index.inner_products(rows[4])
    assert list(got) == list(ids) and np.allclose(scores, rows @ rows[4], atol=1e-6)
    index.save(tmp_path / f"p{cls.suffix}")
    again = cls.load(tmp_path / f"p{cls.suffix}", 16)
    assert np.allclose(again.inner_products(rows[4])[0], scores, atol=1e-6)
    more = unit_rows(5, 16, seed=3)
    again.add(np.arange(5, dtype=np.int64), more)
    scores, got = again.inner_products(more[1])
    assert list(got) == [*ids, 0, 1, 2, 3, 4] and np.allclose(scores, np.vstack([rows, more]) @ more[1], atol=1e-6)


def test_save_and_load_round_trip(cls, tmp_path: Path) -> None:  # noqa: ANN001
    rows = unit_rows(20, 8, seed=1)
    index = cls(8)
    index.add(np.arange(20, dtype=np.int64), rows)
    path = tmp_path / f"v{cls.suffix}"
    index.save(path)
    again = cls.load(path, 8)
    assert again.count() == 20
    assert list(again.search(rows[[3]], 3)[1][0]) == list(index.search(rows[[3]], 3)[1][0])


def test_an_empty_index_answers_nothing(cls, tmp_path: Path) -> None:  # noqa: ANN001
    index = cls(4)
    index.save(tmp_path / f"e{cls.suffix}")
    assert cls.load(tmp_path / f"e{cls.suffix}", 4).count() == 0


def test_a_damaged_file_or_wrong_dimension_is_named(cls, tmp_path: Path) -> None:  # noqa: ANN001
    index = cls(8)
    index.add(np.arange(5, dtype=np.int64), unit_rows(5, 8))
    path = tmp_path / f"d{cls.suffix}"
    index.save(path)
    with pytest.raises(DamagedIndexError, match="dimension"):
        cls.load(path, 16)
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(DamagedIndexError, match=path.name):
        cls.load(path, 8)


def test_an_unknown_backend_name_says_what_exists() -> None:
    with pytest.raises(IndexUnavailableError, match="faiss-flat-ip"):
        backend("qdrant")
