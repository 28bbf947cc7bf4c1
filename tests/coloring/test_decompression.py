"""Decompression indices (coloring._decompression) against dense references: for random
patterns, every problem, format and triangle, reading the products through the index
gives back the matrix exactly."""
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import coloring
from coloring import _decompression as D

FORMATS = ("csr", "csc", "coo")


def random_pattern(m, n, density, seed):
    rng = np.random.default_rng(seed)
    A = (rng.random((m, n)) < density).astype(float)
    A[rng.integers(0, m), rng.integers(0, n)] = 1.0  # never empty
    return A


def symmetric_pattern(n, density, seed):
    A = random_pattern(n, n, density, seed)
    return np.maximum(A, A.T)


def integer_values(A, seed):
    """Distinct integers on the pattern: any wrong read changes the result."""
    rng = np.random.default_rng(seed)
    return np.where(A != 0, rng.permutation(A.size).reshape(A.shape) + 1.0, 0.0)


def seeds(colors, k):
    """Batch-first 0/1 seeds (k, len(colors)), by a loop."""
    S = np.zeros((k, colors.size))
    for j, c in enumerate(colors):
        S[c, j] = 1.0
    return S


def coords(index):
    """Row and column of each stored value, in the output's order."""
    if index.format == "coo":
        return index.rows, index.cols
    major = np.repeat(np.arange(index.indptr.size - 1), np.diff(index.indptr))
    return (major, index.indices) if index.format == "csr" else (index.indices, major)


def dense_from(index, data, shape):
    """The dense matrix an index's structure and values describe (a loop per value)."""
    M = np.zeros(shape)
    rows, cols = coords(index)
    assert rows.size == data.size
    for r, c, v in zip(rows, cols, data):
        assert M[r, c] == 0  # each stored entry once
        M[r, c] = v
    return M


def triangle(A, uplo):
    return {"F": A, "L": np.tril(A), "U": np.triu(A)}[uplo]


def check_structure(index, A, uplo):
    """Stored entries = the pattern's (triangle), sorted within each row / column."""
    ref = triangle(A != 0, uplo)
    got = dense_from(index, np.ones(index.nnz), A.shape) != 0
    np.testing.assert_array_equal(got, ref)
    if index.format != "coo":
        for a in range(index.indptr.size - 1):
            seg = index.indices[index.indptr[a]:index.indptr[a + 1]]
            assert np.all(np.diff(seg) > 0)
    for arr in (index.indptr, index.indices, index.rows, index.cols, index.flat_index,
                index.entry_input):
        if arr is not None:
            assert arr.dtype == np.int32 and not arr.flags.writeable


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 12), st.integers(1, 12), st.floats(0.05, 0.6), st.integers(0, 10**6),
       st.sampled_from(["column", "row"]))
def test_column_and_row_indices_recover_the_matrix(m, n, density, seed, problem):
    A = integer_values(random_pattern(m, n, density, seed), seed)
    r = coloring.color(sp.csr_array(A), problem)
    k = r.ncolors
    # batch-first products, as a backend returns them
    P = seeds(r.colors, k) @ A.T if problem == "column" else seeds(r.colors, k) @ A
    for fmt in FORMATS:
        index = r.decompression_index(fmt)
        check_structure(index, A, "F")
        data = P.ravel()[index.flat_index]
        np.testing.assert_array_equal(dense_from(index, data, A.shape), A)
        # the seed behind each value moved that value's column (row for row colorings)
        rows, cols = coords(index)
        np.testing.assert_array_equal(index.entry_input,
                                      cols if problem == "column" else rows)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 14), st.floats(0.05, 0.5), st.integers(0, 10**6),
       st.sampled_from(["star", "acyclic"]))
def test_symmetric_indices_recover_every_triangle(n, density, seed, problem):
    A = integer_values(symmetric_pattern(n, density, seed), seed)
    A = np.triu(A) + np.triu(A, 1).T  # symmetric values
    r = coloring.color(sp.csr_array(A), problem)
    P = seeds(r.colors, r.ncolors) @ A  # (k, n) Hessian-vector products
    for fmt in FORMATS:
        for uplo in ("F", "L", "U"):
            index = r.decompression_index(fmt, uplo)
            check_structure(index, A, uplo)
            if problem == "star":
                data = P.ravel()[index.flat_index]
            else:
                assert index.flat_index is None
                full = substitute_by_loop(index.substitution(), P.T, (A != 0).sum())
                csr = r.decompression_index("csr", "F")
                M = dense_from(csr, full, A.shape)
                np.testing.assert_array_equal(M, A)
                data = triangle(M, uplo)[np.nonzero(triangle(A != 0, uplo))]
                if fmt == "csc":  # values in CSR order, moved to the output's
                    data = data[index.csr_position]
                elif fmt == "coo":
                    assert index.csr_position is None
            np.testing.assert_array_equal(dense_from(index, data, A.shape), triangle(A, uplo))


