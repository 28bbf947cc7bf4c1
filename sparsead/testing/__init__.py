"""Backend conformance suite: :func:`check_backend`.

A third-party backend runs it like this::

    from sparsead.testing import check_backend

    class MyBackend(sparsead.backends.Backend):
        name = "mine"
        array_library = "numpy"      # or "jax" / "torch": what f is written in
        ...                          # prepare, value, and products, or only jvp/vjp/hvp

    report = check_backend(MyBackend())   # raises AssertionError listing failures
    print(report.summary())

Every scenario of :data:`SCENARIOS` (scalar/vector/matrix inputs and outputs, in-place
and out-of-place f, extra ``args``, banded/arrowhead/dense-row/Brusselator Jacobians,
Hessians) runs in float64 and float32 through the full pipeline
(:func:`sparsead.prepare_jacobian` / :func:`sparsead.prepare_hessian`) with the exact
pattern given, and is compared with a complex-step reference. The backend is wrapped in
a counter: one evaluation must cost exactly one backend call with ``ncolors`` seed rows
(``ceil(ncolors / chunk_size)`` calls when chunked), an evaluation must leave earlier
results unchanged, and ``J(x, out=M)`` must refill ``M``. A backend may implement
:meth:`~sparsead.backends.Backend.products` or only the plain ``jvp`` (``vjp``, ``hvp``)
behind the default one. Scenarios a backend cannot run (in-place f for JAX/torch, Hessians without
``hvp``) are reported as skipped, not failed.

For a backend built around one function (like :class:`~sparsead.backends.Custom`), pass
``factory=lambda scenario, f, args: backend`` instead: it is called per scenario with the
numpy function (out-of-place) and its args.
"""

from __future__ import annotations

import math
import traceback
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import numpy as np

from .._backend_resolution import array_library, array_namespace
from ..backends import Backend, FiniteDifferences, get_backend
from ..hessian import prepare_hessian
from ..jacobian import prepare_jacobian
from ._scenarios import SCENARIOS, Scenario, brusselator_pattern, complex_step_jacobian

__all__ = ["check_backend", "CountingBackend", "ConformanceReport", "SCENARIOS", "Scenario",
           "complex_step_jacobian", "brusselator_pattern"]


class CountingBackend(Backend):
    """Wraps a backend and counts product calls and seed rows (for the cost check).

    It forwards :meth:`~Backend.products` (and the plain products), not
    :meth:`~Backend.compile`: every evaluation goes through a counted call."""

    def __init__(self, inner: Backend) -> None:
        self.inner = inner
        self.name = inner.name
        self.array_library = array_library(inner)
        self.reset()

    def reset(self) -> None:
        self.calls: dict[str, int] = {}
        self.rows: dict[str, int] = {}

    def _count(self, kind: str, seeds: Any) -> None:
        self.calls[kind] = self.calls.get(kind, 0) + 1
        self.rows[kind] = self.rows.get(kind, 0) + int(np.shape(seeds)[0])

    @property
    def total_calls(self) -> int:
        return sum(v for k, v in self.calls.items() if k != "value")

    @property
    def total_rows(self) -> int:
        return sum(v for k, v in self.rows.items() if k != "value")

    def supports(self, kind):
        return self.inner.supports(kind)

    def prepare(self, f, x, args=(), *, kinds=frozenset({"jvp"})):
        return self.inner.prepare(f, x, args, kinds=kinds)

    def output_shape(self, ctx):
        return self.inner.output_shape(ctx)

    def rebind_args(self, ctx, f, x, args, kinds):
        return self.inner.rebind_args(ctx, f, x, args, kinds)

    def value(self, ctx, x):
        self.calls["value"] = self.calls.get("value", 0) + 1
        return self.inner.value(ctx, x)

    def gradient(self, ctx, x):
        return self.inner.gradient(ctx, x)

    def products(self, ctx, x, request, out=None):
        self._count(request.kind, request.seeds)
        return self.inner.products(ctx, x, request, out=out)

    def jvp(self, ctx, x, V):
        self._count("jvp", V)
        return self.inner.jvp(ctx, x, V)

    def vjp(self, ctx, x, W):
        self._count("vjp", W)
        return self.inner.vjp(ctx, x, W)

    def hvp(self, ctx, x, V):
        self._count("hvp", V)
        return self.inner.hvp(ctx, x, V)


@dataclass
class CaseResult:
    """Outcome of one scenario in one dtype (``status``: pass, fail or skip)."""

    scenario: str
    dtype: str
    status: str
    detail: str = ""
    ncolors: int | None = None
    mode: str | None = None
    error: float | None = None


