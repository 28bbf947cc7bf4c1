"""Exact patterns of known problems: Brusselator (vectorized and loop-style), 1-D/2-D
stencils, banded and arrowhead structures, chained Rosenbrock, scipy ODE examples.

Each exact pattern also gets checked against a dense complex-step (or finite-difference)
reference at a random point: the pattern is written independently of the tracer, and the
reference confirms that the expected pattern is the numerical one.
"""
from __future__ import annotations

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
from tests.tracer._oracle import (
    assert_contains,
    assert_pattern_equal,
    assert_symmetric,
    hessian_complex_step,
    jacobian_complex_step,
    jacobian_fd,
    nonzero_mask,
)

MODES = ["global", "local"]
rng = np.random.default_rng(5)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("N", [3, 4, 6, 8])
def test_brusselator_numpy_exact(N, mode):
    f = make_brusselator_numpy(N, t=2.0)   # t >= 1.1: forcing active
    y = brusselator_initial(N) + rng.uniform(0.1, 0.5, 2 * N * N)
    P = tracer.jacobian_sparsity(f, y, mode=mode)
    E = brusselator_sparsity(N)
    assert_pattern_equal(P, E, f"Brusselator N={N} ({mode})")
    assert P.nnz == 12 * N * N or N < 3
    if N <= 4:
        assert_contains(P, nonzero_mask(jacobian_complex_step(f, y)))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("N", [3, 5])
def test_brusselator_loop_exact(N, mode):
    f = make_brusselator_loop(N, t=2.0)
    y = brusselator_initial(N) + rng.uniform(0.1, 0.5, 2 * N * N)
    P = tracer.jacobian_sparsity(f, y, mode=mode)
    assert_pattern_equal(P, brusselator_sparsity(N), f"loop Brusselator N={N} ({mode})")
    assert_contains(P, nonzero_mask(jacobian_fd(f, y), 1e-6))


def test_brusselator_numpy_n32_exact():
    N = 32
    P = tracer.jacobian_sparsity(make_brusselator_numpy(N), brusselator_initial(N))
    assert_pattern_equal(P, brusselator_sparsity(N), "Brusselator N=32")


def _brusselator_hessian_reference(N):
    """Hessian pattern of sum(f(u)**2): union over outputs k of S_k x S_k."""
    J = brusselator_sparsity(N).astype(np.int64)
    return (J.T @ J) != 0


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("N", [3, 4])
def test_brusselator_objective_hessian(N, mode):
    g = brusselator_objective_numpy(N)
    y = brusselator_initial(N) + rng.uniform(0.1, 0.5, 2 * N * N)
    H = tracer.hessian_sparsity(g, y, mode=mode)
    assert_symmetric(H)
    assert_pattern_equal(H, _brusselator_hessian_reference(N), f"Brusselator Hessian N={N}")
    assert_contains(H, nonzero_mask(hessian_complex_step(g, y), 1e-5))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("n", [2, 5, 40])
def test_chained_rosenbrock_hessian(n, mode):
    x = rng.uniform(-1, 1, n)
    H = tracer.hessian_sparsity(chained_rosenbrock, x, mode=mode)
    assert_pattern_equal(H, rosenbrock_hessian_sparsity(n), f"Rosenbrock n={n}")
    if n <= 5:
        assert_contains(H, nonzero_mask(hessian_complex_step(chained_rosenbrock, x), 1e-5))
    J = tracer.jacobian_sparsity(chained_rosenbrock, x, mode=mode)
    assert J.shape == (1, n) and J.nnz == n


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("n", [2, 5, 40])
def test_arrowhead_hessian(n, mode):
    x = rng.uniform(0.2, 1, n)
    H = tracer.hessian_sparsity(arrowhead, x, mode=mode)
    assert_pattern_equal(H, arrowhead_hessian_sparsity(n), f"arrowhead n={n}")
    if n <= 5:
        assert_contains(H, nonzero_mask(hessian_complex_step(arrowhead, x), 1e-5))


def test_rosenbrock_large():
    n = 2000
    H = tracer.hessian_sparsity(chained_rosenbrock, np.zeros(n))
    assert_pattern_equal(H, rosenbrock_hessian_sparsity(n), "Rosenbrock n=2000")


