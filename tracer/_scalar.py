"""Traced scalars for loop-style code: frozensets instead of CSR arrays.

Indexing a traced array down to one element gives a :class:`TracedScalar`. Its arithmetic
is plain Python set work, which keeps element-by-element loops within a small factor of
the same loop on floats. Every ufunc (and operator) runs the implementation that
:func:`_unary` / :func:`_binary` build from its rule in the tables of
:mod:`tracer._derivatives`, the rules the array engine uses too. Operations with arrays,
lists and other operands that are not numbers go through numpy to the array engine.
"""

from __future__ import annotations

import math

import numpy as np

from ._derivatives import (
    MULTI_OUTPUT_RULES,
    PRODUCT_UFUNCS,
    SELECTING,
    ZERO_ANNIHILATORS,
    operator_methods,
    rule_of,
    ufunc_name,
)
from ._dtypes import FLOAT, INT, kind_of, result_dtype
from ._errors import (
    _JaxCodeDetected,
    control_flow_error,
    conversion_error,
    float_conversion_error,
    not_an_index_error,
    unsupported_error,
)

NO_SET: frozenset = frozenset()
_NUMS = {float, int, np.float64, np.float32, np.int64, np.int32, bool, np.bool_}
_NUMBERS = (int, float, np.number)
_PYTHON_REALS = frozenset({float, int})
# Ufuncs whose Python operator gives numpy's value on every value a traced scalar holds
_PYTHON_EXACT = {np.add, np.subtract, np.multiply}
# math's own functions (the trace patches the module's names while it runs)
_FLOOR, _CEIL, _TRUNC = math.floor, math.ceil, math.trunc


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
    value = None
    if arr._val is not None:
        value = arr._val.item(pos)  # (a Python number: fast arithmetic)
        if type(value) is bool:  # numpy's bools: ~ and + on them are numpy's
            value = np.True_ if value else np.False_
    return TracedScalar(deps, pairs, value, arr._s, arr._dtype)


def _value_function(ufunc, pyop):
    """``(va, vb) -> value`` of the binary ``ufunc`` on plain values, as numpy gives it.

    Python's operator ``pyop`` (the operator's row in
    :data:`~tracer._derivatives.OPERATORS`) is the fast path: on the values a traced
    scalar holds (Python floats and ints, numpy bools) ``+``, ``-`` and ``*`` give numpy's
    values. Others do on Python numbers where they return a float or a bool; where Python
    raises (``1.0 / 0.0``) or returns another type (``(-8.0) ** (1/3)`` is complex, numpy's
    is NaN) the ufunc decides.
    """
    if pyop is None:
        return lambda va, vb: _ufunc_value(ufunc, va, vb)
    if ufunc in _PYTHON_EXACT:
        return pyop

    def value(va, vb):
        if type(va) not in _PYTHON_REALS or type(vb) not in _PYTHON_REALS:
            return _ufunc_value(ufunc, va, vb)  # (numpy bools: numpy's warnings, silenced)
        try:
            r = pyop(va, vb)
        except ArithmeticError:
            return _ufunc_value(ufunc, va, vb)
        t = type(r)
        if t is float:
            return r
        if t is bool:
            return np.True_ if r else np.False_
        return _ufunc_value(ufunc, va, vb)

    return value


def _float_result(ufunc, nin: int):
    """The result dtype of ``ufunc`` on float64 operands, or None where numpy has no loop
    (the fast paths of the operators are for float64 operands and numbers)."""
    try:
        return result_dtype(ufunc, *(FLOAT,) * nin)
    except TypeError:
        return None


