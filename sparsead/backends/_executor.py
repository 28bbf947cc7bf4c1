"""One product per color on a ``concurrent.futures.Executor`` (thread or process pool,
``dask.distributed``'s ``Client.get_executor()``), results in color order.

The tasks are module-level functions of picklable arguments, so process pools and
distributed workers can run them; f and its extra arguments must be picklable there.
"""

from __future__ import annotations

from concurrent.futures import Executor
from typing import Any, Callable, Sequence

import numpy as np

from .._errors import ColorEvaluationError, SparseADError


def check_executor(executor: Any) -> Any:
    """``executor`` itself when it is None or has ``submit``; else a clear error."""
    if executor is not None and not callable(getattr(executor, "submit", None)):
        raise TypeError(f"executor= takes a concurrent.futures.Executor (e.g. a "
                        f"ProcessPoolExecutor, or dask.distributed's "
                        f"Client.get_executor()), not {type(executor).__name__}")
    return executor


def map_colors(executor: Executor, task: Callable[..., Any], arguments: Sequence[tuple],
               what: str) -> list[Any]:
    """``[task(*arguments[c]) for c in colors]``, evaluated on ``executor``.

    All tasks are submitted first and collected in color order; the first failure
    cancels the tasks not yet started and raises :class:`ColorEvaluationError` naming
    the color, chained to the worker's exception.
    """
    futures = [executor.submit(task, *args) for args in arguments]
    results = []
    for c, future in enumerate(futures):
        try:
            results.append(future.result())
        except Exception as exc:  # noqa: BLE001  (re-raised with the color attached)
            for later in futures[c + 1:]:
                later.cancel()
            raise ColorEvaluationError(
                f"{what} of color {c} (of {len(futures)}) failed in a worker of "
                f"{type(executor).__name__}: {type(exc).__name__}: {exc}", c) from exc
    return results


def refuse_shared_outputs(arrays: Sequence[Any], what: str, executor: Executor) -> None:
    """A clear error when outputs of different colors share memory.

    A function that writes every result into one buffer of its own, run by a thread pool,
    has its colors overwrite each other while they run, which no copy afterwards can
    repair. (Process pools and distributed workers return copies; serially, the backends
    copy what they must.)
    """
    spans = sorted(_byte_span(a) for a in arrays if isinstance(a, np.ndarray) and a.size)
    reach = -1
    for low, high in spans:  # sorted by start: one overlaps an earlier one, O(k log k)
        if low < reach:
            raise SparseADError(
                f"{what} returned the same memory for two colors evaluated at once on "
                f"{type(executor).__name__}: it writes every result into one buffer of "
                f"its own, so the colors overwrite each other. Return a new array (for "
                f"example `return buf.copy()`), or evaluate serially (no executor=).")
        reach = max(reach, high)


def _byte_span(a: np.ndarray) -> tuple[int, int]:
    """``[low, high)`` addresses of the memory ``a`` may touch (as ``np.may_share_memory``
    bounds it)."""
    low = high = a.__array_interface__["data"][0]
    for n, stride in zip(a.shape, a.strides):
        if stride < 0:
            low += stride * (n - 1)
        else:
            high += stride * (n - 1)
    return low, high + a.itemsize
