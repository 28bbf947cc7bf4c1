"""Elementwise ufuncs on traced operands, driven by the derivative table.

For ``y = f(*ops)`` the rule of ``f`` in :mod:`tracer._derivatives` says which operands'
first-order sets and pair sets reach ``y`` and which new pairs appear; the set arrays are
combined with the operations of :mod:`tracer._sets`. Selecting ufuncs (``maximum``...)
follow the values in local mode, and constant exact zeros cut products (``0 * x``).
"""

from __future__ import annotations

import numbers

import numpy as np
import scipy.sparse as sp

from . import _setops as K
from ._array import TracedArray
from ._construct import find_session, has_deps, lift, values_of
from ._derivatives import (
    MULTI_OUTPUT_RULES,
    SELECTING,
    ZERO_ANNIHILATORS,
    rule_of,
    ufunc_name,
)
from ._dtypes import kind_of, result_dtype
from ._errors import BUFFER_HINT, TracingError, unsupported_error
from ._session import Session
from ._sets import EMPTY, _size, broadcast_map, empty_sets, self_pairs, take_rows, union_pieces


def _is_spmatrix(x) -> bool:
    mod = type(x).__module__
    if not mod.startswith("scipy.sparse"):
        return False
    return isinstance(x, sp.spmatrix)


def _densify_sparse(x):
    """scipy.sparse constants in elementwise operations: use their dense values."""
    if type(x).__module__.startswith("scipy.sparse"):
        if sp.issparse(x):
            return x.toarray()
    return x



def result_dtypes(ufunc, ops):
    """numpy's result dtype (a tuple for several outputs) of ``ufunc`` on the operands."""
    return result_dtype(ufunc, *(o._dtype if isinstance(o, TracedArray) else kind_of(o)
                                 for o in ops))


def elementwise_sets(session: Session, rule, ops, out_shape):
    """First-order and pair sets of ``f(*ops)`` from its derivative rule."""
    m = _size(out_shape)
    n = session.n
    hess = session.hessian
    traced = [o if has_deps(o) else None for o in ops]
    if len(ops) == 1:
        first, second, cross = (rule[0],), (rule[1],), False
    else:
        first, second, cross = (rule[0], rule[1]), (rule[2], rule[3]), rule[4]
    gp, hp = [], []
    maps = [broadcast_map(o.shape, out_shape) if o is not None else None for o in traced]
    for k, o in enumerate(traced):
        if o is None or not first[k]:
            continue
        gp.append((o._g, maps[k]))
        if hess:
            hp.append((o._h, maps[k]))
    g = union_pieces(gp, m)
    h = None
    if hess:
        both = len(ops) == 2 and traced[0] is not None and traced[1] is not None
        if both and second[0] and second[1] and cross:
            hp.append((self_pairs(g, n), EMPTY))
        else:
            for k, o in enumerate(traced):
                if o is not None and second[k]:
                    hp.append((self_pairs(o._g, n), maps[k]))
            if both and cross:
                a, b = traced
                hp.append((K.cross_pairs(a._g[0], a._g[1], maps[0], b._g[0], b._g[1], maps[1],
                                         m, n), EMPTY))
        h = union_pieces(hp, m)
    return g, h


def select_sets(session: Session, ops, masks, out_shape):
    """Element ``e`` takes the union of the sets of the operands ``k`` with ``masks[k][e]``."""
    m = _size(out_shape)
    gp, hp = [], []
    for o, mask in zip(ops, masks):
        if not has_deps(o):
            continue
        rowmap = broadcast_map(o.shape, out_shape)
        if mask is not True:
            mask = np.broadcast_to(mask, out_shape).ravel()
            if not mask.any():
                continue
            rowmap = (np.arange(m, dtype=np.int64) if rowmap.size == 0 else rowmap.copy())
            rowmap[~mask] = -1
        gp.append((o._g, rowmap))
        if session.hessian:
            hp.append((o._h, rowmap))
    g = union_pieces(gp, m)
    h = union_pieces(hp, m) if session.hessian else None
    return g, h


def _compute_values(func, ops, kwargs=None):
    vals = [values_of(o) for o in ops]
    if any(v is None for v in vals):
        return None
    with np.errstate(all="ignore"):
        return func(*vals, **(kwargs or {}))


