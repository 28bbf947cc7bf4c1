"""Traced scalars for loop-style code: frozensets instead of CSR arrays.

Indexing a traced array down to one element gives a :class:`TracedScalar`. Its arithmetic
is plain Python set work, which keeps element-by-element loops within a small factor of
the same loop on floats. Every operation takes its derivative flags from the tables of
:mod:`tracer._derivatives` (the rules the array engine uses too) and builds its result
with :func:`_unary_result` / :func:`_binary_result`. Operations with arrays, lists and
other operands that are not numbers go through numpy to the array engine.
"""

from __future__ import annotations

import operator

import numpy as np

from ._derivatives import (
    BINARY_RULES,
    SELECTING,
    UNARY_RULES,
    ZERO_ANNIHILATORS,
    rule_of,
    ufunc_name,
)
from ._errors import (
    TracingError,
    _JaxCodeDetected,
    control_flow_error,
    conversion_error,
    float_conversion_error,
    unsupported_error,
)

NO_SET: frozenset = frozenset()
_NUMS = {float, int, np.float64, np.float32, np.int64, np.int32, bool, np.bool_}


def self_pairs(d, n):
    if not d:
        return NO_SET
    s = sorted(d)
    return frozenset(i * n + j for a, i in enumerate(s) for j in s[a:])


def cross_pairs(a, b, n):
    if not a or not b:
        return NO_SET
    return frozenset(i * n + j if i <= j else j * n + i for i in a for j in b)


def scalar_from_row(arr, pos: int) -> "TracedScalar":
    """The element ``pos`` (flat) of a synced traced array as a scalar."""
    ptr, idx = arr._g
    a, b = ptr[pos], ptr[pos + 1]
    deps = frozenset(idx[a:b].tolist()) if b > a else NO_SET
    pairs = None
    if arr._h is not None:
        hp, hi = arr._h
        a, b = hp[pos], hp[pos + 1]
        pairs = frozenset(hi[a:b].tolist()) if b > a else NO_SET
    value = None if arr._val is None else arr._val.reshape(-1)[pos].item()
    return TracedScalar(deps, pairs, value, arr._s)


def _arithmetic(ufunc, value_op, reflected: bool):
    """The operator method ``a <op> b`` for ``ufunc``: the rule is the table's, the value is
    Python's arithmetic on the two values (as for floats); zeros that cut the product,
    and operands that are not numbers, go through :func:`_generic`."""
    rule = BINARY_RULES[ufunc]
    cut = ZERO_ANNIHILATORS.get(ufunc, ())
    cut_a, cut_b = 0 in cut, 1 in cut

    def method(self, o):
        a, b = (o, self) if reflected else (self, o)
        ta, tb = type(a), type(b)
        if not ((ta is TracedScalar or ta in _NUMS) and (tb is TracedScalar or tb in _NUMS)) \
                or (cut_a and _is_constant_zero(a)) or (cut_b and _is_constant_zero(b)):
            return _generic(ufunc, (a, b))
        va = a.value if ta is TracedScalar else a
        vb = b.value if tb is TracedScalar else b
        value = None if va is None or vb is None else value_op(va, vb)
        return _binary_result(rule, a, b, value, self.s)

    method.__name__ = f"__{'r' if reflected else ''}{value_op.__name__}__"
    method.__doc__ = f"``np.{ufunc.__name__}`` by its rule in the derivative table."
    return method


