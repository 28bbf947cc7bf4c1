"""Temporary numpy patches active only while a function is traced.

* ``np.zeros/empty/ones/full`` called from user code (not from numpy, scipy, ... themselves)
  with a float dtype return traced buffers, so ``out = np.zeros(n); out[k] = ...`` works.
* ``np.array/asarray/asanyarray`` accept (nested) lists of traced scalars and arrays.
* ``np.asanyarray`` called by ``scipy.sparse`` on a traced array returns a 0-d object
  array, which makes ``L @ u`` return NotImplemented so that ``u.__rmatmul__`` handles it.

Patches nest (re-entrant traces) and are always restored, also on exceptions.
"""

from __future__ import annotations

import contextlib
import importlib
import linecache
import re
import sys

import numpy as np

from . import _setops
from ._array import Session, TracedArray, contains_traced

_NAMES = ("array", "asarray", "asanyarray", "zeros", "empty", "ones", "full")
ORIGINAL = {name: getattr(np, name) for name in _NAMES}
_SESSIONS: list[Session] = []

# callers that must keep getting plain numpy arrays
_LIBRARY_PREFIXES = ("numpy", "scipy", "tracer", "jax", "jaxlib", "numba", "torch", "sparsead",
                     "coloring", "pandas", "matplotlib", "_pytest", "pytest", "hypothesis",
                     "importlib", "llvmlite", "networkx", "opt_einsum", "ml_dtypes", "sympy")


_POSITIONS: dict = {}  # code object -> source positions of its instructions


def _from_user_code(func_name: str, depth: int = 2) -> bool:
    """True when user Python code (not a library, not compiled code) called ``np.<func_name>``.

    Compiled code (Cython in ``numpy.random``, for instance) calling ``np.empty`` has no
    Python frame of its own: the nearest frame is the user's, but executing a different
    call. So the source of the call being executed must itself name the allocator.
    """
    try:
        frame = sys._getframe(depth)
    except ValueError:  # pragma: no cover
        return False
    name = frame.f_globals.get("__name__", "") or ""
    if name.partition(".")[0] in _LIBRARY_PREFIXES:
        return False
    code = frame.f_code
    text = linecache.getline(code.co_filename, frame.f_lineno)
    if not text:
        # no source (exec, python -c): the function must at least reference the name
        return func_name in code.co_names
    try:
        positions = _POSITIONS.get(code)
        if positions is None:
            if len(_POSITIONS) > 512:
                _POSITIONS.clear()
            positions = _POSITIONS[code] = list(code.co_positions())
        pos = positions[frame.f_lasti // 2]
        if pos[0] == pos[1] == frame.f_lineno and pos[2] is not None:
            text = text[pos[2]:pos[3]]
        elif pos[0] is not None and pos[1] is not None and pos[1] > pos[0]:
            text = "".join(linecache.getline(code.co_filename, k)
                           for k in range(pos[0], pos[1] + 1))
    except (AttributeError, IndexError, TypeError):  # pragma: no cover
        pass
    return re.search(r"\b" + func_name + r"\s*\(", text) is not None


def _float_dtype(dtype) -> bool:
    return dtype is None or np.dtype(dtype).kind in "fc"


def _alloc_wrapper(name, fill):
    orig = ORIGINAL[name]

    def wrapper(shape, *args, **kwargs):
        if not _SESSIONS or kwargs.get("like") is not None or not _from_user_code(name):
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
        from ._construct import traced_buffer
        session = _SESSIONS[-1]
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
        if _SESSIONS:
            if isinstance(obj, TracedArray):
                if name == "asanyarray" and (sys._getframe(1).f_globals.get(
                        "__name__", "") or "").startswith("scipy.sparse."):
                    # scipy.sparse L @ u: make L give up so that u.__rmatmul__ runs
                    return orig(None, dtype=object)
                dtype = args[0] if args else kwargs.get("dtype")
                r = obj if name != "array" else obj.copy()
                return r if dtype is None else r.astype(dtype)
            if contains_traced(obj):
                from ._array import find_session
                from ._construct import array_from_nested
                r = array_from_nested(obj, find_session([obj]) or _SESSIONS[-1])
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


_NUMBA_READY = False


def _prepare_numba() -> None:
    """Build Numba's typing tables before numpy is patched for the first time.

    Numba fills its tables (keyed by function identity, e.g. ``np.zeros``) lazily on the
    first compilation. Were that to happen during a trace, the tables would record the
    patch wrappers, and every later kernel in the process that calls ``np.zeros`` (the
    coloring package's, for one) would fail to compile.
    """
    global _NUMBA_READY
    if not _NUMBA_READY:
        from numba.core.registry import cpu_target

        cpu_target.typing_context.refresh()
        cpu_target.target_context.refresh()
        # The kernels module binds np.empty when imported (tracer._setops imports it on
        # first need): import it here, while numpy is not patched.
        importlib.import_module("tracer._kernels")
        _NUMBA_READY = True


@contextlib.contextmanager
def numpy_patched(session: Session):
    """Install the patches for the duration of a trace (nesting-safe).

    Small traces skip building Numba's tables (a cold cost of about a second) and keep
    to the numpy path of :mod:`tracer._setops`.
    """
    if session.n >= _setops.PREPARE_MIN_INPUTS:
        _prepare_numba()
    numpy_only = contextlib.nullcontext() if _NUMBA_READY else _setops.numpy_only()
    _SESSIONS.append(session)
    if len(_SESSIONS) == 1:
        for name, w in _WRAPPERS.items():
            setattr(np, name, w)
    try:
        with numpy_only:
            yield
    finally:
        _SESSIONS.pop()
        if not _SESSIONS:
            for name, orig in ORIGINAL.items():
                setattr(np, name, orig)


def is_patched() -> bool:
    """True while a trace is active (numpy functions are patched)."""
    return bool(_SESSIONS)
