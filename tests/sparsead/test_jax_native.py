"""sparsead.jax: sparse Jacobians and Hessians as pure JAX functions, against dense
``jax.jacfwd`` / ``jax.hessian`` references (x64 mode is enabled in tests/conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import scipy.optimize
import scipy.sparse as sp
import scipy.sparse.linalg as sla

jax = pytest.importorskip("jax")
jnp = jax.numpy

import sparsead  # noqa: E402
import sparsead.jax as sj  # noqa: E402
from benchmarks import problems  # noqa: E402
from sparsead._errors import SparseADError  # noqa: E402
from sparsead.testing import SCENARIOS  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
TIGHT = dict(rtol=1e-12, atol=1e-12)


def dense_jacobian(f, x, *args):
    """Reference: ``jax.jacfwd`` of f on the ravel_pytree-flattened input and output."""
    xf, unravel = jax.flatten_util.ravel_pytree(x)
    J = jax.jit(jax.jacfwd(lambda z: jax.flatten_util.ravel_pytree(f(unravel(z), *args))[0]))
    return np.asarray(J(xf))


def dense_hessian(f, x, *args):
    xf, unravel = jax.flatten_util.ravel_pytree(x)
    return np.asarray(jax.jit(jax.hessian(lambda z: jnp.reshape(f(unravel(z), *args), ())))(xf))


def to_dense(M, prepared):
    """Dense matrix from any output format, using the prepared static structure."""
    if prepared.format == "data":
        return sp.csr_array((np.asarray(M), prepared.indices, prepared.indptr),
                            shape=prepared.shape).toarray()
    return np.asarray(M.todense())


def triangle(H, uplo):
    return {"F": H, "L": np.tril(H), "U": np.triu(H)}[uplo]


def relative_allclose(A, R, tol=1e-12):
    scale = max(1.0, float(np.abs(R).max()))
    np.testing.assert_allclose(A, R, rtol=0, atol=tol * scale)


# --------------------------------------------------------------------- Brusselator
N_SMALL = 6


@pytest.fixture(scope="module")
def brusselator():
    f = problems.make_brusselator_jax(N_SMALL)
    x = jnp.asarray(problems.brusselator_initial(N_SMALL) + 0.3)
    return f, x, sj.jacobian(f, x)


@pytest.mark.parametrize("fmt", ["bcsr", "bcoo", "data"])
def test_brusselator_jit_matches_jacfwd(brusselator, fmt):
    f, x, prepared = brusselator
    jac = sj.jacobian(f, x, format=fmt, sparsity=prepared.sparsity)
    assert jac.ncolors <= 10 and jac.mode == "column"
    M = jax.jit(jac)(x)
    kind = {"bcsr": sj.jsparse.BCSR, "bcoo": sj.jsparse.BCOO, "data": jax.Array}[fmt]
    assert isinstance(M, kind)
    relative_allclose(to_dense(M, jac), dense_jacobian(f, x))
    # detected pattern is the exact one
    assert (jac.structure() != problems.brusselator_sparsity(N_SMALL)).nnz == 0


def test_brusselator_vmap_and_while_loop(brusselator):
    f, x, jac = brusselator
    xs = jnp.stack([x, 0.5 * x, x + 1.0])
    batch = jax.jit(jax.vmap(jac))(xs)
    assert batch.shape == (3,) + jac.shape
    for i in range(3):
        relative_allclose(np.asarray(batch.todense()[i]), dense_jacobian(f, xs[i]))

    def summed(x):  # sum of J(x_i) over a while_loop, x_i = x * (1 + i / 4)
        def body(state):
            i, acc = state
            return i + 1, acc + jac(x * (1.0 + i / 4.0)).data
        return jax.lax.while_loop(lambda s: s[0] < 3, body,
                                  (0, jnp.zeros(jac.nnz, x.dtype)))[1]

    got = sp.csr_array((np.asarray(jax.jit(summed)(x)), jac.indices, jac.indptr),
                       shape=jac.shape).toarray()
    ref = sum(dense_jacobian(f, x * (1.0 + i / 4.0)) for i in range(3))
    relative_allclose(got, ref)


def test_scan_and_fori_loop(brusselator):
    f, x, jac = brusselator

    def scanned(x):
        return jax.lax.scan(lambda c, s: (c, jac(x * s).data), None, jnp.array([1.0, 2.0]))[1]

    out = jax.jit(scanned)(x)
    relative_allclose(to_dense(out[1], sj.jacobian(f, x, format="data",
                                                    sparsity=jac.sparsity)),
                      dense_jacobian(f, 2.0 * x))
    total = jax.jit(lambda x: jax.lax.fori_loop(0, 2, lambda i, a: a + jac(x).data,
                                                jnp.zeros(jac.nnz)))(x)
    np.testing.assert_allclose(total, 2 * jax.jit(jac)(x).data, rtol=1e-15)


def test_no_recompilation_or_recoloring_for_new_points_and_args():
    traces = []

    def f(x, a):
        traces.append(1)  # runs once per trace only
        return a * x ** 2 + jnp.roll(x, 1)

    x = jnp.linspace(0.1, 1.0, 7)
    jac = sj.jacobian(f, x, args=(jnp.ones(7),))
    coloring_before = jac.coloring
    fn = jax.jit(jac)
    before = len(traces)
    results = {s: fn(x * s, jnp.full(7, s)) for s in (1.0, 2.0, 3.0)}
    # one trace for the first call, none for the other points and args
    assert len(traces) - before == 1
    assert fn._cache_size() == 1
    for s, M in results.items():
        relative_allclose(to_dense(M, jac), dense_jacobian(f, x * s, jnp.full(7, s)))
    assert jac.coloring is coloring_before


def test_value_and_jacobian(brusselator):
    f, x, jac = brusselator
    y, J = jax.jit(sj.value_and_jacobian(f, x, sparsity=jac.sparsity))(x)
    np.testing.assert_allclose(y, f(x), rtol=1e-13, atol=1e-9)
    relative_allclose(to_dense(J, jac), dense_jacobian(f, x))


def test_row_mode_and_chunks(brusselator):
    f, x, jac = brusselator
    for options in ({"mode": "row"}, {"chunk_size": 3}):
        other = sj.jacobian(f, x, sparsity=jac.sparsity, **options)
        relative_allclose(to_dense(jax.jit(other)(x), other), dense_jacobian(f, x))
    assert sj.jacobian(f, x, mode="row", sparsity=jac.sparsity).mode == "row"


def test_structure_is_static_numpy(brusselator):
    _, _, jac = brusselator
    assert isinstance(jac.indices, np.ndarray) and isinstance(jac.indptr, np.ndarray)
    S = jac.structure()
    assert sp.issparse(S) and S.shape == jac.shape and S.nnz == jac.nnz
    np.testing.assert_array_equal(S.indices, jac.indices)


# --------------------------------------------------------------------- conformance scenarios
JAC_SCENARIOS = [s for s in SCENARIOS if s.kind == "jacobian" and not s.inplace]
HESS_SCENARIOS = [s for s in SCENARIOS if s.kind == "hessian"]


@pytest.mark.parametrize("sc", JAC_SCENARIOS, ids=lambda s: s.name)
def test_conformance_jacobians(sc):
    f = sc.make(jnp)
    x = jnp.asarray(sc.point(np.float64))
    args = tuple(jnp.asarray(a) if isinstance(a, np.ndarray) else a
                 for a in sc.args(np.float64))
    ref = dense_jacobian(f, x, *args)
    detected = sj.jacobian(f, x, args=args)  # the jaxpr front-end's pattern
    for fmt in ("bcsr", "bcoo", "data"):
        jac = sj.jacobian(f, x, args=args, format=fmt, sparsity=detected.sparsity)
        relative_allclose(to_dense(jax.jit(jac)(x, *args), jac), ref)
    given = sj.jacobian(f, x, args=args, sparsity=sc.sparsity())
    relative_allclose(to_dense(jax.jit(given)(x, *args), given), ref)


@pytest.mark.parametrize("sc", HESS_SCENARIOS, ids=lambda s: s.name)
def test_conformance_hessians(sc):
    f = sc.make(jnp)
    x = jnp.asarray(sc.point(np.float64))
    args = tuple(jnp.asarray(a) for a in sc.args(np.float64))
    ref = dense_hessian(f, x, *args)
    detected = sj.hessian(f, x, args=args).sparsity  # the jaxpr front-end's pattern
    for method, uplo, fmt in (("star", "F", "bcsr"), ("star", "L", "data"),
                              ("acyclic", "U", "bcoo"), ("acyclic", "F", "bcsr")):
        hes = sj.hessian(f, x, args=args, coloring=method, uplo=uplo, format=fmt,
                         sparsity=detected)
        assert hes.method == method
        relative_allclose(to_dense(jax.jit(hes)(x, *args), hes), triangle(ref, uplo))


@pytest.mark.parametrize("method", ["star", "acyclic"])
def test_hessian_brusselator_vmap_and_while_loop(method):
    f = problems.make_brusselator_jax(4)

    def g(y):
        return jnp.sum(f(y) ** 2)

    x = jnp.asarray(problems.brusselator_initial(4) + 0.2)
    hes = sj.hessian(g, x, coloring=method)
    relative_allclose(to_dense(jax.jit(hes)(x), hes), dense_hessian(g, x))
    xs = jnp.stack([x, 1.5 * x])
    batch = jax.jit(jax.vmap(hes))(xs)
    relative_allclose(np.asarray(batch.todense()[1]), dense_hessian(g, xs[1]))
    looped = jax.jit(lambda x: jax.lax.while_loop(
        lambda s: s[0] < 2, lambda s: (s[0] + 1, s[1] + hes(x).data),
        (0, jnp.zeros(hes.nnz)))[1])(x)
    relative_allclose(to_dense(looped / 2, sj.hessian(g, x, coloring=method, format="data")),
                      dense_hessian(g, x))


def test_hvp_is_jittable():
    f = problems.make_brusselator_jax(4)

    def g(y):
        return jnp.sum(f(y) ** 2)

    x = jnp.asarray(problems.brusselator_initial(4) + 0.2)
    v = jnp.linspace(-1.0, 1.0, x.size)
    hv = jax.jit(sj.hvp(g, x))
    relative_allclose(np.asarray(hv(x, v)), dense_hessian(g, x) @ np.asarray(v))


# --------------------------------------------------------------------- pytrees
def test_pytree_input_and_output_in_ravel_pytree_order():
    def f(p):
        a, b = p["a"], p["b"]
        return {"s": jnp.sin(a) * b[0, :3], "t": (b ** 2).ravel() + jnp.sum(a)}

    x = {"a": jnp.linspace(0.1, 0.5, 3), "b": jnp.arange(6.0).reshape(2, 3) + 0.5}
    jac = sj.jacobian(f, x)
    ref = dense_jacobian(f, x)
    assert jac.shape == ref.shape == (9, 9)
    relative_allclose(to_dense(jax.jit(jac)(x), jac), ref)
    y, _ = jac.value_and_jacobian(x)
    assert set(y) == {"s", "t"} and y["t"].shape == (6,)

    def g(p):
        return jnp.sum(p["a"] ** 3) + jnp.sum(p["a"][:2] * p["b"][0, 1:])
    hes = sj.hessian(g, x)
    relative_allclose(to_dense(jax.jit(hes)(x), hes), dense_hessian(g, x))


# --------------------------------------------------------------------- errors
def test_clear_errors():
    f = problems.make_brusselator_jax(4)
    x = jnp.asarray(problems.brusselator_initial(4))
    with pytest.raises(TypeError, match="jax.numpy"):
        sj.jacobian(lambda z: np.asarray(z) ** 2, x)
    with pytest.raises(SparseADError, match="shape"):
        sj.jacobian(f, x, sparsity=sp.eye_array(5))
    with pytest.raises(SparseADError, match="format"):
        sj.jacobian(f, x, format="csr")
    jac = sj.jacobian(f, x)
    with pytest.raises(SparseADError, match="shape"):
        jax.jit(jac)(x[:-1])
    with pytest.raises(SparseADError, match="float32"):
        jax.jit(jac)(x.astype(jnp.float32))
    with pytest.raises(SparseADError, match="scalar"):
        sj.hessian(f, x)
    with pytest.raises(SparseADError, match="Mesh"):
        sj.jacobian(f, x, mesh="cpu")


def test_float64_without_x64_and_traced_static_args_raise():
    previous = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", False)
    try:
        with pytest.raises(SparseADError, match="jax_enable_x64"):
            sj.jacobian(lambda z: z ** 2, np.ones(3))
    finally:
        jax.config.update("jax_enable_x64", previous)

    def f(z, t, k):
        return jnp.roll(z, k) * t

    x = jnp.linspace(0.1, 1.0, 6)
    jac = sj.jacobian(f, x, args=(2.0, 1))
    fn = jax.jit(jac, static_argnums=2)  # the float is traced, the int static
    assert [float(fn(x, t, 1).todense()[1, 0]) for t in (3.0, 5.0)] == [3.0, 5.0]
    assert fn._cache_size() == 1
    with pytest.raises(SparseADError, match="static_argnums"):
        jax.jit(jac)(x, 3.0, 1)
    with pytest.raises(SparseADError, match="cannot change"):
        fn(x, 3.0, 2)


def test_core_imports_without_jax():
    code = ("import sys; sys.modules['jax'] = None; import sparsead; "
            "assert 'sparsead.jax' not in sys.modules; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


# --------------------------------------------------------------------- Newton example
def newton_solve(f, jac, y0, tol=1e-8, maxiter=50):
    """Damped Newton entirely in JAX: BCSR Jacobian, spsolve step, halving line search."""
    from jax.experimental.sparse.linalg import spsolve

    def step(state):
        y, k, r = state
        J = jac(y)
        dy = spsolve(J.data, J.indices, J.indptr, -r)
        norm = jnp.linalg.norm(r)
        t = jax.lax.while_loop(
            lambda t: (t > 2.0 ** -10)
            & (jnp.linalg.norm(f(y + t * dy)) >= (1 - 1e-4 * t) * norm),
            lambda t: t / 2, 1.0)
        y = y + t * dy
        return y, k + 1, f(y)

    y, k, r = jax.lax.while_loop(
        lambda s: (jnp.linalg.norm(s[2]) > tol) & (s[1] < maxiter), step, (y0, 0, f(y0)))
    return y, k, jnp.linalg.norm(r)


def test_jitted_newton_brusselator_matches_scipy_root():
    N = 32
    f = problems.make_brusselator_jax(N)
    y0 = problems.brusselator_initial(N)
    jac = sj.jacobian(f, jnp.asarray(y0))  # format="bcsr"
    y, k, res = jax.jit(lambda y: newton_solve(f, jac, y))(jnp.asarray(y0))
    assert float(res) <= 1e-8 and int(k) < 50

    # scipy's root (Newton-Krylov) preconditioned by sparsead's scipy Jacobian
    fn = problems.make_brusselator_numpy(N)
    J = sparsead.prepare_jacobian(fn, y0)

    class LUPreconditioner(sla.LinearOperator):
        def __init__(self, y):
            super().__init__(np.float64, (y.size, y.size))
            self.update(y, None)

        def update(self, y, fy):  # scipy calls this at every Newton iterate
            self.lu = sla.splu(J(y).tocsc())

        def _matvec(self, v):
            return self.lu.solve(np.asarray(v).ravel())

    sol = scipy.optimize.root(fn, y0, method="krylov",
                              options={"fatol": 1e-8,
                                       "jac_options": {"inner_M": LUPreconditioner(y0)}})
    assert sol.success
    np.testing.assert_allclose(np.asarray(y), sol.x, rtol=1e-9, atol=1e-9)
    # the homogeneous steady state u = B = 1, v = A / B = 3.4
    np.testing.assert_allclose(np.asarray(y).reshape(2, -1).mean(axis=1), [1.0, 3.4],
                               rtol=1e-9)


# --------------------------------------------------------------------- several devices
MESH_SCRIPT = textwrap.dedent("""
    import jax, jax.numpy as jnp, numpy as np
    jax.config.update("jax_enable_x64", True)
    import sparsead.jax as sj
    from benchmarks import problems
    assert jax.device_count() == 4, jax.devices()
    mesh = jax.make_mesh((4,), ("colors",))
    f = problems.make_brusselator_jax(8)
    x = jnp.asarray(problems.brusselator_initial(8) + 0.3)
    one = sj.jacobian(f, x)
    four = sj.jacobian(f, x, mesh=mesh, sparsity=one.sparsity, coloring=one.coloring)
    assert one.ncolors % 4 != 0  # padding of the color batch is exercised
    assert np.array_equal(jax.jit(one)(x).data, jax.jit(four)(x).data)
    y1, J1 = jax.jit(one.value_and_jacobian)(x)
    y4, J4 = jax.jit(four.value_and_jacobian)(x)
    assert np.array_equal(y1, y4) and np.array_equal(J1.data, J4.data)
    xs = jnp.stack([x, 2 * x])
    assert np.array_equal(jax.jit(jax.vmap(one))(xs).data, jax.jit(jax.vmap(four))(xs).data)
    g = lambda z: jnp.sum(f(z) ** 2)
    h1 = sj.hessian(g, x)
    h4 = sj.hessian(g, x, mesh=mesh, sparsity=h1.sparsity, coloring=h1.coloring)
    assert np.array_equal(jax.jit(h1)(x).data, jax.jit(h4)(x).data)
    dense = jax.jacfwd(f)(x)
    assert np.abs(jax.jit(four)(x).todense() - dense).max() <= 1e-9 * np.abs(dense).max()
    print("identical", one.ncolors, h1.ncolors)
