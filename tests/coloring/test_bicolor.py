"""Bicoloring: JVPs and VJPs together, checked against a brute-force recoverability test."""
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import coloring
from coloring import BicoloringResult, ColoringError

PROBLEMS = ("bicolor", "bicolor_substitution")


def arrowhead(n):
    """Nonsymmetric arrowhead: dense first row, dense last column, diagonal."""
    r = np.concatenate([np.arange(n), np.zeros(n - 1, int), np.arange(1, n)])
    c = np.concatenate([np.arange(n), np.arange(1, n), np.full(n - 1, n - 1)])
    return sp.csr_array((np.ones(r.size), (r, c)), shape=(n, n))


def naive_recoverable(A, row_colors, column_colors, substitution):
    """Pure-Python reference: which stored entries the products recover.

    Entry (i, j) lies in the JVP sum B_col[i, column_colors[j]] with the other entries
    (i, j') of row i whose column has the same nonzero color, and in the VJP sum
    B_row[row_colors[i], j] with the entries (i', j) of column j of the same nonzero row
    color. It is recovered when it is alone in one of the sums once the entries
    recovered before are subtracted (only from the start for direct recovery).
    """
    A = sp.coo_array(A)
    entries = list(zip(A.row.tolist(), A.col.tolist()))
    known = set()
    while True:
        new = set()
        for (i, j) in entries:
            if (i, j) in known:
                continue
            if column_colors[j] > 0:
                others = [(i, jj) for (ii, jj) in entries if ii == i and jj != j
                          and column_colors[jj] == column_colors[j] and (i, jj) not in known]
                if not others:
                    new.add((i, j))
                    continue
            if row_colors[i] > 0:
                others = [(ii, j) for (ii, jj) in entries if jj == j and ii != i
                          and row_colors[ii] == row_colors[i] and (ii, j) not in known]
                if not others:
                    new.add((i, j))
        if not substitution:
            return new, entries
        if not new:
            return known, entries
        known |= new


@st.composite
def patterns(draw):
    m = draw(st.integers(1, 60))
    n = draw(st.integers(1, 60))
    density = draw(st.floats(0.0, 0.3))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    D = rng.random((m, n)) < density
    for _ in range(draw(st.integers(0, 3))):  # dense rows
        D[rng.integers(m), :] = True
    for _ in range(draw(st.integers(0, 3))):  # dense columns
        D[:, rng.integers(n)] = True
    return sp.csr_array(D.astype(float))


def integer_values(A, seed):
    P = sp.csr_array(A, dtype=float)
    P.sort_indices()
    vals = np.random.default_rng(seed).integers(-9, 10, P.nnz).astype(float)
    vals[vals == 0] = 7  # nonzero values make a wrong read visible
    return sp.csr_array((vals, P.indices, P.indptr), shape=P.shape)


@settings(max_examples=60, deadline=None)
@given(patterns(), st.sampled_from(PROBLEMS),
       st.sampled_from(("largest_first", "smallest_last", "natural", "random")),
       st.integers(0, 5))
def test_random_patterns_recover_every_entry_exactly(A, problem, order, seed):
    result = coloring.color(A, problem, order, seed=seed)
    assert isinstance(result, BicoloringResult)
    m, n = A.shape
    assert result.row_colors.shape == (m,) and result.column_colors.shape == (n,)
    assert result.nproducts == result.ncolumn_colors + result.nrow_colors
    # every product index is used by some row/column (no empty seeds)
    assert set(result.column_colors[result.column_colors > 0]) == set(
        range(1, result.ncolumn_colors + 1))
    assert set(result.row_colors[result.row_colors > 0]) == set(range(1, result.nrow_colors + 1))
    recovered, entries = naive_recoverable(A, result.row_colors, result.column_colors,
                                           problem == "bicolor_substitution")
    assert recovered == set(entries)
    coloring.check(A, result)
    # exact round trip through the seeds with random integer values
    M = integer_values(A, seed)
    V, W = result.seed_matrices()
    assert V.shape == (result.ncolumn_colors, n) and W.shape == (result.nrow_colors, m)
    B_col, B_row = M @ V.T, W @ M
    D = result.decompress(B_col, B_row)
    assert np.array_equal(D.indptr, M.indptr) and np.array_equal(D.indices, M.indices)
    np.testing.assert_array_equal(D.data, M.data)
    # the batch-first (transposed) JVP products give the same, and out= refills in place
    M2 = integer_values(A, seed + 1)
    out = result.decompress(np.ascontiguousarray((M2 @ V.T).T).T, W @ M2, out=D)
    assert out is D
    np.testing.assert_array_equal(D.data, M2.data)


@settings(max_examples=40, deadline=None)
@given(patterns(), st.sampled_from(PROBLEMS))
def test_checker_agrees_with_the_naive_reference_on_arbitrary_colors(A, problem):
    """Random (mostly invalid) color assignments: check() raises exactly when the naive
    reference finds an entry it cannot recover."""
    result = coloring.color(A, problem)
    m, n = A.shape
    rng = np.random.default_rng(A.nnz)
    k1, k2 = max(result.ncolumn_colors, 1), max(result.nrow_colors, 1)
    result.column_colors = rng.integers(0, k1 + 1, n)
    result.row_colors = rng.integers(0, k2 + 1, m)
    result.ncolumn_colors, result.nrow_colors = k1, k2
    recovered, entries = naive_recoverable(A, result.row_colors, result.column_colors,
                                           problem == "bicolor_substitution")
    if recovered == set(entries):
        coloring.check(A, result)
    else:
        with pytest.raises(ColoringError, match="cannot be recovered"):
            coloring.check(A, result)


