"""Operands as traced arrays: traced scalars, nested lists, constants, traced buffers.

:func:`lift` turns any operand of a numpy call into a traced array (or leaves a plain
constant), :func:`find_session` finds the trace the operands belong to, and
:func:`resolve_static` replaces traced non-data arguments (shifts, indices) by their values
(:func:`known_values`, which :mod:`tracer._registry` also uses to compute results' values).
"""

from __future__ import annotations

import itertools
import numbers

import numpy as np

from ._array import TracedArray
from ._errors import control_flow_error
from ._scalar import NO_SET, TracedScalar
from ._session import Session
from ._sets import EMPTY


def scalar_to_array(s, session: Session | None = None) -> TracedArray:
    """0-d traced array from a traced scalar."""
    session = s.s if session is None else session
    deps = np.array(sorted(s.deps), np.int64) if s.deps else EMPTY
    g = (np.array([0, deps.size], np.int64), deps)
    h = None
    if session.hessian:
        pairs = np.array(sorted(s.pairs), np.int64) if s.pairs else EMPTY
        h = (np.array([0, pairs.size], np.int64), pairs)
    val = None if s.value is None else np.asarray(s.value, s.dtype)
    return TracedArray(session, (), g, h, val, s.dtype)


def lift(x, session: Session):
    """Traced operand, or a plain numpy constant when ``x`` carries no traced data."""
    if isinstance(x, TracedArray):
        return x._sync()
    if isinstance(x, TracedScalar):
        return scalar_to_array(x, session)
    if isinstance(x, (list, tuple)) and contains_traced(x):
        return array_from_nested(x, session)
    return x


def contains_traced(x) -> bool:
    if isinstance(x, (TracedArray, TracedScalar)):
        return True
    if isinstance(x, (list, tuple)):
        return any(contains_traced(e) for e in x)
    if isinstance(x, np.ndarray) and x.dtype == object:
        return any(contains_traced(e) for e in x.ravel().tolist())
    return False


def find_session(objs) -> Session:
    for x in objs:
        if isinstance(x, TracedArray):
            return x._s
        if isinstance(x, TracedScalar):
            return x.s
        if isinstance(x, (list, tuple)):
            s = find_session(x)
            if s is not None:
                return s
        if isinstance(x, dict):
            s = find_session(list(x.values()))
            if s is not None:
                return s
    return None


def values_of(x):
    """Plain values of an operand, or None when unknown."""
    if isinstance(x, TracedArray):
        return x._val
    return x


def has_deps(x) -> bool:
    return isinstance(x, TracedArray) and (x._g[1].size > 0
                                           or (x._h is not None and x._h[1].size > 0))


def known_values(x):
    """``x`` with its traced arrays and scalars (also in nested lists and tuples) replaced
    by their values; LookupError when one of them has none (global mode)."""
    if isinstance(x, TracedArray):
        x._sync()
        if x._val is None:
            raise LookupError("a traced array")
        return x._val
    if isinstance(x, TracedScalar):
        if x.value is None:
            raise LookupError("a traced value")
        return x.value
    if isinstance(x, list):
        return [known_values(e) for e in x]
    if isinstance(x, tuple):
        return tuple(known_values(e) for e in x)
    return x


def resolve_static(x, what: str):
    """Non-data arguments (shifts, indices, shapes) must be known: values or an error."""
    try:
        return known_values(x)
    except LookupError as e:
        raise control_flow_error(f"Passing {e.args[0]} as {what}") from None


def _is_number(e) -> bool:
    return isinstance(e, (numbers.Number, np.number, np.bool_)) or (
        isinstance(e, np.ndarray) and e.ndim == 0 and e.dtype != object)


def _flat_from_scalars(items, session: Session) -> TracedArray:
    """1-d traced array from a flat list of traced scalars and numbers (one pass)."""
    deps, pairs, vals = [], [], []
    dtypes = set()
    known = True
    for e in items:
        if type(e) is TracedScalar:
            deps.append(sorted(e.deps) if e.deps else ())
            if session.hessian:
                pairs.append(sorted(e.pairs) if e.pairs else ())
            if e.value is None:
                known = False
            vals.append(e.value)
            dtypes.add(e.dtype)
        else:
            deps.append(())
            if session.hessian:
                pairs.append(())
            e = np.asarray(e)
            vals.append(e.item())
            dtypes.add(e.dtype)
    m = len(items)

    def to_csr(lists):
        lens = np.fromiter((len(d) for d in lists), np.int64, m)
        ptr = np.zeros(m + 1, np.int64)
        np.cumsum(lens, out=ptr[1:])
        idx = np.fromiter(itertools.chain.from_iterable(lists), np.int64, int(ptr[-1]))
        return ptr, idx

    g = to_csr(deps)
    h = to_csr(pairs) if session.hessian else None
    # numpy's dtype of np.array([...]) of numpy scalars of these dtypes
    dtype = np.result_type(*dtypes) if dtypes else np.dtype(float)
    val = np.array(vals, dtype=dtype) if known else None
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
        return np.stack(parts)  # through the registry (tracer._functions)
    return TracedArray.constant(session, np.asarray(obj))


def traced_buffer(session: Session, shape, dtype=float, fill=0.0) -> TracedArray:
    """A traced buffer without dependence, filled with ``fill``."""
    if isinstance(shape, numbers.Integral):
        shape = (int(shape),)
    dtype = np.dtype(float if dtype is None else dtype)
    return TracedArray.constant(session, np.full(tuple(shape), fill, dtype=dtype))


__all__ = ["array_from_nested", "traced_buffer", "scalar_to_array", "lift", "contains_traced",
           "find_session", "values_of", "has_deps", "known_values", "resolve_static", "EMPTY",
           "NO_SET"]
