"""Star coloring specifics: hubs, the gather index, arrowheads (2 colors), needed colors."""
import numpy as np
import pytest
import scipy.sparse as sp

import coloring
from benchmarks.problems import arrowhead_hessian_sparsity
from coloring.symmetric._coloring import color_symmetric
from coloring.symmetric._graph import SymmetricGraph
from coloring.symmetric._star import StarPlan, star_coloring


def pattern(A):
    P = sp.csr_array(A, dtype=float)
    P.sum_duplicates()
    P.sort_indices()
    return P


def largest_first(P):
    """Reference order written here: decreasing off-diagonal degree, ties by index."""
    deg = np.diff(P.indptr) - (P.diagonal() != 0)
    return np.argsort(-deg, kind="stable")


def is_star_coloring(P, colors):
    """Brute force: proper and no path a-b-c-d alternating two colors."""
    nb = [set(P.indices[P.indptr[i]:P.indptr[i + 1]].tolist()) - {i}
          for i in range(P.shape[0])]
    for a in range(P.shape[0]):
        for b in nb[a]:
            if colors[a] == colors[b]:
                return False
            for c in nb[b] - {a}:
                for d in nb[c] - {a, b}:
                    if colors[a] == colors[c] and colors[b] == colors[d]:
                        return False
    return True


@pytest.mark.parametrize("n", [2, 3, 10, 1000])
@pytest.mark.parametrize("hub_at", ["last", "first", "middle"])
def test_arrowhead_two_colors(n, hub_at):
    """The issue's target: 2 colors (ColPack reports 4), hub alone in its color."""
    P = pattern(arrowhead_hessian_sparsity(n))
    perm = {"last": np.arange(n), "first": np.roll(np.arange(n), 1),
            "middle": np.roll(np.arange(n), n // 2)}[hub_at]
    P = pattern(P[perm][:, perm])
    hub = int(np.flatnonzero(np.diff(P.indptr) == n)[0]) if n > 2 else None
    orders = {"natural": np.arange(n), "largest_first": largest_first(P),
              "random": np.random.default_rng(n).permutation(n)}
    for name, order in orders.items():
        plan = color_symmetric(P.indptr, P.indices, "star", order)
        assert plan.ncolors == 2, name
        if hub is not None:
            assert np.sum(plan.colors == plan.colors[hub]) == 1
        if n <= 10:
            assert is_star_coloring(P, plan.colors)


def test_arrowhead_hub_recorded_and_gather_reads_leaf_rows():
    n = 8
    P = pattern(arrowhead_hessian_sparsity(n))
    plan = color_symmetric(P.indptr, P.indices, "star", np.arange(n))
    assert set(plan.hub.tolist()) == {n - 1}  # one star, centered at the dense column
    k = plan.ncolors
    rows = np.repeat(np.arange(n), np.diff(P.indptr))
    expected = np.where(P.indices == rows, rows * k + plan.colors[rows],  # diagonal
                        np.where(P.indices == n - 1, rows * k + plan.colors[n - 1],
                                 P.indices * k + plan.colors[n - 1]))
    read_row, read_color = plan.read_positions()
    np.testing.assert_array_equal(read_row * k + read_color, expected)
    result = coloring.ColoringResult(P.astype(bool), plan.colors, "star", plan=plan)
    np.testing.assert_array_equal(result.decompression_index(layout="C").flat_index, expected)
    assert plan.needed_colors.all()


def test_needed_colors_without_diagonal():
    """Without a diagonal only hub colors are read: leaves' color is not needed."""
    n = 6
    P = pattern(arrowhead_hessian_sparsity(n))
    P = pattern(P - sp.diags_array(P.diagonal()))
    P.eliminate_zeros()
    plan = color_symmetric(P.indptr, P.indices, "star", np.arange(n))
    assert plan.ncolors == 2
    assert plan.needed_colors.tolist() == [c == plan.colors[n - 1] for c in range(2)]


def test_single_edge_stars_prefer_needed_hub_colors():
    # a path 0-1-2-3 with colors from the natural order: every star is a single edge or a
    # 3-vertex star; after orientation, every star has a hub and needed colors are hubs'
    P = pattern(sp.diags_array([np.ones(3), np.ones(3)], offsets=[-1, 1], shape=(4, 4)))
    g = SymmetricGraph(P.indptr, P.indices)
    colors, star_of_edge, hub = star_coloring(g, np.arange(4))
    plan = StarPlan(g, colors, star_of_edge, hub)
    assert (plan.hub >= 0).all()
    assert plan.needed_colors.sum() == len({int(plan.colors[h]) for h in plan.hub})


def test_large_arrowhead_is_linear_enough():
    """n = 10^5 must finish quickly (the quadratic variant takes minutes); no timing assert."""
    n = 10**5
    P = arrowhead_hessian_sparsity(n)
    for order in (np.arange(n), np.arange(n)[::-1].copy()):
        plan = color_symmetric(P.indptr, P.indices, "star", order)
        assert plan.ncolors == 2
