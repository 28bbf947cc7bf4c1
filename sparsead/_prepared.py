"""``PreparedMatrix``: what a prepared sparse Jacobian and Hessian share (a plan fixing the
structure, evaluation into a new or a given matrix, the backend's compiled fast path)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._args_binding import ArgsBinding
from ._errors import SparseADError
from ._plan import Chunk, Plan
from ._value_pool import ValuePool
from .backends import Backend


def store_chunk_values(data: np.ndarray | None, chunk: Chunk, vals: Any, backend_name: str,
                       dtype: np.dtype | None = None) -> np.ndarray:
    """Put one chunk's gathered values into ``data`` (nothing to do when the backend
    already wrote them there), checking their count; return ``data``.

    ``data=None`` (see :meth:`PreparedMatrix._data_for`) adopts ``vals`` as the data of
    a new matrix: a backend with ``fresh_gather_values`` returns arrays nobody else
    holds. Read-only or other-dtype values are copied (into ``dtype``).
    """
    if vals is data:
        return data
    vals = np.asarray(vals)
    if vals.shape != chunk.flat_index.shape:
        raise SparseADError(f"backend {backend_name!r} returned {vals.shape} values for "
                            f"{chunk.flat_index.shape} requested")
    if data is None:
        if vals.flags.writeable and vals.dtype == dtype and vals.flags.c_contiguous:
            return vals
        return np.array(vals, dtype=dtype)
    if chunk.positions is None:
        data[...] = vals
    else:
        data[chunk.positions] = vals
    return data


class PreparedMatrix:
    """What a prepared sparse Jacobian and Hessian share: a :class:`Plan` fixing the
    structure, and evaluation into a new or a given (``out=``) matrix through the
    subclass's ``_fill(x, data, args)``, which writes the stored values into ``data``."""

    #: Re-detection of a local pattern at new points (see :mod:`sparsead._local`).
    _local: Any = None
    #: What :meth:`_use_structure` sets: the state that depends on the pattern.
    _STRUCTURE_ATTRS: tuple[str, ...] = ("sparsity", "coloring", "_plan", "_adopts_values",
                                         "_fast", "_fast_tried")

    def __init__(self, *, backend: Backend, binding: ArgsBinding, x: np.ndarray, pattern: Any,
                 coloring: Any, plan: Plan) -> None:
        self.backend = backend
        self._binding = binding
        self._x_shape, self._x_dtype = x.shape, x.dtype
        self.shape = pattern.shape
        self._use_structure(pattern, coloring, plan)

    def _use_structure(self, pattern: Any, coloring: Any, plan: Plan) -> None:
        """Evaluate on ``pattern`` with ``coloring`` and ``plan`` from now on."""
        self.sparsity = pattern
        self.coloring = coloring
        self._plan = plan
        chunks = plan.chunks
        # One product whose gathered values are already in storage order: a backend
        # that returns fresh arrays gives the new matrix its data without a copy.
        self._adopts_values = bool(getattr(self.backend, "fresh_gather_values", False)
                                   and plan.ncolors > 0 and len(chunks) == 1
                                   and chunks[0].positions is None
                                   and getattr(plan, "flat_index", True) is not None)
        self._fast, self._fast_tried = None, False

    def _structure_state(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._STRUCTURE_ATTRS}

    def _restore_structure(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            setattr(self, name, value)

    def _fill(self, x: Any, data: np.ndarray | None, args: tuple | None,
              need_value: bool = True) -> tuple[Any, np.ndarray]:
        """Write the stored values into ``data`` (None: adopt the backend's); return
        ``(something for the caller, data)``."""
        raise NotImplementedError

    @property
    def ncolors(self) -> int:
        """Products (JVPs, VJPs or HVPs) per evaluation."""
        return self._plan.ncolors

    @property
    def nnz(self) -> int:
        """Stored values per evaluation (structural zeros included)."""
        return self._plan.nnz

    @property
    def format(self) -> str:
        """``"csr"``, ``"csc"`` or ``"coo"``; the value order is the same on every call."""
        return self._plan.format

    @property
    def seeds(self) -> np.ndarray:
        """The batch-first 0/1 seed matrix ``(ncolors, width)`` of the products.

        Read-only: compiling backends (JAX) bake it in as a constant."""
        return self._plan.seeds

    def structure(self) -> tuple[np.ndarray, np.ndarray]:
        """``(rows, cols)`` of the stored values, in the order of :meth:`values` (the
        ``uplo`` triangle for a Hessian, as Ipopt's ``hessianstructure`` wants)."""
        return self._plan.coordinates()

    def _data_for(self, out: Any) -> np.ndarray | None:
        """Where ``_fill`` writes: ``out.data``, a new array, or None when the values of
        the backend's single fused product become the new matrix's data (no copy)."""
        dtype = self._plan.dtype
        if out is None:
            if self._adopts_values:
                return None
            pool = self._value_pool
            # a local pattern may switch to a structure with another nnz
            if pool is None or pool.dtype != dtype or pool.size != self.nnz:
                pool = self._value_pool = ValuePool(self.nnz, dtype)
            return pool.take()
        self._plan.check_out(out, dtype)
        return out.data

    def __call__(self, x: Any, out: Any = None, *, args: tuple | None = None):
        """The matrix at ``x`` as a scipy sparse array of the prepared format.

        On a pattern detected with ``sparsity_mode="local"``, the pattern is detected again
        at each new ``(x, args)``; when it is not contained in the pattern in use, the
        object switches to a coloring and plan for the new pattern (``sparsity``,
        ``coloring``, ``nnz``, :meth:`structure` follow), unless it was prepared with
        ``reuse_local_pattern=True``.

        Parameters
        ----------
        x : array_like
            Same shape and dtype as at preparation.
        out : scipy sparse array, optional
            A matrix from an earlier call: its ``.data`` is refilled in place and it is
            returned.
        args : tuple, optional
            Other constant extra arguments than at preparation (same structure).
        """
        if self._local is not None:
            self._local.update(self, x, args)
        fast = self._fast
        if (fast is not None and args is None
                and (type(x) is np.ndarray or isinstance(x, self._native_types))
                and x.shape == self._x_shape and x.dtype == self._x_dtype):
            dtype = self._plan.dtype
            if out is not None:
                self._plan.check_out(out, dtype)
            data, wait = fast(x)
            if data.dtype == dtype:
                if out is None:
                    M = self._plan.new_matrix(data)  # built while the backend computes
                    wait()
                    return M
                wait()
                np.copyto(out.data, data)
                return out
            wait()
        _, data = self._fill(x, self._data_for(out), args, need_value=False)
        if fast is None and not self._fast_tried and args is None:
            self._fast_tried = True
            self._fast = self._make_fast()
        return out if out is not None else self._plan.new_matrix(data)

    _value_pool: ValuePool | None = None

    #: Product kind of the fast path ("jvp", "vjp", "hvp"; None: no fast path).
    _fast_kind: str | None = None
    _fast: Any = None
    _fast_tried = False
    _native_types: tuple = ()

    def _make_fast(self) -> Any:
        """The backend's compiled ``x_flat -> values`` for ``M = P(x)`` (None: none).

        Built after the first plain evaluation, so all checks and errors of the first
        call stay on the general path. Used when ``x`` is a numpy array (or one of the
        backend's ``native_array_types``) of the prepared shape and dtype, ``args`` is
        not given, and the single product's
        values become the data of a new matrix or are copied into ``out.data``
        (``_adopts_values``): it skips the per-call bookkeeping, 10-30 us that are most
        of the time at small sizes.
        """
        kind = self._fast_kind
        make = getattr(self.backend, "compiled_values", None)
        if not self._adopts_values or kind is None or make is None:
            return None
        chunk = self._plan.chunks[0]
        self._native_types = tuple(getattr(self.backend, "native_array_types", ()))
        return make(self._binding.get(None), kind, chunk.seeds, chunk.flat_index)

    def values(self, x: Any, out: np.ndarray | None = None, *,
               args: tuple | None = None) -> np.ndarray:
        """The stored values at ``x`` in the order of :meth:`structure` (1-D array)."""
        if self._local is not None:
            self._local.update(self, x, args)
        dtype = self._plan.dtype
        if out is None:
            out = np.empty(self.nnz, dtype=dtype)
        elif out.shape != (self.nnz,) or out.dtype != dtype:
            raise SparseADError(f"out must be a ({self.nnz},) array of dtype {dtype}, got "
                                f"{out.shape} {out.dtype}")
        self._fill(x, out, args, need_value=False)  # out is not None: filled in place
        return out
