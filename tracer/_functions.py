"""Numpy functions on traced arrays (``__array_function__`` registry).

Shape and indexing functions are handled generically: the numpy function itself is applied
to integer grids that hold ``1 + row id`` of each traced element (``0`` for constants), and
the result is the row map of the output. So ``np.roll``, ``np.pad``, ``np.tile``,
``np.concatenate`` and friends follow numpy's exact semantics with no per-function code.
"""

from __future__ import annotations

import inspect

import numpy as np

from ._array import TracedArray
from ._construct import (
    array_from_nested,
    find_session,
    lift,
    resolve_static,
    traced_buffer,
    values_of,
)
from ._errors import BUFFER_HINT, TracingError, control_flow_error, unsupported_error
from ._indexing import make_view
from ._reductions import reduce_union
from ._registry import implements
from ._scalar import TracedScalar
from ._session import current_session
from ._sets import concat_sources, index_grid, take_rows
from ._ufuncs import select_sets

# Functions that may return views (numpy decides, on the probe): no fills, single input.
_VIEW_FUNCS = {np.reshape, np.ravel, np.transpose, np.swapaxes, np.moveaxis, np.rollaxis,
               np.squeeze, np.expand_dims, np.flip, np.fliplr, np.flipud, np.rot90,
               np.diagonal, np.broadcast_to, np.atleast_1d, np.atleast_2d, np.atleast_3d,
               np.real, np.matrix_transpose, np.permute_dims, np.split, np.array_split,
               np.hsplit, np.vsplit, np.dsplit, np.ascontiguousarray, np.asfortranarray}
if hasattr(np, "unstack"):
    _VIEW_FUNCS.add(np.unstack)
_READONLY_VIEWS = {np.diagonal, np.broadcast_to}
# Single-input functions that only move elements (never insert constants): evaluated on the
# probe of root positions directly (no +1 grids); numpy decides whether the result is a view.
_PROBE_FUNCS = _VIEW_FUNCS | {np.roll, np.tile, np.repeat, np.take, np.take_along_axis,
                              np.copy, np.resize, np.delete}


def _view_function(func, src: TracedArray, args, kwargs):
    """Apply a view-capable function to the source's probe; views write through."""
    root = src._root()._sync()
    src._sync()
    probe = src._probe()
    res = func(probe, *args[1:], **kwargs)
    root_probe = root._probe()

    def build(r):
        r = np.asarray(r)
        rows = r.reshape(-1)
        out = TracedArray(src._s, r.shape, take_rows(root._g, rows),
                          take_rows(root._h, rows) if root._h is not None else None, None,
                          src._dtype)
        if r.size and np.may_share_memory(r, root_probe):
            make_view(out, root, r, src._readonly or func in _READONLY_VIEWS)
        return out

    if isinstance(res, (list, tuple)):
        return type(res)(build(r) for r in res)
    return build(res)


