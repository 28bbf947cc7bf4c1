"""Backend contexts of one prepared object for changing constant ``args``."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .backends import Backend


class ArgsBinding:
    """Contexts of one prepared backend for different constant ``args`` (cached by identity).

    ODE right-hand sides (``t``) and ``least_squares`` (its ``args``) evaluate a prepared
    object with changing constants; :meth:`Backend.rebind_args` gives a context for them.
    """

    def __init__(self, backend: Backend, ctx: Any, f: Callable, x: np.ndarray, args: tuple,
                 kinds: frozenset[str]) -> None:
        self.backend, self.ctx, self.f, self.x, self.args, self.kinds = (
            backend, ctx, f, x, tuple(args), kinds)
        self._last_args: tuple | None = None
        self._last_ctx: Any = None

    def get(self, args: tuple | None) -> Any:
        if args is None:
            return self.ctx
        args = tuple(args)
        if same_args(args, self.args):
            return self.ctx
        if self._last_args is not None and same_args(args, self._last_args):
            return self._last_ctx
        ctx = self.backend.rebind_args(self.ctx, self.f, self.x, args, self.kinds)
        self._last_args, self._last_ctx = args, ctx
        return ctx


def same_args(a: tuple, b: tuple) -> bool:
    if len(a) != len(b):
        return False
    for u, v in zip(a, b):
        if u is v:
            continue
        if isinstance(u, (int, float, complex, str, bool)) and type(u) is type(v) and u == v:
            continue
        return False
    return True
