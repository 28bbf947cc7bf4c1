"""Test and benchmark problems shared by the tests and the benchmark scripts.

The 2D Brusselator follows the SciML benchmark (two species on an N x N periodic grid,
``alpha = 10 / dx**2``, ``A = 3.4``, ``B = 1``, forcing 5 inside a small disc for
``t >= 1.1``). The state vector has length ``2 * N * N`` and is laid out as
``y.reshape(2, N, N)``: species first, then grid row ``i`` (the x coordinate), then
column ``j`` (the y coordinate).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import scipy.sparse as sp

A_PARAM = 3.4
B_PARAM = 1.0
ALPHA_PARAM = 10.0


def brusselator_grid(N: int) -> tuple[np.ndarray, float]:
    """Grid points ``linspace(0, 1, N)`` and their spacing ``dx``."""
    xyd = np.linspace(0.0, 1.0, N)
    return xyd, float(xyd[1] - xyd[0])


def brusselator_forcing(N: int, t: float) -> np.ndarray:
    """Forcing term: 5 inside the disc ``(x-0.3)^2 + (y-0.6)^2 <= 0.1^2`` when ``t >= 1.1``."""
    xyd, _ = brusselator_grid(N)
    X, Y = np.meshgrid(xyd, xyd, indexing="ij")
    disc = (X - 0.3) ** 2 + (Y - 0.6) ** 2 <= 0.1**2
    return np.where(disc & (t >= 1.1), 5.0, 0.0)


def brusselator_initial(N: int) -> np.ndarray:
    """Standard initial condition ``u = 22 (y(1-y))^1.5``, ``v = 27 (x(1-x))^1.5``, flattened."""
    xyd, _ = brusselator_grid(N)
    X, Y = np.meshgrid(xyd, xyd, indexing="ij")
    u = 22.0 * (Y * (1.0 - Y)) ** 1.5
    v = 27.0 * (X * (1.0 - X)) ** 1.5
    return np.concatenate([u.ravel(), v.ravel()])


def make_brusselator_numpy(N: int, t: float = 0.0) -> Callable[[np.ndarray], np.ndarray]:
    """Vectorized numpy right-hand side ``f(y) -> dy`` at a fixed time ``t``."""
    _, dx = brusselator_grid(N)
    alpha = ALPHA_PARAM / dx**2
    forcing = brusselator_forcing(N, t)

    def f(y: np.ndarray) -> np.ndarray:
        y = y.reshape(2, N, N)
        u, v = y[0], y[1]

        def lap(w):
            return (np.roll(w, 1, axis=0) + np.roll(w, -1, axis=0)
                    + np.roll(w, 1, axis=1) + np.roll(w, -1, axis=1) - 4.0 * w)

        u2v = u * u * v
        du = alpha * lap(u) + B_PARAM + u2v - (A_PARAM + 1.0) * u + forcing
        dv = alpha * lap(v) + A_PARAM * u - u2v
        return np.concatenate([du.ravel(), dv.ravel()])

    return f


def brusselator_rhs_numpy(t: float, y: np.ndarray, N: int) -> np.ndarray:
    """``solve_ivp``-style right-hand side ``f(t, y)`` of the numpy Brusselator."""
    return make_brusselator_numpy(N, t)(y)


def make_brusselator_loop(N: int, t: float = 0.0) -> Callable[[np.ndarray], np.ndarray]:
    """Loop-style Brusselator that writes the output element by element (scalar code)."""
    _, dx = brusselator_grid(N)
    alpha = ALPHA_PARAM / dx**2
    forcing = brusselator_forcing(N, t)

    def f(y: np.ndarray) -> np.ndarray:
        out = np.zeros_like(y)
        NN = N * N
        for i in range(N):
            ip1, im1 = (i + 1) % N, (i - 1) % N
            for j in range(N):
                jp1, jm1 = (j + 1) % N, (j - 1) % N
                k = i * N + j
                u = y[k]
                v = y[NN + k]
                lap_u = (y[im1 * N + j] + y[ip1 * N + j] + y[i * N + jp1]
                         + y[i * N + jm1] - 4.0 * u)
                lap_v = (y[NN + im1 * N + j] + y[NN + ip1 * N + j] + y[NN + i * N + jp1]
                         + y[NN + i * N + jm1] - 4.0 * v)
                u2v = u * u * v
                out[k] = alpha * lap_u + B_PARAM + u2v - (A_PARAM + 1.0) * u + forcing[i, j]
                out[NN + k] = alpha * lap_v + A_PARAM * u - u2v
        return out

    return f


def make_brusselator_jax(N: int, t: float = 0.0) -> Callable[[Any], Any]:
    """The same right-hand side written with ``jax.numpy`` (requires JAX)."""
    import jax.numpy as jnp

    _, dx = brusselator_grid(N)
    alpha = ALPHA_PARAM / dx**2
    forcing = jnp.asarray(brusselator_forcing(N, t))

    def f(y):
        y = y.reshape(2, N, N)
        u, v = y[0], y[1]

        def lap(w):
            return (jnp.roll(w, 1, axis=0) + jnp.roll(w, -1, axis=0)
                    + jnp.roll(w, 1, axis=1) + jnp.roll(w, -1, axis=1) - 4.0 * w)

        u2v = u * u * v
        du = alpha * lap(u) + B_PARAM + u2v - (A_PARAM + 1.0) * u + forcing
        dv = alpha * lap(v) + A_PARAM * u - u2v
        return jnp.concatenate([du.ravel(), dv.ravel()])

    return f


def brusselator_sparsity(N: int) -> sp.csr_array:
    """Exact Jacobian pattern of the Brusselator: 5-point periodic stencil plus coupling."""
    NN = N * N
    idx = np.arange(NN).reshape(N, N)
    rows, cols = [], []
    for s in range(2):
        off = s * NN
        for shifted in (idx, np.roll(idx, 1, 0), np.roll(idx, -1, 0),
                        np.roll(idx, 1, 1), np.roll(idx, -1, 1)):
            rows.append(off + idx.ravel())
            cols.append(off + shifted.ravel())
        other = (1 - s) * NN
        rows.append(off + idx.ravel())
        cols.append(other + idx.ravel())
    r = np.concatenate(rows)
    c = np.concatenate(cols)
    A = sp.csr_array((np.ones(r.size, dtype=bool), (r, c)), shape=(2 * NN, 2 * NN))
    A.sum_duplicates()
    A.sort_indices()
    return A


def brusselator_objective_numpy(N: int, t: float = 0.0) -> Callable[[np.ndarray], Any]:
    """Scalar objective ``sum(f(u)**2)`` whose Hessian is a standard benchmark."""
    f = make_brusselator_numpy(N, t)

    def g(y: np.ndarray):
        r = f(y)
        return np.sum(r * r)

    return g


def chained_rosenbrock(x: np.ndarray):
    """Chained Rosenbrock ``sum(100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2)``; tridiagonal Hessian."""
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def arrowhead(x: np.ndarray):
    """Arrowhead objective ``sum((x[i]^2 + x[-1]^2)^2)`` over ``i < n-1``; arrowhead Hessian."""
    return np.sum((x[:-1] ** 2 + x[-1] ** 2) ** 2)


def arrowhead_hessian_sparsity(n: int) -> sp.csr_array:
    """Exact Hessian pattern of :func:`arrowhead`: diagonal plus last row and column."""
    i = np.arange(n)
    rows = np.concatenate([i, np.full(n, n - 1), i])
    cols = np.concatenate([i, i, np.full(n, n - 1)])
    A = sp.csr_array((np.ones(rows.size, dtype=bool), (rows, cols)), shape=(n, n))
    A.sum_duplicates()
    return A


def rosenbrock_hessian_sparsity(n: int) -> sp.csr_array:
    """Exact Hessian pattern of :func:`chained_rosenbrock`: tridiagonal."""
    return sp.csr_array(sp.diags_array([np.ones(n - 1), np.ones(n), np.ones(n - 1)],
                                       offsets=[-1, 0, 1], shape=(n, n), dtype=bool))
