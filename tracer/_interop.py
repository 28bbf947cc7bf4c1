"""Small API used by the JAX front-end (``tracer.jax``) on top of the engine.

The JAX front-end evaluates jaxpr equations with numpy functions on traced arrays; these
helpers cover what numpy itself cannot express: merging branches and loop carries,
fixed-point tests, and reading results.
"""

from __future__ import annotations

import contextlib

import numpy as np
import scipy.sparse as sp

from ._array import TracedArray
from ._construct import find_session, lift
from ._patching import numpy_patched
from ._scalar import TracedScalar
from ._session import Session
from ._sets import EMPTY, broadcast_map, empty_sets, union_pieces
from ._trace import hessian_pattern_of as _hess
from ._trace import jacobian_pattern_of as _jac
from ._trace import trace_input as _trace_input
from ._ufuncs import elementwise_sets


def is_traced(obj) -> bool:
    """True for traced arrays and traced scalars of the numpy engine."""
    return isinstance(obj, (TracedArray, TracedScalar))


def _to_array(x, session):
    r = lift(x, session)
    if not isinstance(r, TracedArray):
        r = TracedArray.constant(session, np.asarray(r))
    return r._sync()


def union_dependence(*arrays) -> TracedArray:
    """Elementwise union (with broadcasting) of first-order sets and pair sets; no new pairs.

    Values are kept only if all inputs have equal known values.
    """
    session = find_session(list(arrays))
    if session is None:
        raise TypeError("union_dependence needs at least one traced array")
    ops = [_to_array(a, session) for a in arrays]
    shape = np.broadcast_shapes(*[o.shape for o in ops])
    m = int(np.prod(shape, dtype=np.int64))
    g = union_pieces([(o._g, broadcast_map(o.shape, shape)) for o in ops], m)
    h = None
    if session.hessian:
        h = union_pieces([(o._h, broadcast_map(o.shape, shape)) for o in ops], m)
    val = None
    vals = [o._val for o in ops]
    if all(v is not None for v in vals):
        v0 = np.broadcast_to(vals[0], shape)
        if all(np.array_equal(np.broadcast_to(v, shape), v0, equal_nan=True) for v in vals[1:]):
            val = np.array(v0)
    dtype = np.result_type(*[o.dtype for o in ops])
    return TracedArray(session, shape, g, h, val, dtype)


def elementwise_dependence(flags, *operands) -> TracedArray:
    """An elementwise function of ``operands`` whose derivatives are given by ``flags``.

    ``flags`` is ``(d1, d2)`` for one operand or ``(da, db, daa, dbb, dab)`` for two (the
    layout of :mod:`tracer._derivatives`); operands broadcast. The result has no values.
    """
    session = find_session(list(operands))
    if session is None:
        raise TypeError("elementwise_dependence needs at least one traced operand")
    if len(flags) != (2 if len(operands) == 1 else 5) or len(operands) > 2:
        raise ValueError(f"{len(flags)} derivative flags do not fit {len(operands)} operands")
    ops = [_to_array(o, session) for o in operands]
    shape = np.broadcast_shapes(*[o.shape for o in ops])
    g, h = elementwise_sets(session, flags, ops, shape)
    dtype = np.result_type(*[o.dtype for o in ops])
    if not np.issubdtype(dtype, np.inexact):
        dtype = np.dtype(np.float64)
    return TracedArray(session, shape, g, h, None, dtype)


def same_dependence(a, b) -> bool:
    """True when ``a`` and ``b`` have identical shapes, first-order sets and pair sets."""
    session = find_session([a, b])
    if session is None:
        return True
    a, b = _to_array(a, session), _to_array(b, session)
    if a.shape != b.shape:
        return False
    for x, y in ((a._g, b._g),) + (((a._h, b._h),) if session.hessian else ()):
        if not (np.array_equal(x[0], y[0]) and np.array_equal(x[1], y[1])):
            return False
    return True


def drop_dependence(a) -> TracedArray:
    """A traced array of ``a``'s shape and dtype without dependence (values kept)."""
    session = find_session([a])
    a = _to_array(a, session)
    return TracedArray(session, a.shape, empty_sets(a.size), None, a._val, a.dtype)


def trace_inputs(x, *, hessian: bool, mode: str) -> TracedArray:
    """The traced input array for ``x`` (its session is attached to the array).

    Use it inside ``with tracing(x_traced):`` if the traced code allocates numpy buffers
    with ``np.zeros`` or builds arrays with ``np.array([...])`` of traced scalars.
    """
    x = np.asarray(x)
    session = Session(x.size, hessian, mode)
    return _trace_input(x, session)


@contextlib.contextmanager
def tracing(traced_input: TracedArray):
    """Context in which numpy allocators and ``np.array`` accept traced values."""
    with numpy_patched(traced_input._s):
        yield


def jacobian_pattern_of(out, n: int) -> sp.csr_array:
    """Boolean ``(out.size, n)`` Jacobian pattern of a traced output."""
    if not isinstance(out, TracedArray):
        raise TypeError("jacobian_pattern_of expects a traced array")
    return _jac(out, n)


def hessian_pattern_of(out, n: int) -> sp.csr_array:
    """Symmetric boolean ``(n, n)`` Hessian pattern of a traced scalar output."""
    if not isinstance(out, TracedArray):
        raise TypeError("hessian_pattern_of expects a traced array")
    return _hess(out, n)


__all__ = ["is_traced", "union_dependence", "elementwise_dependence", "same_dependence",
           "drop_dependence", "trace_inputs", "tracing",
           "jacobian_pattern_of", "hessian_pattern_of", "EMPTY"]
