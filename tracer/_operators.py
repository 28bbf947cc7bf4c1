"""The operators and numpy protocols of traced arrays and traced scalars.

:class:`~tracer._array.TracedArray` and :class:`~tracer._scalar.TracedScalar` are defined
in the lower layers, with their state; what they do as numpy operands is implemented by
the layers above them and installed on the classes here, when the package is imported:

* operators (``+``, ``*``, ``<``, ...) and ``__array_ufunc__``: the elementwise engine
  (:mod:`tracer._ufuncs`); products (``@``, ``np.matmul``) :mod:`tracer._products`;
  ufunc methods (``reduce``, ``accumulate``, ``at``) :mod:`tracer._reductions`;
* ``__array_function__``: the registry (:mod:`tracer._registry`);
* ``__getitem__`` / ``__setitem__``: :mod:`tracer._indexing`.

A traced scalar keeps its own arithmetic (:func:`tracer._scalar.scalar_ufunc`) and hands
the rest (arrays, lists, ufunc methods, numpy functions) to the same dispatch.
"""

from __future__ import annotations

import types

import numpy as np

from ._array import TracedArray
from ._construct import find_session, lift
from ._derivatives import PRODUCT_UFUNCS
from ._errors import unsupported_error
from ._indexing import getitem, setitem
from ._products import matmul, product_ufunc
from ._reductions import ufunc_accumulate, ufunc_at, ufunc_reduce
from ._registry import array_function
from ._scalar import TracedScalar, scalar_ufunc
from ._ufuncs import _is_spmatrix, ufunc_call, ufunc_outer


def _ufunc_call(ufunc, inputs, kwargs):
    if ufunc in PRODUCT_UFUNCS:  # matmul, vecdot...: contractions, not elementwise
        session = find_session(inputs)
        return product_ufunc(ufunc, [lift(x, session) for x in inputs], kwargs)
    return ufunc_call(ufunc, inputs, kwargs)


#: The engine of each ufunc method, ``(ufunc, inputs, kwargs) -> result``.
UFUNC_METHODS = {
    "__call__": _ufunc_call,
    "reduce": ufunc_reduce,
    "accumulate": ufunc_accumulate,
    "outer": ufunc_outer,
    "at": ufunc_at,
}


def array_ufunc(ufunc, method, inputs, kwargs):
    """``__array_ufunc__`` dispatch for traced arrays and scalars."""
    engine = UFUNC_METHODS.get(method)
    if engine is None:
        raise unsupported_error(f"np.{ufunc.__name__}.{method}")
    return engine(ufunc, inputs, dict(kwargs))


