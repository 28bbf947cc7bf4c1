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

Required: :meth:`Backend.prepare`, :meth:`Backend.value`, and at least one of
:meth:`~Backend.jvp` / :meth:`~Backend.vjp` (Jacobians) or :meth:`~Backend.hvp` (Hessians,
plus :meth:`~Backend.gradient` for ``value_gradient_and_hessian``). Everything else has a
default: the fused ``*_gather`` entry points, :meth:`~Backend.supports` (derived from
which methods are overridden), :meth:`~Backend.output_shape`, :meth:`~Backend.rebind_args`
(prepares again) and the entry-aware gathers used by finite differences.

How the pipeline calls a backend, per evaluation of a prepared Jacobian: one
``jvp_gather_entries`` (column coloring) or ``vjp_gather`` (row coloring) with the whole
``(ncolors, width)`` seed matrix -- the same array object every time -- or one call per
chunk with ``chunk_size``. When f(x) is not wanted (``J(x)``, not
``value_and_jacobian``) and :meth:`~Backend.skips_value` says so, the values-only
``jvp_gather_values`` / ``vjp_gather_values`` replace them. Hessians: one
``hvp_gather_entries`` (star coloring) or ``hvp`` (acyclic coloring).
:func:`sparsead.testing.check_backend` verifies all of this.

