"""Vertex orderings for greedy coloring, as a table of named strategies.

Every ordering works on a *neighborhood graph*: the neighbors of vertex ``v`` are
``union(L2[r] for r in L1[v]) - {v}``, where ``L1`` and ``L2`` are two CSR-style
adjacency structures ``(p1, i1)`` and ``(p2, i2)``. This single form covers

- the adjacency graph of a symmetric matrix (``L1`` is the identity, ``L2`` the CSR
  pattern; the diagonal is ignored because ``v`` is never its own neighbor), used by
  star and acyclic coloring;
- the column-intersection graph of a matrix, i.e. distance-2 neighbors in its bipartite
  graph (``L1`` = columns' rows from the CSC pattern, ``L2`` = rows' columns from the
  CSR pattern), used by partial distance-2 column coloring without ever building the
  (much larger) column-intersection graph; swap the two for row coloring.

Degrees are distinct-neighbor counts, computed with a marker array indexed by vertex id
(no resets). Dynamic orderings keep vertices in degree buckets (vectors or doubly linked
lists) and move each one in constant time, so each order runs in
``O(sum over v of sum over r in L1[v] of |L2[r]|)``, the same work as one greedy
coloring pass.

Public tables
-------------
``ORDERINGS[name](indptr, indices, seed) -> int64 permutation`` for a symmetric
adjacency graph given as CSR (the contract used by the symmetric colorings), and
``GRAPH_ORDERINGS[name](graph, seed)`` for a :class:`NeighborhoodGraph`.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from ._jit import njit
from ._small import by_decreasing_key, distance2_degrees, distance2_is_small, is_small

__all__ = [
    "NeighborhoodGraph",
    "ORDERINGS",
    "GRAPH_ORDERINGS",
    "ORDER_NAMES",
    "degrees",
    "distance2_work",
]


class NeighborhoodGraph(NamedTuple):
    """Graph whose neighbors of ``v`` are ``union(i2[p2[r]:p2[r+1]] for r in L1[v]) - {v}``.

    Attributes
    ----------
    n : int
        Number of vertices.
    p1, i1 : numpy.ndarray of int64
        First level: vertex ``v`` -> intermediate nodes ``i1[p1[v]:p1[v+1]]``.
    p2, i2 : numpy.ndarray of int64
        Second level: intermediate node ``r`` -> vertices ``i2[p2[r]:p2[r+1]]``.
    """

    n: int
    p1: np.ndarray
    i1: np.ndarray
    p2: np.ndarray
    i2: np.ndarray
    #: True when ``L1`` is the identity and rows of ``L2`` have unique entries, so that a
    #: degree is a row length minus its diagonal entry (no marker pass needed).
    is_adjacency: bool = False
    #: True when ``L2`` is the transpose of ``L1`` (a bipartite graph): then the colors
    #: next to an intermediate node can be kept as one bit mask per node.
    is_bipartite: bool = False

    @classmethod
    def adjacency(cls, indptr: np.ndarray, indices: np.ndarray) -> "NeighborhoodGraph":
        """Distance-1 graph of a symmetric CSR pattern (diagonal entries are ignored).

        ``indices`` must hold each neighbor at most once per row (canonical CSR).
        """
        indptr = np.ascontiguousarray(indptr, dtype=np.int64)
        indices = np.ascontiguousarray(indices, dtype=np.int64)
        n = indptr.size - 1
        return cls(n, np.arange(n + 1, dtype=np.int64), np.arange(n, dtype=np.int64),
                   indptr, indices, True)

    @classmethod
    def bipartite(cls, own_indptr: np.ndarray, own_indices: np.ndarray,
                  other_indptr: np.ndarray, other_indices: np.ndarray) -> "NeighborhoodGraph":
        """Distance-2 graph of the vertices of one side of a bipartite graph.

        For column coloring pass the CSC pattern (columns -> rows) first and the CSR
        pattern (rows -> columns) second; for row coloring the other way round.
        """
        n = own_indptr.size - 1
        return cls(n, own_indptr, own_indices, other_indptr, other_indices, False, True)


# ----------------------------------------------------------------------------- kernels


@njit(cache=True)
def _degrees(n, p1, i1, p2, i2):
    """Distinct-neighbor count of every vertex (marker array, no resets)."""
    deg = np.zeros(n, np.int64)
    mark = np.full(n, -1, np.int64)
    for v in range(n):
        mark[v] = v  # never count v itself
        d = 0
        for a in range(p1[v], p1[v + 1]):
            r = i1[a]
            for b in range(p2[r], p2[r + 1]):
                u = i2[b]
                if mark[u] != v:
                    mark[u] = v
                    d += 1
        deg[v] = d
    return deg


@njit(cache=True)
def _adjacency_degrees(n, indptr, indices):
    """Row lengths without the diagonal entry (canonical CSR: unique entries per row)."""
    deg = np.empty(n, np.int64)
    for v in range(n):
        d = indptr[v + 1] - indptr[v]
        for a in range(indptr[v], indptr[v + 1]):
            if indices[a] == v:
                d -= 1
        deg[v] = d
    return deg


@njit(cache=True)
def _by_decreasing_key(key):
    """Stable counting sort of vertices by decreasing ``key`` (ties by increasing index)."""
    n = key.size
    maxk = 0
    for v in range(n):
        if key[v] > maxk:
            maxk = key[v]
    count = np.zeros(maxk + 2, np.int64)
    for v in range(n):
        count[maxk - key[v] + 1] += 1
    for k in range(maxk + 1):
        count[k + 1] += count[k]
    order = np.empty(n, np.int64)
    for v in range(n):
        slot = maxk - key[v]
        order[count[slot]] = v
        count[slot] += 1
    return order


# Degree buckets are last-in first-out stacks: the vertex taken is the last one of the
# extreme bucket, and a vertex whose degree changes is appended to its new bucket.
# Smallest last and incidence degree take a vertex out of its bucket by moving the
# bucket's last vertex into its place, the tie-breaking of ColPack's vector buckets; it
# matters on regular grids (the 2D Laplacian gets 5 colors, the optimum, from smallest
# last). Their buckets are vectors, regions of one array. Dynamic largest first keeps the
# order of the others, so its buckets are doubly linked lists.
#
# Ordering a vertex changes the degree of each of its remaining neighbors by one. With a
# dense row that is every remaining vertex, each step moving all of them from one bucket
# to the next: O(n**2) moves in all, inherent to exact degrees, so a move must cost a few
# independent memory accesses. Hence no list walk (a vector's last vertex is at an index;
# a linked list's new last vertex is a pointer to follow, which chains every removal to
# the previous one), the sizes (tails) of the two buckets of the last move are kept in
# locals instead of being stored and read back at each move (another chain), and the
# loop reassigns no array (Numba would count references there).


@njit(cache=True, inline="always")
def _max_value(a):
    """Largest entry of a non-empty array: a loop, because Numba's ``a.max()`` compiles its
    empty-array error message, which would lengthen every cold start."""
    best = a[0]
    for i in range(1, a.size):
        if a[i] > best:
            best = a[i]
    return best


@njit(cache=True)
def _vector_buckets(n, key, nkeys, slots):
    """Vector buckets holding every vertex, appended in increasing index order:
    ``(arena, half, end, start, cap, size, pos)``.

    Bucket ``d`` holds ``size[d]`` vertices at ``arena[start[d]:start[d] + size[d]]``
    in a region of ``cap[d]`` slots; ``pos[v]`` is the place of ``v`` in its bucket.
    ``arena`` has two halves of ``slots`` slots (at least ``2 n + 4``); regions are
    allocated in the current one, from ``end`` (see :func:`_grow`).
    """
    size = np.zeros(nkeys, np.int64)
    for v in range(n):
        size[key[v]] += 1
    start = np.empty(nkeys, np.int64)
    cap = np.empty(nkeys, np.int64)
    end = 0
    for d in range(nkeys):  # loops, not slices: less to compile
        start[d] = end
        cap[d] = size[d]
        end += size[d]
        size[d] = 0
    arena = np.empty(2 * slots, np.int32)
    pos = np.empty(n, np.int32)
    for v in range(n):
        d = key[v]
        arena[start[d] + size[d]] = v
        pos[v] = size[d]
        size[d] += 1
    return arena, 0, end, start, cap, size, pos


@njit(cache=True, inline="always")
def _move_region(b, slots, arena, end, start, cap, size):
    """Copy bucket ``b`` to a region of ``slots`` slots at ``arena[end:]``; returns the
    new end."""
    first = start[b]
    for k in range(size[b]):
        arena[end + k] = arena[first + k]
    start[b] = end
    cap[b] = slots
    return end + slots


@njit(cache=True)
def _grow(d, arena, half, end, start, cap, size, lo, hi):
    """Room for one more vertex in the full bucket ``d`` (``size`` must be up to date);
    returns ``(half, end)``: the start of the half of ``arena`` in use, and its first
    free slot. Buckets outside ``lo..hi`` must be empty.

    The last region allocated grows in place to twice its slots; another moves to
    ``end`` with twice its slots. When the half is full, buckets ``lo..hi`` are copied
    to the other half with half their size again as free slots, ``d`` last with twice
    its slots: at most ``2 n + 4`` slots, which fit, so nothing is allocated; with
    halves of ``4 n`` slots the copies cost less than the moves that filled the half.
    """
    need = max(2 * cap[d], 4)
    limit = half + arena.size // 2
    if start[d] + cap[d] == end and start[d] + need <= limit:
        cap[d] = need
        return half, start[d] + need
    if end + need <= limit:
        return half, _move_region(d, need, arena, end, start, cap, size)
    half = arena.size // 2 - half
    end = half
    for b in range(lo, hi + 1):
        if b != d:
            end = _move_region(b, size[b] + (size[b] >> 1), arena, end, start, cap, size)
    return half, _move_region(d, need, arena, end, start, cap, size)


@njit(cache=True)
def _vector_bucket_order(n, p1, i1, p2, i2, key, nkeys, delta, slots):
    """Repeatedly take the last vertex of the extreme bucket (the lowest for ``delta=-1``,
    the highest for ``delta=+1``) and move each remaining neighbor by ``delta``.

    Returns the vertices in the order taken. Removal moves the bucket's last vertex into
    the gap. The extreme bucket moves by at most one step in direction ``delta`` per
    vertex taken, as every neighbor changes by one. ``slots``: see
    :func:`_vector_buckets`.
    """
    taken = np.empty(n, np.int64)
    if n == 0:
        return taken
    # half: 0 from a return value, not a literal (Numba would compile _grow for it)
    arena, half, end, start, cap, size, pos = _vector_buckets(n, key, nkeys, slots)
    # mark[u] == t: u was moved at step t; removed vertices hold n, above every step
    mark = np.full(n, -1, np.int32)
    far = nkeys - 1 if delta < 0 else 0  # the far end: no vertex moves there
    cur = nkeys - 1 - far  # the extreme nonempty bucket
    while size[cur] == 0:
        cur -= delta
    near = cur  # the farthest bucket reached in direction delta
    # buckets beyond near or far are empty with no slots
    for t in range(n):
        nc = cur + delta
        if 0 <= nc < nkeys and size[nc] > 0:
            cur = nc
        while size[cur] == 0:
            cur -= delta
        if 0 <= cur + delta < nkeys and (cur + delta - near) * delta > 0:
            near = cur + delta
        s = size[cur] - 1
        v = arena[start[cur] + s]
        size[cur] = s
        mark[v] = n
        taken[t] = v
        # the buckets of the last move, x and y = x + delta, with sizes, starts, y's capacity
        x = -1
        y = sx = fx = sy = fy = cy = 0
        for a in range(p1[v], p1[v + 1]):
            r = i1[a]
            for b in range(p2[r], p2[r + 1]):
                u = i2[b]
                if mark[u] >= t:  # removed, or moved already at this step
                    continue
                mark[u] = t
                d = key[u]
                if d != x:
                    if x >= 0:
                        size[x] = sx
                        size[y] = sy
                    x = d
                    y = d + delta
                    sx = size[x]
                    fx = start[x]
                    sy = size[y]
                    fy = start[y]
                    cy = cap[y]
                sx -= 1  # the last vertex of bucket x fills the gap
                last = arena[fx + sx]
                gap = pos[u]
                arena[fx + gap] = last
                pos[last] = gap
                key[u] = y
                if sy == cy:
                    size[x] = sx
                    size[y] = sy
                    while far != y and size[far] == 0:
                        far += delta
                    half, end = _grow(y, arena, half, end, start, cap, size,
                                      min(near, far), max(near, far))
                    fx = start[x]
                    fy = start[y]
                    cy = cap[y]
                arena[fy + sy] = u
                pos[u] = sy
                sy += 1
        if x >= 0:
            size[x] = sx
            size[y] = sy
    return taken


@njit(cache=True, inline="always")
def _push_back(v, last, nxt, prv):
    """Append ``v`` to the linked list whose last vertex is ``last``; returns ``v``."""
    prv[v] = last
    nxt[v] = -1
    if last >= 0:
        nxt[last] = v
    return v


@njit(cache=True)
def _dynamic_largest_first(n, p1, i1, p2, i2, deg):
    """Repeatedly take the vertex of largest degree in the graph not yet ordered.

    Unlike the other dynamic orders, ties go to the smallest index first and removal
    keeps bucket order: on the Brusselator this reaches 10 colors where ColPack's
    tie-breaking gives 12. Buckets are doubly linked lists, ``tail[d]`` the last vertex
    of bucket ``d`` (-1: empty).
    """
    order = np.empty(n, np.int64)
    if n == 0:
        return order
    key = deg.astype(np.int32)
    cur = _max_value(deg)
    tail = np.full(cur + 1, -1, np.int32)
    nxt = np.full(n, -1, np.int32)
    prv = np.full(n, -1, np.int32)
    for v in range(n - 1, -1, -1):  # the last pushed, vertex 0, is taken first
        tail[key[v]] = _push_back(v, tail[key[v]], nxt, prv)
    # mark[u] == t: u was moved at step t; removed vertices hold n, above every step
    mark = np.full(n, -1, np.int32)
    for t in range(n):
        while tail[cur] < 0:  # degrees only decrease: the maximum never comes back up
            cur -= 1
        v = tail[cur]
        p = prv[v]
        tail[cur] = p
        if p >= 0:
            nxt[p] = -1
        mark[v] = n
        order[t] = v
        # the buckets of the last move, x and y = x - 1, with their tails
        x = -1
        y = tx = ty = 0
        for a in range(p1[v], p1[v + 1]):
            r = i1[a]
            for b in range(p2[r], p2[r + 1]):
                u = i2[b]
                if mark[u] >= t:  # removed, or moved already at this step
                    continue
                mark[u] = t
                d = key[u]
                if d != x:
                    if x >= 0:
                        tail[x] = tx
                        tail[y] = ty
                    x = d
                    y = d - 1
                    tx = tail[x]
                    ty = tail[y]
                p = prv[u]
                q = nxt[u]
                if p >= 0:
                    nxt[p] = q
                if q >= 0:
                    prv[q] = p
                else:
                    tx = p
                key[u] = y
                ty = _push_back(u, ty, nxt, prv)
        if x >= 0:
            tail[x] = tx
            tail[y] = ty
    return order


# --------------------------------------------------------------------------- strategies


def distance2_work(graph: NeighborhoodGraph) -> int:
    """Adjacency entries a distance-2 scan of every vertex visits:
    ``sum over v of sum over r in L1[v] of |L2[r]|``, the work of a degree-based order.

    Computed from counts in ``O(n + nnz)`` without a temporary of size ``nnz``.
    """
    g = graph
    if g.i1.size == 0:
        return 0
    lens2 = np.diff(g.p2)
    return int(np.dot(np.bincount(g.i1, minlength=lens2.size), lens2))


def degrees(graph: NeighborhoodGraph) -> np.ndarray:
    """Number of distinct neighbors of every vertex of ``graph`` (int64)."""
    if graph.is_adjacency:
        return _adjacency_degrees(graph.n, graph.p2, graph.i2)
    # the twin's temporary holds every distance-2 pair: only for few of them
    if (is_small(graph.i2.size, _degrees)
            and distance2_is_small(distance2_work(graph))):
        return distance2_degrees(graph.n, graph.p1, graph.i1, graph.p2, graph.i2)
    return _degrees(graph.n, graph.p1, graph.i1, graph.p2, graph.i2)


def natural_order(graph: NeighborhoodGraph, seed=None) -> np.ndarray:
    """Vertices in index order ``0, 1, ..., n-1``."""
    return np.arange(graph.n, dtype=np.int64)


def random_order(graph: NeighborhoodGraph, seed=None) -> np.ndarray:
    """A uniformly random permutation from ``numpy.random.default_rng(seed)``."""
    return np.random.default_rng(seed).permutation(graph.n).astype(np.int64)


def largest_first_order(graph: NeighborhoodGraph, seed=None) -> np.ndarray:
    """Largest first: vertices by decreasing degree, ties by increasing index.

    Welsh and Powell, "An upper bound for the chromatic number of a graph and its
    application to timetabling problems", Computer J. 10 (1967). For column coloring
    the degree is the distance-2 degree in the bipartite graph, as for the partial
    distance-2 colorings of Gebremedhin, Manne and Pothen, "What color is your
    Jacobian? Graph coloring for computing derivatives", SIAM Review 47(4), 2005.
    A counting sort over degree buckets: linear time.
    """
    if is_small(graph.i2.size, _by_decreasing_key):
        return by_decreasing_key(degrees(graph))
    return _by_decreasing_key(degrees(graph))


def smallest_last_order(graph: NeighborhoodGraph, seed=None) -> np.ndarray:
    """Smallest last: repeatedly remove a vertex of minimum degree in the remaining graph
    and place it last.

    Matula and Beck, "Smallest-last ordering and clustering and graph coloring
    algorithms", J. ACM 30(3), 1983. Degree buckets are LIFO stacks with
    swap-with-last removal, the tie-breaking of ColPack (Gebremedhin, Nguyen, Patwary
    and Pothen, "ColPack: Software for graph coloring and related problems in scientific
    computing", ACM TOMS 40(1), 2013); on the 5-point 2D Laplacian this order reaches
    the optimal 5 colors.
    """
    g = graph
    deg = degrees(g)
    nkeys = int(deg.max()) + 1 if g.n else 1
    # called from Python: a literal delta in a kernel would compile it once per caller
    taken = _vector_bucket_order(g.n, g.p1, g.i1, g.p2, g.i2, deg.astype(np.int32), nkeys,
                                 -1, 4 * g.n + 16)
    return taken[::-1].copy()


def incidence_degree_order(graph: NeighborhoodGraph, seed=None) -> np.ndarray:
    """Incidence degree: repeatedly take the vertex with the most neighbors already
    ordered.

    Coleman and Moré, "Estimation of sparse Jacobian matrices and graph coloring
    problems", SIAM J. Numer. Anal. 20(1), 1983. LIFO degree buckets with ColPack's
    tie-breaking (see :func:`smallest_last_order`).
    """
    g = graph
    deg = degrees(g)
    nkeys = int(deg.max()) + 1 if g.n else 1
    return _vector_bucket_order(g.n, g.p1, g.i1, g.p2, g.i2, np.zeros(g.n, np.int32), nkeys,
                                1, 4 * g.n + 16)


def dynamic_largest_first_order(graph: NeighborhoodGraph, seed=None) -> np.ndarray:
    """Dynamic largest first: repeatedly take the vertex of largest degree in the graph
    induced by the vertices not yet ordered.

    As defined for ColPack (Gebremedhin, Nguyen, Patwary and Pothen, ACM TOMS 40(1),
    2013). Degree buckets; ties go to the smallest vertex index and removal keeps the
    bucket order, which gives 10 colors on the Brusselator Jacobian.
    """
    g = graph
    return _dynamic_largest_first(g.n, g.p1, g.i1, g.p2, g.i2, degrees(g))


GRAPH_ORDERINGS: dict[str, Callable[[NeighborhoodGraph, object], np.ndarray]] = {
    "natural": natural_order,
    "random": random_order,
    "largest_first": largest_first_order,
    "smallest_last": smallest_last_order,
    "incidence_degree": incidence_degree_order,
    "dynamic_largest_first": dynamic_largest_first_order,
}


def _adjacency_strategy(fn):
    def order_fn(indptr: np.ndarray, indices: np.ndarray, seed=None) -> np.ndarray:
        return fn(NeighborhoodGraph.adjacency(indptr, indices), seed)

    order_fn.__name__ = fn.__name__
    order_fn.__doc__ = (
        "Ordering of the adjacency graph of a symmetric CSR pattern ``(indptr, indices)`` "
        "(diagonal ignored); returns an int64 permutation.\n\n" + (fn.__doc__ or ""))
    return order_fn


ORDERINGS: dict[str, Callable[[np.ndarray, np.ndarray, object], np.ndarray]] = {
    name: _adjacency_strategy(fn) for name, fn in GRAPH_ORDERINGS.items()
}

ORDER_NAMES: tuple[str, ...] = tuple(GRAPH_ORDERINGS)
