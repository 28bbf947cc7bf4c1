"""Adapters in the exact form each consumer takes.

- :func:`ode_jacobian`: ``jac(t, y)`` for ``scipy.integrate.solve_ivp`` (BDF, Radau), CSC.
- :func:`least_squares_jacobian`: ``jac(x, *args)`` for ``scipy.optimize.least_squares``, CSR.
- :func:`trust_constr_hessian`: ``hess(x, *args)`` for ``minimize(method="trust-constr")``.
- :class:`IpoptAdapter`: cyipopt's problem interface (``jacobianstructure``/``jacobian``,
  ``hessianstructure``/``hessian`` with the lower triangle of the Lagrangian Hessian),
  i.e. ``(row, col)`` index arrays plus values in a fixed order, as Ipopt and Pyomo take.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ._backend_resolution import array_library, array_namespace, resolve_backend
from ._errors import SparseADError
from ._inplace import missing_out_argument, missing_out_error
from ._points import as_point
from .hessian import SparseHessian, prepare_hessian
from .jacobian import SparseJacobian, prepare_jacobian

__all__ = ["ODEJacobian", "ode_jacobian", "least_squares_jacobian", "trust_constr_hessian",
           "IpoptAdapter"]


def _time_arg(t: Any, dtype: np.dtype, library: str) -> Any:
    """``t`` as the ODE function receives it: a float for numpy code, a 0-d array for
    JAX/torch (so that a compiling backend takes it as a runtime argument and does not
    recompile for every new time)."""
    if library == "numpy":
        return float(t)
    return np.asarray(t, dtype=dtype)


class ODEJacobian:
    """``jac(t, y, *args)`` for ``solve_ivp``: a new CSC matrix per call (BDF/Radau keep it).

    Attributes
    ----------
    prepared : SparseJacobian
        The prepared Jacobian of ``y -> fun(t, y)`` (pattern, coloring, backend).
    njev : int
        Number of evaluations so far.
    """

    def __init__(self, prepared: SparseJacobian, library: str, dtype: np.dtype,
                 args: tuple) -> None:
        self.prepared = prepared
        self._library = library
        self._dtype = dtype
        self._args = tuple(args)
        self.njev = 0

    @property
    def sparsity(self):
        return self.prepared.sparsity

    @property
    def ncolors(self) -> int:
        return self.prepared.ncolors

    def __call__(self, t: Any, y: Any, *args: Any):
        self.njev += 1
        y = np.asarray(y)
        if y.dtype != self._dtype and np.issubdtype(y.dtype, np.floating):
            y = y.astype(self._dtype)
        call_args = (_time_arg(t, self._dtype, self._library), *(args or self._args))
        return self.prepared(y, args=call_args)

    def __repr__(self) -> str:
        return f"ODEJacobian({self.prepared!r}, njev={self.njev})"


def ode_jacobian(fun: Callable, t0: float, y0: Any, *, backend: Any = "fd",
                 args: tuple = (), sparsity: Any = None, coloring: Any = None,
                 sparsity_from: Callable | None = None, format: str = "csc",
                 **options: Any) -> ODEJacobian:
    """Sparse ``jac(t, y)`` of an ODE right-hand side ``fun(t, y, *args)`` for ``solve_ivp``.

    The pattern is detected once at ``(t0, y0)`` in global mode with ``t`` a constant
    argument, so it holds for every ``y``; a right-hand side whose *structure* changes
    with ``t`` (not only its values) needs ``sparsity=`` covering all times, or
    ``sparsity_mode="local"``: the local pattern is then detected again at every new
    ``(t, y)`` and the Jacobian re-colored when it changes (``reuse_local_pattern=True``
    skips that; see :func:`prepare_jacobian`).

    Parameters
    ----------
    fun : callable
        ``fun(t, y, *args)`` as given to ``solve_ivp`` (numpy for ``"fd"``, ``jax.numpy``
        for ``"jax"``), or with ``out=`` an in-place ``fun(out, t, y, *args)`` that writes
        dy/dt into ``out`` (numpy backends; the output array comes first, as in
        :func:`prepare_jacobian`; ``fun(t, y, out)`` is recognised and refused).
    t0 : float
        A time at which to prepare.
    y0 : array_like
        Initial state (float).
    backend : str or Backend
        Any backend with JVPs or VJPs.
    args : tuple
        Extra arguments as passed to ``solve_ivp(args=...)``.
    sparsity, coloring, sparsity_from :
        As in :func:`prepare_jacobian`; ``sparsity_from`` is a numpy twin ``fun_np(t, y)``.
    format : str
        ``"csc"`` (default, what ``splu`` wants) or ``"csr"``/``"coo"``.
    **options :
        Passed to :func:`prepare_jacobian` (``mode``, ``chunk_size``, ``out``,
        ``sparsity_mode``, ``reuse_local_pattern``, ...).

    Returns
    -------
    ODEJacobian
        Callable ``jac(t, y, *args)`` returning a scipy sparse array.

    Examples
    --------
    >>> import numpy as np, sparsead
    >>> from scipy.integrate import solve_ivp
    >>> def fun(t, y):                              # diffusion on a line, stiff
    ...     return 100.0 * np.concatenate([[0.0], y[:-2] - 2 * y[1:-1] + y[2:], [0.0]])
    >>> y0 = np.sin(np.linspace(0.0, np.pi, 50))
    >>> jac = sparsead.ode_jacobian(fun, 0.0, y0)
    >>> jac.ncolors
    3
    >>> solve_ivp(fun, (0.0, 1.0), y0, method="BDF", jac=jac).status
    0
    """
    be = resolve_backend(backend)
    library = array_library(be)
    y0 = np.asarray(y0)
    if np.issubdtype(y0.dtype, np.integer) or y0.dtype == bool:
        y0 = y0.astype(float)
    y0 = as_point(y0)  # complex y0: a clear error, never a silent cast
    t_arg = _time_arg(t0, y0.dtype, library)
    out = options.get("out")
    if out is not None:
        _check_inplace_order(fun, t0, y0, out, tuple(args))

        def rhs(o, y, t, *a):
            return fun(o, t, y, *a)
    else:
        def rhs(y, t, *a):
            return fun(t, y, *a)

    twin = None
    if sparsity_from is not None:
        def twin(y, t, *a):
            return sparsity_from(t, y, *a)

    try:
        prepared = prepare_jacobian(rhs, y0, backend=be, args=(t_arg, *args),
                                    sparsity=sparsity, coloring=coloring, format=format,
                                    sparsity_from=twin, **options)
    except TypeError as exc:
        if out is None and missing_out_argument(fun, 2 + len(args)):
            raise missing_out_error("fun(t, y, *args)", "fun(out, t, y, *args)",
                                    "an array of y's shape, e.g. out=np.zeros_like(y0)"
                                    ) from exc
        raise
    return ODEJacobian(prepared, library, y0.dtype, tuple(args))


def _check_inplace_order(fun: Callable, t0: Any, y0: np.ndarray, out: Any,
                         args: tuple) -> None:
    """Probe an in-place right-hand side once, on copies: it must be ``fun(out, t, y)``.

    Called in the other common order, ``fun(t, y, out)``, it would fail, or worse write
    into ``y``; if that order is the one that works, say so.
    """
    def probe(order: str) -> BaseException | None:
        y = y0.copy()
        buf = np.zeros(np.shape(out), dtype=np.result_type(np.asarray(out).dtype, y0.dtype))
        try:
            fun(buf, t0, y, *args) if order == "out first" else fun(t0, y, buf, *args)
        except Exception as exc:  # noqa: BLE001 - any failure means: not this order
            return exc
        if not np.array_equal(y, y0, equal_nan=True):
            return SparseADError("fun changed y instead of writing into out")
        return None

    failure = probe("out first")
    if failure is None:
        return
    if probe("out last") is None:
        raise SparseADError(
            "with out=, ode_jacobian calls the in-place right-hand side as "
            "fun(out, t, y, *args), but fun takes its arguments as fun(t, y, out, *args): "
            "define it as fun(out, t, y) or pass "
            "lambda out, t, y, *a: fun(t, y, out, *a)") from failure
    raise failure


class _LeastSquaresJacobian:
    """``jac(x, *args, **kwargs)`` for ``least_squares``; CSR by default."""

    def __init__(self, prepared: SparseJacobian, args: tuple, kwargs: dict) -> None:
        self.prepared = prepared
        self._args = tuple(args)
        self._kwargs = dict(kwargs)
        self.njev = 0

    def __call__(self, x: Any, *args: Any, **kwargs: Any):
        if kwargs.keys() != self._kwargs.keys() or any(
                kwargs[k] is not v and not _equal(kwargs[k], v)
                for k, v in self._kwargs.items()):
            raise SparseADError("least_squares passed other kwargs than the ones this "
                                "Jacobian was prepared with; pass the same kwargs= to "
                                "sparsead.least_squares_jacobian")
        self.njev += 1
        x = np.asarray(x, dtype=self.prepared._x_dtype).reshape(self.prepared._x_shape)
        return self.prepared(x, args=args if args else None)


def _equal(a: Any, b: Any) -> bool:
    try:
        return bool(np.array_equal(a, b)) if isinstance(a, np.ndarray) else bool(a == b)
    except Exception:  # noqa: BLE001  (incomparable objects count as different)
        return False


def least_squares_jacobian(fun: Callable, x0: Any, *, backend: Any = "fd", args: tuple = (),
                           kwargs: dict | None = None, sparsity: Any = None,
                           coloring: Any = None, format: str = "csr",
                           **options: Any) -> _LeastSquaresJacobian:
    """Sparse ``jac`` for ``scipy.optimize.least_squares(fun, x0, jac=jac, args=args)``.

    ``fun(x, *args, **kwargs)`` returns the residual vector. The callable accepts the
    ``args`` that ``least_squares`` passes (rebinding the backend when they change) and
    returns a CSR array, which selects the ``lsmr`` trust-region solver. ``kwargs`` are
    fixed at preparation (give the same ones to ``least_squares``).

    Examples
    --------
    >>> import numpy as np, sparsead
    >>> from scipy.optimize import least_squares
    >>> def residuals(x, target):
    ...     return np.concatenate([x[1:] - x[:-1], x - target])
    >>> target = np.linspace(0.0, 1.0, 20)
    >>> jac = sparsead.least_squares_jacobian(residuals, np.zeros(20), args=(target,))
    >>> fit = least_squares(residuals, np.zeros(20), jac=jac, args=(target,))
    >>> bool(fit.success), jac.prepared.ncolors
    (True, 2)
    """
    kwargs = dict(kwargs or {})
    f = fun if not kwargs else (lambda x, *a: fun(x, *a, **kwargs))
    twin = options.pop("sparsity_from", None)
    if twin is not None and kwargs:
        twin_f = twin
        twin = lambda x, *a: twin_f(x, *a, **kwargs)  # noqa: E731
    prepared = prepare_jacobian(f, x0, backend=backend, args=tuple(args),
                                sparsity=sparsity, coloring=coloring, format=format,
                                sparsity_from=twin, **options)
    return _LeastSquaresJacobian(prepared, tuple(args), kwargs)


class _TrustConstrHessian:
    """``hess(x, *args)`` for ``minimize(method="trust-constr")`` (a CSR array)."""

    def __init__(self, prepared: SparseHessian) -> None:
        self.prepared = prepared
        self.nhev = 0

    def __call__(self, x: Any, *args: Any):
        self.nhev += 1
        x = np.asarray(x, dtype=self.prepared._x_dtype).reshape(self.prepared._x_shape)
        return self.prepared(x, args=args if args else None)

    def gradient(self, x: Any, *args: Any) -> np.ndarray:
        """The gradient (for ``jac=``), from the backend's gradient product."""
        x = np.asarray(x, dtype=self.prepared._x_dtype).reshape(self.prepared._x_shape)
        ctx = self.prepared._binding.get(args if args else None)
        _, g = self.prepared.backend.gradient(ctx, x)
        return np.asarray(g, dtype=float).reshape(-1)