def substitute_by_loop(order, B, nnz):
    """The solve order run in plain Python (reference for coloring's substitute kernel)."""
    (read_row, read_col, acc_src, acc_dst, out_a, out_b, diag_pos, diag_row, diag_col,
     nslots) = order
    acc = np.zeros(nslots)
    out = np.full(nnz, np.nan)
    for t in range(read_row.size):
        v = B[read_row[t], read_col[t]] - acc[acc_src[t]]
        acc[acc_dst[t]] += v
        out[out_a[t]] = out[out_b[t]] = v
    for p, i, c in zip(diag_pos, diag_row, diag_col):
        out[p] = B[i, c]
    return out


@settings(max_examples=15, deadline=None)
@given(st.integers(2, 12), st.integers(2, 12), st.floats(0.05, 0.5), st.integers(0, 10**6))
def test_bicolor_sides_recover_the_matrix(m, n, density, seed):
    A = integer_values(random_pattern(m, n, density, seed), seed)
    r = coloring.color(sp.csr_array(A), "bicolor")
    V, W = r.seed_matrices()
    PJ, PV = V @ A.T, W @ A  # batch-first JVPs (k1, m) and VJPs (k2, n)
    for fmt in FORMATS:
        index = r.decompression_index(fmt)
        check_structure(index, A, "F")
        data = np.full(index.nnz, np.nan)
        (kind_j, pos_j, flat_j, _), (kind_v, pos_v, flat_v, _) = index.sides
        assert (kind_j, kind_v) == ("jvp", "vjp")
        data[pos_j] = PJ.ravel()[flat_j]
        data[pos_v] = PV.ravel()[flat_v]
        np.testing.assert_array_equal(dense_from(index, data, A.shape), A)


def test_star_read_rule_from_colors_alone_and_on_a_sub_pattern():
    n = 30
    A = symmetric_pattern(n, 0.15, 4)
    r = coloring.color(sp.csr_array(A), "star")
    sub = A.copy()
    sub[np.triu_indices(n, 1)] *= np.random.default_rng(1).random(n * (n - 1) // 2) < 0.7
    sub = np.maximum(np.triu(sub), np.triu(sub).T)  # a symmetric subset
    V = integer_values(sub, 2)
    V = np.triu(V) + np.triu(V, 1).T
    P = seeds(r.colors, r.ncolors) @ V
    for res in (r, coloring.ColoringResult(r.pattern, r.colors, "star")):
        index = res.decompression_index("csc", "L", pattern=sp.csr_array(sub))
        check_structure(index, sub, "L")
        np.testing.assert_array_equal(dense_from(index, P.ravel()[index.flat_index], V.shape),
                                      np.tril(V))


def test_a_coloring_that_cannot_be_read_directly_is_named():
    A = np.ones((3, 3))
    bad = coloring.ColoringResult(coloring.color(A, "star").pattern, np.array([0, 1, 1]),
                                  "star")
    with pytest.raises(coloring.ColoringError, match="cannot be read directly"):
        bad.decompression_index()
    with pytest.raises(coloring.ColoringError, match="unknown format"):
        bad.decompression_index("dense")
    with pytest.raises(coloring.ColoringError, match="unknown uplo"):
        bad.decompression_index("csr", "X")


@pytest.mark.parametrize("rule", ["column", "row", "star", "structure"])
def test_numpy_twin_matches_the_kernel(rule):
    n = 40
    A = symmetric_pattern(n, 0.2, 7)
    P = sp.csr_array(A)
    colors = np.random.default_rng(0).integers(0, 6, n)
    here = np.random.default_rng(1).random(P.nnz) < 0.5
    for fmt in range(3):
        for up in range(3):
            outs = []
            for run in (D._direct_index_numpy, D._direct_index_kernel):
                nnz = (P.nnz if up == 0 else
                       int(np.count_nonzero(D._triangle_mask(P.indptr, P.indices, up))))
                arrays = (np.empty((n + 1) if fmt != 2 else 0, np.int32),
                          np.empty(nnz, np.int32), np.empty(nnz if fmt == 2 else 0, np.int32),
                          np.empty(nnz if fmt == 1 else 0, np.int32),
                          np.empty(nnz, np.int32), np.empty(nnz, np.int32))
                run(P.indptr, P.indices, n, colors, D.RULES[rule], here, up, fmt, *arrays)
                outs.append(arrays)
            compared = 4 if rule == "structure" else 6  # no flat index to compare
            for a, b in list(zip(*outs))[:compared]:
                np.testing.assert_array_equal(a, b)
