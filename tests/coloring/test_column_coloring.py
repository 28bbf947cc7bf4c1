"""Column and row coloring: validity against a brute-force check written here."""
import itertools
import time

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import coloring
from benchmarks.problems import arrowhead_hessian_sparsity, brusselator_sparsity

ORDERS = ("natural", "random", "largest_first", "smallest_last", "incidence_degree",
          "dynamic_largest_first")


def brute_force_column_valid(A, colors):
    """True when no two distinct columns of one color share a row (dense double loop)."""
    D = (sp.csr_array(A).toarray() != 0) if sp.issparse(A) else np.asarray(A) != 0
    if sp.issparse(A):  # stored explicit zeros are structural
        D = np.zeros(A.shape, bool)
        coo = sp.coo_array(A)
        D[coo.row, coo.col] = True
    n = D.shape[1]
    for j1 in range(n):
        for j2 in range(j1 + 1, n):
            if colors[j1] == colors[j2] and np.any(D[:, j1] & D[:, j2]):
                return False
    return True


def structured_patterns():
    """Named structured families, small enough for the brute-force check."""
    n = 30
    out = {}
    out["banded"] = sp.diags_array([np.ones(n - abs(k)) for k in range(-3, 4)],
                                   offsets=list(range(-3, 4)), shape=(n, n)).tocsr()
    out["arrowhead"] = sp.csr_array(arrowhead_hessian_sparsity(n))
    g = 5
    lap1 = sp.diags_array([np.ones(g - 1), np.ones(g), np.ones(g - 1)], offsets=[-1, 0, 1])
    out["grid"] = sp.csr_array(sp.kronsum(lap1, lap1))
    out["brusselator"] = brusselator_sparsity(4)
    out["block_diagonal"] = sp.csr_array(sp.block_diag([np.ones((3, 4))] * 5))
    out["empty"] = sp.csr_array((7, 5))
    dense_row = np.eye(12)
    dense_row[4, :] = 1
    out["dense_row"] = sp.csr_array(dense_row)
    dense_col = np.eye(12)
    dense_col[:, 7] = 1
    out["dense_col"] = sp.csr_array(dense_col)
    out["diagonal"] = sp.eye_array(9, format="csr")
    out["nonsquare_wide"] = sp.random_array((5, 40), density=0.2, rng=1, format="csr")
    out["nonsquare_tall"] = sp.random_array((40, 5), density=0.2, rng=2, format="csr")
    return out


STRUCTURED = structured_patterns()


@pytest.mark.parametrize("name", sorted(STRUCTURED))
@pytest.mark.parametrize("order", ORDERS)
def test_structured_column_colorings_are_valid(name, order):
    A = STRUCTURED[name]
    r = coloring.color(A, "column", order, seed=0)
    assert r.colors.shape == (A.shape[1],)
    assert brute_force_column_valid(A, r.colors)
    if r.colors.size:
        assert set(np.unique(r.colors)) == set(range(r.ncolors))
    # lower bound: a row's columns all need distinct colors
    assert r.ncolors >= (np.diff(sp.csr_array(A).indptr).max() if A.shape[0] else 0)


@pytest.mark.parametrize("name", sorted(STRUCTURED))
def test_structured_row_colorings_are_valid(name):
    A = STRUCTURED[name]
    r = coloring.color(A, "row", ("largest_first", "smallest_last"))
    assert r.colors.shape == (A.shape[0],)
    assert brute_force_column_valid(sp.csr_array(A).T, r.colors)


def test_known_counts():
    assert coloring.color(STRUCTURED["diagonal"]).ncolors == 1
    assert coloring.color(STRUCTURED["empty"]).ncolors == 1  # empty columns share color 0
    assert coloring.color(STRUCTURED["dense_row"]).ncolors == 12
    assert coloring.color(STRUCTURED["dense_col"]).ncolors == 2
    assert coloring.color(sp.csr_array((0, 0))).ncolors == 0
    assert coloring.color(STRUCTURED["block_diagonal"]).ncolors == 4


@st.composite
def random_patterns(draw):
    m = draw(st.integers(0, 25))
    n = draw(st.integers(0, 25))
    density = draw(st.sampled_from([0.0, 0.05, 0.2, 0.5, 1.0]))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    D = rng.random((m, n)) < density
    if m and n and draw(st.booleans()):  # a dense row or column
        if draw(st.booleans()):
            D[rng.integers(m), :] = True
        else:
            D[:, rng.integers(n)] = True
    return D


@settings(max_examples=40)
@given(random_patterns(), st.sampled_from(ORDERS), st.booleans())
def test_random_patterns_column(D, order, improve):
    r = coloring.color(D, "column", order, seed=1, improve=5 if improve else 0)
    assert brute_force_column_valid(D, r.colors)
    rr = coloring.color(D, "row", order, seed=1)
    assert brute_force_column_valid(D.T, rr.colors)


