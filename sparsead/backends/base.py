"""The backend protocol: batched JVPs, VJPs and HVPs of one function.

A backend turns a user function into *batched* derivative products. The pipeline in
:mod:`sparsead` only ever asks a backend for products with a seed matrix whose rows are
tangent (or cotangent) vectors, so one call evaluates all colors at once.

Conventions, shared by every backend and checked by
:func:`sparsead.testing.check_backend`:

- ``x`` is passed in the user's shape and dtype. ``n = x.size``.
- ``f(x, *args)`` returns an array (any shape); ``m`` is its size. Outputs are flattened
  in C order.
- Seed and product matrices are *batch-first* and C-contiguous: a tangent batch ``V``
  has shape ``(k, n)`` (row ``c`` is the tangent for color ``c``), and ``jvp`` returns
  ``(k, m)``: row ``c`` is ``J @ V[c]``. ``vjp`` takes ``W`` of shape ``(k, m)`` and
  returns ``(k, n)``: row ``c`` is ``W[c] @ J``. ``hvp`` takes ``V`` of shape ``(k, n)``
  and returns ``(k, n)``: row ``c`` is ``H @ V[c]``.
- Every returned array is a ``numpy.ndarray``.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np


class Backend:
    """Base class of sparsead backends.

    Subclasses implement :meth:`prepare` and whichever of :meth:`jvp`, :meth:`vjp`,
    :meth:`hvp` and :meth:`gradient` they support; an unsupported product raises
    ``NotImplementedError`` with a message that says what to use instead.

    Attributes
    ----------
    name : str
        Short name used in messages and benchmark tables.
    """

    name: str = "abstract"

    def prepare(self, f: Callable[..., Any], x: np.ndarray, args: tuple = (),
                *, kinds: frozenset[str] = frozenset({"jvp"})) -> Any:
        """Build and cache whatever the products need (compiled functions, buffers).

        Parameters
        ----------
        f : callable
            Out-of-place function ``f(x, *args)``.
        x : numpy.ndarray
            Point of preparation; fixes the shape and dtype of later calls.
        args : tuple
            Constant extra arguments, never differentiated.
        kinds : frozenset of str
            Products that will be requested: any of ``"jvp"``, ``"vjp"``, ``"hvp"``,
            ``"gradient"``.

        Returns
        -------
        object
            An opaque context passed back to the product methods.
        """
        raise NotImplementedError

    def value(self, ctx: Any, x: np.ndarray) -> np.ndarray:
        """Return ``f(x, *args)`` flattened, shape ``(m,)``."""
        raise NotImplementedError

    def jvp(self, ctx: Any, x: np.ndarray, V: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(f(x) flattened, J @ V.T transposed)`` with shapes ``(m,)`` and ``(k, m)``."""
        raise NotImplementedError

    def vjp(self, ctx: Any, x: np.ndarray, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(f(x) flattened, W @ J)`` with shapes ``(m,)`` and ``(k, n)``."""
        raise NotImplementedError

    def hvp(self, ctx: Any, x: np.ndarray, V: np.ndarray) -> np.ndarray:
        """Return ``V @ H`` (``H`` symmetric) with shape ``(k, n)`` for a scalar ``f``."""
        raise NotImplementedError

    def gradient(self, ctx: Any, x: np.ndarray) -> tuple[float, np.ndarray]:
        """Return ``(f(x), grad f(x) flattened)`` for a scalar ``f``."""
        raise NotImplementedError