class _ArrayOperators:
    """The methods installed on :class:`~tracer._array.TracedArray` (never instantiated)."""

    # ----- numpy protocols -----
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        return array_function(func, args, kwargs)

    # ----- operators -----
    def __add__(self, o):
        return ufunc_call(np.add, (self, o))

    def __radd__(self, o):
        return ufunc_call(np.add, (o, self))

    def __sub__(self, o):
        return ufunc_call(np.subtract, (self, o))

    def __rsub__(self, o):
        return ufunc_call(np.subtract, (o, self))

    def __mul__(self, o):
        if _is_spmatrix(o):  # np.matrix-style sparse matrices multiply as matrices
            return self.__matmul__(o)
        return ufunc_call(np.multiply, (self, o))

    def __rmul__(self, o):
        if _is_spmatrix(o):
            return self.__rmatmul__(o)
        return ufunc_call(np.multiply, (o, self))

    def __truediv__(self, o):
        return ufunc_call(np.divide, (self, o))

    def __rtruediv__(self, o):
        return ufunc_call(np.divide, (o, self))

    def __floordiv__(self, o):
        return ufunc_call(np.floor_divide, (self, o))

    def __rfloordiv__(self, o):
        return ufunc_call(np.floor_divide, (o, self))

    def __mod__(self, o):
        return ufunc_call(np.remainder, (self, o))

    def __rmod__(self, o):
        return ufunc_call(np.remainder, (o, self))

    def __divmod__(self, o):
        return (ufunc_call(np.floor_divide, (self, o)), ufunc_call(np.remainder, (self, o)))

    def __rdivmod__(self, o):
        return (ufunc_call(np.floor_divide, (o, self)), ufunc_call(np.remainder, (o, self)))

    def __pow__(self, o):
        return ufunc_call(np.power, (self, o))

    def __rpow__(self, o):
        return ufunc_call(np.power, (o, self))

    def __matmul__(self, o):
        return matmul(self, o)

    def __rmatmul__(self, o):
        return matmul(o, self)

    def __neg__(self):
        return ufunc_call(np.negative, (self,))

    def __pos__(self):
        return ufunc_call(np.positive, (self,))

    def __abs__(self):
        return ufunc_call(np.absolute, (self,))

    def __invert__(self):
        return ufunc_call(np.invert, (self,))

    def __lt__(self, o):
        return ufunc_call(np.less, (self, o))

    def __le__(self, o):
        return ufunc_call(np.less_equal, (self, o))

    def __gt__(self, o):
        return ufunc_call(np.greater, (self, o))

    def __ge__(self, o):
        return ufunc_call(np.greater_equal, (self, o))

    def __eq__(self, o):
        return ufunc_call(np.equal, (self, o))

    def __ne__(self, o):
        return ufunc_call(np.not_equal, (self, o))

    def __and__(self, o):
        return ufunc_call(np.bitwise_and, (self, o))

    def __rand__(self, o):
        return ufunc_call(np.bitwise_and, (o, self))

    def __or__(self, o):
        return ufunc_call(np.bitwise_or, (self, o))

    def __ror__(self, o):
        return ufunc_call(np.bitwise_or, (o, self))

    def __xor__(self, o):
        return ufunc_call(np.bitwise_xor, (self, o))

    def __rxor__(self, o):
        return ufunc_call(np.bitwise_xor, (o, self))

    def _inplace(self, ufunc, o):
        self[...] = ufunc_call(ufunc, (self, o))
        return self

    def __iadd__(self, o):
        return self._inplace(np.add, o)

    def __isub__(self, o):
        return self._inplace(np.subtract, o)

    def __imul__(self, o):
        return self._inplace(np.multiply, o)

    def __itruediv__(self, o):
        return self._inplace(np.divide, o)

    def __ifloordiv__(self, o):
        return self._inplace(np.floor_divide, o)

    def __imod__(self, o):
        return self._inplace(np.remainder, o)

    def __ipow__(self, o):
        return self._inplace(np.power, o)

    def __imatmul__(self, o):
        self[...] = self @ o
        return self

    def __iand__(self, o):
        return self._inplace(np.bitwise_and, o)

    def __ior__(self, o):
        return self._inplace(np.bitwise_or, o)

    # ----- indexing -----
    def __getitem__(self, key):
        # fast path for loop-style code: y[k] on a 1-d array, served from the scalar cache
        if type(key) is int and self._base is None and len(self._shape) == 1:
            cache = self._cache
            if cache is not None:
                s = cache[key]
                if s is not None:
                    return s
        return getitem(self, key)

    def __setitem__(self, key, value):
        if type(key) is int and self._base is None and len(self._shape) == 1 \
                and type(value) is TracedScalar and 0 <= key < self._shape[0]:
            pending = self._pending
            if pending is None:
                pending = self._pending = {}
            pending[key] = value
            cache = self._cache
            if cache is None:
                cache = self._cache = [None] * self._shape[0]
            cache[key] = value
            self._version += 1
            return
        setitem(self, key, value)


def _scalar_array_ufunc(self, ufunc, method, *inputs, **kwargs):
    if method == "__call__" and not kwargs:
        r = scalar_ufunc(ufunc, inputs)
        if r is not NotImplemented:
            return r
    return array_ufunc(ufunc, method, inputs, kwargs)


def _scalar_array_function(self, func, types, args, kwargs):
    return array_function(func, args, kwargs)


def _install() -> None:
    for name, value in vars(_ArrayOperators).items():
        if isinstance(value, types.FunctionType):
            setattr(TracedArray, name, value)
    TracedScalar.__array_ufunc__ = _scalar_array_ufunc
    TracedScalar.__array_function__ = _scalar_array_function


_install()
