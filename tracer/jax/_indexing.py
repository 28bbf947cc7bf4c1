"""Rules of the JAX front-end for indexing and data-movement primitives.

``gather``, ``scatter*`` and ``conv_general_dilated`` have intricate index semantics.
Instead of re-implementing them, the rules let JAX compute an *index map* on an integer
ramp (``iota``) with the constant indices, then move the traced data with numpy: fancy
indexing for gathers, a constant 0/1 ``scipy.sparse`` matrix product for scatters, and
``einsum`` on gathered patches for convolutions. The index map is exact by construction,
and the data movement is plain numpy that the engine already knows.

When indices are not known (traced or :class:`Opaque`), the rules fall back to the
conservative union over the positions that could be read or written.
"""

from __future__ import annotations

import functools
from typing import Any, Sequence

import numpy as np
import scipy.sparse as sp

from .._errors import TracingError
from ._registry import register
from ._values import (
    OPAQUE_RESULT,
    data,
    dtype_of,
    is_concrete,
    is_traced,
    shape_of,
    total_union,
    union_of_traced,
)


def _constant_block(value: Any, shape: Sequence[int], dtype: Any) -> Any:
    """A block filled with ``value`` (broadcast when ``value`` is traced)."""
    if is_traced(value):
        return np.broadcast_to(value, tuple(shape))
    return np.full(tuple(shape), np.asarray(value), dtype=dtype)


# ---------------------------------------------------------------- pad
def pad_general(x: Any, value: Any, config: Sequence[tuple[int, int, int]]) -> Any:
    """``lax.pad`` with numpy: interior padding by interleaving, negative edges by slicing."""
    dtype = dtype_of(x)
    for axis, (lo, hi, interior) in enumerate(config):
        lo, hi, interior = int(lo), int(hi), int(interior)
        n = shape_of(x)[axis]
        if interior > 0 and n > 1:
            moved = np.moveaxis(x, axis, -1)
            fill = _constant_block(value, shape_of(moved) + (interior,), dtype)
            both = np.concatenate([np.expand_dims(moved, -1), fill], axis=-1)
            flat = np.reshape(both, shape_of(moved)[:-1] + (n * (interior + 1),))
            x = np.moveaxis(flat[..., : n * (interior + 1) - interior], -1, axis)
        for amount, at_start in ((lo, True), (hi, False)):
            size = shape_of(x)[axis]
            if amount < 0:
                keep = slice(-amount, None) if at_start else slice(0, size + amount)
                x = x[(slice(None),) * axis + (keep,)]
            elif amount > 0:
                block_shape = list(shape_of(x))
                block_shape[axis] = amount
                block = _constant_block(value, block_shape, dtype)
                parts = [block, x] if at_start else [x, block]
                x = np.concatenate(parts, axis=axis)
    return x


def _pad(invals, padding_config, **_):
    x, value = invals
    return pad_general(x, value, padding_config)


register("pad", _pad)


# ---------------------------------------------------------------- dynamic slices
def _clamped_starts(starts, shape, sizes):
    return [int(np.clip(int(np.asarray(s)), 0, dim - size))
            for s, dim, size in zip(starts, shape, sizes)]


def _dynamic_slice(invals, slice_sizes, **_):
    operand, *starts = invals
    shape = shape_of(operand)
    if all(is_concrete(s) for s in starts):
        lo = _clamped_starts(starts, shape, slice_sizes)
        return operand[tuple(slice(a, a + n) for a, n in zip(lo, slice_sizes))]
    if not is_traced(operand):
        return OPAQUE_RESULT
    # unknown start along some axes: each output element may read any element there
    x = operand
    index = []
    for axis, (s, n) in enumerate(zip(starts, slice_sizes)):
        if is_concrete(s):
            a = _clamped_starts([s], [shape[axis]], [n])[0]
            index.append(slice(a, a + n))
        else:
            x = np.sum(x, axis=axis, keepdims=True)
            index.append(slice(None))
    x = x[tuple(index)]
    return np.broadcast_to(x, tuple(int(n) for n in slice_sizes))


