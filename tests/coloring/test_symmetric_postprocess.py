"""Neutral-color post-processing and the iterated-greedy improvement pass."""
import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import coloring
from benchmarks.problems import arrowhead_hessian_sparsity, brusselator_sparsity
from coloring._errors import ColoringError
from coloring.symmetric._coloring import check_direct_recovery, check_symmetric, color_symmetric

PROBLEMS = ["star", "acyclic"]


def pattern(A):
    P = sp.csr_array(A, dtype=float)
    P.sum_duplicates()
    P.sort_indices()
    return P


def from_edges(n, edges, diag=()):
    rows = [i for i, j in edges] + [j for i, j in edges] + list(diag)
    cols = [j for i, j in edges] + [i for i, j in edges] + list(diag)
    return pattern(sp.csr_array((np.ones(len(rows)), (rows, cols)), shape=(n, n)))


def integer_values(P, seed):
    n = P.shape[0]
    rows = np.repeat(np.arange(n), np.diff(P.indptr))
    key = np.minimum(rows, P.indices) * max(n, 1) + np.maximum(rows, P.indices)
    table = np.random.default_rng(seed).integers(-99, 100, n * n).astype(float)
    return sp.csr_array((table[key], P.indices.copy(), P.indptr.copy()), shape=P.shape)


def round_trip(P, plan, seed=0):
    """Dense reference: B = A @ S from the plan's colors, in both layouts, decompressed
    through the public path (``ColoringResult.decompress`` over the plan)."""
    A = integer_values(P, seed)
    S = np.zeros((P.shape[0], plan.ncolors))
    S[np.arange(P.shape[0]), plan.colors] = 1.0
    D = A.toarray()
    result = coloring.ColoringResult(P.astype(bool), plan.colors, plan.problem, plan=plan)
    for B in (np.ascontiguousarray(D @ S), np.ascontiguousarray(S.T @ D).T):
        np.testing.assert_array_equal(result.decompress(B).data, A.data)


def brute_force_direct(P, colors):
    """Every stored (i, j) is alone in its color group of row i or of row j."""
    D = P.toarray() != 0
    n = P.shape[0]
    for i, j in itertools.product(range(n), repeat=2):
        if not D[i, j]:
            continue
        alone_i = sum(D[i, x] and colors[x] == colors[j] for x in range(n)) == 1
        alone_j = sum(D[j, x] and colors[x] == colors[i] for x in range(n)) == 1
        if not (alone_i or (i != j and alone_j)):
            return False
    return True


def is_star(P, colors):
    nb = [set(P.indices[P.indptr[i]:P.indptr[i + 1]].tolist()) - {i} for i in range(P.shape[0])]
    for a in range(P.shape[0]):
        for b in nb[a]:
            if colors[a] == colors[b]:
                return False
            for c in nb[b] - {a}:
                for d in nb[c] - {a, b}:
                    if colors[a] == colors[c] and colors[b] == colors[d]:
                        return False
    return True


def is_acyclic(P, colors):
    nb = [set(P.indices[P.indptr[i]:P.indptr[i + 1]].tolist()) - {i} for i in range(P.shape[0])]
    edges = [(i, j) for i in range(P.shape[0]) for j in nb[i] if i < j]
    if any(colors[i] == colors[j] for i, j in edges):
        return False
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
                    return False
                parent[ri] = rj
    return True


VALID = {"star": is_star, "acyclic": is_acyclic}


def test_arrowhead_without_diagonal_needs_one_seed():
    """Only the hub's column is read: one Hessian-vector product recovers everything."""
    n = 9
    A = pattern(arrowhead_hessian_sparsity(n))
    P = pattern(A - sp.diags_array(A.diagonal()))
    P.eliminate_zeros()
    for problem in PROBLEMS:
        plan = color_symmetric(P.indptr, P.indices, problem, np.arange(n), postprocess=True)
        assert plan.ncolors == 1 and plan.postprocessed
        assert plan.proper_colors.max() == 1
        round_trip(P, plan)
    check_direct_recovery(P.indptr, P.indices, np.zeros(n, np.int64))