A backend whose values-only and ``hvp_gather_entries`` results (without ``out``) are
new writeable arrays that it never touches again may set ``fresh_gather_values =
True``: a new matrix then takes them as its ``data`` without a copy.
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

    #: True when the values returned by ``jvp_gather_values``, ``vjp_gather_values`` and
    #: ``hvp_gather_entries`` (called without ``out``) are new writeable arrays that the
    #: backend keeps no reference to, so a new matrix may adopt them without a copy.
    fresh_gather_values: bool = False

    #: True when ``jvp_gather_entries`` accepts, instead of a dense seed matrix ``V``, a
    #: :class:`sparsead._plan.SeedColumns` (``.columns[c]``: the inputs of color ``c``,
    #: ``.shape``, ``.dtype``), so that no dense ``(k, n)`` matrix is ever built.
    takes_seed_columns: bool = False

    #: Array library that ``f`` is written in: ``"numpy"``, ``"jax"`` or ``"torch"``.
    #: ``None`` means "derive it from :attr:`name`" (``"jax"``/``"torch"``, else numpy).
    #: The pipeline uses it to pick a sparsity detector and the conformance suite to
    #: build scenario functions.
    array_library: str | None = None

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

    # Optional fused "product then gather" entry points. The pipeline calls these with
    # the same seed matrix on every evaluation and a precomputed ``flat_index`` into the
    # C-ordered product, so a backend that compiles (JAX) can fuse the decompression
    # gather into the compiled product. The defaults below do the gather in numpy.

    def jvp_gather(self, ctx: Any, x: np.ndarray, V: np.ndarray,
                   flat_index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(f(x) flattened, JV.ravel()[flat_index])`` where ``JV = jvp(ctx, x, V)[1]``."""
        y, JV = self.jvp(ctx, x, V)
        return y, np.ascontiguousarray(JV).ravel()[flat_index]

    def vjp_gather(self, ctx: Any, x: np.ndarray, W: np.ndarray,
                   flat_index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(f(x) flattened, WJ.ravel()[flat_index])`` where ``WJ = vjp(ctx, x, W)[1]``."""
        y, WJ = self.vjp(ctx, x, W)
        return y, np.ascontiguousarray(WJ).ravel()[flat_index]

    def hvp_gather(self, ctx: Any, x: np.ndarray, V: np.ndarray,
                   flat_index: np.ndarray) -> np.ndarray:
        """Return ``HV.ravel()[flat_index]`` where ``HV = hvp(ctx, x, V)``."""
        return np.ascontiguousarray(self.hvp(ctx, x, V)).ravel()[flat_index]


    # ------------------------------------------------------------------------------
    # Optional extensions (added by the sparsead pipeline; all have safe defaults, so a
    # backend that implements only the methods above keeps working).

    def supports(self, kind: str) -> bool:
        """Whether this backend implements the product ``kind``.

        ``kind`` is one of ``"jvp"``, ``"vjp"``, ``"hvp"``, ``"gradient"``. The default
        answers True when the subclass overrides the corresponding method. The pipeline
        uses it to choose between column (JVP) and row (VJP) coloring.
        """
        method = getattr(type(self), kind, None)
        return method is not None and method is not getattr(Backend, kind)

    def output_shape(self, ctx: Any) -> tuple[int, ...] | None:
        """Shape of ``f(x, *args)`` at preparation, or None when unknown.

        Used only to reshape the value returned by ``value_and_jacobian``; the
        products themselves are always flat.
        """
        return None

    def rebind_args(self, ctx: Any, f: Callable[..., Any], x: np.ndarray, args: tuple,
                    kinds: frozenset[str]) -> Any:
        """Return a context whose products use new constant ``args``.

        Called when the same prepared object is evaluated with other constants (the
        time ``t`` of an ODE right-hand side, the ``args`` that ``least_squares`` passes).
        The default prepares again; a compiling backend can override it to reuse its
        compiled functions, taking ``args`` as dynamic arguments.
        """
        return self.prepare(f, x, args, kinds=kinds)

    # Entry-aware variants of the fused gathers. ``entry_input[e]`` is the input index
    # ``j`` whose seed produced the gathered value ``e`` (the column of J for a column
    # coloring, the column of H for a symmetric one); seeds are 0/1 matrices. Exact AD
    # backends ignore it; finite differences use it to divide by the per-variable step
    # (scipy's ``approx_derivative`` step rule), which a plain ``jvp`` cannot do.

    def jvp_gather_entries(self, ctx: Any, x: np.ndarray, V: np.ndarray,
                           flat_index: np.ndarray, entry_input: np.ndarray,
                           out: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Like :meth:`jvp_gather`; ``entry_input`` gives the input index per value.

        With ``out`` (a 1-D array of ``flat_index.size``) the values are written there and
        ``out`` is returned, so ``J(x, out=M)`` needs no allocation beyond the products.
        """
        y, vals = self.jvp_gather(ctx, x, V, flat_index)
        if out is None:
            return y, vals
        out[...] = vals
        return y, out

    # Values-only variants, used when the caller does not need f(x) (``J(x)``, as
    # opposed to ``value_and_jacobian``). A compiling backend can then leave the primal
    # output out of its executable; the defaults just drop it.

    def compiled_values(self, ctx: Any, kind: str, V: np.ndarray, flat_index: np.ndarray
                        ) -> Callable[[np.ndarray], tuple[np.ndarray, Callable[[], Any]]] | None:
        """Optional fast path: a callable ``x -> (values, wait)`` for one fused product.

        ``kind`` is ``"jvp"``, ``"vjp"`` or ``"hvp"``; the callable returns the
        gathered values of :meth:`jvp_gather_values` / :meth:`vjp_gather_values` /
        :meth:`hvp_gather_entries` at ``x`` as a new writeable array (see
        ``fresh_gather_values``), whose contents are valid once ``wait()`` has
        returned: an asynchronous backend can hand out the array before it is filled.
        ``x`` has the prepared shape and dtype (checked by the
        caller) and is a numpy array, or an array of the backend's own library. The
        pipeline calls it for plain ``M = P(x)`` after the first evaluation. The
        default, None, means: no fast path.
        """
        return None

    #: Array types, besides numpy's, that :meth:`compiled_values` callables take as x.
    native_array_types: tuple[type, ...] = ()

    def skips_value(self) -> bool:
        """Whether the ``*_gather_values`` methods are cheaper than the entry points that
        also return ``f(x)``. The pipeline then uses them for ``J(x)``; otherwise it keeps
        the value, which also lets it check that f's output size has not changed."""
        return type(self).jvp_gather_values is not Backend.jvp_gather_values

    def jvp_gather_values(self, ctx: Any, x: np.ndarray, V: np.ndarray,
                          flat_index: np.ndarray, entry_input: np.ndarray,
                          out: np.ndarray | None = None) -> np.ndarray:
        """The values of :meth:`jvp_gather_entries` without ``f(x)``."""
        return self.jvp_gather_entries(ctx, x, V, flat_index, entry_input, out=out)[1]

    def vjp_gather_values(self, ctx: Any, x: np.ndarray, W: np.ndarray,
                          flat_index: np.ndarray) -> np.ndarray:
        """The values of :meth:`vjp_gather` without ``f(x)``."""
        return self.vjp_gather(ctx, x, W, flat_index)[1]

    def hvp_gather_entries(self, ctx: Any, x: np.ndarray, V: np.ndarray,
                           flat_index: np.ndarray, entry_input: np.ndarray,
                           out: np.ndarray | None = None) -> np.ndarray:
        """Like :meth:`hvp_gather`; ``entry_input`` gives the input index per value,
        ``out`` as in :meth:`jvp_gather_entries`."""
        vals = self.hvp_gather(ctx, x, V, flat_index)
        if out is None:
            return vals
        out[...] = vals
        return out
