"""The traced array: per-element index sets in CSR form, updated by Numba kernels.

A :class:`TracedArray` of shape ``S`` holds, for each element in C order,

* ``g``: its first-order dependence set (input indices), as ``(indptr, indices)``;
* ``h``: in Hessian mode, its second-order set of index pairs ``i * n + j`` (``i <= j``);
* ``val``: its float values in local mode (or for constants), else ``None``.

The CSR arrays are never mutated in place, so operations that do not change the sets
(scaling, reshaping, adding a constant) share them for free. Writes (``y[k] = ...``)
replace the arrays; single-element writes of traced scalars are buffered in ``pending``
and spliced in with one kernel call before the next vectorized read.

Arrays produced by basic indexing and reshaping are *views*: they remember their parent
and the flat positions they cover, re-read the parent when it changed, and write
through to it, as numpy views do.

This module holds the array's state and everything that needs nothing but the state. Its
operators, numpy protocols (``__array_ufunc__``, ``__array_function__``) and indexing
(``__getitem__``, ``__setitem__``) are implemented in the layers above (the ufunc engine,
the registry, :mod:`tracer._indexing`) and installed on the class by
:mod:`tracer._operators`.
"""

from __future__ import annotations

import itertools
import numbers

import numpy as np

from . import _setops as K
from ._errors import (
    TracingError,
    _JaxCodeDetected,
    array_conversion_error,
    control_flow_error,
    conversion_error,
    float_conversion_error,
)
from ._session import Session
from ._sets import _size, empty_sets, index_grid, take_rows


