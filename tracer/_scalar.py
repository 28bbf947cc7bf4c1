"""Traced scalars for loop-style code: frozensets instead of CSR arrays.

Indexing a traced array down to one element gives a :class:`TracedScalar`. Its arithmetic
is plain Python set work, which keeps element-by-element loops within a small factor of
the same loop on floats. Every ufunc (and operator) runs the implementation that
:func:`_unary` / :func:`_binary` build from its rule in the tables of
:mod:`tracer._derivatives`, the rules the array engine uses too. Operations with arrays,
lists and other operands that are not numbers go through numpy to the array engine.
"""

from __future__ import annotations

import operator

import numpy as np

from ._derivatives import SELECTING, ZERO_ANNIHILATORS, rule_of, ufunc_name
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
_NUMBERS = (int, float, np.number)


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


def _binary(ufunc, value_op=None, reflected: bool = False, operator_method: bool = False):
    """The implementation of the binary ufunc ``ufunc`` on traced scalars and numbers.

    Built once per ufunc from its rule ``(da, db, daa, dbb, dab)`` in
    :data:`~tracer._derivatives.BINARY_RULES`: ``G = (da ? G_a) | (db ? G_b)``, ``P = (da ?
    P_a) | (db ? P_b) | (daa ? G_a x G_a) | (dbb ? G_b x G_b) | (dab ? G_a x G_b)``. An exact
    constant zero at a position of :data:`~tracer._derivatives.ZERO_ANNIHILATORS` gives an
    exact zero without dependence; selecting ufuncs (``maximum``...) with known values
    follow the selected operand. The value is ``value_op(va, vb)`` (Python's arithmetic,
    for the operators) or the ufunc's. A result without dependence and with a known value
    is that plain value.

    The returned function takes ``(a, b)``. With ``operator_method`` it is the operator
    method ``(self, other)`` of a traced scalar instead (``other`` is ``a`` when
    ``reflected``, as for ``__radd__``), with the hot paths of loops inline: two traced
    scalars, a traced scalar and a number (the rule's flags, specialized).
    """
    rule = da, db, daa, dbb, _ = rule_of(ufunc)
    cut = ZERO_ANNIHILATORS.get(ufunc, ())
    cut_a, cut_b = 0 in cut, 1 in cut
    selecting = ufunc in SELECTING
    takes_larger = ufunc in (np.maximum, np.fmax)

    def apply(a, b):
        ta = type(a) is TracedScalar
        tb = type(b) is TracedScalar
        if not ((ta or type(a) in _NUMS or isinstance(a, _NUMBERS))
                and (tb or type(b) in _NUMS or isinstance(b, _NUMBERS))):
            return _generic(ufunc, (a, b))
        va = a.value if ta else a
        vb = b.value if tb else b
        value = None if va is None or vb is None else (
            value_op(va, vb) if value_op is not None else _ufunc_value(ufunc, va, vb))
        if (cut_a and ((not a.deps and not a.pairs and va == 0) if ta else a == 0)) or \
                (cut_b and ((not b.deps and not b.pairs and vb == 0) if tb else b == 0)):
            return 0.0 if value is None else value  # 0 * x is 0 for every finite x
        flags = rule
        if selecting and value is not None:
            # local mode: the result follows the larger (or smaller) operand; ties: both
            if takes_larger:
                flags = (not (vb > va), not (va > vb), False, False, False)
            else:
                flags = (not (vb < va), not (va < vb), False, False, False)
        fa, fb = flags[0], flags[1]
        ad = a.deps if ta else NO_SET
        bd = b.deps if tb else NO_SET
        if fa and fb:
            deps = ad if (ad is bd or not bd) else (bd if not ad else ad | bd)
        else:
            deps = ad if fa else (bd if fb else NO_SET)
        session = a.s if ta else b.s
        pairs = _pairs(flags, a, b, session) if session.hessian else None
        if value is not None and not deps and not pairs:
            return value
        return TracedScalar(deps, pairs, value, session)

    apply.__name__ = ufunc.__name__
    apply.__doc__ = f"``np.{ufunc.__name__}`` on traced scalars, by its rule in the table."
    if not operator_method:
        return apply

    both = da and db
    # two traced scalars (self first) need no check of the values, or only that none is an
    # exact constant zero
    direct = not selecting and not cut and not reflected
    cuts = not selecting and bool(cut) and not reflected
    # with a number on the other side, the sets of self pass through unchanged
    passes = (db and not dbb) if reflected else (da and not daa)
    passes = passes and not selecting
    cut_number = cut_a if reflected else cut_b

    def method(self, o):
        kind = type(o)
        if kind is TracedScalar and (direct or (cuts and self.deps and o.deps)):
            ad, bd = self.deps, o.deps
            if both:
                deps = ad if (ad is bd or not bd) else (bd if not ad else ad | bd)
            else:
                deps = ad if da else (bd if db else NO_SET)
            # (pairs are None exactly outside Hessian mode)
            pairs = None if self.pairs is None else _pairs(rule, self, o, self.s)
            va, vb = self.value, o.value
            value = None if va is None or vb is None else value_op(va, vb)
            if not deps and value is not None and not pairs:
                return value
            return TracedScalar(deps, pairs, value, self.s)
        if passes and kind in _NUMS and not (cut_number and o == 0):
            v = self.value
            value = None if v is None else (value_op(o, v) if reflected else value_op(v, o))
            if value is not None and not self.deps and not self.pairs:
                return value
            return TracedScalar(self.deps, self.pairs, value, self.s)
        return apply(o, self) if reflected else apply(self, o)

    method.__name__ = f"__{'r' if reflected else ''}{value_op.__name__}__"
    method.__doc__ = apply.__doc__
    return method


