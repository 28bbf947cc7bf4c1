"""Exact zero constants cut the dependence of products (``0 * x``, ``x * 0``, ``0 / x``,
a zero weight in a constant array), to first and second order, in both modes, in the
numpy engine (vectorized and loop-style) and the JAX front-end; NaN and inf constants
keep it. References: dense derivatives of the same code (complex step / ``jax.jacfwd``)."""
from __future__ import annotations

import numpy as np
import pytest

import tracer
from tests.tracer._oracle import (
    assert_pattern_equal,
    nonzero_mask,
    reference_hessian,
    reference_jacobian,
    to_dense,
)

W = np.array([0.0, 1.5, 0.0, -2.0, 0.0])


def vectorized(xp, x):
    return (xp.exp(-x * 0) + 0.0 * x[::-1] + W * x + xp.asarray(W)[::-1] * x**2
            + xp.sin(x[0] * 0.0) * x + x * x[1] * W)


def loop(xp, x):
    w = [0.0, 1.5, 0.0, -2.0, 0.0]
    out = []
    for i in range(5):
        out.append(w[i] * x[i] + x[(i + 1) % 5] * 0 + 0.0 / x[i] + xp.exp(-x[i] * 0.0)
                   + w[(i + 2) % 5] * x[i] * x[(i + 3) % 5])
    return xp.stack(out)


CASES = {"vectorized": vectorized, "loop": loop}
_x = np.random.default_rng(3).uniform(0.5, 1.5, 5)


@pytest.mark.parametrize("mode", ["global", "local"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_zero_constants_jacobian(name, mode):
    f = CASES[name]
    P = tracer.jacobian_sparsity(lambda z: f(np, z), _x, mode=mode)
    assert_pattern_equal(P, nonzero_mask(*reference_jacobian(f, _x)))
    assert P.nnz < _x.size * 5  # the zeros did cut something


@pytest.mark.parametrize("mode", ["global", "local"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_zero_constants_hessian(name, mode):
    f = CASES[name]

    def g(xp, z):
        return xp.sum(f(xp, z) * z)

    P = tracer.hessian_sparsity(lambda z: g(np, z), _x, mode=mode)
    assert_pattern_equal(P, nonzero_mask(*reference_hessian(g, _x)))


@pytest.mark.parametrize("name", sorted(CASES))
def test_zero_constants_jax_frontend(name):
    jnp = pytest.importorskip("jax.numpy")
    f = CASES[name]
    J, tol, floor = reference_jacobian(f, _x)
    P = tracer.jacobian_sparsity(lambda z: f(jnp, z), jnp.asarray(_x))
    assert_pattern_equal(P, nonzero_mask(J, tol, floor))

    def g(xp, z):
        return xp.sum(f(xp, z) * z)

    P = tracer.hessian_sparsity(lambda z: g(jnp, z), jnp.asarray(_x))
    assert_pattern_equal(P, nonzero_mask(*reference_hessian(g, _x)))


@pytest.mark.parametrize("mode", ["global", "local"])
@pytest.mark.parametrize("special", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_constants_keep_dependence(special, mode):
    c = np.array([special, 0.0, 1.0])

    def f(x):
        scalar = np.stack([special * x[0], x[1] * special, special / x[2]])
        return c * x + scalar

    with np.errstate(all="ignore"):
        P = to_dense(tracer.jacobian_sparsity(f, np.ones(3), mode=mode))
        H = to_dense(tracer.hessian_sparsity(lambda x: np.sum(c * x * x), np.ones(3),
                                             mode=mode))
    assert P.tolist() == [[True, False, False], [False, True, False], [False, False, True]]
    assert H.tolist() == [[True, False, False], [False, False, False], [False, False, True]]
