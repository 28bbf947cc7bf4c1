"""Public entry points: ``jacobian_sparsity`` and ``hessian_sparsity``, and the choice of
front-end (numpy engine, JAX, torch).

The JAX and torch front-ends (``tracer.jax``, ``tracer.torch``) are imported when they
are first used, after their optional dependency is found: a numpy user does not pay for
loading them. They are the only repository modules imported inside a function.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable

import scipy.sparse as sp

from . import _functions, _operators  # noqa: F401  (install the numpy handlers and operators)
from ._errors import TracingError, _JaxCodeDetected
from ._trace import hessian_pattern_of, jacobian_pattern_of, trace

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


def _require(module: str, name: str) -> None:
    """Import the optional dependency of a front-end, or say clearly that it is missing."""
    try:
        importlib.import_module(module)
    except ImportError as exc:
        raise TracingError(f"The {name} front-end is not available ({module} could not be "
                           f"imported: {exc}). Install {module} or pass "
                           'frontend="numpy".') from exc


def _jax_frontend():
    """The JAX front-end's two detectors, imported on first use (JAX is optional)."""
    _require("jax", "JAX")
    from .jax import hessian_sparsity_jax, jacobian_sparsity_jax
    return jacobian_sparsity_jax, hessian_sparsity_jax


def _torch_frontend():
    """The torch front-end's two detectors, imported on first use (torch is optional)."""
    _require("torch", "torch")
    from .torch import hessian_sparsity_torch, jacobian_sparsity_torch
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
        jacobian_jax, hessian_jax = _jax_frontend()
        return (hessian_jax if hessian else jacobian_jax)(f, x, args=args, mode=mode)

    def with_torch():
        if out is not None:
            raise TracingError("out= (in-place functions) is not supported for torch "
                               "functions; return the output tensor instead.")
        jacobian_torch, hessian_torch = _torch_frontend()
        return (hessian_torch if hessian else jacobian_torch)(f, x, args=args, mode=mode)

    if frontend == "jax" or (frontend == "auto" and _is_jax_array(x)):
        return with_jax()
    if frontend == "torch" or (frontend == "auto" and _is_torch_tensor(x)):
        return with_torch()
    try:
        y, session = trace(f, x, args, mode, hessian=hessian, out=out)
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


__all__ = ["jacobian_sparsity", "hessian_sparsity"]
