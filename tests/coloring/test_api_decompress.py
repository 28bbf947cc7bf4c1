"""ColoringResult: seed matrix, compress/decompress round trips, layouts, out=, errors."""
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import coloring
from benchmarks.problems import brusselator_sparsity
from coloring import ColoringError


def random_values(A, seed=0):
    """A with the same stored pattern (explicit zeros kept) and random values."""
    P = sp.csr_array(A)
    P.sum_duplicates()
    P.sort_indices()
    vals = np.random.default_rng(seed).standard_normal(P.indices.size)
    return sp.csr_array((vals, P.indices, P.indptr), shape=P.shape)


def naive_compress(Av, colors, k, problem):
    """Dense reference: sum the columns (rows) of each color."""
    D = Av.toarray()
    if problem == "row":
        B = np.zeros((k, D.shape[1]))
        for i, c in enumerate(colors):
            B[c] += D[i]
        return B
    B = np.zeros((D.shape[0], k))
    for j, c in enumerate(colors):
        B[:, c] += D[:, j]
    return B


@pytest.mark.parametrize("problem", ["column", "row"])
@pytest.mark.parametrize("N", [3, 6])
def test_round_trip_all_layouts(problem, N):
    A = brusselator_sparsity(N)
    Av = random_values(A, N)
    r = coloring.color(A, problem, "smallest_last")
    B = r.compress(Av)
    assert B.shape == r.compressed_shape
    np.testing.assert_allclose(B, naive_compress(Av, r.colors, r.ncolors, problem), atol=1e-12)
    D = r.decompress(B)
    assert isinstance(D, sp.csr_array)
    assert np.array_equal(D.indptr, Av.indptr) and np.array_equal(D.indices, Av.indices)
    assert np.array_equal(D.data, Av.data)
    assert D.has_canonical_format
    # F-contiguous B (transpose of the batch-first products) is read in place
    BF = np.asfortranarray(B)
    assert np.array_equal(r.decompress(BF).data, Av.data)
    # non-contiguous B is still fine (copied once)
    Bnc = np.zeros((B.shape[0], 2 * B.shape[1]))[:, ::2]
    Bnc[...] = B
    assert np.array_equal(r.decompress(Bnc).data, Av.data)
    # out= refills in place
    out = r.decompress(np.zeros_like(B))
    data_buffer = out.data
    res = r.decompress(BF, out=out)
    assert res is out and out.data is data_buffer
    assert np.array_equal(out.data, Av.data)


@pytest.mark.parametrize("problem", ["column", "row"])
def test_batch_first_index(problem):
    A = brusselator_sparsity(4)
    Av = random_values(A, 1)
    r = coloring.color(A, problem)
    B = r.compress(Av)
    P = B.T.copy() if problem == "column" else B.copy()  # what a backend returns, (k, .)
    idx = r.decompression_index(layout="batch_first").flat_index
    assert np.array_equal(P.ravel()[idx], Av.data)
    assert np.array_equal(B.ravel()[r.decompression_index(layout="C").flat_index], Av.data)
    assert np.array_equal(B.T.ravel()[r.decompression_index(layout="F").flat_index], Av.data)


def test_seed_matrix_forms():
    A = brusselator_sparsity(4)
    r = coloring.color(A)
    S = r.seed_matrix()
    assert S.shape == (A.shape[1], r.ncolors)
    assert np.all(S.sum(axis=1) == 1)
    assert np.array_equal(r.seed_matrix(batch_first=True), S.T)
    assert r.seed_matrix(batch_first=True).flags.c_contiguous
    assert np.array_equal(r.seed_matrix(sparse=True).toarray(), S)
    assert np.array_equal(r.seed_matrix(sparse=True, batch_first=True).toarray(), S.T)
    Av = random_values(A, 2)
    np.testing.assert_allclose(r.compress(Av), Av @ S, atol=1e-12)
    np.testing.assert_allclose(r.compress(Av.toarray()), Av @ S, atol=1e-12)
    np.testing.assert_allclose(r.compress(Av.data), Av @ S, atol=1e-12)


@settings(max_examples=30)
@given(st.integers(0, 12), st.integers(0, 12), st.floats(0, 1), st.integers(0, 1000),
       st.sampled_from(["column", "row"]))
