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
"""

from __future__ import annotations

import itertools
import numbers
from contextvars import ContextVar
from typing import Any

import numpy as np

from . import _setops as K
from ._derivatives import (
    MULTI_OUTPUT_RULES,
    PRODUCT_UFUNCS,
    SELECTING,
    ZERO_ANNIHILATORS,
    rule_of,
    ufunc_name,
)
from ._errors import (
    BUFFER_HINT,
    TracingError,
    _JaxCodeDetected,
    control_flow_error,
    conversion_error,
    unsupported_error,
)

EMPTY = np.empty(0, np.int64)
EMPTY.flags.writeable = False

HANDLED_FUNCTIONS: dict[Any, Any] = {}


class Session:
    """Settings of one trace: number of inputs, Hessian mode, local (value-following) mode."""

    __slots__ = ("n", "hessian", "local")

    def __init__(self, n: int, hessian: bool, mode: str):
        if mode not in ("global", "local"):
            raise ValueError(f'mode must be "global" or "local", got {mode!r}')
        self.n = int(n)
        self.hessian = bool(hessian)
        self.local = mode == "local"


# The traces running in this thread (and context), innermost last. Per context, so that
# another thread never sees them: it keeps numpy's own behaviour while this one traces.
ACTIVE_SESSIONS: ContextVar[tuple[Session, ...]] = ContextVar("tracer_active_sessions",
                                                              default=())


def current_session() -> "Session":
    """The innermost trace running in this thread.

    Raises
    ------
    TracingError
        When no trace runs in this thread: a traced value was kept after its trace ended,
        or handed to another thread, and is being combined with new arrays there.
    """
    sessions = ACTIVE_SESSIONS.get()
    if not sessions:
        raise TracingError(
            "No trace is running in this thread, but a traced value was used to create a new "
            "array. Traced values are only valid inside the traced function, in the thread "
            "that traces it: do not keep them after f returns or pass them to other threads.")
    return sessions[-1]


def empty_sets(m: int):
    return (np.zeros(m + 1, np.int64), EMPTY)


def _size(shape) -> int:
    s = 1
    for d in shape:
        s *= d
    return s


_IDX_CACHE: dict[tuple, np.ndarray] = {}


def index_grid(shape: tuple) -> np.ndarray:
    """Read-only ``arange(size).reshape(shape)`` (cached): flat positions of each element."""
    a = _IDX_CACHE.get(shape)
    if a is None:
        a = np.arange(_size(shape), dtype=np.int64).reshape(shape)
        a.flags.writeable = False
        if len(_IDX_CACHE) > 256:
            _IDX_CACHE.clear()
        _IDX_CACHE[shape] = a
    return a


_BMAP_CACHE: dict[tuple, np.ndarray] = {}


def broadcast_map(shape: tuple, out_shape: tuple) -> np.ndarray:
    """Row map that broadcasts an array of ``shape`` to ``out_shape`` (empty: identity)."""
    if shape == out_shape:
        return EMPTY
    key = (shape, out_shape)
    m = _BMAP_CACHE.get(key)
    if m is None:
        m = np.ascontiguousarray(np.broadcast_to(index_grid(shape), out_shape)).ravel()
        m.flags.writeable = False
        if len(_BMAP_CACHE) > 256:
            _BMAP_CACHE.clear()
        _BMAP_CACHE[key] = m
    return m


def take_rows(sets, rows: np.ndarray):
    """Gather rows of a CSR set array; contiguous ranges are sliced without copying."""
    ptr, idx = sets
    m = rows.size
    if m == 0:
        return empty_sets(0)
    if idx.size == 0:
        return empty_sets(m)
    r0 = int(rows[0])
    if r0 >= 0 and int(rows[-1]) - r0 == m - 1 and K.is_range(rows):
        if r0 == 0 and m == ptr.size - 1:
            return sets
        p = ptr[r0:r0 + m + 1]
        start = p[0]
        return (p - start, idx[start:p[-1]])
    return K.gather_rows(ptr, idx, rows)


def union_pieces(pieces, m: int):
    """Union of ``[(sets, rowmap), ...]`` aligned to ``m`` output elements."""
    kept = []
    for sets, rowmap in pieces:
        if sets[1].size == 0:
            continue
        if any(s[1] is sets[1] and s[0] is sets[0]
               and (r is rowmap or (r.size == 0 and rowmap.size == 0)) for s, r in kept):
            continue
        kept.append((sets, rowmap))
    if not kept:
        return empty_sets(m)
    (s0, r0) = kept[0]
    if len(kept) == 1:
        return s0 if r0.size == 0 else take_rows(s0, r0)
    acc, racc = s0, r0
    for s, r in kept[1:]:
        acc, racc = _union_two(acc, racc, s, r, m), EMPTY
    return acc


def _union_two(a, ra, b, rb, m):
    """Union of two aligned set arrays, reusing one of them when it contains the other."""
    if ra.size == 0 and K.rows_subset(a[0], a[1], ra, b[0], b[1], rb, m):
        return a
    if rb.size == 0 and K.rows_subset(b[0], b[1], rb, a[0], a[1], ra, m):
        return b
    return K.union2(a[0], a[1], ra, b[0], b[1], rb, m)


def sorted_unique(a: np.ndarray) -> np.ndarray:
    """``np.unique`` for int64 keys via sort + mask (np.unique is hash-based and slower)."""
    if a.size == 0:
        return a
    u = np.sort(a)
    keep = np.empty(u.size, bool)
    keep[0] = True
    np.not_equal(u[1:], u[:-1], out=keep[1:])
    return u[keep]


def self_pairs(g, n: int):
    return K.self_pairs(g[0], g[1], n)


# --------------------------------------------------------------------------------------
# The traced array
# --------------------------------------------------------------------------------------


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
        from ._errors import array_conversion_error
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
        from ._errors import float_conversion_error
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
        from ._products import matmul
        return matmul(self, o)

    def __rmatmul__(self, o):
        from ._products import matmul
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

    __hash__ = None

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
        return _getitem(self, key)

    def __setitem__(self, key, value):
        if type(key) is int and self._base is None and len(self._shape) == 1 \
                and type(value) is _TracedScalar and 0 <= key < self._shape[0]:
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
        _setitem(self, key, value)


# --------------------------------------------------------------------------------------
# Conversions between operands
# --------------------------------------------------------------------------------------


def _is_spmatrix(x) -> bool:
    mod = type(x).__module__
    if not mod.startswith("scipy.sparse"):
        return False
    import scipy.sparse as sp
    return isinstance(x, sp.spmatrix)


def _densify_sparse(x):
    """scipy.sparse constants in elementwise operations: use their dense values."""
    if type(x).__module__.startswith("scipy.sparse"):
        import scipy.sparse as sp
        if sp.issparse(x):
            return x.toarray()
    return x


def scalar_to_array(s, session: Session | None = None) -> TracedArray:
    """0-d traced array from a traced scalar."""
    session = s.s if session is None else session
    deps = np.array(sorted(s.deps), np.int64) if s.deps else EMPTY
    g = (np.array([0, deps.size], np.int64), deps)
    h = None
    if session.hessian:
        pairs = np.array(sorted(s.pairs), np.int64) if s.pairs else EMPTY
        h = (np.array([0, pairs.size], np.int64), pairs)
    val = None if s.value is None else np.asarray(s.value)
    dtype = np.asarray(s.value).dtype if s.value is not None else np.dtype(float)
    return TracedArray(session, (), g, h, val, dtype)


def lift(x, session: Session):
    """Traced operand, or a plain numpy constant when ``x`` carries no traced data."""
    from ._scalar import TracedScalar
    if isinstance(x, TracedArray):
        return x._sync()
    if isinstance(x, TracedScalar):
        return scalar_to_array(x, session)
    if isinstance(x, (list, tuple)) and contains_traced(x):
        from ._construct import array_from_nested
        return array_from_nested(x, session)
    return x


def contains_traced(x) -> bool:
    from ._scalar import TracedScalar
    if isinstance(x, (TracedArray, TracedScalar)):
        return True
    if isinstance(x, (list, tuple)):
        return any(contains_traced(e) for e in x)
    if isinstance(x, np.ndarray) and x.dtype == object:
        return any(contains_traced(e) for e in x.ravel().tolist())
    return False


def find_session(objs) -> Session:
    from ._scalar import TracedScalar
    for x in objs:
        if isinstance(x, TracedArray):
            return x._s
        if isinstance(x, TracedScalar):
            return x.s
        if isinstance(x, (list, tuple)):
            s = find_session(x)
            if s is not None:
                return s
        if isinstance(x, dict):
            s = find_session(list(x.values()))
            if s is not None:
                return s
    return None


def values_of(x):
    """Plain values of an operand, or None when unknown."""
    if isinstance(x, TracedArray):
        return x._val
    return x


def has_deps(x) -> bool:
    return isinstance(x, TracedArray) and (x._g[1].size > 0
                                           or (x._h is not None and x._h[1].size > 0))


# --------------------------------------------------------------------------------------
# Elementwise operations
# --------------------------------------------------------------------------------------

_DTYPE_CACHE: dict[tuple, Any] = {}


def _probe(x):
    if isinstance(x, TracedArray):
        return np.ones((), x._dtype)
    if isinstance(x, (bool, int, float, complex)):
        return x
    a = np.asarray(x)
    return np.ones((), a.dtype)


def result_dtypes(ufunc, ops):
    key = (ufunc,) + tuple(type(o) if isinstance(o, (bool, int, float, complex))
                           else (o._dtype if isinstance(o, TracedArray) else np.asarray(o).dtype)
                           for o in ops)
    r = _DTYPE_CACHE.get(key)
    if r is None:
        with np.errstate(all="ignore"):
            out = ufunc(*[_probe(o) for o in ops])
        r = tuple(np.asarray(o).dtype for o in out) if isinstance(out, tuple) else \
            np.asarray(out).dtype
        _DTYPE_CACHE[key] = r
    return r


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
    """Apply an elementwise ufunc to traced and constant operands."""
    kwargs = kwargs or {}
    session = find_session(inputs)
    ops = [lift(x, session) for x in inputs]
    if ufunc in PRODUCT_UFUNCS:
        from ._products import product_ufunc
        return product_ufunc(ufunc, ops, kwargs)
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
    if ufunc in SELECTING and all(values_of(o) is not None for o in ops):
        # local mode: the output follows the larger (or smaller) operand; ties take both
        va, vb = (np.asarray(values_of(o)) for o in ops)
        with np.errstate(invalid="ignore"):
            if ufunc in (np.maximum, np.fmax):
                masks = [~(vb > va), ~(va > vb)]
            else:
                masks = [~(vb < va), ~(va < vb)]
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


def array_ufunc(ufunc, method, inputs, kwargs):
    """``__array_ufunc__`` dispatch for traced arrays and scalars."""
    if method == "__call__":
        return ufunc_call(ufunc, inputs, dict(kwargs))
    from . import _reductions as R
    if method == "reduce":
        return R.ufunc_reduce(ufunc, inputs, dict(kwargs))
    if method == "accumulate":
        return R.ufunc_accumulate(ufunc, inputs, dict(kwargs))
    if method == "outer":
        a, b = inputs
        session = find_session(inputs)
        a, b = lift(a, session), lift(b, session)
        na = np.ndim(a)
        b_shape = np.shape(b)
        a2 = np.reshape(a, np.shape(a) + (1,) * len(b_shape)) if na else a
        return ufunc_call(ufunc, (a2, b), dict(kwargs))
    if method == "at":
        return R.ufunc_at(ufunc, inputs, dict(kwargs))
    raise unsupported_error(f"np.{ufunc.__name__}.{method}")


def _replace_values(x):
    """Replace traced arrays by their values in a nested argument structure."""
    from ._scalar import TracedScalar
    if isinstance(x, TracedArray):
        if x._val is None:
            raise LookupError
        return x._val
    if isinstance(x, TracedScalar):
        if x.value is None:
            raise LookupError
        return x.value
    if isinstance(x, list):
        return [_replace_values(e) for e in x]
    if isinstance(x, tuple):
        return tuple(_replace_values(e) for e in x)
    return x


def _attach_values(func, args, kwargs, result):
    """Fill in values of results when all traced arguments have known values."""
    targets = result if isinstance(result, (list, tuple)) else (result,)
    need = [t for t in targets if isinstance(t, TracedArray)]
    if not need:
        return
    try:
        vargs = _replace_values(list(args))
        vkw = {k: _replace_values(v) for k, v in kwargs.items()}
    except LookupError:
        return
    with np.errstate(all="ignore"):
        vres = func(*vargs, **vkw)
    vres_list = vres if isinstance(vres, (list, tuple)) else (vres,)
    for t, v in zip(targets, vres_list):
        if isinstance(t, TracedArray):
            v = np.asarray(v)
            if v.shape == t._shape:
                t._val = v


def array_function(func, args, kwargs):
    """``__array_function__`` dispatch: registered handlers only, never a silent fallback."""
    func = getattr(func, "_tracer_original", func)  # numpy may pass our patched allocators
    handler = HANDLED_FUNCTIONS.get(func)
    if handler is None:
        mod = getattr(func, "__module__", "numpy") or "numpy"
        name = getattr(func, "__name__", repr(func))
        prefix = "np." if mod.startswith("numpy") and "linalg" not in mod and "fft" not in mod \
            else mod.replace("numpy.", "np.").replace("._", ".") + "."
        if prefix.startswith("numpy"):
            prefix = "np."
        raise unsupported_error(f"{prefix}{name}")
    result = handler(*args, **kwargs)
    _attach_values(func, args, kwargs, result)
    return result


def implements(*funcs):
    """Register a handler for numpy functions (``__array_function__``)."""
    def deco(handler):
        for f in funcs:
            HANDLED_FUNCTIONS[f] = handler
        return handler
    return deco


from ._indexing import getitem as _getitem  # noqa: E402  (circular)
from ._indexing import setitem as _setitem  # noqa: E402
from ._scalar import TracedScalar as _TracedScalar  # noqa: E402
