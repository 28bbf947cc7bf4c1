"""Sparse Jacobians from compressed JVPs (column coloring) or VJPs (row coloring)."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import scipy.sparse as sp

from ._common import (
    ArgsBinding,
    PreparedMatrix,
    array_library,
    as_point,
    check_point,
    infer_output_shape,
    inplace_to_outofplace,
    missing_out_argument,
    resolve_backend,
    store_chunk_values,
)
from ._errors import SparseADError
from ._pattern import as_pattern, detect_jacobian
from ._plan import (
    JACOBIAN_DEFAULT_ORDERS,
    Plan,
    build_plan,
    check_given_coloring,
    coloring_options,
    run_coloring,
)
from .backends import Backend

__all__ = ["SparseJacobian", "prepare_jacobian", "jacobian"]

_MODES = ("auto", "column", "row")


def _is_coloring_result(obj: Any) -> bool:
    return hasattr(obj, "colors") and hasattr(obj, "problem") and hasattr(obj, "ncolors")


def choose_jacobian_coloring(P: sp.csr_array, coloring: Any, backend: Backend, mode: str):
    """Column (JVP) or row (VJP) coloring, whichever needs fewer products.

    Returns the coloring result; on a tie the column coloring wins (forward mode has no
    tape to store). ``mode`` forces one side.
    """
    if mode not in _MODES:
        raise SparseADError(f"unknown mode {mode!r}; use 'auto', 'column' (JVPs) or 'row' "
                            f"(VJPs)")
    can = {"column": backend.supports("jvp"), "row": backend.supports("vjp")}
    if _is_coloring_result(coloring):
        check_given_coloring(coloring, P, ("column", "row"))
        side = coloring.problem
        if mode != "auto" and mode != side:
            raise SparseADError(f"mode={mode!r} contradicts the given {side} coloring")
        if not can[side]:
            raise SparseADError(f"a {side} coloring needs {'JVPs' if side == 'column' else 'VJPs'}"
                                f", which backend {backend.name!r} does not provide")
        return coloring
    opts = coloring_options(coloring, JACOBIAN_DEFAULT_ORDERS)
    forced = opts.pop("problem", None)
    if forced is not None:
        if forced not in ("column", "row"):
            raise SparseADError(f"a Jacobian needs problem 'column' or 'row', not {forced!r}")
        if mode not in ("auto", forced):
            raise SparseADError(f"mode={mode!r} contradicts coloring problem={forced!r}")
        mode = forced
    sides = ("column", "row") if mode == "auto" else (mode,)
    sides = tuple(s for s in sides if can[s])
    if not sides:
        need = "JVPs" if mode == "column" else "VJPs" if mode == "row" else "JVPs or VJPs"
        raise SparseADError(f"backend {backend.name!r} provides no {need} for mode={mode!r}")
    if len(sides) == 2 and _structurally_symmetric(P):
        sides = ("column",)  # the row problem of a symmetric pattern is the same problem
    if len(sides) == 1:
        return run_coloring(P, sides[0], opts)
    # Try every order on each side without the improvement pass, then improve only the
    # winner: the pass costs as much as all orders together and rarely changes the winner.
    improve = opts.pop("improve", False)
    time_limit = opts.pop("time_limit", None)
    best = None
    for side in sides:
        if best is not None and best.ncolors <= _lower_bound(P, side):
            continue  # this side cannot need fewer colors than the best so far
        result = run_coloring(P, side, opts)
        if best is None or result.ncolors < best.ncolors:
            best = result
    if improve and best.ncolors > _lower_bound(P, best.problem):
        order = getattr(best, "order", "") or opts.get("order", "largest_first")
        order = order.split("+")[0]
        improved = run_coloring(P, best.problem, {**opts, "order": order, "improve": improve,
                                                  "time_limit": time_limit})
        if improved.ncolors < best.ncolors:
            best = improved
    return best


def _structurally_symmetric(P: sp.csr_array) -> bool:
    """Whether the pattern equals its transpose (then row and column coloring coincide)."""
    if P.shape[0] != P.shape[1]:
        return False
    T = sp.csr_array(P.T)
    T.sort_indices()
    return bool(np.array_equal(T.indptr, P.indptr) and np.array_equal(T.indices, P.indices))


def _lower_bound(P: sp.csr_array, side: str) -> int:
    """Colors any coloring of this side needs: the most nonzeros in a row (column side)
    or in a column (row side)."""
    if P.nnz == 0:
        return 0
    if side == "column":
        return int(np.diff(P.indptr).max())
    return int(np.bincount(P.indices, minlength=P.shape[1]).max())


class SparseJacobian(PreparedMatrix):
    """A sparse Jacobian prepared once (pattern, coloring, backend) and evaluated many times.

    Attributes
    ----------
    sparsity : scipy.sparse.csr_array
        Boolean pattern ``(m, n)`` (outputs x inputs, flattened in C order).
    coloring : coloring.ColoringResult
        The coloring used; ``coloring.problem`` is ``"column"`` or ``"row"``.
    mode : str
        ``"column"`` (one JVP per color) or ``"row"`` (one VJP per color).
    ncolors : int
        Products per evaluation.
    nnz : int
        Stored values per evaluation (structural zeros included).
    format : str
        ``"csr"``, ``"csc"`` or ``"coo"``; the value order is the same on every call.
    backend : Backend
    """

    def __init__(self, *, f, backend, binding, x, pattern, coloring, plan: Plan,
                 out_shape, chunk_size):
        super().__init__(backend=backend, binding=binding, x=x, pattern=pattern,
                         coloring=coloring, plan=plan)
        self.f = f
        self.output_shape = out_shape
        self.chunk_size = chunk_size

    @property
    def _fast_kind(self) -> str | None:  # type: ignore[override]
        return {"column": "jvp", "row": "vjp"}.get(self._plan.problem)

    # -- descriptive ------------------------------------------------------------------

    @property
    def mode(self) -> str:
        return self._plan.problem

    def __repr__(self) -> str:
        m, n = self.shape
        return (f"SparseJacobian(shape=({m}, {n}), nnz={self.nnz}, mode={self.mode!r}, "
                f"ncolors={self.ncolors}, format={self.format!r}, "
                f"backend={self.backend.name!r})")

    # -- evaluation -------------------------------------------------------------------

    def _fill(self, x: np.ndarray, data: np.ndarray | None, args: tuple | None,
              need_value: bool = True) -> tuple[np.ndarray | None, np.ndarray]:
        """Write the values into ``data`` (None: adopt the backend's); return
        ``(f(x) flattened, data)``. f(x) is None when not asked for:
        ``need_value=False`` lets the backend skip the primal."""
        x = check_point(x, self._x_shape, self._x_dtype)
        ctx = self._binding.get(args)
        plan = self._plan
        m = plan.shape[0]
        be = self.backend
        need_value = need_value or not be.skips_value()
        if plan.ncolors == 0:  # no structural nonzeros: no products at all
            y = np.asarray(be.value(ctx, x)).reshape(-1) if need_value else None
        else:
            y = None
            for chunk in plan.chunks:
                seeds = chunk.seeds
                direct = chunk.positions is None  # values can land in data directly
                if plan.problem == "column":
                    if need_value:
                        y_c, vals = be.jvp_gather_entries(ctx, x, seeds, chunk.flat_index,
                                                          chunk.entry_input,
                                                          out=data if direct else None)
                    else:
                        vals = be.jvp_gather_values(ctx, x, seeds, chunk.flat_index,
                                                    chunk.entry_input,
                                                    out=data if direct else None)
                elif need_value:
                    y_c, vals = be.vjp_gather(ctx, x, seeds, chunk.flat_index)
                else:
                    vals = be.vjp_gather_values(ctx, x, seeds, chunk.flat_index)
                if need_value and y is None:
                    y = np.asarray(y_c).reshape(-1)
                data = store_chunk_values(data, chunk, vals, be.name, plan.seeds.dtype)
        if y is not None and y.shape != (m,):
            raise SparseADError(f"f's output changed size: {y.size} values now, {m} at "
                                f"preparation; prepare again for the new output")
        return y, data

    def value_and_jacobian(self, x: Any, out: Any = None, *, args: tuple | None = None):
        """``(f(x), J(x))``; f(x) has f's output shape, J as in :meth:`__call__`."""
        y, data = self._fill(x, self._data_for(out), args)
        if self.output_shape is not None:
            y = y.reshape(self.output_shape)
        return y, (out if out is not None else self._plan.new_matrix(data))


def prepare_jacobian(f: Callable, x: Any, *, backend: Any = "fd", args: tuple = (),
                     sparsity: Any = None, coloring: Any = None, format: str = "csr",
                     mode: str = "auto", chunk_size: int | None = None, out: Any = None,
                     sparsity_from: Callable | None = None,
                     sparsity_mode: str = "global") -> SparseJacobian:
    """Prepare a sparse Jacobian of ``f`` at ``x``: detect, color, build the gather plan.

    Parameters
    ----------
    f : callable
        ``f(x, *args)`` returning an array of any shape (or, with ``out=``, an in-place
        ``f(out, x, *args)``). Written with numpy for ``"fd"``/``Custom``, ``jax.numpy``
        for ``"jax"``, torch for ``"torch"``.
    x : array_like
        Point of preparation, float32 or float64; later calls need the same shape/dtype.
    backend : str or Backend
        ``"fd"`` (default), ``"jax"``, ``"torch"``, or an instance such as
        ``sparsead.backends.Custom(...)``.
    args : tuple
        Constant extra arguments of f (never differentiated).
    sparsity : array_like or scipy.sparse matrix, optional
        Known pattern ``(m, n)``; no detection then.
    coloring : coloring.ColoringResult, str, tuple or dict, optional
        A coloring of the pattern, or options of :func:`coloring.color`: an order name,
        a tuple of orders, or a dict (``{"order": ..., "problem": "row", ...}``). By
        default largest-first on each side (column, row), then 10 passes of iterated
        greedy on the side with fewer colors.
    format : {"csr", "csc", "coo"}
        Output format. Structural zeros are stored; the value order is fixed.
    mode : {"auto", "column", "row"}
        Force JVPs (column coloring) or VJPs (row coloring); ``"auto"`` takes fewer colors.
    chunk_size : int, optional
        At most this many seeds per backend call (caps memory); default all in one call.
    out : array_like, optional
        Output template for an in-place f (numpy backends only).
    sparsity_from : callable, optional
        Numpy twin of f used only for detection (for JAX/torch functions).
    sparsity_mode : {"global", "local"}
        Tracer mode: a pattern valid for every x, or only at this x.

    Returns
    -------
    SparseJacobian
    """
    be = resolve_backend(backend)
    library = array_library(be)
    x = as_point(x)
    if out is not None:
        f_eval = inplace_to_outofplace(f, out, library)
    else:
        f_eval = f
    args = tuple(args)
    if mode not in _MODES:
        raise SparseADError(f"unknown mode {mode!r}; use 'auto', 'column' (JVPs) or 'row' "
                            f"(VJPs)")
    for side, kind, what in (("column", "jvp", "JVPs"), ("row", "vjp", "VJPs")):
        if mode == side and not be.supports(kind):
            raise SparseADError(f"mode={side!r} needs {what}, which backend {be.name!r} "
                                f"does not provide; use mode='auto'")
    kinds = frozenset({"jvp"}) if mode == "column" else (
        frozenset({"vjp"}) if mode == "row" else
        frozenset(k for k in ("jvp", "vjp") if be.supports(k)))
    if not kinds:
        raise SparseADError(f"backend {be.name!r} supports neither JVPs nor VJPs")
    try:
        ctx = be.prepare(f_eval, x, args, kinds=kinds)
    except TypeError as exc:
        if out is None and missing_out_argument(f, 1 + len(args)):
            raise SparseADError(
                "f needs one more positional argument than f(x, *args) gives it: it looks "
                "like an in-place function f(out, x, *args). Pass out= (an array of f's "
                "output shape, e.g. out=np.zeros(m)); its values are ignored") from exc
        raise
    out_shape = be.output_shape(ctx)
    if out_shape is None:
        m = int(np.asarray(be.value(ctx, x)).size)
        out_shape = infer_output_shape(f_eval, x, args, library)
        if out_shape is not None and int(np.prod(out_shape, dtype=np.int64)) != m:
            out_shape = None
    else:
        out_shape = tuple(out_shape)
        m = int(np.prod(out_shape, dtype=np.int64))
    n = x.size
    if sparsity is None:
        sparsity = detect_jacobian(f, x, args, library=library, sparsity_from=sparsity_from,
                                   sparsity_mode=sparsity_mode, out=out)
    P = as_pattern(sparsity, (m, n), "Jacobian")
    result = choose_jacobian_coloring(P, coloring, be, mode)
    dtype = np.result_type(x.dtype, np.float32)
    plan = build_plan(P, result, fmt=format, dtype=dtype, chunk_size=chunk_size)
    binding = ArgsBinding(be, ctx, f_eval, x, args, kinds)
    return SparseJacobian(f=f_eval, backend=be, binding=binding, x=x, pattern=P,
                          coloring=result, plan=plan, out_shape=out_shape,
                          chunk_size=chunk_size)


def jacobian(f: Callable, x: Any, *, backend: Any = "fd", args: tuple = (),
             sparsity: Any = None, coloring: Any = None, format: str = "csr",
             **options: Any):
    """Sparse Jacobian of ``f`` at ``x`` (a scipy sparse array); see :func:`prepare_jacobian`.

    Preparing costs detection and coloring; to evaluate at many points, keep the
    :class:`SparseJacobian` from :func:`prepare_jacobian` instead.
    """
    J = prepare_jacobian(f, x, backend=backend, args=args, sparsity=sparsity,
                         coloring=coloring, format=format, **options)
    return J(x)
