"""Sparse Jacobians from compressed JVPs (column coloring), VJPs (row coloring), or both
(bidirectional: a bicoloring, for Jacobians with dense rows and dense columns)."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import scipy.sparse as sp

from ._args_binding import ArgsBinding
from ._backend_resolution import array_library, resolve_backend
from ._choose_coloring import (
    choose_jacobian_coloring,
    is_coloring_result,
    jacobian_product_kinds,
)
from ._errors import SparseADError
from ._inplace import inplace_to_outofplace, missing_out_argument, missing_out_error
from ._local import LocalPatterns
from ._output_shape import infer_output_shape
from ._pattern import as_pattern, detect_jacobian
from ._plan import Plan, build_plan
from ._points import as_point, check_point
from ._prepared import PreparedMatrix, store_chunk_values
from ._progress import StageProgress, report_first_evaluation

__all__ = ["SparseJacobian", "prepare_jacobian", "jacobian"]

class SparseJacobian(PreparedMatrix):
    """A sparse Jacobian prepared once (pattern, coloring, backend) and evaluated many times.

    Attributes
    ----------
    sparsity : scipy.sparse.csr_array
        Boolean pattern ``(m, n)`` (outputs x inputs, flattened in C order).
    coloring : coloring.ColoringResult or coloring.BicoloringResult
        The coloring used; ``coloring.problem`` is ``"column"``, ``"row"``, ``"bicolor"``
        or ``"bicolor_substitution"``.
    mode : str
        ``"column"`` (one JVP per color), ``"row"`` (one VJP per color) or
        ``"bidirectional"`` (one JVP per column color and one VJP per row color).
    ncolors : int
        Products per evaluation (JVPs plus VJPs).
    nnz : int
        Stored values per evaluation (structural zeros included).
    format : str
        ``"csr"``, ``"csc"`` or ``"coo"``; the value order is the same on every call.
    backend : Backend
    """

    def __init__(self, *, f, backend, binding, x, pattern, coloring, plan: Plan,
                 out_shape):
        super().__init__(backend=backend, binding=binding, x=x, pattern=pattern,
                         coloring=coloring, plan=plan)
        self.f = f
        self.output_shape = out_shape

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

    def _fill(self, x: np.ndarray, data: np.ndarray, args: tuple | None,
              need_value: bool = True, adopt: bool = False
              ) -> tuple[np.ndarray | None, np.ndarray]:
        """Write the values into ``data`` (with ``adopt``, the backend's own new array may
        hold them instead); return ``(f(x) flattened, the values)``. f(x) is None when
        not asked for and the backend skipped it: ``need_value=False`` lets it."""
        x = check_point(x, self._x_shape, self._x_dtype)
        ctx = self._binding.get(args)
        plan = self._plan
        m = plan.shape[0]
        be = self.backend
        if plan.ncolors == 0:  # no structural nonzeros: no products at all
            y = np.asarray(be.value(ctx, x)).reshape(-1) if need_value else None
        elif plan.substitution:
            y, data = self._fill_substitution(ctx, x, data, need_value)
        else:
            y = None
            for i, chunk in enumerate(plan.chunks):
                kind = chunk.kind or ("jvp" if plan.problem == "column" else "vjp")
                request = self._request(i, kind, need_value and y is None)
                direct = chunk.positions is None  # values can land in data directly
                y_c, vals = be.products(ctx, x, request, out=data if direct else None)
                if y is None and y_c is not None:
                    # a backend that computed f(x) anyway returns it: its size is checked
                    y = np.asarray(y_c).reshape(-1)
                data = store_chunk_values(data, chunk, vals, be.name, adopt)
        if y is not None and y.shape != (m,):
            raise SparseADError(f"f's output changed size: {y.size} values now, {m} at "
                                f"preparation; prepare again for the new output")
        return y, data

    def _fill_substitution(self, ctx: Any, x: np.ndarray, data: np.ndarray,
                           need_value: bool) -> tuple[np.ndarray | None, np.ndarray]:
        """Bicoloring by substitution: all JVPs and VJPs (the plan's chunks, one request
        each, built once), then ``coloring``'s decompress."""
        plan, be = self._plan, self.backend
        y = None
        m, n = plan.shape
        B = {"jvp": np.empty((plan.seeds.shape[0], m), dtype=data.dtype),  # batch first
             "vjp": np.empty((plan.row_seeds.shape[0], n), dtype=data.dtype)}
        for i, chunk in enumerate(plan.chunks):
            request = self._request(i, chunk.kind, need_value and y is None)
            y_c, B[chunk.kind][chunk.start:chunk.stop] = be.products(ctx, x, request)
            if y is None and y_c is not None:
                y = np.asarray(y_c).reshape(-1)
        B_col, B_row = B["jvp"], B["vjp"]
        buf = self._csr_buffer
        if buf is None or buf.data.dtype != data.dtype:
            buf = self._csr_buffer = self.coloring.decompress(B_col.T, B_row)
        else:
            self.coloring.decompress(B_col.T, B_row, out=buf)
        if plan.csr_order is None:
            data[...] = buf.data
        else:
            np.take(buf.data, plan.csr_order, out=data)
        return y, data

    _csr_buffer = None  # bicoloring by substitution: the CSR matrix decompress refills

    def value_and_jacobian(self, x: Any, out: Any = None, *, args: tuple | None = None):
        """``(f(x), J(x))``; f(x) has f's output shape, J as in :meth:`__call__`."""
        if self._local is not None:
            self._local.update(self, x, args)
        data, adopt = self._data_for(out)
        y, data = self._fill(x, data, args, adopt=adopt)
        if self.output_shape is not None:
            y = y.reshape(self.output_shape)
        return y, (out if out is not None else self._plan.new_matrix(data))