def _binary(ufunc, pyop=None, reflected: bool = False, operator_method: bool = False,
            output: int | None = None):
    """The implementation of the binary ufunc ``ufunc`` on traced scalars and numbers.

    Built once per ufunc from its rule ``(da, db, daa, dbb, dab)`` in
    :data:`~tracer._derivatives.BINARY_RULES` (output ``output`` of a ufunc with several:
    its rule in :data:`~tracer._derivatives.MULTI_OUTPUT_RULES`): ``G = (da ? G_a) | (db ?
    G_b)``, ``P = (da ? P_a) | (db ? P_b) | (daa ? G_a x G_a) | (dbb ? G_b x G_b) | (dab ?
    G_a x G_b)``. An exact constant zero at a position of
    :data:`~tracer._derivatives.ZERO_ANNIHILATORS` gives an exact zero without dependence;
    selecting ufuncs (:data:`~tracer._derivatives.SELECTING`) with known values follow the
    selected operand. The value and dtype are numpy's (numpy's ``TypeError`` where numpy
    has no loop for the dtypes, ``float & float``); a result without dependence and with a
    known value is that plain value.

    The returned function takes ``(a, b)``. With ``operator_method`` it is the operator
    method ``(self, other)`` of a traced scalar instead (``other`` is ``a`` when
    ``reflected``, as for ``__radd__``), with the hot paths of loops inline: two float
    traced scalars, a float traced scalar and a number (the rule's flags, specialized).
    """
    if output is None:
        rule = rule_of(ufunc)
        value_of = _value_function(ufunc, pyop)
    else:
        rule = MULTI_OUTPUT_RULES[ufunc][output]

        def value_of(va, vb):
            with np.errstate(all="ignore"):
                return _plain(ufunc(va, vb)[output])
    da, db, daa, dbb, _ = rule
    cut = ZERO_ANNIHILATORS.get(ufunc, ())
    cut_a, cut_b = 0 in cut, 1 in cut
    wins = SELECTING.get(ufunc)
    selecting = wins is not None

    def apply(a, b):
        ta = type(a) is TracedScalar
        tb = type(b) is TracedScalar
        if not ((ta or type(a) in _NUMS or isinstance(a, _NUMBERS))
                and (tb or type(b) in _NUMS or isinstance(b, _NUMBERS))):
            return _generic(ufunc, (a, b))
        dtype = result_dtype(ufunc, a.dtype if ta else kind_of(a), b.dtype if tb else kind_of(b))
        if output is not None:
            dtype = dtype[output]
        va = a.value if ta else a
        vb = b.value if tb else b
        value = None if va is None or vb is None else value_of(va, vb)
        if (cut_a and ((not a.deps and not a.pairs and va == 0) if ta else a == 0)) or \
                (cut_b and ((not b.deps and not b.pairs and vb == 0) if tb else b == 0)):
            # 0 * x is 0 for every finite x
            return _plain(dtype.type(0)) if value is None else value
        flags = rule
        if selecting and value is not None:
            # local mode: the result follows the operand that wins; ties: both
            flags = (not wins(vb, va), not wins(va, vb), False, False, False)
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
        return TracedScalar(deps, pairs, value, session, dtype)

    apply.__name__ = ufunc.__name__
    apply.__doc__ = f"``np.{ufunc.__name__}`` on traced scalars, by its rule in the table."
    if not operator_method:
        return apply

    both = da and db
    f64 = FLOAT  # (a closure variable: read faster than the global)
    floats = _float_result(ufunc, 2)  # the dtype of the fast paths (float64 operands)
    fast = floats is not None and not selecting and not reflected
    # two float traced scalars (self first) need no check of the values, or only that none
    # is an exact constant zero
    direct = fast and not cut
    cuts = fast and bool(cut)
    # with a number on the other side, the sets of self pass through unchanged
    passes = (db and not dbb) if reflected else (da and not daa)
    passes = passes and not selecting and floats is not None
    cut_number = cut_a if reflected else cut_b

    def method(self, o):
        kind = type(o)
        if kind is TracedScalar:
            if (direct or (cuts and self.deps and o.deps)) and self.dtype is o.dtype is f64:
                ad, bd = self.deps, o.deps
                if both:
                    deps = ad if (ad is bd or not bd) else (bd if not ad else ad | bd)
                else:
                    deps = ad if da else (bd if db else NO_SET)
                # (pairs are None exactly outside Hessian mode)
                pairs = None if self.pairs is None else _pairs(rule, self, o, self.s)
                va, vb = self.value, o.value
                if va is None or vb is None:
                    return TracedScalar(deps, pairs, None, self.s, floats)
                value = value_of(va, vb)
                if not deps and not pairs:
                    return value
                return TracedScalar(deps, pairs, value, self.s, floats)
        elif passes and kind in _NUMS and self.dtype is f64 and not (cut_number and o == 0):
            # (a float64 with any number has the dtype of float64 with float64)
            v = self.value
            if v is None:
                return TracedScalar(self.deps, self.pairs, None, self.s, floats)
            value = value_of(o, v) if reflected else value_of(v, o)
            if not self.deps and not self.pairs:
                return value
            return TracedScalar(self.deps, self.pairs, value, self.s, floats)
        return apply(o, self) if reflected else apply(self, o)

    method.__name__ = f"__{'r' if reflected else ''}{pyop.__name__.strip('_')}__"
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


