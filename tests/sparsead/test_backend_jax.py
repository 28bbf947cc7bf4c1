"""JAX backend: batched products against dense ``jax.jacfwd`` / ``jax.hessian`` references."""

from __future__ import annotations

import importlib
import sys

import numpy as np
import pytest

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")

from sparsead._errors import BackendUnavailableError, SparseADError  # noqa: E402
from sparsead.backends import ProductRequest  # noqa: E402
from sparsead.backends.jax_backend import JaxBackend  # noqa: E402

RNG = np.random.default_rng(0)

# Input shapes and output kinds of the scenarios: f maps x (any shape) to a scalar,
# a vector or a matrix.
IN_SHAPES = [(), (4,), (2, 3)]


def f_scalar(x):
    return jnp.sum(jnp.sin(x) * x) + jnp.sum(x) ** 3


def f_vector(x):
    z = jnp.ravel(x)
    return jnp.concatenate([z**2 * z[::-1], jnp.cos(z[:1]) * jnp.sum(z)])


def f_matrix(x):
    z = jnp.ravel(x)
    return jnp.outer(jnp.tanh(z), z[::-1] + 1.0)


OUT_FUNCS = {"scalar": f_scalar, "vector": f_vector, "matrix": f_matrix}


def dense_jacobian(f, x, args=()):
    """Reference: forward-mode dense Jacobian, flattened to (m, n)."""
    J = jax.jacfwd(lambda z: jnp.ravel(f(z, *args)))(jnp.asarray(x))
    return np.asarray(J).reshape(-1, np.size(x))


def dense_hessian(f, x, args=()):
    H = jax.hessian(lambda z: jnp.reshape(f(z, *args), ()))(jnp.asarray(x))
    n = np.size(x)
    return np.asarray(H).reshape(n, n)


def tol(dtype):
    return dict(rtol=2e-5, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)


@pytest.fixture(scope="module")
def backend():
    return JaxBackend()


# Every input shape x output kind in float64; float32 on the diagonal (keeps compiles few).
JAC_CASES = ([(s, o, np.float64) for s in IN_SHAPES for o in sorted(OUT_FUNCS)]
             + [(s, o, np.float32) for s, o in zip(IN_SHAPES, ["matrix", "scalar", "vector"])])


@pytest.mark.parametrize("in_shape, out, dtype", JAC_CASES, ids=str)
def test_jvp_vjp_match_dense_jacobian(backend, in_shape, out, dtype):
    f = OUT_FUNCS[out]
    x = (RNG.random(in_shape) + 0.5).astype(dtype)
    J = dense_jacobian(f, x)
    m, n = J.shape
    ctx = backend.prepare(f, x, kinds=frozenset({"jvp", "vjp"}))
    V = RNG.standard_normal((3, n)).astype(dtype)
    y, JV = backend.jvp(ctx, x, V)
    assert isinstance(JV, np.ndarray) and JV.shape == (3, m) and JV.dtype == dtype
    assert y.shape == (m,)
    np.testing.assert_allclose(y, np.ravel(f(jnp.asarray(x))), **tol(dtype))
    np.testing.assert_allclose(JV, V @ J.T, **tol(dtype))
    W = RNG.standard_normal((2, m)).astype(dtype)
    y2, WJ = backend.vjp(ctx, x, W)
    assert WJ.shape == (2, n) and WJ.dtype == dtype
    np.testing.assert_allclose(WJ, W @ J, **tol(dtype))
    np.testing.assert_allclose(backend.value(ctx, x), y, **tol(dtype))


@pytest.mark.parametrize("in_shape, dtype", [((), np.float64), ((4,), np.float32),
                                             ((2, 3), np.float64)], ids=str)
