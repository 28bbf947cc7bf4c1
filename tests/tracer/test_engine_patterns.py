"""Engine-level pattern tests: exact patterns of known problems, scalar tracing, buffers,
views, numpy patching hygiene and the interop API used by the JAX front-end."""
from __future__ import annotations

import sys

import numpy as np
import pytest
import scipy.sparse as sp

import tracer
from benchmarks.problems import (
    arrowhead,
    arrowhead_hessian_sparsity,
    brusselator_initial,
    brusselator_objective_numpy,
    brusselator_sparsity,
    chained_rosenbrock,
    make_brusselator_loop,
    make_brusselator_numpy,
    rosenbrock_hessian_sparsity,
)
from tracer import TracingError, hessian_sparsity, jacobian_sparsity


def dense(P):
    return P.toarray().astype(bool)


def assert_same(P, Q):
    assert P.shape == Q.shape
    assert (P != Q).nnz == 0 if sp.issparse(Q) else np.array_equal(dense(P), Q)


@pytest.mark.parametrize("N", [3, 8, 16])
def test_brusselator_numpy_exact(N):
    x = brusselator_initial(N)
    assert_same(jacobian_sparsity(make_brusselator_numpy(N), x), brusselator_sparsity(N))


@pytest.mark.parametrize("mode", ["global", "local"])
def test_brusselator_loop_exact(mode):
    N = 6
    x = brusselator_initial(N)
    P = jacobian_sparsity(make_brusselator_loop(N), x, mode=mode)
    assert_same(P, brusselator_sparsity(N))


def test_brusselator_objective_hessian_is_union_of_row_cliques():
    N = 6
    x = brusselator_initial(N)
    J = dense(brusselator_sparsity(N)).astype(int)
    expected = (J.T @ J) > 0  # sum of r_i^2: pairs within each row's support
    for mode in ("global", "local"):
        H = hessian_sparsity(brusselator_objective_numpy(N), x, mode=mode)
        assert np.array_equal(dense(H), expected)


@pytest.mark.parametrize("n", [2, 5, 50])
def test_rosenbrock_and_arrowhead_hessians_exact(n):
    x = np.linspace(0.5, 1.5, n)
    assert_same(hessian_sparsity(chained_rosenbrock, x), rosenbrock_hessian_sparsity(n))
    assert_same(hessian_sparsity(arrowhead, x), arrowhead_hessian_sparsity(n))


def test_loop_rosenbrock_hessian_matches_vectorized():
    x = np.linspace(0.5, 1.5, 7)

    def loop(x):
        s = 0.0
        for i in range(x.size - 1):
            s = s + 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2
        return s

    assert_same(hessian_sparsity(loop, x), rosenbrock_hessian_sparsity(7))


def robertson(y):
    y1, y2, y3 = y
    return np.array([-0.04 * y1 + 1e4 * y2 * y3,
                     0.04 * y1 - 1e4 * y2 * y3 - 3e7 * y2 ** 2,
                     3e7 * y2 ** 2])


def test_return_forms():
    x = np.array([1.0, 2.0, 3.0])
    expected = np.array([[1, 1, 1], [1, 1, 1], [0, 1, 0]], bool)
    assert np.array_equal(dense(jacobian_sparsity(robertson, x)), expected)
    assert np.array_equal(dense(jacobian_sparsity(lambda y: list(robertson(y)), x)), expected)
    as_tuple = jacobian_sparsity(lambda y: (y[0] * y[1], y[2]), x)
    assert np.array_equal(dense(as_tuple), [[1, 1, 0], [0, 0, 1]])
    assert jacobian_sparsity(lambda y: y[0] * y[2], x).shape == (1, 3)
    assert jacobian_sparsity(lambda y: np.sum(y), x).shape == (1, 3)
    assert jacobian_sparsity(lambda y: 2.0, x).nnz == 0
    mixed = jacobian_sparsity(lambda y: np.array([[y[0], 1.0], [y[1] * y[2], y[0]]]), x)
    assert np.array_equal(dense(mixed), [[1, 0, 0], [0, 0, 0], [0, 1, 1], [1, 0, 0]])


