"""Oracle tests: reductions (sum, prod, mean, max, min, cumsum, cumprod, var, std, norm).

Input ``x`` has 12 entries and is reshaped to ``X`` of shape (3, 4) inside the function.
Reference derivatives: complex step of the same numpy code, or central differences for
the non-analytic ones (var, std, norms, max, min). Smooth reductions must match the
numerical pattern exactly; ``max`` and ``min`` in global mode must contain the whole
reduced group (checked against a ``sum`` over the same axis), and follow the arg-max in
local mode.
"""
from __future__ import annotations

import functools
import zlib
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest

import tracer
from tests.tracer._oracle import (
    assert_contains,
    assert_pattern_equal,
    assert_symmetric,
    nonzero_mask,
    reference_hessian,
    reference_jacobian,
    sample,
)

MODES = ["global", "local"]
SHAPE = (3, 4)
N = 12


@dataclass(frozen=True)
class Red:
    fn: Callable
    domain: str = "real"
    struct: Callable | None = None  # same global pattern, no value-dependent zeros
    hess_exact: bool = True
    cs: bool = True  # complex step valid (False: abs/max/var/norm are not analytic)


NOT_ANALYTIC = ("var", "std", "norm", "max", "min")


def _r(fn, **kw):
    return Red(lambda xp, x: fn(xp, x.reshape(SHAPE)), **kw)


def _max_like(fn, sumfn):
    """max/min: global pattern is the whole reduced group (as for sum); Hessian zero a.e."""
    return Red(lambda xp, x: fn(xp, x.reshape(SHAPE)),
               struct=lambda xp, x: sumfn(xp, x.reshape(SHAPE)), hess_exact=False, cs=False)


REDUCTIONS = {
    "sum": _r(lambda xp, X: xp.sum(X)),
    "sum_axis0": _r(lambda xp, X: xp.sum(X, axis=0)),
    "sum_axis1_keepdims": _r(lambda xp, X: xp.sum(X, axis=1, keepdims=True)),
    "sum_axis_tuple": _r(lambda xp, X: xp.sum(X.reshape(3, 2, 2), axis=(0, 2))),
    "sum_neg_axis": _r(lambda xp, X: xp.sum(X, axis=-1)),
    "method_sum_axis": _r(lambda xp, X: X.sum(axis=0)),
    "prod": _r(lambda xp, X: xp.prod(X)),
    "prod_axis1": _r(lambda xp, X: xp.prod(X, axis=1)),
    "method_prod": _r(lambda xp, X: X.prod(axis=0)),
    "mean": _r(lambda xp, X: xp.mean(X)),
    "mean_axis0": _r(lambda xp, X: xp.mean(X, axis=0)),
    "method_mean": _r(lambda xp, X: X.mean(axis=1)),
    "cumsum": _r(lambda xp, X: xp.cumsum(X)),
    "cumsum_axis1": _r(lambda xp, X: xp.cumsum(X, axis=1)),
    "cumsum_axis0": _r(lambda xp, X: xp.cumsum(X, axis=0)),
    "method_cumsum": _r(lambda xp, X: X.cumsum(axis=1)),
    "cumprod": _r(lambda xp, X: xp.cumprod(X)),
    "cumprod_axis0": _r(lambda xp, X: xp.cumprod(X, axis=0)),
    "method_cumprod": _r(lambda xp, X: X.cumprod(axis=1)),
    "var": _r(lambda xp, X: xp.var(X), cs=False),
    "var_axis1": _r(lambda xp, X: xp.var(X, axis=1), cs=False),
    "var_ddof": _r(lambda xp, X: xp.var(X, axis=0, ddof=1), cs=False),
    "method_var": _r(lambda xp, X: X.var(axis=0), cs=False),
    "std": _r(lambda xp, X: xp.std(X), cs=False),
    "std_axis0": _r(lambda xp, X: xp.std(X, axis=0), cs=False),
    "method_std": _r(lambda xp, X: X.std(axis=1), cs=False),
    "norm": _r(lambda xp, X: xp.linalg.norm(X), cs=False),
    "norm_vec": _r(lambda xp, X: xp.linalg.norm(X.ravel()), cs=False),
    "norm_fro": _r(lambda xp, X: xp.linalg.norm(X, "fro"), cs=False),
    "norm_axis1": _r(lambda xp, X: xp.linalg.norm(X, axis=1), cs=False),
    "norm_ord1": Red(lambda xp, x: xp.linalg.norm(x, 1), hess_exact=False, cs=False),
    "norm_ord3": Red(lambda xp, x: xp.linalg.norm(x, 3), cs=False),
    "norm_inf": Red(lambda xp, x: xp.linalg.norm(x, np.inf), struct=lambda xp, x: xp.sum(x),
                    hess_exact=False, cs=False),
    "max": _max_like(lambda xp, X: xp.max(X), lambda xp, X: xp.sum(X)),
    "max_axis0": _max_like(lambda xp, X: xp.max(X, axis=0), lambda xp, X: xp.sum(X, axis=0)),
    "amax_axis1": _max_like(lambda xp, X: xp.amax(X, axis=1), lambda xp, X: xp.sum(X, axis=1)),
    "method_max": _max_like(lambda xp, X: X.max(axis=1), lambda xp, X: X.sum(axis=1)),
    "min": _max_like(lambda xp, X: xp.min(X), lambda xp, X: xp.sum(X)),
    "min_axis1": _max_like(lambda xp, X: xp.min(X, axis=1), lambda xp, X: xp.sum(X, axis=1)),
    "method_min": _max_like(lambda xp, X: X.min(axis=0), lambda xp, X: X.sum(axis=0)),
    # reductions of nonlinear expressions
    "sum_of_squares": _r(lambda xp, X: xp.sum(X * X, axis=1)),
    "mean_exp": _r(lambda xp, X: xp.mean(xp.exp(X), axis=0)),
    "prod_of_sum": _r(lambda xp, X: xp.prod(xp.sum(X, axis=0))),
}