def trust_constr_hessian(fun: Callable, x0: Any, *, backend: Any = "fd", args: tuple = (),
                         grad: Callable | None = None, sparsity: Any = None,
                         coloring: Any = None, **options: Any) -> _TrustConstrHessian:
    """Sparse ``hess`` for ``scipy.optimize.minimize(fun, x0, method="trust-constr")``.

    The returned callable also has ``.gradient(x, *args)`` for ``jac=``. With the ``"fd"``
    backend pass ``grad=`` (the Hessian is a finite difference of it).

    Examples
    --------
    >>> import numpy as np, sparsead
    >>> from scipy.optimize import minimize
    >>> f = lambda x: np.sum((x - 1.0) ** 4) + np.sum(x[1:] * x[:-1])
    >>> def grad(x):
    ...     g = 4 * (x - 1.0) ** 3
    ...     g[:-1] += x[1:]
    ...     g[1:] += x[:-1]
    ...     return g
    >>> hess = sparsead.trust_constr_hessian(f, np.zeros(10), grad=grad)
    >>> res = minimize(f, np.zeros(10), jac=grad, hess=hess, method="trust-constr")
    >>> bool(res.success), hess.nhev > 0
    (True, True)
    """
    prepared = prepare_hessian(fun, x0, backend=backend, args=tuple(args), grad=grad,
                               sparsity=sparsity, coloring=coloring, format="csr",
                               with_gradient=True, **options)
    return _TrustConstrHessian(prepared)


