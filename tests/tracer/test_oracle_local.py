"""Local mode: value-dependent selections follow the actual values at x.

For every case the local pattern must equal the numerical pattern at that point exactly
(``where``, ``maximum``/``minimum``/``fmax``/``fmin``, ``abs``, ``clip``, ``max``/``min``
reductions, arg-max selection, branches and loops on traced values), be contained in the
global pattern (when global mode accepts the code), and be strictly smaller than the
global pattern at some of the test points.
"""
from __future__ import annotations

import zlib

import numpy as np
import pytest

import tracer
from tests.tracer._oracle import (
    assert_contains,
    assert_pattern_equal,
    hessian_fd,
    jacobian_fd,
    nonzero_mask,
    sample,
    to_dense,
)

N = 8
K = 4


def rng_for(name, salt=0):
    return np.random.default_rng(zlib.crc32(name.encode()) + salt)


def _branch(x):
    if x[0] > 0:
        return x[1:] ** 2
    return x[1:] * x[0]


def _branch_bool(x):
    y = x[1:] * 1.0
    if bool(np.all(x[:2] > 0)):
        y = y + x[0]
    return y


def _while(x):
    y = x * 1.0
    steps = 0
    while y[0] > 0.05 and steps < 20:      # the number of steps depends on the values
        y = y * 0.5
        if steps % 2:
            y = y + 0.1 * np.roll(y, 1)
        steps += 1
    return y


def _python_max(x):
    return np.array([max(x[0], x[1]), min(x[2], x[3]), abs(x[4]) + x[5]])


def _sorted_pair(x):
    a, b = x[0], x[1]
    if a < b:
        a, b = b, a
    return np.array([a - 2 * b, a * b])


def _inplace_after_transpose(x):
    """Local values must follow in-place updates of arrays with a transposed layout."""
    y = x.reshape(2, K).T * 1.0
    y[:, 0] += 1.5
    return np.max(y, axis=1)


def _view_inplace_after_transpose(x):
    y = x.reshape(2, K).T * 1.0
    w = y[:, 1]
    w -= 1.5
    return np.maximum(y[:, 0], y[:, 1])


def _copy_of_transpose_setitem(x):
    y = x.reshape(2, K).T.copy()
    y[1:, 1] = 2.0
    return np.where(y[:, 0] > y[:, 1], y[:, 0], y[:, 1] * x[0])


# Each case: f(x) on x of length N; "global" tells whether global mode accepts it.
CASES = {
    "where": (lambda x: np.where(x[:K] > x[K:], x[:K] ** 2, np.sin(x[K:])), True),
    "where_scalar_branch": (lambda x: np.where(x[:K] > 0, x[:K], 0.0), True),
    "maximum": (lambda x: np.maximum(x[:K], x[K:]), True),
    "minimum": (lambda x: np.minimum(x[:K], x[K:]) * 2.0, True),
    "fmax": (lambda x: np.fmax(x[:K], x[K:]), True),
    "fmin": (lambda x: np.fmin(x[:K], x[K:]), True),
    "maximum_const": (lambda x: np.maximum(x, 0.0), True),
    "relu_chain": (lambda x: np.maximum(x[:K] * x[K:], 0.0) + np.minimum(x[K:], 0.1), True),
    "abs": (lambda x: np.abs(x[:K]) * x[K:], True),
    "clip": (lambda x: np.clip(x, -0.5, 0.5), True),
    "clip_upper_only": (lambda x: np.clip(x, None, 0.3), True),
    "max_reduction": (lambda x: np.max(x.reshape(2, K), axis=1), True),
    "min_reduction": (lambda x: np.min(x), True),
    "max_method": (lambda x: x.reshape(2, K).max(axis=0), True),
    "amax_keepdims": (lambda x: np.amax(x.reshape(2, K), axis=1, keepdims=True) * x[:2, None],
                      True),
    "norm_inf": (lambda x: np.linalg.norm(x, np.inf), True),
    "argmax_select": (lambda x: x[np.argmax(x)] * x[0], None),
    "argmin_select": (lambda x: x[np.argmin(x[:K])] + x[K:], None),
    "argmax_take_along": (lambda x: np.take_along_axis(
        x.reshape(2, K), np.argmax(x.reshape(2, K), axis=1)[:, None], axis=1), None),
    "mask_index_traced": (lambda x: np.sum(x[x > 0] ** 2), None),
    "inplace_after_transpose": (_inplace_after_transpose, True),
    "view_inplace_after_transpose": (_view_inplace_after_transpose, True),
    "copy_of_transpose_setitem": (_copy_of_transpose_setitem, True),
    "branch_if": (_branch, False),
    "branch_bool": (_branch_bool, False),
    "while_loop": (_while, False),
    "python_max_min": (_python_max, False),
    "sorted_pair": (_sorted_pair, False),
}


