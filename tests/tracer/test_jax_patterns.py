"""Sparsity patterns from the JAX front-end against dense ``jax.jacfwd`` / ``jax.hessian``.

Every detected pattern must contain all numerically nonzero entries of the dense
derivative at random points; where the exact pattern is known it must be equal.
"""

import pytest

jax = pytest.importorskip("jax")

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax import lax  # noqa: E402
from test_jax_cases import CASES, HESSIAN_CASES, POINTS, dense_reference, random_input  # noqa: E402

from benchmarks.problems import brusselator_sparsity, make_brusselator_jax, make_brusselator_numpy  # noqa: E402
from tracer.jax._frontend import hessian_sparsity_jax, jacobian_sparsity_jax  # noqa: E402

#: cases whose detected Jacobian pattern equals the union of dense nonzeros at random
#: points (the others are conservative: loops merged to a fixed point, unknown sort
#: permutations, value-dependent selections, ...)
EXACT_JACOBIAN = {
    "arith", "transcendental", "special", "integer_pow", "pow", "dot_general", "shapes",
    "pad", "dynamic_slice", "gather", "switch_const",
    "custom_derivatives", "stop_gradient", "conv1d", "cumprod_hessian", "fori_indexing",
    "fori_scan", "while", "complex_fft", "random_constant",
    "conv_grouped", "scatter", "convert",
}
#: cases whose Hessian pattern (of ``sum(f(x))``) equals the dense nonzeros
EXACT_HESSIAN = {
    "arith", "integer_pow", "pow", "pad", "dynamic_slice", "gather", "custom_derivatives",
    "conv1d", "conv2d_traced_kernel", "conv_grouped", "cumprod_hessian", "fori_indexing",
    "while", "complex_fft",
}


def _dense_jacobian_nonzeros(f, shape):
    jac = jax.jit(jax.jacfwd(f))
    nz = 0
    for seed in range(POINTS):
        J = np.asarray(jac(jnp.asarray(random_input(shape, seed)))).reshape(-1, np.prod(shape))
        nz = nz | (J != 0)
    return nz


def _dense_hessian_nonzeros(g, shape):
    hes = jax.jit(jax.hessian(g))
    nz = 0
    for seed in range(POINTS):
        H = np.asarray(hes(jnp.asarray(random_input(shape, seed))))
        nz = nz | (H.reshape(np.prod(shape), np.prod(shape)) != 0)
    return nz


def _assert_contains(pattern, nonzeros, name):
    P = pattern.toarray()
    assert P.shape == nonzeros.shape, name
    missing = np.argwhere(nonzeros & ~P)
    assert missing.size == 0, f"{name}: pattern misses nonzeros at {missing[:5].tolist()}"


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_jacobian_pattern_contains_dense_nonzeros(case):
    name, f, shape, _ = case
    pattern = jacobian_sparsity_jax(f, random_input(shape))
    assert pattern.dtype == bool
    nz = dense_reference(name)["jacobian"]
    _assert_contains(pattern, nz, name)
    if name in EXACT_JACOBIAN:
        np.testing.assert_array_equal(pattern.toarray(), nz, err_msg=name)


@pytest.mark.parametrize("case", HESSIAN_CASES, ids=[c[0] for c in HESSIAN_CASES])
def test_hessian_pattern_contains_dense_nonzeros(case):
    name, f, shape, _ = case

    def g(v):
        return sum(jnp.sum(leaf.astype(float)) for leaf in jax.tree_util.tree_leaves(f(v)))

    pattern = hessian_sparsity_jax(g, random_input(shape))
    P = pattern.toarray()
    np.testing.assert_array_equal(P, P.T)
    nz = dense_reference(name)["hessian"]
    _assert_contains(pattern, nz, name)
    if name in EXACT_HESSIAN:
        np.testing.assert_array_equal(P, nz, err_msg=name)


@pytest.mark.parametrize("N", [3, 6])
def test_brusselator_jacobian_is_exact(N):
    x = random_input((2 * N * N,))
    pattern = jacobian_sparsity_jax(make_brusselator_jax(N), x)
    expected = brusselator_sparsity(N)
    assert (pattern != expected).nnz == 0
    _assert_contains(pattern, _dense_jacobian_nonzeros(make_brusselator_jax(N), x.shape),
                     "brusselator")


def test_brusselator_numpy_and_jax_front_ends_agree():
    import tracer

    N = 5
    x = random_input((2 * N * N,))
    pj = jacobian_sparsity_jax(make_brusselator_jax(N), x)
    pn = tracer.jacobian_sparsity(make_brusselator_numpy(N), x)
    assert (pj != pn).nnz == 0

    fj, fn = make_brusselator_jax(N), make_brusselator_numpy(N)
    hj = hessian_sparsity_jax(lambda v: jnp.sum(fj(v) ** 2), x)
    hn = tracer.hessian_sparsity(lambda v: np.sum(fn(v) ** 2), x)
    assert (hj != hn).nnz == 0
    _assert_contains(hj, _dense_hessian_nonzeros(lambda v: jnp.sum(fj(v) ** 2), x.shape),
                     "brusselator hessian")


def _rosenbrock(xp):
    def f(x):
        return xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

    return f


def _arrowhead(xp):
    def f(x):
        return xp.sum((x[:-1] ** 2 + x[-1] ** 2) ** 2)

    return f


def _stencil(xp):
    def f(x):
        y = x.reshape(3, 4)
        return (xp.tanh(y[:, 1:] * y[:, :-1]).sum(axis=0)
                + xp.maximum(y[0, :3], y[2, 1:]) * xp.exp(y[1, ::-1][:3]))

    return f


@pytest.mark.parametrize("make", [_rosenbrock, _arrowhead, _stencil],
                         ids=["rosenbrock", "arrowhead", "stencil"])
def test_numpy_and_jax_front_ends_agree(make):
    import tracer

    x = random_input((12,))
    fj, fn = make(jnp), make(np)
    if np.ndim(fn(x)) == 0:
        pj, pn = hessian_sparsity_jax(fj, x), tracer.hessian_sparsity(fn, x)
    else:
        pj, pn = jacobian_sparsity_jax(fj, x), tracer.jacobian_sparsity(fn, x)
    assert (pj != pn).nnz == 0


def test_unknown_values_flow_through_fused_operations():
    # the carried constant ``w`` changes every iteration, so after merging the iterations
    # its values are unknown; rolling and indexing it (fused operations) must still work
    def f(x):
        def body(c):
            v, w = c
            return v * w[0] + jnp.roll(v, 1), jnp.roll(w, 1) + 1.0

        return lax.while_loop(lambda c: jnp.sum(c[0]) < 50.0, body,
                              (x, jnp.arange(3.0)))[0]

    x = random_input((3,))
    P = jacobian_sparsity_jax(f, x).toarray()
    assert P.all()  # the roll spreads every input to every output
