"""Traced scalars behave as numpy's scalars: every special method, every dtype.

Walks the special methods of numpy's ``float64``, ``bool`` and ``int64`` scalars. Each
one is an operator of the table (:data:`tracer._derivatives.OPERATORS`), a conversion, or
not numeric at all; a new numpy method fails :func:`test_every_special_method_is_classified`
until it is sorted in. For each operator and each pair of operand dtypes (traced scalars
of every dtype, Python and numpy numbers, on either side) the traced scalar must give

* numpy's value and dtype (local mode), or raise the exception type numpy raises;
* the dependence a brute-force reference finds: an operand's set reaches the result
  exactly where a central difference of numpy's own operator in that operand is nonzero.

The end-to-end tests trace loop-style functions with these operators and compare the
patterns with central-difference Jacobians at seeded random points.
"""
from __future__ import annotations

import math
import operator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tracer
from tracer._derivatives import PRODUCT_UFUNCS, operator_methods
from tracer._errors import TracingError
from tracer._patching import numpy_patched
from tracer._scalar import TracedScalar
from tracer._session import Session

N = 4
#: a value of each dtype a traced scalar takes (bools and ints carry no dependence: the
#: comparisons and casts that make them are piecewise constant)
VALUES = {"float64": 0.7, "bool": True, "int64": 3}
DEPS = {"float64": frozenset({0, 1}), "bool": frozenset(), "int64": frozenset()}
#: the other operand: traced scalars of every dtype, numpy scalars, Python numbers
OTHER_VALUES = {"float64": 1.3, "bool": False, "int64": 2}
OTHER_DEPS = {"float64": frozenset({2}), "bool": frozenset(), "int64": frozenset()}
PLAIN_OTHERS = [1.3, 2, True, False, np.float64(1.3), np.int64(2), np.False_, np.float32(1.3)]
#: the operators whose result is piecewise constant: no dependence at all
CONSTANT = {"__floordiv__", "__and__", "__or__", "__xor__", "__lshift__", "__rshift__",
            "__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__", "__invert__"}

#: special methods that are not numeric operations of the scalar
NOT_NUMERIC = {
    "__array__", "__array_interface__", "__array_namespace__", "__array_priority__",
    "__array_struct__", "__array_wrap__", "__class__", "__class_getitem__", "__copy__",
    "__deepcopy__", "__delattr__", "__dir__", "__doc__", "__format__", "__getattribute__",
    "__getformat__", "__getitem__", "__getnewargs__", "__getstate__", "__hash__",
    "__init__", "__init_subclass__", "__new__", "__reduce__", "__reduce_ex__", "__repr__",
    "__setattr__", "__setstate__", "__sizeof__", "__str__", "__subclasshook__",
}
#: conversions and rounding: the builtin that calls each, with its arguments
CONVERSIONS = {
    "__bool__": (bool,), "__float__": (float,), "__int__": (int,), "__complex__": (complex,),
    "__index__": (operator.index,), "__round__": (round,), "__floor__": (math.floor,),
    "__ceil__": (math.ceil,), "__trunc__": (math.trunc,),
}
ROUND_DIGITS = (lambda v: round(v, 1),)
#: the operator methods of the table (numpy's scalars have no in-place forms)
TABLE = {name: (pyop, ufunc, reflected)
         for name, pyop, ufunc, reflected in operator_methods(inplace=False)}


def _numpy_scalars():
    return {dt: np.dtype(dt).type(v) for dt, v in VALUES.items()}


def test_every_special_method_is_classified():
    names = {n for v in _numpy_scalars().values() for n in dir(v)
             if n.startswith("__") and n.endswith("__")}
    unknown = names - set(TABLE) - set(CONVERSIONS) - NOT_NUMERIC - {"__eq__", "__ne__"}
    assert not unknown, f"classify these special methods of numpy's scalars: {unknown}"
    assert "__index__" in CONVERSIONS and "__matmul__" in TABLE