@dataclass
class ConformanceReport:
    """All case results of :func:`check_backend`."""

    backend: str
    results: list[CaseResult] = field(default_factory=list)

    @property
    def failures(self) -> list[CaseResult]:
        return [r for r in self.results if r.status == "fail"]

    @property
    def passed(self) -> list[CaseResult]:
        return [r for r in self.results if r.status == "pass"]

    @property
    def skipped(self) -> list[CaseResult]:
        return [r for r in self.results if r.status == "skip"]

    def summary(self) -> str:
        lines = [f"backend {self.backend!r}: {len(self.passed)} passed, "
                 f"{len(self.failures)} failed, {len(self.skipped)} skipped"]
        for r in self.results:
            extra = f" ncolors={r.ncolors} mode={r.mode}" if r.ncolors is not None else ""
            err = f" err={r.error:.2e}" if r.error is not None else ""
            lines.append(f"  {r.status:4s} {r.scenario:20s} {r.dtype:8s}{extra}{err} "
                         f"{r.detail}".rstrip())
        return "\n".join(lines)


def default_rtol(backend: Backend, dtype: np.dtype) -> float:
    """Tolerance relative to ``max(1, max |reference|)`` for this backend and dtype."""
    single = np.dtype(dtype) == np.float32
    if isinstance(backend, FiniteDifferences):
        return {"forward": (1e-5, 3e-2), "central": (1e-8, 5e-3),
                "complex": (1e-10, 1e-4)}[backend.method][single]
    return 2e-4 if single else 1e-9


def _out_of_place(sc: Scenario, f: Callable) -> Callable:
    if not sc.inplace:
        return f

    def g(x, *args):
        out = np.zeros(sc.out_shape, dtype=np.result_type(x.dtype, np.float64)
                       if np.iscomplexobj(x) else x.dtype)
        f(out, x, *args)
        return out
    return g


def _expected_calls(J: Any, chunk_size: int | None) -> int:
    """Backend calls for one evaluation: per product kind, one, or one per chunk."""
    if getattr(J, "mode", None) == "bidirectional":
        sides = (J.coloring.ncolumn_colors, J.coloring.nrow_colors)
    else:
        sides = (J.ncolors,)
    if chunk_size:
        return sum(math.ceil(k / chunk_size) for k in sides)
    return sum(min(k, 1) for k in sides)


def _run_case(sc: Scenario, dtype: np.dtype, inner: Backend, rtol: float,
              chunk_size: int | None) -> CaseResult:
    dname = np.dtype(dtype).name
    library = array_library(inner)
    if sc.inplace and library != "numpy":
        return CaseResult(sc.name, dname, "skip", "in-place f needs a numpy backend")
    xp = array_namespace(library)
    f = sc.make(xp)
    x = sc.point(dtype)
    args = sc.args(dtype)
    f_np = sc.make(np)
    if sc.kind == "hessian":
        if isinstance(inner, FiniteDifferences):
            inner = FiniteDifferences(method=inner.method, rel_step=inner.rel_step,
                                      grad=sc.grad)
        if not (inner.supports("hvp")):
            return CaseResult(sc.name, dname, "skip", "backend has no hvp")
        ref = complex_step_jacobian(sc.grad, x, args)
        ref = 0.5 * (ref + ref.T)
    else:
        ref = complex_step_jacobian(f_np, x, args,
                                    inplace_shape=sc.out_shape if sc.inplace else None)
    be = CountingBackend(inner)
    scale = max(1.0, float(np.max(np.abs(ref)))) if ref.size else 1.0
    if sc.kind == "jacobian":
        kw = {"out": np.zeros(sc.out_shape, dtype=dtype)} if sc.inplace else {}
        with warnings.catch_warnings():
            # a backend without VJPs falls back from mode="bidirectional" to column
            # coloring and says so; the case still checks what it computes
            warnings.filterwarnings("ignore", message=".*mode='bidirectional' is not available")
            J = prepare_jacobian(f, x, backend=be, args=args, sparsity=sc.sparsity(),
                                          chunk_size=chunk_size, mode=sc.mode,
                                          coloring=sc.coloring, **kw)
    else:
        J = prepare_hessian(f, x, backend=be, args=args, sparsity=sc.sparsity(),
                                     chunk_size=chunk_size, coloring=sc.coloring)
    be.reset()
    M = J(x)
    expected_calls = _expected_calls(J, chunk_size)
    problems = []
    if be.total_rows != J.ncolors or be.total_calls != expected_calls:
        problems.append(f"cost: {be.total_calls} calls with {be.total_rows} seed rows, "
                        f"expected {expected_calls} call(s) with {J.ncolors} rows")
    dense = M.toarray()
    saved = np.array(M.data, copy=True)
    J(x * np.asarray(1.001, dtype=x.dtype))  # another point: must not change M
    if not np.array_equal(M.data, saved, equal_nan=True):
        problems.append("an earlier result's values changed at a later evaluation: "
                        "products must return out or a new array it never writes again")
    err = float(np.max(np.abs(dense - ref))) / scale if ref.size else 0.0
    if not np.isfinite(err) or err > rtol:
        problems.append(f"values differ from the reference by {err:.2e} (> rtol {rtol:.1e})")
    if dense.dtype != np.dtype(dtype):
        problems.append(f"values have dtype {dense.dtype}, expected {dname}")
    M2 = J(x, out=M)
    if M2 is not M or not np.array_equal(M.toarray(), dense, equal_nan=True):
        problems.append("J(x, out=M) did not refill M in place with the same values")
    if sc.kind == "jacobian":
        y, _ = J.value_and_jacobian(x)
        y_ref = np.asarray(_out_of_place(sc, f_np)(x.astype(np.float64), *args))
        if np.shape(y) != y_ref.shape:
            problems.append(f"value_and_jacobian value has shape {np.shape(y)}, f returns "
                            f"{y_ref.shape}")
        elif not np.allclose(np.asarray(y, dtype=np.float64), y_ref,
                             rtol=1e-5 if dname == "float32" else 1e-12, atol=1e-5):
            problems.append("value_and_jacobian value differs from f(x)")
    status = "fail" if problems else "pass"
    return CaseResult(sc.name, dname, status, "; ".join(problems), J.ncolors,
                      getattr(J, "mode", getattr(J, "method", None)), err)


