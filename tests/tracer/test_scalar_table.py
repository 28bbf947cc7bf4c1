"""Traced scalars and traced arrays follow the same derivative table.

For every entry of ``UNARY_RULES`` and ``BINARY_RULES`` (scipy.special's included), the
loop path (:class:`~tracer._scalar.TracedScalar`) must give the same first-order set, pair
set and value as the vectorized path (a 0-d :class:`~tracer._array.TracedArray` built from
the same scalars): with two traced operands, with a number on either side, with exact
constant zeros (which cut products), in global and local mode, with and without Hessian
pairs. The operators (``+``, ``*``, ...) are checked the same way.
"""
from __future__ import annotations

import numpy as np
import pytest

import tracer  # noqa: F401  (installs the operators and numpy handlers)
from tracer import _derivatives as D
from tracer._array import TracedArray
from tracer._construct import scalar_to_array
from tracer._derivatives import BINARY_RULES, UNARY_RULES, _load_scipy_special
from tracer._patching import numpy_patched
from tracer._scalar import TracedScalar
from tracer._session import Session

_load_scipy_special()
N = 5


def _key(i, j):
    return min(i, j) * N + max(i, j)


def _values(ufunc):
    """Values that the ufunc accepts (floats, else integers, else a float and an integer)."""
    for vals in ((0.7, 1.3), (3, 5), (0.7, 3)):
        vals = vals[:ufunc.nin]
        try:
            with np.errstate(all="ignore"):
                ufunc(*vals)
        except TypeError:
            continue
        return vals
    raise AssertionError(f"no test values for {ufunc}")


def _scalar(deps, pairs, value, session):
    """A traced scalar of the dtype numpy gives ``value`` (its value only in local mode)."""
    dtype = np.asarray(value).dtype
    value = dtype.type(value) if dtype.kind == "b" else value  # (bools are held as numpy's)
    return TracedScalar(frozenset(deps), frozenset(pairs) if session.hessian else None,
                        value if session.local else None, session, dtype)


def _summary(r, session):
    """(first-order set, pair set, value, dtype) of a scalar result, a traced array or a
    number."""
    if isinstance(r, TracedArray):
        r._sync()
        ptr, idx = r._g
        deps = set(idx[ptr[0]:ptr[1]].tolist())
        pairs = set()
        if session.hessian:
            hp, hi = r._h
            pairs = set(hi[hp[0]:hp[1]].tolist())
        value = None if r._val is None else np.asarray(r._val).reshape(-1)[0].item()
        return deps, pairs, value, r._dtype
    if isinstance(r, TracedScalar):
        return set(r.deps), set(r.pairs or ()), r.value, r.dtype
    # a plain value: Python floats and ints stand for every float and integer dtype
    return set(), set(), np.asarray(r).item(), np.asarray(r).dtype.kind


def _same(got, want):
    assert got[0] == want[0], f"first-order sets differ: {got[0]} != {want[0]}"
    assert got[1] == want[1], f"pair sets differ: {got[1]} != {want[1]}"
    if want[2] is None or got[2] is None:
        assert got[2] is None and want[2] is None, f"values differ: {got[2]} != {want[2]}"
    else:
        assert np.isclose(got[2], want[2], equal_nan=True), f"{got[2]} != {want[2]}"
    if isinstance(got[3], str) or isinstance(want[3], str):
        got_kind, want_kind = (getattr(d, "kind", d).replace("u", "i") for d in got[3:] + want[3:])
        assert got_kind == want_kind, f"dtype kinds differ: {got[3]} != {want[3]}"
    else:
        assert got[3] == want[3], f"dtypes differ: {got[3]} != {want[3]}"


def _as_array(x, session):
    return scalar_to_array(x, session) if isinstance(x, TracedScalar) else x


def _outcome(f, operands):
    try:
        return f(*operands)
    except Exception as e:  # noqa: BLE001 (compared by type)
        return e