class TracedScalar:
    """One traced number: input-index set, pair set (Hessian mode), value (local mode)."""

    __slots__ = ("deps", "pairs", "value", "s")
    __array_priority__ = 1000
    shape = ()
    ndim = 0
    size = 1
    dtype = np.dtype(float)

    def __init__(self, deps, pairs, value, session):
        self.deps = deps
        self.pairs = pairs
        self.value = value
        self.s = session

    def __repr__(self):
        return f"TracedScalar(deps={sorted(self.deps)}, value={self.value})"

    # ----- arithmetic: every rule comes from the derivative table -----
    __add__ = _arithmetic(np.add, operator.add, False)
    __radd__ = _arithmetic(np.add, operator.add, True)
    __sub__ = _arithmetic(np.subtract, operator.sub, False)
    __rsub__ = _arithmetic(np.subtract, operator.sub, True)
    __mul__ = _arithmetic(np.multiply, operator.mul, False)
    __rmul__ = _arithmetic(np.multiply, operator.mul, True)

    def __truediv__(self, o):
        return _generic(np.divide, (self, o))

    def __rtruediv__(self, o):
        return _generic(np.divide, (o, self))

    def __floordiv__(self, o):
        return _generic(np.floor_divide, (self, o))

    def __rfloordiv__(self, o):
        return _generic(np.floor_divide, (o, self))

    def __mod__(self, o):
        return _generic(np.remainder, (self, o))

    def __rmod__(self, o):
        return _generic(np.remainder, (o, self))

    def __divmod__(self, o):
        return (_generic(np.floor_divide, (self, o)), _generic(np.remainder, (self, o)))

    def __pow__(self, o):
        return _generic(np.power, (self, o))

    def __rpow__(self, o):
        return _generic(np.power, (o, self))

    def __matmul__(self, o):
        return _generic(np.multiply, (self, o))

    def __neg__(self):
        return _unary_result(UNARY_RULES[np.negative], self,
                             None if self.value is None else -self.value, self.s)

    def __pos__(self):
        return self

    def __abs__(self):
        return _generic(np.absolute, (self,))

    def __lt__(self, o):
        return _generic(np.less, (self, o))

    def __le__(self, o):
        return _generic(np.less_equal, (self, o))

    def __gt__(self, o):
        return _generic(np.greater, (self, o))

    def __ge__(self, o):
        return _generic(np.greater_equal, (self, o))

    def __eq__(self, o):
        return _generic(np.equal, (self, o))

    def __ne__(self, o):
        return _generic(np.not_equal, (self, o))

    __hash__ = object.__hash__

    def __round__(self, ndigits=None):
        return _generic(np.round if ndigits is None else np.round, (self,))

    def __floor__(self):
        return _generic(np.floor, (self,))

    def __ceil__(self):
        return _generic(np.ceil, (self,))

    def __trunc__(self):
        return _generic(np.trunc, (self,))

    # ----- conversions -----
    def __bool__(self):
        if self.value is None:
            raise control_flow_error("bool() (an `if`/`while` condition, `and`/`or`, or `not`)")
        return bool(self.value)

    def __float__(self):
        raise float_conversion_error("float() (or a math-module function such as math.sin)")

    def __int__(self):
        raise conversion_error("int()")

    def __complex__(self):
        raise conversion_error("complex()")

    def __index__(self):
        if self.value is None:
            raise control_flow_error("Using a traced value as an index")
        v = self.value
        if isinstance(v, (bool, np.bool_)) or float(v) != int(v):
            raise TracingError(f"A traced value {v!r} is not an integer and cannot be an index.")
        return int(v)

    def item(self, *args):
        raise conversion_error(".item()")

    def __jax_array__(self):
        raise _JaxCodeDetected()

    # ----- array-like basics -----
    @property
    def real(self):
        return self

    @property
    def imag(self):
        return 0.0

    @property
    def T(self):
        return self

    def conj(self):
        return self

    conjugate = conj

    def copy(self):
        return self

    def astype(self, dtype, *args, **kwargs):
        dtype = np.dtype(dtype)
        if dtype.kind in "fc":
            return self
        return _generic(np.trunc, (self,))

    def reshape(self, *shape):
        return np.reshape(self, shape[0] if len(shape) == 1 else shape)

    def ravel(self):
        return np.ravel(self)

    def sum(self, *args, **kwargs):
        return self

    # __array_ufunc__ and __array_function__ (arrays, lists, numpy functions) are installed
    # by tracer._operators, which hands what scalar_ufunc cannot do to the array engine.


def _union(a: frozenset, b: frozenset) -> frozenset:
    """``a | b``, without a new set when one side is empty or both are the same set."""
    if a is b or not b:
        return a
    if not a:
        return b
    return a | b


def _unary_result(rule, x: TracedScalar, value, session):
    """``f(x)`` for a traced scalar ``x``, by the unary rule ``(d1, d2)`` of ``f``."""
    d1, d2 = rule
    if not d1:
        if value is not None:
            return value
        return TracedScalar(NO_SET, NO_SET if session.hessian else None, None, session)
    pairs = None
    if session.hessian:
        pairs = x.pairs | self_pairs(x.deps, session.n) if d2 else x.pairs
    return TracedScalar(x.deps, pairs, value, session)


