"""Scenarios of the backend conformance suite: small specs with one factory per array library.

Each scenario's ``make(xp)`` returns ``f`` written with the array namespace ``xp``
(``numpy``, ``jax.numpy`` or ``torch``), using only operations all three spell alike
(``xp.sin``, ``xp.exp``, ``xp.sum``, ``xp.roll(a, shift, axis)``, ``xp.concatenate``,
``xp.stack``, slicing, ``reshape``). The numpy version is analytic, so the reference
Jacobian is a complex-step derivative of it; Hessian scenarios carry a numpy gradient
whose complex-step derivative is the reference Hessian (and which the ``"fd"`` backend
differentiates).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import scipy.sparse as sp


@dataclass(frozen=True)
class Scenario:
    """One conformance case.

    Attributes
    ----------
    name : str
    kind : {"jacobian", "hessian"}
    make : callable
        ``make(xp) -> f``; ``f(x, *args)`` (or ``f(out, x, *args)`` when ``inplace``).
    point : callable
        ``point(dtype) -> x`` (numpy array of the scenario's input shape).
    sparsity : callable
        ``sparsity() -> pattern`` (exact, ``(m, n)`` or ``(n, n)``).
    args : callable
        ``args(dtype) -> tuple`` of constant extra arguments (numpy arrays and scalars).
    out_shape : tuple
        Output shape of f (needed for in-place scenarios).
    inplace : bool
        f writes into its first argument (numpy backends only).
    grad : callable, optional
        Numpy gradient ``grad(x, *args)`` of a Hessian scenario.
    mode : str
        ``mode=`` of ``prepare_jacobian`` (``"bidirectional"`` scenarios need JVPs and
        VJPs; a backend with one kind only falls back to one side, with a warning).
    coloring : object, optional
        ``coloring=`` of ``prepare_jacobian`` / ``prepare_hessian``.
    tags : tuple of str
        What the scenario covers (input/output rank, structure, ...).
    """

    name: str
    kind: str
    make: Callable[[Any], Callable]
    point: Callable[[Any], np.ndarray]
    sparsity: Callable[[], Any]
    args: Callable[[Any], tuple] = lambda dtype: ()
    out_shape: tuple = ()
    inplace: bool = False
    grad: Callable | None = None
    mode: str = "auto"
    coloring: Any = None
    tags: tuple = field(default_factory=tuple)


def _pattern(rows, cols, shape) -> sp.csr_array:
    P = sp.csr_array((np.ones(len(rows), bool), (np.asarray(rows), np.asarray(cols))),
                     shape=shape)
    P.sum_duplicates()
    return P


def _dense(m, n) -> sp.csr_array:
    return sp.csr_array(np.ones((m, n), dtype=bool))


# -- Jacobian scenarios --------------------------------------------------------------

def _scalar_input(xp):
    return lambda x: xp.stack([xp.sin(x), x ** 2, 3.0 * x])


def _scalar_output(xp):
    return lambda x: xp.sum(x ** 2 * xp.sin(x))


def _matrix_to_matrix(xp):
    return lambda x: x ** 2 + 2.0 * xp.roll(x, 1, 1)


def _matrix_pattern():
    idx = np.arange(12).reshape(3, 4)
    rows = np.concatenate([idx.ravel(), idx.ravel()])
    cols = np.concatenate([idx.ravel(), np.roll(idx, 1, 1).ravel()])
    return _pattern(rows, cols, (12, 12))


def _vector_to_matrix(xp):
    return lambda x: xp.stack([x[:-1] * x[1:], x[1:] - xp.exp(x[:-1])])


def _vector_to_matrix_pattern():
    i = np.arange(5)
    rows = np.concatenate([i, i, 5 + i, 5 + i])
    cols = np.concatenate([i, i + 1, i + 1, i])
    return _pattern(rows, cols, (10, 6))


def _banded(xp):
    def f(x):
        left = xp.concatenate([x[:1] * 0.0, x[:-1]])
        right = xp.concatenate([x[1:], x[:1] * 0.0])
        return left - 2.0 * x + right + x ** 3
    return f


def _banded_pattern(n=12):
    i = np.arange(n)
    rows = np.concatenate([i, i[1:], i[:-1], [0, n - 1]])
    cols = np.concatenate([i, i[:-1], i[1:], [0, 0]])  # x[:1]*0 keeps a formal x0 edge
    return _pattern(rows, cols, (n, n))


def _arrowhead(xp):
    return lambda x: xp.concatenate([x[:-1] * x[-1], xp.sum(x ** 2).reshape(1)])


def _arrowhead_pattern(n=9):
    i = np.arange(n - 1)
    rows = np.concatenate([i, i, np.full(n, n - 1)])
    cols = np.concatenate([i, np.full(n - 1, n - 1), np.arange(n)])
    return _pattern(rows, cols, (n, n))


def _dense_rows_and_columns(xp):
    # x[0] and x[-1] enter every residual; the last two residuals sum over all of x
    return lambda x: xp.concatenate([x ** 2 + x[0] * x[-1], xp.sum(xp.sin(x)).reshape(1),
                                     xp.sum(x ** 3).reshape(1)])


def _dense_rows_and_columns_pattern(n=10):
    i = np.arange(n)
    rows = np.concatenate([i, i, i, np.full(n, n), np.full(n, n + 1)])
    cols = np.concatenate([i, np.zeros(n, int), np.full(n, n - 1), i, i])
    return _pattern(rows, cols, (n + 2, n))


def _dense_row(xp):
    return lambda x: xp.concatenate([x ** 2, xp.sum(xp.sin(x)).reshape(1)])


def _dense_row_pattern(n=10):
    i = np.arange(n)
    return _pattern(np.concatenate([i, np.full(n, n)]), np.concatenate([i, i]), (n + 1, n))


BRUSSELATOR_N = 4


def _brusselator(xp, N=BRUSSELATOR_N):
    dx = 1.0 / (N - 1)
    alpha, A, B = 10.0 / dx ** 2, 3.4, 1.0

    def lap(w):
        return (xp.roll(w, 1, 0) + xp.roll(w, -1, 0) + xp.roll(w, 1, 1) + xp.roll(w, -1, 1)
                - 4.0 * w)

    def f(y):
        y = y.reshape(2, N, N)
        u, v = y[0], y[1]
        u2v = u * u * v
        du = alpha * lap(u) + B + u2v - (A + 1.0) * u
        dv = alpha * lap(v) + A * u - u2v
        return xp.concatenate([du.reshape(-1), dv.reshape(-1)])

    return f


def brusselator_pattern(N: int) -> sp.csr_array:
    """Exact Jacobian pattern of the 2D Brusselator (5-point periodic stencil + coupling)."""
    NN = N * N
    idx = np.arange(NN).reshape(N, N)
    rows, cols = [], []
    for s in range(2):
        off, other = s * NN, (1 - s) * NN
        for shifted in (idx, np.roll(idx, 1, 0), np.roll(idx, -1, 0), np.roll(idx, 1, 1),
                        np.roll(idx, -1, 1)):
            rows.append(off + idx.ravel())
            cols.append(off + shifted.ravel())
        rows.append(off + idx.ravel())
        cols.append(other + idx.ravel())
    return _pattern(np.concatenate(rows), np.concatenate(cols), (2 * NN, 2 * NN))


def _brusselator_point(dtype, N=BRUSSELATOR_N):
    g = np.linspace(0.0, 1.0, N)
    X, Y = np.meshgrid(g, g, indexing="ij")
    u = 22.0 * (Y * (1.0 - Y)) ** 1.5 + 0.3
    v = 27.0 * (X * (1.0 - X)) ** 1.5 + 0.2
    return np.concatenate([u.ravel(), v.ravel()]).astype(dtype)


def _extra_args(xp):
    return lambda x, a, b, c: a * x ** 2 + b * xp.sin(x) * c


def _inplace(xp):
    def f(out, x, a):
        out[0] = x[0] * x[1]
        out[1:] = a * xp.exp(x[1:]) - x[:-1]
    return f


def _inplace_pattern(n=6):
    i = np.arange(1, n)
    return _pattern(np.concatenate([[0, 0], i, i]), np.concatenate([[0, 1], i, i - 1]),
                    (n, n))


def _linspace_point(shape, lo=-0.9, hi=1.3):
    size = int(np.prod(shape))

    def point(dtype):
        return np.linspace(lo, hi, size).reshape(shape).astype(dtype)
    return point


# -- Hessian scenarios ---------------------------------------------------------------

def _rosenbrock(xp):
    return lambda x: xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def _rosenbrock_grad(x):
    g = np.zeros_like(x)
    t = x[1:] - x[:-1] ** 2
    g[:-1] += -400.0 * x[:-1] * t - 2.0 * (1.0 - x[:-1])
    g[1:] += 200.0 * t
    return g


def _tridiagonal(n):
    i = np.arange(n)
    return _pattern(np.concatenate([i, i[1:], i[:-1]]), np.concatenate([i, i[:-1], i[1:]]),
                    (n, n))


def _arrow_objective(xp):
    return lambda x: xp.sum((x[:-1] ** 2 + x[-1] ** 2) ** 2)


def _arrow_objective_grad(x):
    s = x[:-1] ** 2 + x[-1] ** 2
    g = np.empty_like(x)
    g[:-1] = 4.0 * s * x[:-1]
    g[-1] = np.sum(4.0 * s * x[-1])
    return g


def _arrow_hessian_pattern(n=8):
    i = np.arange(n)
    return _pattern(np.concatenate([i, np.full(n, n - 1), i]),
                    np.concatenate([i, i, np.full(n, n - 1)]), (n, n))


def _matrix_objective(xp):
    return lambda x: xp.sum(x ** 3) + xp.sum(x[:, :-1] * x[:, 1:])


def _matrix_objective_grad(x):
    g = 3.0 * x ** 2
    g[:, :-1] += x[:, 1:]
    g[:, 1:] += x[:, :-1]
    return g


def _matrix_objective_pattern():
    idx = np.arange(12).reshape(3, 4)
    a, b = idx[:, :-1].ravel(), idx[:, 1:].ravel()
    return _pattern(np.concatenate([idx.ravel(), a, b]), np.concatenate([idx.ravel(), b, a]),
                    (12, 12))


def _args_objective(xp):
    return lambda x, w: xp.sum(w * xp.exp(x[1:] * x[:-1]))


def _args_objective_grad(x, w):
    e = w * np.exp(x[1:] * x[:-1])
    g = np.zeros_like(x)
    g[1:] += e * x[:-1]
    g[:-1] += e * x[1:]
    return g


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("scalar_input", "jacobian", _scalar_input, lambda d: np.asarray(0.7, dtype=d),
             lambda: _dense(3, 1), tags=("input:scalar", "output:vector")),
    Scenario("scalar_output", "jacobian", _scalar_output, _linspace_point((5,)),
             lambda: _dense(1, 5), tags=("input:vector", "output:scalar")),
    Scenario("matrix_to_matrix", "jacobian", _matrix_to_matrix, _linspace_point((3, 4)),
             _matrix_pattern, tags=("input:matrix", "output:matrix")),
    Scenario("vector_to_matrix", "jacobian", _vector_to_matrix, _linspace_point((6,)),
             _vector_to_matrix_pattern, tags=("input:vector", "output:matrix")),
    Scenario("banded", "jacobian", _banded, _linspace_point((12,)), _banded_pattern,
             tags=("structure:banded",)),
    Scenario("arrowhead", "jacobian", _arrowhead, _linspace_point((9,)), _arrowhead_pattern,
             tags=("structure:arrowhead",)),
    Scenario("arrowhead_bidirectional", "jacobian", _arrowhead, _linspace_point((9,)),
             _arrowhead_pattern, mode="bidirectional",
             tags=("structure:arrowhead", "mode:bidirectional")),
    Scenario("dense_rows_and_columns", "jacobian", _dense_rows_and_columns,
             _linspace_point((10,)), _dense_rows_and_columns_pattern,
             tags=("structure:dense-rows-and-columns", "favours:bidirectional")),
    Scenario("bidirectional_substitution", "jacobian", _dense_rows_and_columns,
             _linspace_point((10,)), _dense_rows_and_columns_pattern,
             mode="bidirectional", coloring={"problem": "bicolor_substitution"},
             tags=("structure:dense-rows-and-columns", "mode:bidirectional",
                   "decompression:substitution")),
    Scenario("dense_row", "jacobian", _dense_row, _linspace_point((10,)), _dense_row_pattern,
             tags=("structure:dense-row", "favours:row")),
    Scenario("brusselator", "jacobian", _brusselator, _brusselator_point,
             lambda: brusselator_pattern(BRUSSELATOR_N), tags=("structure:brusselator",)),
    Scenario("extra_args", "jacobian", _extra_args, _linspace_point((7,)),
             lambda: sp.csr_array(sp.eye_array(7, dtype=bool)),
             args=lambda d: (np.linspace(1.0, 2.0, 7).astype(d),
                             np.linspace(-1.0, 0.5, 7).astype(d), 1.5),
             tags=("args",)),
    Scenario("inplace", "jacobian", _inplace, _linspace_point((6,)), _inplace_pattern,
             args=lambda d: (np.asarray(2.0, dtype=d),), out_shape=(6,), inplace=True,
             tags=("inplace",)),
    Scenario("rosenbrock_hessian", "hessian", _rosenbrock, _linspace_point((8,)),
             lambda: _tridiagonal(8), grad=_rosenbrock_grad, tags=("structure:banded",)),
    Scenario("arrowhead_hessian", "hessian", _arrow_objective, _linspace_point((8,)),
             _arrow_hessian_pattern, grad=_arrow_objective_grad,
             tags=("structure:arrowhead",)),
    Scenario("matrix_hessian", "hessian", _matrix_objective, _linspace_point((3, 4)),
             _matrix_objective_pattern, grad=_matrix_objective_grad,
             tags=("input:matrix",)),
    Scenario("args_hessian", "hessian", _args_objective, _linspace_point((6,)),
             lambda: _tridiagonal(6), args=lambda d: (np.linspace(0.5, 1.5, 5).astype(d),),
             grad=_args_objective_grad, tags=("args",)),
)


def complex_step_jacobian(f: Callable, x: np.ndarray, args: tuple = (),
                          inplace_shape: tuple | None = None) -> np.ndarray:
    """Dense reference Jacobian ``(m, n)`` of an analytic numpy f by the complex step."""
    x = np.asarray(x, dtype=np.float64)
    h = 1e-30
    cols = []
    for j in range(x.size):
        xc = x.astype(complex).reshape(-1)
        xc[j] += 1j * h
        xc = xc.reshape(x.shape)
        if inplace_shape is not None:
            out = np.zeros(inplace_shape, dtype=complex)
            f(out, xc, *args)
            y = out
        else:
            y = np.asarray(f(xc, *args))
        cols.append(np.imag(y).reshape(-1) / h)
    return np.stack(cols, axis=1) if cols else np.zeros((0, 0))