@pytest.mark.parametrize("name", sorted(TABLE))
def test_traced_scalar_has_the_operators_numpy_scalars_have(name):
    """``@`` is the one operator of the table numpy's scalars lack; so does a traced one."""
    has = any(hasattr(v, name) for v in _numpy_scalars().values())
    assert hasattr(TracedScalar, name) == has
    assert has == (TABLE[name][1] not in PRODUCT_UFUNCS)


def _traced(dt, value, deps, session):
    """A traced scalar as indexing a traced array makes one (bools as numpy's bools)."""
    value = np.dtype(dt).type(value)
    value = value if dt == "bool" else value.item()
    return TracedScalar(deps, None, value if session.local else None, session, np.dtype(dt))


def _outcome(fn, *args):
    """``fn(*args)``, or the exception it raised."""
    try:
        with np.errstate(all="ignore"):
            return fn(*args)
    except Exception as e:  # noqa: BLE001 (compared by type below)
        return e


def _parts(r):
    """(first-order set, value, dtype kind or dtype) of a result: traced scalar or plain."""
    if isinstance(r, TracedScalar):
        return set(r.deps), r.value, r.dtype
    # plain results: Python floats and ints stand for every float and integer dtype
    return set(), r, np.asarray(r).dtype.kind.replace("u", "i")


def _same_dtype(got, want: np.dtype):
    if isinstance(got, str):
        assert got == want.kind.replace("u", "i"), f"dtype kind {got} != {want}"
    else:
        assert got == want, f"dtype {got} != {want}"


def _moves(fn, args, k) -> bool:
    """Does numpy's ``fn`` change when argument ``k`` moves? (a central difference)"""
    h = 1e-6
    lo, hi = list(args), list(args)
    lo[k], hi[k] = args[k] - h, args[k] + h
    with np.errstate(all="ignore"):
        return bool(abs(float(fn(*hi)) - float(fn(*lo))) > 1e-9)


def _check(fn, traced_args, numpy_args, session, constant=False):
    """``fn`` on traced operands against ``fn`` on numpy's scalars of the same values.

    The dependence must hold what the brute force finds (never too small) and nothing but
    the operands' sets (exact where a rule is not conservative: ``x % y`` keeps ``y``'s
    set where ``floor(x / y)`` happens to be 0); none where ``constant``.
    """
    want = _outcome(fn, *numpy_args)
    got = _outcome(fn, *traced_args)
    if isinstance(want, Exception):
        assert isinstance(got, type(want)), f"numpy raised {want!r}, traced gave {got!r}"
        return
    assert not isinstance(got, Exception), f"numpy gave {want!r}, traced raised {got!r}"
    several = isinstance(want, tuple)
    wants, gots = (want, got) if several else ((want,), (got,))
    assert isinstance(got, tuple) == several and len(gots) == len(wants)
    for k, (g, w) in enumerate(zip(gots, wants)):
        deps, value, dtype = _parts(g)
        _same_dtype(dtype, np.asarray(w).dtype)
        if session.local:
            assert value is not None
            assert np.isclose(complex(value), complex(w), equal_nan=True), f"{value} != {w}"
        # brute force: an operand's set reaches output k where numpy's output k moves with it
        out_k = (lambda *v, k=k: fn(*v)[k]) if several else fn
        expected, operands = set(), set()
        for j, a in enumerate(traced_args):
            if isinstance(a, TracedScalar) and a.deps:
                operands |= a.deps
                if _moves(out_k, numpy_args, j):
                    expected |= a.deps
        assert expected <= deps <= operands, f"dependence {deps}, brute force {expected}"
        if constant or (several and k == 0):  # (divmod's first output is floor division)
            assert not deps


def _operand_pairs(session):
    """(traced args, numpy args) pairs: a traced scalar of every dtype with every other
    operand (traced, numpy or Python number), on either side."""
    for dt, v in VALUES.items():
        s = _traced(dt, v, DEPS[dt], session)
        sn = np.dtype(dt).type(v)
        for odt, ov in OTHER_VALUES.items():
            o = _traced(odt, ov, OTHER_DEPS[odt], session)
            yield (s, o), (sn, np.dtype(odt).type(ov))
        for p in PLAIN_OTHERS:
            yield (s, p), (sn, p)
            yield (p, s), (p, sn)