register("dynamic_slice", _dynamic_slice, opaque_aware=True)


def _dynamic_update_slice(invals, **_):
    operand, update, *starts = invals
    shape = shape_of(operand)
    usize = shape_of(update)
    operand, update = data(operand), data(update)
    if all(is_concrete(s) for s in starts):
        lo = _clamped_starts(starts, shape, usize)
        if not (is_traced(operand) or is_traced(update)):
            out = np.array(operand, copy=True)
            out[tuple(slice(a, a + n) for a, n in zip(lo, usize))] = update
            return out
        mask = np.zeros(shape, dtype=bool)
        mask[tuple(slice(a, a + n) for a, n in zip(lo, usize))] = True
        zero = np.zeros((), dtype=dtype_of(update))
        placed = pad_general(update, zero, [(a, d - a - n, 0) for a, d, n in
                                            zip(lo, shape, usize)])
        return np.where(mask, placed, operand)
    # unknown position: every element may be overwritten by any element of the update
    return union_of_traced(shape, operand, total_union(update) if is_traced(update) else update)


register("dynamic_update_slice", _dynamic_update_slice, opaque_aware=True)


# ---------------------------------------------------------------- gather
def _index_map_gather(operand_shape, indices, params):
    """For each gather output element: 1 + flat operand index it reads, 0 for fill."""
    import jax  # noqa: PLC0415

    key = (params["dimension_numbers"], tuple(params["slice_sizes"]),
           bool(params.get("indices_are_sorted", False)),
           bool(params.get("unique_indices", False)), params["mode"])
    ramp = np.arange(1, int(np.prod(operand_shape)) + 1, dtype=np.int64)
    with jax.enable_x64(True):  # int64 ramp: exact flat indices at any size
        mp = _gather_fn(key)(ramp.reshape(operand_shape), np.asarray(indices))
    return np.asarray(mp).astype(np.int64)


@functools.lru_cache(maxsize=256)
def _gather_fn(key):
    """A jitted gather with fixed parameters (one XLA compilation per shape)."""
    import jax  # noqa: PLC0415
    from jax import lax  # noqa: PLC0415

    dn, slice_sizes, sorted_, unique, mode = key
    return jax.jit(lambda op, idx: lax.gather_p.bind(
        op, idx, dimension_numbers=dn, slice_sizes=slice_sizes, indices_are_sorted=sorted_,
        unique_indices=unique, mode=mode, fill_value=0))


def _gather(invals, **params):
    operand, indices = invals
    oshape = shape_of(operand)
    if not is_concrete(indices):
        out_shape = _index_map_gather(oshape, np.zeros(shape_of(indices), np.int32),
                                      params).shape
        if not is_traced(operand):
            return OPAQUE_RESULT
        return np.broadcast_to(total_union(operand), out_shape)
    mp = _index_map_gather(oshape, np.asarray(indices), params)
    flat = np.reshape(operand, (-1,))
    got = flat[np.maximum(mp - 1, 0)]
    fill = mp == 0
    if fill.any():
        fill_value = params.get("fill_value")
        dtype = dtype_of(operand)
        if fill_value is None:  # JAX's defaults for out-of-bounds reads
            if np.issubdtype(dtype, np.inexact):
                fill_value = np.nan
            elif np.issubdtype(dtype, np.signedinteger):
                fill_value = np.iinfo(dtype).min
            elif np.issubdtype(dtype, np.unsignedinteger):
                fill_value = np.iinfo(dtype).max
            else:
                fill_value = True
        got = np.where(fill, np.asarray(fill_value, dtype=dtype), got)
    return got


register("gather", _gather, opaque_aware=True)


