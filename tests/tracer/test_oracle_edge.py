"""Oracle tests for edge cases: scalar (loop) code for Hessians, numpy scalars and plain
arrays on the left of operators, quadratic forms, empty slices, tiny inputs, duplicate
indices, integer inputs, higher-dimensional inputs.
"""
from __future__ import annotations

import zlib

import numpy as np
import pytest

import tracer
from benchmarks.problems import chained_rosenbrock, rosenbrock_hessian_sparsity
from tests.tracer._oracle import (
    assert_contains,
    assert_pattern_equal,
    assert_symmetric,
    jacobian_fd,
    nonzero_mask,
    reference_hessian,
    reference_jacobian,
    sample,
    to_dense,
)

MODES = ["global", "local"]
N = 6


def rng_for(name, salt=0):
    return np.random.default_rng(zlib.crc32(name.encode()) + salt)


# ------------------------------------------------------------------ scalar loop code
def rosenbrock_loop(x):
    s = 0.0
    for i in range(len(x) - 1):
        s = s + 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2
    return s


def energy_loop(x):
    """Pairwise interaction of neighbours within distance 2, written element by element."""
    e = 0.0
    n = len(x)
    for i in range(n):
        for j in range(i + 1, min(n, i + 3)):
            d = x[i] - x[j]
            e += np.exp(-d * d) + 0.5 * x[i] * x[j]
    return e


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("n", [2, 7, 60])
def test_scalar_loop_rosenbrock_hessian(n, mode):
    x = rng_for("rl").uniform(-1, 1, n)
    H = tracer.hessian_sparsity(rosenbrock_loop, x, mode=mode)
    assert_pattern_equal(H, rosenbrock_hessian_sparsity(n), f"loop Rosenbrock n={n}")
    assert_pattern_equal(tracer.hessian_sparsity(chained_rosenbrock, x, mode=mode),
                         to_dense(H), "vectorized and loop Rosenbrock agree")


@pytest.mark.parametrize("mode", MODES)
def test_scalar_loop_energy_hessian(mode):
    n = 8
    x = sample(rng_for("energy"), (n,))
    H = tracer.hessian_sparsity(energy_loop, x, mode=mode)
    d = np.abs(np.subtract.outer(np.arange(n), np.arange(n)))
    assert_pattern_equal(H, d <= 2, "banded energy")
    assert_contains(H, nonzero_mask(*reference_hessian(lambda xp, z: energy_loop(z), x)))


@pytest.mark.parametrize("mode", MODES)
def test_scalar_loop_jacobian_with_python_scalars(mode):
    def f(x):
        out = np.empty(len(x))
        acc = 0.0
        for i, xi in enumerate(x):
            acc = acc * 0.5 + xi          # running dependence on x[:i+1]
            out[i] = acc if i % 2 == 0 else xi * 2
        return out

    x = sample(rng_for("py"), (N,))
    E = np.zeros((N, N), bool)
    for i in range(N):
        if i % 2 == 0:
            E[i, : i + 1] = True
        else:
            E[i, i] = True
    assert_pattern_equal(tracer.jacobian_sparsity(f, x, mode=mode), E, "running sum loop")


# ------------------------------------------------------------------ left operands
LEFT = {
    "np_float64_mul": lambda x: np.float64(2.0) * x,
    "np_float64_sub_scalar": lambda x: np.float64(2.0) - 3.0 * x[0] + x,
    "np_float64_pow": lambda x: np.float64(1.5) ** x,
    "np_0d_array": lambda x: np.array(3.0) * x + np.array(1.0),
    "ndarray_add": lambda x: np.arange(N, dtype=float) + x,
    "ndarray_mul_2d": lambda x: np.ones((2, N)) * x,
    "ndarray_div": lambda x: np.arange(1.0, N + 1) / (x * x + 1.0),
    "ndarray_matmul": lambda x: np.triu(np.ones((N, N))) @ x,
    "ndarray_compare": lambda x: (np.zeros(N) < x) * x,
    "python_int_pow": lambda x: 2 ** x[:3] + 3 - x[3:],
    "traced_scalar_times_const_array": lambda x: x[0] * np.arange(1.0, 4.0),
    "np_scalar_traced_scalar": lambda x: np.array([np.float64(3.0) * x[1], x[2] / np.int64(2)]),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(LEFT))
def test_constant_on_the_left(name, mode):
    f = LEFT[name]
    x = sample(rng_for(name), (N,))
    ref = nonzero_mask(*reference_jacobian(lambda xp, z: f(z), x, name != "ndarray_compare"))
    P = tracer.jacobian_sparsity(f, x, mode=mode)
    assert_contains(P, ref, name)
    if name != "ndarray_compare":
        assert_pattern_equal(P, ref, name)