def rng_for(name, salt=0):
    return np.random.default_rng(zlib.crc32(name.encode()) + salt)


def _points(name, red, k=3):
    rng = rng_for(name)
    return [sample(rng, (N,), red.domain) for _ in range(k)]


@functools.lru_cache(maxsize=None)
def refs(name):
    """Test points and reference masks, shared by both modes."""
    red = REDUCTIONS[name]
    pts = _points(name, red)
    jac = [nonzero_mask(*reference_jacobian(red.fn, x, red.cs)) for x in pts]
    c = rng_for(name, 1).uniform(0.5, 1.5, np.shape(red.fn(np, pts[0])))
    g = lambda xp, x: xp.sum(c * red.fn(xp, x))  # noqa: E731
    hess = [nonzero_mask(*reference_hessian(g, x, red.cs)) for x in pts[:2]]
    return pts, jac, g, hess


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(REDUCTIONS))
def test_reduction_jacobian(name, mode):
    red = REDUCTIONS[name]
    pts, jac, _, _ = refs(name)
    union = np.zeros_like(jac[0])
    for x, ref in zip(pts, jac):
        union |= ref
        P = tracer.jacobian_sparsity(lambda x: red.fn(np, x), x, mode=mode)
        assert_contains(P, ref, f"{name} Jacobian ({mode})")
    if red.struct is None:
        assert_pattern_equal(P, union, f"{name} Jacobian ({mode})")
    elif mode == "global":
        exact = nonzero_mask(*reference_jacobian(red.struct, x))
        assert_pattern_equal(P, exact, f"{name} Jacobian ({mode})")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(REDUCTIONS))
def test_reduction_hessian(name, mode):
    red = REDUCTIONS[name]
    pts, _, g, hess = refs(name)
    union = np.zeros((N, N), bool)
    for x, ref in zip(pts, hess):
        union |= ref
        P = tracer.hessian_sparsity(lambda x: g(np, x), x, mode=mode)
        assert_symmetric(P)
        assert_contains(P, ref, f"{name} Hessian ({mode})")
    if red.hess_exact:
        assert_pattern_equal(P, union, f"{name} Hessian ({mode})")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", ["max", "max_axis0", "min_axis1", "norm_inf"])
def test_max_min_squared_hessian(name, mode):
    """sum(max(X)**2): the Hessian must contain the (arg-max, arg-max) entries."""
    red = REDUCTIONS[name]
    g = lambda xp, x: xp.sum(red.fn(xp, x) ** 2)  # noqa: E731
    for x in _points(name, red, 2):
        P = tracer.hessian_sparsity(lambda x: g(np, x), x, mode=mode)
        ref = nonzero_mask(*reference_hessian(g, x, complex_safe=False))
        assert_contains(P, ref, f"{name}**2 Hessian ({mode})")


@pytest.mark.parametrize("mode", MODES)
def test_reduction_output_shapes(mode):
    """0-d and keepdims outputs give (1, n) and (k, n) patterns."""
    x = sample(rng_for("shapes"), (N,))
    P = tracer.jacobian_sparsity(lambda x: np.sum(x), x, mode=mode)
    assert P.shape == (1, N) and P.nnz == N
    P = tracer.jacobian_sparsity(lambda x: x.reshape(SHAPE).sum(axis=1, keepdims=True), x,
                                 mode=mode)
    assert P.shape == (3, N) and P.nnz == N
