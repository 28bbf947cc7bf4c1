"""The shared benchmark problems agree with each other and with dense Jacobians."""
import numpy as np
import pytest

from benchmarks import problems


def dense_jacobian_complex_step(f, x):
    """Reference Jacobian by complex step, one column at a time."""
    n = x.size
    cols = []
    for j in range(n):
        xc = x.astype(complex)
        xc[j] += 1e-30j
        cols.append(np.imag(f(xc)) / 1e-30)
    return np.stack(cols, axis=1)


@pytest.mark.parametrize("N", [4, 7])
def test_loop_and_vectorized_brusselator_agree(N):
    rng = np.random.default_rng(N)
    y = problems.brusselator_initial(N) + rng.random(2 * N * N)
    for t in (0.0, 1.5):
        f = problems.make_brusselator_numpy(N, t)
        g = problems.make_brusselator_loop(N, t)
        np.testing.assert_allclose(f(y), g(y), rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("N", [4, 6])
def test_brusselator_pattern_matches_dense(N):
    rng = np.random.default_rng(0)
    y = problems.brusselator_initial(N) + rng.random(2 * N * N)
    J = dense_jacobian_complex_step(problems.make_brusselator_numpy(N), y)
    P = problems.brusselator_sparsity(N).toarray()
    assert np.array_equal(J != 0, P)


def test_jax_brusselator_matches_numpy():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    N = 6
    y = problems.brusselator_initial(N) + 0.1
    f = problems.make_brusselator_numpy(N, 2.0)
    g = problems.make_brusselator_jax(N, 2.0)
    np.testing.assert_allclose(f(y), np.asarray(g(y)), rtol=1e-12, atol=1e-9)
