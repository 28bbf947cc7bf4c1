"""Table: the numpy rule of each smooth or piecewise function of the ``math`` module.

While a trace runs, :mod:`tracer._patching` replaces these ``math`` functions by wrappers
that send traced arguments (in the tracing thread only) to the numpy function of the same
row, so loop-style code such as ``math.exp(-k * x[i])`` traces like ``np.exp(-k * x[i])``.
Every other call goes to ``math`` itself.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import scipy.special as sc


def _log(x: Any, base: Any = None) -> Any:
    """``math.log(x[, base])``."""
    return np.log(x) if base is None else np.log(x) / np.log(base)


def _hypot(*coords: Any) -> Any:
    """``math.hypot(*coords)`` (any number of coordinates)."""
    if len(coords) == 2:
        return np.hypot(*coords)
    total = 0.0
    for c in coords:
        total = total + c * c
    return np.sqrt(total)


#: math function name -> numpy rule applied to traced arguments (one row per function)
MATH_RULES: dict[str, Callable[..., Any]] = {
    "exp": np.exp,
    "expm1": np.expm1,
    "exp2": np.exp2,
    "log": _log,
    "log1p": np.log1p,
    "log2": np.log2,
    "log10": np.log10,
    "sqrt": np.sqrt,
    "cbrt": np.cbrt,
    "pow": np.power,
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "asin": np.arcsin,
    "acos": np.arccos,
    "atan": np.arctan,
    "atan2": np.arctan2,
    "sinh": np.sinh,
    "cosh": np.cosh,
    "tanh": np.tanh,
    "asinh": np.arcsinh,
    "acosh": np.arccosh,
    "atanh": np.arctanh,
    "hypot": _hypot,
    "degrees": np.degrees,
    "radians": np.radians,
    "fabs": np.abs,
    "floor": np.floor,
    "ceil": np.ceil,
    "trunc": np.trunc,
    "copysign": np.copysign,
    "fmod": np.fmod,
    "erf": sc.erf,
    "erfc": sc.erfc,
    "gamma": sc.gamma,
    "lgamma": sc.gammaln,
}

# Rows for functions this Python's math module lacks (cbrt, exp2: Python >= 3.11) are
# dropped, so the patching loop never creates a math attribute.
MATH_RULES = {name: rule for name, rule in MATH_RULES.items() if hasattr(math, name)}
