"""Sparsity detection inside the pipeline: tracer for numpy, its JAX and torch front-ends
for JAX and torch, numpy twins (sparsity_from); never guessed from probes."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.integrate import solve_ivp

import sparsead
from benchmarks.problems import (
    brusselator_initial,
    brusselator_rhs_numpy,
    brusselator_sparsity,
    chained_rosenbrock,
    make_brusselator_numpy,
    rosenbrock_hessian_sparsity,
)
from sparsead.backends import FiniteDifferences


def same_pattern(A, B):
    return (sp.csr_array(A, dtype=bool) != sp.csr_array(B, dtype=bool)).nnz == 0


def dense_jacobian_cs(f, x):
    h = 1e-30
    return np.stack([np.imag(np.asarray(f(x + 1j * h * e))).ravel() / h
                     for e in np.eye(x.size)], axis=1)


def test_numpy_function_is_traced():
    N = 6
    f = make_brusselator_numpy(N)
    x = brusselator_initial(N)
    J = sparsead.prepare_jacobian(f, x, backend=FiniteDifferences("complex"))
    assert same_pattern(J.sparsity, brusselator_sparsity(N))
    np.testing.assert_allclose(J(x).toarray(), dense_jacobian_cs(f, x), rtol=1e-12, atol=1e-9)


def test_inplace_function_is_traced_through_out():
    def f(out, x):
        out[0] = x[0] * x[1]
        out[1:] = np.exp(x[1:]) - x[:-1]
    x = np.linspace(0.1, 0.9, 5)
    J = sparsead.prepare_jacobian(f, x, out=np.zeros(5))
    expected = np.eye(5, dtype=bool) | np.eye(5, k=-1, dtype=bool)
    expected[0, 1] = True
    assert same_pattern(J.sparsity, expected)


def test_value_dependent_branch_needs_local_mode():
    def f(x):
        if x[0] > 0:
            return x * x[0]
        return x
    x = np.array([1.0, 2.0, 3.0])
    with pytest.raises(sparsead.SparsityDetectionError, match="sparsity_mode='local'"):
        sparsead.prepare_jacobian(f, x)
    J = sparsead.prepare_jacobian(f, x, sparsity_mode="local")
    np.testing.assert_allclose(J(x).toarray(), [[2, 0, 0], [2, 1, 0], [3, 0, 1]], atol=1e-6)


def test_hessian_pattern_is_traced():
    n = 9
    H = sparsead.prepare_hessian(chained_rosenbrock, np.linspace(-1, 1, n),
                                 grad=lambda x: x)  # grad only matters for values
    assert same_pattern(H.sparsity, rosenbrock_hessian_sparsity(n))


def test_ode_jacobian_detects_with_time_as_constant_and_solves():
    N = 6
    y0 = brusselator_initial(N)
    fun = lambda t, y: brusselator_rhs_numpy(t, y, N)  # noqa: E731
    jac = sparsead.ode_jacobian(fun, 0.0, y0)
    assert same_pattern(jac.sparsity, brusselator_sparsity(N)) and jac.ncolors <= 10
    res = solve_ivp(fun, (0.0, 1.2), y0, method="BDF", jac=jac, rtol=1e-6, atol=1e-8)
    ref = solve_ivp(fun, (0.0, 1.2), y0, method="BDF", jac_sparsity=brusselator_sparsity(N),
                    rtol=1e-6, atol=1e-8)
    assert res.success
    np.testing.assert_allclose(res.y[:, -1], ref.y[:, -1], rtol=1e-4, atol=1e-5)


def test_jax_functions_are_detected_or_use_the_twin():
    jax = pytest.importorskip("jax")
    from benchmarks.problems import make_brusselator_jax
    jax.config.update("jax_enable_x64", True)
    N = 5
    x = brusselator_initial(N)
    f = make_brusselator_jax(N)
    J = sparsead.prepare_jacobian(f, x, backend="jax",
                                  sparsity_from=make_brusselator_numpy(N))
    assert same_pattern(J.sparsity, brusselator_sparsity(N))
    ref = np.asarray(jax.jit(jax.jacfwd(f))(x))
    np.testing.assert_allclose(J(x).toarray(), ref, rtol=1e-13, atol=1e-10)
    try:
        J2 = sparsead.prepare_jacobian(f, x, backend="jax")
    except sparsead.SparsityDetectionError as exc:  # front-end not available: clear error
        assert "sparsity_from=" in str(exc) and "sparsity=" in str(exc)
    else:
        assert same_pattern(J2.sparsity, brusselator_sparsity(N))


def test_torch_functions_are_detected_or_take_a_twin():
    torch = pytest.importorskip("torch")

    def f(x):
        return torch.sin(x) * x.roll(1, 0)

    def f_np(x):
        return np.sin(x) * np.roll(x, 1, 0)
    x = np.linspace(0.1, 1.0, 6)
    J = sparsead.prepare_jacobian(f, x, backend="torch")   # the torch front-end reads f
    assert J.nnz == 12
    np.testing.assert_allclose(J(x).toarray(), dense_jacobian_cs(f_np, x), atol=1e-13)
    J = sparsead.prepare_jacobian(f, x, backend="torch", sparsity_from=f_np)
    assert J.nnz == 12
    np.testing.assert_allclose(J(x).toarray(), dense_jacobian_cs(f_np, x), atol=1e-13)

    def g(x):
        return torch.fft.rfft(x).abs()
    with pytest.raises(sparsead.SparsityDetectionError, match="sparsity_from="):
        sparsead.prepare_jacobian(g, x, backend="torch")