def _unary(ufunc, pyop=None, output: int | None = None):
    """The implementation of the unary ufunc ``ufunc`` on a traced scalar, built from its
    rule ``(d1, d2)`` in :data:`~tracer._derivatives.UNARY_RULES` (output ``output``: its
    rule in :data:`~tracer._derivatives.MULTI_OUTPUT_RULES`): ``G = d1 ? G_x``, ``P = (d1 ?
    P_x) | (d2 ? G_x x G_x)``. The value and dtype are numpy's (``pyop``, Python's
    operator, where it gives the same value); numpy's ``TypeError`` where numpy has no loop
    for the dtype (``-bool``, ``~float``)."""
    if output is not None:
        d1, d2 = MULTI_OUTPUT_RULES[ufunc][output]

        def value_of(v):
            with np.errstate(all="ignore"):
                return _plain(ufunc(v)[output])
    else:
        d1, d2 = rule_of(ufunc)
        # Python's -, +, abs and ~ give numpy's values on what a traced scalar holds (Python
        # floats and ints, numpy bools; ~ on a numpy bool is numpy's logical not)
        value_of = pyop if pyop is not None else (lambda v: _ufunc_value(ufunc, v))
    passes = d1 and not d2  # the sets of x pass through unchanged
    floats = _float_result(ufunc, 1)

    def apply(x):
        dtype = x.dtype
        dtype = floats if dtype is FLOAT and floats is not None else result_dtype(ufunc, dtype)
        if output is not None:
            dtype = dtype[output]
        v = x.value
        value = None if v is None else value_of(v)
        if passes:
            return TracedScalar(x.deps, x.pairs, value, x.s, dtype)
        session = x.s
        if not d1:
            if value is not None:
                return value
            return TracedScalar(NO_SET, NO_SET if session.hessian else None, None, session,
                                dtype)
        pairs = x.pairs | self_pairs(x.deps, session.n) if session.hessian else None
        return TracedScalar(x.deps, pairs, value, session, dtype)

    apply.__name__ = ufunc.__name__
    apply.__doc__ = f"``np.{ufunc.__name__}`` on a traced scalar, by its rule in the table."
    return apply


class TracedScalar:
    """One traced number: input-index set, pair set (Hessian mode), value (local mode), and
    its numpy dtype (float64, or bool for comparisons...: what numpy's scalar would have).

    It behaves as numpy's scalar of its dtype does (``np.float64``, ``np.bool_``...): the
    operators of :data:`~tracer._derivatives.OPERATORS` (installed below) give numpy's
    values and dtypes, and numpy's ``TypeError`` where numpy's scalar raises one. Only
    conversions to plain numbers (``float()``, ``int()``) raise :class:`TracingError`
    where they would drop a dependence.
    """

    __slots__ = ("deps", "pairs", "value", "s", "dtype")
    __array_priority__ = 1000
    shape = ()
    ndim = 0
    size = 1

    def __init__(self, deps, pairs, value, session, dtype=FLOAT):
        self.deps = deps
        self.pairs = pairs
        self.value = value
        self.s = session
        self.dtype = dtype

    def __repr__(self):
        return f"TracedScalar(deps={sorted(self.deps)}, value={self.value}, dtype={self.dtype})"

    # The operators (+, &, <, divmod, ~...) are set below the class from the table.

    __hash__ = object.__hash__

    def _constant(self, fn, *args):
        """``fn(s, *args)`` (``round``, ``math.floor``...) as numpy's scalar of this dtype
        gives it: numpy's value and errors, piecewise constant, so without dependence."""
        v = self.value
        r = fn(self.dtype.type(1 if v is None else v), *args)
        if v is not None:
            return _plain(r)
        return TracedScalar(NO_SET, NO_SET if self.s.hessian else None, None, self.s,
                            kind_dtype(r))

    def __round__(self, ndigits=None):
        if ndigits is None:
            return self._constant(round)
        return self._constant(round, ndigits)

    def __floor__(self):
        return self._constant(_FLOOR)

    def __ceil__(self):
        return self._constant(_CEIL)

    def __trunc__(self):
        return self._constant(_TRUNC)

    # ----- conversions -----
    def _plain_value(self, operation: str):
        """The value of a scalar without dependence; else the error that names the fix."""
        if self.deps or self.pairs:
            if operation.startswith("float()"):
                raise float_conversion_error(operation)
            raise conversion_error(operation)
        if self.value is None:
            raise control_flow_error(f"{operation} of a traced value")
        return self.value

    def __bool__(self):
        if self.value is None:
            raise control_flow_error("bool() (an `if`/`while` condition, `and`/`or`, or `not`)")
        return bool(self.value)

    def __float__(self):
        return float(self._plain_value("float() (or a math-module function such as math.sin)"))

    def __int__(self):
        return int(self._plain_value("int()"))

    def __complex__(self):
        return complex(self._plain_value("complex()"))

    def __index__(self):
        if self.dtype.kind not in "iu":  # numpy's floats and bools are no indices either
            raise not_an_index_error(self.dtype)
        if self.value is None:
            raise control_flow_error("Using a traced value as an index")
        return int(self.value)

    def item(self, *args):
        return _plain(self.dtype.type(self._plain_value(".item()")))

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
        v = self.value
        if v is not None:
            with np.errstate(all="ignore"):
                v = _plain(self.dtype.type(v).astype(dtype))
        if dtype.kind in "fc":  # the same number: the sets pass through
            return TracedScalar(self.deps, self.pairs, v, self.s, dtype)
        # a bool or an integer: piecewise constant (nonzero is True: 0.5 is True)
        if v is not None:
            return v
        return TracedScalar(NO_SET, NO_SET if self.s.hessian else None, None, self.s, dtype)

    def reshape(self, *shape):
        return np.reshape(self, shape[0] if len(shape) == 1 else shape)

    def ravel(self):
        return np.ravel(self)

    def sum(self, *args, **kwargs):
        return self

    # __array_ufunc__ and __array_function__ (arrays, lists, numpy functions) are installed
    # by tracer._operators, which hands what scalar_ufunc cannot do to the array engine.


