"""Finite-difference backend ``"fd"``: plain numpy forward, central or complex-step differences.

The step follows scipy's :func:`scipy.optimize.approx_derivative`: the relative step is
``EPS**(1/2)`` for forward and complex-step differences and ``EPS**(1/3)`` for central
ones (``EPS`` the machine epsilon of x's dtype, or of f's when f is less precise), and the
absolute step of variable ``j`` is ``rel_step * sign(x_j) * max(1, |x_j|)`` with
``sign(0) = +1``. For forward and central differences the actually representable step
``(x + h) - x`` is used as divisor. With the same groups (colors), the sparse Jacobian
therefore equals scipy's ``approx_derivative(f, x, sparsity=(pattern, groups))`` up to
rounding, but all colors are evaluated without scipy's per-group sparse-matrix work.

Differences
-----------
- x is kept in its own dtype (scipy upcasts float32 to float64 before calling f).
- Generic seed matrices (:meth:`FiniteDifferences.jvp`) use one scalar step per seed row,
  ``rel_step * max(1, max |x_j| over the row's support) / max |V_c|``; the pipeline's
  gathered requests (:meth:`FiniteDifferences.products` with ``entry_input``) use the
  per-variable rule.
- Hessians are finite differences of a user-supplied gradient ``grad(x, *args)``; without
  one, asking for Hessian products raises :class:`~sparsead.UnsupportedProductError`.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .._errors import SparseADError, UnsupportedProductError
from .._kernels import CENTRAL, COMPLEX, FORWARD, fd_kernels
from ._executor import check_executor, map_colors, refuse_shared_outputs
from .base import Backend, ProductRequest

#: Relative step exponent per method (scipy ``_eps_for_method``).
_STEP_EXPONENT = {"forward": 1.0 / 2.0, "central": 1.0 / 3.0, "complex": 1.0 / 2.0}
#: Accepted spellings, including scipy's.
_METHOD_CODE = {"forward": FORWARD, "central": CENTRAL, "complex": COMPLEX}
_METHOD_ALIASES = {"forward": "forward", "2-point": "forward", "central": "central",
                   "3-point": "central", "complex": "complex", "cs": "complex",
                   "complex-step": "complex"}


def relative_step(x_dtype: np.dtype, f_dtype: np.dtype, method: str) -> float:
    """Default relative step of scipy's ``approx_derivative`` for these dtypes and method."""
    eps = np.finfo(x_dtype).eps if np.issubdtype(x_dtype, np.inexact) else np.finfo(float).eps
    if (np.issubdtype(x_dtype, np.inexact) and np.issubdtype(f_dtype, np.inexact)
            and np.dtype(f_dtype).itemsize < np.dtype(x_dtype).itemsize):
        eps = np.finfo(f_dtype).eps
    return float(eps) ** _STEP_EXPONENT[method]


def _checked_f(ctx: "_FDContext", y: Any) -> np.ndarray:
    y = np.asarray(y)
    if y.shape != ctx.out_shape:
        raise SparseADError(f"f's output shape changed from {ctx.out_shape} at "
                            f"preparation to {y.shape}; prepare again for the new shape")
    return y.reshape(-1)


def _checked_g(ctx: "_FDContext", g: Any) -> np.ndarray:
    g = np.asarray(g)
    if g.size != int(np.prod(ctx.x_shape, dtype=np.int64)):
        raise SparseADError(f"grad returned {g.size} values for an x of shape "
                            f"{ctx.x_shape}; it must return one per element of x")
    return g.reshape(-1)


