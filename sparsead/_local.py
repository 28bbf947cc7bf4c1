"""Prepared matrices on a local pattern: detect again at each new x, never reuse silently.

A pattern detected with ``sparsity_mode="local"`` holds at the point of preparation only:
a value-dependent branch may take another side elsewhere. :class:`LocalPatterns` makes a
prepared matrix detect the local pattern again at every new ``(x, args)`` and, when that
pattern is not contained in the one in use, switch to a structure (coloring and plan)
prepared for it. Structures are kept in a small cache keyed by pattern, so an object that
goes back and forth between the sides of a branch colors each side once.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable

import numpy as np
import scipy.sparse as sp

from ._args_binding import same_args
from ._points import check_point
from ._prepared import PreparedMatrix

#: Structures (coloring + plan) kept per prepared object.
MAX_STRUCTURES = 8


def _key(P: sp.csr_array) -> tuple[bytes, bytes]:
    return (P.indptr.astype(np.int64, copy=False).tobytes(),
            P.indices.astype(np.int64, copy=False).tobytes())


def contains(big: sp.csr_array, small: sp.csr_array) -> bool:
    """Whether every entry of the boolean pattern ``small`` is an entry of ``big``."""
    return small.nnz == 0 or (small > big).nnz == 0


class LocalPatterns:
    """Keeps a prepared matrix built on a local pattern correct at every point.

    Parameters
    ----------
    detect : callable
        ``detect(x, args) -> pattern``: the canonical local pattern at ``(x, args)``, as the
        prepared object stores it (symmetrized for a Hessian).
    build : callable
        ``build(pattern) -> (coloring, plan)`` for a new pattern.
    x : numpy.ndarray
        The point of preparation.
    args : tuple
        The constant arguments at preparation.
    """

    def __init__(self, detect: Callable[[np.ndarray, tuple], sp.csr_array],
                 build: Callable[[sp.csr_array], tuple[Any, Any]], x: np.ndarray,
                 args: tuple) -> None:
        self._detect = detect
        self._build = build
        self._last_x = np.array(x, copy=True)
        self._last_args = tuple(args)
        self._cache: OrderedDict[tuple[bytes, bytes], dict[str, Any]] = OrderedDict()
        self._active: tuple[bytes, bytes] | None = None
        #: Detections and re-preparations done after preparation (for tests, benchmarks).
        self.detections = 0
        self.preparations = 0

    def update(self, prepared: PreparedMatrix, x: Any, args: tuple | None) -> None:
        """Make ``prepared`` use a structure valid at ``(x, args)``."""
        if self._active is None:
            self._active = _key(prepared.sparsity)
            self._cache[self._active] = prepared._structure_state()
        x = check_point(x, prepared._x_shape, prepared._x_dtype)
        args = prepared._binding.args if args is None else tuple(args)
        if np.array_equal(x, self._last_x) and same_args(args, self._last_args):
            return
        P = self._detect(x, args)
        self.detections += 1
        self._last_x = np.array(x, copy=True)
        self._last_args = args
        if contains(prepared.sparsity, P):
            return
        key = _key(P)
        self._cache[self._active] = prepared._structure_state()  # keep its fast path
        state = self._cache.get(key)
        if state is None:
            coloring, plan = self._build(P)
            self.preparations += 1
            prepared._use_structure(P, coloring, plan)
            state = prepared._structure_state()
            self._cache[key] = state
            while len(self._cache) > MAX_STRUCTURES:
                self._cache.popitem(last=False)
        else:
            prepared._restore_structure(state)
        self._cache.move_to_end(key)
        self._active = key
