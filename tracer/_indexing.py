"""Indexing and assignment of traced arrays.

Every index expression is evaluated on an integer grid of flat positions
(``arange(size).reshape(shape)[key]``), which gives the row map of the result; numpy's own
indexing rules therefore apply unchanged. Single-element reads return a lightweight
:class:`~tracer._scalar.TracedScalar`; single-element writes are buffered.
"""

from __future__ import annotations

import numbers

import numpy as np

from . import _setops as K
from ._array import TracedArray
from ._construct import lift
from ._errors import control_flow_error
from ._scalar import TracedScalar, scalar_from_row
from ._sets import EMPTY, empty_sets, index_grid, take_rows

_INT_TYPES = (int, np.integer)


def _flat_position(arr: TracedArray, key):
    """Flat position for an all-integer key addressing one element, else None."""
    shape = arr._shape
    if isinstance(key, _INT_TYPES) and not isinstance(key, (bool, np.bool_)):
        if len(shape) != 1:
            return None
        k = int(key)
        d = shape[0]
        if k < 0:
            k += d
        if not 0 <= k < d:
            raise IndexError(f"index {int(key)} is out of bounds for axis 0 with size {d}")
        return k
    if type(key) is tuple and len(key) == len(shape) and len(shape) > 0:
        pos = 0
        for ax, (k, d) in enumerate(zip(key, shape)):
            if not isinstance(k, _INT_TYPES) or isinstance(k, (bool, np.bool_)):
                return None
            k = int(k)
            if k < 0:
                k += d
            if not 0 <= k < d:
                raise IndexError(f"index {k} is out of bounds for axis {ax} with size {d}")
            pos = pos * d + k
        return pos
    if type(key) is tuple and not key and not shape:
        return 0
    return None


def _resolve_key(arr: TracedArray, key):
    """Replace traced index arrays by their values (local mode) or raise (global mode)."""
    if isinstance(key, tuple):
        return tuple(_resolve_key(arr, k) for k in key)
    if isinstance(key, TracedScalar):
        if key.value is None:
            raise control_flow_error("Indexing by a traced value")
        v = key.value
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        return v
    if isinstance(key, TracedArray):
        key._sync()
        if key._val is None:
            raise control_flow_error("Indexing by a traced array (integer or boolean mask)")
        return key._val
    if isinstance(key, list) and any(isinstance(k, (TracedArray, TracedScalar)) for k in key):
        return [_resolve_key(arr, k) for k in key]
    return key


def _is_basic(key) -> bool:
    keys = key if isinstance(key, tuple) else (key,)
    return all(k is None or k is Ellipsis or isinstance(k, (slice, numbers.Integral))
               and not isinstance(k, (bool, np.bool_)) for k in keys)


def _scalar_at(arr: TracedArray, pos: int) -> TracedScalar:
    cache = arr._cache
    if cache is None:
        cache = arr._cache = [None] * arr.size
    s = cache[pos]
    if s is None:
        s = scalar_from_row(arr, pos)
        cache[pos] = s
    return s


def getitem(arr: TracedArray, key):
    if arr._base is not None:
        arr._sync()
    pos = _flat_position(arr, key)
    if pos is not None:
        return _scalar_at(arr, pos)
    key = _resolve_key(arr, key)
    sel = index_grid(arr._shape)[key]
    if np.ndim(sel) == 0:
        return _scalar_at(arr, int(sel))
    arr._sync()
    rows = sel.reshape(-1)
    g = take_rows(arr._g, rows)
    h = take_rows(arr._h, rows) if arr._h is not None else None
    val = None if arr._val is None else arr._val.reshape(-1)[rows].reshape(sel.shape)
    out = TracedArray(arr._s, sel.shape, g, h, val, arr._dtype)
    if _is_basic(key):
        grid = arr._probe()[key]
        make_view(out, arr._root(), grid, arr._readonly)
    return out