def ufunc_call(ufunc, inputs, kwargs=None):
    """Apply an elementwise ufunc to traced and constant operands.

    Products (:data:`~tracer._derivatives.PRODUCT_UFUNCS`) are not elementwise: the numpy
    protocol (:func:`tracer._operators.array_ufunc`) sends them to :mod:`tracer._products`.
    """
    kwargs = kwargs or {}
    session = find_session(inputs)
    ops = [lift(x, session) for x in inputs]
    out = kwargs.pop("out", None)
    where = kwargs.pop("where", True)
    if where is not True:
        raise unsupported_error(f"np.{ufunc.__name__}(..., where=...)",
                                "use np.where on the result instead")
    for k in ("dtype", "casting", "order", "subok", "signature"):
        kwargs.pop(k, None)
    if kwargs:
        raise unsupported_error(f"np.{ufunc.__name__} with keywords {sorted(kwargs)}")
    ops = [_densify_sparse(o) for o in ops]
    if ufunc in MULTI_OUTPUT_RULES:
        results = tuple(_single_ufunc(ufunc, rule, ops, session, k)
                        for k, rule in enumerate(MULTI_OUTPUT_RULES[ufunc]))
        return _store_out(results, out)
    rule = rule_of(ufunc)
    if rule is None:
        raise unsupported_error(f"the ufunc {ufunc_name(ufunc)}")
    return _store_out(_single_ufunc(ufunc, rule, ops, session, None), out)


def _single_ufunc(ufunc, rule, ops, session, out_index):
    shapes = [np.shape(o) if not isinstance(o, TracedArray) else o.shape for o in ops]
    out_shape = np.broadcast_shapes(*shapes)
    dtype = result_dtypes(ufunc, ops)
    val = _compute_values(ufunc, ops)
    if out_index is not None:
        dtype = dtype[out_index]
        val = None if val is None else val[out_index]
    if val is not None:
        val = np.asarray(val)
    wins = SELECTING.get(ufunc)
    if wins is not None and all(values_of(o) is not None for o in ops):
        # local mode: the output follows the operand that wins; ties take both
        va, vb = (np.asarray(values_of(o)) for o in ops)
        with np.errstate(invalid="ignore"):
            masks = [~wins(vb, va), ~wins(va, vb)]
        g, h = select_sets(session, ops, masks, out_shape)
    else:
        g, h = elementwise_sets(session, rule, ops, out_shape)
        if ufunc in ZERO_ANNIHILATORS:
            g, h, all_zero = _cut_at_constant_zeros(ZERO_ANNIHILATORS[ufunc], ops, out_shape,
                                                    g, h)
            if all_zero and val is None:  # 0 * x is 0 for every finite x
                val = np.zeros(out_shape, dtype)
    return TracedArray(session, out_shape, g, h, val, dtype)


def _cut_at_constant_zeros(positions, ops, out_shape, g, h):
    """Empty the sets of the elements where a constant operand at ``positions`` is exactly 0.

    Only operands without dependence and with known values count (a literal, a constant
    array, a dependence-free traced constant); NaN and inf are not 0 and cut nothing.
    Returns ``(g, h, all_zero)``, ``all_zero`` when every element was cut.
    """
    if g[1].size == 0 and (h is None or h[1].size == 0):
        return g, h, False
    zero = None
    for k in positions:
        o = ops[k]
        if has_deps(o):
            continue
        v = values_of(o)
        if v is None:
            continue
        if isinstance(v, numbers.Number):  # no np.asarray: it is patched during a trace
            if v != 0:
                continue
            z = np.True_
        else:
            z = np.equal(v, 0)
            if not z.any():
                continue
        zero = z if zero is None else (zero | z)
    if zero is None:
        return g, h, False
    zero = np.broadcast_to(zero, out_shape).ravel()
    if zero.all():
        return empty_sets(zero.size), None if h is None else empty_sets(zero.size), True
    rows = np.arange(zero.size, dtype=np.int64)
    rows[zero] = -1
    g = take_rows(g, rows)
    h = None if h is None else take_rows(h, rows)
    return g, h, False


def _store_out(result, out):
    if out is None:
        return result
    outs = out if isinstance(out, tuple) else (out,)
    results = result if isinstance(result, tuple) else (result,)
    for o, r in zip(outs, results):
        if o is None:
            continue
        if isinstance(o, TracedArray):
            o[...] = r
        else:
            raise TracingError(
                "A ufunc was called with out= a plain numpy array and traced inputs. "
                + BUFFER_HINT)
    if isinstance(out, tuple):
        return out if len(out) > 1 else out[0]
    return out



def ufunc_outer(ufunc, inputs, kwargs):
    """``ufunc.outer(a, b)``: the elementwise ufunc on ``a`` expanded against ``b``."""
    a, b = inputs
    session = find_session(inputs)
    a, b = lift(a, session), lift(b, session)
    na = np.ndim(a)
    b_shape = np.shape(b)
    a2 = np.reshape(a, np.shape(a) + (1,) * len(b_shape)) if na else a
    return ufunc_call(ufunc, (a2, b), dict(kwargs))
