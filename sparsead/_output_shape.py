"""The output shape of ``f`` when the backend does not report it."""

from __future__ import annotations

from typing import Callable

import numpy as np


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