def _binary_result(rule, a, b, value, session):
    """``f(a, b)`` for traced scalars and numbers, by the binary rule ``(da, db, daa, dbb,
    dab)`` of ``f`` (see :mod:`tracer._derivatives`). A result without dependence and with
    a known value is that plain value."""
    da, db, daa, dbb, dab = rule
    ta = type(a) is TracedScalar
    tb = type(b) is TracedScalar
    ad = a.deps if ta else NO_SET
    bd = b.deps if tb else NO_SET
    deps = _union(ad if da else NO_SET, bd if db else NO_SET)
    pairs = None
    if session.hessian:
        n = session.n
        pairs = _union(a.pairs if ta and da else NO_SET, b.pairs if tb and db else NO_SET)
        if daa and ad:
            pairs = pairs | self_pairs(ad, n)
        if dbb and bd:
            pairs = pairs | self_pairs(bd, n)
        if dab and ad and bd:
            pairs = pairs | cross_pairs(ad, bd, n)
    if not deps and not pairs and value is not None:
        return value
    return TracedScalar(deps, pairs, value, session)


def _value(x):
    if type(x) is TracedScalar:
        return x.value
    return x


def _is_constant_zero(x) -> bool:
    """A plain number, or a dependence-free traced scalar, that is exactly 0 (not NaN)."""
    if type(x) is TracedScalar:
        return not x.deps and not x.pairs and x.value is not None and x.value == 0
    return x == 0


def scalar_ufunc(ufunc, inputs):
    """``ufunc(*inputs)`` on traced scalars and plain numbers, by the derivative table.

    Returns NotImplemented when the array engine must do it: an operand that is neither
    (an array, a list...), a ufunc with several outputs, or ``np.matmul``.
    """
    session = None
    for x in inputs:
        if type(x) is TracedScalar:
            session = x.s
        elif not (type(x) in _NUMS or isinstance(x, (int, float, np.number))):
            return NotImplemented
    if ufunc is np.round:  # np.round is a function, not a ufunc: zero derivative
        ufunc = np.rint
    if ufunc.nout != 1:
        return NotImplemented
    rule = rule_of(ufunc)
    zero_product = ufunc in ZERO_ANNIHILATORS and any(_is_constant_zero(inputs[k])
                                                      for k in ZERO_ANNIHILATORS[ufunc])
    if zero_product:
        rule = (False,) * 5  # 0 * x, 0 / x: an exact 0 without dependence
    if rule is None:
        if ufunc is np.matmul:
            return NotImplemented
        raise unsupported_error(f"the ufunc {ufunc_name(ufunc)}")
    vals = [_value(x) for x in inputs]
    value = None
    if all(v is not None for v in vals):
        with np.errstate(all="ignore"):
            value = ufunc(*vals)
        value = value.item() if isinstance(value, np.generic) else value
    elif zero_product:  # 0 * x is 0 for every finite x
        value = 0.0
    if ufunc.nin == 1:
        return _unary_result(rule, inputs[0], value, session)
    if ufunc in SELECTING and value is not None and not zero_product:
        # local mode: the result follows the larger (or smaller) operand; ties take both
        va, vb = vals
        if ufunc in (np.maximum, np.fmax):
            ta, tb = not (vb > va), not (va > vb)
        else:
            ta, tb = not (vb < va), not (va < vb)
        rule = (ta, tb, False, False, False)
    return _binary_result(rule, inputs[0], inputs[1], value, session)


def _generic(ufunc, inputs):
    """``ufunc(*inputs)`` with at least one traced scalar among the inputs."""
    r = scalar_ufunc(ufunc, inputs)
    if r is NotImplemented:  # numpy hands it to the array engine (TracedScalar.__array_ufunc__)
        return ufunc(*inputs)
    return r


def _object_loop_method(ufunc):
    """numpy's object-dtype ufunc loops call ``element.<ufunc name>()``."""
    def method(self, *others):
        return _generic(ufunc, (self,) + others)
    method.__name__ = ufunc.__name__
    method.__doc__ = f"np.{ufunc.__name__} on a traced scalar (object-array ufunc loops)."
    return method


# Traced scalars deliberately have no __array__: np.array([s0, s1]) outside a trace patch
# gives an object array, on which numpy's ufunc loops and reductions call these methods
# and the arithmetic operators, so dependence is kept; float() conversions still raise.
for _name in ("sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh",
              "arcsinh", "arccosh", "arctanh", "exp", "exp2", "expm1", "log", "log2", "log10",
              "log1p", "sqrt", "cbrt", "square", "reciprocal", "deg2rad", "rad2deg", "degrees",
              "radians", "floor", "ceil", "rint", "trunc", "sign", "fabs", "absolute",
              "negative", "positive", "arctan2", "hypot", "logaddexp", "logaddexp2",
              "copysign", "fmod", "isnan", "isinf", "isfinite"):
    if not hasattr(TracedScalar, _name):
        setattr(TracedScalar, _name, _object_loop_method(getattr(np, _name)))
