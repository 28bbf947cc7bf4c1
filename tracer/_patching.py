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

Which callers count as user code
--------------------------------
The allocators return traced buffers only when the calling frame's module is user code:
a module whose top-level package is not one of :data:`LIBRARY_PREFIXES` (numpy, scipy,
jax, torch, pytest, ...), or one declared with :func:`user_namespaces`. Functions that a
library defines (scipy's test problems, for instance) therefore get plain numpy buffers
unless their module is declared.
"""

from __future__ import annotations

import contextlib
import importlib
import linecache
import math
import re
import sys
import threading
from contextvars import ContextVar
from typing import Iterator

import numpy as np

from . import _setops
from ._array import ACTIVE_SESSIONS, Session, TracedArray, contains_traced
from ._math import MATH_RULES
from ._scalar import TracedScalar

_NAMES = ("array", "asarray", "asanyarray", "zeros", "empty", "ones", "full")
ORIGINAL = {name: getattr(np, name) for name in _NAMES}
ORIGINAL_MATH = {name: getattr(math, name) for name in MATH_RULES}

#: Top-level packages whose calls to the allocators keep getting plain numpy arrays.
LIBRARY_PREFIXES = ("numpy", "scipy", "tracer", "jax", "jaxlib", "numba", "torch", "sparsead",
                    "coloring", "pandas", "matplotlib", "_pytest", "pytest", "hypothesis",
                    "importlib", "llvmlite", "networkx", "opt_einsum", "ml_dtypes", "sympy")

# Module-name prefixes declared as user code in this thread (see user_namespaces).
_USER_NAMESPACES: ContextVar[tuple[str, ...]] = ContextVar("tracer_user_namespaces",
                                                           default=())


@contextlib.contextmanager
def user_namespaces(*prefixes: str) -> Iterator[None]:
    """Count functions of the named modules as user code while tracing (this thread).

    By default, ``np.zeros``, ``np.empty``, ``np.ones`` and ``np.full`` return traced
    buffers only when called from user code; calls from modules of a library
    (:data:`LIBRARY_PREFIXES`: numpy, scipy, jax, torch, ...) keep getting plain numpy
    arrays, because libraries allocate work arrays that must stay numeric. A function
    that *you* trace but that lives inside such a namespace (scipy's test problems, for
    instance) then cannot write traced values into its buffers. Declare its module here.

    Parameters
    ----------
    *prefixes : str
        Module names (``"scipy.optimize._tstutils"``) or package prefixes
        (``"scipy.optimize"``): a module counts as user code when its ``__name__`` equals
        a prefix or starts with ``prefix + "."``.

    Examples
    --------
    >>> with tracer.user_namespaces("scipy.optimize._tstutils"):   # doctest: +SKIP
    ...     P = tracer.jacobian_sparsity(fun_medazko, x)

    Notes
    -----
    The declaration holds in the current thread (and ``contextvars`` context) until the
    ``with`` block ends; nested blocks add to it. It also covers sparsead calls made
    inside the block.
    """
    for p in prefixes:
        if not isinstance(p, str) or not p:
            raise TypeError(f"user_namespaces takes module names as strings, got {p!r}")
    previous = _USER_NAMESPACES.get()
    _USER_NAMESPACES.set(previous + tuple(p.rstrip(".") for p in prefixes))
    try:
        yield
    finally:
        _USER_NAMESPACES.set(previous)


def _is_library_module(name: str) -> bool:
    """Whether code of module ``name`` counts as library code (see :func:`user_namespaces`)."""
    if name.partition(".")[0] not in LIBRARY_PREFIXES:
        return False
    return not any(name == p or name.startswith(p + ".") for p in _USER_NAMESPACES.get())


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
    if _is_library_module(frame.f_globals.get("__name__", "") or ""):
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
        from ._construct import traced_buffer
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
                from ._array import find_session
                from ._construct import array_from_nested
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