def _color_outputs(fun: Callable[..., Any], args: tuple, shape: tuple, xf: np.ndarray,
                   h: np.ndarray, cols: np.ndarray, method: str) -> tuple[Any, ...]:
    """One color's evaluations on a worker: ``fun`` at x moved by ``h`` on ``cols``
    (forward), also at x moved by ``-h`` (central), or at ``x + i h`` (complex).
    The perturbed points are bit for bit those of the serial loop."""
    if method == "complex":
        xc = xf.astype(np.result_type(xf.dtype, np.complex64))
        xc.imag[cols] = h[cols]
        return (np.asarray(fun(xc.reshape(shape), *args)),)
    xp = xf.copy()
    xp[cols] = xf[cols] + h[cols]
    yp = np.asarray(fun(xp.reshape(shape), *args))
    if method == "forward":
        return (yp,)
    xp[cols] = xf[cols] + (-1.0) * h[cols]
    return yp, np.asarray(fun(xp.reshape(shape), *args))


class _OutputReused(Exception):
    """f returned memory that holds its value at x (raised inside the color loop)."""


def _check_not_reused(y: np.ndarray, y0: np.ndarray | None) -> np.ndarray:
    """``y``, unless it may overlap ``y0`` (f writes every result into one buffer of its
    own): then y0 was overwritten and the loop restarts with a copy of it. A bounds test,
    O(1); a false alarm only costs that copy."""
    if y0 is not None and np.may_share_memory(y, y0):
        raise _OutputReused
    return y


class _FDContext:
    """What :meth:`FiniteDifferences.prepare` caches: the function, shapes and buffers."""

    __slots__ = ("f", "grad", "args", "x_shape", "x_dtype", "out_shape", "m", "f_dtype",
                 "rstep", "buffers", "reuses_output")

    def __init__(self, f, grad, args, x_shape, x_dtype, out_shape, f_dtype, rstep):
        self.f, self.grad, self.args = f, grad, tuple(args)
        self.x_shape, self.x_dtype = x_shape, x_dtype
        self.out_shape, self.m = out_shape, int(np.prod(out_shape, dtype=np.int64))
        self.f_dtype, self.rstep = f_dtype, rstep
        self.buffers: dict[tuple, np.ndarray] = {}
        #: per function ("f", "g"): it returned memory it had returned before (an output
        #: buffer of its own), so the value at x is copied before the next call
        self.reuses_output: set[str] = set()

    def buffer(self, shape: tuple, dtype, tag: str = "") -> np.ndarray:
        """A scratch array reused across calls (never returned to the caller)."""
        key = (shape, np.dtype(dtype).str, tag)
        buf = self.buffers.get(key)
        if buf is None:
            buf = self.buffers[key] = np.empty(shape, dtype=dtype)
        return buf


