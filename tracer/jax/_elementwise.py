"""Rules of the JAX front-end for elementwise, reduction and shape primitives.

Each rule maps one ``jax.lax`` primitive to numpy API calls (see
:mod:`tracer.jax._interpreter`). A few primitives without a numpy ufunc (``erf``,
``lgamma``, ``cummax``, ...) use, on traced arrays, a numpy expression with the same
derivative structure: what matters for the pattern is which first, second and cross
derivatives can be nonzero, and that table lives in the engine.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._interpreter import (
    OPAQUE_RESULT,
    data,
    dtype_of,
    is_concrete,
    is_traced,
    register,
    shape_of,
    union_of_traced,
)


def _is_bool(*vals: Any) -> bool:
    return all(dtype_of(v) == np.bool_ for v in vals)


def _is_integer(v: Any) -> bool:
    return np.issubdtype(dtype_of(v), np.integer)


# ---------------------------------------------------------------- elementwise, unary
_UNARY = {
    "neg": np.negative, "floor": np.floor, "ceil": np.ceil,
    "is_finite": np.isfinite, "exp": np.exp, "exp2": np.exp2, "log": np.log,
    "log1p": np.log1p, "expm1": np.expm1, "tanh": np.tanh, "sin": np.sin, "cos": np.cos,
    "tan": np.tan, "asin": np.arcsin, "acos": np.arccos, "atan": np.arctan,
    "sinh": np.sinh, "cosh": np.cosh, "asinh": np.arcsinh, "acosh": np.arccosh,
    "atanh": np.arctanh, "sqrt": np.sqrt, "cbrt": np.cbrt,
    "square": np.square, "real": np.real, "imag": np.imag, "conj": np.conj,
}
for _name, _fn in _UNARY.items():
    register(_name)(lambda invals, _fn=_fn, **_: _fn(invals[0]))

def _complex_aware(real_fn, complex_traced_fn):
    """``abs`` and ``sign`` are piecewise linear/constant on reals but smooth nonlinear
    functions of complex numbers (``|z| = sqrt(re^2 + im^2)``): on traced complex inputs
    use an expression with nonzero first and second derivatives."""

    def rule(invals, _in_avals, **_):
        x = invals[0]
        if is_traced(x) and np.dtype(_in_avals[0].dtype).kind == "c":
            return complex_traced_fn(x)
        return real_fn(x)

    return rule


register("abs", needs_avals=True)(_complex_aware(np.abs, lambda z: np.sqrt(z * z)))
register("sign", needs_avals=True)(_complex_aware(np.sign, lambda z: z / np.sqrt(z * z)))
register("rsqrt")(lambda invals, **_: 1.0 / np.sqrt(invals[0]))
register("logistic")(lambda invals, **_: 1.0 / (1.0 + np.exp(-invals[0])))
# identity-like primitives; stop_gradient keeps the dependence (conservative: the
# pattern may then contain entries that JAX's own derivative drops, never the reverse)
for _name in ("stop_gradient", "reduce_precision", "copy", "copy_p"):
    register(_name)(lambda invals, **_: invals[0])
for _name in ("optimization_barrier", "pvary", "device_put"):  # multiple results
    register(_name)(lambda invals, **_: list(invals))
# jax.debug.print / debug.callback have no outputs: nothing to trace (and nothing printed)
for _name in ("debug_print", "debug_callback"):
    register(_name, opaque_aware=True)(lambda invals, **_: [])


@register("not")
def _not(invals, **_):
    x = invals[0]
    return np.logical_not(x) if _is_bool(x) else np.invert(x)


@register("round")
def _round(invals, rounding_method=0, **_):
    x = invals[0]
    if is_traced(x) or int(rounding_method) == 1:  # 1: to nearest even, numpy's rule
        return np.round(x)
    return np.sign(x) * np.floor(np.abs(x) + 0.5)  # 0: half away from zero


def _special(name: str):
    """Rule for a scipy.special function: exact on constants, like ``tanh`` when traced.

    ``tanh`` has nonzero first and second derivatives, like erf, lgamma, digamma, ...,
    so the engine derives the same Jacobian and Hessian pattern.
    """

    def rule(invals, **_):
        x = invals[0]
        if is_traced(x):
            return np.tanh(x)
        import scipy.special as sc  # noqa: PLC0415

        fn = {"erf": sc.erf, "erfc": sc.erfc, "erf_inv": sc.erfinv, "lgamma": sc.gammaln,
              "digamma": sc.digamma, "bessel_i0e": sc.i0e, "bessel_i1e": sc.i1e}[name]
        return fn(x)

    return rule


for _name in ("erf", "erfc", "erf_inv", "lgamma", "digamma", "bessel_i0e", "bessel_i1e"):
    register(_name)(_special(_name))


@register("integer_pow")
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


@register("convert_element_type")
def _convert(invals, new_dtype, **_):
    x = invals[0]
    return x.astype(new_dtype) if hasattr(x, "astype") else np.asarray(x, dtype=new_dtype)


# ---------------------------------------------------------------- elementwise, binary
_BINARY = {
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
for _name, _fn in _BINARY.items():
    register(_name)(lambda invals, _fn=_fn, **_: _fn(invals[0], invals[1]))


def _logical(logical, bitwise):
    def rule(invals, **_):
        a, b = invals
        return logical(a, b) if _is_bool(a, b) else bitwise(a, b)

    return rule


register("and")(_logical(np.logical_and, np.bitwise_and))
register("or")(_logical(np.logical_or, np.bitwise_or))
register("xor")(_logical(np.logical_xor, np.bitwise_xor))


@register("div")
def _div(invals, **_):
    a, b = invals
    if _is_integer(a) and _is_integer(b):  # lax.div on integers rounds toward zero
        q = np.floor_divide(a, b)
        return q + ((np.remainder(a, b) != 0) & ((a < 0) != (b < 0)))
    return np.divide(a, b)


@register("clamp")
def _clamp(invals, **_):
    lo, x, hi = invals  # lax.clamp(min, operand, max)
    return np.minimum(np.maximum(x, lo), hi)


@register("select_n", opaque_aware=True)
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


# ---------------------------------------------------------------- reductions
_REDUCE = {"reduce_sum": np.sum, "reduce_max": np.max, "reduce_min": np.min,
           "reduce_prod": np.prod, "reduce_and": np.all, "reduce_or": np.any}
for _name, _fn in _REDUCE.items():
    register(_name)(lambda invals, axes, _fn=_fn, **_: _fn(invals[0], axis=tuple(axes)))


def _arg_reduce(fn):
    def rule(invals, axes, index_dtype, **_):
        x = invals[0]
        if is_traced(x):  # an index: no derivative, value unknown in global mode
            return OPAQUE_RESULT
        return fn(np.asarray(x), axis=int(axes[0])).astype(index_dtype)

    return rule


register("argmax")(_arg_reduce(np.argmax))
register("argmin")(_arg_reduce(np.argmin))


def _cumulative(numeric, traced_fn=None):
    """Rule for ``cum*`` primitives; ``traced_fn`` stands in when the input is traced."""

    def rule(invals, axis, reverse=False, **_):
        x = invals[0]
        fn = traced_fn if (traced_fn is not None and is_traced(x)) else numeric
        if reverse:
            return np.flip(fn(np.flip(x, axis), axis), axis)
        return fn(x, axis)

    return rule


register("cumsum")(_cumulative(lambda x, a: np.cumsum(x, axis=a)))
register("cumprod")(_cumulative(lambda x, a: np.cumprod(x, axis=a)))
# cummax / cummin are piecewise selections of earlier elements: out[i] depends linearly
# on x[:i+1] piecewise, which is exactly the dependence (and Hessian class) of cumsum
register("cummax")(_cumulative(lambda x, a: np.maximum.accumulate(x, axis=a),
                               lambda x, a: np.cumsum(x, axis=a)))
register("cummin")(_cumulative(lambda x, a: np.minimum.accumulate(x, axis=a),
                               lambda x, a: np.cumsum(x, axis=a)))
register("cumlogsumexp")(_cumulative(lambda x, a: np.logaddexp.accumulate(x, axis=a),
                                     lambda x, a: np.log(np.cumsum(np.exp(x), axis=a))))


# ---------------------------------------------------------------- shapes
@register("reshape")
def _reshape(invals, new_sizes, dimensions=None, **_):
    x = invals[0]
    if dimensions is not None:
        x = np.transpose(x, dimensions)
    return np.reshape(x, tuple(new_sizes))


@register("broadcast_in_dim")
def _broadcast_in_dim(invals, shape, broadcast_dimensions, **_):
    x = invals[0]
    expanded = [1] * len(shape)
    for src, dst in enumerate(broadcast_dimensions):
        expanded[dst] = shape_of(x)[src]
    if tuple(expanded) != shape_of(x):
        x = np.reshape(x, tuple(expanded))
    return np.broadcast_to(x, tuple(shape))


register("squeeze")(lambda invals, dimensions, **_: np.squeeze(invals[0], axis=tuple(dimensions)))
register("expand_dims")(
    lambda invals, dimensions, **_: np.expand_dims(invals[0], tuple(dimensions)))
register("stack")(lambda invals, axis, **_: np.stack(invals, axis=axis))
register("tile")(lambda invals, reps, **_: np.tile(invals[0], tuple(reps)))
register("transpose")(lambda invals, permutation, **_: np.transpose(invals[0], permutation))
register("rev")(lambda invals, dimensions, **_: np.flip(invals[0], axis=tuple(dimensions)))
register("concatenate")(lambda invals, dimension, **_: np.concatenate(invals, axis=dimension))


@register("slice")
def _slice(invals, start_indices, limit_indices, strides=None, **_):
    strides = strides or (1,) * len(start_indices)
    return invals[0][tuple(slice(a, b, s) for a, b, s in
                           zip(start_indices, limit_indices, strides))]


@register("split")
def _split(invals, sizes, axis, **_):
    cuts = np.cumsum([int(s) for s in sizes])[:-1]
    return list(np.split(invals[0], cuts, axis=axis))


@register("iota")
def _iota(invals, dtype, shape, dimension, **_):
    ramp = np.arange(shape[dimension], dtype=dtype)
    view = [1] * len(shape)
    view[dimension] = shape[dimension]
    return np.broadcast_to(ramp.reshape(view), tuple(shape)).copy()


@register("dot_general")
def _dot_general(invals, dimension_numbers, **_):
    lhs, rhs = invals
    (lc, rc), (lb, rb) = dimension_numbers
    letters = iter("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    lsub = [""] * len(shape_of(lhs))
    rsub = [""] * len(shape_of(rhs))
    batch = []
    for i, j in zip(lb, rb):
        lsub[i] = rsub[j] = c = next(letters)
        batch.append(c)
    for i, j in zip(lc, rc):
        lsub[i] = rsub[j] = next(letters)
    lfree = []
    for i, s in enumerate(lsub):
        if not s:
            lsub[i] = c = next(letters)
            lfree.append(c)
    rfree = []
    for i, s in enumerate(rsub):
        if not s:
            rsub[i] = c = next(letters)
            rfree.append(c)
    spec = f"{''.join(lsub)},{''.join(rsub)}->{''.join(batch + lfree + rfree)}"
    return np.einsum(spec, lhs, rhs)