# abs selects a sign, not an operand: its local Jacobian pattern equals the global one
NEVER_SMALLER = {"abs"}


def _points(name):
    rng = rng_for(name)
    return [sample(rng, (N,)) for _ in range(4)]


@pytest.mark.parametrize("name", list(CASES))
def test_local_jacobian_is_exact_at_point(name):
    f, global_ok = CASES[name]
    smaller_somewhere = False
    for x in _points(name):
        ref = nonzero_mask(jacobian_fd(f, x), 1e-6)
        P = tracer.jacobian_sparsity(f, x, mode="local")
        assert_pattern_equal(P, ref, f"{name} local Jacobian at {np.round(x, 3)}")
        if global_ok:
            G = tracer.jacobian_sparsity(f, x, mode="global")
            assert_contains(G, to_dense(P), f"{name}: global must contain local")
            smaller_somewhere |= G.nnz > P.nnz
        elif global_ok is None:
            # value-dependent indexing: global mode either refuses or is conservative
            try:
                G = tracer.jacobian_sparsity(f, x, mode="global")
            except tracer.TracingError:
                continue
            assert_contains(G, to_dense(P), f"{name}: global must contain local")
            smaller_somewhere |= G.nnz > P.nnz
    if global_ok and name not in NEVER_SMALLER:
        assert smaller_somewhere, f"{name}: local pattern never smaller than the global one"


@pytest.mark.parametrize("name", list(CASES))
def test_local_hessian_contains_numerical(name):
    """Hessian of sum(f(x)**2) in local mode: exact where f is piecewise smooth."""
    f, global_ok = CASES[name]
    g = lambda x: np.sum(np.asarray(f(x)) ** 2)  # noqa: E731
    for x in _points(name)[:2]:
        ref = nonzero_mask(hessian_fd(g, x), 1e-5)
        H = tracer.hessian_sparsity(g, x, mode="local")
        assert_contains(H, ref, f"{name} local Hessian")
        assert_pattern_equal(H, ref, f"{name} local Hessian")
        if global_ok:
            assert_contains(tracer.hessian_sparsity(g, x, mode="global"), to_dense(H))


def test_local_depends_on_point():
    """The same code gives different local patterns at different points."""
    f = CASES["maximum"][0]
    x1 = np.array([1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0])
    x2 = x1[::-1].copy()
    P1 = to_dense(tracer.jacobian_sparsity(f, x1, mode="local"))
    P2 = to_dense(tracer.jacobian_sparsity(f, x2, mode="local"))
    assert np.array_equal(P1[:, :K], np.eye(K, dtype=bool)) and not P1[:, K:].any()
    assert np.array_equal(P2[:, K:], np.eye(K, dtype=bool)) and not P2[:, :K].any()
    G = to_dense(tracer.jacobian_sparsity(f, x1, mode="global"))
    assert np.array_equal(G, P1 | P2)


def test_local_branch_follows_sign():
    x = np.array([0.5, 0.3, 0.2, 0.1])
    P = to_dense(tracer.jacobian_sparsity(_branch, x, mode="local"))
    assert np.array_equal(P, np.eye(4, dtype=bool)[1:])          # x[1:]**2
    x[0] = -0.5
    P = to_dense(tracer.jacobian_sparsity(_branch, x, mode="local"))
    E = np.eye(4, dtype=bool)[1:]
    E[:, 0] = True                                                  # x[1:] * x[0]
    assert np.array_equal(P, E)