MODES = ("local", "global")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", sorted(n for n, (_, u, r) in TABLE.items()
                                        if u.nin == 2 and not r))
def test_binary_operator_as_numpy_scalars(name, mode):
    """Both orders (``s + 2.0``, ``2.0 + s``: the reflected method) and every dtype."""
    session = Session(N, False, mode)
    pyop = TABLE[name][0]
    with numpy_patched(session):
        for traced_args, numpy_args in _operand_pairs(session):
            _check(pyop, traced_args, numpy_args, session, name in CONSTANT)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", sorted(n for n, (_, u, _r) in TABLE.items() if u.nin == 1))
def test_unary_operator_as_numpy_scalars(name, mode):
    session = Session(N, False, mode)
    pyop = TABLE[name][0]
    with numpy_patched(session):
        for dt, v in VALUES.items():
            for value in (v, -v if dt != "bool" else False):
                _check(pyop, (_traced(dt, value, DEPS[dt], session),),
                       (np.dtype(dt).type(value),), session, name in CONSTANT)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", sorted(CONVERSIONS) + ["round_digits"])
def test_conversion_as_numpy_scalars(name, mode):
    """Conversions give numpy's values where no dependence is dropped. Where one would be
    (``float(s)`` of a scalar with dependence) or the value is unknown (global mode), they
    raise TracingError naming the fix; numpy's TypeError where numpy raises one."""
    session = Session(N, False, mode)
    (fn,) = ROUND_DIGITS if name == "round_digits" else CONVERSIONS[name]
    with numpy_patched(session):
        for dt, v in VALUES.items():
            for deps in (DEPS[dt], frozenset()):
                s = _traced(dt, v, deps, session)
                want = _outcome(fn, np.dtype(dt).type(v))
                got = _outcome(fn, s)
                if isinstance(want, Exception):
                    assert isinstance(got, type(want)), f"{want!r} != {got!r}"
                elif isinstance(got, TracingError):
                    # only where a plain number would drop a dependence or need the value
                    assert deps or not session.local, got
                else:
                    _, value, dtype = _parts(got)
                    if session.local:
                        assert value == want and type(value) is type(_plain(want))
                    _same_dtype(dtype, np.asarray(want).dtype)


def _plain(v):
    """numpy's value as a traced scalar holds it: Python numbers, numpy bools."""
    return v.item() if isinstance(v, np.generic) and not isinstance(v, np.bool_) else v


# ----------------------------------------------------------------- end to end: patterns
def f_branches(x):
    """Loop-style code whose branches and values use the operators (local mode)."""
    out = np.zeros(5)
    if (x[0] > 0) & (x[1] > 0):
        out[0] = x[2] * x[3]
    else:
        out[0] = x[4]
    if (x[1] < 0.5) | ~(x[2] > 0):
        out[1] = x[0] ** 2
    if (x[0] > x[3]) ^ (x[2] > 0):
        out[2] = x[1]
    q, r = divmod(2.0, x[3])
    out[3] = r + q + 3.0 ** x[4] + 2.0 // x[0] + 2.0 % x[1]
    out[4] = abs(+x[2]) + round(x[0], 1) + np.float64(2.0) - x[1]
    return out


def f_where(x):
    """The same operators without branches (global mode)."""
    out = np.zeros(4)
    c = ((x[0] > 0) & (x[1] > 0)) | (~(x[2] > 0) ^ (x[3] < 0))
    out[0] = np.where(c, x[2] * x[3], x[4])
    q, r = divmod(2.0, x[3])
    out[1] = r + q
    out[2] = 3.0 ** x[4] + 2.0 // x[0] + 2.0 % x[1]
    out[3] = abs(+x[2]) + round(x[0], 1) - x[1]
    return out


#: f_where's pattern, written by hand: both sides of the np.where; no dependence through
#: the piecewise-constant parts (comparisons, &, |, ^, ~, //, round)
F_WHERE_PATTERN = [{2, 3, 4}, {3}, {1, 4}, {1, 2}]


