"""Reductions and scans: segmented unions along axes (one kernel call each)."""

from __future__ import annotations

import numbers

import numpy as np

from . import _setops as K
from ._array import TracedArray
from ._construct import find_session, lift, resolve_static
from ._errors import BUFFER_HINT, TracingError, unsupported_error
from ._registry import implements
from ._sets import _size, concat_sources, empty_sets, index_grid, sorted_unique, take_rows


def _norm_axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, numbers.Integral):
        axis = (int(axis),)
    out = []
    for a in axis:
        a = int(a)
        if a < 0:
            a += ndim
        if not 0 <= a < ndim:
            raise np.exceptions.AxisError(
                f"axis {a} is out of bounds for array of dimension {ndim}")
        out.append(a)
    return tuple(sorted(set(out)))


def _segments(shape, axes):
    """Rows grouped by output element: ``(sel_ptr, sel_rows, out_shape_kept)``."""
    nd = len(shape)
    keep = [a for a in range(nd) if a not in axes]
    grid = np.transpose(index_grid(shape), keep + list(axes))
    rest = _size([shape[a] for a in keep])
    L = _size([shape[a] for a in axes])
    sel_rows = np.ascontiguousarray(grid).reshape(-1)
    sel_ptr = np.arange(0, rest * L + 1, max(L, 1), dtype=np.int64) if L else \
        np.zeros(rest + 1, np.int64)
    return sel_ptr, sel_rows, tuple(shape[a] for a in keep)


def reduce_union(a: TracedArray, axis=None, keepdims=False, mask=None) -> TracedArray:
    """Union of sets along ``axis`` (sum-like: no new second-order pairs).

    ``mask`` (boolean, shape of ``a``) restricts the union to selected elements; used by
    max/min in local mode.
    """
    a = a._sync()
    axes = _norm_axes(axis, a.ndim)
    if mask is None and len(axes) == a.ndim:
        # full reduction: one sorted union (numpy's vectorized sort beats the kernel here)
        def full(sets):
            u = sorted_unique(sets[1])
            return (np.array([0, u.size], np.int64), u)
        g = full(a._g)
        h = full(a._h) if a._h is not None else None
        shape = (1,) * a.ndim if keepdims else ()
        return TracedArray(a._s, shape, g, h, None, a._dtype)
    sel_ptr, sel_rows, kept = _segments(a.shape, axes)
    if mask is not None:
        flat_mask = np.asarray(mask).reshape(-1)[sel_rows]
        sel_rows = np.where(flat_mask, sel_rows, -1)
    g = K.union_rows(a._g[0], a._g[1], sel_ptr, sel_rows) if a._g[1].size else \
        empty_sets(sel_ptr.size - 1)
    h = None
    if a._h is not None:
        h = K.union_rows(a._h[0], a._h[1], sel_ptr, sel_rows) if a._h[1].size else \
            empty_sets(sel_ptr.size - 1)
    if keepdims:
        shape = tuple(1 if d in axes else s for d, s in enumerate(a.shape))
    else:
        shape = kept
    return TracedArray(a._s, shape, g, h, None, a._dtype)


def _store(result, out):
    if out is None:
        return result
    if isinstance(out, TracedArray):
        out[...] = result
        return out
    raise TracingError("A reduction was called with out= a plain numpy array. " + BUFFER_HINT)


def _reject_where(where, name):
    if where is not True and where is not None:
        raise unsupported_error(f"{name}(..., where=...)", "use np.where before reducing")


def _where_mask(where, a: TracedArray, name: str):
    """A ``where=`` argument as a boolean mask of ``a``'s shape (None: everything)."""
    if where is True or where is None:
        return None
    w = resolve_static(where, f"the where= mask of {name}")
    return np.broadcast_to(np.asarray(w, dtype=bool), a.shape)


def _and_masks(m1, m2):
    if m1 is None:
        return m2
    if m2 is None:
        return m1
    return m1 & m2


def _as_traced(a):
    session = find_session([a])
    r = lift(a, session)
    if not isinstance(r, TracedArray):
        raise TracingError("internal: reduction without traced input")
    return r


@implements(np.sum, np.nansum)
def _sum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=True):
    a = _as_traced(a)
    return _store(reduce_union(a, axis, keepdims, _where_mask(where, a, "np.sum")), out)


@implements(np.mean, np.nanmean)
def _mean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=True):
    a = _as_traced(a)
    return _store(reduce_union(a, axis, keepdims, _where_mask(where, a, "np.mean")), out)


@implements(np.average)
def _average(a, axis=None, weights=None, returned=False, *, keepdims=False):
    a = _as_traced(a)
    if weights is None:
        r = np.mean(a, axis=axis, keepdims=keepdims)
        wsum = _size(a.shape) / max(_size(r.shape), 1)
    else:
        w = weights
        if np.ndim(w) == 1 and a.ndim > 1 and axis is not None:
            shape = [1] * a.ndim
            shape[axis] = -1
            w = np.reshape(w, shape)
        wsum = np.sum(np.broadcast_to(w, a.shape) if not isinstance(w, TracedArray) else w,
                      axis=axis, keepdims=keepdims)
        r = np.sum(a * w, axis=axis, keepdims=keepdims) / wsum
    return (r, wsum) if returned else r