def test_buffers_allocated_inside_f():
    x = np.arange(1.0, 6.0)

    def f(y):
        out = np.zeros(5)
        tmp = np.empty((5,))
        ones = np.ones(5)
        full = np.full(5, 2.0)
        tmp[:] = y * full
        out[1:-1] = tmp[:-2] + tmp[2:] * ones[2:]
        out[0] = y[0] ** 2
        idx = np.zeros(2, dtype=int)  # integer buffers stay plain numpy
        idx[1] = 4
        out[idx[1]] = y[idx[1]]
        return out

    expected = np.zeros((5, 5), bool)
    expected[0, 0] = True
    for i in range(1, 4):
        expected[i, i - 1] = expected[i, i + 1] = True
    expected[4, 4] = True
    assert np.array_equal(dense(jacobian_sparsity(f, x)), expected)
    assert np.zeros is tracer._patching.ORIGINAL["zeros"]
    assert np.array is tracer._patching.ORIGINAL["array"]


def test_patches_restored_after_exception_and_nested_traces():
    x = np.ones(3)

    def bad(y):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        jacobian_sparsity(bad, x)
    assert np.zeros is tracer._patching.ORIGINAL["zeros"]

    def outer(y):
        inner = jacobian_sparsity(lambda z: z * 2.0, np.ones(2))
        assert inner.nnz == 2
        out = np.zeros(3)
        out[:] = y[::-1]
        return out

    assert np.array_equal(dense(jacobian_sparsity(outer, x)), np.eye(3, dtype=bool)[::-1])
    for name, orig in tracer._patching.ORIGINAL.items():
        assert getattr(np, name) is orig


def test_captured_buffer_error_shows_fix():
    buf = np.zeros(3)

    def f(y):
        buf[:] = y
        return buf

    with pytest.raises(TracingError, match="zeros_like"):
        jacobian_sparsity(f, np.ones(3))

    def g(y):
        buf[0] = y[0]
        return buf

    with pytest.raises(TracingError, match="zeros_like"):
        jacobian_sparsity(g, np.ones(3))


def test_like_allocation_and_copy():
    def f(y):
        a = np.zeros(3, like=y)
        b = np.zeros_like(y)
        c = np.full_like(y, 3.0)
        d = y.copy()
        a[0] = y[2]
        b[1] = y[0]
        return a + b + c * d[2] + np.ones_like(y)

    assert np.array_equal(dense(jacobian_sparsity(f, np.ones(3))),
                          [[0, 0, 1], [1, 0, 1], [0, 0, 1]])


def test_views_write_through():
    def f(y):
        out = np.zeros(6)
        v = out.reshape(2, 3)
        v[0] = y
        row = v[1]
        row[1] = y[0] * y[1]
        out[5] = y[2]
        return out

    expected = np.zeros((6, 3), bool)
    expected[[0, 1, 2], [0, 1, 2]] = True
    expected[4, [0, 1]] = True
    expected[5, 2] = True
    assert np.array_equal(dense(jacobian_sparsity(f, np.ones(3))), expected)


def test_inplace_function_with_out():
    def f(out, y, a):
        out[0] = a * y[1]
        out[1:] = y[:2] * y[2]

    P = jacobian_sparsity(f, np.ones(3), args=(2.0,), out=np.zeros(3))
    assert np.array_equal(dense(P), [[0, 1, 0], [1, 0, 1], [0, 1, 1]])


def test_sparse_constant_products_both_sides():
    L = sp.diags_array([np.ones(4), -2 * np.ones(5), np.ones(4)], offsets=[-1, 0, 1])
    x = np.ones(5)
    for M in (sp.csr_array(L), sp.csr_matrix(L), sp.csc_array(L)):
        assert np.array_equal(dense(jacobian_sparsity(lambda u, M=M: M @ u, x)), L.toarray() != 0)
        assert np.array_equal(dense(jacobian_sparsity(lambda u, M=M: u @ M, x)), L.toarray().T != 0)
    A = L.toarray()
    assert np.array_equal(dense(jacobian_sparsity(lambda u: A @ u, x)), A != 0)


