"""A local pattern is never reused silently (issue #10, item 0).

The issue's function takes one branch at the point of preparation and the other at the
next point. Prepared objects built with ``sparsity_mode="local"`` (prepare_jacobian,
prepare_hessian, ode_jacobian, least_squares_jacobian) must equal dense ``jax.jacfwd`` /
``jax.hessian`` of the same function at points on both sides of the branch;
``reuse_local_pattern=True`` keeps the pattern of the point of preparation.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import sparsead
from sparsead._local import LocalPatterns, contains

X_POS = np.array([1.0, 2.0, 3.0, 4.0])
X_NEG = np.array([-1.0, 2.0, 3.0, 4.0])
POINTS = [X_POS, X_NEG, np.array([0.5, -2.0, 1.5, 3.0]), np.array([-0.5, 1.0, -3.0, 2.0]),
          X_POS]


def branch(x):
    """The issue's function: diagonal for x[0] > 0, diagonal and anti-diagonal else.

    Written with operators only, so that jax runs it as well (the reference)."""
    return x ** 2 if x[0] > 0 else x * x[::-1]


def scalar_branch(x):
    return np.sum(x ** 3) if x[0] > 0 else np.sum(x * x[::-1]) + x[1] * x[2] ** 2


def scalar_branch_grad(x):
    if x[0] > 0:
        return 3.0 * x ** 2
    g = 2.0 * x[::-1]
    g[1] += x[2] ** 2
    g[2] += 2.0 * x[1] * x[2]
    return g


@functools.lru_cache(maxsize=None)
def _jac_ref(x: tuple) -> np.ndarray:
    return np.asarray(jax.jacfwd(branch)(jnp.asarray(x)))


@functools.lru_cache(maxsize=None)
def _side_hessians():
    """jit-compiled ``jax.hessian`` of each side of the branch (an eager jax.hessian of
    the branching function compiles every operation again at every point: slow)."""
    sides = (lambda x: jnp.sum(x ** 3), lambda x: jnp.sum(x * x[::-1]) + x[1] * x[2] ** 2)
    return tuple(jax.jit(jax.hessian(side)) for side in sides)


def _hess_ref(x: tuple) -> np.ndarray:
    positive, negative = _side_hessians()
    return np.asarray((positive if x[0] > 0 else negative)(jnp.asarray(x)))


def jac_ref(x):
    """Dense Jacobian by jax.jacfwd (eager: the Python branch follows the values)."""
    return _jac_ref(tuple(np.asarray(x).tolist()))


def hess_ref(x):
    """Dense Hessian by jax.hessian of the side of the branch that x takes."""
    return _hess_ref(tuple(np.asarray(x).tolist()))


@pytest.mark.parametrize("backend", ["fd", "complex"])
def test_prepare_jacobian_local_is_right_on_both_sides(backend):
    be = sparsead.backends.FiniteDifferences("complex") if backend == "complex" else "fd"
    J = sparsead.prepare_jacobian(branch, X_POS, backend=be, sparsity_mode="local")
    rtol = 1e-10 if backend == "complex" else 1e-6
    for x in POINTS:
        np.testing.assert_allclose(J(x).toarray(), jac_ref(x), rtol=rtol, atol=rtol)
        y, Jx = J.value_and_jacobian(x)
        np.testing.assert_allclose(y, branch(x))
        np.testing.assert_allclose(Jx.toarray(), jac_ref(x), rtol=rtol, atol=rtol)
        rows, cols = J.structure()
        dense = np.zeros((4, 4))
        dense[rows, cols] = J.values(x)
        np.testing.assert_allclose(dense, jac_ref(x), rtol=rtol, atol=rtol)
    # two sides, two structures; the way back to the first side reuses the cached one
    assert J._local.preparations == 1


def test_prepare_hessian_local_is_right_on_both_sides():
    H = sparsead.prepare_hessian(scalar_branch, X_POS, grad=scalar_branch_grad,
                                 sparsity_mode="local", with_gradient=True)
    assert H.sparsity.nnz == 4  # diagonal at the point of preparation
    for x in POINTS:
        np.testing.assert_allclose(H(x).toarray(), hess_ref(x), rtol=1e-6, atol=1e-6)
        _, g, Hx = H.value_gradient_and_hessian(x)
        np.testing.assert_allclose(g, scalar_branch_grad(x))
        np.testing.assert_allclose(Hx.toarray(), hess_ref(x), rtol=1e-6, atol=1e-6)


def test_ode_jacobian_local_is_right_on_both_sides():
    def fun(t, y):
        return (1.0 + t) * branch(y)

    jac = sparsead.ode_jacobian(fun, 0.0, X_POS, sparsity_mode="local")
    for t, y in zip([0.0, 0.5, 1.0, 2.0, 3.0], POINTS):
        np.testing.assert_allclose(jac(t, y).toarray(), (1.0 + t) * jac_ref(y),
                                   rtol=1e-6, atol=1e-6)


def test_least_squares_jacobian_local_is_right_on_both_sides():
    jac = sparsead.least_squares_jacobian(branch, X_POS, sparsity_mode="local")
    for x in POINTS:
        np.testing.assert_allclose(jac(x).toarray(), jac_ref(x), rtol=1e-6, atol=1e-6)


def test_same_point_is_not_detected_again_and_reuse_opts_out():
    J = sparsead.prepare_jacobian(branch, X_POS, sparsity_mode="local")
    J(X_POS)
    J(X_POS.copy())
    assert J._local.detections == 0
    J(X_NEG)
    J(X_NEG)
    assert J._local.detections == 1
    K = sparsead.prepare_jacobian(branch, X_POS, sparsity_mode="local",
                                  reuse_local_pattern=True)
    assert K._local is None
    K(X_NEG)
    assert K.sparsity.nnz == 4  # the documented opt-out keeps the prepared pattern
    G = sparsead.prepare_jacobian(lambda x: np.where(x[0] > 0, x ** 2, x * x[::-1]), X_POS)
    assert G._local is None  # global pattern: valid everywhere, nothing to re-detect
    np.testing.assert_allclose(G(X_NEG).toarray(), jac_ref(X_NEG), rtol=1e-6, atol=1e-6)


def test_global_mode_error_suggests_where_then_local_and_its_cost():
    with pytest.raises(sparsead.SparsityDetectionError) as excinfo:
        sparsead.prepare_jacobian(branch, X_POS)
    msg = str(excinfo.value)
    assert msg.index("np.where") < msg.index("sparsity_mode='local'")
    assert "np.select" in msg and "detected again at every new x" in msg


def test_structure_cache_is_bounded():
    import scipy.sparse as sp
    calls = []

    def detect(x, args):  # a new single-entry pattern at every point
        calls.append(None)
        dense = np.zeros(16, dtype=bool)
        dense[len(calls)] = True
        return sp.csr_array(dense.reshape(4, 4))

    J = sparsead.prepare_jacobian(branch, X_POS, sparsity_mode="local")
    J._local = LocalPatterns(detect, J._local._build, X_POS, ())
    for i in range(12):
        J(X_POS + i + 1.0)
    # entries 1..12; 5 and 10 are on the prepared diagonal only, never in the pattern in use
    assert J._local.preparations == 12
    assert len(J._local._cache) == 8


def test_contains():
    import scipy.sparse as sp
    eye = sp.csr_array(np.eye(3, dtype=bool))
    full = sp.csr_array(np.ones((3, 3), dtype=bool))
    assert contains(full, eye) and not contains(eye, full)
    assert contains(eye, sp.csr_array((3, 3), dtype=bool))
