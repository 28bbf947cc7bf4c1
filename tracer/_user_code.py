"""Which callers count as user code while tracing.

The allocators return traced buffers only when the calling frame's module is user code:
a module whose top-level package is not one of :data:`LIBRARY_PREFIXES` (numpy, scipy,
jax, torch, pytest, ...), or one declared with :func:`user_namespaces`. Functions that a
library defines (scipy's test problems, for instance) therefore get plain numpy buffers
unless their module is declared.
"""

from __future__ import annotations

import contextlib
import linecache
import re
import sys
from contextvars import ContextVar
from typing import Iterator

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