def test_random_round_trip(m, n, density, seed, problem):
    rng = np.random.default_rng(seed)
    D = (rng.random((m, n)) < density) * rng.standard_normal((m, n))
    r = coloring.color(D, problem, ("natural", "largest_first"))
    B = r.compress(D)
    M = r.decompress(B)
    assert np.array_equal(M.toarray(), D)
    assert M.nnz == np.count_nonzero(D)


def test_structural_zeros_kept_in_output():
    A = sp.csr_array((np.array([1.0, 0.0, 2.0]), np.array([0, 1, 1]), np.array([0, 2, 3])),
                     shape=(2, 2))
    r = coloring.color(A)
    D = r.decompress(r.compress(A))
    assert D.nnz == 3
    assert np.array_equal(D.data, [1.0, 0.0, 2.0])


@pytest.mark.parametrize("uplo", ["F", "L", "U"])
def test_uplo_column_square(uplo):
    A = brusselator_sparsity(3)
    Av = random_values(A, 5)
    r = coloring.color(A)
    B = r.compress(Av)
    D = r.decompress(B, uplo=uplo)
    ref = {"F": Av, "L": sp.tril(Av, format="csr"), "U": sp.triu(Av, format="csr")}[uplo]
    assert np.array_equal(D.toarray(), ref.toarray())
    assert D.nnz == ref.nnz
    out = r.decompress(np.asfortranarray(B), uplo=uplo)
    assert r.decompress(B, out=out, uplo=uplo) is out


def test_float32_values():
    A = brusselator_sparsity(3)
    Av = random_values(A, 4).astype(np.float32)
    r = coloring.color(A)
    B = r.compress(Av)
    D = r.decompress(B.astype(np.float32))
    assert D.dtype == np.float32
    assert np.array_equal(D.data, Av.data)


# ------------------------------------------------------------------------ error paths

def test_unknown_problem_and_order():
    A = sp.eye_array(3, format="csr")
    with pytest.raises(ColoringError, match="unknown problem"):
        coloring.color(A, "diagonal")
    with pytest.raises(ColoringError, match="unknown order"):
        coloring.color(A, order="biggest_first")
    with pytest.raises(ColoringError, match="unknown order"):
        coloring.color(A, order=("natural", "nope"))
    with pytest.raises(ColoringError, match="non-empty"):
        coloring.color(A, order=())
    with pytest.raises(ColoringError, match="improve"):
        coloring.color(A, improve=-1)


def test_bad_input_shapes():
    with pytest.raises(ColoringError, match="2-D"):
        coloring.color(np.ones(3))
    with pytest.raises(ColoringError, match="2-D"):
        coloring.color(np.ones((2, 2, 2)))


def test_wrong_B_shape_and_out():
    A = brusselator_sparsity(3)
    r = coloring.color(A)
    B = r.compress(random_values(A))
    with pytest.raises(ColoringError, match="shape"):
        r.decompress(B[:, :-1])
    with pytest.raises(ColoringError, match="shape"):
        r.decompress(B.ravel())
    with pytest.raises(ColoringError, match="csr_array"):
        r.decompress(B, out=np.zeros(A.nnz))
    other = sp.csr_array(np.ones(A.shape))
    with pytest.raises(ColoringError, match="pattern"):
        r.decompress(B, out=other)
    with pytest.raises(ColoringError, match="shape"):
        r.decompress(B, out=sp.csr_array((3, 3)))
    out = r.decompress(B)
    with pytest.raises(ColoringError, match="dtype"):
        r.decompress(B.astype(np.float32), out=out)
    with pytest.raises(ColoringError, match="uplo"):
        r.decompress(B, uplo="X")
    with pytest.raises(ColoringError, match="uplo"):
        r.decompress(B, out=out, uplo="L")  # out has the full pattern
    with pytest.raises(ColoringError, match="layout"):
        r.decompression_index(layout="Z")
    with pytest.raises(ColoringError, match="one entry per structural nonzero"):
        r.compress(np.ones(3))
    with pytest.raises(ColoringError, match="shape"):
        r.compress(np.ones((2, 2)))


def test_uplo_needs_square():
    A = sp.random_array((4, 6), density=0.3, rng=0, format="csr")
    r = coloring.color(A)
    with pytest.raises(ColoringError, match="square"):
        r.decompress(r.compress(A), uplo="L")


