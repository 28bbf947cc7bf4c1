"""Acyclic coloring specifics: trees, substitution order, arrowheads, cycle detection."""
import numpy as np
import pytest
import scipy.sparse as sp

from benchmarks.problems import arrowhead_hessian_sparsity
from coloring._errors import ColoringError
from coloring.symmetric._acyclic import AcyclicPlan
from coloring.symmetric._coloring import color_symmetric
from coloring.symmetric._graph import SymmetricGraph


def pattern(A):
    P = sp.csr_array(A, dtype=float)
    P.sum_duplicates()
    P.sort_indices()
    return P


def random_tree(n, seed):
    rng = np.random.default_rng(seed)
    parent = [int(rng.integers(0, i)) for i in range(1, n)]
    rows = list(range(1, n)) + parent + list(range(n))
    cols = parent + list(range(1, n)) + list(range(n))
    return pattern(sp.csr_array((np.ones(len(rows)), (rows, cols)), shape=(n, n)))


def integer_values(P, seed):
    n = P.shape[0]
    rows = np.repeat(np.arange(n), np.diff(P.indptr))
    key = np.minimum(rows, P.indices) * n + np.maximum(rows, P.indices)
    table = np.random.default_rng(seed).integers(-9, 10, n * n).astype(float)
    return sp.csr_array((table[key], P.indices.copy(), P.indptr.copy()), shape=P.shape)


@pytest.mark.parametrize("seed", range(5))
def test_trees_need_two_colors_and_substitute_exactly(seed):
    # parents precede children, so the natural order is a search order: 2 colors
    P = random_tree(40, seed)
    for order in (np.arange(40), np.random.default_rng(seed).permutation(40)):
        plan = color_symmetric(P.indptr, P.indices, "acyclic", order)
        if order[1] == 1:
            assert plan.ncolors == 2
        A = integer_values(P, seed)
        S = np.zeros((40, plan.ncolors))
        S[np.arange(40), plan.colors] = 1
        out = np.empty(P.nnz)
        plan.decompress_into(A @ S, out)
        np.testing.assert_array_equal(out, A.data)


@pytest.mark.parametrize("n", [2, 5, 10**4])
def test_arrowhead(n):
    """2 colors, and n = 10^4 runs in milliseconds (ColPack: 7-9 s); no timing assert."""
    P = arrowhead_hessian_sparsity(n)
    for order in (np.arange(n), np.arange(n)[::-1].copy(),
                  np.random.default_rng(0).permutation(n)):
        plan = color_symmetric(P.indptr, P.indices, "acyclic", order)
        assert plan.ncolors == 2


def test_plan_rejects_a_coloring_with_a_two_colored_cycle():
    cycle = pattern(sp.csr_array(
        (np.ones(8), ([0, 1, 1, 2, 2, 3, 3, 0], [1, 0, 2, 1, 3, 2, 0, 3])), shape=(4, 4)))
    g = SymmetricGraph(cycle.indptr, cycle.indices)
    with pytest.raises(ColoringError, match="two-colored cycle"):
        AcyclicPlan(g, np.array([0, 1, 0, 1]), validate=True)
    lazy = AcyclicPlan(g, np.array([0, 1, 0, 1]))  # the order is built on first use
    with pytest.raises(ColoringError, match="two-colored cycle"):
        lazy.decompress_into(np.zeros((4, 2)), np.empty(cycle.nnz))
    plan = color_symmetric(cycle.indptr, cycle.indices, "acyclic", np.arange(4))
    assert plan.ncolors == 3


def test_complex_values():
    P = random_tree(12, 7)
    plan = color_symmetric(P.indptr, P.indices, "acyclic", np.arange(12))
    A = integer_values(P, 1)
    A = sp.csr_array((A.data * (1 + 2j), A.indices, A.indptr), shape=A.shape)
    S = np.zeros((12, plan.ncolors))
    S[np.arange(12), plan.colors] = 1
    out = np.empty(P.nnz, complex)
    plan.decompress_into(np.asarray(A @ S), out)
    np.testing.assert_array_equal(out, A.data)
