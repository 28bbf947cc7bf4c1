"""Rules of the JAX front-end for elementwise primitives.

Most primitives map to a numpy ufunc, which the engine evaluates on traced arrays with
its own derivative table (:mod:`tracer._derivatives`); their rows declare the same flags.
Primitives without a numpy ufunc (``erf``, ``lgamma``, ``rsqrt``, ``logistic``, ...) have
rows with their own derivative flags: exact values on constants (a numpy expression, or
JAX itself for the special functions), and on traced arrays the dependence those flags
imply.
``tests/tracer/test_operator_tables.py`` checks every declared flag against JAX.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .._derivatives import CONSTANT, LINEAR, SMOOTH, rule_of
from ._registry import register
from ._values import (
    data,
    dtype_of,
    elementwise,
    is_concrete,
    is_traced,
    shape_of,
    union_of_traced,
)

T, F = True, False


def _is_bool(*vals: Any) -> bool:
    return all(dtype_of(v) == np.bool_ for v in vals)


def _is_integer(v: Any) -> bool:
    return np.issubdtype(dtype_of(v), np.integer)


# ---------------------------------------------------------------- numpy ufuncs
#: primitive -> numpy ufunc with the same values and the same derivative structure
UFUNC_PRIMITIVES: dict[str, np.ufunc] = {
    # one operand
    "neg": np.negative, "floor": np.floor, "ceil": np.ceil, "is_finite": np.isfinite,
    "exp": np.exp, "exp2": np.exp2, "log": np.log, "log1p": np.log1p, "expm1": np.expm1,
    "tanh": np.tanh, "sin": np.sin, "cos": np.cos, "tan": np.tan, "asin": np.arcsin,
    "acos": np.arccos, "atan": np.arctan, "sinh": np.sinh, "cosh": np.cosh,
    "asinh": np.arcsinh, "acosh": np.arccosh, "atanh": np.arctanh, "sqrt": np.sqrt,
    "cbrt": np.cbrt, "square": np.square,
    # two operands
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "max": np.maximum,
    "min": np.minimum, "atan2": np.arctan2, "pow": np.power, "nextafter": np.nextafter,
    "eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal,
    "gt": np.greater, "ge": np.greater_equal, "rem": np.fmod,
    # total-order comparisons (searchsorted, interp): same dependence as the plain ones
    "lt_to": np.less, "le_to": np.less_equal, "gt_to": np.greater, "ge_to": np.greater_equal,
    "eq_to": np.equal, "ne_to": np.not_equal,
    "add_any": np.add, "hypot": np.hypot,
    "shift_left": np.left_shift, "shift_right_arithmetic": np.right_shift,
}


def _ufunc_rule(fn: np.ufunc) -> Callable[..., Any]:
    if fn.nin == 1:
        return lambda invals, **_: fn(invals[0])
    return lambda invals, **_: fn(invals[0], invals[1])


for _name, _fn in UFUNC_PRIMITIVES.items():
    register(_name, _ufunc_rule(_fn), derivatives=rule_of(_fn))

# complex parts: not ufuncs (np.real / np.imag are functions), no flags declared
register("real", lambda invals, **_: np.real(invals[0]))
register("imag", lambda invals, **_: np.imag(invals[0]))
register("conj", lambda invals, **_: np.conj(invals[0]))


# ---------------------------------------------------------------- own derivative flags
def _flagged(numeric: Callable[..., Any], flags: tuple[bool, ...]) -> Callable[..., Any]:
    """Exact ``numeric`` on constants; the dependence given by ``flags`` on traced inputs."""

    def evaluate(invals, **_):
        if any(is_traced(v) for v in invals):
            return elementwise(flags, *invals)
        return numeric(*invals)

    return evaluate


def _traced_only(flags: tuple[bool, ...]) -> Callable[..., Any]:
    """The dependence given by ``flags`` (constant inputs are evaluated by JAX itself)."""
    return lambda invals, **_: elementwise(flags, *invals)


#: primitives without a numpy ufunc, with numpy expressions for their values
FLAGGED_PRIMITIVES: dict[str, tuple[Callable[..., Any], tuple[bool, ...]]] = {
    "rsqrt": (lambda x: 1.0 / np.sqrt(x), SMOOTH),
    "logistic": (lambda x: 1.0 / (1.0 + np.exp(-x)), SMOOTH),
}
for _name, (_numeric, _flags) in FLAGGED_PRIMITIVES.items():
    register(_name, _flagged(_numeric, _flags), derivatives=_flags)

#: special functions (no numpy equivalent): JAX computes their values on constants
SPECIAL_PRIMITIVES: dict[str, tuple[bool, ...]] = {
    "erf": SMOOTH, "erfc": SMOOTH, "erf_inv": SMOOTH, "lgamma": SMOOTH, "digamma": SMOOTH,
    "bessel_i0e": SMOOTH, "bessel_i1e": SMOOTH,
}
for _name, _flags in SPECIAL_PRIMITIVES.items():
    register(_name, _traced_only(_flags), constants_by_jax=True, derivatives=_flags)


def _complex_aware(real_fn: np.ufunc) -> Callable[..., Any]:
    """``abs`` and ``sign`` are piecewise linear/constant on reals (their declared flags)
    but smooth nonlinear functions of complex numbers (``|z| = sqrt(re^2 + im^2)``): on
    traced complex inputs their dependence is that of a smooth function."""

    def evaluate(invals, _in_avals, **_):
        x = invals[0]
        if is_traced(x) and np.dtype(_in_avals[0].dtype).kind == "c":
            return elementwise(SMOOTH, x)
        return real_fn(x)

    return evaluate


register("abs", _complex_aware(np.abs), needs_avals=True, derivatives=LINEAR)
register("sign", _complex_aware(np.sign), needs_avals=True, derivatives=CONSTANT)


def _not(invals, **_):
    x = invals[0]
    return np.logical_not(x) if _is_bool(x) else np.invert(x)


register("not", _not, derivatives=CONSTANT)


def _round(invals, rounding_method=0, **_):
    x = invals[0]
    if is_traced(x) or int(rounding_method) == 1:  # 1: to nearest even, numpy's rule
        return np.round(x)
    return np.sign(x) * np.floor(np.abs(x) + 0.5)  # 0: half away from zero


register("round", _round, derivatives=CONSTANT)


def _logical(logical: np.ufunc, bitwise: np.ufunc) -> Callable[..., Any]:
    def evaluate(invals, **_):
        a, b = invals
        return logical(a, b) if _is_bool(a, b) else bitwise(a, b)

    return evaluate


register("and", _logical(np.logical_and, np.bitwise_and), derivatives=(F, F, F, F, F))
register("or", _logical(np.logical_or, np.bitwise_or), derivatives=(F, F, F, F, F))
register("xor", _logical(np.logical_xor, np.bitwise_xor), derivatives=(F, F, F, F, F))


def _div(invals, **_):
    a, b = invals
    if _is_integer(a) and _is_integer(b):  # lax.div on integers rounds toward zero
        q = np.floor_divide(a, b)
        return q + ((np.remainder(a, b) != 0) & ((a < 0) != (b < 0)))
    return np.divide(a, b)


register("div", _div, derivatives=rule_of(np.divide))


# ---------------------------------------------------------------- no flags (by parameter)
# identity-like primitives; stop_gradient keeps the dependence (conservative: the
# pattern may then contain entries that JAX's own derivative drops, never the reverse)
for _name in ("stop_gradient", "reduce_precision", "copy", "copy_p"):
    register(_name, lambda invals, **_: invals[0])
for _name in ("optimization_barrier", "pvary", "device_put"):  # multiple results
    register(_name, lambda invals, **_: list(invals))
# jax.debug.print / debug.callback have no outputs: nothing to trace (and nothing printed)
for _name in ("debug_print", "debug_callback"):
    register(_name, lambda invals, **_: [], opaque_aware=True)


def _integer_pow(invals, y, **_):
    x = invals[0]
    y = int(y)
    if y == 0:  # constant one: no dependence at all
        return np.ones(shape_of(x), dtype=dtype_of(x))
    if y == 1:
        return x
    if y == -1:
        return 1.0 / x
    return np.power(x, y)


register("integer_pow", _integer_pow)


def _convert(invals, new_dtype, **_):
    x = invals[0]
    return x.astype(new_dtype) if hasattr(x, "astype") else np.asarray(x, dtype=new_dtype)


register("convert_element_type", _convert)


def _clamp(invals, **_):
    lo, x, hi = invals  # lax.clamp(min, operand, max)
    return np.minimum(np.maximum(x, lo), hi)


register("clamp", _clamp)


def _select_n(invals, **_):
    which, *cases = invals
    cases = [data(c) for c in cases]
    shape = np.broadcast_shapes(*(shape_of(c) for c in cases), shape_of(which))

    if not is_concrete(which):
        # the case chosen depends on unknown values: every case is possible
        return union_of_traced(shape, *cases)
    which = np.asarray(which)
    if which.dtype == np.bool_:
        return np.where(which, cases[1], cases[0]) if len(cases) == 2 else cases[0]
    out = cases[0]
    for k in range(1, len(cases)):
        out = np.where(which == k, cases[k], out)
    return out


register("select_n", _select_n, opaque_aware=True)