def _map_function(func, data_positions=(0,), sequence=False, prepare=None):
    """Register a pure shape/index function by evaluating it on row-id grids."""
    params = list(inspect.signature(func).parameters)
    name = f"np.{func.__name__}"

    def handler(*args, **kwargs):
        args = list(args)
        # data passed by keyword goes back to its position
        for p in data_positions:
            pname = params[p]
            if pname in kwargs:
                while len(args) < p:
                    args.append(None)
                args.insert(p, kwargs.pop(pname))
        session = find_session(args + list(kwargs.values()))
        if func in _PROBE_FUNCS and args and not sequence:
            data = lift(args[0], session)
            if isinstance(data, TracedArray):
                rest = [resolve_static(a, f"an argument of {name}") for a in args[1:]]
                kw = {k: resolve_static(v, f"the argument {k}= of {name}")
                      for k, v in kwargs.items()}
                return _view_function(func, data, [data] + rest, kw)
        sources: list[TracedArray] = []
        offset = 0
        dtypes = []

        def grid_of(x):
            nonlocal offset
            x = lift(x, session)
            if isinstance(x, TracedArray):
                sources.append(x)
                dtypes.append(x._dtype)
                grid = index_grid(x.shape) + (offset + 1)
                offset += x.size
                return grid
            arr = np.asarray(x)
            dtypes.append(arr.dtype)
            return np.zeros(arr.shape, np.int64)

        for p in data_positions:
            if p >= len(args):
                continue
            if sequence and p == 0:
                args[p] = [grid_of(x) for x in args[p]]
            else:
                args[p] = grid_of(args[p])
        for k in range(len(args)):
            if k not in data_positions:
                args[k] = resolve_static(args[k], f"an argument of {name}")
        kwargs = {k: resolve_static(v, f"the argument {k}= of {name}")
                  for k, v in kwargs.items()}
        if prepare is not None:
            args, kwargs = prepare(args, kwargs)
        grids = func(*args, **kwargs)
        if not sources:
            raise control_flow_error(f"{name} with traced index arguments")
        g, h = concat_sources([s._sync() for s in sources])
        dtype = np.result_type(*dtypes) if dtypes else np.dtype(float)

        def build(grid):
            grid = np.asarray(grid)
            rows = grid.reshape(-1) - 1
            return TracedArray(session, grid.shape, take_rows(g, rows),
                               take_rows(h, rows) if h is not None else None, None, dtype)

        if isinstance(grids, (list, tuple)):
            return type(grids)(build(x) for x in grids)
        return build(grids)

    implements(func)(handler)
    return handler


def _prepare_pad(args, kwargs):
    mode = kwargs.get("mode", args[2] if len(args) > 2 else "constant")
    if callable(mode) or mode not in ("constant", "edge", "wrap", "reflect", "symmetric"):
        raise unsupported_error(f"np.pad(mode={mode!r})",
                                'supported modes: "constant", "edge", "wrap", "reflect", '
                                '"symmetric"')
    if mode == "constant":
        kwargs = dict(kwargs)
        kwargs["constant_values"] = 0  # padding carries no dependence
    return args, kwargs


for _f in (np.reshape, np.ravel, np.transpose, np.swapaxes, np.moveaxis, np.rollaxis,
           np.squeeze, np.expand_dims, np.roll, np.flip, np.fliplr, np.flipud, np.rot90,
           np.tile, np.repeat, np.broadcast_to, np.diag, np.diagflat, np.diagonal, np.triu,
           np.tril, np.take, np.take_along_axis, np.atleast_1d, np.atleast_2d, np.atleast_3d,
           np.copy, np.resize, np.split, np.array_split, np.hsplit, np.vsplit, np.dsplit,
           np.delete, np.real, np.ascontiguousarray, np.asfortranarray, np.matrix_transpose,
           np.permute_dims):
    _map_function(_f)
_map_function(np.pad, prepare=_prepare_pad)
for _f in (np.concatenate, np.concat, np.stack, np.hstack, np.vstack, np.dstack,
           np.column_stack, np.block):
    _map_function(_f, sequence=True)
_map_function(np.append, data_positions=(0, 1))
_map_function(np.insert, data_positions=(0, 2))
if hasattr(np, "unstack"):
    _map_function(np.unstack)

stack = np.stack


@implements(np.broadcast_arrays)
def _broadcast_arrays(*args, subok=False):
    shape = np.broadcast_shapes(*[np.shape(a) for a in args])
    return tuple(np.broadcast_to(a, shape) for a in args)


# Functions whose result depends only on the shape, ndim or dtype of their array
# arguments: evaluated by numpy itself on dependence-free stand-ins of the same shape and
# dtype (zero-stride, so no memory). One row per function.
SHAPE_ONLY_FUNCTIONS = (
    np.shape, np.ndim, np.size, np.result_type, np.iscomplexobj, np.isrealobj,
    np.common_type, np.can_cast, np.diag_indices_from, np.tril_indices_from,
    np.triu_indices_from,
)