class TracedArray:
    """An array whose elements carry their dependence on the traced input ``x``."""

    __array_priority__ = 1000
    __slots__ = ("_shape", "_dtype", "_g", "_h", "_val", "_s", "_pending", "_cache",
                 "_version", "_base", "_map", "_base_version", "_grid", "_readonly",
                 "__weakref__")

    def __init__(self, session: Session, shape, g, h, val, dtype):
        self._shape = tuple(int(d) for d in shape)
        self._dtype = np.dtype(dtype)
        self._g = g
        self._h = h if session.hessian else None
        if session.hessian and h is None:
            self._h = empty_sets(_size(self._shape))
        self._val = val
        self._s = session
        self._pending = None
        self._cache = None
        self._version = 0
        self._base = None  # views: the root array they look into (never a view itself)
        self._map = None  # views: flat positions in the root
        self._base_version = 0
        self._grid = None  # root positions laid out in this array's shape (see _probe)
        self._readonly = False

    # ----- construction helpers -----
    @classmethod
    def constant(cls, session: Session, value=None, shape=None, dtype=float):
        """A traced array without dependence (a buffer or a constant)."""
        if value is not None:
            value = np.asarray(value)
            shape = value.shape
            dtype = value.dtype
        m = _size(shape)
        return cls(session, shape, empty_sets(m), None, value, dtype)

    @classmethod
    def unknown(cls, session: Session, shape, dtype):
        """No dependence, unknown values (e.g. a comparison in global mode)."""
        return cls(session, shape, empty_sets(_size(shape)), None, None, dtype)

    def _new(self, shape, g, h, val, dtype=None):
        return TracedArray(self._s, shape, g, h, val, self._dtype if dtype is None else dtype)

    # ----- synchronisation of pending writes and views -----
    def _sync(self):
        base = self._base
        if base is not None:
            base._sync()
            if base._version != self._base_version:
                self._regather()
        if self._pending:
            self._materialize()
        return self

    def _probe(self) -> np.ndarray:
        """Root positions of this array's elements, as an int array of its shape.

        Numpy applied to the probe decides what is a view: a result sharing memory with
        the root's probe is a view of the root (``reshape``, ``transpose``, slicing...).
        """
        if self._grid is None:
            self._grid = index_grid(self._shape)
        return self._grid

    def _root(self) -> "TracedArray":
        return self if self._base is None else self._base

    def _regather(self):
        base = self._base
        g = take_rows(base._g, self._map)
        h = take_rows(base._h, self._map) if base._h is not None else None
        val = None if base._val is None else base._val.ravel()[self._map].reshape(self._shape)
        self._g, self._h, self._val = g, h, val
        self._pending = None
        self._cache = None
        self._base_version = base._version
        self._version += 1

    def _materialize(self):
        pending = self._pending
        self._pending = None
        positions = np.fromiter(sorted(pending), np.int64, len(pending))
        scalars = [pending[p] for p in positions.tolist()]
        deps = [sorted(s.deps) for s in scalars]
        lens = np.fromiter((len(d) for d in deps), np.int64, len(deps))
        rep_ptr = np.zeros(len(deps) + 1, np.int64)
        np.cumsum(lens, out=rep_ptr[1:])
        rep_idx = np.fromiter(itertools.chain.from_iterable(deps), np.int64, int(rep_ptr[-1]))
        self._g = K.splice_rows(self._g[0], self._g[1], positions, rep_ptr, rep_idx)
        if self._h is not None:
            pairs = [sorted(s.pairs) for s in scalars]
            plens = np.fromiter((len(d) for d in pairs), np.int64, len(pairs))
            pp = np.zeros(len(pairs) + 1, np.int64)
            np.cumsum(plens, out=pp[1:])
            pi = np.fromiter(itertools.chain.from_iterable(pairs), np.int64, int(pp[-1]))
            self._h = K.splice_rows(self._h[0], self._h[1], positions, pp, pi)
        if self._val is not None:
            vals = [s.value for s in scalars]
            if any(v is None for v in vals):
                self._val = None
            else:
                newval = np.array(self._val, order="C", dtype=np.result_type(self._val.dtype, float)
                                  if self._dtype.kind in "fc" else self._val.dtype)
                flat = newval.reshape(-1)
                flat[positions] = vals
                self._val = newval

    def _set_data(self, g, h, val):
        """Replace all data (after a vectorized write)."""
        self._g, self._h, self._val = g, h, val
        self._pending = None
        self._cache = None
        self._version += 1

    # ----- array protocol basics -----
    @property
    def shape(self):
        return self._shape

    @property
    def ndim(self):
        return len(self._shape)

    @property
    def size(self):
        return _size(self._shape)

    @property
    def dtype(self):
        return self._dtype

    @property
    def T(self):
        return np.transpose(self)

    @property
    def mT(self):
        return np.swapaxes(self, -1, -2)

    @property
    def real(self):
        return self

    @property
    def imag(self):
        return TracedArray.constant(self._s, np.zeros(self._shape))

    @property
    def flat(self):
        return iter(np.ravel(self))

    def __len__(self):
        if not self._shape:
            raise TypeError("len() of unsized object")
        return self._shape[0]

    def __iter__(self):
        if not self._shape:
            raise TypeError("iteration over a 0-d array")
        for i in range(self._shape[0]):
            yield self[i]

    def __repr__(self):
        mode = "local" if self._s.local else "global"
        return f"TracedArray(shape={self._shape}, dtype={self._dtype}, mode={mode})"

    def __array__(self, dtype=None, copy=None):
        raise array_conversion_error("array")

    def __jax_array__(self):
        raise _JaxCodeDetected()

    def __bool__(self):
        if self.size != 1:
            raise ValueError("The truth value of an array with more than one element is "
                             "ambiguous. Use a.any() or a.all()")
        self._sync()
        if self._val is None:
            raise control_flow_error("bool() (an `if`/`while` condition, `and`/`or`, or `not`)")
        return bool(self._val.reshape(-1)[0])

    def __float__(self):
        raise float_conversion_error("float()")

    def __int__(self):
        raise conversion_error("int()")

    def __complex__(self):
        raise conversion_error("complex()")

    def __index__(self):
        raise control_flow_error("Using a traced value as an index (operator.index)")

    def item(self, *args):
        raise conversion_error(".item()")

    def tolist(self):
        if not self._shape:
            return self[()]
        return [x.tolist() if isinstance(x, TracedArray) else x for x in self]

    def astype(self, dtype, *args, **kwargs):
        dtype = np.dtype(dtype)
        self._sync()
        if dtype.kind not in "fciub":
            raise TracingError(f"Cannot convert a traced array to dtype {dtype}: only numeric "
                               "dtypes are supported (float/complex keep the dependence, "
                               "int/bool truncate it).")
        if dtype.kind in "fc" or dtype == self._dtype:
            val = None if self._val is None else self._val.astype(dtype)
            return self._new(self._shape, self._g, self._h, val, dtype)
        # casting to integers or booleans truncates: zero derivative
        val = None if self._val is None else self._val.astype(dtype)
        return TracedArray(self._s, self._shape, empty_sets(self.size), None, val, dtype)

    def copy(self, order="C"):
        self._sync()
        return self._new(self._shape, self._g, self._h, self._val)

    def __copy__(self):
        return self.copy()

    def __deepcopy__(self, memo):
        return self.copy()

    def fill(self, value):
        self[...] = value

    def reshape(self, *shape, order="C"):
        if len(shape) == 1 and not isinstance(shape[0], numbers.Integral):
            shape = tuple(shape[0])
        return np.reshape(self, shape, order=order)

    def ravel(self, order="C"):
        return np.ravel(self, order=order)

    def flatten(self, order="C"):
        return np.ravel(self, order=order).copy()

    def transpose(self, *axes):
        if len(axes) == 1 and (axes[0] is None or not isinstance(axes[0], numbers.Integral)):
            axes = axes[0]
        return np.transpose(self, axes if axes else None)

    def swapaxes(self, a, b):
        return np.swapaxes(self, a, b)

    def squeeze(self, axis=None):
        return np.squeeze(self, axis=axis)

    def sum(self, *args, **kwargs):
        return np.sum(self, *args, **kwargs)

    def prod(self, *args, **kwargs):
        return np.prod(self, *args, **kwargs)

    def mean(self, *args, **kwargs):
        return np.mean(self, *args, **kwargs)

    def var(self, *args, **kwargs):
        return np.var(self, *args, **kwargs)

    def std(self, *args, **kwargs):
        return np.std(self, *args, **kwargs)

    def max(self, *args, **kwargs):
        return np.max(self, *args, **kwargs)

    def min(self, *args, **kwargs):
        return np.min(self, *args, **kwargs)

    def argmax(self, *args, **kwargs):
        return np.argmax(self, *args, **kwargs)

    def argmin(self, *args, **kwargs):
        return np.argmin(self, *args, **kwargs)

    def cumsum(self, *args, **kwargs):
        return np.cumsum(self, *args, **kwargs)

    def cumprod(self, *args, **kwargs):
        return np.cumprod(self, *args, **kwargs)

    def any(self, *args, **kwargs):
        return np.any(self, *args, **kwargs)

    def all(self, *args, **kwargs):
        return np.all(self, *args, **kwargs)

    def clip(self, a_min=None, a_max=None, **kwargs):
        return np.clip(self, a_min, a_max, **kwargs)

    def dot(self, other):
        return np.dot(self, other)

    def take(self, indices, axis=None, **kwargs):
        return np.take(self, indices, axis=axis, **kwargs)

    def repeat(self, repeats, axis=None):
        return np.repeat(self, repeats, axis=axis)

    def diagonal(self, offset=0, axis1=0, axis2=1):
        return np.diagonal(self, offset, axis1, axis2)

    def trace(self, *args, **kwargs):
        return np.trace(self, *args, **kwargs)

    def round(self, decimals=0):
        return np.round(self, decimals)

    def conj(self):
        return self

    conjugate = conj

    def nonzero(self):
        return np.nonzero(self)

    def sort(self, axis=-1, kind=None, order=None):
        self[...] = np.sort(self, axis=axis)

    def argsort(self, *args, **kwargs):
        return np.argsort(self, *args, **kwargs)


    # operators, numpy protocols and indexing: installed by tracer._operators
    __hash__ = None
