"""Sparse Hessians from compressed HVPs: star coloring with direct decompression
(default) or acyclic coloring with decompression by substitution."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import scipy.sparse as sp

from ._args_binding import ArgsBinding
from ._backend_resolution import array_library, resolve_backend
from ._choose_coloring import choose_hessian_coloring, is_coloring_result
from ._errors import SparseADError
from ._local import LocalPatterns
from ._pattern import as_pattern, detect_hessian
from ._plan import Plan, build_plan
from ._points import as_point, check_point
from ._prepared import PreparedMatrix, store_chunk_values
from ._progress import StageProgress, report_first_evaluation

__all__ = ["SparseHessian", "prepare_hessian", "hessian", "value_gradient_and_hessian"]


def _symmetrize(P: sp.csr_array) -> sp.csr_array:
    """``P | P.T``: a Hessian pattern must be symmetric (adding entries is always safe)."""
    S = sp.csr_array(P + P.T)
    S.sum_duplicates()
    S.sort_indices()
    S.data = np.ones(S.indices.size, dtype=bool)
    return S


class SparseHessian(PreparedMatrix):
    """A sparse Hessian of a scalar function, prepared once and evaluated many times.

    Attributes
    ----------
    sparsity : scipy.sparse.csr_array
        Full symmetric boolean pattern ``(n, n)``.
    coloring : coloring.ColoringResult
        ``problem`` is ``"star"`` (direct decompression) or ``"acyclic"`` (substitution).
    ncolors, nnz : int
        HVPs per evaluation; stored values (of the ``uplo`` triangle).
    uplo : str
        ``"F"`` full matrix, ``"L"``/``"U"`` lower/upper triangle only (Ipopt wants "L").
    format : str
        ``"csr"``, ``"csc"`` or ``"coo"``.
    """

    def __init__(self, *, backend, binding, x, pattern, coloring, plan: Plan, uplo):
        super().__init__(backend=backend, binding=binding, x=x, pattern=pattern,
                         coloring=coloring, plan=plan)
        self.uplo = uplo

    _STRUCTURE_ATTRS = PreparedMatrix._STRUCTURE_ATTRS + ("_csr_buffer",)

    def _use_structure(self, pattern, coloring, plan: Plan) -> None:
        super()._use_structure(pattern, coloring, plan)
        self._csr_buffer = None  # acyclic: CSR result of coloring.decompress, reused

    @property
    def method(self) -> str:
        """``"star"`` (direct) or ``"acyclic"`` (substitution)."""
        return self._plan.problem

    def __repr__(self) -> str:
        n = self.shape[0]
        return (f"SparseHessian(shape=({n}, {n}), nnz={self.nnz}, uplo={self.uplo!r}, "
                f"coloring={self.method!r}, ncolors={self.ncolors}, format={self.format!r},"
                f" backend={self.backend.name!r})")

    @property
    def _fast_kind(self) -> str | None:  # type: ignore[override]
        return None if self._plan.substitution else "hvp"

    def _fill(self, x, data, args, need_value=True, adopt=False):
        # need_value is for Jacobians; the Hessian products carry no value to skip.
        x = check_point(x, self._x_shape, self._x_dtype)
        ctx = self._binding.get(args)
        plan, be = self._plan, self.backend
        if plan.ncolors == 0:
            return (ctx, x), data
        if not plan.substitution:
            for i, chunk in enumerate(plan.chunks):
                direct = chunk.positions is None
                _, vals = be.products(ctx, x, self._request(i, "hvp", False),
                                      out=data if direct else None)
                data = store_chunk_values(data, chunk, vals, be.name, adopt)
            return (ctx, x), data
        # acyclic: all products first (one request per chunk, built once, its seeds as
        # the inputs of each color), then substitution along the two-colored trees
        HV = np.empty((plan.ncolors, plan.width), dtype=data.dtype)
        for i, chunk in enumerate(plan.chunks):
            HV[chunk.start:chunk.stop] = be.products(ctx, x, self._request(i, "hvp", False))[1]
        if plan.csr_order is None and plan.format == "csr":
            buf = self._csr_matrix_for(data)
            self.coloring.decompress(HV.T, out=buf, uplo=self.uplo)
        else:
            buf = self._csr_matrix_for(None)
            self.coloring.decompress(HV.T, out=buf, uplo=self.uplo)
            if plan.csr_order is None:
                data[...] = buf.data
            else:
                np.take(buf.data, plan.csr_order, out=data)
        return (ctx, x), data

    def _csr_matrix_for(self, data):
        """A CSR matrix with the coloring's triangle pattern (over ``data`` if given)."""
        if data is not None:  # only for a CSR plan in the coloring's own order
            return self._plan.new_matrix(data)
        if self._csr_buffer is None:
            dt = self._plan.dtype
            self._csr_buffer = self.coloring.decompress(
                np.zeros(self.coloring.compressed_shape, dtype=dt), uplo=self.uplo)
        return self._csr_buffer

    def value_gradient_and_hessian(self, x: Any, out: Any = None, *,
                                   args: tuple | None = None):
        """``(f(x), gradient (x's shape), H(x))``; needs the backend's ``gradient``."""
        if self._local is not None:
            self._local.update(self, x, args)
        data, adopt = self._data_for(out)
        (ctx, xx), data = self._fill(x, data, args, adopt=adopt)
        val, g = self.backend.gradient(ctx, xx)
        g = np.asarray(g).reshape(self._x_shape)
        H = out if out is not None else self._plan.new_matrix(data)
        return val, g, H