def _shape_stand_in(a):
    """A plain array with the shape and dtype of a traced array or scalar, else ``a``."""
    if isinstance(a, (TracedArray, TracedScalar)):
        return np.broadcast_to(np.dtype(a.dtype).type(0), a.shape)  # np.zeros is patched
    if isinstance(a, (list, tuple)) and any(isinstance(e, (TracedArray, TracedScalar))
                                            for e in a):
        return type(a)(_shape_stand_in(e) for e in a)
    return a


def _shape_only(func):
    def shape_only_handler(*args, **kwargs):
        return func(*[_shape_stand_in(a) for a in args],
                    **{k: _shape_stand_in(v) for k, v in kwargs.items()})
    shape_only_handler.__doc__ = f"np.{func.__name__}, evaluated on the shape and dtype only."
    return shape_only_handler


for _func in SHAPE_ONLY_FUNCTIONS:
    implements(_func)(_shape_only(_func))


@implements(np.where)
def where(condition, x=None, y=None):
    if x is None and y is None:
        return np.nonzero(condition)
    session = find_session([condition, x, y])
    c, a, b = (lift(v, session) for v in (condition, x, y))
    shape = np.broadcast_shapes(np.shape(c) if not isinstance(c, TracedArray) else c.shape,
                                a.shape if isinstance(a, TracedArray) else np.shape(a),
                                b.shape if isinstance(b, TracedArray) else np.shape(b))
    cv = values_of(c)
    if cv is None:
        masks = [True, True]  # global mode: both branches
    else:
        cb = np.broadcast_to(np.asarray(cv, dtype=bool), shape)
        masks = [cb, ~cb]
    g, h = select_sets(session, [a, b], masks, shape)
    dt = np.result_type(*[o.dtype if isinstance(o, TracedArray) else np.asarray(o).dtype
                          for o in (a, b)])
    return TracedArray(session, shape, g, h, None, dt)


@implements(np.select)
def _select(condlist, choicelist, default=0):
    out = default
    for c, ch in reversed(list(zip(condlist, choicelist))):
        out = where(c, ch, out)
    return out


@implements(np.piecewise)
def _piecewise(x, condlist, funclist, *args, **kw):
    raise unsupported_error("np.piecewise", "use np.where with the pieces instead")


@implements(np.clip)
def _clip(a, a_min=None, a_max=None, out=None, **kwargs):
    a_min = kwargs.pop("min", a_min)
    a_max = kwargs.pop("max", a_max)
    r = a
    if a_min is not None:
        r = np.maximum(r, a_min)
    if a_max is not None:
        r = np.minimum(r, a_max)
    if not isinstance(r, TracedArray):
        r = lift(r, find_session([a]))
    if out is not None:
        out[...] = r
        return out
    return r


@implements(np.round, np.around)
def _round(a, decimals=0, out=None):
    r = np.rint(a)
    if out is not None:
        out[...] = r
        return out
    return r


@implements(np.fix)
def _fix(x, out=None):
    return np.trunc(x)


@implements(np.nan_to_num)
def _nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    return lift(x, find_session([x])).copy()


@implements(np.real_if_close)
def _real_if_close(a, tol=100):
    return a


# ----- allocation of traced buffers -----

def _alloc(fill_of):
    def handler(shape, *args, dtype=None, order="C", like=None, device=None, **kw):
        session = find_session([like, shape] + list(args)) or current_session()
        fill, dtype = fill_of(args, dtype)
        if isinstance(shape, TracedArray) or isinstance(shape, TracedScalar):
            raise control_flow_error("Using a traced value as a shape")
        return traced_buffer(session, shape, dtype, fill)
    return handler


implements(np.zeros)(_alloc(lambda a, dt: (0.0, dt)))
implements(np.empty)(_alloc(lambda a, dt: (0.0, dt)))
implements(np.ones)(_alloc(lambda a, dt: (1.0, dt)))