def test_full_diagonal_keeps_every_color():
    P = pattern(brusselator_sparsity(3) + brusselator_sparsity(3).T)
    for problem in PROBLEMS:
        plain = color_symmetric(P.indptr, P.indices, problem, np.arange(18))
        post = color_symmetric(P.indptr, P.indices, problem, np.arange(18), postprocess=True)
        np.testing.assert_array_equal(plain.colors, post.colors)


@st.composite
def symmetric_patterns(draw):
    n = draw(st.integers(1, 14))
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    edges = draw(st.lists(st.sampled_from(pairs), max_size=3 * n, unique=True)) if pairs else []
    diag = draw(st.lists(st.integers(0, n - 1), max_size=n, unique=True))
    return from_edges(n, edges, diag)


@pytest.mark.parametrize("problem", PROBLEMS)
@settings(max_examples=40)
@given(P=symmetric_patterns(), seed=st.integers(0, 2**16))
def test_postprocess_exact_and_never_more_colors(problem, P, seed):
    order = np.random.default_rng(seed).permutation(P.shape[0])
    plain = color_symmetric(P.indptr, P.indices, problem, order)
    post = color_symmetric(P.indptr, P.indices, problem, order, postprocess=True)
    np.testing.assert_array_equal(post.proper_colors, plain.colors)
    assert post.ncolors <= plain.ncolors
    if P.shape[0]:
        assert set(post.colors.tolist()) <= set(range(post.ncolors))
    round_trip(P, post, seed)
    if problem == "star":
        assert brute_force_direct(P, post.colors)
        check_direct_recovery(P.indptr, P.indices, post.colors)


def test_check_direct_recovery_agrees_with_brute_force():
    rng = np.random.default_rng(11)
    for trial in range(80):
        n = int(rng.integers(1, 9))
        M = sp.random(n, n, density=0.4, random_state=int(rng.integers(1 << 30)))
        P = pattern((M + M.T) != 0)
        colors = rng.integers(0, 3, n)
        try:
            check_direct_recovery(P.indptr, P.indices, colors)
            ok = True
        except ColoringError as err:
            ok = False
            assert "cannot be recovered directly" in str(err)
        assert ok == brute_force_direct(P, colors), trial


@pytest.mark.parametrize("problem", PROBLEMS)
def test_improve_never_worse_and_valid(problem):
    rng = np.random.default_rng(2)
    for trial in range(8):
        n = 30
        M = sp.random(n, n, density=0.15, random_state=int(rng.integers(1 << 30)))
        P = pattern(((M + M.T) != 0) + sp.eye_array(n))
        order = rng.permutation(n)
        base = color_symmetric(P.indptr, P.indices, problem, order)
        better = color_symmetric(P.indptr, P.indices, problem, order, improve=6, seed=trial)
        assert better.ncolors <= base.ncolors
        assert VALID[problem](P, better.colors)
        check_symmetric(P.indptr, P.indices, better.colors, problem)
        round_trip(P, better)


def test_improve_helps_on_a_grid_and_respects_time_limit():
    m = 12
    T = sp.diags_array([np.ones(m - 1), np.ones(m), np.ones(m - 1)], offsets=[-1, 0, 1])
    P = pattern(sp.kron(T, sp.eye_array(m)) + sp.kron(sp.eye_array(m), T))
    order = np.random.default_rng(0).permutation(m * m)
    base = color_symmetric(P.indptr, P.indices, "star", order)
    better = color_symmetric(P.indptr, P.indices, "star", order, improve=30, seed=0)
    assert better.ncolors <= base.ncolors
    quick = color_symmetric(P.indptr, P.indices, "star", order, improve=10**6, time_limit=0.0)
    assert quick.ncolors <= base.ncolors


def test_improvement_moves_return_permutations():
    from coloring.symmetric._improve import MOVES

    rng = np.random.default_rng(0)
    for n in (1, 2, 7, 100):
        order = rng.permutation(n)
        colors = rng.integers(0, 3, n)
        colors[0] = 0
        for name, move in MOVES.items():
            new = move(order, colors, rng)
            assert sorted(new.tolist()) == list(range(n)), name
