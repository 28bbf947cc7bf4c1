"""Real SuiteSparse matrices: valid colorings, exact round trips, explicit zeros kept."""
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp

import coloring

REPO = Path(__file__).resolve().parents[2]
MATRIX_DIRS = [REPO.parent / "shared" / "matrices", REPO / "shared" / "matrices"]
MATRICES = next((d for d in MATRIX_DIRS if d.is_dir()), None)
NAMES = ["1138_bus.mtx", "west0479.mtx", "orani678.mtx", "bcsstk15.mtx"]


def load(name):
    if MATRICES is None or not (MATRICES / name).exists():
        pytest.skip(f"shared matrix {name} not available")
    A = sp.csr_array(scipy.io.mmread(MATRICES / name))
    A.sum_duplicates()
    A.sort_indices()
    return A


def brute_force_column_valid(A, colors):
    """Every row's columns have distinct colors (pure-Python loop over rows)."""
    for i in range(A.shape[0]):
        c = colors[A.indices[A.indptr[i]:A.indptr[i + 1]]]
        if np.unique(c).size != c.size:
            return False
    return True


@pytest.mark.parametrize("name", NAMES)
def test_column_and_row_on_matrix(name):
    A = load(name)
    orders = ("largest_first", "smallest_last") if name != "orani678.mtx" else "largest_first"
    r = coloring.color(A, "column", orders)
    assert brute_force_column_valid(A, r.colors)
    assert r.ncolors >= np.diff(A.indptr).max()
    vals = np.random.default_rng(0).standard_normal(A.nnz)
    Av = sp.csr_array((vals, A.indices, A.indptr), shape=A.shape)
    D = r.decompress(r.compress(Av))
    assert np.array_equal(D.indices, A.indices) and np.array_equal(D.data, vals)
    rr = coloring.color(A, "row", "largest_first")
    assert brute_force_column_valid(sp.csr_array(A.T), rr.colors)
    D = rr.decompress(rr.compress(Av))
    assert np.array_equal(D.data, vals)


def test_explicit_zeros_of_west0479_are_structural():
    A = load("west0479.mtx")
    assert A.nnz == 1910
    assert np.count_nonzero(A.data == 0) == 22
    r = coloring.color(A)
    assert r.nnz == 1910


@pytest.mark.parametrize("name", ["1138_bus.mtx", "bcsstk15.mtx"])
@pytest.mark.parametrize("problem", ["star", "acyclic"])
def test_symmetric_matrices(name, problem):
    A = load(name)
    r = coloring.color(A, problem, ("largest_first", "smallest_last"))
    coloring.check(A, r)
    vals = np.random.default_rng(1).standard_normal(A.nnz)
    Av = sp.csr_array((vals, A.indices, A.indptr), shape=A.shape)
    Av = (Av + Av.T) / 2  # symmetric values on the symmetric pattern
    Av.sort_indices()
    B = r.compress(Av)
    D = r.decompress(B)
    # compare sparse matrices entry by entry (dense copies of bcsstk15 would be 125 MB)
    assert np.array_equal(D.indices, Av.indices) and np.array_equal(D.indptr, Av.indptr)
    np.testing.assert_allclose(D.data, Av.data, rtol=1e-10, atol=1e-12)
    L = r.decompress(np.asfortranarray(B), uplo="L")
    T = sp.csr_array(sp.tril(Av))
    T.sort_indices()
    assert np.array_equal(L.indices, T.indices) and np.array_equal(L.indptr, T.indptr)
    np.testing.assert_allclose(L.data, T.data, rtol=1e-10, atol=1e-12)