def _pairs(rule, a, b, session) -> frozenset:
    """The pair set of ``f(a, b)`` by the rule of ``f`` (traced scalars or numbers)."""
    da, db, daa, dbb, dab = rule
    ta = type(a) is TracedScalar
    tb = type(b) is TracedScalar
    ad = a.deps if ta else NO_SET
    bd = b.deps if tb else NO_SET
    n = session.n
    pairs = _union(a.pairs if da and ta else NO_SET, b.pairs if db and tb else NO_SET)
    if daa and ad:
        pairs = pairs | self_pairs(ad, n)
    if dbb and bd:
        pairs = pairs | self_pairs(bd, n)
    if dab and ad and bd:
        pairs = pairs | cross_pairs(ad, bd, n)
    return pairs


def _unary(ufunc, value_op=None):
    """The implementation of the unary ufunc ``ufunc`` on a traced scalar, built from its
    rule ``(d1, d2)`` in :data:`~tracer._derivatives.UNARY_RULES`: ``G = d1 ? G_x``,
    ``P = (d1 ? P_x) | (d2 ? G_x x G_x)``; the value is ``value_op(v)`` or the ufunc's."""
    d1, d2 = rule_of(ufunc)
    passes = d1 and not d2  # the sets of x pass through unchanged

    def apply(x):
        v = x.value
        value = None if v is None else (
            value_op(v) if value_op is not None else _ufunc_value(ufunc, v))
        if passes:
            return TracedScalar(x.deps, x.pairs, value, x.s)
        session = x.s
        if not d1:
            if value is not None:
                return value
            return TracedScalar(NO_SET, NO_SET if session.hessian else None, None, session)
        pairs = x.pairs | self_pairs(x.deps, session.n) if session.hessian else None
        return TracedScalar(x.deps, pairs, value, session)

    apply.__name__ = ufunc.__name__
    apply.__doc__ = f"``np.{ufunc.__name__}`` on a traced scalar, by its rule in the table."
    return apply


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

    # ----- arithmetic: the implementations built from the derivative table -----
    __add__ = _binary(np.add, operator.add, operator_method=True)
    __radd__ = _binary(np.add, operator.add, reflected=True, operator_method=True)
    __sub__ = _binary(np.subtract, operator.sub, operator_method=True)
    __rsub__ = _binary(np.subtract, operator.sub, reflected=True, operator_method=True)
    __mul__ = _binary(np.multiply, operator.mul, operator_method=True)
    __rmul__ = _binary(np.multiply, operator.mul, reflected=True, operator_method=True)
    __neg__ = _unary(np.negative, operator.neg)

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
        if ndigits is None:
            return _generic(np.round, (self,))
        return self._with_value(_generic(np.round, (self,)),
                                None if self.value is None else round(self.value, ndigits))

    def _with_value(self, like, value):
        """``like``'s dependence (a piecewise-constant rule's) with ``value`` instead."""
        if isinstance(like, TracedScalar):
            return TracedScalar(like.deps, like.pairs, value, like.s)
        return value

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
        if dtype.kind == "b":  # nonzero is True (trunc would make 0.5 False)
            return self._with_value(_generic(np.trunc, (self,)),
                                    None if self.value is None else bool(self.value))
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


def _ufunc_value(ufunc, *values):
    with np.errstate(all="ignore"):
        value = ufunc(*values)
    return value.item() if isinstance(value, np.generic) else value


# The scalar implementation of each ufunc met so far (built from the table on first use).
_IMPLEMENTATIONS: dict = {}


def scalar_ufunc(ufunc, inputs):
    """``ufunc(*inputs)`` on traced scalars and plain numbers, by the derivative table.

    Returns NotImplemented when the array engine must do it: an operand that is neither
    (an array, a list...), a ufunc with several outputs, or ``np.matmul``.
    """
    for x in inputs:
        if not (type(x) is TracedScalar or type(x) in _NUMS or isinstance(x, _NUMBERS)):
            return NotImplemented
    if ufunc is np.round:  # np.round is a function, not a ufunc: zero derivative
        ufunc = np.rint
    if ufunc.nout != 1:
        return NotImplemented
    impl = _IMPLEMENTATIONS.get(ufunc)
    if impl is None:
        if rule_of(ufunc) is None:
            if ufunc is np.matmul:
                return NotImplemented
            raise unsupported_error(f"the ufunc {ufunc_name(ufunc)}")
        impl = _IMPLEMENTATIONS[ufunc] = _unary(ufunc) if ufunc.nin == 1 else _binary(ufunc)
    return impl(*inputs)


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
