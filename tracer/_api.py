"""Public entry points: ``jacobian_sparsity`` and ``hessian_sparsity``."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import scipy.sparse as sp

from ._array import Session, TracedArray, contains_traced
from ._construct import array_from_nested, traced_buffer
from ._errors import TracingError, _JaxCodeDetected
from ._patching import numpy_patched
from ._scalar import TracedScalar

_FRONTENDS = ("auto", "numpy", "jax", "torch")


def _is_jax_array(x) -> bool:
    return type(x).__module__.startswith(("jax", "jaxlib"))


def _is_torch_tensor(x) -> bool:
    return type(x).__module__.startswith("torch") and hasattr(x, "numel")


def _raised_in_torch(exc: BaseException) -> bool:
    """True when an exception was raised inside torch (torch called on a numpy traced array)."""
    text = str(exc)
    if isinstance(exc, TypeError) and "must be Tensor" in text and "Traced" in text:
        return True  # torch's C functions reject the traced array before any Python frame
    tb = exc.__traceback__
    while tb is not None:
        name = tb.tb_frame.f_globals.get("__name__", "") or ""
        if name == "torch" or name.startswith("torch."):
            return True
        tb = tb.tb_next
    return False


def _torch_frontend():
    try:
        from .torch import hessian_sparsity_torch, jacobian_sparsity_torch
    except ImportError as exc:
        raise TracingError("The torch front-end is not available (tracer.torch could not be "
                           f"imported: {exc}). Install torch or pass frontend=\"numpy\".") from exc
    return jacobian_sparsity_torch, hessian_sparsity_torch


def _raised_in_jax(exc: BaseException) -> bool:
    """True when an exception passed through JAX code (JAX called on a numpy traced array)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, _JaxCodeDetected) or "__jax_array__" in str(exc):
            return True
        tb = exc.__traceback__
        while tb is not None:
            name = tb.tb_frame.f_globals.get("__name__", "") or ""
            if name.startswith(("jax.", "jaxlib.")) or name in ("jax", "jaxlib"):
                return True
            tb = tb.tb_next
        exc = exc.__cause__ or exc.__context__
    return False


def _jax_frontend():
    try:
        from .jax import hessian_sparsity_jax, jacobian_sparsity_jax
    except ImportError as exc:
        raise TracingError("The JAX front-end is not available (tracer.jax could not "
                           f"be imported: {exc}). Install jax or pass frontend=\"numpy\".") from exc
    return jacobian_sparsity_jax, hessian_sparsity_jax


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


def _trace(f, x, args, mode, hessian, out=None):
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


def jacobian_sparsity(f: Callable[..., Any], x, *, args: tuple = (), mode: str = "global",
                      out=None, frontend: str = "auto") -> sp.csr_array:
    """Detect the sparsity pattern of the Jacobian of ``f`` at (or around) ``x``.

    Parameters
    ----------
    f : callable
        ``f(x, *args)`` returning an array (or list/tuple of scalars, or a scalar); if
        ``out`` is given, the in-place form ``f(out, x, *args)`` whose return is ignored.
    x : array_like
        Input; ``n = x.size`` (flattened in C order). A JAX array or a ``torch.Tensor``
        selects the JAX or torch front-end (with ``frontend="auto"``).
    args : tuple
        Constant extra arguments (never traced).
    mode : {"global", "local"}
        ``"global"``: a pattern valid for every x; value-dependent control flow raises
        :class:`TracingError`. ``"local"``: the pattern at this x; branches, comparisons,
        ``np.where``, ``maximum``, ``max``... follow the values.
    out : array_like, optional
        An array shaped like the output, for in-place functions.
    frontend : {"auto", "numpy", "jax", "torch"}
        ``"auto"`` uses the JAX front-end when ``x`` is a JAX array or ``f`` is JAX code,
        and the torch front-end when ``x`` is a ``torch.Tensor`` or ``f`` calls torch on
        a numpy ``x``. The JAX and torch front-ends give global patterns only.

    Returns
    -------
    scipy.sparse.csr_array
        Boolean pattern of shape ``(m, n)``, ``m`` = output size (C order). It never misses
        a nonzero of the Jacobian (it may contain extra entries).

    Raises
    ------
    TracingError
        When ``f`` cannot be traced as written; the message names the operation and the fix.

    Examples
    --------
    >>> import numpy as np, tracer
    >>> P = tracer.jacobian_sparsity(lambda x: x[1:] * x[:-1], np.ones(4))
    >>> P.toarray().astype(int)
    array([[1, 1, 0, 0],
           [0, 1, 1, 0],
           [0, 0, 1, 1]])
    """
    return _detect(f, x, tuple(args), mode, frontend, hessian=False, out=out)