def test_scalar_and_vector_paths_agree_for_hessian_rules():
    rng = np.random.default_rng(1)
    x = rng.uniform(0.5, 1.5, 4)
    ops = [lambda a, b: a * b, lambda a, b: a / b, lambda a, b: a ** b, lambda a, b: a + b,
           lambda a, b: np.hypot(a, b), lambda a, b: np.maximum(a, b) * a,
           lambda a, b: np.sin(a) - b, lambda a, b: np.floor(a) * b]
    for op in ops:
        vec = hessian_sparsity(lambda y, op=op: np.sum(op(y[:2], y[2:])), x)
        loop = hessian_sparsity(lambda y, op=op: op(y[0], y[2]) + op(y[1], y[3]), x)
        assert (vec != loop).nnz == 0


def test_local_mode_follows_values():
    x = np.array([-1.0, 2.0, 3.0])
    f = lambda y: np.where(y > 0, y * y[0], 0.0)  # noqa: E731
    assert np.array_equal(dense(jacobian_sparsity(f, x, mode="local")),
                          [[0, 0, 0], [1, 1, 0], [1, 0, 1]])
    assert np.array_equal(dense(jacobian_sparsity(f, x)), [[1, 0, 0], [1, 1, 0], [1, 0, 1]])

    def branch(y):
        if y[0] > 0:
            return y[1:]
        return np.array([np.max(y), np.abs(y[0])])

    assert np.array_equal(dense(jacobian_sparsity(branch, x, mode="local")),
                          [[0, 0, 1], [1, 0, 0]])
    with pytest.raises(TracingError, match="local"):
        jacobian_sparsity(branch, x)


def test_interop_api():
    from tracer import _interop as I

    xt = I.trace_inputs(np.ones(4), hessian=True, mode="global")
    assert I.is_traced(xt) and I.is_traced(xt[0]) and not I.is_traced(np.ones(2))
    a = xt[:2] * xt[2:]
    b = np.sin(xt[:2])
    u = I.union_dependence(a, b, xt[3])
    assert np.array_equal(dense(I.jacobian_pattern_of(u, 4)), [[1, 0, 1, 1], [0, 1, 0, 1]])
    assert I.same_dependence(u, I.union_dependence(u, a))
    assert not I.same_dependence(u, a)
    d = I.drop_dependence(u)
    assert d.shape == (2,) and I.jacobian_pattern_of(d, 4).nnz == 0
    H = I.hessian_pattern_of(np.sum(a), 4)
    assert np.array_equal(dense(H), [[0, 0, 1, 0], [0, 0, 0, 1], [1, 0, 0, 0], [0, 1, 0, 0]])
    with I.tracing(xt):
        buf = np.zeros(4)
        buf[1] = xt[0]
        assert I.is_traced(buf)
    assert np.zeros is tracer._patching.ORIGINAL["zeros"]


def test_frontend_argument_and_missing_jax_frontend(monkeypatch):
    with pytest.raises(ValueError, match="frontend"):
        jacobian_sparsity(lambda y: y, np.ones(2), frontend="tensorflow")
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(TracingError, match="torch front-end is not available"):
        jacobian_sparsity(lambda y: y, np.ones(2), frontend="torch")
    monkeypatch.setitem(sys.modules, "jax", None)
    with pytest.raises(TracingError, match="JAX front-end is not available"):
        jacobian_sparsity(lambda y: y, np.ones(2), frontend="jax")
    with pytest.raises(TracingError, match="JAX front-end is not available"):
        hessian_sparsity(lambda y: y[0], np.ones(2), frontend="jax")


def test_jax_code_autodetected():
    jnp = pytest.importorskip("jax.numpy")
    P = jacobian_sparsity(lambda u: jnp.sin(u) * u[0], np.ones(3))
    assert np.array_equal(dense(P), [[1, 0, 0], [1, 1, 0], [1, 0, 1]])
    with pytest.raises(TracingError, match="frontend"):
        jacobian_sparsity(lambda u: jnp.sin(u), np.ones(3), frontend="numpy")


# ----- scalar (loop) path and vectorized path implement the same derivative table -----

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

UNARY = [np.sin, np.exp, np.abs, np.negative, np.square, np.sqrt, np.floor, np.tanh, np.sign,
         np.log1p, np.cbrt, np.reciprocal]
BINARY = [np.add, np.subtract, np.multiply, np.divide, np.power, np.maximum, np.minimum,
          np.hypot, np.arctan2, np.copysign, np.logaddexp, np.remainder, np.fmax]


