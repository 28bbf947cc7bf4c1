"""Helpers shared by the Jacobian, Hessian and HVP front ends."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ._errors import SparseADError
from .backends import Backend, FiniteDifferences, get_backend


def array_library(backend: Backend) -> str:
    """``"numpy"``, ``"jax"`` or ``"torch"``: what ``f`` is written in for this backend."""
    lib = getattr(backend, "array_library", None)
    if lib:
        return lib
    name = getattr(backend, "name", "")
    return name if name in ("jax", "torch") else "numpy"


def resolve_backend(backend: Any, grad: Callable | None = None) -> Backend:
    """A backend instance; ``grad=`` configures finite differences of the gradient."""
    if grad is None:
        return get_backend(backend)
    if isinstance(backend, str) and backend == "fd":
        return FiniteDifferences(grad=grad)
    if isinstance(backend, FiniteDifferences):
        return FiniteDifferences(method=backend.method, rel_step=backend.rel_step, grad=grad)
    raise SparseADError("grad= is only used by the 'fd' backend (finite differences of the "
                        "gradient); other backends differentiate f themselves")


def as_point(x: Any) -> np.ndarray:
    """x as a floating numpy array (the point of preparation)."""
    if hasattr(x, "detach") and hasattr(x, "numpy"):  # a torch tensor
        x = x.detach().cpu().numpy()
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        raise SparseADError(f"x must be a real floating array (float32 or float64), got "
                            f"dtype {x.dtype}; pass x.astype(float)")
    return x


def check_point(x: Any, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """x at evaluation: same shape and dtype as at preparation, else a clear error."""
    if hasattr(x, "detach") and hasattr(x, "numpy"):
        x = x.detach().cpu().numpy()
    x = np.asarray(x)
    if x.shape != shape:
        raise SparseADError(f"x has shape {x.shape}, but this object was prepared for shape "
                            f"{shape}; prepare again for the new shape")
    if x.dtype != dtype:
        raise SparseADError(f"x has dtype {x.dtype}, but this object was prepared for "
                            f"{dtype}; pass x.astype({dtype.name!s}) or prepare again")
    return x


def inplace_to_outofplace(f: Callable, template: Any, library: str) -> Callable:
    """Wrap an in-place ``f(out, x, *args)`` as ``f(x, *args) -> out`` (numpy backends).

    A new output buffer is allocated per call, because backends may keep the returned
    array; its dtype follows x when x is complex (complex-step differences).
    """
    if library != "numpy":
        raise SparseADError(f"in-place functions (out=) are supported only for numpy "
                            f"backends (fd, custom); a {library} function must return its "
                            f"output")
    template = np.asarray(template)
    shape, dtype = template.shape, template.dtype

    def f_out_of_place(x, *args):
        buf = np.zeros(shape, dtype=np.result_type(dtype, x.dtype))
        f(buf, x, *args)
        return buf

    f_out_of_place.__wrapped__ = f  # type: ignore[attr-defined]
    return f_out_of_place


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
        if _same_args(args, self.args):
            return self.ctx
        if self._last_args is not None and _same_args(args, self._last_args):
            return self._last_ctx
        ctx = self.backend.rebind_args(self.ctx, self.f, self.x, args, self.kinds)
        self._last_args, self._last_ctx = args, ctx
        return ctx


def _same_args(a: tuple, b: tuple) -> bool:
    if len(a) != len(b):
        return False
    for u, v in zip(a, b):
        if u is v:
            continue
        if isinstance(u, (int, float, complex, str, bool)) and type(u) is type(v) and u == v:
            continue
        return False
    return True


def infer_output_shape(f: Callable, x: np.ndarray, args: tuple, library: str):
    """Output shape of ``f(x, *args)`` when the backend does not report it (one call of f,
    or ``jax.eval_shape`` for JAX, which traces without computing)."""
    try:
        if library == "jax":
            import jax  # noqa: PLC0415

            spec = jax.ShapeDtypeStruct(x.shape, x.dtype)
            return tuple(jax.eval_shape(lambda z: f(z, *args), spec).shape)
        if library == "torch":
            import torch  # noqa: PLC0415

            targs = tuple(torch.from_numpy(np.ascontiguousarray(a))
                          if isinstance(a, np.ndarray) else a for a in args)
            with torch.no_grad():
                return tuple(f(torch.from_numpy(np.array(x)), *targs).shape)
        return tuple(np.shape(f(x, *args)))
    except Exception:  # noqa: BLE001  (only cosmetic: values then stay flat)
        return None