class IpoptAdapter:
    """cyipopt-style problem callbacks with sparse derivatives in a fixed order.

    Implements the methods of ``cyipopt.Problem(problem_obj=...)``: ``objective``,
    ``gradient``, ``constraints``, ``jacobian``, ``jacobianstructure``, ``hessian`` and
    ``hessianstructure``. Structures are ``(row, col)`` int arrays; values come in the same
    order on every call; the Hessian is the **lower triangle** of the Lagrangian Hessian
    ``obj_factor * H_f + sum_i lagrange[i] * H_{c_i}``. Pyomo/PyNumero take the same
    triplets (``scipy.sparse.coo_array((values, (row, col)))``).

    Parameters
    ----------
    objective : callable
        Scalar ``f(x)``.
    constraints : callable
        Vector ``c(x)`` (m values).
    x0 : array_like
        A point (1-D float array).
    backend : str or Backend
        Needs JVPs or VJPs for the constraint Jacobian and ``hvp`` + ``gradient`` for the
        Hessian (``"jax"``, ``"torch"`` or a Custom backend). ``"fd"`` gives the
        Jacobian; with it pass ``hessian=False``.
    hessian : bool
        Prepare the Lagrangian Hessian. With False, the ``hessian`` and
        ``hessianstructure`` attributes are None, cyipopt's sign for "no Hessian": it
        then sets Ipopt's ``hessian_approximation="limited-memory"`` itself.
    jacobian_sparsity, hessian_sparsity : optional
        Known patterns (else detected by the tracer; for JAX give ``sparsity_from``-style
        numpy twins via ``objective_np``/``constraints_np``).
    objective_np, constraints_np : callable, optional
        Numpy twins of the functions, used only for sparsity detection.
    grad : callable, optional
        Objective gradient (only needed by the ``"fd"`` backend).

    Examples
    --------
    The constraint Jacobian's triplets with finite differences (no Hessian):

    >>> import numpy as np, sparsead
    >>> nlp = sparsead.IpoptAdapter(lambda x: np.sum(x ** 2), lambda x: x[1:] * x[:-1],
    ...                             np.ones(4), backend="fd", hessian=False)
    >>> rows, cols = nlp.jacobianstructure()
    >>> rows, cols
    (array([0, 0, 1, 1, 2, 2], dtype=int32), array([0, 1, 1, 2, 2, 3], dtype=int32))
    >>> nlp.jacobian(np.arange(1.0, 5.0)).round(6)
    array([2., 1., 3., 2., 4., 3.])
    """

    def __init__(self, objective: Callable, constraints: Callable, x0: Any, *,
                 backend: Any = "jax", hessian: bool = True, jacobian_sparsity: Any = None,
                 hessian_sparsity: Any = None, objective_np: Callable | None = None,
                 constraints_np: Callable | None = None,
                 grad: Callable | None = None) -> None:
        x0 = np.asarray(x0, dtype=float)
        if x0.ndim != 1:
            raise SparseADError(f"Ipopt works on 1-D x; got shape {x0.shape}")
        self._f, self._c = objective, constraints
        self._grad = grad
        be = resolve_backend(backend)
        self._library = array_library(be)
        self._jac = prepare_jacobian(constraints, x0, backend=be, sparsity=jacobian_sparsity,
                                     format="coo", sparsity_from=constraints_np)
        self.m = self._jac.shape[0]
        self._hess = None
        if hessian:
            lib = self._library
            xp = array_namespace(lib)

            def lagrangian(x, obj_factor, lam):
                return obj_factor * objective(x) + xp.sum(lam * constraints(x))

            twin = None
            if objective_np is not None and constraints_np is not None:
                def twin(x, obj_factor, lam):
                    return obj_factor * objective_np(x) + np.sum(lam * constraints_np(x))

            args0 = (np.ones((), dtype=float), np.ones(self.m, dtype=float))
            self._hess = prepare_hessian(lagrangian, x0, backend=be, args=args0,
                                         sparsity=hessian_sparsity, sparsity_from=twin,
                                         uplo="L", format="coo")
        else:
            # No Hessian callbacks at all: that is how cyipopt is told there is no
            # Hessian, and it then switches Ipopt to its limited-memory quasi-Newton
            # approximation by itself. (An empty structure would tell Ipopt that the
            # Hessian is zero.)
            self.hessian = None  # type: ignore[assignment]
            self.hessianstructure = None  # type: ignore[assignment]
        self._grad_ctx = None
        self._be = be

    # cyipopt callbacks -----------------------------------------------------------------
    def objective(self, x: np.ndarray) -> float:
        return float(np.asarray(self._f(x)))

    def gradient(self, x: np.ndarray) -> np.ndarray:
        if self._grad is not None:
            return np.asarray(self._grad(x), dtype=float).reshape(-1)
        if self._grad_ctx is None:
            self._grad_ctx = self._be.prepare(self._f, np.asarray(x, dtype=float), (),
                                              kinds=frozenset({"gradient"}))
        return np.asarray(self._be.gradient(self._grad_ctx, np.asarray(x, float))[1],
                          dtype=float).reshape(-1)

    def constraints(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self._c(x), dtype=float).reshape(-1)

    def jacobianstructure(self) -> tuple[np.ndarray, np.ndarray]:
        return self._jac.structure()

    def jacobian(self, x: np.ndarray) -> np.ndarray:
        return self._jac.values(np.asarray(x, dtype=float))

    def hessianstructure(self) -> tuple[np.ndarray, np.ndarray]:
        if self._hess is None:
            raise SparseADError("this IpoptAdapter was made with hessian=False; use "
                                "hessian_approximation='limited-memory' in Ipopt")
        return self._hess.structure()

    def hessian(self, x: np.ndarray, lagrange: np.ndarray, obj_factor: float) -> np.ndarray:
        if self._hess is None:
            raise SparseADError("this IpoptAdapter was made with hessian=False; use "
                                "hessian_approximation='limited-memory' in Ipopt")
        args = (np.asarray(obj_factor, dtype=float), np.asarray(lagrange, dtype=float))
        return self._hess.values(np.asarray(x, dtype=float), args=args)