# ---------------------------------------------------------------- scatter
def _scatter_destinations(operand_shape, indices, updates_shape, params):
    """For each update element: 1 + flat operand index it lands on, 0 when dropped.

    Computed as the transpose (vjp) of ``scatter-add`` applied to a ramp, which is the
    gather that JAX itself uses to differentiate scatters.
    """
    import jax  # noqa: PLC0415

    key = (params["dimension_numbers"], bool(params.get("indices_are_sorted", False)),
           bool(params.get("unique_indices", False)), params["mode"], tuple(updates_shape))
    ramp = np.arange(1, int(np.prod(operand_shape)) + 1, dtype=np.float64)
    with jax.enable_x64(True):  # float64 ramp: exact flat indices
        dest = _scatter_destinations_fn(key)(ramp.reshape(operand_shape), np.asarray(indices))
    return np.rint(np.asarray(dest)).astype(np.int64).reshape(-1)


@functools.lru_cache(maxsize=256)
def _scatter_destinations_fn(key):
    import jax  # noqa: PLC0415
    from jax import lax  # noqa: PLC0415

    dn, sorted_, unique, mode, updates_shape = key

    def destinations(ramp, idx):
        def scatter_add(u):
            return lax.scatter_add(jax.numpy.zeros(ramp.shape, u.dtype), idx, u, dn,
                                   indices_are_sorted=sorted_, unique_indices=unique,
                                   mode=mode)

        _, pullback = jax.vjp(scatter_add, jax.numpy.zeros(updates_shape, ramp.dtype))
        return pullback(ramp)[0]

    return jax.jit(destinations)


def _scatter(kind: str):
    def rule(invals, **params):
        operand, indices, updates = invals
        operand, updates = data(operand), data(updates)
        shape = shape_of(operand)
        if not is_concrete(indices):
            if not (is_traced(operand) or is_traced(updates)):
                return OPAQUE_RESULT
            anywhere = total_union(updates) if is_traced(updates) else updates
            if kind == "mul" and is_traced(updates):
                anywhere = anywhere * anywhere  # products of several updates
                return union_of_traced(shape, operand * anywhere)
            return union_of_traced(shape, operand, anywhere)
        dest = _scatter_destinations(shape, np.asarray(indices), shape_of(updates), params)
        kept = np.flatnonzero(dest)
        size = int(np.prod(shape))
        S = sp.csr_array((np.ones(kept.size), (dest[kept] - 1, kept)),
                         shape=(size, int(np.prod(shape_of(updates)))))
        if not (is_traced(operand) or is_traced(updates)):
            return _scatter_numeric(kind, operand, updates, dest, kept)
        written = np.reshape(S @ np.ones(S.shape[1]) > 0, shape)
        u = np.reshape(updates, (-1,))
        # union of the updates landing on each element (``u @ S.T``: the engine takes a
        # sparse right factor; written as ``S @ u`` numpy would try to convert u)
        landed = np.reshape(u @ S.T if is_traced(u) else S @ u, shape)
        if kind == "add":
            return operand + landed
        if kind == "set":
            return np.where(written, landed, operand)
        if kind == "mul":
            return np.where(written, operand * (landed * landed), operand)
        return np.where(written, np.maximum(operand, landed), operand)  # min / max

    return rule


def _scatter_numeric(kind, operand, updates, dest, kept):
    out = np.array(operand, copy=True)
    flat = out.reshape(-1)
    u = np.asarray(updates).reshape(-1)[kept]
    d = dest[kept] - 1
    ufunc = {"add": np.add, "mul": np.multiply, "min": np.minimum, "max": np.maximum}.get(kind)
    if ufunc is None:
        flat[d] = u
    else:
        ufunc.at(flat, d, u)
    return out


for _name, _kind in (("scatter-add", "add"), ("scatter_add", "add"), ("scatter", "set"),
                     ("scatter-mul", "mul"), ("scatter_mul", "mul"), ("scatter-min", "min"),
                     ("scatter_min", "min"), ("scatter-max", "max"), ("scatter_max", "max")):
    register(_name, _scatter(_kind), opaque_aware=True)


