"""Reused value arrays for the matrices a prepared object returns."""

from __future__ import annotations

import sys
import threading
from typing import Any

import numpy as np


class ValuePool:
    """Value arrays of results the caller no longer holds, handed out again.

    A new large array costs a page fault per 4 KiB page when it is first written (on
    some virtual machines more than the whole gather). Every result's ``data`` is a
    view of one of at most ``keep`` pooled buffers; a buffer is reused only when nothing
    but the pool refers to it (no matrix, no view of its values is alive anywhere), so a
    result the caller still holds is never overwritten.
    """

    def __init__(self, size: int, dtype: Any, keep: int = 2) -> None:
        self.size, self.dtype, self.keep = int(size), np.dtype(dtype), keep
        self._buffers: list[np.ndarray] = []
        self._lock = threading.Lock()

    def take(self) -> np.ndarray:
        """An uninitialized ``(size,)`` array nobody else refers to."""
        with self._lock:
            for buf in self._buffers:
                # references: the list, the loop variable and getrefcount's argument
                if sys.getrefcount(buf) <= 3:
                    return buf.view()
            buf = np.empty(self.size, dtype=self.dtype)
            if len(self._buffers) < self.keep:
                self._buffers.append(buf)
                return buf.view()
            return buf