def _central_differences(f, x, h=1e-6):
    J = np.zeros((f(x).size, x.size))
    for j in range(x.size):
        e = np.zeros_like(x)
        e[j] = h
        J[:, j] = (f(x + e) - f(x - e)) / (2 * h)
    return np.abs(J) > 1e-6


def _points():
    """Seeded points away from every kink and jump of f_branches and f_where."""
    rng = np.random.default_rng(17)
    points = []
    while len(points) < 12:
        x = rng.uniform(-1.5, 1.5, 5)
        if np.all(np.abs(x) > 0.1) and abs(x[0] - x[3]) > 1e-3 \
                and np.abs(np.remainder(x[0], 0.1) - 0.05).min() > 1e-3 \
                and np.abs(2.0 / x[[0, 1, 3]] - np.round(2.0 / x[[0, 1, 3]])).min() > 1e-3:
            points.append(x)
    return points


@pytest.mark.parametrize("k", range(12))
def test_local_pattern_is_the_finite_difference_pattern(k):
    x = _points()[k]
    got = tracer.jacobian_sparsity(f_branches, x, mode="local").toarray()
    np.testing.assert_array_equal(got, _central_differences(f_branches, x))


@pytest.mark.parametrize("k", range(12))
def test_global_pattern_is_the_hand_written_one_and_holds_the_local_ones(k):
    x = _points()[k]
    want = np.zeros((4, 5), dtype=bool)
    for i, cols in enumerate(F_WHERE_PATTERN):
        want[i, sorted(cols)] = True
    got = tracer.jacobian_sparsity(f_where, x).toarray()
    np.testing.assert_array_equal(got, want)
    local = tracer.jacobian_sparsity(f_where, x, mode="local").toarray()
    fd = _central_differences(f_where, x)
    assert not (fd & ~local).any() and not (local & ~got).any()


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sampled_from([-2.5, -1.0, -0.3, 0.4, 1.5, 3.0]), min_size=6, max_size=6))
def test_bitwise_operators_on_arrays_and_scalars_agree(values):
    """``&``, ``|``, ``^``, ``~`` on bool arrays (TracedArray) and element by element
    (TracedScalar): the same pattern, in both modes; float operands raise numpy's error."""
    x = np.array(values)

    def vectorized(x):
        keep = ((x > 0) & (x < 1)) | (~(x > 2) ^ (x < -1))
        return np.where(keep, x ** 2, 0.0)

    def loop(x):
        out = np.zeros(x.size)
        for i in range(x.size):
            keep = ((x[i] > 0) & (x[i] < 1)) | (~(x[i] > 2) ^ (x[i] < -1))
            out[i] = np.where(keep, x[i] ** 2, 0.0)
        return out

    for mode in ("global", "local"):
        a = tracer.jacobian_sparsity(vectorized, x, mode=mode).toarray()
        b = tracer.jacobian_sparsity(loop, x, mode=mode).toarray()
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(
        tracer.jacobian_sparsity(vectorized, x, mode="local").toarray(),
        np.diag(vectorized(x) != 0))
    for f in (lambda x: x & x, lambda x: x[0] & x[1], lambda x: ~x[0]):
        with pytest.raises(TypeError):
            f(x)
        with pytest.raises(TypeError):
            tracer.jacobian_sparsity(f, x)


@pytest.mark.parametrize("mode", MODES)
def test_matmul_with_scalars_raises_what_numpy_raises(mode):
    """numpy's scalars have no ``@``: TypeError between scalars, ValueError (matmul's "not
    enough dimensions") between a scalar and an array, in either order."""
    x = np.array([0.5, -1.0, 2.0])
    cases = [lambda x: x[0] @ x[1], lambda x: x[0] @ 2.0, lambda x: 2.0 @ x[0],
             lambda x: x[0] @ np.ones(3), lambda x: np.ones(3) @ x[0], lambda x: x @ x[0],
             lambda x: x[0] @ x]
    for f in cases:
        want = _outcome(f, x)
        assert isinstance(want, (TypeError, ValueError))
        with pytest.raises(type(want)):
            tracer.jacobian_sparsity(f, x, mode=mode)