def prepare_jacobian(f: Callable, x: Any, *, backend: Any = "fd", args: tuple = (),
                     sparsity: Any = None, coloring: Any = None, format: str = "csr",
                     mode: str = "auto", chunk_size: int | None = None, out: Any = None,
                     sparsity_from: Callable | None = None,
                     sparsity_mode: str = "global",
                     reuse_local_pattern: bool = False,
                     progress: bool = False) -> SparseJacobian:
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
    coloring : coloring.ColoringResult, coloring.BicoloringResult, str, tuple or dict
        A coloring of the pattern, or options of :func:`coloring.color`: an order name,
        a tuple of orders, or a dict (``{"order": ..., "problem": "row", ...}``; problem
        ``"bicolor_substitution"`` decompresses a bicoloring by substitution). By
        default largest-first on each side (column, row), then up to 20 passes of
        iterated greedy on the side with fewer colors, within a work budget of once the
        ordering's work (``"effort": 1.0``, deterministic); with both JVPs and VJPs, where that side
        needs more than twice as many colors as the average row or column has nonzeros
        (dense rows or columns), also a bicoloring, kept if it needs fewer products.
    format : {"csr", "csc", "coo"}
        Output format. Structural zeros are stored; the value order is fixed.
    mode : {"auto", "column", "row", "bidirectional"}
        Force JVPs (column coloring), VJPs (row coloring) or some of each
        (``"bidirectional"``: a bicoloring, ``coloring.color(..., "bicolor")``; for
        Jacobians with dense rows and dense columns, e.g. an arrowhead, which cost about n
        products on either side alone). ``"auto"`` takes the fewest products among those
        the backend can compute, a VJP counting as one product. A backend without VJPs
        (``"fd"``) warns and uses column coloring for ``"bidirectional"``.
    chunk_size : int, optional
        At most this many seeds per backend call (caps memory); default all in one call.
    out : array_like, optional
        Output template for an in-place f (numpy backends only).
    sparsity_from : callable, optional
        Numpy twin of f used only for detection (for JAX/torch functions).
    sparsity_mode : {"global", "local"}
        Tracer mode: a pattern valid for every x (prefer it; write value-dependent
        choices with ``np.where``/``np.select``), or only at this x (branches follow
        the values). A local pattern is detected again at each new ``(x, args)`` the
        object is evaluated at: one trace of f per call at a new point, which for cheap
        functions costs more than the Jacobian evaluation itself (``python -m
        benchmarks.detection`` reports the ratio). When the new pattern is not contained
        in the one in use, the object re-colors and re-prepares for it (a few structures
        are cached by pattern).
    reuse_local_pattern : bool
        With ``sparsity_mode="local"``: skip the re-detection and use the pattern of
        the point of preparation at every x. Only correct when the branches of f never
        change which entries can be nonzero; otherwise the Jacobian is wrong.
    progress : bool
        Show the stages (compile, detect, color, plan) as a progress bar (tqdm when
        installed, else lines on stderr), and the first evaluation of the returned
        object as the stage "first evaluation" (where a compiling backend compiles its
        products). Independently of it, every stage and its duration is logged at INFO
        level on the ``"sparsead"`` logger.

    Returns
    -------
    SparseJacobian

    Examples
    --------
    >>> import numpy as np, sparsead
    >>> J = sparsead.prepare_jacobian(lambda x: x[1:] ** 2 - x[:-1], np.ones(4))
    >>> J
    SparseJacobian(shape=(3, 4), nnz=6, mode='column', ncolors=2, format='csr', backend='fd')
    >>> M = J(np.arange(1.0, 5.0))               # evaluate at a new point
    >>> J(np.arange(2.0, 6.0), out=M) is M       # refill M.data in place
    True
    """
    be = resolve_backend(backend)
    library = array_library(be)
    x = as_point(x)
    if out is not None:
        f_eval = inplace_to_outofplace(f, out, library)
    else:
        f_eval = f
    args = tuple(args)
    kinds = jacobian_product_kinds(mode, be)
    stages = ("compile",) + (("detect",) if sparsity is None else ()) + ("color", "plan")
    report = StageProgress(f"prepare_jacobian (n={x.size})", stages, progress)
    try:
        with report.stage("compile", be.name):
            try:
                ctx = be.prepare(f_eval, x, args, kinds=kinds)
            except TypeError as exc:
                if out is None and missing_out_argument(f, 1 + len(args)):
                    raise missing_out_error(
                        "f(x, *args)", "f(out, x, *args)",
                        "an array of f's output shape, e.g. out=np.zeros(m)") from exc
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
        redetect = (sparsity is None and sparsity_mode == "local"
                    and not reuse_local_pattern)
        if sparsity is None:
            with report.stage("detect"):
                sparsity = detect_jacobian(f, x, args, library=library,
                                           sparsity_from=sparsity_from,
                                           sparsity_mode=sparsity_mode, out=out)
        P = as_pattern(sparsity, (m, n), "Jacobian")
        del sparsity  # the detected pattern: P is its canonical copy
        with report.stage("color", f"nnz={P.nnz}"):
            result, P = choose_jacobian_coloring(P, coloring, be, mode)
        dtype = np.result_type(x.dtype, np.float32)
        with report.stage("plan", f"{result.ncolors} colors"):
            plan = build_plan(P, result, fmt=format, dtype=dtype, chunk_size=chunk_size)
    finally:
        report.close()
    binding = ArgsBinding(be, ctx, f_eval, x, args, kinds)
    J = SparseJacobian(f=f_eval, backend=be, binding=binding, x=x, pattern=P,
                       coloring=result, plan=plan, out_shape=out_shape)
    report_first_evaluation(J, report.what, progress)
    if redetect:
        recolor = None if is_coloring_result(coloring) else coloring

        def detect(x_new: np.ndarray, args_new: tuple) -> sp.csr_array:
            found = detect_jacobian(f, x_new, args_new, library=library,
                                    sparsity_from=sparsity_from, sparsity_mode="local",
                                    out=out)
            return as_pattern(found, (m, n), "Jacobian")

        def build(P_new: sp.csr_array):
            res, P_new = choose_jacobian_coloring(P_new, recolor, be, mode)
            return res, build_plan(P_new, res, fmt=format, dtype=dtype, chunk_size=chunk_size)

        J._local = LocalPatterns(detect, build, x, args)
    return J


def jacobian(f: Callable, x: Any, *, backend: Any = "fd", args: tuple = (),
             sparsity: Any = None, coloring: Any = None, format: str = "csr",
             **options: Any):
    """Sparse Jacobian of ``f`` at ``x`` (a scipy sparse array); see :func:`prepare_jacobian`.

    Preparing costs detection and coloring; to evaluate at many points, keep the
    :class:`SparseJacobian` from :func:`prepare_jacobian` instead.

    Examples
    --------
    >>> import numpy as np, sparsead
    >>> J = sparsead.jacobian(lambda x: x[1:] ** 2 - x[:-1], np.arange(1.0, 5.0))
    >>> J.toarray().round(6)
    array([[-1.,  4.,  0.,  0.],
           [ 0., -1.,  6.,  0.],
           [ 0.,  0., -1.,  8.]])
    """
    J = prepare_jacobian(f, x, backend=backend, args=args, sparsity=sparsity,
                         coloring=coloring, format=format, **options)
    return J(x)
