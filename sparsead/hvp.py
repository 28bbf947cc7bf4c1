"""Matrix-free Hessian–vector products as a scipy ``LinearOperator``."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
from scipy.sparse.linalg import LinearOperator

from ._backend_resolution import resolve_backend
from ._errors import SparseADError
from ._points import as_point, check_point
from .backends import ProductRequest

__all__ = ["HVPOperator", "hvp_operator"]


class HVPOperator(LinearOperator):
    """``H(x) @ v`` of a scalar function without forming H.

    ``matvec`` costs one HVP, ``matmat`` one batched call for all columns. The operator is
    symmetric (``H.T = H``). :meth:`at` re-points it at another x, reusing the backend's
    preparation (compiled functions, buffers).
    """

    def __init__(self, backend, ctx, x: np.ndarray, prepared: dict) -> None:
        n = x.size
        super().__init__(dtype=np.result_type(x.dtype, np.float32), shape=(n, n))
        self.backend = backend
        self._ctx = ctx
        self._x = x
        self._prepared = prepared

    @property
    def x(self) -> np.ndarray:
        """The point at which the Hessian is taken (read-only view)."""
        v = self._x.view()
        v.flags.writeable = False
        return v

    def at(self, x_new: Any) -> "HVPOperator":
        """The same operator at ``x_new`` (same shape and dtype), without preparing again."""
        x_new = check_point(x_new, self._x.shape, self._x.dtype)
        return HVPOperator(self.backend, self._ctx, np.array(x_new, copy=True),
                           self._prepared)

    def _products(self, V: np.ndarray) -> np.ndarray:
        n = self.shape[0]
        request = ProductRequest("hvp", V, want_value=False)
        out = np.asarray(self.backend.products(self._ctx, self._x, request)[1])
        if out.shape != (V.shape[0], n):
            raise SparseADError(f"backend {self.backend.name!r} returned HVPs of shape "
                                f"{out.shape}, expected {(V.shape[0], n)}")
        return out

    def _matvec(self, v: np.ndarray) -> np.ndarray:
        v = np.asarray(v, dtype=self.dtype).reshape(1, -1)
        return self._products(v)[0]

    def _matmat(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=self.dtype)
        if X.shape[1] == 0:
            return np.zeros((self.shape[0], 0), dtype=self.dtype)
        return self._products(np.ascontiguousarray(X.T)).T

    def _rmatvec(self, v: np.ndarray) -> np.ndarray:
        return self._matvec(np.conj(v))

    def _adjoint(self) -> "HVPOperator":
        return self


def hvp_operator(f: Callable, x: Any, *, backend: Any = "fd", args: tuple = (),
                 grad: Callable | None = None) -> HVPOperator:
    """A ``LinearOperator`` computing Hessian–vector products of scalar ``f`` at ``x``.

    Parameters
    ----------
    f : callable
        Scalar ``f(x, *args)``.
    x : array_like
        Point (float32/float64, any shape; the operator acts on flat vectors of x.size).
    backend : str or Backend
        ``"jax"`` (forward-over-reverse), ``"torch"``, ``"fd"`` with ``grad=``, or a Backend
        with ``hvp``.
    args : tuple
        Constant extra arguments.
    grad : callable, optional
        Gradient for the ``"fd"`` backend.

    Returns
    -------
    HVPOperator
        ``matvec(v)``, ``matmat(V)`` (batched), ``.at(x_new)``.

    Examples
    --------
    >>> import numpy as np, sparsead
    >>> Hop = sparsead.hvp_operator(lambda x: np.sum(x ** 3), np.arange(1.0, 4.0),
    ...                             grad=lambda x: 3 * x ** 2)
    >>> (Hop @ np.ones(3)).round(4)
    array([ 6., 12., 18.])
    """
    be = resolve_backend(backend, grad)
    x = as_point(x)
    ctx = be.prepare(f, x, tuple(args), kinds=frozenset({"hvp"}))
    return HVPOperator(be, ctx, np.array(x, copy=True), {"f": f, "args": tuple(args)})