def prepare_hessian(f: Callable, x: Any, *, backend: Any = "fd", args: tuple = (),
                    sparsity: Any = None, coloring: Any = None, uplo: str = "F",
                    format: str = "csr", grad: Callable | None = None,
                    chunk_size: int | None = None, sparsity_from: Callable | None = None,
                    sparsity_mode: str = "global",
                    with_gradient: bool = False,
                    reuse_local_pattern: bool = False,
                    progress: bool = False) -> SparseHessian:
    """Prepare the sparse Hessian of a scalar ``f`` at ``x``.

    Parameters
    ----------
    f : callable
        Scalar ``f(x, *args)``.
    x : array_like
        Point of preparation (float32/float64, any shape; n = x.size).
    backend : str or Backend
        ``"jax"``, ``"torch"``, ``"fd"`` (needs ``grad=``) or a Backend with ``hvp``.
    sparsity : matrix, optional
        Known Hessian pattern ``(n, n)``; symmetrized (``P | P.T``) if it is not.
    coloring : coloring.ColoringResult, str or dict, optional
        ``"star"`` (default; direct decompression), ``"acyclic"`` (fewer colors,
        decompression by substitution), an order name/tuple, or a dict of
        :func:`coloring.color` options.
    uplo : {"F", "L", "U"}
        Full matrix or only its lower/upper triangle.
    format : {"csr", "csc", "coo"}
    grad : callable, optional
        Gradient ``grad(x, *args)`` for the ``"fd"`` backend (finite differences of it).
    chunk_size : int, optional
        At most this many HVP seeds per backend call.
    sparsity_from : callable, optional
        Numpy twin of f used only for detection.
    sparsity_mode : {"global", "local"}
        Tracer mode, as in :func:`sparsead.prepare_jacobian`: a local pattern is
        detected again at each new ``(x, args)``, and the object re-colors when it is not
        contained in the pattern in use.
    with_gradient : bool
        Also prepare the backend's gradient (for ``value_gradient_and_hessian``).
    reuse_local_pattern : bool
        With ``sparsity_mode="local"``: use the pattern of the point of preparation at
        every x, without re-detection. Only correct when the branches of f never change
        which entries can be nonzero.
    progress : bool
        Show the stages (compile, detect, color, plan, and the first evaluation of the
        returned object) as a progress bar, as :func:`sparsead.prepare_jacobian` does;
        they are logged at INFO level on the ``"sparsead"`` logger in any case.

    Returns
    -------
    SparseHessian

    Examples
    --------
    With the ``"fd"`` backend the Hessian is a finite difference of ``grad``
    (``backend="jax"`` needs no gradient):

    >>> import numpy as np, sparsead
    >>> f = lambda x: np.sum(x[1:] * x[:-1])
    >>> grad = lambda x: np.concatenate([x[1:], [0.0]]) + np.concatenate([[0.0], x[:-1]])
    >>> H = sparsead.prepare_hessian(f, np.ones(4), grad=grad)
    >>> H
    SparseHessian(shape=(4, 4), nnz=6, uplo='F', coloring='star', ncolors=3, format='csr',
                  backend='fd')
    >>> H(np.ones(4)).toarray().round(6)
    array([[0., 1., 0., 0.],
           [1., 0., 1., 0.],
           [0., 1., 0., 1.],
           [0., 0., 1., 0.]])
    """
    be = resolve_backend(backend, grad)
    library = array_library(be)
    x = as_point(x)
    args = tuple(args)
    n = x.size
    kinds = frozenset({"hvp", "gradient"} if with_gradient else {"hvp"})
    stages = ("compile",) + (("detect",) if sparsity is None else ()) + ("color", "plan")
    report = StageProgress(f"prepare_hessian (n={n})", stages, progress)
    try:
        with report.stage("compile", be.name):
            ctx = be.prepare(f, x, args, kinds=kinds)
        out_shape = be.output_shape(ctx)
        if out_shape is not None and int(np.prod(out_shape, dtype=np.int64)) != 1:
            raise SparseADError(f"a Hessian needs a scalar f, but f returns shape "
                                f"{tuple(out_shape)}; use sparsead.jacobian for vector "
                                f"outputs")
        redetect = (sparsity is None and sparsity_mode == "local"
                    and not reuse_local_pattern)

        def detect(x_at: np.ndarray, args_at: tuple) -> sp.csr_array:
            found = detect_hessian(f, x_at, args_at, library=library,
                                   sparsity_from=sparsity_from, sparsity_mode=sparsity_mode)
            return _symmetrize(as_pattern(found, (n, n), "Hessian"))

        if sparsity is None:
            with report.stage("detect"):
                P = detect(x, args)
        else:
            P = _symmetrize(as_pattern(sparsity, (n, n), "Hessian"))
        with report.stage("color", f"nnz={P.nnz}"):
            result, P = choose_hessian_coloring(P, coloring)
        dtype = np.result_type(x.dtype, np.float32)
        with report.stage("plan", f"{result.ncolors} colors"):
            plan = build_plan(P, result, fmt=format, uplo=uplo, dtype=dtype,
                              chunk_size=chunk_size)
    finally:
        report.close()
    binding = ArgsBinding(be, ctx, f, x, args, kinds)
    H = SparseHessian(backend=be, binding=binding, x=x, pattern=P, coloring=result,
                      plan=plan, uplo=uplo)
    report_first_evaluation(H, report.what, progress)
    if redetect:
        recolor = None if is_coloring_result(coloring) else coloring

        def build(P_new: sp.csr_array):
            res, P_new = choose_hessian_coloring(P_new, recolor)
            return res, build_plan(P_new, res, fmt=format, uplo=uplo, dtype=dtype,
                                   chunk_size=chunk_size)

        H._local = LocalPatterns(detect, build, x, args)
    return H


