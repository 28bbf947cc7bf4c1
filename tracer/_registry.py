"""The registry of numpy functions on traced values (``__array_function__``).

Handler modules (:mod:`tracer._functions`, :mod:`tracer._reductions`,
:mod:`tracer._products`) register one handler per numpy function with :func:`implements`;
this module never imports them. A numpy function without a handler raises
:class:`~tracer.TracingError`: the tracer never falls back to running numpy silently.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._array import TracedArray
from ._construct import known_values
from ._errors import unsupported_error

HANDLED_FUNCTIONS: dict[Any, Any] = {}


def _attach_values(func, args, kwargs, result):
    """Fill in values of results when all traced arguments have known values."""
    targets = result if isinstance(result, (list, tuple)) else (result,)
    need = [t for t in targets if isinstance(t, TracedArray)]
    if not need:
        return
    try:
        vargs = known_values(list(args))
        vkw = {k: known_values(v) for k, v in kwargs.items()}
    except LookupError:
        return
    with np.errstate(all="ignore"):
        vres = func(*vargs, **vkw)
    vres_list = vres if isinstance(vres, (list, tuple)) else (vres,)
    for t, v in zip(targets, vres_list):
        if isinstance(t, TracedArray):
            v = np.asarray(v)
            if v.shape == t._shape:
                t._val = v


def array_function(func, args, kwargs):
    """``__array_function__`` dispatch: registered handlers only, never a silent fallback."""
    func = getattr(func, "_tracer_original", func)  # numpy may pass our patched allocators
    handler = HANDLED_FUNCTIONS.get(func)
    if handler is None:
        mod = getattr(func, "__module__", "numpy") or "numpy"
        name = getattr(func, "__name__", repr(func))
        prefix = "np." if mod.startswith("numpy") and "linalg" not in mod and "fft" not in mod \
            else mod.replace("numpy.", "np.").replace("._", ".") + "."
        if prefix.startswith("numpy"):
            prefix = "np."
        raise unsupported_error(f"{prefix}{name}")
    result = handler(*args, **kwargs)
    _attach_values(func, args, kwargs, result)
    return result


def implements(*funcs):
    """Register a handler for numpy functions (``__array_function__``)."""
    def deco(handler):
        for f in funcs:
            HANDLED_FUNCTIONS[f] = handler
        return handler
    return deco