def check_backend(backend: str | Backend | None = None, *,
                  factory: Callable[[Scenario, Callable, tuple], Backend] | None = None,
                  scenarios: Iterable[Scenario] | None = None,
                  dtypes: Iterable[Any] = (np.float64, np.float32),
                  rtol: float | None = None, chunk_size: int | None = None,
                  raise_on_failure: bool = True) -> ConformanceReport:
    """Run the conformance scenarios on a backend and check values and cost.

    Parameters
    ----------
    backend : str or Backend, optional
        A registered name (``"fd"``, ``"jax"``, ``"torch"``) or an instance.
    factory : callable, optional
        Instead of ``backend``: ``factory(scenario, f_numpy, args) -> Backend`` per
        scenario (for backends tied to one function, e.g. ``Custom``).
    scenarios : iterable of Scenario, optional
        Default: all of :data:`SCENARIOS`.
    dtypes : iterable of dtypes
        Default float64 and float32.
    rtol : float, optional
        Tolerance relative to ``max(1, max |reference|)``; default from
        :func:`default_rtol` (tight for AD, looser for finite differences and float32).
    chunk_size : int, optional
        Also check chunked evaluation (``ceil(ncolors / chunk_size)`` calls).
    raise_on_failure : bool
        Raise ``AssertionError`` with the summary when any case fails.

    Returns
    -------
    ConformanceReport

    Examples
    --------
    Two scenarios in float64 only (the default runs all of them, in both precisions):

    >>> import numpy as np
    >>> from sparsead.testing import SCENARIOS, check_backend
    >>> few = [s for s in SCENARIOS if s.name in ("banded", "rosenbrock_hessian")]
    >>> report = check_backend("fd", scenarios=few, dtypes=[np.float64])
    >>> print(report.summary().splitlines()[0])
    backend 'fd': 2 passed, 0 failed, 0 skipped
    """
    if (backend is None) == (factory is None):
        raise TypeError("pass exactly one of backend= or factory=")
    base = get_backend(backend) if backend is not None else None
    report = ConformanceReport(base.name if base is not None else "factory")
    for sc in (SCENARIOS if scenarios is None else scenarios):
        for dtype in dtypes:
            dname = np.dtype(dtype).name
            try:
                if factory is not None:
                    inner = factory(sc, _out_of_place(sc, sc.make(np)), sc.args(dtype))
                    report.backend = inner.name
                else:
                    inner = base
                tol = rtol if rtol is not None else default_rtol(inner, np.dtype(dtype))
                report.results.append(_run_case(sc, np.dtype(dtype), inner, tol, chunk_size))
            except Exception as exc:  # noqa: BLE001  (reported per case)
                tb = traceback.format_exception_only(type(exc), exc)[-1].strip()
                report.results.append(CaseResult(sc.name, dname, "fail", f"raised {tb}"))
    if raise_on_failure and report.failures:
        raise AssertionError("backend conformance failures:\n" + report.summary())
    return report