def make_view(out: TracedArray, root: TracedArray, grid: np.ndarray, readonly=False):
    """Link ``out`` as a view of ``root``; ``grid`` holds the root positions it covers."""
    out._base = root
    out._grid = grid
    out._map = np.ascontiguousarray(grid, dtype=np.int64).reshape(-1)
    out._base_version = root._version
    out._readonly = readonly


def _check_writeable(arr: TracedArray):
    if arr._readonly:
        raise ValueError("assignment destination is read-only")


def setitem(arr: TracedArray, key, value):
    _check_writeable(arr)
    pos = _flat_position(arr, key)
    if pos is not None and (isinstance(value, TracedScalar)
                            or isinstance(value, (numbers.Number, np.number))):
        write_scalar(arr, pos, value)
        return
    key = _resolve_key(arr, key)
    sel = index_grid(arr._shape)[key]
    rows = np.asarray(sel).reshape(-1)
    if isinstance(value, np.ndarray) and value.dtype == object:
        value = value.tolist()
    v = lift(value, arr._s)
    vshape = np.shape(v) if not isinstance(v, TracedArray) else v.shape
    try:
        bshape = np.broadcast_shapes(vshape, np.shape(sel))
    except ValueError:
        raise ValueError(f"could not broadcast input array from shape {vshape} "
                         f"into shape {np.shape(sel)}") from None
    if bshape != np.shape(sel):
        raise ValueError(f"could not broadcast input array from shape {vshape} "
                         f"into shape {np.shape(sel)}")
    assign_rows(arr, rows, v, np.shape(sel))


def write_scalar(arr: TracedArray, pos: int, value):
    """Buffered single-element write."""
    if not isinstance(value, TracedScalar):
        value = TracedScalar(frozenset(), frozenset() if arr._s.hessian else None,
                             value, arr._s)
    base = arr._base
    if base is not None:
        _check_writeable(arr)
        arr._sync()
        fresh = base._version == arr._base_version
        write_scalar(base, int(arr._map[pos]), value)
        if not fresh:
            return
        arr._base_version = base._version
    if arr._pending is None:
        arr._pending = {}
    arr._pending[pos] = value
    if arr._cache is None:
        arr._cache = [None] * arr.size
    arr._cache[pos] = value
    arr._version += 1


def assign_rows(arr: TracedArray, rows: np.ndarray, v, sel_shape):
    """``arr.flat[rows] = v`` (broadcast to ``sel_shape``), writing through views."""
    if arr._base is not None:
        arr._sync()
        assign_rows(arr._base, arr._map[rows], v, sel_shape)
        arr._sync()
        return
    arr._sync()
    size = arr.size
    session = arr._s
    if isinstance(v, TracedArray):
        vmap = np.broadcast_to(np.arange(v.size, dtype=np.int64).reshape(v.shape),
                               sel_shape).reshape(-1)
        rowmap = np.arange(size, dtype=np.int64)
        rowmap[rows] = size + vmap
        g = _concat_take(arr._g, v._g, rowmap)
        h = _concat_take(arr._h, v._h, rowmap) if session.hessian else None
        vval = v._val
    else:
        rowmap = np.arange(size, dtype=np.int64)
        rowmap[rows] = -1
        g = take_rows(arr._g, rowmap) if arr._g[1].size else arr._g
        h = None
        if session.hessian:
            h = take_rows(arr._h, rowmap) if arr._h[1].size else arr._h
        vval = v
    val = None
    if arr._val is not None and vval is not None:
        dtype = arr._val.dtype
        val = np.array(arr._val, dtype=dtype, order="C")
        with np.errstate(all="ignore"):
            val.reshape(-1)[rows] = np.broadcast_to(np.asarray(vval), sel_shape).reshape(-1)
    arr._set_data(g, h, val)


def _concat_take(a, b, rowmap):
    if a[1].size == 0 and b[1].size == 0:
        return empty_sets(rowmap.size)
    na = a[0].size - 1
    ptr = np.concatenate([a[0], b[0][1:] + a[0][-1]])
    idx = np.concatenate([a[1], b[1]])
    del na
    return K.gather_rows(ptr, idx, rowmap)


__all__ = ["getitem", "setitem", "EMPTY"]
