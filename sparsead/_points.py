"""Checks of the point ``x``: at preparation (a real floating array) and at evaluation
(the prepared shape and dtype)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._errors import SparseADError


def as_point(x: Any) -> np.ndarray:
    """x as a floating numpy array (the point of preparation)."""
    if hasattr(x, "detach") and hasattr(x, "numpy"):  # a torch tensor
        x = x.detach().cpu().numpy()
    x = np.asarray(x)
    if np.issubdtype(x.dtype, np.complexfloating):
        raise SparseADError(f"x has dtype {x.dtype}: complex input is not supported; "
                            f"sparsead differentiates functions of a real x (float32 or "
                            f"float64). Complex-step differences take a real x too: "
                            f"backend=sparsead.backends.FiniteDifferences('complex')")
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