@settings(max_examples=25)
@given(random_patterns())
def test_tuple_of_orders_never_worse_than_each(D):
    single = {o: coloring.color(D, "column", o, seed=3).ncolors for o in ORDERS}
    r = coloring.color(D, "column", ORDERS, seed=3)
    assert r.ncolors == min(single.values())
    assert brute_force_column_valid(D, r.colors)


@settings(max_examples=25)
@given(random_patterns(), st.integers(0, 20))
def test_improvement_never_worse(D, iterations):
    base = coloring.color(D, "column", "natural")
    better = coloring.color(D, "column", "natural", improve=iterations, seed=iterations)
    assert better.ncolors <= base.ncolors
    assert brute_force_column_valid(D, better.colors)


def test_iterated_greedy_directly_never_worse():
    A = brusselator_sparsity(8)
    P = sp.csr_array(A)
    T = sp.csc_array(A)
    g = coloring.NeighborhoodGraph.bipartite(T.indptr.astype(np.int64), T.indices.astype(np.int64),
                                             P.indptr.astype(np.int64), P.indices.astype(np.int64))
    colors = np.arange(A.shape[1])  # the trivial coloring is valid
    improved = coloring.iterated_greedy(g, colors, iterations=10, seed=0)
    assert improved.max() + 1 <= A.shape[1]
    assert brute_force_column_valid(A, improved)
    assert np.array_equal(coloring.iterated_greedy(g, colors, iterations=0), colors)


def test_explicit_zeros_are_structural():
    # columns 0 and 1 share row 0 only through an explicitly stored zero
    A = sp.csr_array((np.array([1.0, 0.0, 1.0]), np.array([0, 1, 1]), np.array([0, 2, 3])),
                     shape=(2, 2))
    r = coloring.color(A)
    assert r.ncolors == 2
    assert r.pattern.nnz == 3
    dense = coloring.color(A.toarray())  # a dense array contributes only its nonzeros
    assert dense.ncolors == 1


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo", "lil", "dok", "bsr", "dia"])
def test_any_scipy_format(fmt):
    A = brusselator_sparsity(4).astype(float)
    ref = coloring.color(A, order="smallest_last")
    r = coloring.color(A.asformat(fmt), order="smallest_last")
    assert np.array_equal(r.colors, ref.colors)
    r2 = coloring.color(sp.csr_matrix(A), order="smallest_last")  # spmatrix too
    assert np.array_equal(r2.colors, ref.colors)


def test_duplicates_in_coo_input():
    A = sp.coo_array((np.ones(4), (np.array([0, 0, 1, 1]), np.array([0, 0, 1, 0]))),
                     shape=(2, 2))
    r = coloring.color(A)
    assert r.pattern.nnz == 3
    assert brute_force_column_valid(A, r.colors)


def test_networkx_graph_input():
    nx = pytest.importorskip("networkx")
    G = nx.path_graph(6)
    r = coloring.color(G)
    # path with diagonal: columns at distance <= 2 conflict
    assert r.ncolors == 3
    assert r.pattern.shape == (6, 6)
    assert r.pattern.nnz == 6 + 2 * 5


@pytest.mark.parametrize("N", [5, 8, 13, 16, 24])
def test_brusselator_reaches_ten_colors(N):
    A = brusselator_sparsity(N)
    # an explicit time limit that never binds: the default one (as long as the orderings
    # took) depends on the machine's load and would make the count depend on timing
    r = coloring.color(A, order=coloring.BEST_ORDERS, improve=True, time_limit=600.0)
    assert brute_force_column_valid(A, r.colors) if N == 8 else True
    coloring.check(A, r)
    assert r.ncolors <= 10


def test_lower_bounds_per_problem():
    D = np.zeros((4, 6), bool)
    D[0, :5] = True  # a row with 5 nonzeros
    D[:, 5] = True  # a column with 4 nonzeros
    assert coloring.color(D, "column").lower_bound == 6
    assert coloring.color(D, "row").lower_bound == 4
    assert coloring.color(D, "row").ncolors >= 4


def python_greedy(D, order):
    """Reference greedy partial distance-2 coloring: smallest color unused in v's rows."""
    m, n = D.shape
    colors = -np.ones(n, dtype=int)
    for v in order:
        used = set()
        for r in np.flatnonzero(D[:, v]):
            used |= {int(colors[u]) for u in np.flatnonzero(D[r]) if colors[u] >= 0}
        c = 0
        while c in used:
            c += 1
        colors[v] = c
    return colors


def graph_of(D):
    P = sp.csr_array(D.astype(bool))
    T = sp.csc_array(D.astype(bool))
    return coloring.NeighborhoodGraph.bipartite(
        T.indptr.astype(np.int64), T.indices.astype(np.int64),
        P.indptr.astype(np.int64), P.indices.astype(np.int64))


@settings(max_examples=30)
@given(random_patterns(), st.integers(0, 1000))
def test_greedy_kernel_matches_python_reference(D, seed):
    order = np.random.default_rng(seed).permutation(D.shape[1])
    assert np.array_equal(coloring.greedy_color(graph_of(D), order), python_greedy(D, order))


