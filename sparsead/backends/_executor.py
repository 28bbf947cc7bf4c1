"""One product per color on a ``concurrent.futures.Executor`` (thread or process pool,
``dask.distributed``'s ``Client.get_executor()``), results in color order.

The tasks are module-level functions of picklable arguments, so process pools and
distributed workers can run them; f and its extra arguments must be picklable there.
"""

from __future__ import annotations

from concurrent.futures import Executor
from typing import Any, Callable, Sequence

from .._errors import ColorEvaluationError


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
