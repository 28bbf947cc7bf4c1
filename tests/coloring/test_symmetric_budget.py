"""The star, acyclic and bicolor improvements have a deterministic budget: the same input
gives the same coloring whatever the clock says, the counted work stays within
``effort`` times the orders' work, and the colorings pass brute-force checks written
here (independent of the kernels)."""
import itertools
import time

import numpy as np
import pytest
import scipy.sparse as sp

import coloring
from benchmarks.coloring import random_symmetric as random_symmetric_pattern
from coloring import _api
from coloring._bicolor import bicolor_work
from coloring._pattern import as_pattern
from coloring.symmetric import _improve
from coloring.symmetric._acyclic import acyclic_coloring_pass
from coloring.symmetric._graph import COMPLETE, OVER_BUDGET, TOO_MANY_COLORS, SymmetricGraph
from coloring.symmetric._star import star_coloring_pass

# ------------------------------------------------------------------------------ patterns


def random_symmetric(n, per_row, seed):
    return as_pattern(random_symmetric_pattern(n, per_row, seed, diagonal=True))


def banded(n, offsets):
    rng = np.random.default_rng(n)
    diags = [rng.random(n - abs(k)) < 0.7 for k in offsets]
    A = sp.diags_array([d.astype(float) for d in diags], offsets=offsets, shape=(n, n))
    return as_pattern(A + A.T + sp.eye_array(n))


def arrowhead(n):
    A = sp.lil_array((n, n))
    A[0, :] = 1
    A[:, 0] = 1
    A.setdiag(1)
    A.setdiag(1, 1)
    A.setdiag(1, -1)
    A.setdiag(1, 7)
    A.setdiag(1, -7)
    return as_pattern(A)


PATTERNS = {
    "random": lambda: random_symmetric(400, 4, 1),
    "banded": lambda: banded(500, [1, 2, 5, 11]),
    "arrowhead": lambda: arrowhead(300),
}

# a nonsymmetric pattern with dense rows and columns, for the bicolorings
BICOLOR_PATTERNS = {
    "random": lambda: as_pattern(sp.random_array((150, 120), density=0.04, random_state=3)
                                 + sp.eye_array(150, 120)),
    "arrowhead": lambda: as_pattern(arrowhead(200)[:, :180]),
}

# ----------------------------------------------------------------- brute-force checks


def edges_of(P):
    coo = sp.coo_array(P)
    return {(int(i), int(j)) for i, j in zip(coo.row, coo.col) if i < j}


def two_colored_components(P, colors):
    """For each pair of colors, the components (vertex set, edge list) of the subgraph
    of the edges joining those two colors."""
    by_pair = {}
    for i, j in edges_of(P):
        assert colors[i] != colors[j], f"adjacent {i}, {j} share color {colors[i]}"
        by_pair.setdefault(frozenset((colors[i], colors[j])), []).append((i, j))
    for edges in by_pair.values():
        adj = {}
        for i, j in edges:
            adj.setdefault(i, set()).add(j)
            adj.setdefault(j, set()).add(i)
        seen = set()
        for root in adj:
            if root in seen:
                continue
            comp, stack = {root}, [root]
            while stack:
                for u in adj[stack.pop()]:
                    if u not in comp:
                        comp.add(u)
                        stack.append(u)
            seen |= comp
            yield comp, [(i, j) for i, j in edges if i in comp]


def is_star_coloring(P, colors):
    """Every two-colored component is a star: a tree with a vertex touching all edges."""
    for comp, edges in two_colored_components(P, colors):
        if len(edges) != len(comp) - 1:
            return False
        if not any(all(v in e for e in edges) for v in comp):
            return False
    return True


def is_acyclic_coloring(P, colors):
    """Every two-colored component is a tree (no two-colored cycle)."""
    return all(len(edges) == len(comp) - 1
               for comp, edges in two_colored_components(P, colors))


