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
from ._derivatives import PRODUCT_UFUNCS, operator_methods
from ._errors import unsupported_error
from ._indexing import getitem, setitem
from ._products import product_ufunc
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

    # ----- operators: installed from the table (tracer._derivatives.OPERATORS) below -----

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
        # numpy hands a numpy scalar operand over as a 0-d array (np.float64(2) < s); a
        # ufunc on 0-d operands gives a scalar
        inputs = tuple(x[()] if type(x) is np.ndarray and x.ndim == 0 else x for x in inputs)
        r = scalar_ufunc(ufunc, inputs)
        if r is not NotImplemented:
            return r
    return array_ufunc(ufunc, method, inputs, kwargs)


def _scalar_array_function(self, func, types, args, kwargs):
    return array_function(func, args, kwargs)


def _array_operator(name: str, ufunc, reflected):
    """The operator method ``name`` of a traced array: ``ufunc`` on ``(self, other)``
    (``(other, self)`` when ``reflected``; in place when ``reflected`` is None)."""
    if ufunc.nin == 1:
        def method(self):
            return ufunc_call(ufunc, (self,))
    elif reflected is None:
        def method(self, o):
            self[...] = _ufunc_call(ufunc, (self, o), {})
            return self
    elif ufunc is np.multiply:  # np.matrix-style sparse matrices multiply as matrices
        def method(self, o):
            if _is_spmatrix(o):
                return _ufunc_call(np.matmul, (o, self) if reflected else (self, o), {})
            return ufunc_call(ufunc, (o, self) if reflected else (self, o))
    elif reflected:
        def method(self, o):
            return _ufunc_call(ufunc, (o, self), {})
    else:
        def method(self, o):
            return _ufunc_call(ufunc, (self, o), {})
    method.__name__ = name
    method.__doc__ = f"``np.{ufunc.__name__}`` on a traced array (the operator {name})."
    return method


def _install() -> None:
    for name, value in vars(_ArrayOperators).items():
        if isinstance(value, types.FunctionType):
            setattr(TracedArray, name, value)
    for name, _, ufunc, reflected in operator_methods(inplace=True):
        setattr(TracedArray, name, _array_operator(name, ufunc, reflected))
    TracedScalar.__array_ufunc__ = _scalar_array_ufunc
    TracedScalar.__array_function__ = _scalar_array_function


_install()