def hessian(f: Callable, x: Any, *, backend: Any = "fd", args: tuple = (),
            sparsity: Any = None, coloring: Any = None, uplo: str = "F", **options: Any):
    """Sparse Hessian of scalar ``f`` at ``x``; see :func:`prepare_hessian`.

    Examples
    --------
    >>> import numpy as np, sparsead
    >>> f = lambda x: np.sum(x ** 3)
    >>> H = sparsead.hessian(f, np.arange(1.0, 4.0), grad=lambda x: 3 * x ** 2)
    >>> H.toarray().round(4)
    array([[ 6.,  0.,  0.],
           [ 0., 12.,  0.],
           [ 0.,  0., 18.]])
    """
    H = prepare_hessian(f, x, backend=backend, args=args, sparsity=sparsity,
                        coloring=coloring, uplo=uplo, **options)
    return H(x)


def value_gradient_and_hessian(f: Callable, x: Any, *, backend: Any = "fd",
                               args: tuple = (), sparsity: Any = None, coloring: Any = None,
                               uplo: str = "F", **options: Any):
    """``(f(x), grad f(x), H(x))`` with H sparse; see :func:`prepare_hessian`."""
    H = prepare_hessian(f, x, backend=backend, args=args, sparsity=sparsity,
                        coloring=coloring, uplo=uplo, with_gradient=True, **options)
    return H.value_gradient_and_hessian(x)