def test_inplace_into_plain_array_made_by_arange():
    """``c = np.arange(n) * 1.0; c += x`` (c not from an allocation function): either it
    just works, or a TracingError says how to allocate a traced buffer."""
    def f(x):
        c = np.arange(N) * 1.0
        c += x ** 2
        return c

    x = sample(rng_for("arange"), (N,))
    try:
        P = tracer.jacobian_sparsity(f, x)
    except tracer.TracingError as exc:
        assert "zeros_like" in str(exc) or "like=" in str(exc)
    else:
        assert_pattern_equal(P, np.eye(N, dtype=bool), "arange buffer")


# ------------------------------------------------------------------ quadratic forms
A_SYM = np.array([[2, 1, 0, 0, 0, 0], [1, 2, 0, 0, 0, 1], [0, 0, 2, 0, 0, 0],
                  [0, 0, 0, 2, 1, 0], [0, 0, 0, 1, 2, 0], [0, 1, 0, 0, 0, 2]], float)
A_NONSYM = np.triu(np.ones((N, N))) * (np.arange(N)[:, None] + 1) * (np.eye(N, k=2) + np.eye(N))

QUADRATIC = {
    "xAx": lambda x: x @ A_SYM @ x,
    "xAx_dot": lambda x: np.dot(x, np.dot(A_NONSYM, x)),
    "self_dot": lambda x: x @ x,
    "self_inner": lambda x: np.inner(x[:3], x[3:]),
    "outer_sum": lambda x: np.sum(np.outer(x[:2], x[4:]) * np.array([[1.0, 0.0], [0.0, 2.0]])),
    "broadcast_outer": lambda x: np.sum(x[:3, None] * x[None, 3:]),
    "norm_squared": lambda x: np.linalg.norm(x[:4]) ** 2,
    "einsum_quadratic": lambda x: np.einsum("i,ij,j->", x, A_SYM, x),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(QUADRATIC))
def test_quadratic_form_hessian(name, mode):
    g = QUADRATIC[name]
    x = sample(rng_for(name), (N,))
    ref = nonzero_mask(*reference_hessian(lambda xp, z: g(z), x, name != "norm_squared"))
    H = tracer.hessian_sparsity(g, x, mode=mode)
    assert_symmetric(H)
    assert_contains(H, ref, name)
    if name not in ("outer_sum", "norm_squared"):  # constant zeros / norm() are allowed extra
        assert_pattern_equal(H, ref, name)


# ------------------------------------------------------------------ sizes and shapes
@pytest.mark.parametrize("mode", MODES)
def test_single_input(mode):
    x = np.array([0.7])
    assert_pattern_equal(tracer.jacobian_sparsity(lambda x: np.sin(x) * 2, x, mode=mode),
                         np.ones((1, 1), bool), "n=1")
    assert_pattern_equal(tracer.hessian_sparsity(lambda x: np.sum(x ** 3), x, mode=mode),
                         np.ones((1, 1), bool), "n=1 Hessian")


@pytest.mark.parametrize("mode", MODES)
def test_empty_slices(mode):
    x = sample(rng_for("empty"), (N,))
    def f(x):
        return np.concatenate([x[:0], x[3:3] * 2.0, x[1:2], np.sum(x[4:4], keepdims=True)])

    E = np.zeros((2, N), bool)
    E[0, 1] = True
    assert_pattern_equal(tracer.jacobian_sparsity(f, x, mode=mode), E, "empty slices")


@pytest.mark.parametrize("mode", MODES)
def test_empty_output(mode):
    x = sample(rng_for("empty_out"), (N,))
    P = tracer.jacobian_sparsity(lambda x: x[:0], x, mode=mode)
    assert P.shape == (0, N) and P.nnz == 0


def test_three_dimensional_input():
    X = sample(rng_for("3d"), (2, 3, 2))
    f = lambda X: np.sum(X, axis=1) * X[:, 0, :]  # noqa: E731
    ref = nonzero_mask(*reference_jacobian(lambda xp, z: f(z), X))
    P = tracer.jacobian_sparsity(f, X)
    assert P.shape == (4, 12)
    assert_pattern_equal(P, ref, "3-D input")


def test_integer_input_array():
    """An integer x is traced as if it were float (n = x.size)."""
    x = np.arange(1, 5)
    P = tracer.jacobian_sparsity(lambda x: x[::-1] * 2.5, x)
    assert_pattern_equal(P, np.eye(4, dtype=bool)[::-1], "integer x")


