"""What a prepared Jacobian keeps, per nonzero: int32 indices, one gather index, no dense
seed matrix for finite differences, no coordinate arrays; measured with tracemalloc."""
import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp

import coloring
import sparsead
from benchmarks.problems import brusselator_initial, brusselator_sparsity, make_brusselator_numpy
from sparsead._plan import build_plan


def _reference_seeds(colors, k):
    S = np.zeros((k, colors.size))
    for j, c in enumerate(colors):
        S[c, j] = 1
    return S


@pytest.mark.parametrize("chunk_size", [None, 3])
def test_fd_never_builds_the_dense_seeds(chunk_size):
    N = 12
    f, x = make_brusselator_numpy(N), brusselator_initial(N)
    J = sparsead.prepare_jacobian(f, x, chunk_size=chunk_size)
    M = J(x)
    plan = J._plan
    assert plan._seeds is None and all(c._seeds is None for c in plan.chunks)
    assert plan.flat_index.dtype == np.int32 and plan.indices.dtype == np.int32
    assert plan.entry_input is plan.indices  # column coloring: the input is the column
    assert plan.rows is None  # coordinates only when asked for
    colors = np.asarray(J.coloring.colors)
    np.testing.assert_array_equal(J.seeds, _reference_seeds(colors, J.ncolors))
    assert not J.seeds.flags.writeable
    rows, cols = J.structure()
    np.testing.assert_array_equal(M.toarray()[rows, cols], M.data)
    # the dense seeds, once built, give the same values through a backend that needs them
    R = sparsead.jacobian(f, x, backend=sparsead.backends.Custom(
        jvp=lambda x, V: np.stack([(f(x + 1e-7 * v) - f(x)) / 1e-7 for v in V])),
        coloring=J.coloring)
    np.testing.assert_allclose(R.toarray(), M.toarray(), rtol=1e-4, atol=1e-3)


def test_plan_of_a_large_pattern_stays_within_a_few_bytes_per_nonzero():
    P = brusselator_sparsity(96)  # 110592 nonzeros
    J = sparsead.prepare_jacobian(make_brusselator_numpy(96), brusselator_initial(96),
                                  sparsity=P)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        plan = build_plan(J.sparsity, J.coloring, fmt="csr")
        kept, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    nnz = P.nnz
    # int32 indices + int32 gather index (+ indptr and colors, per row/column)
    assert (kept - before) / nnz <= 12, (kept - before) / nnz
    assert (peak - before) / nnz <= 24, (peak - before) / nnz
    assert plan.nnz == nnz


def test_results_still_held_are_never_overwritten():
    """Value buffers are reused only once no result (nor any view of its values) is alive."""
    N = 8
    f, x = make_brusselator_numpy(N), brusselator_initial(N)
    J = sparsead.prepare_jacobian(f, x)
    first = J(x)
    kept = first.data[::2]  # a view of the values outlives the matrix
    expected = first.toarray()
    del first
    x2 = x * 1.5
    results = [J(x2) for _ in range(4)]  # all alive at once: four distinct buffers
    ptrs = {r.data.__array_interface__["data"][0] for r in results}
    assert len(ptrs) == 4
    np.testing.assert_array_equal(kept, expected[J.structure()][::2])
    for r in results[1:]:
        np.testing.assert_array_equal(r.data, results[0].data)
    del results
    reused = [J(x).data.__array_interface__["data"][0] for _ in range(3)]
    assert len(set(reused)) == 1  # a dropped result's buffer is handed out again
    np.testing.assert_array_equal(J(x).toarray(), expected)


def _hessian_pattern(N):
    P = brusselator_sparsity(N).astype(np.int8)
    H = sp.csr_array((P.T @ P) != 0)
    H.sort_indices()
    return H


def _bytes_per_nonzero(pattern, color, **kw):
    """(kept, peak) bytes per nonzero of build_plan on a fresh coloring (nothing cached).

    A first plan, on another coloring, compiles the kernels (or loads them from Numba's
    cache) outside the measurement: a cold cache must not count."""
    build_plan(pattern, color(), **kw)
    result = color()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        plan = build_plan(pattern, result, **kw)
        kept, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert plan.nnz <= pattern.nnz
    return (kept - before) / pattern.nnz, (peak - before) / pattern.nnz


@pytest.mark.parametrize("fmt", ["csc", "coo"])
def test_csc_and_coo_plans_stay_within_a_few_bytes_per_nonzero(fmt):
    P = brusselator_sparsity(96)  # 110592 nonzeros: the compiled kernel (see _small)
    kept, peak = _bytes_per_nonzero(P, lambda: coloring.color(P, "column"), fmt=fmt)
    # int32 structure (csc: row indices; coo: both coordinates) + int32 gather index and
    # input (shared with the column indices for coo); no sort, no int64 coordinates
    assert kept <= 14, kept
    assert peak <= 16, peak


@pytest.mark.parametrize("problem, uplo, bound", [("star", "F", 14), ("star", "L", 10),
                                                  ("acyclic", "F", 6), ("acyclic", "U", 8)])
def test_hessian_plans_stay_within_a_few_bytes_per_nonzero(problem, uplo, bound):
    H = _hessian_pattern(48)  # 82944 nonzeros: the compiled kernel
    kept, peak = _bytes_per_nonzero(H, lambda: coloring.color(H, problem), fmt="csr",
                                    uplo=uplo)
    # star: int32 indices, gather index and input, one byte per entry saying where it is
    # read; acyclic: the structure only (the solve order belongs to the coloring)
    assert kept <= bound, kept
    assert peak <= bound + 2, peak