def _operator_method(name: str, pyop, ufunc, reflected: bool):
    """The operator method ``name`` of a traced scalar: ``ufunc`` by its rule."""
    if ufunc.nin == 1:
        return _unary(ufunc, pyop)
    if ufunc.nout == 1:
        return _binary(ufunc, pyop, reflected=reflected, operator_method=True)

    def method(self, o):  # divmod: one implementation per output
        return _generic(ufunc, (o, self) if reflected else (self, o))
    method.__name__ = name
    method.__doc__ = f"``np.{ufunc.__name__}`` on traced scalars, by its rules in the table."
    return method


for _name, _pyop, _ufunc, _reflected in operator_methods(inplace=False):
    if _ufunc not in PRODUCT_UFUNCS:  # numpy's scalars have no @ either
        setattr(TracedScalar, _name, _operator_method(_name, _pyop, _ufunc, _reflected))


def _union(a: frozenset, b: frozenset) -> frozenset:
    """``a | b``, without a new set when one side is empty or both are the same set."""
    if a is b or not b:
        return a
    if not a:
        return b
    return a | b


def _plain(value):
    """A value as a traced scalar holds it: Python floats and ints (fast arithmetic with
    numpy's results), numpy bools (``~`` and ``+`` on them are numpy's, not Python's)."""
    if isinstance(value, np.generic) and type(value) is not np.bool_:
        return value.item()
    return value


def kind_dtype(value) -> np.dtype:
    """The dtype numpy gives a plain value (Python floats and ints: float64, int64)."""
    t = type(value)
    if t is float:
        return FLOAT
    if t is int:
        return INT
    return np.asarray(value).dtype


def _ufunc_value(ufunc, *values):
    with np.errstate(all="ignore"):
        return _plain(ufunc(*values))


# The scalar implementation of each ufunc met so far (built from the table on first use).
_IMPLEMENTATIONS: dict = {}


def scalar_ufunc(ufunc, inputs):
    """``ufunc(*inputs)`` on traced scalars and plain numbers, by the derivative table.

    A ufunc with several outputs (``divmod``, ``modf``...) gives a tuple, one
    implementation per output. Returns NotImplemented when the array engine must do it: an
    operand that is neither (an array, a list...), or a product (``np.matmul``).
    """
    for x in inputs:
        if not (type(x) is TracedScalar or type(x) in _NUMS or isinstance(x, _NUMBERS)):
            return NotImplemented
    impl = _IMPLEMENTATIONS.get(ufunc)
    if impl is None:
        if ufunc in PRODUCT_UFUNCS:
            return NotImplemented
        build = _unary if ufunc.nin == 1 else _binary
        if ufunc.nout == 1:
            if rule_of(ufunc) is None:
                raise unsupported_error(f"the ufunc {ufunc_name(ufunc)}")
            impl = build(ufunc)
        else:
            if ufunc not in MULTI_OUTPUT_RULES:
                raise unsupported_error(f"the ufunc {ufunc_name(ufunc)}")
            outputs = tuple(build(ufunc, output=k) for k in range(ufunc.nout))

            def impl(*args):
                return tuple(out(*args) for out in outputs)
        _IMPLEMENTATIONS[ufunc] = impl
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
