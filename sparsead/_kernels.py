"""Numba kernels of the evaluation hot path (raw arrays in, raw arrays out)."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def gather_divide(src, flat_index, divisor, entry_input, out):
    """``out[e] = src[flat_index[e]] / divisor[entry_input[e]]`` (finite-difference unscaling)."""
    for e in range(flat_index.size):
        out[e] = src[flat_index[e]] / divisor[entry_input[e]]
    return out


@njit(cache=True, nogil=True)
def perturb(x, h, cols, sign, out):
    """``out[cols] = x[cols] + sign * h[cols]`` (one color's perturbed point; ``out``
    equals ``x`` elsewhere, see :func:`restore`): O(len(cols)), not O(n)."""
    for j in cols:
        out[j] = x[j] + sign * h[j]
    return out


@njit(cache=True, nogil=True)
def restore(x, cols, out):
    """``out[cols] = x[cols]``: undo :func:`perturb`."""
    for j in cols:
        out[j] = x[j]
    return out


def seed_columns(V: np.ndarray) -> list[np.ndarray]:
    """Nonzero columns of each seed row (the variables of each color)."""
    return [np.flatnonzero(V[c]).astype(np.int64) for c in range(V.shape[0])]


#: Codes of the finite-difference schemes in :func:`fd_steps`.
FORWARD, CENTRAL, COMPLEX = 0, 1, 2


@njit(cache=True, nogil=True)
def fd_steps(x, rstep, rel_step, method, h, dx):
    """scipy's per-variable step ``h`` and the divisor ``dx`` actually realized, in place.

    ``h_j = rstep * sign(x_j) * max(1, |x_j|)`` (``sign(0) = +1``); with a user
    ``rel_step`` (not NaN) ``h_j = rel_step * sign(x_j) * |x_j|``, falling back to the
    default where that step vanishes in ``x_j + h_j``. ``dx`` is ``(x+h) - x`` (forward),
    ``(x+h) - (x-h)`` (central) or ``h`` (complex), evaluated in x's precision.
    """
    for j in range(x.size):
        xj = x[j]
        s = 1.0 if xj >= 0 else -1.0
        h[j] = rstep * s * max(1.0, abs(xj))
        if rel_step == rel_step:  # not NaN: a user relative step
            h[j] = rel_step * s * abs(xj)
            if (xj + h[j]) - xj == 0:
                h[j] = rstep * s * max(1.0, abs(xj))
        hj = h[j]  # read back: rounded to x's dtype
        if method == 0:
            dx[j] = (xj + hj) - xj
        elif method == 1:
            dx[j] = (xj + hj) - (xj - hj)
        else:
            dx[j] = hj


@njit(cache=True, nogil=True)
def column_row_flat_index(indptr, indices, colors, column, m, n, flat):
    """Gather index of a column (``column``) or row coloring, in CSR order, in place.

    Entry ``(i, j)`` is read from the batch-first products at ``colors[j] * m + i``
    (column coloring, products ``(k, m)``) or ``colors[i] * n + j`` (row coloring,
    products ``(k, n)``). One pass, no coordinate arrays.
    """
    for i in range(indptr.size - 1):
        for a in range(indptr[i], indptr[i + 1]):
            j = indices[a]
            if column:
                flat[a] = colors[j] * m + i
            else:
                flat[a] = colors[i] * n + j
    return flat