@implements(np.full)
def _full(shape, fill_value, dtype=None, order="C", *, like=None, device=None):
    session = find_session([like, fill_value]) or current_session()
    if isinstance(fill_value, (TracedArray, TracedScalar)):
        buf = traced_buffer(session, shape, dtype, 0.0)
        buf[...] = fill_value
        return buf
    if dtype is None:
        dtype = np.asarray(fill_value).dtype
    return traced_buffer(session, shape, dtype, fill_value)


def _like(fill):
    def handler(a, dtype=None, order="K", subok=True, shape=None, **kw):
        session = find_session([a])
        shp = np.shape(a) if not isinstance(a, (TracedArray, TracedScalar)) else a.shape
        if shape is not None:
            shp = shape
        dt = dtype if dtype is not None else (a.dtype if hasattr(a, "dtype") else float)
        return traced_buffer(session, shp, dt, fill)
    return handler


implements(np.zeros_like)(_like(0.0))
implements(np.empty_like)(_like(0.0))
implements(np.ones_like)(_like(1.0))


@implements(np.full_like)
def _full_like(a, fill_value, dtype=None, order="K", subok=True, shape=None, **kw):
    session = find_session([a, fill_value])
    shp = a.shape if shape is None else shape
    dt = dtype if dtype is not None else a.dtype
    if isinstance(fill_value, (TracedArray, TracedScalar)):
        buf = traced_buffer(session, shp, dt, 0.0)
        buf[...] = fill_value
        return buf
    return traced_buffer(session, shp, dt, fill_value)


@implements(np.array, np.asarray, np.asanyarray)
def _array_like(obj, dtype=None, *args, like=None, **kwargs):
    session = find_session([like, obj]) or current_session()
    r = array_from_nested(obj, session)
    if dtype is not None:
        r = r.astype(dtype)
    return r


def _constant_creator(func):
    def handler(*args, like=None, **kwargs):
        if any(isinstance(a, (TracedArray, TracedScalar))
               for a in list(args) + list(kwargs.values())):
            raise control_flow_error(f"Passing a traced value to np.{func.__name__}")
        return TracedArray.constant(find_session([like]) or current_session(),
                                    func(*args, **kwargs))
    implements(func)(handler)


for _f in (np.arange, np.linspace, np.eye, np.identity, np.tri, np.fromfunction):
    _constant_creator(_f)


# ----- value-dependent queries: local mode (or constants) only -----

def _value_query(func, name, on_unknown="raise"):
    def handler(*args, **kwargs):
        session = find_session(list(args) + list(kwargs.values()))
        try:
            vargs = [resolve_static(a, f"the input of {name}") for a in args]
            vkw = {k: resolve_static(v, f"the input of {name}") for k, v in kwargs.items()}
        except TracingError:
            if on_unknown == "unknown":
                a = lift(args[0], session)
                shape = np.shape(func(np.zeros(a.shape), *args[1:], **kwargs)) \
                    if not any(isinstance(x, (TracedArray, TracedScalar)) for x in args[1:]) \
                    else ()
                return TracedArray.unknown(session, shape, bool)
            raise
        return func(*vargs, **vkw)
    implements(func)(handler)


for _f, _n in ((np.argmax, "np.argmax"), (np.argmin, "np.argmin"), (np.argsort, "np.argsort"),
               (np.nonzero, "np.nonzero"), (np.flatnonzero, "np.flatnonzero"),
               (np.argwhere, "np.argwhere"), (np.count_nonzero, "np.count_nonzero"),
               (np.array_equal, "np.array_equal"), (np.allclose, "np.allclose"),
               (np.searchsorted, "np.searchsorted"), (np.unique, "np.unique"),
               (np.nanargmax, "np.nanargmax"), (np.nanargmin, "np.nanargmin"),
               (np.digitize, "np.digitize"), (np.histogram, "np.histogram")):
    _value_query(_f, _n)
for _f, _n in ((np.any, "np.any"), (np.all, "np.all"), (np.isclose, "np.isclose"),
               (np.isreal, "np.isreal"), (np.iscomplex, "np.iscomplex")):
    _value_query(_f, _n, on_unknown="unknown")


