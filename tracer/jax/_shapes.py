"""Rules of the JAX front-end for shape primitives and ``dot_general``."""

from __future__ import annotations

import numpy as np

from ._registry import register
from ._values import shape_of


def _reshape(invals, new_sizes, dimensions=None, **_):
    x = invals[0]
    if dimensions is not None:
        x = np.transpose(x, dimensions)
    return np.reshape(x, tuple(new_sizes))


register("reshape", _reshape)


def _broadcast_in_dim(invals, shape, broadcast_dimensions, **_):
    x = invals[0]
    expanded = [1] * len(shape)
    for src, dst in enumerate(broadcast_dimensions):
        expanded[dst] = shape_of(x)[src]
    if tuple(expanded) != shape_of(x):
        x = np.reshape(x, tuple(expanded))
    return np.broadcast_to(x, tuple(shape))


register("broadcast_in_dim", _broadcast_in_dim)
register("squeeze",
         lambda invals, dimensions, **_: np.squeeze(invals[0], axis=tuple(dimensions)))
register("expand_dims",
         lambda invals, dimensions, **_: np.expand_dims(invals[0], tuple(dimensions)))
register("stack", lambda invals, axis, **_: np.stack(invals, axis=axis))
register("tile", lambda invals, reps, **_: np.tile(invals[0], tuple(reps)))
register("transpose", lambda invals, permutation, **_: np.transpose(invals[0], permutation))
register("rev", lambda invals, dimensions, **_: np.flip(invals[0], axis=tuple(dimensions)))
register("concatenate",
         lambda invals, dimension, **_: np.concatenate(invals, axis=dimension))


def _slice(invals, start_indices, limit_indices, strides=None, **_):
    strides = strides or (1,) * len(start_indices)
    return invals[0][tuple(slice(a, b, s) for a, b, s in
                           zip(start_indices, limit_indices, strides))]


register("slice", _slice)


def _split(invals, sizes, axis, **_):
    cuts = np.cumsum([int(s) for s in sizes])[:-1]
    return list(np.split(invals[0], cuts, axis=axis))


register("split", _split)


def _iota(invals, dtype, shape, dimension, **_):
    ramp = np.arange(shape[dimension], dtype=dtype)
    view = [1] * len(shape)
    view[dimension] = shape[dimension]
    return np.broadcast_to(ramp.reshape(view), tuple(shape)).copy()


register("iota", _iota)


def _dot_general(invals, dimension_numbers, **_):
    lhs, rhs = invals
    (lc, rc), (lb, rb) = dimension_numbers
    letters = iter("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    lsub = [""] * len(shape_of(lhs))
    rsub = [""] * len(shape_of(rhs))
    batch = []
    for i, j in zip(lb, rb):
        lsub[i] = rsub[j] = c = next(letters)
        batch.append(c)
    for i, j in zip(lc, rc):
        lsub[i] = rsub[j] = next(letters)
    lfree = []
    for i, s in enumerate(lsub):
        if not s:
            lsub[i] = c = next(letters)
            lfree.append(c)
    rfree = []
    for i, s in enumerate(rsub):
        if not s:
            rsub[i] = c = next(letters)
            rfree.append(c)
    spec = f"{''.join(lsub)},{''.join(rsub)}->{''.join(batch + lfree + rfree)}"
    return np.einsum(spec, lhs, rhs)


register("dot_general", _dot_general)