def test_hvp_and_gradient_match_dense_hessian(backend, in_shape, dtype):
    x = (RNG.random(in_shape) + 0.5).astype(dtype)
    H = dense_hessian(f_scalar, x)
    n = H.shape[0]
    ctx = backend.prepare(f_scalar, x, kinds=frozenset({"hvp", "gradient"}))
    V = RNG.standard_normal((4, n)).astype(dtype)
    HV = backend.hvp(ctx, x, V)
    assert HV.shape == (4, n) and HV.dtype == dtype
    np.testing.assert_allclose(HV, V @ H, **tol(dtype))
    val, g = backend.gradient(ctx, x)
    ref_g = np.asarray(jax.grad(f_scalar)(jnp.asarray(x))).ravel()
    np.testing.assert_allclose(g, ref_g, **tol(dtype))
    assert np.isclose(val, float(f_scalar(jnp.asarray(x))), rtol=1e-5)


def f_with_args(x, a, N, scale):
    return scale * jnp.tanh(x.reshape(N, -1) * a).ravel() + jnp.roll(x, 1) ** 2


def test_extra_args_arrays_runtime_and_scalars_static(backend):
    # ``N`` is used in a shape, so it must stay static; ``a`` is a runtime array.
    x = RNG.random(6)
    a = RNG.random((2, 3))
    args = (a, 2, 0.5)
    J = dense_jacobian(f_with_args, x, args)
    ctx = backend.prepare(f_with_args, x, args)
    V = np.eye(6)
    np.testing.assert_allclose(backend.jvp(ctx, x, V)[1], J.T, rtol=1e-12)
    np.testing.assert_allclose(backend.vjp(ctx, x, np.eye(6))[1], J, rtol=1e-12)


def test_fused_gather_equals_unfused(backend):
    x = RNG.random(7) + 0.5
    ctx = backend.prepare(f_vector, x)
    m = 8
    V = RNG.standard_normal((3, 7))
    W = RNG.standard_normal((2, m))
    idx_j = RNG.integers(0, 3 * m, size=11)
    idx_v = RNG.integers(0, 2 * 7, size=5)
    y, JV = backend.jvp(ctx, x, V)
    request = ProductRequest("jvp", V, idx_j)
    y1, vals = backend.products(ctx, x, request)
    np.testing.assert_allclose(vals, JV.ravel()[idx_j], rtol=1e-13)
    np.testing.assert_allclose(y1, y, rtol=1e-13)
    _, WJ = backend.vjp(ctx, x, W)
    _, vals = backend.products(ctx, x, ProductRequest("vjp", W, idx_v))
    np.testing.assert_allclose(vals, WJ.ravel()[idx_v], rtol=1e-13)
    # The same request at a new x: cache hit by identity, values follow x.
    x2 = x + 0.25
    _, JV2 = backend.jvp(ctx, x2, V)
    np.testing.assert_allclose(backend.products(ctx, x2, request)[1], JV2.ravel()[idx_j],
                               rtol=1e-13)
    # A copy with equal content reuses the executable; a different index does not.
    n_exec = len({id(e.fn) for e in ctx.fused.values()})
    backend.products(ctx, x, ProductRequest("jvp", V.copy(), idx_j.copy()))
    assert len({id(e.fn) for e in ctx.fused.values()}) == n_exec
    idx_other = idx_j[::-1].copy()
    np.testing.assert_allclose(backend.products(ctx, x, ProductRequest("jvp", V, idx_other))[1],
                               JV.ravel()[idx_other], rtol=1e-13)
    # Without a gather index: the whole product.
    np.testing.assert_allclose(backend.products(ctx, x, ProductRequest("vjp", W))[1], WJ,
                               rtol=1e-13)

    sctx = backend.prepare(f_scalar, x)
    Vh = RNG.standard_normal((4, 7))
    idx_h = RNG.integers(0, 4 * 7, size=9)
    HV = backend.hvp(sctx, x, Vh)
    y_h, vals_h = backend.products(sctx, x, ProductRequest("hvp", Vh, idx_h, want_value=False))
    assert y_h is None
    np.testing.assert_allclose(vals_h, HV.ravel()[idx_h], rtol=1e-12)


