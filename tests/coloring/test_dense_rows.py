"""Column and row colorings of patterns with dense rows: many colors, a complete (or nearly
complete) distance-2 graph. Validity by brute force; the improvement's work by its count
of adjacency entries, against a count written here."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import coloring
from coloring import _api, _greedy, _orderings, _small
from coloring._api import _bipartite_graph
from coloring._pattern import as_pattern


def arrowhead(n: int) -> sp.csr_array:
    """Dense first row, dense last column and the diagonal (not symmetric)."""
    i = np.arange(n)
    rows = np.concatenate([i, np.zeros(n, np.int64), i])
    cols = np.concatenate([i, i, np.full(n, n - 1)])
    return as_pattern(sp.csr_array((np.ones(rows.size), (rows, cols)), shape=(n, n)))


def random_rows(m: int, n: int, per_row: int, seed: int = 0) -> sp.csr_array:
    """``m`` rows of ``per_row`` random columns each: a nearly complete column graph."""
    rng = np.random.default_rng(seed)
    rows = np.repeat(np.arange(m), per_row)
    cols = np.concatenate([rng.choice(n, per_row, replace=False) for _ in range(m)])
    return as_pattern(sp.csr_array((np.ones(rows.size), (rows, cols)), shape=(m, n)))


def brute_force_valid(A: sp.csr_array, colors: np.ndarray, problem: str) -> bool:
    """No two columns (rows) of one color share a row (column): pair by pair."""
    D = A.toarray() != 0
    if problem == "row":
        D = D.T
    for j in range(D.shape[1]):
        for k in range(j + 1, D.shape[1]):
            if colors[j] == colors[k] and np.any(D[:, j] & D[:, k]):
                return False
    return True


def brute_force_pass_work(A: sp.csr_array, ncolors: int) -> int:
    """Adjacency entries one greedy column pass visits, as :func:`pass_work` documents:
    per column, each of its rows (bit masks, at most 256 colors: twice) or the columns
    of each of its rows (the general kernel); plus one per column."""
    D = A.toarray() != 0
    n = D.shape[1]
    if ncolors <= 256:
        return n + 2 * int(D.sum())
    row_len = D.sum(axis=1)
    return n + sum(int(row_len[D[:, j]].sum()) for j in range(n))


@pytest.mark.parametrize("path", ["twins", "kernels"])
@pytest.mark.parametrize("problem", ["column", "row"])
def test_arrowhead_colorings_are_valid_and_need_n_colors(monkeypatch, path, problem):
    n = 300  # above 256 colors: the general greedy kernel
    A = arrowhead(n)
    if path == "kernels":
        monkeypatch.setattr(_small, "COMPILE_MIN_SIZE", 0)
        monkeypatch.setattr(_small, "GREEDY_COMPILE_MIN_SIZE", 0)
    else:
        monkeypatch.setattr(_small, "is_compiled", lambda kernel: False)
    result = coloring.color(A, problem, coloring.BEST_ORDERS, improve=True, seed=0,
                            effort=1.0)
    assert result.ncolors == n == result.lower_bound  # the dense row (column)
    assert brute_force_valid(A, np.asarray(result.colors), problem)


def test_dense_row_degrees_take_the_kernel_not_the_product(monkeypatch):
    """A few thousand nonzeros whose distance-2 graph is complete: the numpy twin would
    build all n**2 pairs, so the marker kernel counts the degrees."""
    n = 2100  # 6297 stored entries, 4.4e6 distance-2 entries
    g = _bipartite_graph(arrowhead(n), "column")
    assert g.i2.size < _small.COMPILE_MIN_SIZE
    assert _orderings.distance2_work(g) >= _small.DISTANCE2_TWIN_MAX_WORK

    def no_twin(*args):
        raise AssertionError("the distance-2 product was built")

    monkeypatch.setattr(_small, "is_compiled", lambda kernel: False)
    monkeypatch.setattr(_orderings, "distance2_degrees", no_twin)
    np.testing.assert_array_equal(_orderings.degrees(g), np.full(n, n - 1))
    small = _bipartite_graph(arrowhead(40), "column")  # few pairs: the twin
    with pytest.raises(AssertionError, match="product"):
        _orderings.degrees(small)


def test_many_color_passes_count_the_distance2_scan():
    """Above 256 colors a pass scans every distance-2 entry: a budget of 3.5 such passes
    runs exactly 3 of them (not the ~15 that counting two entries per nonzero allows)."""
    A = random_rows(1000, 300, 30)
    g = _bipartite_graph(A, "column")
    start = coloring.greedy_color(g, np.arange(g.n))
    k = int(start.max()) + 1
    assert k > 256
    cost = brute_force_pass_work(A, k)
    assert _greedy.pass_work(g, k) == cost
    limited, work = _greedy.iterated_greedy_work(g, start, iterations=50, patience=None,
                                                 seed=2, work_limit=3.5 * cost)
    assert work == 3 * cost
    plain = coloring.iterated_greedy(g, start, iterations=3, patience=None, seed=2)
    np.testing.assert_array_equal(limited, plain)
    assert brute_force_valid(A, limited, "column")


@pytest.mark.parametrize("effort", [1.0, 3.0])
def test_color_keeps_the_improvement_within_its_effort_budget(monkeypatch, effort):
    """The improvement visits at most ``effort`` times what the orders visited (degrees
    and greedy pass, counted here by brute force), with the floor removed."""
    A = random_rows(1000, 300, 30)
    spent = []

    def spy(graph, colors, *, iterations, time_limit, lower_bound, seed, work_limit=None):
        best, work = _greedy.iterated_greedy_work(
            graph, colors, iterations=iterations, time_limit=time_limit,
            lower_bound=lower_bound, seed=seed, work_limit=work_limit)
        spent.append((work, work_limit))
        return best

    monkeypatch.setattr(_api, "IMPROVE_MIN_WORK", 0)
    monkeypatch.setitem(_api.IMPROVEMENTS, "iterated_greedy", spy)
    result = coloring.color(A, "column", "largest_first", improve=True, seed=0,
                            effort=effort)
    first = coloring.color(A, "column", "largest_first")
    D = A.toarray() != 0
    degree_scan = sum(int(D.sum(axis=1)[D[:, j]].sum()) for j in range(D.shape[1]))
    budget = effort * (degree_scan + brute_force_pass_work(A, first.ncolors))
    (work, work_limit), = spent
    assert work_limit == budget
    assert 0 < work <= budget
    assert result.ncolors <= first.ncolors
    assert brute_force_valid(A, np.asarray(result.colors), "column")


def test_arrowhead_improvement_does_no_work_at_the_lower_bound(monkeypatch):
    """Every pair of columns conflicts: the orders reach the lower bound and the
    improvement is not started, whatever its budget."""
    calls = []
    monkeypatch.setitem(_api.IMPROVEMENTS, "iterated_greedy",
                        lambda *args, **kwargs: calls.append(1))
    result = coloring.color(arrowhead(300), "column", coloring.BEST_ORDERS, improve=100,
                            effort=10.0)
    assert result.ncolors == 300 and not calls
    g = _bipartite_graph(arrowhead(300), "column")
    best, work = _greedy.iterated_greedy_work(g, np.asarray(result.colors), iterations=100,
                                              lower_bound=300)
    assert work == 0 and int(best.max()) + 1 == 300


@pytest.mark.parametrize("width", [40, 64, 65, 256, 257, 300])
def test_kernel_choice_from_color_bounds_keeps_the_coloring(monkeypatch, width):
    """Bounds on the colors only pick the kernel: the general kernel's coloring, with the
    lower bound given (order passes) or the colors of the class order's coloring given
    (improvement passes)."""
    monkeypatch.setattr(_small, "GREEDY_COMPILE_MIN_SIZE", 0)
    A = random_rows(120, width + 10, 8, seed=width).tolil()
    A[0, :width] = 1  # a row of ``width`` columns: at least that many colors
    A = as_pattern(A.tocsr())
    g = _bipartite_graph(A, "column")
    order = np.random.default_rng(width).permutation(g.n).astype(np.int64)
    general = _greedy._greedy(order, g.p1, g.i1, g.p2, g.i2, g.n)
    k = int(general.max()) + 1
    assert k >= width
    np.testing.assert_array_equal(coloring.greedy_color(g, order, min_colors=width), general)
    rank = np.arange(k)[::-1].copy()
    by_class = _greedy._class_order(general, k, rank, False)
    np.testing.assert_array_equal(_greedy._greedy_graph(g, by_class, max_colors=k),
                                  _greedy._greedy(by_class, g.p1, g.i1, g.p2, g.i2, g.n))