def _select_mask(a: TracedArray, axis, func, where=None, fill=0.0):
    """In local mode, the elements attaining the max/min along ``axis`` (ties: all)."""
    if a._val is None:
        return None
    val = a._val if where is None else np.where(where, a._val, fill)
    with np.errstate(invalid="ignore"):
        ext = func(val, axis=axis, keepdims=True)
        mask = (val == ext) | np.isnan(ext) | np.isnan(val)
    return mask


@implements(np.max, np.amax, np.nanmax)
def _max(a, axis=None, out=None, keepdims=False, initial=None, where=True):
    a = _as_traced(a)
    mask = _where_mask(where, a, "np.max")
    sel = _select_mask(a, axis, np.max, mask, -np.inf)
    return _store(reduce_union(a, axis, keepdims, _and_masks(mask, sel)), out)


@implements(np.min, np.amin, np.nanmin)
def _min(a, axis=None, out=None, keepdims=False, initial=None, where=True):
    a = _as_traced(a)
    mask = _where_mask(where, a, "np.min")
    sel = _select_mask(a, axis, np.min, mask, np.inf)
    return _store(reduce_union(a, axis, keepdims, _and_masks(mask, sel)), out)


@implements(np.ptp)
def _ptp(a, axis=None, out=None, keepdims=False):
    return _store(np.max(a, axis=axis, keepdims=keepdims)
                  - np.min(a, axis=axis, keepdims=keepdims), out)


@implements(np.median, np.nanmedian)
def _median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    # a median selects (or averages two) elements: piecewise linear in all of them
    return _store(reduce_union(_as_traced(a), axis, keepdims), out)


@implements(np.prod, np.nanprod)
def _prod(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=True):
    """Product by a balanced multiplication tree: cross pairs between distinct factors."""
    _reject_where(where, "np.prod")
    a = _as_traced(a)
    axes = _norm_axes(axis, a.ndim)
    keep = [d for d in range(a.ndim) if d not in axes]
    t = np.transpose(a, keep + list(axes))
    t = np.reshape(t, tuple(a.shape[d] for d in keep) + (-1,)) if a.size else \
        np.reshape(t, tuple(a.shape[d] for d in keep) + (0,))
    L = t.shape[-1]
    if L == 0:
        r = TracedArray.constant(a._s, np.ones(t.shape[:-1]))
    else:
        while t.shape[-1] > 1:
            L = t.shape[-1]
            h = L // 2
            p = t[..., :h] * t[..., h:2 * h]
            if L % 2:
                p = np.concatenate([p, t[..., 2 * h:]], axis=-1)
            t = p
        r = t[..., 0] if t.ndim > 1 else np.reshape(t, ())
    if keepdims:
        r = np.reshape(r, tuple(1 if d in axes else s for d, s in enumerate(a.shape)))
    return _store(r, out)


@implements(np.cumsum, np.nancumsum)
def _cumsum(a, axis=None, dtype=None, out=None):
    a = _as_traced(a)
    if axis is None:
        a = np.ravel(a)
        axis = 0
    (ax,) = _norm_axes(axis, a.ndim)
    a._sync()
    sel_ptr, sel_rows, _ = _segments(a.shape, (ax,))
    inverse = np.empty(sel_rows.size, np.int64)
    inverse[sel_rows] = np.arange(sel_rows.size, dtype=np.int64)

    def scan(sets):
        if sets[1].size == 0:
            return empty_sets(a.size)
        res = K.cumulative_union(sets[0], sets[1], sel_ptr, sel_rows)
        return take_rows(res, inverse)

    g = scan(a._g)
    h = scan(a._h) if a._h is not None else None
    return _store(TracedArray(a._s, a.shape, g, h, None, a._dtype), out)


@implements(np.cumprod, np.nancumprod)
def _cumprod(a, axis=None, dtype=None, out=None):
    a = _as_traced(a)
    if axis is None:
        a = np.ravel(a)
        axis = 0
    t = np.moveaxis(a, axis, 0)
    parts = [t[0]]
    for k in range(1, t.shape[0]):
        parts.append(parts[-1] * t[k])
    r = np.moveaxis(np.stack(parts), 0, axis)
    return _store(r, out)


@implements(np.var, np.nanvar)
def _var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=True, **kw):
    _reject_where(where, "np.var")
    a = _as_traced(a)
    d = a - np.mean(a, axis=axis, keepdims=True)
    return _store(np.mean(d * d, axis=axis, keepdims=keepdims), out)


@implements(np.std, np.nanstd)
def _std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=True, **kw):
    return _store(np.sqrt(_var(a, axis=axis, ddof=ddof, keepdims=keepdims, where=where)), out)