# ------------------------------------------------------------------------------ check

def test_check_accepts_valid_and_names_offending_pair():
    A = brusselator_sparsity(3)
    r = coloring.color(A)
    coloring.check(A, r)
    rr = coloring.color(A, "row")
    coloring.check(A, rr)
    bad = coloring.ColoringResult(r.pattern, np.zeros(A.shape[1], dtype=np.int64), "column")
    with pytest.raises(ColoringError, match=r"columns \d+ and \d+ both have color 0 and share row"):
        coloring.check(A, bad)
    bad_rows = coloring.ColoringResult(r.pattern, np.zeros(A.shape[0], dtype=np.int64), "row")
    with pytest.raises(ColoringError, match=r"rows \d+ and \d+ both have color 0"):
        coloring.check(A, bad_rows)
    with pytest.raises(ColoringError, match="needs"):
        coloring.check(sp.eye_array(5, format="csr"), r)
    with pytest.raises(ColoringError, match="ColoringResult"):
        coloring.check(A, r.colors)
    wrong_range = coloring.ColoringResult(r.pattern, r.colors, "column")
    wrong_range.ncolors = 1
    with pytest.raises(ColoringError, match="lie in"):
        coloring.check(A, wrong_range)


def test_repr_and_attributes():
    A = brusselator_sparsity(3)
    r = coloring.color(A, order=("natural", "smallest_last"))
    assert "ncolors" in repr(r)
    assert r.problem == "column"
    assert r.order in ("natural", "smallest_last")
    assert set(r.orders_tried) == {"natural", "smallest_last"}
    assert r.lower_bound == 6
    assert r.pattern.dtype == bool and r.pattern.shape == A.shape


def test_shared_pattern_is_protected_and_input_untouched():
    A = sp.csr_array(brusselator_sparsity(3).astype(float))
    A.indices = A.indices.astype(np.int64)
    A.indptr = A.indptr.astype(np.int64)
    r = coloring.color(A)
    assert A.indices.flags.writeable  # the caller's arrays are never frozen or shared
    assert not np.shares_memory(A.indices, r.pattern.indices)
    D = r.decompress(r.compress(A))
    with pytest.raises(ValueError):
        D.indices[0] = 1  # the shared index arrays are read-only
    E = D.copy()
    E.data[:] = 0
    E.eliminate_zeros()
    assert E.nnz == 0 and r.pattern.nnz == A.nnz
    assert np.array_equal(r.decompress(r.compress(A)).data, A.data)


def test_out_with_own_index_arrays():
    """An out= matrix built by the caller (equal, not shared, index arrays) is accepted."""
    A = brusselator_sparsity(3)
    Av = random_values(A, 9)
    r = coloring.color(A)
    B = r.compress(Av)
    out = sp.csr_array((np.zeros(A.nnz), Av.indices.copy(), Av.indptr.copy()), shape=A.shape)
    for _ in range(2):  # the second call takes the cached-verification path
        assert r.decompress(B, out=out) is out
        assert np.array_equal(out.data, Av.data)
    out.indices[[0, 1]] = out.indices[[1, 0]]  # same arrays, mutated in place: pathological
    out2 = sp.csr_array((np.zeros(A.nnz), Av.indices[::-1].copy(), Av.indptr.copy()),
                        shape=A.shape)
    with pytest.raises(ColoringError, match="pattern"):
        r.decompress(B, out=out2)


def test_warmup_returns_seconds():
    for problem in ("column", "row", "star", "acyclic"):
        assert coloring.warmup(problem) >= 0


def test_decompressed_matrices_allow_eliminate_zeros():
    A = sp.csr_array(np.array([[1.0, 0, 2], [0, 3, 0], [4, 0, 5]]))
    result = coloring.color(A, "column")
    B = result.compress(A)
    B[:, 0] = 0.0  # every entry of color 0 becomes an explicit zero
    M = result.decompress(B)
    M.eliminate_zeros()
    assert M.nnz < A.nnz
    assert np.all(M.data != 0)
    # the shared pattern is untouched: the next result still has every entry
    M2 = result.decompress(result.compress(A))
    np.testing.assert_array_equal(M2.toarray(), A.toarray())
    assert M2.nnz == A.nnz
