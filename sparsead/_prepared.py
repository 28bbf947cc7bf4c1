"""``PreparedMatrix``: what a prepared sparse Jacobian and Hessian share (a plan fixing the
structure, evaluation into a new or a given matrix, the backend's compiled fast path)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._args_binding import ArgsBinding
from ._errors import SparseADError
from ._plan import Chunk, Plan, PlanSizes
from ._value_pool import ValuePool
from .backends import Backend, ProductRequest


def store_chunk_values(data: np.ndarray, chunk: Chunk, vals: Any, backend_name: str,
                       adopt: bool = False) -> np.ndarray:
    """Put one chunk's gathered values into ``data`` (nothing to do when the backend
    already wrote them there), checking their count; return the array that holds them.

    With ``adopt`` (see :meth:`PreparedMatrix._data_for`), values that the backend returned
    in a new array (:meth:`Backend.products` promises it never writes them again) become
    the data of the new matrix instead of being copied into ``data``, when they are
    writeable, C-contiguous and of ``data``'s dtype.
    """
    if vals is data:
        return data
    vals = np.asarray(vals)
    if vals.shape != chunk.flat_index.shape:
        raise SparseADError(f"backend {backend_name!r} returned {vals.shape} values for "
                            f"{chunk.flat_index.shape} requested")
    if (adopt and vals.flags.writeable and vals.dtype == data.dtype
            and vals.flags.c_contiguous):
        return vals
    if chunk.positions is None:
        data[...] = vals
    else:
        data[chunk.positions] = vals
    return data


class PreparedMatrix(PlanSizes):
    """What a prepared sparse Jacobian and Hessian share: a :class:`Plan` fixing the
    structure, the backend's :class:`ProductRequest` per chunk, and evaluation into a
    new or a given (``out=``) matrix through the subclass's ``_fill(x, data, args)``,
    which writes the stored values into ``data``."""

    #: Re-detection of a local pattern at new points (see :mod:`sparsead._local`).
    _local: Any = None
    #: What :meth:`_use_structure` sets: the state that depends on the pattern.
    _STRUCTURE_ATTRS: tuple[str, ...] = ("sparsity", "coloring", "_plan", "_adopts_values",
                                         "_requests", "_fast", "_fast_tried")

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
        # One product whose gathered values are already in storage order: when the
        # backend returns them in a new array, the new matrix takes it as its data.
        self._adopts_values = bool(plan.ncolors > 0 and len(chunks) == 1
                                   and chunks[0].positions is None
                                   and getattr(plan, "flat_index", True) is not None)
        self._requests: dict[tuple[int, str, bool], ProductRequest] = {}
        self._fast, self._fast_tried = None, False

    def _request(self, i: int, kind: str, want_value: bool) -> ProductRequest:
        """The backend request of chunk ``i`` (built once: backends cache work on it)."""
        key = (i, kind, want_value)
        request = self._requests.get(key)
        if request is None:
            chunk = self._plan.chunks[i]
            # seeds stay index lists when the plan has no dense matrix (fd needs none)
            seeds = chunk.seed_columns if chunk._seeds is None else chunk._seeds
            request = self._requests[key] = ProductRequest(
                kind, seeds, chunk.flat_index, chunk.entry_input, want_value)
        return request

    def _structure_state(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._STRUCTURE_ATTRS}

    def _restore_structure(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            setattr(self, name, value)

    def _fill(self, x: Any, data: np.ndarray, args: tuple | None,
              need_value: bool = True, adopt: bool = False) -> tuple[Any, np.ndarray]:
        """Write the stored values into ``data``; return ``(something for the caller,
        the array holding the values)``: with ``adopt``, that may be the backend's own
        new array instead of ``data`` (see :func:`store_chunk_values`)."""
        raise NotImplementedError

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

    def _data_for(self, out: Any) -> tuple[np.ndarray, bool]:
        """Where ``_fill`` writes, ``out.data`` or a pooled array, and whether the
        backend's own array of values may become the new matrix's data instead."""
        dtype = self._plan.dtype
        if out is None:
            pool = self._value_pool
            # a local pattern may switch to a structure with another nnz
            if pool is None or pool.dtype != dtype or pool.size != self.nnz:
                pool = self._value_pool = ValuePool(self.nnz, dtype)
            return pool.take(), self._adopts_values
        self._plan.check_out(out, dtype)
        return out.data, False

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
        if (fast is not None and args is None and hasattr(x, "dtype")
                and x.shape == self._x_shape and x.dtype == self._x_dtype):
            dtype = self._plan.dtype
            if out is not None:
                self._plan.check_out(out, dtype)
            got = fast(x)  # None: the backend does not take this type of x
            if got is not None:
                data, wait = got
                if data.dtype == dtype:
                    if out is None:
                        M = self._plan.new_matrix(data)  # built while the backend computes
                        wait()
                        return M
                    wait()
                    np.copyto(out.data, data)
                    return out
                wait()
        data, adopt = self._data_for(out)
        _, data = self._fill(x, data, args, need_value=False, adopt=adopt)
        if fast is None and not self._fast_tried and args is None:
            self._fast_tried = True
            self._fast = self._make_fast()
        return out if out is not None else self._plan.new_matrix(data)

    _value_pool: ValuePool | None = None

    #: Product kind of the fast path ("jvp", "vjp", "hvp"; None: no fast path).
    _fast_kind: str | None = None
    _fast: Any = None
    _fast_tried = False

    def _make_fast(self) -> Any:
        """The backend's compiled ``x -> (values, wait)`` for ``M = P(x)`` (None: none).

        Built after the first plain evaluation, so all checks and errors of the first
        call stay on the general path (:meth:`Backend.compile`). Used when ``x`` has the
        prepared shape and dtype, ``args`` is not given, and the single product's
        values become the data of a new matrix or are copied into ``out.data``
        (``_adopts_values``): it skips the per-call bookkeeping, most of the time at
        small sizes.
        """
        kind = self._fast_kind
        if not self._adopts_values or kind is None:
            return None
        return self.backend.compile(self._binding.get(None), self._request(0, kind, False))

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