# ------------------------------------------------------------------ duplicates and ufunc.at
@pytest.mark.parametrize("mode", MODES)
def test_duplicate_index_assignment_contains(mode):
    """numpy semantics: ``y[[0, 0]] += v`` applies once (buffered); patterns may be wider."""
    def f(x):
        y = x.copy()
        y[[0, 0, 2]] += x[[3, 4, 5]]
        y[[1, 1]] = x[[4, 5]]
        return y

    x = sample(rng_for("dup"), (N,))
    P = tracer.jacobian_sparsity(f, x, mode=mode)
    assert_contains(P, nonzero_mask(jacobian_fd(f, x), 1e-6), "duplicate indices")


def test_ufunc_at_accumulates_or_is_named():
    def f(x):
        y = np.zeros_like(x)
        np.add.at(y, [0, 0, 1], x[[3, 4, 5]])
        return y

    x = sample(rng_for("at"), (N,))
    try:
        P = tracer.jacobian_sparsity(f, x)
    except (tracer.TracingError, TypeError, NotImplementedError) as exc:
        assert "at" in str(exc)
    else:
        E = np.zeros((N, N), bool)
        E[0, [3, 4]] = True
        E[1, 5] = True
        assert_pattern_equal(P, E, "np.add.at")


# ------------------------------------------------------------------ views and aliasing
def _view_slice(x):
    y = np.zeros_like(x)
    v = y[2:]
    v[:] = x[:4] ** 2          # writes through the view into y
    return y


def _view_reshape(x):
    y = np.zeros_like(x)
    Y = y.reshape(2, 3)
    Y[1] = x[:3] * x[3:]
    return y


def _view_transpose(x):
    Y = np.zeros((2, 3), like=x)
    Y.T[0] = x[4:]
    return Y


def _view_step(x):
    y = np.zeros(N)
    y[::2][1:] = x[:2] + 1.0
    return y


def _view_ufunc_out(x):
    y = np.zeros_like(x)
    np.sin(x[:3], out=y[3:])
    np.multiply(x[3:], 2.0, out=y[:3])
    return y


def _alias(x):
    y = x.copy()
    z = y
    z[0] = 0.0
    z[1] += x[5]
    return y


def _view_of_view_inplace(x):
    y = x * 1.0
    w = y[1:][::2]             # y[1], y[3], y[5]
    w *= x[0]
    return y


def _broadcast_inplace(x):
    y = x.reshape(2, 3).copy()
    y += x[:3]
    return y


def _write_through(view):
    """f(x): allocate Y (2, 3), write two traced values through ``view(Y)``, return Y."""
    def f(x):
        Y = np.zeros((2, 3), like=x)
        V = view(Y)
        V[(0,) * V.ndim] = x[4] * 2.0
        V[tuple(s - 1 for s in V.shape)] = x[5]
        return Y
    return f


VIEWS = {
    "view_slice": _view_slice, "view_reshape": _view_reshape,
    "view_transpose": _view_transpose, "view_step": _view_step,
    "view_np_transpose": _write_through(np.transpose),
    "view_swapaxes": _write_through(lambda Y: np.swapaxes(Y, 0, 1)),
    "view_moveaxis": _write_through(lambda Y: np.moveaxis(Y, 0, 1)),
    "view_flip": _write_through(np.flip),
    "view_fliplr": _write_through(np.fliplr),
    "view_squeeze": _write_through(lambda Y: np.squeeze(Y[None])),
    "view_expand_dims": _write_through(lambda Y: np.expand_dims(Y, 0)),
    "view_ravel": _write_through(lambda Y: Y.ravel()),
    "view_column": _write_through(lambda Y: Y[:, 1]),
    "view_ufunc_out": _view_ufunc_out, "alias": _alias,
    "view_of_view_inplace": _view_of_view_inplace, "broadcast_inplace": _broadcast_inplace,
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(VIEWS))
def test_writes_through_views(name, mode):
    """Writes through views must reach the base array, exactly as numpy does."""
    f = VIEWS[name]
    x = sample(rng_for(name), (N,))
    ref = nonzero_mask(jacobian_fd(f, x), 1e-6)
    P = tracer.jacobian_sparsity(f, x, mode=mode)
    assert_contains(P, ref, f"{name} ({mode})")
    assert_pattern_equal(P, ref, f"{name} ({mode})")


