"""Kernels of the evaluation hot path (raw arrays in, raw arrays out).

Each Numba kernel has a plain numpy twin with the same result. Below
:data:`COMPILE_MIN_SIZE` values the twins run: there compiling the kernels would cost a
first-time user far more than it saves (:func:`fd_kernels` picks).
The kernels are lazy (:mod:`coloring._jit`): Numba is imported when one first runs.
"""

from __future__ import annotations

import numpy as np

from coloring._jit import is_compiled, njit


@njit(cache=True, nogil=True)
def gather_divide(src, flat_index, divisor, entry_input, out):
    """``out[e] = src[flat_index[e]] / divisor[entry_input[e]]`` (finite-difference unscaling)."""
    for e in range(flat_index.size):
        out[e] = src[flat_index[e]] / divisor[entry_input[e]]
    return out


@njit(cache=True, nogil=True)
def perturb(x, h, cols, sign, out):
    """``out = x``, then ``out[cols] += sign * h[cols]`` (one color's perturbed point)."""
    # An element loop, not ``out[:] = x``: Numba compiles a slice assignment's shape-error
    # message formatting, which would lengthen every cold start.
    for j in range(x.size):
        out[j] = x[j]
    for j in cols:
        out[j] = x[j] + sign * h[j]
    return out


def gather_divide_numpy(src, flat_index, divisor, entry_input, out):
    """numpy twin of :func:`gather_divide`."""
    np.take(src, flat_index, out=out)
    out /= divisor[entry_input]
    return out


def perturb_numpy(x, h, cols, sign, out):
    """numpy twin of :func:`perturb`."""
    np.copyto(out, x)
    out[cols] = x[cols] + sign * h[cols]
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


def fd_steps_numpy(x, rstep, rel_step, method, h, dx):
    """numpy twin of :func:`fd_steps` (same rounding: every step is taken in x's dtype)."""
    s = np.where(x >= 0, 1.0, -1.0)
    h[:] = rstep * s * np.maximum(1.0, np.abs(x))
    if rel_step == rel_step:
        user = (rel_step * s * np.abs(x)).astype(x.dtype)
        np.copyto(h, user, where=(x + user) - x != 0)
    if method == 0:
        dx[:] = (x + h) - x
    elif method == 1:
        dx[:] = (x + h) - (x - h)
    else:
        dx[:] = h


#: Problems with fewer values (stored entries plus variables) than this use the numpy
#: twins, so that a small problem compiles nothing. Lower than the tracer's and the
#: coloring's: these run on every evaluation, where the twins' temporaries start to
#: cost; at this size the twins and the kernels evaluate about equally fast.
COMPILE_MIN_SIZE = 1 << 14


def fd_kernels(size: int):
    """``(fd_steps, perturb, gather_divide)``: the numpy twins for a problem of fewer than
    :data:`COMPILE_MIN_SIZE` values (unless the kernels already run compiled in this
    process), else the Numba kernels (compiled on first use)."""
    if size < COMPILE_MIN_SIZE and not is_compiled(gather_divide):
        return fd_steps_numpy, perturb_numpy, gather_divide_numpy
    return fd_steps, perturb, gather_divide


@njit(cache=True, nogil=True)
def group_by_color(colors, start, stop, order, bounds):
    """Counting sort: ``order`` lists the inputs of colors ``start..stop-1``, color by
    color and increasing within a color, ``bounds[c]:bounds[c+1]`` those of color
    ``start + c``; inputs of other colors are left out. O(n + colors), in place."""
    bounds[:] = 0
    for j in range(colors.size):
        c = colors[j]
        if start <= c < stop:
            bounds[c - start + 1] += 1
    for c in range(stop - start):
        bounds[c + 1] += bounds[c]
    fill = bounds[:-1].copy()
    for j in range(colors.size):
        c = colors[j]
        if start <= c < stop:
            order[fill[c - start]] = j
            fill[c - start] += 1
    return order, bounds


def group_by_color_numpy(colors, start, stop, order, bounds):
    """numpy twin of :func:`group_by_color` (a stable sort; numpy's radix sort for
    up to 2^15 colors)."""
    small = colors.size and -2**15 <= colors.min() and colors.max() < 2**15
    keys = colors.astype(np.int16) if small else colors
    sorted_idx = np.argsort(keys, kind="stable")
    counts = np.searchsorted(colors[sorted_idx], np.arange(start, stop + 1))
    order[:] = sorted_idx[counts[0]:counts[-1]]
    bounds[:] = counts - counts[0]
    return order, bounds


def group_by_color_kernel(size: int):
    """:func:`group_by_color` or its numpy twin, chosen as :func:`fd_kernels` chooses."""
    if size < COMPILE_MIN_SIZE and not is_compiled(group_by_color):
        return group_by_color_numpy
    return group_by_color