""")


def test_mesh_of_four_cpu_devices_gives_identical_values():
    env = {**os.environ, "PYTHONPATH": str(ROOT),
           "XLA_FLAGS": "--xla_force_host_platform_device_count=4"}
    out = subprocess.run([sys.executable, "-c", MESH_SCRIPT], capture_output=True, text=True,
                         cwd=ROOT, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.startswith("identical")


def test_dense_row_and_column_stay_one_sided_and_bidirectional_is_refused():
    """A nonsymmetric arrowhead is where sparsead.prepare_jacobian's mode="auto" picks a
    bicoloring; the fused JAX function evaluates one kind of product, so it keeps to a
    column or row coloring (still exact) and refuses mode="bidirectional" by name."""
    def f(x):
        y = x * x
        y = y.at[0].add(jnp.sum(x))                   # a dense row
        return y + x[-1] * jnp.arange(1.0, x.size + 1)  # a dense column

    x = jnp.linspace(0.1, 1.0, 40)
    jac = sj.jacobian(f, x)
    assert jac.coloring.problem in ("column", "row")
    np.testing.assert_allclose(np.asarray(jax.jit(jac)(x).todense()), dense_jacobian(f, x),
                               rtol=1e-12, atol=1e-12)
    with pytest.raises(SparseADError, match="bidirectional"):
        sj.jacobian(f, x, mode="bidirectional")
