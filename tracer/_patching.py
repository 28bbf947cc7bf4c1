"""Temporary numpy (and ``math``) patches, acting only in the thread that traces.

* ``np.zeros/empty/ones/full`` called from user code (not from numpy, scipy, ... themselves)
  with a float dtype return traced buffers, so ``out = np.zeros(n); out[k] = ...`` works.
* ``np.array/asarray/asanyarray`` accept (nested) lists of traced scalars and arrays.
* ``np.asanyarray`` called by ``scipy.sparse`` on a traced array returns a 0-d object
  array, which makes ``L @ u`` return NotImplemented so that ``u.__rmatmul__`` handles it.
* The smooth and piecewise ``math`` functions (:data:`tracer._math.MATH_RULES`) send traced
  arguments to the numpy function of the same name (``math.exp`` -> ``np.exp``).

The wrappers are installed in the modules while any thread traces, and each call looks up
the traces of its own thread (one ``ContextVar`` lookup): a thread that is not tracing gets
numpy's and math's own behaviour. Patches nest (re-entrant traces, concurrent threads) and
are always removed after the last trace ends, also on exceptions. Threads that f itself
starts do not trace either: compute with traced values in the thread that traces.

Which callers count as user code (the allocators patch only their calls) is decided in
:mod:`tracer._user_code`.
"""

from __future__ import annotations

import contextlib
import importlib
import math
import sys
import threading
from typing import Iterator

import numpy as np

from . import _setops
from ._array import TracedArray
from ._construct import array_from_nested, contains_traced, find_session, traced_buffer
from ._math import MATH_RULES
from ._scalar import TracedScalar
from ._session import ACTIVE_SESSIONS, Session
from ._user_code import _from_user_code

_NAMES = ("array", "asarray", "asanyarray", "zeros", "empty", "ones", "full")
ORIGINAL = {name: getattr(np, name) for name in _NAMES}
ORIGINAL_MATH = {name: getattr(math, name) for name in MATH_RULES}


def _float_dtype(dtype) -> bool:
    return dtype is None or np.dtype(dtype).kind in "fc"


def _alloc_wrapper(name, fill):
    orig = ORIGINAL[name]

    def wrapper(shape, *args, **kwargs):
        sessions = ACTIVE_SESSIONS.get()
        if not sessions or kwargs.get("like") is not None or not _from_user_code(name):
            return orig(shape, *args, **kwargs)
        if name == "full":
            fill_value = args[0] if args else kwargs.get("fill_value")
            dtype = args[1] if len(args) > 1 else kwargs.get("dtype")
            if dtype is None and not contains_traced(fill_value):
                dtype = np.asarray(fill_value).dtype
        else:
            fill_value = fill
            dtype = args[0] if args else kwargs.get("dtype")
        if not _float_dtype(dtype):
            return orig(shape, *args, **kwargs)
        session = sessions[-1]
        if contains_traced(fill_value):
            buf = traced_buffer(session, shape, dtype, 0.0)
            buf[...] = fill_value
            return buf
        return traced_buffer(session, shape, dtype, fill_value)

    wrapper.__wrapped__ = orig
    wrapper._tracer_original = orig
    wrapper.__name__ = orig.__name__
    wrapper.__doc__ = orig.__doc__
    return wrapper


def _array_wrapper(name):
    orig = ORIGINAL[name]

    def wrapper(obj, *args, **kwargs):
        if type(obj) is np.ndarray and obj.dtype != object:
            return orig(obj, *args, **kwargs)
        sessions = ACTIVE_SESSIONS.get()
        if sessions:
            if isinstance(obj, TracedArray):
                if name == "asanyarray" and (sys._getframe(1).f_globals.get(
                        "__name__", "") or "").startswith("scipy.sparse."):
                    # scipy.sparse L @ u: make L give up so that u.__rmatmul__ runs
                    return orig(None, dtype=object)
                dtype = args[0] if args else kwargs.get("dtype")
                r = obj if name != "array" else obj.copy()
                return r if dtype is None else r.astype(dtype)
            if contains_traced(obj):
                r = array_from_nested(obj, find_session([obj]) or sessions[-1])
                dtype = args[0] if args else kwargs.get("dtype")
                return r if dtype is None else r.astype(dtype)
        return orig(obj, *args, **kwargs)

    wrapper.__wrapped__ = orig
    wrapper._tracer_original = orig
    wrapper.__name__ = orig.__name__
    wrapper.__doc__ = orig.__doc__
    return wrapper