def _check(f, operands, session):
    """``f`` on the scalar operands against ``f`` on 0-d traced arrays of the same: the
    same sets, values and dtypes, or the same exception type (numpy's, ``float & float``)."""
    with numpy_patched(session):
        got = _outcome(f, operands)
        want = _outcome(f, [_as_array(x, session) for x in operands])
    if isinstance(want, Exception):
        assert type(got) is type(want), f"{got!r} != {want!r}"
        return
    assert not isinstance(got, Exception), f"the array path gave a result, scalars {got!r}"
    if isinstance(want, tuple):  # divmod
        assert isinstance(got, tuple) and len(got) == len(want)
        for g, w in zip(got, want):
            _same(_summary(g, session), _summary(w, session))
    else:
        _same(_summary(got, session), _summary(want, session))


def _operand_sets(session, values):
    """Operand tuples: two traced scalars, a number on either side, exact constant zeros."""
    a = _scalar({0, 1}, {_key(0, 1)}, values[0], session)
    b = _scalar({1, 3}, {_key(3, 3)}, values[-1], session)
    zero = _scalar((), (), type(values[0])(0), session)  # a dependence-free exact 0
    sets = [(a, b), (a, a), (a, values[-1]), (values[0], b), (a, type(values[-1])(0)),
            (type(values[0])(0), b)]
    if session.local:
        sets += [(zero, b), (a, zero)]
    return sets


SESSIONS = [(hessian, mode) for hessian in (False, True) for mode in ("global", "local")]


@pytest.mark.parametrize("hessian,mode", SESSIONS)
@pytest.mark.parametrize("ufunc", sorted(BINARY_RULES, key=lambda u: u.__name__),
                         ids=lambda u: u.__name__)
def test_binary_rules_scalar_matches_array(ufunc, hessian, mode):
    session = Session(N, hessian, mode)
    for operands in _operand_sets(session, _values(ufunc)):
        _check(ufunc, operands, session)


@pytest.mark.parametrize("hessian,mode", SESSIONS)
@pytest.mark.parametrize("ufunc", sorted(UNARY_RULES, key=lambda u: u.__name__),
                         ids=lambda u: u.__name__)
def test_unary_rules_scalar_matches_array(ufunc, hessian, mode):
    session = Session(N, hessian, mode)
    (v,) = _values(ufunc)
    _check(ufunc, (_scalar({0, 2}, {_key(0, 2)}, v, session),), session)


#: every row of the operator table but the product (numpy's scalars have no ``@``)
OPERATORS = {name: (pyop, ufunc) for name, (pyop, ufunc, _) in D.OPERATORS.items()
             if ufunc not in D.PRODUCT_UFUNCS}
#: operand values of each dtype
DTYPE_VALUES = {"float": (0.7, 1.3), "int": (3, 5), "bool": (True, False)}


@pytest.mark.parametrize("hessian,mode", SESSIONS)
@pytest.mark.parametrize("dtype", sorted(DTYPE_VALUES))
@pytest.mark.parametrize("name", sorted(OPERATORS))
def test_operators_scalar_matches_array(name, dtype, hessian, mode):
    """Every operator of the table, on scalars of every dtype (numpy's errors included)."""
    session = Session(N, hessian, mode)
    op, ufunc = OPERATORS[name]
    values = DTYPE_VALUES[dtype]
    if ufunc.nin == 1:
        for v in values:
            _check(op, (_scalar({0, 2}, {_key(0, 2)}, v, session),), session)
        return
    for operands in _operand_sets(session, values):
        _check(op, operands, session)


@pytest.mark.parametrize("x0", [0.46, 0.44, 0.0, -0.3])
def test_round_with_digits_and_astype_bool_take_the_branch_plain_floats_take(x0):
    """Local mode follows the branch of the value: round(s, 1) and s.astype(bool) must
    give Python's values (they were rint and trunc), or the pattern of the other branch."""
    def f(x):
        out = np.zeros(2)
        out[0] = x[1] if round(x[0], 1) > 0.44 else x[2]
        if x[0].astype(bool):
            out[1] = x[3]
        return out

    x = np.array([x0, 1.0, 2.0, 3.0])
    # the reference: the same branches taken on plain floats
    want = np.zeros((2, 4), dtype=bool)
    want[0, 1 if round(x0, 1) > 0.44 else 2] = True
    want[1, 3] = bool(x0)
    got = tracer.jacobian_sparsity(f, x, mode="local").toarray()
    np.testing.assert_array_equal(got, want)