@pytest.mark.parametrize("problem", PROBLEMS)
def test_arrowhead_needs_at_most_three_products(problem):
    n = 10**4
    A = arrowhead(n)
    assert coloring.color(A, "column").ncolors == n  # one side alone needs n
    assert coloring.color(A, "row").ncolors == n
    result = coloring.color(A, problem)
    assert result.nproducts <= 3
    coloring.check(A, result)
    M = integer_values(A, 0)
    D = result.decompress(*result.compress(M))
    np.testing.assert_array_equal(D.data, M.data)


@pytest.mark.parametrize("problem", PROBLEMS)
def test_best_orders_improve_and_no_postprocessing(problem):
    A = arrowhead(200) + sp.random(200, 200, 0.01, random_state=0, format="csr")
    best = coloring.color(A, problem, coloring.BEST_ORDERS, seed=0, improve=30)
    assert set(best.orders_tried) == set(coloring.BEST_ORDERS)
    assert best.nproducts <= min(best.orders_tried.values())
    coloring.check(A, best)
    raw = coloring.color(A, problem, "largest_first", postprocess=False)
    post = coloring.color(A, problem, "largest_first")
    assert raw.nproducts >= post.nproducts
    coloring.check(A, raw)  # neutral colors kept: still a valid (larger) bicoloring


def test_diagonal_needs_one_product_and_empty_pattern_none():
    result = coloring.color(sp.eye_array(5, format="csr"), "bicolor")
    assert result.nproducts == 1
    empty = coloring.color(sp.csr_array((3, 4)), "bicolor_substitution")
    assert empty.nproducts == 0
    D = empty.decompress(np.zeros((3, 0)), np.zeros((0, 4)))
    assert D.shape == (3, 4) and D.nnz == 0


def test_decompression_index_matches_decompress():
    A = arrowhead(50)
    result = coloring.color(A, "bicolor")
    M = integer_values(A, 3)
    B_col, B_row = result.compress(M)
    (_, pc, ic, _), (_, pr, ir, _) = result.decompression_index().sides
    data = np.empty(M.nnz)
    data[pc] = B_col.T.ravel()[ic]  # batch-first JVP products (k1, m)
    data[pr] = B_row.ravel()[ir]    # batch-first VJP products (k2, n)
    np.testing.assert_array_equal(data, M.data)
    assert coloring.color(A, "bicolor_substitution").decompression_index().sides is None


def test_errors_name_the_problem():
    A = arrowhead(6)
    result = coloring.color(A, "bicolor")
    with pytest.raises(ColoringError, match="B_col must have shape"):
        result.decompress(np.zeros((6, 9)), np.zeros((result.nrow_colors, 6)))
    with pytest.raises(ColoringError, match="B_row must have shape"):
        result.decompress(np.zeros((6, result.ncolumn_colors)), np.zeros((9, 6)))
    with pytest.raises(ColoringError, match="out must be"):
        result.decompress(*result.compress(A), out=sp.csr_array(np.ones((6, 6))))
    with pytest.raises(ColoringError, match="postprocess applies"):
        coloring.color(A, "column", postprocess=True)
    bad = coloring.color(sp.csr_array(np.ones((2, 2))), "bicolor")
    bad.column_colors[:] = 1
    bad.row_colors[:] = 1
    bad.ncolumn_colors = bad.nrow_colors = 1
    with pytest.raises(ColoringError, match=r"entry \(0, 0\) cannot be recovered directly"):
        coloring.check(np.ones((2, 2)), bad)


@pytest.mark.parametrize("problem", PROBLEMS)
def test_cli_problem_bicolor(tmp_path, capsys, problem):
    import scipy.io

    from coloring._cli import main

    path = tmp_path / "arrow.mtx"
    scipy.io.mmwrite(str(path), arrowhead(40))
    out_file = tmp_path / "colors.txt"
    assert main([str(path), "--problem", problem, "--output", str(out_file)]) == 0
    lines = dict(line.split(": ", 1) for line in capsys.readouterr().out.splitlines())
    assert int(lines["colors"]) <= 3
    assert int(lines["column colors (JVPs)"]) + int(lines["row colors (VJPs)"]) == int(
        lines["colors"])
    assert np.loadtxt(out_file).shape == (80,)  # 40 row colors, then 40 column colors


@pytest.mark.parametrize("problem", ["bicolor", "bicolor_substitution"])
def test_decompressed_matrix_drops_its_zeros_without_touching_the_next(problem):
    A = arrowhead(9).astype(float)
    A.data[:] = np.arange(1, A.nnz + 1)
    A.data[3] = 0.0  # a stored zero
    result = coloring.color(A, problem)
    V, W = result.seed_matrices()
    M = result.decompress(A @ V.T, W @ A)
    M.eliminate_zeros()  # the shared index arrays are read-only: copied first
    np.testing.assert_array_equal(M.toarray(), A.toarray())
    assert M.nnz == A.nnz - 1
    again = result.decompress(A @ V.T, W @ A)
    assert again.nnz == A.nnz
    assert result.decompress(A @ V.T, W @ A, out=again) is again
    np.testing.assert_array_equal(again.toarray(), A.toarray())