@implements(np.trace)
def _trace(a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    return _store(np.sum(np.diagonal(a, offset, axis1, axis2), axis=-1), out)


@implements(np.linalg.norm)
def _norm(x, ord=None, axis=None, keepdims=False):
    """Norms composed from abs/sum/max/min/sqrt (so local mode follows max/min values)."""
    x = _as_traced(x)
    if axis is None and ord is None:
        return np.sqrt(np.sum(x * x, keepdims=keepdims))
    if axis is None:
        axis = tuple(range(x.ndim))
    if isinstance(axis, numbers.Integral):
        axis = (int(axis),)
    axis = tuple(int(a) % x.ndim for a in axis)
    if len(axis) == 1:
        if ord is None or ord == 2:
            return np.sqrt(np.sum(x * x, axis=axis, keepdims=keepdims))
        if ord == np.inf:
            return np.max(np.abs(x), axis=axis, keepdims=keepdims)
        if ord == -np.inf:
            return np.min(np.abs(x), axis=axis, keepdims=keepdims)
        if ord == 0:
            r = reduce_union(x, axis, keepdims)
            return TracedArray.unknown(x._s, r.shape, float)
        if ord == 1:
            return np.sum(np.abs(x), axis=axis, keepdims=keepdims)
        return np.sum(np.abs(x) ** ord, axis=axis, keepdims=keepdims) ** (1.0 / ord)
    if len(axis) != 2:
        raise ValueError("Improper number of dimensions to norm.")
    row, col = axis
    if ord in (1, -1):
        s_ = np.sum(np.abs(x), axis=row, keepdims=True)
        r = np.max(s_, axis=col, keepdims=True) if ord == 1 else \
            np.min(s_, axis=col, keepdims=True)
    elif ord in (np.inf, -np.inf):
        s_ = np.sum(np.abs(x), axis=col, keepdims=True)
        r = np.max(s_, axis=row, keepdims=True) if ord == np.inf else \
            np.min(s_, axis=row, keepdims=True)
    else:  # "fro", "nuc", 2, -2: smooth in all entries; the Frobenius pattern covers them
        r = np.sqrt(np.sum(x * x, axis=axis, keepdims=True))
    if not keepdims:
        r = np.squeeze(r, axis=axis)
    return r


# ----- ufunc methods -----

_REDUCE = {np.add: np.sum, np.multiply: np.prod, np.maximum: np.max, np.minimum: np.min,
           np.fmax: np.max, np.fmin: np.min, np.logical_and: np.all, np.logical_or: np.any}


def ufunc_reduce(ufunc, inputs, kwargs):
    f = _REDUCE.get(ufunc)
    if f is None:
        raise unsupported_error(f"np.{ufunc.__name__}.reduce")
    (a,) = inputs
    axis = kwargs.pop("axis", 0)
    keepdims = kwargs.pop("keepdims", False)
    out = kwargs.pop("out", None)
    if isinstance(out, tuple):
        out = out[0]
    return f(a, axis=axis, keepdims=keepdims, out=out)


def ufunc_accumulate(ufunc, inputs, kwargs):
    (a,) = inputs
    axis = kwargs.pop("axis", 0)
    if ufunc is np.add:
        return np.cumsum(a, axis=axis)
    if ufunc is np.multiply:
        return np.cumprod(a, axis=axis)
    raise unsupported_error(f"np.{ufunc.__name__}.accumulate")


def ufunc_at(ufunc, inputs, kwargs):
    """``np.add.at(a, idx, b)``: unbuffered scatter-add (duplicates accumulate)."""
    if ufunc not in (np.add, np.subtract):
        raise unsupported_error(f"np.{ufunc.__name__}.at", "only np.add.at / np.subtract.at")
    a, idx = inputs[0], inputs[1]
    b = inputs[2] if len(inputs) > 2 else None
    session = find_session(inputs)
    if not isinstance(a, TracedArray):
        raise TracingError(f"np.{ufunc.__name__}.at into a plain numpy array. " + BUFFER_HINT)
    a._sync()
    idx = resolve_static(idx, "the index of np.add.at")
    sel = np.asarray(index_grid(a.shape)[idx])
    b = lift(b, session)
    if not isinstance(b, TracedArray):
        return None  # constants add no dependence
    bmap = np.broadcast_to(index_grid(b.shape), sel.shape).reshape(-1)
    targets = np.concatenate([np.arange(a.size, dtype=np.int64), sel.reshape(-1)])
    rows = np.concatenate([np.arange(a.size, dtype=np.int64), a.size + bmap])
    order = np.argsort(targets, kind="stable")
    sel_rows = rows[order]
    sel_ptr = np.zeros(a.size + 1, np.int64)
    np.cumsum(np.bincount(targets, minlength=a.size), out=sel_ptr[1:])
    g, h = concat_sources([a, b._sync()])
    ng = K.union_rows(g[0], g[1], sel_ptr, sel_rows)
    nh = K.union_rows(h[0], h[1], sel_ptr, sel_rows) if h is not None else None
    val = None
    if a._val is not None and b._val is not None:
        val = np.array(a._val, dtype=float, order="C")
        ufunc.at(val, idx, b._val)
    a[...] = TracedArray(session, a.shape, ng, nh, val, a._dtype)
    return None