def hessian_sparsity(f: Callable[..., Any], x, *, args: tuple = (), mode: str = "global",
                     frontend: str = "auto") -> sp.csr_array:
    """Detect the sparsity pattern of the Hessian of a scalar-valued ``f``.

    Parameters
    ----------
    f : callable
        ``f(x, *args)`` returning a scalar (a 0-d or size-1 result).
    x : array_like
        Input; ``n = x.size``.
    args : tuple
        Constant extra arguments (never traced).
    mode : {"global", "local"}
        As in :func:`jacobian_sparsity`.
    frontend : {"auto", "numpy", "jax", "torch"}
        As in :func:`jacobian_sparsity`.

    Returns
    -------
    scipy.sparse.csr_array
        Symmetric boolean ``(n, n)`` pattern; never misses a nonzero of the Hessian.

    Examples
    --------
    >>> import numpy as np, tracer
    >>> H = tracer.hessian_sparsity(lambda x: np.sum(x[1:] * x[:-1]), np.ones(4))
    >>> H.toarray().astype(int)
    array([[0, 1, 0, 0],
           [1, 0, 1, 0],
           [0, 1, 0, 1],
           [0, 0, 1, 0]])
    """
    return _detect(f, x, tuple(args), mode, frontend, hessian=True)


def _detect(f, x, args: tuple, mode: str, frontend: str, *, hessian: bool,
            out=None) -> sp.csr_array:
    """Both detections: pick the front-end, trace, read the pattern off the output.

    ``frontend="auto"`` uses the JAX (torch) front-end for a JAX array (torch tensor)
    ``x``, and falls back to it when the numpy trace fails inside a JAX (torch) call.
    """
    if frontend not in _FRONTENDS:
        raise ValueError(f"frontend must be one of {_FRONTENDS}, got {frontend!r}")

    def with_jax():
        jac, hes = _jax_frontend()
        return (hes if hessian else jac)(f, x, args=args, mode=mode)

    def with_torch():
        if out is not None:
            raise TracingError("out= (in-place functions) is not supported for torch "
                               "functions; return the output tensor instead.")
        jac, hes = _torch_frontend()
        return (hes if hessian else jac)(f, x, args=args, mode=mode)

    if frontend == "jax" or (frontend == "auto" and _is_jax_array(x)):
        return with_jax()
    if frontend == "torch" or (frontend == "auto" and _is_torch_tensor(x)):
        return with_torch()
    try:
        y, session = _trace(f, x, args, mode, hessian=hessian, out=out)
    except Exception as exc:
        if _raised_in_jax(exc):
            if frontend == "numpy":
                raise TracingError("f calls JAX on the traced array; use frontend=\"jax\" "
                                   "(or \"auto\") to trace JAX code.") from None
            return with_jax()
        if _raised_in_torch(exc) and mode == "global":
            if frontend == "numpy":
                raise TracingError("f calls torch on the traced array; use frontend="
                                   "\"torch\" (or \"auto\") to trace torch code.") from None
            return with_torch()
        raise
    return (hessian_pattern_of if hessian else jacobian_pattern_of)(y, session.n)


__all__ = ["jacobian_sparsity", "hessian_sparsity", "jacobian_pattern_of",
           "hessian_pattern_of", "trace_input", "as_output"]