def test_large_seeds_use_runtime_arrays_and_any_batch_size():
    # max_constant_bytes=0 forces the runtime-seed path; chunks of several k recompile;
    # transpose_gather_bytes=0 forces the gather from the transposed product.
    backend = JaxBackend(max_constant_bytes=0, transpose_gather_bytes=0)
    x = RNG.random(5) + 0.5
    ctx = backend.prepare(f_vector, x)
    J = dense_jacobian(f_vector, x)
    for k in (3, 0):
        V = RNG.standard_normal((k, 5))
        idx = RNG.permutation(k * 6)
        _, vals = backend.products(ctx, x, ProductRequest("jvp", V, idx))
        np.testing.assert_allclose(vals, (V @ J.T).ravel()[idx], rtol=1e-12)
        np.testing.assert_allclose(backend.jvp(ctx, x, V)[1], V @ J.T, rtol=1e-12)


def test_plain_products_read_a_reused_seed_buffer_every_call(backend):
    # hvp_operator(...).matmat may refill one buffer: no stale cached copy.
    x = RNG.random(5) + 0.5
    ctx = backend.prepare(f_vector, x)
    J = dense_jacobian(f_vector, x)
    V = RNG.standard_normal((2, 5))
    backend.jvp(ctx, x, V)
    V[...] = RNG.standard_normal((2, 5))
    np.testing.assert_allclose(backend.jvp(ctx, x, V)[1], V @ J.T, rtol=1e-12)


def brusselator_case(N):
    from benchmarks.problems import brusselator_initial, brusselator_sparsity, make_brusselator_jax
    return make_brusselator_jax(N, t=2.0), brusselator_initial(N), brusselator_sparsity(N)


@pytest.mark.parametrize("transpose_gather_bytes", [None, 0])
def test_brusselator_compressed_jacobian_matches_jacfwd(transpose_gather_bytes):
    # Column coloring by a naive greedy pass (reference written here): columns sharing a
    # row get different colors; then one fused call recovers every nonzero, gathered from
    # the product or (0 bytes) from its transpose.
    backend = JaxBackend(transpose_gather_bytes=transpose_gather_bytes)
    f, x, S = brusselator_case(6)
    S = S.tocsc()
    n = S.shape[1]
    rows_of = [set(S.indices[S.indptr[j]:S.indptr[j + 1]]) for j in range(n)]
    colors = np.full(n, -1)
    for j in range(n):
        used = {colors[i] for i in range(j) if rows_of[i] & rows_of[j]}
        colors[j] = min(set(range(n)) - used)
    k = colors.max() + 1
    V = np.zeros((k, n))
    V[colors, np.arange(n)] = 1.0
    coo = S.tocoo()
    flat_index = colors[coo.col] * S.shape[0] + coo.row
    ctx = backend.prepare(f, x)
    y, vals = backend.products(ctx, x, ProductRequest("jvp", V, flat_index))
    J = dense_jacobian(f, x)
    np.testing.assert_allclose(vals, J[coo.row, coo.col], rtol=1e-12, atol=1e-9)
    dense = np.zeros_like(J)
    dense[coo.row, coo.col] = vals
    np.testing.assert_allclose(dense, J, rtol=1e-12, atol=1e-9)  # pattern is complete


def test_nan_propagates(backend):
    x = np.array([1.0, -1.0, 2.0])
    ctx = backend.prepare(lambda z: jnp.sqrt(z) * 2.0, x)
    _, JV = backend.jvp(ctx, x, np.eye(3))
    assert np.isnan(JV[1, 1]) and np.isfinite(JV[0, 0])


# ---------------------------------------------------------------------------- errors
def test_x_shape_and_dtype_mismatch_raise(backend):
    x = RNG.random(4)
    ctx = backend.prepare(f_vector, x)
    with pytest.raises(SparseADError, match="prepared for shape"):
        backend.jvp(ctx, RNG.random(5), np.eye(4))
    with pytest.raises(SparseADError, match="dtype"):
        backend.value(ctx, x.astype(np.float32))
    with pytest.raises(SparseADError, match=r"shape \(k, 4\)"):
        backend.jvp(ctx, x, np.eye(3))
    with pytest.raises(SparseADError, match=r"shape \(k, 5\)"):
        backend.vjp(ctx, x, np.eye(4))
    with pytest.raises(SparseADError, match="outside"):
        backend.products(ctx, x, ProductRequest("jvp", np.eye(4), np.array([0, 99])))
    with pytest.raises(SparseADError, match="1-D integer"):
        backend.products(ctx, x, ProductRequest("jvp", np.eye(4), np.array([0.0, 1.0])))


