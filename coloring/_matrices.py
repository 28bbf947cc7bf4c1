"""Sparse matrices that share their read-only index arrays with other results."""

from __future__ import annotations

import scipy.sparse as sp

__all__ = ["SharedStructureCSR", "SharedStructureCSC", "shared_csr"]


class _CopyStructureOnWrite:
    """Mixin for matrices returned by ``decompress`` and by prepared derivatives.

    They share one read-only ``indices``/``indptr`` pair (no O(nnz) work per call).
    ``eliminate_zeros`` is the one scipy method that rewrites them in place: here it
    first gives the matrix its own copies, so dropping the (stored) structural zeros of
    one result works and cannot corrupt the next.
    """

    def eliminate_zeros(self) -> None:
        """Remove zero entries (after copying the shared index arrays)."""
        if not (self.indices.flags.writeable and self.indptr.flags.writeable):
            self.indices, self.indptr = self.indices.copy(), self.indptr.copy()
        super().eliminate_zeros()


class SharedStructureCSR(_CopyStructureOnWrite, sp.csr_array):
    """A ``scipy.sparse.csr_array`` whose index arrays are shared with other results."""


class SharedStructureCSC(_CopyStructureOnWrite, sp.csc_array):
    """A ``scipy.sparse.csc_array`` whose index arrays are shared with other results."""


def shared_csr(data, indices, indptr, shape) -> SharedStructureCSR:
    """A :class:`SharedStructureCSR` over ``data`` and the given (read-only) index arrays:
    no copy, no re-validation of the structure, and ``out=`` checks that are identity
    tests on the next call."""
    M = SharedStructureCSR((data, indices, indptr), shape=shape)
    M.indices, M.indptr = indices, indptr
    M.has_canonical_format = True
    return M