def expressions(depth):
    leaf = st.integers(0, 3).map(lambda k: ("x", k))
    if depth == 0:
        return leaf
    sub = expressions(depth - 1)
    return st.one_of(leaf,
                     st.tuples(st.sampled_from(UNARY), sub).map(lambda t: ("u",) + t),
                     st.tuples(st.sampled_from(BINARY), sub, sub).map(lambda t: ("b",) + t),
                     st.tuples(st.floats(0.5, 2.0), sub).map(lambda t: ("c", t[0], t[1])))


def evaluate(expr, leaf):
    kind = expr[0]
    if kind == "x":
        return leaf(expr[1])
    if kind == "u":
        return expr[1](evaluate(expr[2], leaf))
    if kind == "c":
        return expr[1] * evaluate(expr[2], leaf)
    return expr[1](evaluate(expr[2], leaf), evaluate(expr[3], leaf))


@settings(max_examples=40)
@given(expressions(3), st.sampled_from(["global", "local"]))
def test_scalar_and_vector_paths_agree_on_random_expressions(expr, mode):
    x = np.array([0.7, 1.3, 0.4, 2.1])
    with np.errstate(all="ignore"):
        vec_j = jacobian_sparsity(lambda y: evaluate(expr, lambda k: y[k:k + 1]), x, mode=mode)
        sca_j = jacobian_sparsity(lambda y: evaluate(expr, lambda k: y[k]), x, mode=mode)
        vec_h = hessian_sparsity(lambda y: np.sum(evaluate(expr, lambda k: y[k:k + 1])), x,
                                 mode=mode)
        sca_h = hessian_sparsity(lambda y: evaluate(expr, lambda k: y[k]), x, mode=mode)
    assert (vec_j != sca_j).nnz == 0
    assert (vec_h != sca_h).nnz == 0


def test_math_module_error_names_numpy_function():
    import math

    fn = math.atan2
    with pytest.raises(TracingError, match=r"np\.arctan2"):
        jacobian_sparsity(lambda y: fn(y[0], 1.0), np.ones(2))
    with pytest.raises(TracingError, match=r"np\.exp"):
        exp = math.exp  # bound before the trace: not routed to np.exp
        jacobian_sparsity(lambda y: exp(y[0]) + math.sin(1.0), np.ones(2))


def test_object_dtype_and_unsupported_functions_raise():
    with pytest.raises(TracingError, match="dtype object"):
        jacobian_sparsity(lambda y: y.astype(object), np.ones(2))
    with pytest.raises(TracingError, match=r"np\.fft\.fft"):
        jacobian_sparsity(lambda y: np.fft.fft(y), np.ones(2))
    with pytest.raises(TracingError, match=r"np\.polyval"):
        jacobian_sparsity(lambda y: np.polyval(y, 2.0), np.ones(2))


def test_inplace_numpy_helpers_and_where_reductions():
    x = np.arange(1.0, 7.0)

    def diag(y):
        A = np.zeros((3, 3))
        np.fill_diagonal(A, y[:3])
        return A.ravel()

    expected = np.zeros((9, 6), bool)
    expected[[0, 4, 8], [0, 1, 2]] = True
    assert np.array_equal(dense(jacobian_sparsity(diag, x)), expected)

    def put(y):
        A = np.zeros(6)
        np.copyto(A, y[::-1])
        np.put(A, [0, 1], y[:2] * y[5])
        return A

    expected = np.eye(6, dtype=bool)[::-1].copy()
    expected[0] = [1, 0, 0, 0, 0, 1]
    expected[1] = [0, 1, 0, 0, 0, 1]
    assert np.array_equal(dense(jacobian_sparsity(put, x)), expected)
    mask = np.array([1, 0, 1, 0, 1, 0], bool)
    assert np.array_equal(dense(jacobian_sparsity(lambda y: np.sum(y, where=mask), x)),
                          [mask])
    rowmask = np.array([1, 0, 1], bool)
    f = lambda y: np.max(y.reshape(2, 3), axis=1, where=rowmask, initial=-1.0)  # noqa: E731
    assert np.array_equal(dense(jacobian_sparsity(f, x, mode="local")),
                          [[0, 0, 1, 0, 0, 0], [0, 0, 0, 0, 0, 1]])
    assert np.array_equal(dense(jacobian_sparsity(f, x)),
                          [[1, 0, 1, 0, 0, 0], [0, 0, 0, 1, 0, 1]])


