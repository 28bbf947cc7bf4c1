"""Orderings: permutations with the defining property of each, checked by brute force, and
the dynamic orders equal to a naive pure-Python statement of their tie-breaking."""
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import coloring
from coloring import GRAPH_ORDERINGS, ORDERINGS, NeighborhoodGraph, _orderings


def column_intersection(D):
    """Dense adjacency of the column-intersection graph (no self loops)."""
    D = D.astype(int)
    C = (D.T @ D) > 0
    np.fill_diagonal(C, False)
    return C


def bipartite_graph(D):
    P = sp.csr_array(D.astype(bool))
    T = sp.csc_array(D.astype(bool))
    return NeighborhoodGraph.bipartite(T.indptr.astype(np.int64), T.indices.astype(np.int64),
                                       P.indptr.astype(np.int64), P.indices.astype(np.int64))


def is_smallest_last(C, order):
    """order[p] has minimum degree in the graph induced by order[:p+1]."""
    for p in range(len(order)):
        alive = np.zeros(len(order), bool)
        alive[order[:p + 1]] = True
        deg = (C[alive][:, alive]).sum(axis=1)
        idx = np.flatnonzero(alive)
        if deg[list(idx).index(order[p])] != deg.min():
            return False
    return True


def is_dynamic_largest_first(C, order):
    """order[p] has maximum degree in the graph induced by order[p:]."""
    for p in range(len(order)):
        alive = np.zeros(len(order), bool)
        alive[order[p:]] = True
        deg = (C[alive][:, alive]).sum(axis=1)
        idx = np.flatnonzero(alive)
        if deg[list(idx).index(order[p])] != deg.max():
            return False
    return True


def is_incidence_degree(C, order):
    """order[p] has the most neighbors among order[:p], over all of order[p:]."""
    for p in range(len(order)):
        done = np.zeros(len(order), bool)
        done[order[:p]] = True
        inc = C[:, done].sum(axis=1)
        if inc[order[p]] != inc[~done].max():
            return False
    return True


# --------------------------------------------------------------- naive reference orders
# Pure-Python statements of the dynamic orders' exact tie-breaking: each bucket is a list
# (ColPack's vector buckets). Smallest last and incidence degree remove a vertex from its
# bucket by moving the bucket's last vertex into its place; dynamic largest first removes
# it keeping the others' order. A moved vertex is appended to its new bucket; the vertex
# taken is the last of the extreme bucket. Neighbors are visited in first-reached order:
# ``L1[v]`` in storage order, each ``L2[r]`` in storage order.


def neighbors_in_visit_order(g):
    out = []
    for v in range(g.n):
        seen, nbrs = {v}, []
        for r in g.i1[g.p1[v]:g.p1[v + 1]]:
            for u in g.i2[g.p2[r]:g.p2[r + 1]]:
                if int(u) not in seen:
                    seen.add(int(u))
                    nbrs.append(int(u))
        out.append(nbrs)
    return out


def swap_remove(bucket, u):
    i = bucket.index(u)
    last = bucket.pop()
    if last != u:
        bucket[i] = last


def reference_order(g, name):
    nbrs = neighbors_in_visit_order(g)
    n = g.n
    deg = [len(x) for x in nbrs]
    nkeys = max(deg, default=0) + 1
    key = [0] * n if name == "incidence_degree" else list(deg)
    buckets = [[] for _ in range(nkeys)]
    for v in (range(n - 1, -1, -1) if name == "dynamic_largest_first" else range(n)):
        buckets[key[v]].append(v)
    removed = [False] * n
    taken = []
    for _ in range(n):
        full = [d for d in range(nkeys) if buckets[d]]
        v = buckets[min(full) if name == "smallest_last" else max(full)].pop()
        removed[v] = True
        taken.append(v)
        for u in nbrs[v]:
            if removed[u]:
                continue
            if name == "dynamic_largest_first":
                buckets[key[u]].remove(u)
            else:
                swap_remove(buckets[key[u]], u)
            key[u] += 1 if name == "incidence_degree" else -1
            buckets[key[u]].append(u)
    return taken[::-1] if name == "smallest_last" else taken


@st.composite
def patterns(draw):
    m = draw(st.integers(0, 14))
    n = draw(st.integers(0, 14))
    density = draw(st.sampled_from([0.0, 0.1, 0.3, 0.7]))
    rng = np.random.default_rng(draw(st.integers(0, 10000)))
    return rng.random((m, n)) < density


@settings(max_examples=40)
@given(patterns())
def test_orderings_properties_on_column_intersection_graph(D):
    g = bipartite_graph(D)
    C = column_intersection(D)
    n = D.shape[1]
    deg = C.sum(axis=1)
    assert np.array_equal(coloring._orderings.degrees(g), deg)
    for name, fn in GRAPH_ORDERINGS.items():
        order = fn(g, 0)
        assert order.dtype == np.int64
        assert np.array_equal(np.sort(order), np.arange(n)), name
    assert np.array_equal(GRAPH_ORDERINGS["natural"](g, 0), np.arange(n))
    lf = GRAPH_ORDERINGS["largest_first"](g, 0)
    assert np.all(np.diff(deg[lf]) <= 0)
    assert is_smallest_last(C, GRAPH_ORDERINGS["smallest_last"](g, 0))
    assert is_dynamic_largest_first(C, GRAPH_ORDERINGS["dynamic_largest_first"](g, 0))
    assert is_incidence_degree(C, GRAPH_ORDERINGS["incidence_degree"](g, 0))


