"""Traced scalars for loop-style code: frozensets instead of CSR arrays.

Indexing a traced array down to one element gives a :class:`TracedScalar`. Its arithmetic
is plain Python set work (no numpy call per operation), which keeps
element-by-element loops within a small factor of the same loop on floats.
"""

from __future__ import annotations

import numpy as np

from ._derivatives import SELECTING, ZERO_ANNIHILATORS, rule_of, ufunc_name
from ._errors import TracingError, control_flow_error, conversion_error, unsupported_error

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

    # ----- fast arithmetic -----
    def __add__(self, o):
        if type(o) is TracedScalar:
            sd, od = self.deps, o.deps
            d = sd if (sd is od or not od) else (od if not sd else sd | od)
            p = None if self.pairs is None else self.pairs | o.pairs
            v = None if self.value is None or o.value is None else self.value + o.value
            return TracedScalar(d, p, v, self.s)
        if type(o) in _NUMS:
            return TracedScalar(self.deps, self.pairs,
                                None if self.value is None else self.value + o, self.s)
        return _generic(np.add, (self, o))

    def __radd__(self, o):
        if type(o) in _NUMS:
            return TracedScalar(self.deps, self.pairs,
                                None if self.value is None else o + self.value, self.s)
        return _generic(np.add, (o, self))

    def __sub__(self, o):
        if type(o) is TracedScalar:
            sd, od = self.deps, o.deps
            d = sd if (sd is od or not od) else (od if not sd else sd | od)
            p = None if self.pairs is None else self.pairs | o.pairs
            v = None if self.value is None or o.value is None else self.value - o.value
            return TracedScalar(d, p, v, self.s)
        if type(o) in _NUMS:
            return TracedScalar(self.deps, self.pairs,
                                None if self.value is None else self.value - o, self.s)
        return _generic(np.subtract, (self, o))

    def __rsub__(self, o):
        if type(o) in _NUMS:
            return TracedScalar(self.deps, self.pairs,
                                None if self.value is None else o - self.value, self.s)
        return _generic(np.subtract, (o, self))

    def __mul__(self, o):
        if type(o) is TracedScalar:
            s = self.s
            sd, od = self.deps, o.deps
            if not sd or not od:  # a dependence-free factor may be an exact 0
                return _generic(np.multiply, (self, o))
            d = sd if (sd is od or not od) else (od if not sd else sd | od)
            p = None
            if self.pairs is not None:
                p = self.pairs | o.pairs | cross_pairs(sd, od, s.n)
            v = None if self.value is None or o.value is None else self.value * o.value
            return TracedScalar(d, p, v, s)
        if type(o) in _NUMS and o:  # o == 0 (not NaN) cuts: see _generic
            return TracedScalar(self.deps, self.pairs,
                                None if self.value is None else self.value * o, self.s)
        return _generic(np.multiply, (self, o))

    def __rmul__(self, o):
        if type(o) in _NUMS and o:  # o == 0 (not NaN) cuts: see _generic
            return TracedScalar(self.deps, self.pairs,
                                None if self.value is None else o * self.value, self.s)
        return _generic(np.multiply, (o, self))

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
        return TracedScalar(self.deps, self.pairs,
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
        from ._errors import float_conversion_error
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
        from ._errors import _JaxCodeDetected
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
        from ._array import scalar_to_array
        return np.reshape(scalar_to_array(self), shape[0] if len(shape) == 1 else shape)

    def ravel(self):
        from ._array import scalar_to_array
        return np.ravel(scalar_to_array(self))

    def sum(self, *args, **kwargs):
        return self

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method == "__call__" and not kwargs:
            return _generic(ufunc, inputs)
        from ._array import array_ufunc
        return array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        from ._array import array_function
        return array_function(func, args, kwargs)


def _value(x):
    if type(x) is TracedScalar:
        return x.value
    return x


def _is_constant_zero(x) -> bool:
    """A plain number, or a dependence-free traced scalar, that is exactly 0 (not NaN)."""
    if type(x) is TracedScalar:
        return not x.deps and not x.pairs and x.value is not None and x.value == 0
    return x == 0


def _generic(ufunc, inputs):
    """A ufunc on scalar operands, by the derivative table; arrays go to the array engine."""
    session = None
    for x in inputs:
        if type(x) is TracedScalar:
            session = x.s
        elif not (type(x) in _NUMS or isinstance(x, (int, float, np.number))):
            from ._array import ufunc_call
            return ufunc_call(ufunc, inputs)
    if ufunc is np.round:  # np.round is a function, not a ufunc: zero derivative
        ufunc = np.rint
    if ufunc.nout != 1:
        from ._array import ufunc_call
        return ufunc_call(ufunc, inputs)
    rule = rule_of(ufunc)
    zero_product = ufunc in ZERO_ANNIHILATORS and any(_is_constant_zero(inputs[k])
                                                      for k in ZERO_ANNIHILATORS[ufunc])
    if zero_product:
        rule = (False,) * 5  # 0 * x, 0 / x: an exact 0 without dependence
    if rule is None:
        if ufunc in (np.matmul,):
            from ._array import ufunc_call
            return ufunc_call(ufunc, inputs)
        raise unsupported_error(f"the ufunc {ufunc_name(ufunc)}")
    vals = [_value(x) for x in inputs]
    known = all(v is not None for v in vals)
    value = None
    if known:
        with np.errstate(all="ignore"):
            value = ufunc(*vals)
        value = value.item() if isinstance(value, np.generic) else value
    elif zero_product:  # 0 * x is 0 for every finite x
        value, known = 0.0, True
    if ufunc.nin == 2 and all(r is False for r in rule):
        # comparisons and friends: no dependence; known values give a plain bool
        if known:
            return value
        return TracedScalar(NO_SET, None if not session.hessian else NO_SET, None, session)
    n = session.n
    hess = session.hessian
    if ufunc.nin == 1:
        (x,) = inputs
        d1, d2 = rule
        if not d1:
            if known:
                return value
            return TracedScalar(NO_SET, NO_SET if hess else None, None, session)
        pairs = None
        if hess:
            pairs = x.pairs | self_pairs(x.deps, n) if d2 else x.pairs
        return TracedScalar(x.deps, pairs, value, session)
    a, b = inputs
    da, db, daa, dbb, dab = rule
    ad = a.deps if type(a) is TracedScalar else NO_SET
    bd = b.deps if type(b) is TracedScalar else NO_SET
    if ufunc in SELECTING and known:
        va, vb = vals
        if ufunc in (np.maximum, np.fmax):
            ta, tb = not (vb > va), not (va > vb)
        else:
            ta, tb = not (vb < va), not (va < vb)
        da, db, daa, dbb, dab = ta, tb, False, False, False
    deps = (ad if da else NO_SET) | (bd if db else NO_SET)
    pairs = None
    if hess:
        ap = a.pairs if type(a) is TracedScalar else NO_SET
        bp = b.pairs if type(b) is TracedScalar else NO_SET
        pairs = (ap if da else NO_SET) | (bp if db else NO_SET)
        if daa:
            pairs = pairs | self_pairs(ad, n)
        if dbb:
            pairs = pairs | self_pairs(bd, n)
        if dab:
            pairs = pairs | cross_pairs(ad, bd, n)
    if not deps and not pairs and known:
        return value
    return TracedScalar(deps, pairs, value, session)


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
