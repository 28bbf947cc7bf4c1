"""``Custom``: a backend made of the user's own derivative callables.

Signatures (``x`` always arrives in the shape and dtype it was prepared with, ``args`` are
the constant extra arguments given to the pipeline):

batched (default, ``batched=True``), seeds are batch-first and flat:
    - ``jvp(x, V, *args) -> (k, m)``: row ``c`` is ``J @ V[c]``, ``V`` has shape ``(k, n)``;
    - ``vjp(x, W, *args) -> (k, n)``: row ``c`` is ``W[c] @ J``, ``W`` has shape ``(k, m)``;
    - ``hvp(x, V, *args) -> (k, n)``: row ``c`` is ``H @ V[c]``;
    - ``gradient(x, *args) -> (n,)`` (any shape with n elements).
single-vector (``batched=False``), the backend loops over the seed rows:
    - ``jvp(x, v, *args)`` with ``v`` shaped like x, returns anything with m elements;
    - ``vjp(x, w, *args)`` with ``w`` shaped like f's output, returns n elements;
    - ``hvp(x, v, *args)`` with ``v`` shaped like x, returns n elements.

The function value comes from ``f(x, *args)`` itself (the f given to the pipeline), so a
Jacobian evaluation costs one call of f plus the products.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .._errors import SparseADError, UnsupportedProductError
from ._executor import check_executor, map_colors, refuse_shared_outputs
from .base import Backend

_KINDS = ("jvp", "vjp", "hvp", "gradient")


class _CustomContext:
    __slots__ = ("f", "args", "x_shape", "out_shape", "m", "n")

    def __init__(self, f, args, x_shape, out_shape):
        self.f, self.args, self.x_shape, self.out_shape = f, tuple(args), x_shape, out_shape
        self.m = int(np.prod(out_shape, dtype=np.int64))
        self.n = int(np.prod(x_shape, dtype=np.int64))


class Custom(Backend):
    """Backend built from user callables: any of ``jvp``, ``vjp``, ``hvp``, ``gradient``.

    Parameters
    ----------
    jvp, vjp, hvp, gradient : callable, optional
        Derivative products; see the module docstring for their signatures.
    batched : bool
        True when the callables take a whole ``(k, n)`` / ``(k, m)`` seed matrix;
        False when they take one vector shaped like x (or like f's output for ``vjp``).
    name : str
        Name shown in messages and on results.
    executor : concurrent.futures.Executor, optional
        Evaluate the products of the colors concurrently (thread or process pool,
        ``dask.distributed``'s ``Client.get_executor()``): one task per color, which
        calls a batched callable with a single seed row ``(1, n)``. The values equal the
        serial ones whenever row ``c`` of a batched product depends on ``V[c]`` only
        (bit for bit with ``batched=False``). The callables and extra arguments must be
        picklable for process and distributed executors. A failure raises
        :class:`sparsead.ColorEvaluationError` naming the color.

    Examples
    --------
    >>> import numpy as np, sparsead
    >>> f = lambda x: x ** 2
    >>> be = sparsead.backends.Custom(jvp=lambda x, V: V * (2 * x)[None, :])
    >>> sparsead.jacobian(f, np.arange(3.0), backend=be, sparsity=np.eye(3)).toarray()
    array([[0., 0., 0.],
           [0., 2., 0.],
           [0., 0., 4.]])
    """

    array_library = "numpy"

    def __init__(self, jvp: Callable[..., Any] | None = None,
                 vjp: Callable[..., Any] | None = None,
                 hvp: Callable[..., Any] | None = None,
                 gradient: Callable[..., Any] | None = None, *,
                 batched: bool = True, name: str = "custom", executor: Any = None) -> None:
        if jvp is None and vjp is None and hvp is None:
            raise ValueError("Custom needs at least one of jvp=, vjp=, hvp=")
        self._callables = {"jvp": jvp, "vjp": vjp, "hvp": hvp, "gradient": gradient}
        self.batched = bool(batched)
        self.name = name
        self.executor = check_executor(executor)

    def __repr__(self) -> str:
        given = ", ".join(k for k in _KINDS if self._callables[k] is not None)
        return f"Custom({given}, batched={self.batched})"

    def supports(self, kind: str) -> bool:
        return self._callables.get(kind) is not None

    def _need(self, kind: str) -> Callable[..., Any]:
        fn = self._callables.get(kind)
        if fn is None:
            raise UnsupportedProductError(
                f"this Custom backend has no {kind}; pass {kind}=... to "
                f"sparsead.backends.Custom")
        return fn

    def prepare(self, f, x, args=(), *, kinds=frozenset({"jvp"})):
        for kind in kinds:
            self._need(kind)
        x = np.asarray(x)
        y = np.asarray(f(x, *args))
        return _CustomContext(f, args, x.shape, y.shape)

    def output_shape(self, ctx):
        return ctx.out_shape

    def rebind_args(self, ctx, f, x, args, kinds):
        return _CustomContext(ctx.f, args, ctx.x_shape, ctx.out_shape)

    def value(self, ctx, x):
        y = np.asarray(ctx.f(x, *ctx.args))
        if y.shape != ctx.out_shape:
            raise SparseADError(f"f's output shape changed from {ctx.out_shape} at "
                                f"preparation to {y.shape}; prepare again for the new shape")
        return y.reshape(-1)

    def _products(self, kind, ctx, x, S, width, seed_shape):
        fn = self._need(kind)
        S = np.asarray(S)
        if self.executor is not None and S.shape[0]:
            seeds = [S[c:c + 1] if self.batched else S[c].reshape(seed_shape)
                     for c in range(S.shape[0])]
            rows = map_colors(self.executor, _product,
                              [(fn, x, seed, ctx.args) for seed in seeds], f"Custom {kind}")
            refuse_shared_outputs(rows, f"Custom {kind}", self.executor)
            out = None
            for c, p in enumerate(rows):
                if p.size != width:
                    raise SparseADError(f"Custom {kind} returned {p.size} values for one "
                                        f"seed; expected {width}")
                if out is None:
                    out = np.empty((S.shape[0], width), dtype=p.dtype)
                out[c] = p.reshape(-1)
            return out
        if self.batched:
            P = np.asarray(fn(x, S, *ctx.args))
            if P.size != S.shape[0] * width:
                raise SparseADError(f"Custom {kind} returned shape {P.shape} for seeds of "
                                    f"shape {S.shape}; expected ({S.shape[0]}, {width})")
            return P.reshape(S.shape[0], width)
        out = None
        for c in range(S.shape[0]):
            p = np.asarray(fn(x, S[c].reshape(seed_shape), *ctx.args)).reshape(-1)
            if p.size != width:
                raise SparseADError(f"Custom {kind} returned {p.size} values; expected {width}")
            if out is None:
                out = np.empty((S.shape[0], width), dtype=p.dtype)
            out[c] = p
        return out if out is not None else np.empty((0, width), dtype=x.dtype)

    def jvp(self, ctx, x, V):
        return self.value(ctx, x), self._products("jvp", ctx, x, V, ctx.m, ctx.x_shape)

    def vjp(self, ctx, x, W):
        return self.value(ctx, x), self._products("vjp", ctx, x, W, ctx.n, ctx.out_shape)

    def hvp(self, ctx, x, V):
        return self._products("hvp", ctx, x, V, ctx.n, ctx.x_shape)

    def gradient(self, ctx, x):
        g = np.asarray(self._need("gradient")(x, *ctx.args)).reshape(-1)
        y = self.value(ctx, x)
        return (y[0] if y.size == 1 else y), g


def _product(fn: Callable[..., Any], x: np.ndarray, seed: np.ndarray, args: tuple) -> np.ndarray:
    """One color's product on a worker (module level: picklable by reference)."""
    return np.asarray(fn(x, seed, *args))