@pytest.mark.parametrize("width", [63, 64, 65, 200, 256, 257, 300])
def test_greedy_many_colors_word_boundaries(width):
    """A dense row of ``width`` columns needs ``width`` colors (bit-mask words, fallback)."""
    rng = np.random.default_rng(width)
    D = rng.random((30, width + 5)) < 0.05
    D[3, :width] = True
    order = rng.permutation(D.shape[1])
    colors = coloring.greedy_color(graph_of(D), order)
    assert np.array_equal(colors, python_greedy(D, order))
    assert colors.max() + 1 >= width


def _brusselator_graph(N):
    from coloring._api import _bipartite_graph

    P = coloring._pattern.as_pattern(brusselator_sparsity(N))
    return _bipartite_graph(P, "column")


def test_work_limit_counts_whole_passes():
    """A budget of k passes' work runs exactly the first k passes of the unlimited search."""
    g = _brusselator_graph(16)
    start = coloring.greedy_color(g, np.arange(g.n))
    cost = coloring._greedy.pass_work(g, int(start.max()) + 1)
    for k in (0, 1, 3):
        limited = coloring.iterated_greedy(g, start, iterations=50, patience=None, seed=2,
                                           work_limit=k * cost + cost // 2)
        plain = coloring.iterated_greedy(g, start, iterations=k, patience=None, seed=2)
        np.testing.assert_array_equal(limited, plain)
        assert brute_force_column_valid(brusselator_sparsity(16), limited)


def test_work_measures_match_their_definition():
    g = _brusselator_graph(6)
    brute = sum(int(g.p2[r + 1] - g.p2[r]) for v in range(g.n) for r in g.i1[g.p1[v]:g.p1[v + 1]])
    assert coloring._greedy.distance2_work(g) == brute
    assert coloring._greedy.pass_work(g, 256) == g.n + 2 * g.i1.size  # bit masks
    assert coloring._greedy.pass_work(g, 257) == g.n + brute  # the general kernel


def test_effort_budget_is_deterministic_and_leaves_small_patterns_alone():
    """effort= replaces the time limit: the same colors under any time limit, and on a
    small pattern (below IMPROVE_MIN_WORK) the same as the unbudgeted improvement."""
    A = brusselator_sparsity(24)
    runs = [coloring.color(A, improve=20, seed=1, effort=e, time_limit=t).colors
            for e, t in ((1.0, None), (1.0, 1e9), (0.0, None))]
    for colors in runs[1:]:
        np.testing.assert_array_equal(colors, runs[0])
    unbudgeted = coloring.color(A, improve=20, seed=1, time_limit=1e9)
    np.testing.assert_array_equal(runs[0], unbudgeted.colors)
    with pytest.raises(coloring.ColoringError, match="effort"):
        coloring.color(A, improve=5, effort=-1.0)


def test_check_names_a_conflict_found_in_one_pass():
    A = sp.csr_array(np.array([[1, 0, 1, 0], [0, 1, 0, 1], [1, 1, 0, 0]]))
    good = coloring.color(A, "column")
    coloring.check(A, good)
    bad = coloring.ColoringResult(good.pattern, np.array([0, 0, 1, 1]), "column")
    with pytest.raises(coloring.ColoringError, match="columns 0 and 1 both have color 0 "
                                                     "and share row 2"):
        coloring.check(A, bad)
    bad_rows = coloring.ColoringResult(good.pattern, np.array([0, 1, 0]), "row")
    with pytest.raises(coloring.ColoringError, match="rows 0 and 2 both have color 0 and "
                                                     "share column 0"):
        coloring.check(A, bad_rows)


@pytest.mark.parametrize("problem", ["column", "row"])
def test_default_improvement_ignores_the_clock(monkeypatch, problem):
    """Without effort= or time_limit= the improvement's budget is counted work, so hours
    passing between clock reads change nothing; on this pattern the improvement wins,
    so a time budget would have stopped it with more colors."""
    rng = np.random.default_rng(2)
    A = sp.random_array((400, 400), density=0.03, rng=rng, format="csr") != 0
    calm = coloring.color(A, problem, coloring.BEST_ORDERS, improve=True, seed=1)
    assert calm.ncolors < min(calm.orders_tried.values())  # the improvement won
    # the orders seem to take no time, then hours pass between readings: a budget in
    # seconds would stop the improvement at once
    ticks = itertools.chain([0.0, 0.0], (3600.0 * k for k in itertools.count(1)))
    monkeypatch.setattr(time, "perf_counter", lambda: next(ticks))
    rushed = coloring.color(A, problem, coloring.BEST_ORDERS, improve=True, seed=1)
    np.testing.assert_array_equal(rushed.colors, calm.colors)
    capped = coloring.color(A, problem, coloring.BEST_ORDERS, improve=True, seed=1,
                            time_limit=1.0)  # only a given time limit stops it
    assert capped.ncolors == min(capped.orders_tried.values())
