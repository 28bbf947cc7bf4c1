"""One trace on the numpy engine: the traced input, running ``f``, the patterns of the output.

The front-ends (:mod:`tracer._api` for numpy code, :mod:`tracer.torch`, the JAX front-end
through :mod:`tracer._interop`) build on these.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ._array import TracedArray
from ._construct import array_from_nested, contains_traced, traced_buffer
from ._errors import TracingError
from ._patching import numpy_patched
from ._scalar import TracedScalar
from ._session import Session


def trace_input(x, session: Session) -> TracedArray:
    """The traced input: element ``k`` depends on input ``k``."""
    x = np.asarray(x)
    n = x.size
    g = (np.arange(n + 1, dtype=np.int64), np.arange(n, dtype=np.int64))
    val = np.array(x, dtype=np.result_type(x.dtype, float)) if session.local else None
    dtype = np.result_type(x.dtype, float)
    return TracedArray(session, x.shape, g, None, val, dtype)


def as_output(result, session: Session) -> TracedArray:
    """Convert whatever f returned (array, scalar, list, tuple, number) to a traced array."""
    if isinstance(result, TracedArray):
        return result._sync()
    if isinstance(result, TracedScalar):
        return array_from_nested([result], session).reshape(())
    if isinstance(result, (list, tuple)) or (isinstance(result, np.ndarray)
                                             and result.dtype == object):
        if contains_traced(result):
            return array_from_nested(result, session)._sync()
    if result is None:
        raise TracingError("f returned None. Return the output array (or pass out= for an "
                           "in-place function f(out, x, *args)).")
    try:
        arr = np.asarray(result, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TracingError(f"Cannot interpret the return value of f (type "
                           f"{type(result).__name__}) as an array: {exc}") from exc
    return TracedArray.constant(session, arr)


def trace(f, x, args, mode, hessian, out=None):
    """Run ``f`` on the traced input built from ``x``; return the traced output and session."""
    x_arr = np.asarray(x)
    if x_arr.dtype == object:
        raise TracingError("x must be a numeric array")
    session = Session(x_arr.size, hessian, mode)
    tx = trace_input(x_arr, session)
    with numpy_patched(session):
        if out is not None:
            out_shape = np.shape(out)
            buf = traced_buffer(session, out_shape, float, 0.0)
            f(buf, tx, *args)
            result = buf
        else:
            result = f(tx, *args)
        y = as_output(result, session)
    return y, session


def jacobian_pattern_of(y: TracedArray, n: int) -> sp.csr_array:
    """Boolean ``(y.size, n)`` CSR pattern of a traced output."""
    y._sync()
    ptr, idx = y._g
    m = y.size
    return sp.csr_array((np.ones(idx.size, dtype=bool), idx, ptr), shape=(m, n), copy=False)


def hessian_pattern_of(y: TracedArray, n: int) -> sp.csr_array:
    """Symmetric boolean ``(n, n)`` CSR pattern from the pair set of a scalar output."""
    y._sync()
    if y.size != 1:
        raise TracingError(f"hessian_sparsity needs a scalar-valued f, but f returned an array "
                           f"of shape {y.shape}. Return a scalar (e.g. np.sum(...)).")
    if y._h is None:
        raise TracingError("internal: the output was not traced in Hessian mode")
    pairs = y._h[1]
    i = pairs // max(n, 1)
    j = pairs % max(n, 1)
    rows = np.concatenate([i, j])
    cols = np.concatenate([j, i])
    H = sp.coo_array((np.ones(rows.size, dtype=bool), (rows, cols)), shape=(n, n)).tocsr()
    H.sum_duplicates()
    H.sort_indices()
    return H


__all__ = ["trace", "trace_input", "as_output", "jacobian_pattern_of", "hessian_pattern_of"]
