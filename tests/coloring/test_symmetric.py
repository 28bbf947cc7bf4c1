"""Star and acyclic coloring of symmetric patterns: validity and exact round trips.

Every coloring is checked by brute force written here (not by ``check_symmetric``):
star: no path a-b-c-d alternates two colors; acyclic: every two-colored subgraph is a
forest (pure-Python union-find). Decompression is compared with the matrix itself, for
``B = A @ S`` in C order and for the F-ordered transpose of the batch-first product.
"""
import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import coloring
from benchmarks.coloring import random_symmetric as random_symmetric_pattern
from benchmarks.problems import (
    arrowhead_hessian_sparsity,
    brusselator_sparsity,
    rosenbrock_hessian_sparsity,
)
from coloring._errors import ColoringError
from coloring.symmetric._coloring import check_symmetric, color_symmetric

PROBLEMS = ["star", "acyclic"]


# ------------------------------------------------------------------ patterns and orders


def pattern(A) -> sp.csr_array:
    """Sorted CSR pattern with explicit zeros kept as structural entries."""
    P = sp.csr_array(A, dtype=float)
    P.sum_duplicates()
    P.sort_indices()
    return P


def from_edges(n, edges, diag=()):
    rows = [i for i, j in edges] + [j for i, j in edges] + list(diag)
    cols = [j for i, j in edges] + [i for i, j in edges] + list(diag)
    A = sp.csr_array((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    return pattern(A)


def grid_2d(m, diag=True):
    T = sp.diags_array([np.ones(m - 1), np.ones(m) * diag, np.ones(m - 1)], offsets=[-1, 0, 1])
    I = sp.eye_array(m)
    return pattern(sp.kron(T, I) + sp.kron(I, T))


def banded(n, bw):
    return pattern(sp.diags_array([np.ones(n - abs(k)) for k in range(-bw, bw + 1)],
                                  offsets=list(range(-bw, bw + 1)), shape=(n, n)))


def block_diagonal(nblocks, size):
    return pattern(sp.block_diag([np.ones((size, size))] * nblocks))


def dense_row_and_column(n, k):
    """Tridiagonal without diagonal plus a dense row and column ``k``."""
    A = banded(n, 1).tolil()
    A.setdiag(0)
    A[k, :] = 1
    A[:, k] = 1
    A = sp.csr_array(A)
    A.eliminate_zeros()
    return pattern(A)


def brusselator_hessian_pattern(N):
    """Pattern of the Hessian of ``sum(f(y)**2)``: ``J.T J`` plus the diagonal part of
    ``sum f_i H_i`` (the Brusselator's nonlinearity ``u^2 v`` couples u and v per point)."""
    J = sp.csr_array(brusselator_sparsity(N), dtype=float)
    return pattern((J.T @ J) + sp.eye_array(J.shape[0]) + J + J.T)


FAMILIES = {
    "empty": pattern(sp.csr_array((5, 5))),
    "zero_size": pattern(sp.csr_array((0, 0))),
    "diagonal_only": pattern(sp.eye_array(6)),
    "single_vertex": pattern(sp.csr_array(np.ones((1, 1)))),
    "tridiagonal": pattern(rosenbrock_hessian_sparsity(12)),
    "banded_3": banded(15, 3),
    "arrowhead": pattern(arrowhead_hessian_sparsity(12)),
    "dense_row_col_middle": dense_row_and_column(11, 5),
    "grid_2d": grid_2d(5),
    "grid_2d_no_diag": grid_2d(5, diag=False),
    "block_diagonal": block_diagonal(3, 4),
    "complete": pattern(np.ones((6, 6))),
    "brusselator_jacobian_sym": pattern(brusselator_sparsity(3) + brusselator_sparsity(3).T),
    "brusselator_hessian": brusselator_hessian_pattern(3),
    "cycle_5": from_edges(5, [(i, (i + 1) % 5) for i in range(5)]),
    "path_with_isolated": from_edges(7, [(0, 1), (1, 2), (2, 3)], diag=[5]),
}


def orders(P, seed=0):
    n = P.shape[0]
    out = {"natural": np.arange(n), "reverse": np.arange(n)[::-1].copy(),
           "random": np.random.default_rng(seed).permutation(n)}
    try:
        from coloring._orderings import ORDERINGS
    except ImportError:  # the core orderings are another engineer's module
        return out
    for name, fn in ORDERINGS.items():
        out[name] = np.asarray(fn(P.indptr, P.indices, seed), dtype=np.int64)
    return out


# ---------------------------------------------------------------- brute-force references


def neighbors(P):
    return [set(P.indices[P.indptr[i]:P.indptr[i + 1]].tolist()) - {i}
            for i in range(P.shape[0])]


def brute_force_star_violation(P, colors):
    """A path a-b-c-d alternating two colors, or an adjacent equal-colored pair."""
    nb = neighbors(P)
    for a in range(P.shape[0]):
        for b in nb[a]:
            if colors[a] == colors[b]:
                return (a, b)
            for c in nb[b] - {a}:
                for d in nb[c] - {a, b}:
                    if colors[a] == colors[c] and colors[b] == colors[d]:
                        return (a, b, c, d)
    return None


def brute_force_acyclic_violation(P, colors):
    """An adjacent equal-colored pair, or an edge closing a two-colored cycle."""
    nb = neighbors(P)
    edges = [(i, j) for i in range(P.shape[0]) for j in nb[i] if i < j]
    for i, j in edges:
        if colors[i] == colors[j]:
            return (i, j)
    for a, b in itertools.combinations(sorted(set(colors.tolist())), 2):
        parent = list(range(P.shape[0]))

        def find(x, parent=parent):
            while parent[x] != x:
                x = parent[x]
            return x

        for i, j in edges:
            if {colors[i], colors[j]} == {a, b}:
                ri, rj = find(i), find(j)
                if ri == rj:
                    return (i, j)
                parent[ri] = rj
    return None


BRUTE_FORCE = {"star": brute_force_star_violation, "acyclic": brute_force_acyclic_violation}


def symmetric_values(P, seed, integers=False):
    """Random symmetric values on the pattern of ``P`` (explicit zeros stay stored)."""
    n = P.shape[0]
    rng = np.random.default_rng(seed)
    rows = np.repeat(np.arange(n), np.diff(P.indptr))
    key = np.minimum(rows, P.indices) * max(n, 1) + np.maximum(rows, P.indices)
    table = (rng.integers(-99, 100, n * n).astype(float) if integers
             else rng.standard_normal(n * n))
    return sp.csr_array((table[key], P.indices.copy(), P.indptr.copy()), shape=P.shape)


def both_layouts(A, colors, k):
    """``A @ S`` C-ordered, and the F-ordered transpose of the batch-first ``S.T @ A``."""
    S = np.zeros((A.shape[0], k))
    S[np.arange(A.shape[0]), colors] = 1.0
    B = np.ascontiguousarray(A @ S)
    batch_first = np.ascontiguousarray(S.T @ A.toarray())  # (k, n) as a backend returns
    return B, batch_first.T


def decompress(P, plan, B):
    """The values of ``P``'s entries from ``B``, through the public path that runs:
    ``ColoringResult.decompress`` over the plan."""
    result = coloring.ColoringResult(P.astype(bool), plan.colors, plan.problem, plan=plan)
    M = result.decompress(B)
    assert np.array_equal(M.indptr, P.indptr) and np.array_equal(M.indices, P.indices)
    return M.data


def assert_round_trip(P, plan, seed=0):
    """decompress(compress(A)) == A exactly (star: any values; acyclic: integers)."""
    integers = plan.problem == "acyclic"
    A = symmetric_values(P, seed, integers=integers)
    for B in both_layouts(A, plan.colors, plan.ncolors):
        np.testing.assert_array_equal(decompress(P, plan, B), A.data)


def assert_valid(P, plan, problem):
    assert plan.problem == problem
    assert plan.colors.dtype == np.int64 and plan.colors.shape == (P.shape[0],)
    if P.shape[0]:
        assert set(plan.colors.tolist()) == set(range(plan.ncolors))
    assert BRUTE_FORCE[problem](P, plan.colors) is None
    check_symmetric(P.indptr, P.indices, plan.colors, problem)


# ------------------------------------------------------------------------------- tests


@pytest.mark.parametrize("problem", PROBLEMS)
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_structured_families(family, problem):
    P = FAMILIES[family]
    for _name, order in orders(P).items():
        plan = color_symmetric(P.indptr, P.indices, problem, order)
        assert_valid(P, plan, problem)
        assert_round_trip(P, plan)


@st.composite
def symmetric_patterns(draw):
    n = draw(st.integers(1, 16))
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    edges = draw(st.lists(st.sampled_from(pairs), max_size=3 * n, unique=True)) if pairs else []
    diag = draw(st.lists(st.integers(0, n - 1), max_size=n, unique=True))
    return from_edges(n, edges, diag)


@pytest.mark.parametrize("problem", PROBLEMS)
@settings(max_examples=40)
@given(P=symmetric_patterns(), seed=st.integers(0, 2**16))
def test_random_patterns(problem, P, seed):
    order = np.random.default_rng(seed).permutation(P.shape[0])
    plan = color_symmetric(P.indptr, P.indices, problem, order)
    assert_valid(P, plan, problem)
    assert_round_trip(P, plan, seed)


def random_symmetric(n, per_row, seed):
    return pattern(random_symmetric_pattern(n, per_row, seed).astype(float))


IMPROVE_CASES = {**FAMILIES, "random_200": random_symmetric(200, 4, 0),
                 "random_300": random_symmetric(300, 5, 1)}


def assert_improve_not_worse(P, problem, seed):
    base = coloring.color(P, problem, coloring.BEST_ORDERS, seed=seed)
    better = coloring.color(P, problem, coloring.BEST_ORDERS, seed=seed, improve=30,
                            time_limit=5.0)
    assert better.ncolors <= base.ncolors
    assert_valid(P, better, problem)  # brute force and check_symmetric
    assert_round_trip(P, better._plan, seed)  # the plan of the improved coloring
    coloring.check(P, better)
    return base.ncolors, better.ncolors


@pytest.mark.parametrize("problem", PROBLEMS)
def test_api_improve_never_worse_and_valid(problem):
    counts = {name: assert_improve_not_worse(P, problem, 0)
              for name, P in IMPROVE_CASES.items()}
    # the random graphs leave room, so the improvement pass really runs (and usually wins)
    assert sum(b for _, b in counts.values()) <= sum(a for a, _ in counts.values())


@pytest.mark.parametrize("problem", PROBLEMS)
@settings(max_examples=25)
@given(P=symmetric_patterns(), seed=st.integers(0, 2**16))
def test_api_improve_random_patterns(problem, P, seed):
    assert_improve_not_worse(P, problem, seed)


def test_acyclic_never_more_colors_than_star_needs_on_grids():
    # sanity on the families: acyclic (substitution) needs fewer colors
    P = grid_2d(12)
    order = np.arange(P.shape[0])
    star = color_symmetric(P.indptr, P.indices, "star", order)
    acyc = color_symmetric(P.indptr, P.indices, "acyclic", order)
    assert acyc.ncolors <= star.ncolors
    assert star.ncolors == 5 and acyc.ncolors == 4


def test_explicit_zeros_are_structural():
    P = pattern(rosenbrock_hessian_sparsity(6))
    P.data[:] = 0.0  # all stored entries are explicit zeros: still the full pattern
    for problem in PROBLEMS:
        plan = color_symmetric(P.indptr, P.indices, problem, np.arange(6))
        assert plan.ncolors == (3 if problem == "star" else 2)
        assert_round_trip(P, plan)


def test_int32_indices_and_any_layout_of_b():
    P = grid_2d(4)
    indptr, indices = P.indptr.astype(np.int32), P.indices.astype(np.int32)
    for problem in PROBLEMS:
        plan = color_symmetric(indptr, indices, problem, np.arange(16, dtype=np.int32))
        A = symmetric_values(P, 1, integers=True)
        B, _ = both_layouts(A, plan.colors, plan.ncolors)
        strided = np.zeros((16, 2 * plan.ncolors))
        strided[:, ::2] = B  # neither C- nor F-contiguous
        np.testing.assert_array_equal(decompress(P, plan, strided[:, ::2]), A.data)
        if problem == "acyclic":  # the substitution itself: output dtype differs from B's
            out32 = np.empty(P.nnz, np.float32)
            plan.decompress_into(B, out32)
            np.testing.assert_array_equal(out32, A.data.astype(np.float32))


def test_float_values_acyclic_close():
    P = brusselator_hessian_pattern(4)
    plan = color_symmetric(P.indptr, P.indices, "acyclic", np.arange(P.shape[0]))
    A = symmetric_values(P, 3)
    for B in both_layouts(A, plan.colors, plan.ncolors):
        out = np.empty(P.nnz)
        plan.decompress_into(B, out)
        np.testing.assert_allclose(out, A.data, rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------------- error paths


def test_check_rejects_broken_colorings():
    path = from_edges(4, [(0, 1), (1, 2), (2, 3)])
    alternating = np.array([0, 1, 0, 1])
    check_symmetric(path.indptr, path.indices, alternating, "acyclic")  # a tree: fine
    with pytest.raises(ColoringError, match=r"columns 1 and 2 .*path 0-1-2-3"):
        check_symmetric(path.indptr, path.indices, alternating, "star")
    cycle = from_edges(4, [(0, 1), (1, 2), (2, 3), (3, 0)])
    with pytest.raises(ColoringError, match=r"columns \d and \d .*cycle"):
        check_symmetric(cycle.indptr, cycle.indices, alternating, "acyclic")
    for problem in PROBLEMS:
        with pytest.raises(ColoringError, match=r"columns 0 and 1 .*share color 0"):
            check_symmetric(path.indptr, path.indices, np.array([0, 0, 1, 2]), problem)
        with pytest.raises(ColoringError, match="shape"):
            check_symmetric(path.indptr, path.indices, np.array([0, 1]), problem)
        with pytest.raises(ColoringError, match="non-negative"):
            check_symmetric(path.indptr, path.indices, np.array([0, 1, -1, 2]), problem)
    with pytest.raises(ColoringError, match="unknown symmetric problem"):
        check_symmetric(path.indptr, path.indices, alternating, "column")


def test_check_agrees_with_brute_force_on_random_colorings():
    rng = np.random.default_rng(5)
    for trial in range(60):
        n = int(rng.integers(2, 10))
        M = sp.random(n, n, density=0.4, random_state=int(rng.integers(1 << 30)))
        P = pattern((M + M.T) != 0)
        colors = rng.integers(0, 4, n)
        for problem in PROBLEMS:
            expected_bad = BRUTE_FORCE[problem](P, colors) is not None
            try:
                check_symmetric(P.indptr, P.indices, colors, problem)
                bad = False
            except ColoringError:
                bad = True
            assert bad == expected_bad, (trial, problem, colors)


def test_input_errors():
    P = grid_2d(3)
    with pytest.raises(ColoringError, match="unknown symmetric problem 'column'"):
        color_symmetric(P.indptr, P.indices, "column", np.arange(9))
    with pytest.raises(ColoringError, match="permutation"):
        color_symmetric(P.indptr, P.indices, "star", np.zeros(9, np.int64))
    with pytest.raises(ColoringError, match=r"shape \(9,\)"):
        color_symmetric(P.indptr, P.indices, "star", np.arange(8))
    upper = pattern(sp.triu(P))
    with pytest.raises(ColoringError, match="not structurally symmetric"):
        color_symmetric(upper.indptr, upper.indices, "acyclic", np.arange(9))
    unsorted = P.indices.copy()
    unsorted[P.indptr[4]:P.indptr[5]] = unsorted[P.indptr[4]:P.indptr[5]][::-1]
    with pytest.raises(ColoringError, match="unsorted"):
        color_symmetric(P.indptr, unsorted, "star", np.arange(9))
    with pytest.raises(ColoringError, match="indices"):
        color_symmetric(P.indptr, P.indices[:-1], "star", np.arange(9))
    # the substitution's own checks (a star plan decompresses through ColoringResult)
    plan = color_symmetric(P.indptr, P.indices, "acyclic", np.arange(9))
    with pytest.raises(ColoringError, match=r"shape \(n, ncolors\)"):
        plan.decompress_into(np.zeros((9, plan.ncolors + 1)), np.empty(P.nnz))
    with pytest.raises(ColoringError, match="out_data"):
        plan.decompress_into(np.zeros((9, plan.ncolors)), np.empty(P.nnz + 1))


def test_unmirrored_entry_named_is_really_unmirrored():
    # (2, 0) has no mirror while (1, 2)/(2, 1) are mirrored: the error must name (2, 0)
    P = pattern(sp.csr_array((np.ones(3), ([1, 2, 2], [2, 0, 1])), (3, 3)))
    with pytest.raises(ColoringError, match=r"entry \(2, 0\) is stored and \(0, 2\)"):
        coloring.color(P, "star")


@settings(max_examples=40)
@given(n=st.integers(2, 12), data=st.data())
def test_unmirrored_entry_agrees_with_brute_force(n, data):
    cells = [(i, j) for i in range(n) for j in range(n)]
    entries = data.draw(st.lists(st.sampled_from(cells), min_size=1, max_size=3 * n,
                                 unique=True))
    rows, cols = zip(*entries)
    P = pattern(sp.csr_array((np.ones(len(rows)), (rows, cols)), (n, n)))
    stored = set(zip(*P.nonzero()))
    unmirrored = {(i, j) for i, j in stored if (j, i) not in stored}
    if not unmirrored:
        coloring.color(P, "acyclic")
        return
    with pytest.raises(ColoringError, match="symmetrize=True") as info:
        coloring.color(P, "acyclic")
    i, j = map(int, info.value.args[0].split("entry (")[1].split(")")[0].split(", "))
    assert (i, j) in unmirrored


@pytest.mark.parametrize("problem", PROBLEMS)
def test_read_only_b_as_returned_by_jax(problem):
    P = FAMILIES["brusselator_hessian"]
    plan = color_symmetric(P.indptr, P.indices, problem, np.arange(P.shape[0]))
    A = symmetric_values(P, 4, integers=True)
    for B in both_layouts(A, plan.colors, plan.ncolors):
        B.flags.writeable = False
        np.testing.assert_array_equal(decompress(P, plan, B), A.data)