class FiniteDifferences(Backend):
    """Finite differences in plain numpy, batched over all seeds of a coloring.

    Parameters
    ----------
    method : {"forward", "central", "complex"}
        Difference scheme (scipy's ``"2-point"``, ``"3-point"``, ``"cs"`` are accepted too).
        ``"complex"`` needs an f that accepts complex input and is analytic.
    rel_step : float, optional
        Relative step as in scipy; default ``EPS**(1/2)`` or ``EPS**(1/3)``.
    grad : callable, optional
        Gradient ``grad(x, *args)`` of a scalar f, needed for Hessians (finite
        differences of the gradient).
    executor : concurrent.futures.Executor, optional
        Evaluate the colors of one Jacobian (or Hessian) concurrently: a
        ``ThreadPoolExecutor``, a ``ProcessPoolExecutor`` or ``dask.distributed``'s
        ``Client.get_executor()``. Each task gets the perturbed point of one color and
        returns f's raw output; the differences are formed here exactly as without an
        executor, so the values are the same. f (or grad) and its extra arguments must
        be picklable for process and distributed executors. A failure raises
        :class:`sparsead.ColorEvaluationError` naming the color.

    Notes
    -----
    Each seed row costs one evaluation of f (two for central differences) plus one
    evaluation at x itself. There is no VJP: row coloring is never chosen with ``"fd"``.
    An executor pays off when one evaluation of f takes much longer than sending x
    to a worker (a simulator, a CFD residual).
    """

    name = "fd"
    array_library = "numpy"

    def __init__(self, method: str = "forward", rel_step: float | None = None,
                 grad: Callable[..., Any] | None = None, *, executor: Any = None) -> None:
        if method not in _METHOD_ALIASES:
            raise ValueError(f"unknown finite-difference method {method!r}; "
                             f"use one of {sorted(set(_METHOD_ALIASES))}")
        self.method = _METHOD_ALIASES[method]
        self.rel_step = rel_step
        self.grad = grad
        self.executor = check_executor(executor)

    def __repr__(self) -> str:
        extra = "" if self.executor is None else f", executor={type(self.executor).__name__}"
        return (f"FiniteDifferences(method={self.method!r}, rel_step={self.rel_step!r}, "
                f"grad={'None' if self.grad is None else 'given'}{extra})")

    def supports(self, kind: str) -> bool:
        if kind == "jvp":
            return True
        if kind in ("hvp", "gradient"):
            return self.grad is not None
        return False

    # -- preparation -----------------------------------------------------------------

    def prepare(self, f, x, args=(), *, kinds=frozenset({"jvp"})):
        """Evaluate f once to record its output shape and dtype (no compilation)."""
        kinds = frozenset(kinds)
        if kinds & {"hvp", "gradient"} and self.grad is None:
            raise UnsupportedProductError(
                "the 'fd' backend computes Hessians as finite differences of a gradient, "
                "and no gradient was given: pass grad=g (g(x, *args) -> gradient), e.g. "
                "sparsead.hessian(f, x, backend='fd', grad=g), or use backend='jax'")
        if "vjp" in kinds:
            raise UnsupportedProductError(
                "the 'fd' backend has no VJPs (reverse mode); use column coloring "
                "(mode='column') or an AD backend such as 'jax'")
        x = np.asarray(x)
        y = np.asarray(f(x, *args))
        rstep = relative_step(x.dtype, y.dtype, self.method)
        return _FDContext(f, self.grad, args, x.shape, x.dtype, y.shape, y.dtype, rstep)

    def output_shape(self, ctx: _FDContext) -> tuple[int, ...]:
        return ctx.out_shape

    def rebind_args(self, ctx, f, x, args, kinds):
        new = _FDContext(ctx.f, ctx.grad, args, ctx.x_shape, ctx.x_dtype, ctx.out_shape,
                         ctx.f_dtype, ctx.rstep)
        new.buffers = ctx.buffers
        new.reuses_output = ctx.reuses_output
        return new

    # -- evaluation helpers ----------------------------------------------------------

    def _f(self, ctx: _FDContext, x: np.ndarray) -> np.ndarray:
        return _checked_f(ctx, ctx.f(x, *ctx.args))

    def _g(self, ctx: _FDContext, x: np.ndarray) -> np.ndarray:
        return _checked_g(ctx, ctx.grad(x, *ctx.args))

    def _differences(self, ctx, which, xf, y0, P, out):
        """Row c of ``out`` = the raw difference of ``fun`` along perturbation ``P[c]``.

        forward: ``fun(x+P_c) - y0``; central: ``fun(x+P_c) - fun(x-P_c)``;
        complex: ``Im fun(x + i P_c)``. The caller divides by the step.
        """
        shape = ctx.x_shape
        fun = self._f if which == "f" else self._g
        if self.method == "complex":
            xc = ctx.buffer((xf.size,), np.result_type(xf.dtype, np.complex64))
            for c in range(P.shape[0]):
                xc.real = xf
                xc.imag = P[c]
                out[c] = _check_not_reused(fun(ctx, xc.reshape(shape)), y0).imag
            return out
        xp = ctx.buffer((xf.size,), xf.dtype)
        for c in range(P.shape[0]):
            np.add(xf, P[c], out=xp)
            yp = _check_not_reused(fun(ctx, xp.reshape(shape)), y0)
            if self.method == "forward":
                np.subtract(yp, y0, out=out[c])
            else:
                out[c] = yp  # copy before xp is reused for the backward point
                np.subtract(xf, P[c], out=xp)
                out[c] -= _check_not_reused(fun(ctx, xp.reshape(shape)), y0)
        return out

    def _generic(self, ctx, which, x, y0, V, m):
        """Directional differences for an arbitrary seed matrix ``V`` (scalar step per row)."""
        xf = np.asarray(x).reshape(-1)
        V = np.asarray(V)
        vmax = np.max(np.abs(V), axis=1) if V.shape[1] else np.zeros(V.shape[0])
        support_max = np.max(np.where(V != 0, np.abs(xf), 0), axis=1) if V.shape[1] \
            else np.zeros(V.shape[0])
        rstep = ctx.rstep if self.rel_step is None else self.rel_step
        t = rstep * np.maximum(1.0, support_max) / np.where(vmax > 0, vmax, 1.0)
        t = t.astype(xf.dtype)
        P = (V * t[:, None]).astype(xf.dtype)
        dtype = np.result_type(ctx.f_dtype if which == "f" else xf.dtype, xf.dtype)
        D = self._differences(ctx, which, xf, y0, P, np.empty((V.shape[0], m), dtype=dtype))
        scale = t * (2 if self.method == "central" else 1)
        D /= scale[:, None]
        D[vmax == 0] = 0
        return D

    def _entries(self, ctx, which, x, y0, cols, flat_index, entry_input, m, out=None):
        """Differences with scipy's per-variable step, gathered and divided per entry.

        ``cols[c]`` lists the variables of color ``c`` (the request's cached
        ``seed_columns``); its perturbed point moves only those, by scipy's step ``h_j``.
        Value ``e`` is the raw difference at ``flat_index[e]`` divided by the actual step
        of ``entry_input[e]``.
        """
        xf = np.asarray(x).reshape(-1)
        fd_steps, perturb, gather_divide = fd_kernels(flat_index.size + xf.size)
        h = ctx.buffer((xf.size,), xf.dtype, "h")
        divisor = ctx.buffer((xf.size,), xf.dtype, "dx")
        fd_steps(xf, ctx.rstep, np.nan if self.rel_step is None else float(self.rel_step),
                 _METHOD_CODE[self.method], h, divisor)
        dtype = np.result_type(ctx.f_dtype if which == "f" else xf.dtype, xf.dtype)
        D = ctx.buffer((len(cols), m), dtype)
        fun = self._f if which == "f" else self._g
        shape = ctx.x_shape
        if self.executor is not None:
            self._differences_on_executor(ctx, which, xf, h, cols, y0, D)
        elif self.method == "complex":
            xc = ctx.buffer((xf.size,), np.result_type(xf.dtype, np.complex64))
            for c in range(len(cols)):
                xc.real = xf
                xc.imag = 0
                xc.imag[cols[c]] = h[cols[c]]
                D[c] = _check_not_reused(fun(ctx, xc.reshape(shape)), y0).imag
        else:
            xp = ctx.buffer((xf.size,), xf.dtype)
            # perturb copies all of x for each color: an f that writes into its input
            # cannot corrupt the points of later colors
            for c in range(len(cols)):
                perturb(xf, h, cols[c], 1.0, xp)
                yp = _check_not_reused(fun(ctx, xp.reshape(shape)), y0)
                if self.method == "forward":
                    np.subtract(yp, y0, out=D[c])
                else:
                    D[c] = yp  # copied before xp is reused for the backward point
                    perturb(xf, h, cols[c], -1.0, xp)
                    D[c] -= _check_not_reused(fun(ctx, xp.reshape(shape)), y0)
        if out is None:
            out = np.empty(flat_index.size, dtype=dtype)
        return gather_divide(D.reshape(-1), flat_index, divisor, entry_input, out)

    def _differences_on_executor(self, ctx, which, xf, h, cols, y0, D):
        """The loop of :meth:`_entries`, one task per color on the executor: each task
        returns f's raw outputs and the differences are taken here in the same order
        and dtype as the serial loop, so the values are identical."""
        fun = ctx.f if which == "f" else ctx.grad
        check = _checked_f if which == "f" else _checked_g
        tasks = [(fun, ctx.args, ctx.x_shape, xf, h, cols[c], self.method)
                 for c in range(D.shape[0])]
        what = "f" if which == "f" else "grad"
        results = map_colors(self.executor, _color_outputs, tasks, what)
        refuse_shared_outputs([y for outputs in results for y in outputs], what,
                              self.executor)
        for c, outputs in enumerate(results):
            outputs = [_check_not_reused(check(ctx, y), y0) for y in outputs]
            if self.method == "complex":
                D[c] = outputs[0].imag
            elif self.method == "forward":
                np.subtract(outputs[0], y0, out=D[c])
            else:
                D[c] = outputs[0]
                D[c] -= outputs[1]

    def _check_x(self, ctx, x):
        x = np.asarray(x)
        if x.shape != ctx.x_shape:
            raise SparseADError(f"x has shape {x.shape} but the backend was prepared "
                                f"for {ctx.x_shape}")
        return x

    # -- the protocol ------------------------------------------------------------------

    def _around_primal(self, ctx, which, x, differences):
        """``(y0, differences(y0))`` with ``y0`` = f(x) (or grad(x)).

        y0 is held while f runs at the perturbed points. An f that writes every result
        into one buffer of its own would overwrite it (a zero Jacobian, a wrong value):
        the loop detects that (:func:`_check_not_reused`), and the evaluation restarts
        with a copy of y0, which this context then makes on every call.
        """
        fun = self._f if which == "f" else self._g
        for _ in range(2):
            y0 = fun(ctx, x)
            if which in ctx.reuses_output:
                y0 = y0.copy()
            try:
                return y0, differences(y0)
            except _OutputReused:
                ctx.reuses_output.add(which)
        raise AssertionError("unreachable: a copied y0 is never reused")  # pragma: no cover

    def value(self, ctx, x):
        return self._f(ctx, self._check_x(ctx, x))

    def jvp(self, ctx, x, V):
        x = self._check_x(ctx, x)
        return self._around_primal(ctx, "f", x,
                                   lambda y0: self._generic(ctx, "f", x, y0, V, ctx.m))

    def gradient(self, ctx, x):
        x = self._check_x(ctx, x)
        if ctx.grad is None:
            raise UnsupportedProductError("the 'fd' backend needs grad= for gradients")
        y = self._f(ctx, x)
        return (y[0] if y.size == 1 else y), self._g(ctx, x)

    def hvp(self, ctx, x, V):
        x = self._check_x(ctx, x)
        if ctx.grad is None:
            raise UnsupportedProductError("the 'fd' backend needs grad= for Hessians")
        return self._around_primal(
            ctx, "g", x, lambda g0: self._generic(ctx, "g", x, g0, V, g0.size))[1]

    def products(self, ctx, x, request: ProductRequest, out=None):
        """Gathered requests (with ``entry_input``) take scipy's per-variable step, read
        the seeds as the variables of each color (no dense seed matrix) and write into
        ``out``; others go through the plain :meth:`jvp` / :meth:`hvp`."""
        if request.kind == "vjp":
            raise UnsupportedProductError(
                "the 'fd' backend has no VJPs (reverse mode); use column coloring "
                "(mode='column') or an AD backend such as 'jax'")
        if request.flat_index is None or request.entry_input is None:
            return super().products(ctx, x, request, out)
        x = self._check_x(ctx, x)
        if request.kind == "jvp":
            return self._around_primal(ctx, "f", x, lambda y0: self._entries(
                ctx, "f", x, y0, request.seed_columns, request.flat_index, request.entry_input,
                ctx.m, out))
        if ctx.grad is None:
            raise UnsupportedProductError("the 'fd' backend needs grad= for Hessians")
        vals = self._around_primal(ctx, "g", x, lambda g0: self._entries(
            ctx, "g", x, g0, request.seed_columns, request.flat_index, request.entry_input, g0.size,
            out))[1]
        return (self._f(ctx, x) if request.want_value else None), vals
