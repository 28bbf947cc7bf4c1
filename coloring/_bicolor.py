"""Bicoloring of nonsymmetric patterns: a few JVPs and a few VJPs recover the whole matrix.

Gebremedhin, Manne and Pothen, "What color is your Jacobian? Graph coloring for computing
derivatives", SIAM Review 47(4), 2005, section 6 (bidirectional partitioning, star and
acyclic bicoloring), done as SparseMatrixColorings.jl does: the ``m x n`` pattern ``A``
is turned into the symmetric ``(m+n) x (m+n)`` pattern ``[[0, A], [A^T, 0]]`` (vertices
``0..m-1`` are the rows, ``m..m+n-1`` the columns), which is star colored (direct
recovery, GTMP 2007 Alg. 4.1) or acyclic colored (recovery by substitution, GTMP 2007
Alg. 3.1) with the kernels of :mod:`coloring.symmetric._star` and
:mod:`coloring.symmetric._acyclic`.

Why this works: for a seed ``S`` of that symmetric matrix, row vertex ``i`` of the
product reads ``(A @ S_col)[i, c]`` (its neighbors are columns) and column vertex ``j``
reads ``(S_row.T @ A)[c, j]``. So the colors of the columns define the JVP seeds and the
colors of the rows the VJP seeds, and an entry whose star hub is a column is read from a
JVP, one whose hub is a row from a VJP. The two color sets are kept apart (the row colors
are renumbered after the column colors before the decompression plan is built, which changes
no two-colored path or cycle since every edge joins a row and a column); colors that
decompression never reads are neutral: their rows or columns get color 0 (not used by
any product) and the rest are renumbered ``1..k`` on each side.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any, Sequence

import numpy as np
import scipy.sparse as sp

from ._decompression import (
    DecompressionIndex,
    bicolor_sides,
    check_format,
    direct_index,
    gather_bicolor,
    index_dtype,
    pattern_arrays,
    read_sides,
    substitute_bicolor,
)
from ._errors import ColoringError
from ._jit import njit
from ._matrices import shared_csr
from ._orderings import ORDERINGS
from ._pattern import as_pattern, transpose_pattern
from .symmetric._acyclic import AcyclicPlan
from .symmetric._coloring import SYMMETRIC_PROBLEMS
from .symmetric._graph import SymmetricGraph, adjacency_order_work
from .symmetric._improve import MOVES
from .symmetric._star import StarPlan

__all__ = ["BICOLOR_PROBLEMS", "BicoloringResult", "bicolor", "check_bicoloring"]

#: Bicoloring problem -> symmetric problem colored on the bipartite graph.
BICOLOR_PROBLEMS: dict[str, str] = {"bicolor": "star", "bicolor_substitution": "acyclic"}


def bipartite_pattern(P: sp.csr_array) -> tuple[np.ndarray, np.ndarray]:
    """CSR ``(indptr, indices)`` of ``[[0, A], [A^T, 0]]`` for the canonical pattern ``P``.

    Rows come first, so the stored entries of the first ``m`` rows are exactly ``P``'s, in
    ``P``'s order (position ``p`` of ``P`` is position ``p`` of the bipartite pattern).
    """
    m, n = P.shape
    tptr, tind = transpose_pattern(P)
    nnz = P.indices.size
    indptr = np.concatenate([P.indptr, nnz + tptr[1:]]).astype(np.int64)
    indices = np.concatenate([P.indices + m, tind]).astype(np.int64)
    return indptr, indices


def _split_palette(colors: np.ndarray, m: int) -> tuple[np.ndarray, int]:
    """Renumber the colors so that the rows' and the columns' color sets are disjoint:
    the columns' colors first, then the rows'. Colors stay below the number of vertices
    (the kernels' work arrays are sized by it).

    Returns the new colors and the first row color."""
    split = np.empty_like(colors)
    col_used, split[m:] = np.unique(colors[m:], return_inverse=True)
    _, split[:m] = np.unique(colors[:m], return_inverse=True)
    split[:m] += col_used.size
    return split, int(col_used.size)


def _plan_for(graph: SymmetricGraph, problem: str, result: Any, m: int):
    """Star or acyclic plan of a kernel result, with separate row and column colors."""
    if problem == "star":
        colors, star_of_edge, hub = result
        split, k = _split_palette(colors, m)
        return StarPlan(graph, split, star_of_edge, hub.copy()), k
    split, k = _split_palette(result, m)
    return AcyclicPlan(graph, split), k


@njit(cache=True)
def _side_colors(colors, read_color, first_row_color, keep_all):
    """Renumber the read colors per side; neutral colors become 0.

    Column colors are below ``first_row_color``, row colors from it on. With
    ``keep_all`` every color some vertex has counts as read (no post-processing).
    Returns ``(color_map, vertex_colors, k_col, k_row)``: ``color_map[c]`` is
    the 0-based product index of read color ``c`` on its side (-1 if neutral) and
    ``vertex_colors[v]`` the 1-based color of vertex ``v`` (0: in no product).
    """
    nvert = colors.size
    ncol = 0
    for v in range(nvert):
        if colors[v] + 1 > ncol:
            ncol = colors[v] + 1
    needed = np.zeros(ncol, np.bool_)
    for t in range(read_color.size):
        needed[read_color[t]] = True
    if keep_all:
        for v in range(nvert):
            needed[colors[v]] = True
    color_map = np.full(ncol, -1, np.int64)
    k_col = 0
    k_row = 0
    for c in range(ncol):
        if needed[c]:
            if c < first_row_color:
                color_map[c] = k_col
                k_col += 1
            else:
                color_map[c] = k_row
                k_row += 1
    vertex_colors = np.zeros(nvert, np.int64)
    for v in range(nvert):
        if color_map[colors[v]] >= 0:
            vertex_colors[v] = color_map[colors[v]] + 1
    return color_map, vertex_colors, k_col, k_row


class _Bicoloring:
    """One bicoloring of the bipartite graph: side colors and the reads of decompression."""

    def __init__(self, graph: SymmetricGraph, problem: str, result: Any, m: int, n: int,
                 nnz: int, postprocess: bool = True) -> None:
        plan, first_row_color = _plan_for(graph, problem, result, m)
        self.problem = problem
        if problem == "star":
            read_vertex, read_color = plan.read_positions()
            # both stored positions of an edge read the same place: keep P's (the first nnz)
            read_vertex, read_color = read_vertex[:nnz], read_color[:nnz]
            self.steps = None
        else:
            plan._build()
            read_vertex, read_color = plan._read_row, plan._read_col
            # the row end of each edge is its smaller vertex: out_a is the position in P
            self.steps = (np.ascontiguousarray(plan._acc_src),
                          np.ascontiguousarray(plan._acc_dst),
                          np.ascontiguousarray(plan._out_a), int(plan._acc.size))
        color_map, vcolors, k_col, k_row = _side_colors(plan.colors, read_color,
                                                        first_row_color, not postprocess)
        self.row_colors = vcolors[:m]
        self.column_colors = vcolors[m:]
        self.ncolumn_colors = int(k_col)
        self.nrow_colors = int(k_row)
        self.reads = read_sides(read_vertex, read_color, color_map, m)

    @property
    def nproducts(self) -> int:
        return self.ncolumn_colors + self.nrow_colors


#: Improvement moves (:data:`coloring.symmetric._improve.MOVES`) used for bicolorings: the
#: ones that keep the sparse rows and columns ahead of the dense ones. Grouping the
#: classes in reverse or random order puts the hubs' classes first, which is the
#: order the greedy bicoloring handles worst (n colors, and quadratic time, on an
#: arrowhead).
BICOLOR_MOVES = ("perturb", "largest_class_first")


def _bipartite_order(name: str, indptr: np.ndarray, indices: np.ndarray,
                     seed: Any) -> np.ndarray:
    """The named order of the bipartite graph, visited in reverse.

    Reversed, a degree order colors the sparse rows and columns first and the dense ones
    last, so the dense ones take colors of their own and become the hubs whose one
    product recovers them (a nonsymmetric arrowhead needs 3 products instead of ``n``:
    its dense row and column are the hubs; on the shared SuiteSparse matrices the
    reversed orders also need fewer products, e.g. 295 instead of 1660 on orani678).
    """
    return np.ascontiguousarray(ORDERINGS[name](indptr, indices, seed)[::-1])


def _bipartite_order_work(name: str, graph: SymmetricGraph) -> int:
    """Work counted for a named order of the bipartite graph and its reversal."""
    return adjacency_order_work(name, graph.n, graph.nnz) + graph.n


#: Work counted per vertex and per stored entry of the bipartite graph for the
#: decompression plan of a coloring (:class:`_Bicoloring`), by symmetric problem: the
#: star plan's orientation of trivial stars, its reads and the side colors are about
#: four linear passes; the acyclic plan's peeling of the two-colored trees about twice
#: that.
PLAN_WORK = {"star": 4, "acyclic": 8}


def bicolor(P: sp.csr_array, problem: str, orders: Sequence[str], *, seed: Any = None,
            improve: int = 0, time_limit: float | None = None,
            postprocess: bool = True, effort: float = 1.0,
            min_work: float = 0.0) -> BicoloringResult:
    """Bicolor the canonical pattern ``P`` (called by :func:`coloring.color`).

    Each order is applied, reversed (:func:`_bipartite_order`), to the bipartite graph;
    the coloring needing the fewest products
    (after neutral colors are dropped) is kept. ``improve`` passes re-run the kernel on
    orders from the moves :data:`BICOLOR_MOVES` and keep the fewest products.
    ``postprocess=False`` keeps every color of the coloring (no neutral color dropped).

    The passes have a deterministic budget: they may count ``effort`` times what the
    orders counted, and at least ``min_work`` (:func:`bicolor_work` says what is
    counted). ``time_limit`` (seconds), only if given, is an extra cap.
    """
    return bicolor_work(P, problem, orders, seed=seed, improve=improve,
                        time_limit=time_limit, postprocess=postprocess, effort=effort,
                        min_work=min_work)[0]


def bicolor_work(P: sp.csr_array, problem: str, orders: Sequence[str], *, seed: Any = None,
                 improve: int = 0, time_limit: float | None = None,
                 postprocess: bool = True, effort: float = 1.0,
                 min_work: float = 0.0) -> tuple[BicoloringResult, int, float]:
    """:func:`bicolor`, with the work the improvement counted and its limit.

    Work is counted on the bipartite graph: each order :func:`_bipartite_order_work`,
    each kernel pass what its kernel counts (adjacency positions and per-vertex list
    entries visited), each move one per vertex, and each coloring's decompression plan
    :data:`PLAN_WORK` per vertex and stored entry. The improvement passes may count
    ``max(min_work, effort * (the orders' work))``; a pass that would exceed it is not
    started, or stops inside its kernel, so the count never passes that limit.
    """
    sym = BICOLOR_PROBLEMS[problem]
    strategy = SYMMETRIC_PROBLEMS[sym]
    m, n = P.shape
    nnz = int(P.indices.size)
    indptr, indices = bipartite_pattern(P)
    graph = SymmetricGraph(indptr, indices)
    plan_work = PLAN_WORK[sym] * (graph.n + graph.nnz)
    best = best_result = best_order = None
    best_name, tried = "", {}
    order_work = 0
    for name in orders:
        order = _bipartite_order(name, indptr, indices, seed)
        run = strategy.kernel(graph, order)
        bic = _Bicoloring(graph, sym, run.result, m, n, nnz, postprocess)
        order_work += _bipartite_order_work(name, graph) + run.work + plan_work
        tried[name] = bic.nproducts
        if best is None or bic.nproducts < best.nproducts:
            best, best_result, best_order, best_name = bic, run.result, order, name
    lower = 1 if nnz else 0
    work, work_limit = 0, max(float(min_work), effort * order_work)
    if improve and best.nproducts > max(2, lower):
        rng = np.random.default_rng(seed)
        moves = [MOVES[name] for name in BICOLOR_MOVES]
        colors = strategy.colors_of(best_result)
        improved = False
        t0 = time.perf_counter()
        for it in range(int(improve)):
            if best.nproducts <= max(2, lower) or (
                    time_limit is not None and time.perf_counter() - t0 > time_limit):
                break
            # the move visits every vertex, the plan is counted before the kernel runs
            if work + graph.n + plan_work > work_limit:
                break
            work += graph.n + plan_work
            order = moves[it % len(moves)](best_order, colors, rng)
            run = strategy.kernel(graph, order, None, work_limit - work)
            work += run.work
            if run.result is None:  # over budget
                break
            bic = _Bicoloring(graph, sym, run.result, m, n, nnz, postprocess)
            if bic.nproducts <= best.nproducts:  # ties accepted: the search keeps moving
                improved = improved or bic.nproducts < best.nproducts
                best, best_order, colors = bic, order, strategy.colors_of(run.result)
        if improved:
            best_name += "+iterated_greedy"
    result = BicoloringResult(P, best, problem, order=best_name, lower_bound=lower,
                              orders_tried=tried)
    return result, work, work_limit


class BicoloringResult:
    """A bicoloring of an ``m x n`` pattern: JVP seeds on the columns, VJP seeds on the rows.

    Attributes
    ----------
    problem : str
        ``"bicolor"`` (direct recovery) or ``"bicolor_substitution"``.
    pattern : scipy.sparse.csr_array
        Canonical boolean pattern that was colored.
    column_colors : numpy.ndarray of int64
        ``(n,)``: column ``j`` is in JVP number ``column_colors[j] - 1``; 0 means in none.
    row_colors : numpy.ndarray of int64
        ``(m,)``: row ``i`` is in VJP number ``row_colors[i] - 1``; 0 means in none.
    ncolumn_colors, nrow_colors : int
        Number of JVPs and of VJPs.
    nproducts : int
        Their sum: products per Jacobian. ``ncolors`` is the same number.
    order : str
        Order that produced the kept coloring (``+iterated_greedy`` if improved).
    orders_tried : dict
        Products needed by each order tried.
    lower_bound : int
        1 for a nonempty pattern (a bound, not a tight one).
    """

    def __init__(self, pattern: sp.csr_array, bic: _Bicoloring, problem: str, *,
                 order: str = "", lower_bound: int = 0,
                 orders_tried: dict[str, int] | None = None) -> None:
        self.pattern = pattern
        self.problem = problem
        self.column_colors = np.ascontiguousarray(bic.column_colors, dtype=np.int64)
        self.row_colors = np.ascontiguousarray(bic.row_colors, dtype=np.int64)
        self.ncolumn_colors = bic.ncolumn_colors
        self.nrow_colors = bic.nrow_colors
        self.order = order
        self.lower_bound = int(lower_bound)
        self.orders_tried = dict(orders_tried or {})
        self._from_row, self._bi, self._bj = bic.reads
        self._steps = bic.steps
        self._acc: np.ndarray | None = None
        self._index: dict[str, DecompressionIndex] = {}

    @property
    def nproducts(self) -> int:
        """JVPs plus VJPs per Jacobian."""
        return self.ncolumn_colors + self.nrow_colors

    @property
    def ncolors(self) -> int:
        """Same as :attr:`nproducts`."""
        return self.nproducts

    @property
    def shape(self) -> tuple[int, int]:
        """Shape of the colored matrix ``A``."""
        return self.pattern.shape

    @property
    def nnz(self) -> int:
        """Number of structural nonzeros."""
        return int(self.pattern.indices.size)

    def __repr__(self) -> str:
        m, n = self.shape
        return (f"BicoloringResult(problem={self.problem!r}, shape=({m}, {n}), nnz={self.nnz}, "
                f"ncolumn_colors={self.ncolumn_colors}, nrow_colors={self.nrow_colors}, "
                f"order={self.order!r})")

    def seed_matrices(self, dtype: Any = np.float64) -> tuple[np.ndarray, np.ndarray]:
        """The batch-first 0/1 seeds: JVP tangents ``(k1, n)`` and VJP cotangents ``(k2, m)``.

        ``V[c, j] = 1`` when ``column_colors[j] == c + 1``; likewise ``W`` on the rows.
        """
        m, n = self.shape
        V = np.zeros((self.ncolumn_colors, n), dtype=dtype)
        W = np.zeros((self.nrow_colors, m), dtype=dtype)
        j = np.flatnonzero(self.column_colors)
        V[self.column_colors[j] - 1, j] = 1
        i = np.flatnonzero(self.row_colors)
        W[self.row_colors[i] - 1, i] = 1
        return V, W

    def compress(self, A_values: Any) -> tuple[np.ndarray, np.ndarray]:
        """``(B_col, B_row) = (A @ V.T, W @ A)`` for the seeds of :meth:`seed_matrices`.

        ``A_values`` is a matrix with (a subset of) the pattern, or its values aligned with
        ``pattern.indices``.
        """
        if isinstance(A_values, np.ndarray) and A_values.ndim == 1:
            if A_values.size != self.nnz:
                raise ColoringError(f"a 1-D array of values must have one entry per "
                                    f"structural nonzero ({self.nnz}), got {A_values.size}")
            M = sp.csr_array((A_values, self.pattern.indices, self.pattern.indptr),
                             shape=self.shape)
        else:
            M = sp.csr_array(A_values)
        if M.shape != self.shape:
            raise ColoringError(f"values have shape {M.shape}, but the colored pattern has "
                                f"shape {self.shape}")
        dtype = M.dtype if M.dtype.kind in "fc" else np.float64
        V, W = self.seed_matrices(dtype=dtype)
        return np.ascontiguousarray(M @ V.T), np.ascontiguousarray(W @ M)

    def decompression_index(self, format: str = "csr", uplo: str = "F", *,
                            pattern: Any = None) -> DecompressionIndex:
        """Where each stored entry is read in the batch-first JVP and VJP products.

        Parameters
        ----------
        format : {"csr", "csc", "coo"}
            Order of the stored values (and structure) of the output matrix.
        uplo : {"F"}
            Bicolorings recover the whole pattern.
        pattern : scipy.sparse matrix, optional
            Must be the colored pattern (checked; default).

        Returns
        -------
        DecompressionIndex
            The output structure; for ``"bicolor"``, ``sides`` gives per side
            (``"jvp"``, then ``"vjp"``) the output positions it recovers, their flat
            index into the batch-first products (``(k1, m)`` JVPs, ``(k2, n)`` VJPs)
            and the seed index behind each value. ``bicolor_substitution`` has no
            ``sides`` and decompresses through :meth:`decompress`; for csc,
            ``csr_position`` maps each output value to the CSR position it fills.
            Cached per format.
        """
        check_format(format, uplo)
        if uplo != "F":
            raise ColoringError(f"a bicoloring recovers the whole pattern: uplo must be 'F', "
                                f"got {uplo!r}")
        if not pattern_arrays(pattern, self.pattern)[2]:
            raise ColoringError("a bicoloring decompresses the pattern it was computed for; "
                                "color this pattern instead")
        if format in self._index:
            return self._index[format]
        P, (m, n) = self.pattern, self.shape
        index = direct_index(P.indptr, P.indices, self.shape, None, "structure",
                             format=format, want_csr_position=True)
        if self._steps is None:
            where = None
            if index.csr_position is not None:  # CSR position -> output position
                where = np.empty(P.indices.size, np.int64)
                where[index.csr_position] = np.arange(P.indices.size)
            idt = index_dtype(m + 1, n + 1, P.indices.size + 1,
                              max(self.ncolumn_colors, 1) * m, max(self.nrow_colors, 1) * n)
            sides = bicolor_sides(self._from_row, self._bi, self._bj, self.shape, where, idt)
            index = replace(index, csr_position=None, sides=sides, product_width=0)
        self._index[format] = index
        return index

    def decompress(self, B_col: Any, B_row: Any, out: sp.csr_array | None = None
                   ) -> sp.csr_array:
        """Recover ``A`` from ``B_col = A @ V.T`` ``(m, k1)`` and ``B_row = W @ A`` ``(k2, n)``.

        Parameters
        ----------
        B_col, B_row : numpy.ndarray
            Any memory layout (pass ``P_col.T`` for batch-first JVP products); never copied.
        out : scipy.sparse.csr_array, optional
            A matrix from an earlier call: its ``.data`` is refilled in place and returned.

        Returns
        -------
        scipy.sparse.csr_array
            Exactly the colored pattern (structural zeros kept, sorted indices).
        """
        m, n = self.shape
        B_col = np.asarray(B_col)
        B_row = np.asarray(B_row)
        if B_col.shape != (m, self.ncolumn_colors):
            raise ColoringError(f"B_col must have shape (m, ncolumn_colors) = "
                                f"({m}, {self.ncolumn_colors}) (A @ V.T), got {B_col.shape}")
        if B_row.shape != (self.nrow_colors, n):
            raise ColoringError(f"B_row must have shape (nrow_colors, n) = "
                                f"({self.nrow_colors}, {n}) (W @ A), got {B_row.shape}")
        dtype = np.result_type(B_col.dtype, B_row.dtype)
        if B_col.dtype != dtype:
            B_col = B_col.astype(dtype)
        if B_row.dtype != dtype:
            B_row = B_row.astype(dtype)
        P = self.pattern
        if out is not None:
            same = (sp.issparse(out) and out.format == "csr" and out.shape == P.shape
                    and ((out.indices is P.indices and out.indptr is P.indptr)
                         or (np.array_equal(out.indptr, P.indptr)
                             and np.array_equal(out.indices, P.indices))))
            if not same:
                raise ColoringError("out must be a csr_array returned by decompress() of this "
                                    "bicoloring (same pattern)")
            if out.data.dtype != dtype:
                raise ColoringError(f"out.data has dtype {out.data.dtype} but B has dtype "
                                    f"{dtype}; pass B of the same dtype or a new out")
            data = out.data
        else:
            data = np.empty(self.nnz, dtype=dtype)
        # empty sides still need a 2-D array of the kernel's dtype
        if self._steps is None:
            gather_bicolor(B_col, B_row, self._from_row, self._bi, self._bj, data)
        else:
            acc_src, acc_dst, out_pos, nslots = self._steps
            acc_dtype = np.result_type(dtype, np.float64)
            if self._acc is None or self._acc.dtype != acc_dtype:
                self._acc = np.zeros(nslots, acc_dtype)
            substitute_bicolor(B_col, B_row, self._from_row, self._bi, self._bj, acc_src,
                                acc_dst, out_pos, self._acc, data)
        if out is not None:
            return out
        return shared_csr(data, P.indices, P.indptr, P.shape)


# ------------------------------------------------------------------------------ checker


def check_bicoloring(A: Any, result: BicoloringResult) -> None:
    """Verify a bicoloring independently of how it was computed.

    Direct (``"bicolor"``): every stored entry ``(i, j)`` is alone either among the
    entries of row ``i`` whose columns share ``j``'s nonzero column color, or among the
    entries of column ``j`` whose rows share ``i``'s nonzero row color. Substitution
    (``"bicolor_substitution"``): repeatedly take any entry that is alone in one of its
    two groups once the entries already recovered are subtracted; all must be recovered.

    Raises
    ------
    ColoringError
        Naming an entry that cannot be recovered, or a mismatch of shapes.
    """
    P = as_pattern(A)
    m, n = P.shape
    if result.column_colors.shape != (n,) or result.row_colors.shape != (m,):
        raise ColoringError(f"bicoloring has {result.row_colors.size} row and "
                            f"{result.column_colors.size} column colors, but the matrix has "
                            f"shape {P.shape}")
    for name, colors, k in (("column", result.column_colors, result.ncolumn_colors),
                            ("row", result.row_colors, result.nrow_colors)):
        if colors.size and (colors.min() < 0 or colors.max() > k):
            raise ColoringError(f"{name} colors must lie in 0..{k} (0: not used)")
    rows = np.repeat(np.arange(m, dtype=np.int64), np.diff(P.indptr))
    cols = P.indices.astype(np.int64)
    cc = result.column_colors[cols]
    rc = result.row_colors[rows]
    # group of entry (i, j) in JVP c = column_colors[j]: (i, c); in VJP r: (r, j)
    key_col = np.where(cc > 0, rows * (result.ncolumn_colors + 1) + cc, -1)
    key_row = np.where(rc > 0, (m * (result.ncolumn_colors + 1))
                       + cols * (result.nrow_colors + 1) + rc, -1)
    recovered = _peel_groups(key_col, key_row,
                             substitution=result.problem == "bicolor_substitution")
    if not recovered.all():
        p = int(np.flatnonzero(~recovered)[0])
        how = ("by substitution" if result.problem == "bicolor_substitution" else "directly")
        raise ColoringError(
            f"entry ({rows[p]}, {cols[p]}) cannot be recovered {how}: it shares its JVP "
            f"group (column color {cc[p]}) and its VJP group (row color {rc[p]}) with other "
            f"entries (color 0: not in any product)")


@njit(cache=True)
def _peel_groups(key_col, key_row, substitution):
    """Which entries are recoverable: alone in one of their two groups (directly), or,
    for substitution, alone once the entries recovered so far are removed from their
    groups. Groups are numbered by sorting their keys (key -1: in no product)."""
    nnz = key_col.size
    keys = np.concatenate((key_col, key_row))
    order = np.argsort(keys, kind="mergesort")
    group = np.full(2 * nnz, -1, np.int64)
    ngroups = 0
    prev = -1
    for t in range(2 * nnz):
        q = order[t]
        if keys[q] < 0:
            continue
        if keys[q] != prev:
            prev = keys[q]
            ngroups += 1
        group[q] = ngroups - 1
    # members of each group (CSR), and how many are not recovered yet
    gptr = np.zeros(ngroups + 1, np.int64)
    for q in range(2 * nnz):
        if group[q] >= 0:
            gptr[group[q] + 1] += 1
    for g in range(ngroups):
        gptr[g + 1] += gptr[g]
    fill = gptr[:-1].copy()
    member = np.empty(gptr[-1], np.int64)
    for q in range(2 * nnz):
        g = group[q]
        if g >= 0:
            member[fill[g]] = q % nnz
            fill[g] += 1
    count = np.diff(gptr)
    recovered = np.zeros(nnz, np.bool_)
    queue = np.empty(ngroups, np.int64)
    top = 0
    for g in range(ngroups):
        if count[g] == 1:
            queue[top] = g
            top += 1
    head = 0
    while head < top:
        g = queue[head]
        head += 1
        for t in range(gptr[g], gptr[g + 1]):
            p = member[t]
            if recovered[p]:
                continue
            recovered[p] = True  # the one entry of g not yet recovered
            if substitution:
                for h in (group[p], group[nnz + p]):
                    if h >= 0:
                        count[h] -= 1
                        if count[h] == 1:
                            queue[top] = h
                            top += 1
            break
    return recovered