@implements(np.sort)
def _sort(a, axis=-1, kind=None, order=None, **kw):
    session = find_session([a])
    a = lift(a, session)
    if axis is None:
        a = np.ravel(a)
        axis = -1
    if a._val is not None:
        perm = np.argsort(a._val, axis=axis, kind="stable")
        return np.take_along_axis(a, perm, axis=axis)
    # global mode: any element may land anywhere along the axis
    r = reduce_union(a, axis, keepdims=True)
    return np.broadcast_to(r, a.shape).copy()


@implements(np.diff)
def _diff(a, n=1, axis=-1, prepend=None, append=None):
    session = find_session([a, prepend, append])
    a = lift(a, session)
    parts = []
    if prepend is not None:
        p = lift(prepend, session)
        shape = list(a.shape)
        shape[axis] = 1
        parts.append(np.broadcast_to(p, tuple(shape)) if np.ndim(p) == 0 else p)
    parts.append(a)
    if append is not None:
        p = lift(append, session)
        shape = list(a.shape)
        shape[axis] = 1
        parts.append(np.broadcast_to(p, tuple(shape)) if np.ndim(p) == 0 else p)
    if len(parts) > 1:
        a = np.concatenate(parts, axis=axis)
    for _ in range(n):
        L = a.shape[axis]
        a = np.take(a, np.arange(1, L), axis=axis) - np.take(a, np.arange(0, L - 1), axis=axis)
    return a


@implements(np.ediff1d)
def _ediff1d(ary, to_end=None, to_begin=None):
    a = np.ravel(ary)
    d = a[1:] - a[:-1]
    parts = [p for p in (to_begin, d, to_end) if p is not None]
    return np.concatenate([np.ravel(p) if isinstance(p, TracedArray) else np.ravel(np.asarray(p))
                           for p in parts])


@implements(np.gradient)
def _gradient(*args, **kwargs):
    raise unsupported_error("np.gradient", "write the differences with slicing or np.diff")


@implements(np.interp)
def _interp(x, xp, fp, left=None, right=None, period=None):
    """Constant knots and values: elementwise piecewise linear in x (no second-order pairs)."""
    if any(isinstance(v, (TracedArray, TracedScalar)) for v in (xp, fp, left, right)):
        raise unsupported_error("np.interp with traced xp, fp, left or right")
    return np.positive(lift(x, find_session([x])))


# ----- in-place helpers -----

@implements(np.copyto)
def _copyto(dst, src, casting="same_kind", where=True):
    if not isinstance(dst, TracedArray):
        raise TracingError("np.copyto into a plain numpy array. " + BUFFER_HINT)
    if where is True:
        dst[...] = src
    else:
        dst[...] = where_(where, src, dst)


def where_(c, a, b):
    return where(c, a, b)


@implements(np.fill_diagonal)
def _fill_diagonal(a, val, wrap=False):
    if not isinstance(a, TracedArray):
        raise TracingError("np.fill_diagonal on a plain numpy array with traced values. "
                           + BUFFER_HINT)
    if a.ndim < 2:
        raise ValueError("array must be at least 2-d")
    k = min(a.shape)
    idx = np.arange(k)
    val = lift(val, a._s)
    if np.ndim(val) > 0 and not isinstance(val, TracedArray):
        val = np.resize(np.asarray(val), k)
    elif isinstance(val, TracedArray) and val.ndim > 0:
        val = np.resize(np.ravel(val), (k,))
    a[(idx,) * a.ndim] = val


@implements(np.put)
def _put(a, ind, v, mode="raise"):
    if not isinstance(a, TracedArray):
        raise TracingError("np.put into a plain numpy array with traced values. " + BUFFER_HINT)
    ind = resolve_static(ind, "the indices of np.put")
    flat = np.reshape(a, -1)
    ind = np.ravel(np.asarray(ind))
    v = lift(v, a._s)
    if isinstance(v, TracedArray):
        v = np.resize(np.ravel(v), ind.shape)
    else:
        v = np.resize(np.asarray(v), ind.shape)
    flat[ind] = v