def test_hvp_of_vector_function_raises(backend):
    ctx = backend.prepare(f_vector, RNG.random(3))
    with pytest.raises(NotImplementedError, match="scalar function"):
        backend.hvp(ctx, RNG.random(3), np.eye(3))
    with pytest.raises(NotImplementedError, match="scalar function"):
        backend.gradient(ctx, RNG.random(3))


def test_float64_with_x64_disabled_raises(backend):
    previous = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", False)
    try:
        with pytest.raises(SparseADError, match="jax_enable_x64"):
            backend.prepare(f_vector, np.ones(3))
        with pytest.raises(SparseADError, match="jax_enable_x64"):
            backend.prepare(f_with_args, np.ones(6, np.float32), (np.ones((2, 3)), 2, 1.0))
        ctx = backend.prepare(f_vector, np.ones(3, np.float32))  # float32 is fine
        assert backend.jvp(ctx, np.ones(3, np.float32), np.eye(3, dtype=np.float32))[1].dtype \
            == np.float32
    finally:
        jax.config.update("jax_enable_x64", previous)


def test_non_float_x_and_numpy_function_raise(backend):
    with pytest.raises(SparseADError, match="floating-point"):
        backend.prepare(f_vector, np.arange(3))
    with pytest.raises(TypeError, match="jax.numpy"):
        backend.prepare(lambda z: np.sin(np.asarray(z)), np.ones(3))


def test_missing_jax_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "jax", None)  # makes ``import jax`` fail
    monkeypatch.setitem(sys.modules, "jax.numpy", None)
    monkeypatch.delitem(sys.modules, "sparsead.backends.jax_backend")
    with pytest.raises(BackendUnavailableError, match=r'pip install -e "\.\[jax\]"'):
        importlib.import_module("sparsead.backends.jax_backend")
    with pytest.raises(ImportError):  # it is an ImportError for callers that catch that
        importlib.import_module("sparsead.backends.jax_backend")


# ---------------------------------------------------------------------------- rebinding
def f_time(x, t, a):
    return jnp.sin(t * x) * a


def test_rebind_args_reuses_executables_and_follows_new_values(backend):
    x = RNG.random(4) + 0.5
    a = RNG.random(4)
    ctx = backend.prepare(f_time, x, (np.asarray(0.5), a))
    assert backend.output_shape(ctx) == (4,)
    V = np.eye(4)
    request = ProductRequest("jvp", V, np.arange(16))
    backend.products(ctx, x, request)
    n_exec = len(ctx.fused)
    for t, aa in [(np.asarray(1.5), a), (np.asarray(2.0), a + 1.0)]:
        ctx2 = backend.rebind_args(ctx, f_time, x, (t, aa), frozenset({"jvp"}))
        _, vals = backend.products(ctx2, x, request)
        J = dense_jacobian(f_time, x, (t, aa))
        np.testing.assert_allclose(vals.reshape(4, 4), J.T, rtol=1e-12)
        assert ctx2.fused is ctx.fused and len(ctx.fused) == n_exec  # no recompilation
    # A Python float is a runtime argument too (weakly typed: float32 stays float32).
    x32 = x.astype(np.float32)
    c32 = backend.prepare(f_time, x32, (0.5, a.astype(np.float32)))
    c32b = backend.rebind_args(c32, f_time, x32, (0.75, a.astype(np.float32)), frozenset())
    assert c32b.compiled is c32.compiled
    assert backend.value(c32b, x32).dtype == np.float32
    np.testing.assert_allclose(backend.value(c32b, x32), np.sin(0.75 * x32) * a, rtol=1e-6)
    # Another shape or another static value prepares again.
    c3 = backend.rebind_args(ctx, f_time, x, (np.ones(4), a), frozenset())
    assert c3.fused is not ctx.fused


def f_branching(x, t, n):
    if t > 1.0:  # Python control flow on a float: it must stay static
        return x[:n] * 2.0
    return x[:n] ** 2


