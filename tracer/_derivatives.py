"""Which derivatives of each numpy ufunc can be nonzero.

Unary rules are ``(d1, d2)``: can ``f'`` / ``f''`` be nonzero. Binary rules are
``(da, db, daa, dbb, dab)``: first derivatives in each argument, second derivatives in
each argument, and the cross derivative. Piecewise-constant functions (``sign``, ``floor``,
comparisons, ...) have all flags False: they cut first- and second-order dependence.
Piecewise-linear ones (``abs``, ``maximum``) have first but no second derivatives.

The propagation rule for ``y = f(a, b)`` with first-order sets ``G`` and pair sets ``P``:

* ``G_y = (da ? G_a) | (db ? G_b)``
* ``P_y = (da ? P_a) | (db ? P_b) | (daa ? G_a x G_a) | (dbb ? G_b x G_b) | (dab ? G_a x G_b)``

The other tables: which ufuncs select an operand (``SELECTING``), which are cut by an
exact zero (``ZERO_ANNIHILATORS``), the rules of ufuncs with two outputs, the products,
and ``OPERATORS``: Python's operators and the ufunc each one is, from which both traced
classes get their operator methods.
"""

from __future__ import annotations

import operator

import numpy as np

T, F = True, False

LINEAR = (T, F)
SMOOTH = (T, T)
CONSTANT = (F, F)

UNARY_RULES: dict[np.ufunc, tuple[bool, bool]] = {}
BINARY_RULES: dict[np.ufunc, tuple[bool, bool, bool, bool, bool]] = {}

for _name in ("negative", "positive", "absolute", "fabs", "conjugate", "deg2rad", "rad2deg",
              "degrees", "radians"):
    UNARY_RULES[getattr(np, _name)] = LINEAR

for _name in ("exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "cbrt", "square",
              "reciprocal", "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh",
              "tanh", "arcsinh", "arccosh", "arctanh"):
    UNARY_RULES[getattr(np, _name)] = SMOOTH

for _name in ("sign", "floor", "ceil", "rint", "trunc", "isfinite", "isinf", "isnan", "signbit",
              "logical_not", "spacing", "invert", "bitwise_count"):
    UNARY_RULES[getattr(np, _name)] = CONSTANT

BINARY_RULES.update({
    np.add: (T, T, F, F, F),
    np.subtract: (T, T, F, F, F),
    np.multiply: (T, T, F, F, T),
    np.divide: (T, T, F, T, T),
    np.power: (T, T, T, T, T),
    np.float_power: (T, T, T, T, T),
    np.arctan2: (T, T, T, T, T),
    np.hypot: (T, T, T, T, T),
    np.logaddexp: (T, T, T, T, T),
    np.logaddexp2: (T, T, T, T, T),
    # piecewise linear: kinks only, no second derivatives
    np.maximum: (T, T, F, F, F),
    np.minimum: (T, T, F, F, F),
    np.fmax: (T, T, F, F, F),
    np.fmin: (T, T, F, F, F),
    # a % b = a - b * floor(a / b): d/da = 1, d/db = -floor(a/b), piecewise constant
    np.remainder: (T, T, F, F, F),
    np.fmod: (T, T, F, F, F),
    # |a| * sign(b)
    np.copysign: (T, F, F, F, F),
    np.nextafter: (T, F, F, F, F),
    # a * 2**b with integer b
    np.ldexp: (T, F, F, F, F),
})
for _name in ("floor_divide", "equal", "not_equal", "less", "less_equal", "greater",
              "greater_equal", "logical_and", "logical_or", "logical_xor", "heaviside",
              "bitwise_and", "bitwise_or", "bitwise_xor", "left_shift", "right_shift", "gcd",
              "lcm"):
    BINARY_RULES[getattr(np, _name)] = (F, F, F, F, F)

# Ufuncs whose output in local mode follows the values of the inputs (selection): the
# comparison by which an operand wins. The result follows ``a`` where ``b`` does not win
# (``not wins(vb, va)``) and ``b`` where ``a`` does not; ties (and NaN) follow both.
SELECTING = {np.maximum: operator.gt, np.fmax: operator.gt,
             np.minimum: operator.lt, np.fmin: operator.lt}

# Ufuncs whose result is an exact 0, with zero first and second derivatives, wherever one of
# the listed operands is a constant exact 0 (``0 * x``, ``0 / x``): there the element keeps
# no dependence. A NaN or inf constant is not 0 and keeps it.
ZERO_ANNIHILATORS: dict[np.ufunc, tuple[int, ...]] = {
    np.multiply: (0, 1),
    np.divide: (0,),
    np.true_divide: (0,),
}

# Ufuncs with two outputs: one rule per output, each a unary or binary rule.
MULTI_OUTPUT_RULES = {
    np.divmod: [(F, F, F, F, F), (T, T, F, F, F)],
    np.modf: [LINEAR, CONSTANT],
    np.frexp: [LINEAR, CONSTANT],
}