def bicolor_recoverable(P, result, substitution):
    """Entries alone in their JVP group (row, column color) or VJP group (column, row
    color), after removing the entries recovered so far when ``substitution``."""
    coo = sp.coo_array(P)
    entries = list(zip(coo.row.tolist(), coo.col.tolist()))
    groups = {}
    for e in entries:
        i, j = e
        if result.column_colors[j]:
            groups.setdefault(("jvp", i, result.column_colors[j]), set()).add(e)
        if result.row_colors[i]:
            groups.setdefault(("vjp", j, result.row_colors[i]), set()).add(e)
    done = set()
    while True:
        found = {next(iter(g - done)) for g in groups.values() if len(g - done) == 1}
        if not found - done:
            break
        done |= found
        if not substitution:
            break
    return len(done) == len(entries)


VALID = {"star": is_star_coloring, "acyclic": is_acyclic_coloring}

# -------------------------------------------------------------------- the jumping clock


def jumping_clock(monkeypatch):
    """``time.perf_counter`` as every coloring module sees it: hours pass between calls,
    so a time budget would stop any phase at once."""
    ticks = itertools.count()
    monkeypatch.setattr(time, "perf_counter", lambda: 3600.0 * next(ticks))


def colors_of(result):
    if hasattr(result, "row_colors"):
        return np.concatenate([result.row_colors, result.column_colors])
    return result.colors


@pytest.mark.parametrize("name", sorted(PATTERNS))
@pytest.mark.parametrize("problem", ["star", "acyclic"])
def test_symmetric_coloring_ignores_the_clock(monkeypatch, problem, name):
    P = PATTERNS[name]()
    calm = coloring.color(P, problem, coloring.BEST_ORDERS, improve=True, seed=1)
    # the improvement runs here (more colors than the clique bound and than 2)
    assert min(calm.orders_tried.values()) > max(2, calm.lower_bound)
    jumping_clock(monkeypatch)
    rushed = coloring.color(P, problem, coloring.BEST_ORDERS, improve=True, seed=1)
    np.testing.assert_array_equal(rushed.colors, calm.colors)
    assert rushed.order == calm.order
    assert VALID[problem](P, calm.colors)
    assert calm.ncolors <= min(calm.orders_tried.values())


def test_some_improvement_wins_so_a_clock_would_matter():
    """On these patterns the improvement finds fewer colors than the orders, so stopping
    it on a jumping clock (as a time budget would) changes the coloring."""
    wins = 0
    for name, problem in itertools.product(PATTERNS, ("star", "acyclic")):
        result = coloring.color(PATTERNS[name](), problem, coloring.BEST_ORDERS,
                                improve=True, seed=1)
        wins += result.ncolors < min(result.orders_tried.values())
    assert wins >= 2


@pytest.mark.parametrize("name", sorted(BICOLOR_PATTERNS))
@pytest.mark.parametrize("problem", ["bicolor", "bicolor_substitution"])
def test_bicoloring_ignores_the_clock(monkeypatch, problem, name):
    P = BICOLOR_PATTERNS[name]()
    calm = coloring.color(P, problem, coloring.BEST_ORDERS, improve=20, seed=1)
    jumping_clock(monkeypatch)
    rushed = coloring.color(P, problem, coloring.BEST_ORDERS, improve=20, seed=1)
    np.testing.assert_array_equal(colors_of(rushed), colors_of(calm))
    assert rushed.order == calm.order
    assert bicolor_recoverable(P, calm, problem == "bicolor_substitution")


def test_a_given_time_limit_is_still_an_extra_cap(monkeypatch):
    P = PATTERNS["random"]()
    calm = coloring.color(P, "star", coloring.BEST_ORDERS, improve=True, seed=1)
    jumping_clock(monkeypatch)
    capped = coloring.color(P, "star", coloring.BEST_ORDERS, improve=True, seed=1,
                            time_limit=1.0)
    assert "+" not in capped.order  # stopped at once: the orders' best coloring
    assert capped.ncolors == min(capped.orders_tried.values()) >= calm.ncolors
    assert is_star_coloring(P, capped.colors)

# ------------------------------------------------------------------ the work counted