# ------------------------------------------------------------------ ufunc methods
UFUNC_METHODS = {
    "add_reduce": (lambda x: np.add.reduce(x.reshape(2, 3), axis=1),
                   [[1, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1]]),
    "multiply_reduce": (lambda x: np.multiply.reduce(x[:3]), [[1, 1, 1, 0, 0, 0]]),
    "add_accumulate": (lambda x: np.add.accumulate(x[:3]),
                       [[1, 0, 0, 0, 0, 0], [1, 1, 0, 0, 0, 0], [1, 1, 1, 0, 0, 0]]),
    "maximum_reduce": (lambda x: np.maximum.reduce(x[:2]), [[1, 1, 0, 0, 0, 0]]),
    "add_outer": (lambda x: np.add.outer(x[:2], x[4:]).ravel(),
                  [[1, 0, 0, 0, 1, 0], [1, 0, 0, 0, 0, 1], [0, 1, 0, 0, 1, 0],
                   [0, 1, 0, 0, 0, 1]]),
}


@pytest.mark.parametrize("name", list(UFUNC_METHODS))
def test_ufunc_methods_work_or_are_named(name):
    """Not listed in the issue: a conservative exact pattern, or an error naming them."""
    f, expected = UFUNC_METHODS[name]
    x = sample(rng_for(name), (N,))
    method = name.split("_")[1]
    try:
        P = tracer.jacobian_sparsity(f, x)
    except (tracer.TracingError, TypeError, NotImplementedError) as exc:
        assert method in str(exc), f"error for {name} does not name {method}: {exc}"
    else:
        assert_pattern_equal(P, np.array(expected, bool), name)


# ------------------------------------------------------------------ more numpy semantics
def _x3(x):
    return x.reshape(2, 3, 4)


def _setitem_adv_separated(x):
    Y = np.zeros_like(x).reshape(2, 3, 4)
    Y[[0, 1], :, [1, 0]] = x[:6].reshape(2, 3)   # advanced dims separated: moved to front
    return Y


SEMANTICS = {
    "einsum_ellipsis": lambda x: np.einsum("...ij,...j->...i", _x3(x), x[:4]),
    "einsum_optimize": lambda x: np.einsum("ij,jk,kl->il", x[:4].reshape(2, 2),
                                           x[4:8].reshape(2, 2), x[8:12].reshape(2, 2),
                                           optimize=True),
    "tensordot_axes0": lambda x: np.tensordot(x[:2], x[2:5], axes=0),
    "matmul_batched": lambda x: _x3(x) @ x[:8].reshape(4, 2),
    "matmul_vector_batched": lambda x: x[:3] @ _x3(x),
    "mean_where": lambda x: np.mean(x, where=np.arange(24) % 3 == 0),
    "sum_where_axis": lambda x: np.sum(x.reshape(4, 6), axis=1, where=np.arange(6) < 2),
    "concat_axis_none": lambda x: np.concatenate([_x3(x)[0], x[:3, None]], axis=None),
    "roll_beyond_size": lambda x: np.roll(x.reshape(4, 6), 13, axis=-1),
    "diff_prepend_append": lambda x: np.diff(x[:5], prepend=1.0, append=x[6:8]),
    "take_wrap": lambda x: np.take(x, [25, -30, 3], mode="wrap"),
    "take_along_axis_none": lambda x: np.take_along_axis(x, np.array([3, 0, 3]), axis=None),
    "newaxis_ellipsis_step": lambda x: _x3(x)[None, ..., ::2],
    "adv_2d_index": lambda x: x[np.array([[0, 1], [23, 3]])],
    "adv_separated": lambda x: _x3(x)[[0, 1], :, [1, 0]],
    "adv_adjacent": lambda x: _x3(x)[:, [0, 2], [1, 3]],
    "adv_bool_and_int": lambda x: _x3(x)[np.array([True, False]), :, 2],
    "adv_broadcast_index": lambda x: x.reshape(4, 6)[np.array([[0], [3]]), np.array([1, 5])],
    "setitem_adv_separated": _setitem_adv_separated,
    "flip_two_axes": lambda x: np.flip(_x3(x), axis=(0, 2)),
    "moveaxis_multi": lambda x: np.moveaxis(_x3(x), [0, 1], [2, 0]),
    "prod_axes_keepdims": lambda x: np.prod(_x3(x), axis=(0, 2), keepdims=True),
    "inner_3d": lambda x: np.inner(_x3(x), x[:4]),
    "trace": lambda x: np.trace(x.reshape(4, 6)) * x[0],
    "average_weights": lambda x: np.average(x.reshape(4, 6), axis=1, weights=np.arange(1.0, 7)),
}


@pytest.mark.parametrize("name", list(SEMANTICS))
def test_numpy_semantics_exact(name):
    f = SEMANTICS[name]
    x = sample(rng_for(name), (24,))
    ref = nonzero_mask(*reference_jacobian(lambda xp, z: f(z), x))
    assert_pattern_equal(tracer.jacobian_sparsity(f, x), ref, name)