# ------------------------------------------------------------------ stencils and bands
def laplacian_1d(u):
    """Dirichlet 1-D Laplacian written with slices into a zeros_like buffer."""
    du = np.zeros_like(u)
    du[1:-1] = u[:-2] - 2 * u[1:-1] + u[2:]
    du[0] = -2 * u[0] + u[1]
    du[-1] = u[-2] - 2 * u[-1]
    return du


def burgers(u):
    """Upwind-ish Burgers residual with periodic neighbours via roll."""
    return u * (u - np.roll(u, 1)) + 0.1 * (np.roll(u, -1) - 2 * u + np.roll(u, 1))


def laplacian_2d(u, n=6):
    """5-point stencil on an n x n grid with zero boundary, via pad."""
    U = np.pad(u.reshape(n, n), 1)
    out = U[:-2, 1:-1] + U[2:, 1:-1] + U[1:-1, :-2] + U[1:-1, 2:] - 4 * U[1:-1, 1:-1]
    return out.ravel() + u ** 3


def banded_k(u, k=3):
    """Banded with half-bandwidth k through a sum of shifted slices."""
    out = u * 1.0
    for s in range(1, k + 1):
        out[s:] = out[s:] + np.sin(u[:-s])
        out[:-s] = out[:-s] + u[s:] ** 2
    return out


def _periodic_tridiagonal(n):
    E = np.eye(n, dtype=bool) | np.eye(n, k=1, dtype=bool) | np.eye(n, k=-1, dtype=bool)
    E[0, -1] = E[-1, 0] = True
    return E


def _laplacian_2d_pattern(n):
    E = np.eye(n * n, dtype=bool)
    for i in range(n):
        for j in range(n):
            for di, dj in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                if 0 <= i + di < n and 0 <= j + dj < n:
                    E[i * n + j, (i + di) * n + j + dj] = True
    return E


def _banded_pattern(n, k):
    d = np.subtract.outer(np.arange(n), np.arange(n))
    return np.abs(d) <= k


STENCILS = {
    "laplacian_1d": (laplacian_1d, 10, lambda n: _banded_pattern(n, 1)),
    "burgers": (burgers, 9, _periodic_tridiagonal),
    "laplacian_2d": (laplacian_2d, 36, lambda n: _laplacian_2d_pattern(6)),
    "banded_k3": (banded_k, 12, lambda n: _banded_pattern(n, 3)),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(STENCILS))
def test_stencil_exact(name, mode):
    f, n, pattern = STENCILS[name]
    u = rng.uniform(0.2, 1.0, n)
    P = tracer.jacobian_sparsity(f, u, mode=mode)
    assert_pattern_equal(P, pattern(n), f"{name} ({mode})")
    assert_contains(P, nonzero_mask(jacobian_complex_step(f, u)))


@pytest.mark.parametrize("mode", MODES)
def test_sparse_laplacian_ode(mode):
    """ODE right-hand side with a scipy.sparse Laplacian: pattern of L plus diagonal."""
    n = 30
    L = sp.diags_array([1.0, -2.0, 1.0], offsets=[-1, 0, 1], shape=(n, n), format="csr")

    def rhs(u):
        return L @ u - u ** 3

    P = tracer.jacobian_sparsity(rhs, rng.uniform(size=n), mode=mode)
    assert_pattern_equal(P, _banded_pattern(n, 1), "sparse Laplacian ODE")
    H = tracer.hessian_sparsity(lambda u: np.sum(rhs(u)), rng.uniform(size=n), mode=mode)
    assert_pattern_equal(H, np.eye(n, dtype=bool), "sum(L u - u^3) Hessian")


@pytest.mark.parametrize("mode", MODES)
def test_solve_ivp_style_signature(mode):
    """Brusselator as an f(t, y, N) rhs with args, as scipy.integrate.solve_ivp calls it."""
    from benchmarks.problems import brusselator_rhs_numpy

    N = 4
    y = brusselator_initial(N)
    P = tracer.jacobian_sparsity(lambda y, t, N: brusselator_rhs_numpy(t, y, N), y,
                                 args=(0.0, N), mode=mode)
    assert_pattern_equal(P, brusselator_sparsity(N), "solve_ivp-style Brusselator")
