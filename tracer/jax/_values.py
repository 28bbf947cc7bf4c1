"""The three kinds of values that flow through the jaxpr interpreter, and their algebra.

* constants: plain numpy arrays or scalars (literals, ``jaxpr.consts``, constant ``args``);
* traced arrays of the numpy engine (``is_traced(v)`` is true);
* :class:`Opaque` values: dependence-free arrays whose *values* are unknown, for example a
  loop counter after merging loop iterations, or ``argmax`` of a traced array. They act as
  constants in arithmetic, and rules that need values (indices, predicates) treat them
  conservatively.

The engine side (unions of dependence, elementwise functions given by derivative flags)
is reached through :mod:`tracer._interop`.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .._interop import elementwise_dependence, is_traced, same_dependence, union_dependence


class Opaque:
    """A dependence-free array whose values are unknown (shape and dtype only)."""

    __slots__ = ("shape", "dtype")

    def __init__(self, shape: Sequence[int], dtype: Any):
        self.shape = tuple(int(s) for s in shape)
        self.dtype = np.dtype(dtype)

    @classmethod
    def like(cls, aval: Any) -> "Opaque":
        return cls(aval.shape, numpy_dtype(aval.dtype))

    def dummy(self) -> np.ndarray:
        """A stand-in constant; only used where values cannot change the dependence."""
        if self.dtype == np.bool_:
            value: Any = True
        elif np.issubdtype(self.dtype, np.integer):
            value = 3
        else:
            value = 0.5  # neither 0 nor 1, so no rule can mistake it for a neutral element
        return np.full(self.shape, value, dtype=self.dtype)

    def __repr__(self) -> str:
        return f"Opaque(shape={self.shape}, dtype={self.dtype})"


#: Returned by a rule whose output is dependence-free but has unknown values
#: (e.g. ``argmax`` of a traced array). The interpreter turns it into an :class:`Opaque`.
OPAQUE_RESULT = object()


def is_extended(dtype: Any) -> bool:
    """True for JAX's extended dtypes (PRNG keys, float0), which numpy does not know."""
    try:
        np.dtype(dtype)
        return False
    except TypeError:
        return True


def numpy_dtype(dtype: Any) -> np.dtype:
    """``dtype`` as a numpy dtype; extended dtypes (keys, float0) count as float64."""
    try:
        return np.dtype(dtype)
    except TypeError:  # extended dtypes: treat as opaque bytes
        return np.dtype(np.float64)


def is_concrete(v: Any) -> bool:
    """True when the values of ``v`` are known (neither traced nor opaque)."""
    return not isinstance(v, Opaque) and not is_traced(v)


def data(v: Any) -> Any:
    """``v``, with an :class:`Opaque` replaced by a dummy constant.

    Only valid where the result is traced anyway (its values are then never used).
    """
    return v.dummy() if isinstance(v, Opaque) else v


def shape_of(v: Any) -> tuple[int, ...]:
    return tuple(getattr(v, "shape", ()))


def dtype_of(v: Any) -> np.dtype:
    dt = getattr(v, "dtype", None)
    return np.asarray(v).dtype if dt is None else np.dtype(dt)


def elementwise(flags: tuple[bool, ...], *operands: Any) -> Any:
    """A traced elementwise function of ``operands`` whose derivatives are given by ``flags``.

    ``flags`` is ``(d1, d2)`` for one operand or ``(da, db, daa, dbb, dab)`` for two, as in
    :mod:`tracer._derivatives`. Used for primitives without a numpy ufunc (``erf``,
    ``lgamma``, ...): the result carries the dependence these flags imply, no values.
    """
    return elementwise_dependence(flags, *(data(o) for o in operands))


def union_of_traced(shape: Sequence[int], *values: Any) -> Any:
    """Elementwise union of the dependence of the traced ``values``, broadcast to ``shape``.

    Constants and opaque values contribute nothing. Returns :data:`OPAQUE_RESULT` when no
    value is traced. No new Hessian pairs are created (the union is a linear combination).
    """
    traced = [v for v in values if is_traced(v)]
    shape = tuple(shape)
    if not traced:
        return OPAQUE_RESULT
    if len(traced) == 1:
        out = traced[0]
    else:
        out = union_dependence(*traced)
    if shape_of(out) != shape:
        out = np.broadcast_to(out, shape)
    return out


def total_union(v: Any) -> Any:
    """Union of the dependence of all elements of ``v`` (a 0-d array); linear."""
    return np.sum(v) if shape_of(v) else v


def join(a: Any, b: Any) -> Any:
    """Merge two possible values of the same variable (cond branches, loop iterations)."""
    if is_traced(a) or is_traced(b):
        return union_of_traced(shape_of(a) or shape_of(b), a, b)
    if isinstance(a, Opaque):
        return a
    if isinstance(b, Opaque):
        return b
    a_arr, b_arr = np.asarray(a), np.asarray(b)
    if a_arr.shape == b_arr.shape and a_arr.dtype == b_arr.dtype and np.array_equal(
            a_arr, b_arr, equal_nan=a_arr.dtype.kind in "fc"):
        return a
    return Opaque(a_arr.shape, a_arr.dtype)


def same(a: Any, b: Any) -> bool:
    """True when ``a`` and ``b`` carry the same dependence (and, for constants, values)."""
    ta, tb = is_traced(a), is_traced(b)
    if ta and tb:
        return bool(same_dependence(a, b))
    if ta or tb:
        return False
    if isinstance(a, Opaque) or isinstance(b, Opaque):
        return isinstance(a, Opaque) and isinstance(b, Opaque)
    a_arr, b_arr = np.asarray(a), np.asarray(b)
    return a_arr.dtype == b_arr.dtype and np.array_equal(
        a_arr, b_arr, equal_nan=a_arr.dtype.kind in "fc")