@settings(max_examples=30)
@given(st.integers(1, 15), st.floats(0, 1), st.integers(0, 1000))
def test_symmetric_contract_orderings(n, density, seed):
    """ORDERINGS[name](indptr, indices, seed) on a symmetric pattern ignores the diagonal."""
    rng = np.random.default_rng(seed)
    U = np.triu(rng.random((n, n)) < density, 1)
    adj = U | U.T
    with_diag = adj | np.eye(n, dtype=bool)
    for pattern in (adj, with_diag):
        P = sp.csr_array(pattern)
        for name, fn in ORDERINGS.items():
            order = fn(P.indptr, P.indices, seed)
            assert np.array_equal(np.sort(order), np.arange(n)), name
        deg = adj.sum(axis=1)
        lf = ORDERINGS["largest_first"](P.indptr, P.indices, 0)
        assert np.all(np.diff(deg[lf]) <= 0)
        assert is_smallest_last(adj, ORDERINGS["smallest_last"](P.indptr, P.indices, 0))
        dlf = ORDERINGS["dynamic_largest_first"](P.indptr, P.indices, 0)
        assert is_dynamic_largest_first(adj, dlf)
        assert is_incidence_degree(adj, ORDERINGS["incidence_degree"](P.indptr, P.indices, 0))


def test_random_order_is_seeded():
    P = sp.csr_array(np.ones((5, 5), bool))
    a = ORDERINGS["random"](P.indptr, P.indices, 7)
    b = ORDERINGS["random"](P.indptr, P.indices, 7)
    assert np.array_equal(a, b)


def test_tables_match_and_cite():
    assert set(ORDERINGS) == set(GRAPH_ORDERINGS) == set(coloring.ORDER_NAMES)
    assert {"natural", "random", "largest_first", "smallest_last", "incidence_degree",
            "dynamic_largest_first"} <= set(ORDERINGS)
    for name in ("largest_first", "smallest_last", "incidence_degree", "dynamic_largest_first"):
        assert any(year in GRAPH_ORDERINGS[name].__doc__ for year in ("1967", "1983", "2013"))


def test_empty_graph():
    P = sp.csr_array((0, 0), dtype=bool)
    for fn in ORDERINGS.values():
        assert fn(P.indptr, P.indices, 0).size == 0


@pytest.mark.parametrize("name", sorted(GRAPH_ORDERINGS))
def test_arrowhead_orderings_linear_enough(name):
    """A dense row and column: dynamic orders must not blow up (smoke, no timing)."""
    n = 2000
    rows = np.concatenate([np.zeros(n, int), np.arange(n), np.arange(n)])
    cols = np.concatenate([np.arange(n), np.zeros(n, int), np.arange(n)])
    A = sp.csr_array((np.ones(rows.size, bool), (rows, cols)), shape=(n, n))
    r = coloring.color(A, "column", name, seed=0)
    assert r.ncolors == n  # the dense row forces n colors
    rs = ORDERINGS[name](A.indptr, A.indices, 0)
    assert rs.size == n


DYNAMIC = ("smallest_last", "incidence_degree", "dynamic_largest_first")


@st.composite
def patterns_with_dense_lines(draw):
    """Random patterns with up to two dense rows and two dense columns."""
    D = draw(patterns())
    m, n = D.shape
    rows = draw(st.lists(st.integers(0, max(m - 1, 0)), max_size=2 if m else 0))
    cols = draw(st.lists(st.integers(0, max(n - 1, 0)), max_size=2 if n else 0))
    D[rows, :] = True
    D[:, cols] = True
    return D


@settings(max_examples=60)
@given(patterns_with_dense_lines())
def test_dynamic_orders_equal_the_reference(D):
    """Column and row graphs: each dynamic order is exactly the reference's, also with
    vector buckets of the fewest slots (every growth then compacts them often)."""
    for g in (bipartite_graph(D), bipartite_graph(D.T)):
        for name in DYNAMIC:
            ref = reference_order(g, name)
            assert GRAPH_ORDERINGS[name](g, 0).tolist() == ref, name
        deg = _orderings.degrees(g)
        nkeys = int(deg.max()) + 1 if g.n else 1
        for name, key, delta in (("smallest_last", deg.astype(np.int32), -1),
                                 ("incidence_degree", np.zeros(g.n, np.int32), 1)):
            taken = _orderings._vector_bucket_order(g.n, g.p1, g.i1, g.p2, g.i2, key, nkeys,
                                                    delta, 2 * g.n + 4).tolist()
            assert (taken[::-1] if delta < 0 else taken) == reference_order(g, name), name


@settings(max_examples=30)
@given(st.integers(1, 16), st.floats(0, 1), st.booleans(), st.integers(0, 1000))
def test_symmetric_dynamic_orders_equal_the_reference(n, density, diagonal, seed):
    rng = np.random.default_rng(seed)
    U = np.triu(rng.random((n, n)) < density, 1)
    P = sp.csr_array(U | U.T | (np.eye(n, dtype=bool) & diagonal))
    g = NeighborhoodGraph.adjacency(P.indptr, P.indices)
    for name in DYNAMIC:
        assert ORDERINGS[name](P.indptr, P.indices, 0).tolist() == reference_order(g, name)


@pytest.mark.parametrize("transpose", [False, True])
def test_arrowhead_dynamic_orders_equal_the_reference(transpose):
    """Dense first row, dense last column, diagonal: every step moves every remaining
    vertex to the next bucket."""
    n = 120
    i = np.arange(n)
    A = sp.csr_array((np.ones(3 * n, bool), (np.concatenate([i, np.zeros(n, int), i]),
                                             np.concatenate([i, i, np.full(n, n - 1)]))),
                     shape=(n, n)).toarray()
    g = bipartite_graph(A.T if transpose else A)
    for name in DYNAMIC:
        assert GRAPH_ORDERINGS[name](g, 0).tolist() == reference_order(g, name), name