def test_views_follow_numpy_view_semantics():
    def f(y):
        out = np.zeros((2, 3))
        out.T[0] = y[:2]          # transpose is a view: writes reach out
        np.flip(out, 1)[:, 0] = y[2:4]
        r = out.ravel()           # contiguous: a view
        r[1] = y[4]
        c = out[:, 1:].reshape(-1)  # non-contiguous: a copy, writes do not reach out
        c[:] = y[5]
        return out.ravel()

    expected = np.zeros((6, 6), bool)
    expected[0, 0] = expected[3, 1] = True
    expected[2, 2] = expected[5, 3] = True
    expected[1, 4] = True
    assert np.array_equal(dense(jacobian_sparsity(f, np.ones(6))), expected)
    with pytest.raises(ValueError, match="read-only"):
        jacobian_sparsity(lambda y: np.broadcast_to(y, (2, 6)).__setitem__(0, 1.0), np.ones(6))


def test_lists_and_object_arrays_of_traced_scalars():
    from numpy import array as unpatched_array  # bound before tracing: not intercepted

    x = np.arange(1.0, 4.0)
    assert np.array_equal(dense(jacobian_sparsity(lambda y: np.sum([y[0] ** 2, y[1]]), x)),
                          [[1, 1, 0]])
    P = jacobian_sparsity(lambda y: np.exp(unpatched_array([y[0], y[2] * y[1]])), x)
    assert np.array_equal(dense(P), [[1, 0, 0], [0, 1, 1]])
    H = hessian_sparsity(lambda y: np.sum(unpatched_array([y[0] * y[1], np.sin(y[2])])), x)
    assert np.array_equal(dense(H), [[0, 1, 0], [1, 0, 0], [0, 0, 1]])
    with pytest.raises(TracingError, match="float"):
        jacobian_sparsity(lambda y: unpatched_array([y[0], y[1]], dtype=float), x)


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_convolve_and_correlate_exact(mode):
    x = np.arange(1.0, 6.0)
    eye = np.eye(5)
    for v in (np.array([1.0, -2.0, 1.0]), np.array([1.0, 0.0, 2.0, 3.0, 0.0, 0.0, 1.0])):
        for fn in (lambda a, b: np.convolve(a, b, mode), lambda a, b: np.convolve(b, a, mode),
                   lambda a, b: np.correlate(a, b, mode)):
            ref = np.array([fn(eye[k], v) for k in range(5)]).T != 0  # linear in x
            assert np.array_equal(dense(jacobian_sparsity(lambda y, fn=fn, v=v: fn(y, v), x)), ref)
    H = hessian_sparsity(lambda y: np.sum(np.convolve(y[:3], y[3:], mode)), x)
    assert not dense(H)[:3, :3].any() and not dense(H)[3:, 3:].any()


def test_linear_algebra_with_traced_matrix_is_dense_and_smooth():
    x = np.array([2.0, 1.0, 0.5, 3.0, 1.0, 2.0])
    A = lambda y: y[:4].reshape(2, 2)  # noqa: E731
    assert dense(jacobian_sparsity(lambda y: np.linalg.solve(A(y), y[4:]), x)).all()
    P = dense(jacobian_sparsity(lambda y: np.linalg.inv(A(y)).ravel(), x))
    assert P[:, :4].all() and not P[:, 4:].any()
    H = dense(hessian_sparsity(lambda y: np.linalg.det(A(y)), x))
    assert H[:4, :4].all() and not H[4:].any()
    B = np.array([[1.0, 0.0, 0.0], [0.0, 2.0, 1.0], [0.0, 1.0, 3.0]])  # two blocks
    expected = np.array([[1, 0, 0], [0, 1, 1], [0, 1, 1]], bool)
    assert np.array_equal(dense(jacobian_sparsity(lambda y: np.linalg.solve(B, y), x[:3])),
                          expected)
    assert np.array_equal(dense(jacobian_sparsity(lambda y: np.linalg.inv(B) @ y, x[:3])),
                          np.linalg.inv(B) != 0)
