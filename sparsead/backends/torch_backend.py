"""PyTorch backend: batched JVPs, VJPs and HVPs with ``torch.func`` under ``torch.func.vmap``.

``f`` is written with torch operations and receives a ``torch.Tensor`` of the prepared
shape and dtype (``x`` is converted with ``torch.from_numpy``, so float32 stays float32
and float64 stays float64). Extra ``args`` that are numpy arrays are converted to tensors
once at :meth:`TorchBackend.prepare`; tensors and other objects are passed unchanged.

- JVPs: ``vmap(jvp)`` over the rows of the batch-first seed ``V`` of shape ``(k, n)``.
- VJPs: one ``torch.func.vjp`` (one forward pass), its pullback under ``vmap``.
- HVPs: forward-over-reverse, ``jvp`` of ``torch.func.grad`` under ``vmap``.
- Results are ``numpy.ndarray`` views of CPU tensors (writeable, zero-copy).

Requests (:meth:`~sparsead.backends.base.Backend.products`) go through the default,
which calls these plain products and gathers in numpy (PyTorch has no ahead-of-time
compilation here that would fold the gather in).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .._errors import (
    BackendUnavailableError,
    SparseADError,
    UnsupportedProductError,
    install_instructions,
)
from .base import Backend

try:
    import torch
    import torch.func as tfunc
except ImportError as exc:  # PyTorch is an optional extra
    raise BackendUnavailableError(
        "the 'torch' backend needs PyTorch, which is not installed: "
        + install_instructions("torch", "torch")) from exc

__all__ = ["TorchBackend"]


def _to_numpy(t: "torch.Tensor") -> np.ndarray:
    return t.detach().contiguous().cpu().numpy()


@dataclass
class TorchContext:
    """Prepared state: the flattened function, its shapes and dtypes."""

    f_flat: Callable[[Any], Any]      # x_flat tensor -> y_flat tensor
    x_shape: tuple[int, ...]
    x_dtype: np.dtype
    n: int
    m: int
    y_shape: tuple[int, ...]


class TorchBackend(Backend):
    """Batched derivative products of a PyTorch function via ``torch.func``.

    Notes
    -----
    ``f`` must be functional (no in-place updates of ``x``) as ``torch.func`` requires.
    """

    name = "torch"

    def __repr__(self) -> str:
        return "TorchBackend()"

    def prepare(self, f: Callable[..., Any], x: np.ndarray, args: tuple = (),
                *, kinds: frozenset[str] = frozenset({"jvp"})) -> TorchContext:
        """Check ``x``, convert array ``args`` to tensors, and evaluate ``f`` once for ``m``.

        Raises
        ------
        SparseADError
            ``x`` is not a floating-point array.
        TypeError
            ``f`` fails on a tensor (e.g. it is written with numpy).
        """
        x = self._as_numpy(x)
        if not np.issubdtype(x.dtype, np.floating):
            raise SparseADError(
                f"the torch backend differentiates floating-point x only, got dtype "
                f"{x.dtype}; convert it, e.g. x.astype(np.float64)")
        x_shape = tuple(x.shape)
        converted = tuple(torch.from_numpy(np.ascontiguousarray(a)) if isinstance(a, np.ndarray)
                          and a.dtype.kind in "fciub" else a for a in args)

        def f_flat(xf):
            out = f(xf.reshape(x_shape), *converted)
            if not isinstance(out, torch.Tensor):
                raise TypeError(f"f returned {type(out).__name__}, not a torch.Tensor")
            return out.reshape(-1)

        xt = torch.from_numpy(np.ascontiguousarray(x).reshape(-1))
        try:
            with torch.no_grad():
                y_full = f(xt.reshape(x_shape), *converted)
            if not isinstance(y_full, torch.Tensor):
                raise TypeError(f"f returned {type(y_full).__name__}, not a torch.Tensor")
            y_shape = tuple(y_full.shape)
            y = y_full.reshape(-1)
        except (TypeError, RuntimeError) as exc:
            raise TypeError(
                f"the torch backend could not evaluate f(x, *args) on a torch tensor of shape "
                f"{x_shape}: {exc}. f must be written with torch operations; use backend='fd' "
                f"for numpy functions") from exc
        return TorchContext(f_flat=f_flat, x_shape=x_shape, x_dtype=x.dtype,
                            n=int(xt.numel()), m=int(y.numel()), y_shape=y_shape)

    def output_shape(self, ctx: TorchContext) -> tuple[int, ...]:
        """Shape of ``f(x, *args)`` at preparation."""
        return ctx.y_shape

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _as_numpy(x: Any) -> np.ndarray:
        if isinstance(x, torch.Tensor):
            return x.detach().cpu().numpy()
        return np.asarray(x)

    def _x(self, ctx: TorchContext, x: Any) -> "torch.Tensor":
        x = self._as_numpy(x)
        if x.shape != ctx.x_shape or x.dtype != ctx.x_dtype:
            raise SparseADError(
                f"x has shape {x.shape} and dtype {x.dtype}, but the function was prepared for "
                f"shape {ctx.x_shape} and dtype {ctx.x_dtype}; prepare again for the new x")
        return torch.from_numpy(np.ascontiguousarray(x).reshape(-1))

    @staticmethod
    def _seed(ctx: TorchContext, V: Any, width: int, what: str) -> "torch.Tensor":
        V = TorchBackend._as_numpy(V)
        if V.ndim != 2 or V.shape[1] != width:
            raise SparseADError(
                f"{what} must have shape (k, {width}) (batch-first), got {V.shape}")
        V = np.ascontiguousarray(V, dtype=ctx.x_dtype)
        if not V.flags.writeable:  # prepared seeds are read-only; torch warns on those
            V = V.copy()
        return torch.from_numpy(V)

    @staticmethod
    def _scalar(ctx: TorchContext, what: str) -> Callable[[Any], Any]:
        if ctx.m != 1:
            raise UnsupportedProductError(
                f"{what} needs a scalar function, but f returns {ctx.m} values; use jvp/vjp "
                f"for a Jacobian")
        f_flat = ctx.f_flat
        return lambda z: f_flat(z)[0]

    # ------------------------------------------------------------------ products
    def value(self, ctx: TorchContext, x: np.ndarray) -> np.ndarray:
        """Return ``f(x, *args)`` flattened, shape ``(m,)``."""
        with torch.no_grad():
            return _to_numpy(ctx.f_flat(self._x(ctx, x)))

    def gradient(self, ctx: TorchContext, x: np.ndarray) -> tuple[float, np.ndarray]:
        """Return ``(f(x), grad f(x) flattened)`` for a scalar ``f`` (reverse mode)."""
        g, val = tfunc.grad_and_value(self._scalar(ctx, "gradient"))(self._x(ctx, x))
        return val.item(), _to_numpy(g)

    def jvp(self, ctx: TorchContext, x: np.ndarray, V: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(f(x) flattened (m,), J @ V[c] for each row c (k, m))``."""
        xt = self._x(ctx, x)
        Vt = self._seed(ctx, V, ctx.n, "V")
        if Vt.shape[0] == 0:  # vmap needs a nonempty batch
            return self.value(ctx, x), np.zeros((0, ctx.m), dtype=ctx.x_dtype)
        f_flat = ctx.f_flat
        y, JV = tfunc.vmap(lambda v: tfunc.jvp(f_flat, (xt,), (v,)), out_dims=(None, 0))(Vt)
        return _to_numpy(y), _to_numpy(JV)

    def vjp(self, ctx: TorchContext, x: np.ndarray, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(f(x) flattened (m,), W[c] @ J for each row c (k, n))``."""
        xt = self._x(ctx, x)
        Wt = self._seed(ctx, W, ctx.m, "W")
        y, pullback = tfunc.vjp(ctx.f_flat, xt)
        if Wt.shape[0] == 0:
            return _to_numpy(y), np.zeros((0, ctx.n), dtype=ctx.x_dtype)
        (WJ,) = tfunc.vmap(pullback)(Wt)
        return _to_numpy(y), _to_numpy(WJ)

    def hvp(self, ctx: TorchContext, x: np.ndarray, V: np.ndarray) -> np.ndarray:
        """Return ``H @ V[c]`` for each row c, shape ``(k, n)``, for a scalar ``f``."""
        grad = tfunc.grad(self._scalar(ctx, "hvp"))
        xt = self._x(ctx, x)
        Vt = self._seed(ctx, V, ctx.n, "V")
        if Vt.shape[0] == 0:
            return np.zeros((0, ctx.n), dtype=ctx.x_dtype)
        return _to_numpy(tfunc.vmap(lambda v: tfunc.jvp(grad, (xt,), (v,))[1])(Vt))
