"""Random tie-breaking restarts of the orders in the star/acyclic improvement path."""
import numpy as np
import pytest

import coloring
from benchmarks.coloring import random_symmetric as random_symmetric_pattern
from coloring._api import _tie_break_restarts
from coloring._pattern import as_pattern
from coloring.symmetric import _coloring as _symmetric
from coloring.symmetric._graph import SymmetricGraph


def random_symmetric(n, per_row, seed):
    return as_pattern(random_symmetric_pattern(n, per_row, seed, diagonal=True))


@pytest.mark.parametrize("problem", ["star", "acyclic"])
def test_restarts_give_valid_colorings_of_the_original_vertices(problem):
    P = random_symmetric(300, 3, 0)
    graph = SymmetricGraph(P.indptr, P.indices)
    colors_of = _symmetric.SYMMETRIC_PROBLEMS[problem].colors_of
    (result, order), work = _tie_break_restarts(
        P, problem, ("smallest_last", "incidence_degree"), graph, 0, rounds=3)
    assert work > 0
    assert np.array_equal(np.sort(order), np.arange(300))
    # the result is the coloring of the original pattern in that order
    again = _symmetric.color_symmetric(P.indptr, P.indices, problem, order, graph=graph)
    np.testing.assert_array_equal(again.colors, colors_of(result))
    _symmetric.check_symmetric(P.indptr, P.indices, colors_of(result), problem)
    # deterministic for a seed
    (_, order2), work2 = _tie_break_restarts(
        P, problem, ("smallest_last", "incidence_degree"), graph, 0, rounds=3)
    np.testing.assert_array_equal(order, order2)
    assert work2 == work
    # a pass stops once it needs as many colors as ``below``: nothing beats 1 color
    assert _tie_break_restarts(P, problem, ("smallest_last",), graph, 0, rounds=3,
                               below=1)[0] is None
    # and the work never passes its limit
    for limit in (0, work // 2):
        best, spent = _tie_break_restarts(P, problem, ("smallest_last", "incidence_degree"),
                                          graph, 0, rounds=3, work_limit=limit)
        assert spent <= limit


@pytest.mark.parametrize("problem", ["star", "acyclic"])
def test_improve_never_worse_than_the_orders(problem):
    P = random_symmetric(400, 4, 1)
    plain = coloring.color(P, problem, coloring.BEST_ORDERS, seed=3)
    improved = coloring.color(P, problem, coloring.BEST_ORDERS, seed=3, improve=30)
    coloring.check(P, improved)
    assert improved.ncolors <= plain.ncolors
    if "+tie_breaks" in improved.order:
        assert improved.ncolors < plain.ncolors
