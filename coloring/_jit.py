"""``njit`` that imports Numba only when a kernel first runs.

Importing Numba takes a noticeable part of a cold ``import sparsead``, and small problems
never run a kernel (see :mod:`coloring._small`). The kernels are therefore defined with
this decorator: each is a :class:`LazyKernel` until one of them is called. That call
imports Numba and replaces every lazy kernel of the packages that defined one, in every
module that holds it, by a real Numba dispatcher, so that kernels calling kernels
compile as usual (Numba resolves such calls through the module globals at compile
time). Kernels defined after that moment are Numba dispatchers right away.
"""

from __future__ import annotations

import sys
import threading
from typing import Any, Callable

__all__ = ["njit", "LazyKernel", "is_compiled"]

_numba_njit: Callable | None = None
_packages: set[str] = set()  # top-level packages that defined lazy kernels
_lock = threading.Lock()


class LazyKernel:
    """A kernel whose Numba dispatcher is built on its first call."""

    def __init__(self, py_func: Callable, options: dict[str, Any]) -> None:
        self.py_func = py_func
        self.options = options
        self._dispatcher: Any = None
        self.__name__ = py_func.__name__
        self.__qualname__ = py_func.__qualname__
        self.__doc__ = py_func.__doc__
        self.__module__ = py_func.__module__

    def dispatcher(self) -> Any:
        """The Numba dispatcher (imports Numba and swaps every lazy kernel on first use)."""
        if self._dispatcher is None:
            _materialize()
        if self._dispatcher is None:  # held by no module (a kernel defined in a function)
            with _lock:
                if self._dispatcher is None:
                    self._dispatcher = _numba_njit(**self.options)(self.py_func)
        return self._dispatcher

    def __call__(self, *args: Any) -> Any:
        return self.dispatcher()(*args)

    def __getattr__(self, name: str) -> Any:  # signatures, stats, ... of the dispatcher
        if name.startswith("_"):  # private and special names (copy, pickle) stay lazy
            raise AttributeError(name)
        return getattr(self.dispatcher(), name)

    def __repr__(self) -> str:
        return f"<lazy Numba kernel {self.__module__}.{self.__qualname__}>"


def _materialize() -> None:
    global _numba_njit
    with _lock:
        if _numba_njit is None:
            import numba

            _numba_njit = numba.njit
        prefixes = tuple(p + "." for p in _packages)
        for name, module in list(sys.modules.items()):
            if module is None or not (name in _packages or name.startswith(prefixes)):
                continue
            for attr, value in list(vars(module).items()):
                if isinstance(value, LazyKernel):
                    if value._dispatcher is None:
                        value._dispatcher = _numba_njit(**value.options)(value.py_func)
                    setattr(module, attr, value._dispatcher)


def njit(*args: Any, **options: Any) -> Any:
    """``numba.njit`` (same call forms), deferred to the first call of any kernel."""
    def decorate(fn: Callable) -> Any:
        if _numba_njit is not None:
            return _numba_njit(**options)(fn)
        _packages.add(fn.__module__.partition(".")[0])
        return LazyKernel(fn, options)

    if args and callable(args[0]) and not options:
        return decorate(args[0])
    return decorate


def is_compiled(kernel: Any) -> bool:
    """Whether ``kernel`` has a compiled signature in this process (never imports Numba)."""
    if isinstance(kernel, LazyKernel):
        kernel = kernel._dispatcher
    return kernel is not None and bool(kernel.signatures)