def test_float_used_in_python_control_flow_becomes_static(backend):
    x = RNG.random(5)
    ctx = backend.prepare(f_branching, x, (2.0, 3))
    assert ctx.runtime == () and backend.output_shape(ctx) == (3,)
    np.testing.assert_allclose(backend.jvp(ctx, x, np.eye(5))[1], 2.0 * np.eye(5)[:, :3])
    ctx2 = backend.rebind_args(ctx, f_branching, x, (0.5, 3), frozenset())
    np.testing.assert_allclose(backend.jvp(ctx2, x, np.eye(5))[1],
                               (2 * np.eye(5) * x)[:, :3], rtol=1e-12)


# ---------------------------------------------------------------------------- conformance
def test_conformance_suite_jax():
    check_backend = pytest.importorskip("sparsead.testing").check_backend
    report = check_backend("jax")
    assert report.passed and not report.failures


def test_conformance_suite_jax_chunked():
    testing = pytest.importorskip("sparsead.testing")
    chosen = [s for s in testing.SCENARIOS if s.name in ("brusselator", "arrowhead_hessian",
                                                         "dense_row")]
    report = testing.check_backend("jax", scenarios=chosen, chunk_size=3,
                                   dtypes=(np.float64,))
    assert len(report.passed) == len(chosen)


def test_results_handed_to_users_are_writeable(backend):
    x = RNG.random(4) + 0.5
    ctx = backend.prepare(f_vector, x)
    y, JV = backend.jvp(ctx, x, np.eye(4))
    y2, vals = backend.products(ctx, x, ProductRequest("jvp", np.eye(4), np.arange(4)))
    for arr in (y, JV, y2, vals, backend.value(ctx, x)):
        arr[...] = 0.0  # would raise on a read-only view of a device buffer


def test_values_only_requests_match_the_fused_products(backend):
    # The values-only executables (used by J(x)) skip f(x); same values, and their
    # results are new writeable arrays that nothing else shares.
    x = RNG.random(7) + 0.5
    ctx = backend.prepare(f_vector, x)
    V = RNG.standard_normal((3, 7))
    W = RNG.standard_normal((2, 8))
    idx_j = RNG.integers(0, 3 * 8, size=11)
    idx_v = RNG.integers(0, 2 * 7, size=5)
    _, ref_j = backend.products(ctx, x, ProductRequest("jvp", V, idx_j))
    values_only = ProductRequest("jvp", V, idx_j, want_value=False)
    y, a = backend.products(ctx, x, values_only)
    _, b = backend.products(ctx, x, values_only)
    assert y is None
    np.testing.assert_allclose(a, ref_j, rtol=1e-13)
    assert a.flags.writeable and not np.shares_memory(a, b)
    a[:] = 0.0
    np.testing.assert_allclose(b, ref_j, rtol=1e-13)
    np.testing.assert_allclose(backend.products(ctx, x, values_only)[1], ref_j, rtol=1e-13)
    _, ref_v = backend.products(ctx, x, ProductRequest("vjp", W, idx_v))
    np.testing.assert_allclose(
        backend.products(ctx, x, ProductRequest("vjp", W, idx_v, want_value=False))[1],
        ref_v, rtol=1e-13)
    # compile: the same values from one call, for numpy and JAX x; None for other types
    run = backend.compile(ctx, values_only)
    for xx in (x, jnp.asarray(x)):
        vals, wait = run(xx)
        wait()
        np.testing.assert_allclose(vals, ref_j, rtol=1e-13)
    assert run(list(x)) is None
    assert backend.compile(ctx, ProductRequest("jvp", V, idx_j)) is None  # wants f(x)


def linear_map(x):
    # A constant Jacobian: XLA folds the whole product into a constant.
    return 3.0 * x + jnp.roll(x, 1)


@pytest.mark.parametrize("f,kind", [(f_vector, "jacobian"), (linear_map, "jacobian"),
                                    (lambda x: jnp.sum(x[1:] * x[:-1] ** 2), "hessian"),
                                    (lambda x: jnp.sum(x ** 2), "hessian"),
                                    (lambda x: jnp.stack([jnp.sum(x), jnp.sum(x ** 2)]),
                                     "jacobian")])
