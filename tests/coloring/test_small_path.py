"""The numpy twins that small patterns take (coloring._small) against the Numba kernels."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import coloring
from coloring import _greedy, _orderings, _pattern, _small


def _random_pattern(seed: int, m: int, n: int, density: float) -> sp.csr_array:
    P = sp.random_array((m, n), density=density, rng=np.random.default_rng(seed),
                        format="csr")
    return _pattern.as_pattern(P)


@pytest.mark.parametrize("seed", range(6))
def test_twins_match_the_kernels(seed):
    rng = np.random.default_rng(seed)
    P = _random_pattern(seed, int(rng.integers(1, 40)), int(rng.integers(1, 40)), 0.15)
    m, n = P.shape
    tptr, tind = _pattern._transpose(P.indptr, P.indices, n)
    for got, want in zip(_small.transpose(P.indptr, P.indices, n), (tptr, tind)):
        np.testing.assert_array_equal(got, want)
    for graph in (_orderings.NeighborhoodGraph.bipartite(tptr, tind, P.indptr, P.indices),
                  _orderings.NeighborhoodGraph.bipartite(P.indptr, P.indices, tptr, tind)):
        g = graph
        deg = _orderings._degrees(g.n, g.p1, g.i1, g.p2, g.i2)
        np.testing.assert_array_equal(_small.distance2_degrees(g.n, g.p1, g.i1, g.p2, g.i2),
                                      deg)
        np.testing.assert_array_equal(_small.by_decreasing_key(deg),
                                      _orderings._by_decreasing_key(deg))
        order = rng.permutation(g.n).astype(np.int64)
        colors, ok = _greedy._greedy_bitmask(order, g.p1, g.i1, g.p2.size - 1, 4)
        assert ok
        np.testing.assert_array_equal(_small.greedy_bipartite(order, g.p1, g.i1,
                                                              g.p2.size - 1), colors)
        k = int(colors.max()) + 1 if colors.size else 0
        rank = rng.permutation(k).astype(np.int64)
        for reverse in (False, True):
            np.testing.assert_array_equal(_small.class_order(colors, rank, reverse),
                                          _greedy._class_order(colors, k, rank, reverse))


def test_small_and_compiled_colorings_are_the_same(monkeypatch):
    T = sp.diags_array([-1.0, 2.0, -1.0], offsets=[-1, 0, 1], shape=(15, 15))
    A = sp.csr_array(sp.kronsum(T, T))
    arrow = sp.lil_array((30, 30))
    arrow[0, :] = 1
    arrow[:, 0] = 1
    arrow.setdiag(1)
    for M in (A, sp.csr_array(arrow), _random_pattern(3, 50, 40, 0.1)):
        for problem in ("column", "row"):
            monkeypatch.setattr(_small, "is_compiled", lambda kernel: False)  # the twins
            small = coloring.color(M, problem, order=coloring.BEST_ORDERS, improve=30,
                                   seed=0, time_limit=100.0)
            monkeypatch.undo()
            monkeypatch.setattr(_small, "COMPILE_MIN_SIZE", 0)
            monkeypatch.setattr(_small, "GREEDY_COMPILE_MIN_SIZE", 0)
            big = coloring.color(M, problem, order=coloring.BEST_ORDERS, improve=30, seed=0,
                                time_limit=100.0)
            monkeypatch.undo()
            np.testing.assert_array_equal(small.colors, big.colors)
            coloring.check(M, small)


def test_lazy_kernels_become_numba_dispatchers_everywhere_on_first_call():
    from coloring import _jit

    @_jit.njit(cache=False)
    def add_one(a):
        return a + 1

    if _jit._numba_njit is None:  # Numba not imported yet in this process
        assert isinstance(add_one, _jit.LazyKernel)
    assert add_one(1) == 2
    # the kernels of the coloring modules are real dispatchers now
    assert not isinstance(_greedy._greedy_bitmask, _jit.LazyKernel)
    assert hasattr(_greedy._greedy_bitmask, "signatures")


@pytest.mark.parametrize("seed", range(6))
def test_first_conflict_twin_matches_the_kernel(seed):
    from coloring._api import _first_conflict

    rng = np.random.default_rng(seed)
    P = _random_pattern(seed, 25, 18, 0.2)
    colors = rng.integers(0, 4 + seed, 18).astype(np.int64)  # clashes for most seeds
    k = int(colors.max()) + 1
    got = _small.first_conflict(P.indptr, P.indices, colors, k)
    assert got == tuple(int(v) for v in _first_conflict(P.indptr, P.indices, colors, k))
    ok = coloring.color(P, "column")  # a valid coloring has no conflict
    assert _small.first_conflict(P.indptr, P.indices, np.asarray(ok.colors, np.int64),
                                 ok.ncolors) == (-1, -1, -1)
