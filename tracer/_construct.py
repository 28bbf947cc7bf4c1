"""Building traced arrays: from nested lists of traced scalars, and traced buffers."""

from __future__ import annotations

import itertools
import numbers

import numpy as np

from ._array import EMPTY, Session, TracedArray, contains_traced, scalar_to_array
from ._scalar import NO_SET, TracedScalar


def _is_number(e) -> bool:
    return isinstance(e, (numbers.Number, np.number, np.bool_)) or (
        isinstance(e, np.ndarray) and e.ndim == 0 and e.dtype != object)


def _flat_from_scalars(items, session: Session) -> TracedArray:
    """1-d traced array from a flat list of traced scalars and numbers (one pass)."""
    deps, pairs, vals = [], [], []
    known = True
    for e in items:
        if type(e) is TracedScalar:
            deps.append(sorted(e.deps) if e.deps else ())
            if session.hessian:
                pairs.append(sorted(e.pairs) if e.pairs else ())
            if e.value is None:
                known = False
            vals.append(e.value)
        else:
            deps.append(())
            if session.hessian:
                pairs.append(())
            vals.append(np.asarray(e).item())
    m = len(items)

    def to_csr(lists):
        lens = np.fromiter((len(d) for d in lists), np.int64, m)
        ptr = np.zeros(m + 1, np.int64)
        np.cumsum(lens, out=ptr[1:])
        idx = np.fromiter(itertools.chain.from_iterable(lists), np.int64, int(ptr[-1]))
        return ptr, idx

    g = to_csr(deps)
    h = to_csr(pairs) if session.hessian else None
    val = np.array(vals, dtype=float) if known else None
    if known and all(isinstance(v, (bool, np.bool_)) for v in vals):
        val = np.array(vals, dtype=bool)
    dtype = val.dtype if val is not None else np.dtype(float)
    return TracedArray(session, (m,), g, h, val, dtype)


def array_from_nested(obj, session: Session) -> TracedArray:
    """Traced array from (nested) lists/tuples mixing traced scalars, arrays and numbers."""
    if isinstance(obj, TracedArray):
        return obj._sync()
    if isinstance(obj, TracedScalar):
        return scalar_to_array(obj, session)
    if isinstance(obj, np.ndarray) and obj.dtype == object:
        shape = obj.shape
        flat = _flat_from_scalars(obj.ravel().tolist(), session)
        return np.reshape(flat, shape)
    if isinstance(obj, (list, tuple)):
        if all(type(e) is TracedScalar or _is_number(e) for e in obj):
            return _flat_from_scalars(list(obj), session)
        parts = [array_from_nested(e, session) if contains_traced(e) else np.asarray(e)
                 for e in obj]
        from ._functions import stack
        return stack(parts)
    return TracedArray.constant(session, np.asarray(obj))


def traced_buffer(session: Session, shape, dtype=float, fill=0.0) -> TracedArray:
    """A traced buffer without dependence, filled with ``fill``."""
    if isinstance(shape, numbers.Integral):
        shape = (int(shape),)
    dtype = np.dtype(float if dtype is None else dtype)
    return TracedArray.constant(session, np.full(tuple(shape), fill, dtype=dtype))


__all__ = ["array_from_nested", "traced_buffer", "EMPTY", "NO_SET"]