_WRAPPERS = {
    "zeros": _alloc_wrapper("zeros", 0.0),
    "empty": _alloc_wrapper("empty", 0.0),
    "ones": _alloc_wrapper("ones", 1.0),
    "full": _alloc_wrapper("full", None),
    "array": _array_wrapper("array"),
    "asarray": _array_wrapper("asarray"),
    "asanyarray": _array_wrapper("asanyarray"),
}


def _math_wrapper(name: str):
    orig = ORIGINAL_MATH[name]
    rule = MATH_RULES[name]

    def wrapper(*args):
        if ACTIVE_SESSIONS.get() and any(isinstance(a, _TRACED) for a in args):
            return rule(*args)
        return orig(*args)

    wrapper.__wrapped__ = orig
    wrapper._tracer_original = orig
    wrapper.__name__ = orig.__name__
    wrapper.__doc__ = orig.__doc__
    return wrapper


_TRACED = (TracedArray, TracedScalar)
_MATH_WRAPPERS = {name: _math_wrapper(name) for name in MATH_RULES}

_NUMBA_READY = False
_INSTALL_LOCK = threading.Lock()
_RUNNING = 0  # traces running in all threads; the wrappers are installed while > 0


def _prepare_numba() -> None:
    """Build Numba's typing tables before numpy is patched for the first time, and make
    Numba type the wrappers as the functions they wrap.

    Numba fills its tables (keyed by function identity, e.g. ``np.zeros``) lazily on the
    first compilation. Were that to happen during a trace, the tables would record the
    patch wrappers, and every later kernel in the process that calls ``np.zeros`` (the
    coloring package's, for one) would fail to compile. A kernel compiled while the
    wrappers are installed (in any thread) resolves ``np.zeros`` or ``math.exp`` to a
    wrapper: registered here with the original's type, it compiles to the original.
    Called with ``_INSTALL_LOCK`` held.
    """
    global _NUMBA_READY
    if not _NUMBA_READY:
        from numba.core.registry import cpu_target

        typing = cpu_target.typing_context
        typing.refresh()
        cpu_target.target_context.refresh()
        for originals, wrappers in ((ORIGINAL, _WRAPPERS), (ORIGINAL_MATH, _MATH_WRAPPERS)):
            for name, wrapper in wrappers.items():
                try:
                    typing.insert_global(wrapper, typing.resolve_value_type(originals[name]))
                except Exception:  # noqa: BLE001  (a function Numba does not type)
                    pass
        # The kernels module binds np.empty when imported (tracer._setops imports it on
        # first need): import it here, while numpy is not patched.
        importlib.import_module("tracer._kernels")
        _NUMBA_READY = True


def _install(patched: bool) -> None:
    for module, table in ((np, _WRAPPERS if patched else ORIGINAL),
                          (math, _MATH_WRAPPERS if patched else ORIGINAL_MATH)):
        for name, fn in table.items():
            setattr(module, name, fn)


@contextlib.contextmanager
def numpy_patched(session: Session) -> Iterator[None]:
    """Trace ``session`` in this thread for the duration of the block.

    Pushes the session on this thread's stack and installs the wrappers in numpy and
    math while any thread traces. Nesting-safe and thread-safe; the modules get their
    own functions back when the last trace of the process ends, also on exceptions.
    """
    global _RUNNING
    previous = ACTIVE_SESSIONS.get()
    with _INSTALL_LOCK:
        _prepare_numba()
        _RUNNING += 1
        if _RUNNING == 1:
            _install(True)
    ACTIVE_SESSIONS.set(previous + (session,))
    small = (_setops.numpy_only() if session.n < _setops.SMALL_TRACE_INPUTS
             else contextlib.nullcontext())
    try:
        with small:
            yield
    finally:
        ACTIVE_SESSIONS.set(previous)
        with _INSTALL_LOCK:
            _RUNNING -= 1
            if _RUNNING == 0:
                _install(False)


def is_patched() -> bool:
    """True while a trace runs in this thread."""
    return bool(ACTIVE_SESSIONS.get())
