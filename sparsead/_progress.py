"""Progress of long preparations: stage messages on the ``sparsead`` logger, and an
optional progress bar (tqdm when installed, else one line per stage on stderr).

Silent by default: messages are logged at INFO level (shown once the application
configures logging, e.g. ``logging.basicConfig(level=logging.INFO)``), and the bar
appears only with ``progress=True``.

Preparation computes no values of the matrix: its stages are compile, detect, color and
plan. The stage "first evaluation" (where a compiling backend such as JAX builds the
executables of its products) is reported by the first evaluation of the prepared object,
once, under the same name as its preparation (:func:`report_first_evaluation`).
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
import weakref
from typing import Any, Iterator, Sequence

logger = logging.getLogger("sparsead")
logger.addHandler(logging.NullHandler())


class StageProgress:
    """Reports the stages of one preparation (``with progress.stage("color"): ...``)."""

    def __init__(self, what: str, stages: Sequence[str], show: bool = False) -> None:
        self.what = what
        self.stages = tuple(stages)
        self._bar: Any = None
        self._plain = False
        if show:
            try:
                from tqdm.auto import tqdm  # noqa: PLC0415  (optional dependency)
            except ImportError:
                self._plain = True
            else:
                self._bar = tqdm(total=len(self.stages), desc=what, unit="stage",
                                 leave=False)

    @contextlib.contextmanager
    def stage(self, name: str, detail: str = "") -> Iterator[None]:
        """Log the start and the duration of stage ``name``; advance the bar after it."""
        label = f"{self.what}: {name}" + (f" ({detail})" if detail else "")
        logger.info("%s ...", label)
        if self._bar is not None:
            self._bar.set_postfix_str(name)
        elif self._plain:
            print(f"{label} ...", file=sys.stderr, flush=True)
        start = time.perf_counter()
        yield
        seconds = time.perf_counter() - start
        logger.info("%s done in %.2f s", label, seconds)
        if self._bar is not None:
            self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def report_first_evaluation(prepared: Any, what: str, show: bool = False) -> None:
    """Report the first evaluation of ``prepared`` as the stage ``"first evaluation"``.

    Every evaluation of a prepared matrix (``__call__``, ``values``,
    ``value_and_jacobian``, ...) goes through its ``_fill``; until the first one, an
    instance attribute of that name wraps the class's method in a :class:`StageProgress`
    (logged, and shown when ``show``), and removes itself as it runs, so later calls take
    the plain method. Two threads evaluating first at once report it once.
    """
    ref = weakref.ref(prepared)  # no reference cycle: a prepared object frees its arrays

    def first_fill(*args: Any, **kwargs: Any) -> Any:
        obj = ref()
        fill = type(obj)._fill.__get__(obj)
        if obj.__dict__.pop("_fill", None) is None:  # another thread reports it
            return fill(*args, **kwargs)
        report = StageProgress(what, ("first evaluation",), show)
        try:
            with report.stage("first evaluation", f"{obj.ncolors} products"):
                return fill(*args, **kwargs)
        finally:
            report.close()

    prepared._fill = first_fill
