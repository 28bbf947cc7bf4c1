"""Rules of the JAX front-end for linear algebra, FFT and ``top_k``.

With constant inputs JAX evaluates these primitives itself (exact). With traced inputs:

* ``custom_linear_solve`` (``jnp.linalg.solve``) runs its ``solve`` jaxpr;
* ``triangular_solve`` with a triangular matrix ``A``: row ``i`` of ``A^{-1} b`` depends on
  rows ``0..i`` of ``b`` (lower) or ``i..m-1`` (upper), a cumulative union, and linearly;
* factorizations (``lu``, ``cholesky``, ``qr``, ``eigh``, ``svd``, ...) of traced matrices:
  every float output depends nonlinearly on every input entry (conservative), integer
  outputs (pivots, permutations) are dependence-free with unknown values;
* ``fft``: every output depends linearly on every input along the transformed axes;
* ``top_k``: values like a sort along the last axis, indices unknown.
"""

from __future__ import annotations

import numpy as np

from ._interpreter import eval_closed_jaxpr
from ._registry import register
from ._values import OPAQUE_RESULT, is_traced, shape_of, total_union


def _nonlinear_total(*values):
    """A 0-d traced value depending on everything in ``values``, with all pairs."""
    parts = [total_union(v) for v in values if is_traced(v)]
    s = parts[0]
    for p in parts[1:]:
        s = s + p
    return s * s


def _custom_linear_solve(invals, const_lengths, jaxprs, **_):
    lengths = list(const_lengths)  # fields: matvec, vecmat, solve, transpose_solve
    fields = list(getattr(const_lengths, "_fields", ("matvec", "vecmat", "solve",
                                                      "transpose_solve")))
    offset = sum(lengths[:fields.index("solve")])
    n_solve = lengths[fields.index("solve")]
    solve_consts = list(invals[offset:offset + n_solve])
    b = list(invals[sum(lengths):])
    return eval_closed_jaxpr(jaxprs.solve, solve_consts + b)


register("custom_linear_solve", _custom_linear_solve, passthrough=True)


def _cumulative_union(b, axis: int, reverse: bool):
    if reverse:
        return np.flip(np.cumsum(np.flip(b, axis), axis=axis), axis)
    return np.cumsum(b, axis=axis)


def _triangular_solve(invals, left_side=False, lower=False, transpose_a=False, **_):
    a, b = invals
    effective_lower = bool(lower) != bool(transpose_a)
    if left_side:  # A x = b: x[i] uses b[0..i] (lower) or b[i..] (upper)
        axis, reverse = -2, not effective_lower
    else:  # x A = b: x[:, j] uses b[:, j..] (lower) or b[:, ..j] (upper)
        axis, reverse = -1, effective_lower
    out = _cumulative_union(b, axis, reverse) if is_traced(b) else None
    if is_traced(a):
        dense = np.broadcast_to(_nonlinear_total(a, b), shape_of(b))
        out = dense if out is None else out + dense
    return out


register("triangular_solve", _triangular_solve, constants_by_jax=True)


def _dense_outputs(invals, _out_avals, **_):
    """Every float output depends (nonlinearly) on every input entry."""
    s = _nonlinear_total(*invals)
    outs = []
    for aval in _out_avals:
        if np.issubdtype(np.dtype(aval.dtype), np.inexact):
            outs.append(np.broadcast_to(s, tuple(aval.shape)))
        else:
            outs.append(OPAQUE_RESULT)
    return outs


def _single_dense(invals, _out_avals, **params):
    return _dense_outputs(invals, _out_avals, **params)[0]


for _name in ("lu", "qr", "eigh", "eig", "svd", "schur", "hessenberg", "tridiagonal",
              "lu_pivots_to_permutation"):
    register(_name, _dense_outputs, needs_avals=True, constants_by_jax=True)
# single-output primitives must not return lists
for _name in ("cholesky", "householder_product", "tridiagonal_solve"):
    register(_name, _single_dense, needs_avals=True, constants_by_jax=True)


def _fft(invals, fft_lengths, _out_avals, **_):
    x = invals[0]
    axes = tuple(range(len(shape_of(x)) - len(fft_lengths), len(shape_of(x))))
    return np.broadcast_to(np.sum(x, axis=axes, keepdims=True), tuple(_out_avals[0].shape))


register("fft", _fft, needs_avals=True, constants_by_jax=True)


def _top_k(invals, _out_avals, axis=-1, **_):
    x = invals[0]
    values = np.broadcast_to(np.sum(x, axis=axis, keepdims=True), tuple(_out_avals[0].shape))
    return [values, OPAQUE_RESULT]


register("top_k", _top_k, needs_avals=True, constants_by_jax=True)