# Python's operators, one row each: ``name: (python_operator, ufunc, form)``. Both traced
# classes build their operator methods from this table (``TracedScalar`` in
# tracer._scalar, ``TracedArray`` in tracer._operators), as numpy's scalars and arrays do:
#
# * ``BINARY``: ``__name__`` and the reflected ``__rname__``; arrays also get the in-place
#   ``__iname__`` (Python has no in-place divmod);
# * ``COMPARISON``: ``__name__`` only (Python swaps the operands of ``2 < x`` itself);
# * ``UNARY``: ``__name__``.
#
# ``np.matmul`` is a product (PRODUCT_UFUNCS): numpy's scalars have no ``@``, so traced
# scalars do not get it either.
BINARY, COMPARISON, UNARY = "binary", "comparison", "unary"
OPERATORS: dict[str, tuple] = {
    "add": (operator.add, np.add, BINARY),
    "sub": (operator.sub, np.subtract, BINARY),
    "mul": (operator.mul, np.multiply, BINARY),
    "truediv": (operator.truediv, np.divide, BINARY),
    "floordiv": (operator.floordiv, np.floor_divide, BINARY),
    "mod": (operator.mod, np.remainder, BINARY),
    "divmod": (divmod, np.divmod, BINARY),
    "pow": (operator.pow, np.power, BINARY),
    "matmul": (operator.matmul, np.matmul, BINARY),
    "and": (operator.and_, np.bitwise_and, BINARY),
    "or": (operator.or_, np.bitwise_or, BINARY),
    "xor": (operator.xor, np.bitwise_xor, BINARY),
    "lshift": (operator.lshift, np.left_shift, BINARY),
    "rshift": (operator.rshift, np.right_shift, BINARY),
    "lt": (operator.lt, np.less, COMPARISON),
    "le": (operator.le, np.less_equal, COMPARISON),
    "gt": (operator.gt, np.greater, COMPARISON),
    "ge": (operator.ge, np.greater_equal, COMPARISON),
    "eq": (operator.eq, np.equal, COMPARISON),
    "ne": (operator.ne, np.not_equal, COMPARISON),
    "neg": (operator.neg, np.negative, UNARY),
    "pos": (operator.pos, np.positive, UNARY),
    "abs": (operator.abs, np.absolute, UNARY),
    "invert": (operator.invert, np.invert, UNARY),
}


def operator_methods(inplace: bool):
    """``(method name, python operator, ufunc, reflected)`` for every row of OPERATORS
    (with the in-place forms ``__iadd__``... when ``inplace``; ``reflected`` is then None)."""
    for name, (pyop, ufunc, form) in OPERATORS.items():
        yield f"__{name}__", pyop, ufunc, False
        if form == BINARY:
            yield f"__r{name}__", pyop, ufunc, True
            if inplace and ufunc is not np.divmod:
                yield f"__i{name}__", pyop, ufunc, None


# Ufuncs that are linear-algebra products, routed to the product engine.
PRODUCT_UFUNCS = {np.matmul}
for _name in ("matvec", "vecmat", "vecdot"):
    if hasattr(np, _name):
        PRODUCT_UFUNCS.add(getattr(np, _name))


_SCIPY_SPECIAL_SMOOTH_1 = ("erf", "erfc", "erfcx", "erfinv", "erfcinv", "expit", "logit",
                           "log_expit", "gamma", "gammaln", "digamma", "psi", "ndtr", "log_ndtr",
                           "ndtri", "i0", "i1", "i0e", "i1e", "j0", "j1", "y0", "y1", "k0", "k1",
                           "dawsn", "sinc", "expm1", "log1p", "cbrt", "exp10", "exp2", "spence",
                           "entr", "zeta")
_SCIPY_SPECIAL_SMOOTH_2 = ("xlogy", "xlog1py", "rel_entr", "kl_div", "huber", "pseudo_huber",
                           "beta", "betaln", "gammainc", "gammaincc", "boxcox", "boxcox1p",
                           "powm1", "logsumexp")
_scipy_loaded = [False]


def _load_scipy_special() -> None:
    """Register smooth scipy.special ufuncs (lazily: importing scipy.special is slow)."""
    _scipy_loaded[0] = True
    try:
        import scipy.special as sc
    except ImportError:  # pragma: no cover
        return
    for name in _SCIPY_SPECIAL_SMOOTH_1:
        f = getattr(sc, name, None)
        if isinstance(f, np.ufunc) and f.nin == 1 and f not in UNARY_RULES:
            UNARY_RULES[f] = SMOOTH
    for name in _SCIPY_SPECIAL_SMOOTH_2:
        f = getattr(sc, name, None)
        if isinstance(f, np.ufunc) and f.nin == 2 and f not in BINARY_RULES:
            BINARY_RULES[f] = (T, T, T, T, T)


def rule_of(ufunc: np.ufunc):
    """Return the derivative rule of ``ufunc`` or None if the tracer does not know it."""
    table = UNARY_RULES if ufunc.nin == 1 else BINARY_RULES
    rule = table.get(ufunc)
    if rule is None and not _scipy_loaded[0]:
        _load_scipy_special()
        rule = table.get(ufunc)
    return rule


def ufunc_name(ufunc) -> str:
    """``np.sin`` for numpy ufuncs, ``scipy.special.erf`` for scipy's, else the bare name."""
    name = getattr(ufunc, "__name__", repr(ufunc))
    if getattr(np, name, None) is ufunc:
        return f"np.{name}"
    try:
        import scipy.special as sc
        if getattr(sc, name, None) is ufunc:
            return f"scipy.special.{name}"
    except ImportError:  # pragma: no cover
        pass
    return name
