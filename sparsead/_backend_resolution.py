"""Which backend runs, and which array library its ``f`` is written in."""

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
        return FiniteDifferences(method=backend.method, rel_step=backend.rel_step, grad=grad,
                                 executor=backend.executor)
    raise SparseADError("grad= is only used by the 'fd' backend (finite differences of the "
                        "gradient); other backends differentiate f themselves")


def array_namespace(library: str):
    """The array module ``f`` is written in: ``jax.numpy``, ``torch`` or ``numpy``."""
    if library == "jax":
        import jax.numpy as jnp  # noqa: PLC0415

        return jnp
    if library == "torch":
        import torch  # noqa: PLC0415

        return torch
    return np
