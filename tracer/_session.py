"""The session of a trace (its settings) and the stack of traces running in this thread."""

from __future__ import annotations

from contextvars import ContextVar

from ._errors import TracingError


class Session:
    """Settings of one trace: number of inputs, Hessian mode, local (value-following) mode."""

    __slots__ = ("n", "hessian", "local")

    def __init__(self, n: int, hessian: bool, mode: str):
        if mode not in ("global", "local"):
            raise ValueError(f'mode must be "global" or "local", got {mode!r}')
        self.n = int(n)
        self.hessian = bool(hessian)
        self.local = mode == "local"


# The traces running in this thread (and context), innermost last. Per context, so that
# another thread never sees them: it keeps numpy's own behaviour while this one traces.
ACTIVE_SESSIONS: ContextVar[tuple[Session, ...]] = ContextVar("tracer_active_sessions",
                                                              default=())


def current_session() -> "Session":
    """The innermost trace running in this thread.

    Raises
    ------
    TracingError
        When no trace runs in this thread: a traced value was kept after its trace ended,
        or handed to another thread, and is being combined with new arrays there.
    """
    sessions = ACTIVE_SESSIONS.get()
    if not sessions:
        raise TracingError(
            "No trace is running in this thread, but a traced value was used to create a new "
            "array. Traced values are only valid inside the traced function, in the thread "
            "that traces it: do not keep them after f returns or pass them to other threads.")
    return sessions[-1]