@pytest.mark.parametrize("pass_fn", [star_coloring_pass, acyclic_coloring_pass])
def test_kernel_pass_stops_within_its_limits(pass_fn):
    P = random_symmetric(300, 3, 2)
    graph = SymmetricGraph(P.indptr, P.indices)
    order = np.random.default_rng(0).permutation(300)
    full = pass_fn(graph, order)
    assert full.stopped == COMPLETE
    colors = full.result[0] if isinstance(full.result, tuple) else full.result
    k = int(colors.max()) + 1
    # at least one per vertex and every adjacency position scanned twice
    assert full.work >= graph.n + 2 * graph.nnz
    same = pass_fn(graph, order, max_colors=k, work_limit=full.work)
    assert same.stopped == COMPLETE and same.work == full.work
    again = same.result[0] if isinstance(same.result, tuple) else same.result
    np.testing.assert_array_equal(again, colors)
    for limit in (0, 1, full.work // 3, full.work - 1):
        cut = pass_fn(graph, order, work_limit=limit)
        assert cut.stopped == OVER_BUDGET and cut.result is None
        assert cut.work <= limit
    fewer = pass_fn(graph, order, max_colors=k - 1)
    assert fewer.stopped == TOO_MANY_COLORS and fewer.result is None


@pytest.mark.parametrize("effort", [1.0, 3.0])
@pytest.mark.parametrize("problem", ["star", "acyclic"])
def test_symmetric_improvement_stays_within_effort(monkeypatch, problem, effort):
    """With the floor off, the restarts count at most half of ``effort`` times the
    orders' work (the orders' scans and kernel passes, recounted here) and the search
    the rest."""
    P = PATTERNS["random"]()
    graph = SymmetricGraph(P.indptr, P.indices)
    orders = coloring.BEST_ORDERS
    order_work = 0
    for name in orders:
        perm = coloring.ORDERINGS[name](P.indptr, P.indices, 1)
        pass_fn = star_coloring_pass if problem == "star" else acyclic_coloring_pass
        scan = 0 if name == "largest_first" else graph.nnz
        order_work += graph.n + scan + pass_fn(graph, perm).work
    spent = {}
    restarts, search = _api._tie_break_restarts, _improve.iterated_greedy_symmetric

    def spy_restarts(*args, **kwargs):
        best, work = restarts(*args, **kwargs)
        spent["restarts"] = (work, kwargs["work_limit"])
        return best, work

    def spy_search(*args, **kwargs):
        best, work = search(*args, **kwargs)
        spent["search"] = (work, kwargs["work_limit"])
        return best, work

    monkeypatch.setattr(_api, "SYMMETRIC_IMPROVE_MIN_WORK", 0)
    monkeypatch.setattr(_api, "_tie_break_restarts", spy_restarts)
    monkeypatch.setattr(_api, "iterated_greedy_symmetric", spy_search)
    result = coloring.color(P, problem, orders, improve=True, seed=1, effort=effort)
    budget = effort * order_work
    work, limit = spent["restarts"]
    assert limit == budget / 2 and 0 <= work <= limit
    work2, limit2 = spent["search"]
    assert limit2 == budget - work and 0 < work2 <= limit2
    assert VALID[problem](P, result.colors)
    # a larger budget runs more of the same search: never more colors
    more = coloring.color(P, problem, orders, improve=True, seed=1, effort=4 * effort)
    assert more.ncolors <= result.ncolors


@pytest.mark.parametrize("problem", ["bicolor", "bicolor_substitution"])
def test_bicolor_improvement_stays_within_effort(problem):
    P = BICOLOR_PATTERNS["random"]()
    _, none, limit0 = bicolor_work(P, problem, coloring.BEST_ORDERS, seed=1, improve=0)
    assert none == 0
    results = []
    for effort in (0.5, 2.0):
        result, work, limit = bicolor_work(P, problem, coloring.BEST_ORDERS, seed=1,
                                           improve=100, effort=effort)
        assert limit == pytest.approx(effort * limit0)  # limit0: the orders' work (effort 1)
        assert 0 < work <= limit
        assert bicolor_recoverable(P, result, problem == "bicolor_substitution")
        results.append(result)
    assert results[1].nproducts <= results[0].nproducts


def test_effort_is_checked_for_every_problem():
    P = PATTERNS["random"]()
    for problem in ("star", "acyclic", "bicolor", "column"):
        with pytest.raises(coloring.ColoringError, match="effort"):
            coloring.color(P, problem, improve=5, effort=-1.0)