# ---------------------------------------------------------------- sort
def _sort(invals, dimension, is_stable=True, num_keys=1, **_):
    keys = invals[:num_keys]
    if all(is_concrete(k) for k in keys):
        keys_np = [np.asarray(k) for k in keys]
        if num_keys == 1:
            perm = np.argsort(keys_np[0], axis=dimension, kind="stable")
        else:  # lexicographic, first key most significant
            moved = [np.moveaxis(k, dimension, -1) for k in keys_np]
            flat = [m.reshape(-1, m.shape[-1]) for m in moved]
            rows = [np.lexsort(tuple(f[r] for f in reversed(flat))) for r in
                    range(flat[0].shape[0])]
            perm = np.moveaxis(np.array(rows).reshape(moved[0].shape), -1, dimension)
        outs = []
        for v in invals:
            if not is_concrete(v):
                outs.append(_permuted_unknown(v, dimension))
            else:
                outs.append(np.take_along_axis(np.asarray(v), perm, axis=dimension))
        return outs
    # unknown permutation along ``dimension``: each output may be any element there
    return [_permuted_unknown(v, dimension) for v in invals]


register("sort", _sort, opaque_aware=True)


def _permuted_unknown(v, axis):
    if is_traced(v):
        return np.broadcast_to(np.sum(v, axis=axis, keepdims=True), shape_of(v))
    return OPAQUE_RESULT


# ---------------------------------------------------------------- convolution
def _conv(invals, window_strides, padding, lhs_dilation, rhs_dilation, dimension_numbers,
          feature_group_count=1, batch_group_count=1, **_):
    """Convolution as an ``einsum`` of the kernel with gathered patches of the input."""
    import jax  # noqa: PLC0415

    lhs, rhs = invals
    if int(batch_group_count) != 1:
        raise TracingError("conv_general_dilated with batch_group_count > 1 is not supported "
                           "by the JAX front-end; pass a numpy version or the pattern")
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    x = np.transpose(lhs, lhs_spec)  # (N, C, *spatial)
    w = np.transpose(rhs, rhs_spec)  # (O, C/groups, *window)
    o, cg = shape_of(w)[:2]
    window = shape_of(w)[2:]
    ramp = np.arange(1, int(np.prod(shape_of(x))) + 1, dtype=np.float64).reshape(shape_of(x))
    key = (tuple(window), tuple(window_strides), _hashable(padding), tuple(lhs_dilation),
           tuple(rhs_dilation))
    with jax.enable_x64(True):
        patches = _patches_fn(key)(ramp)
    mp = np.rint(np.asarray(patches)).astype(np.int64)  # (N, C*K, *out_spatial); 0 = padding
    k = int(np.prod(window))
    zero = np.zeros(1, dtype=dtype_of(lhs))
    padded = np.concatenate([zero, np.reshape(x, (-1,))])
    cols = padded[mp]
    groups = int(feature_group_count)
    og = o // groups
    n_sp = len(window)
    sp_letters = "pqrstuvw"[:n_sp]
    spec = f"ok,nk{sp_letters}->no{sp_letters}"
    parts = []
    for g in range(groups):
        wg = np.reshape(w[g * og:(g + 1) * og], (og, cg * k))
        parts.append(np.einsum(spec, wg, cols[:, g * cg * k:(g + 1) * cg * k]))
    out = parts[0] if groups == 1 else np.concatenate(parts, axis=1)
    return np.transpose(out, np.argsort(out_spec))


register("conv_general_dilated", _conv)


def _hashable(padding):
    return padding if isinstance(padding, str) else tuple(tuple(p) for p in padding)


@functools.lru_cache(maxsize=64)
def _patches_fn(key):
    """Jitted ``conv_general_dilated_patches`` with fixed parameters."""
    import jax  # noqa: PLC0415
    from jax import lax  # noqa: PLC0415

    window, strides, padding, lhs_dilation, rhs_dilation = key
    return jax.jit(lambda ramp: lax.conv_general_dilated_patches(
        ramp, window, strides, padding, lhs_dilation=lhs_dilation,
        rhs_dilation=rhs_dilation, precision=lax.Precision.HIGHEST))