def test_matrices_are_independent_and_writeable(f, kind):
    # J(x) hands the executable's output buffer to the new matrix without a copy: each
    # result must own its values, so writing into one changes no other result.
    import sparsead

    x = RNG.random(7) + 0.5
    prep = (sparsead.prepare_jacobian if kind == "jacobian" else sparsead.prepare_hessian)
    D = prep(f, x, backend="jax")
    ref = (dense_jacobian(f, x) if kind == "jacobian" else dense_hessian(f, x))
    M1, M2 = D(x), D(x)
    assert M1.data.flags.writeable and not np.shares_memory(M1.data, M2.data)
    M1.data[:] = -7.0
    M1.eliminate_zeros()
    np.testing.assert_allclose(M2.toarray(), ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(D(x).toarray(), ref, rtol=1e-12, atol=1e-12)
    if kind == "jacobian":
        y, M3 = D.value_and_jacobian(x)
        np.testing.assert_allclose(y, np.asarray(f(jnp.asarray(x))), rtol=1e-13)
        np.testing.assert_allclose(M3.toarray(), ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", ["column", "row", "star"])
def test_fast_path_after_the_first_call_gives_the_same_matrices(kind):
    # After one plain evaluation, M = P(x) goes straight to the compiled product; every
    # other form (out=, args=, another shape or dtype, a non-array) keeps the checks.
    import sparsead

    x = RNG.random(7) + 0.5
    if kind == "column":
        f = f_vector
        D, ref = sparsead.prepare_jacobian(f, x, backend="jax"), dense_jacobian(f, x)
    elif kind == "row":
        f = lambda z: jnp.stack([jnp.sum(z), jnp.sum(z ** 2)])  # noqa: E731
        D, ref = sparsead.prepare_jacobian(f, x, backend="jax"), dense_jacobian(f, x)
    else:
        f = lambda z: jnp.sum(z[1:] * z[:-1] ** 2)  # noqa: E731
        D, ref = sparsead.prepare_hessian(f, x, backend="jax"), dense_hessian(f, x)
    assert D._fast is None
    M0 = D(x)
    assert D._fast is not None
    for xx in (x, jnp.asarray(x), list(x)):
        M = D(xx)
        assert type(M) is type(M0) and M.format == M0.format
        np.testing.assert_allclose(M.toarray(), ref, rtol=1e-12, atol=1e-12)
    x2 = x[::-1].copy()
    ref2 = dense_jacobian(f, x2) if kind != "star" else dense_hessian(f, x2)
    np.testing.assert_allclose(D(x2).toarray(), ref2, rtol=1e-12, atol=1e-12)
    assert D(x2, out=M0) is M0
    np.testing.assert_allclose(M0.toarray(), ref2, rtol=1e-12, atol=1e-12)
    with pytest.raises(SparseADError, match="shape"):
        D(np.ones(8))
    with pytest.raises(SparseADError, match="dtype"):
        D(x.astype(np.float32))


def test_fast_path_stages_misaligned_x_per_thread():
    # A misaligned numpy x (>= 64 KB) is copied into an aligned per-thread buffer before
    # the call: concurrent threads with different x must each get their own Jacobian.
    import threading

    import sparsead
    from benchmarks.problems import brusselator_initial, brusselator_sparsity, make_brusselator_jax

    N = 64  # n = 8192 float64: exactly the 64 KB staging threshold
    f = make_brusselator_jax(N)
    x0 = brusselator_initial(N)
    J = sparsead.prepare_jacobian(f, x0, backend="jax", sparsity=brusselator_sparsity(N))
    J(x0)
    points = [x0 + 0.1 * k for k in range(4)]
    refs = [J.values(p) for p in points]  # the general path, one thread

    def misaligned(p):
        raw = np.empty(p.size + 1)
        view = raw[1:] if raw.__array_interface__["data"][0] % 64 == 0 else raw[:-1]
        view[...] = p
        assert view.__array_interface__["data"][0] % 64 != 0
        return view

    errors = []

    def worker(k):
        xs = misaligned(points[k])
        for _ in range(15):
            M = J(xs)
            if not np.array_equal(M.data, refs[k]):
                errors.append(k)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
