"""The backend protocol: batched JVPs, VJPs and HVPs of one function.

A backend turns a user function into *batched* derivative products. The pipeline in
:mod:`sparsead` only ever asks a backend for products with a seed matrix whose rows are
tangent (or cotangent) vectors, so one call evaluates all colors at once. The whole
protocol is documented on :class:`Backend`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Callable

import numpy as np

from .._kernels import seed_columns

#: The product kinds of a :class:`ProductRequest`.
PRODUCT_KINDS = ("jvp", "vjp", "hvp")


@dataclass(frozen=True, eq=False)
class ProductRequest:
    """What one call of :meth:`Backend.products` computes.

    The pipeline builds one request per chunk of colors when it prepares and passes
    the *same object* on every evaluation, so a backend may cache work on it (by
    identity: ``eq=False``). **Do not modify its arrays after the first call.**

    Attributes
    ----------
    kind : {"jvp", "vjp", "hvp"}
        ``"jvp"``: row ``c`` of the product is ``J @ seeds[c]``, shape ``(k, m)``;
        ``"vjp"``: ``seeds[c] @ J``, shape ``(k, n)``; ``"hvp"``: ``H @ seeds[c]`` for a
        scalar ``f``, shape ``(k, n)``.
    seeds : numpy.ndarray or SeedColumns
        The batch-first seed matrix ``(k, width)`` (``width`` is ``n``, or ``m`` for a
        VJP), or, for the pipeline's 0/1 seeds, a :class:`sparsead._plan.SeedColumns`
        (``.columns[c]``: the inputs of color ``c``) from which no dense matrix was
        built. Read them through :attr:`seed_matrix` or :attr:`seed_columns`.
    flat_index : numpy.ndarray or None
        Which entries of the C-ordered product to return: the result is
        ``product.ravel()[flat_index]``, 1-D. None: the whole ``(k, width)`` product.
    entry_input : numpy.ndarray or None
        With ``flat_index``: the input index ``j`` whose seed produced each gathered
        value (the column of J for a column coloring, of H for a symmetric one). Exact AD
        ignores it; finite differences divide by the step of variable ``j`` (scipy's
        per-variable step rule), which a product with a plain seed matrix cannot do.
    want_value : bool
        Whether the caller needs ``f(x)`` as well. When False a backend may skip the
        primal computation and return None for it.
    """

    kind: str
    seeds: Any
    flat_index: np.ndarray | None = None
    entry_input: np.ndarray | None = None
    want_value: bool = True

    def __post_init__(self) -> None:
        if self.kind not in PRODUCT_KINDS:
            raise ValueError(f"unknown product kind {self.kind!r}; use one of {PRODUCT_KINDS}")

    @property
    def k(self) -> int:
        """Number of seeds (colors) in this request."""
        return int(self.seeds.shape[0])

    @cached_property
    def seed_matrix(self) -> np.ndarray:
        """The dense seeds ``(k, width)`` (built once from :class:`SeedColumns`)."""
        return self.seeds if isinstance(self.seeds, np.ndarray) else np.asarray(self.seeds)

    @cached_property
    def seed_columns(self) -> list[np.ndarray]:
        """For 0/1 seeds: the inputs each seed row moves (``seed_columns[c]``, sorted)."""
        if isinstance(self.seeds, np.ndarray):
            return seed_columns(self.seeds)
        return self.seeds.columns


class Backend:
    """Base class of sparsead backends: one product call, :meth:`products`.

    A backend computes batched derivative products of ``f`` at ``x``. What it implements:

    ``prepare(f, x, args=(), *, kinds)`` (required)
        Called once per prepared object; returns an opaque context (compiled functions,
        buffers) passed back to every other call. ``kinds`` says which products will be
        asked for: any of ``"jvp"``, ``"vjp"``, ``"hvp"``, ``"gradient"``.
    ``value(ctx, x)`` (required)
        ``f(x, *args)`` flattened, shape ``(m,)``.
    ``products(ctx, x, request, out=None)`` (the one product method)
        ``(value, result)`` for a :class:`ProductRequest`: the product of ``kind`` with
        ``request.seeds``, gathered by ``request.flat_index`` when it is not None. The
        pipeline calls nothing else to differentiate: per evaluation of a prepared
        Jacobian, one call with all ``ncolors`` seeds (one per chunk with
        ``chunk_size``); for a Hessian, one ``"hvp"`` request.

        **Shortcut:** instead of :meth:`products`, implement any of the plain batched
        products ``jvp(ctx, x, V) -> (f(x), J V^T)`` with shapes ``(m,)``, ``(k, m)``;
        ``vjp(ctx, x, W) -> (f(x), W J)`` with shapes ``(m,)``, ``(k, n)``; ``hvp(ctx, x,
        V) -> V H``, shape ``(k, n)``. The default :meth:`products` calls them and gathers
        in numpy, and :meth:`supports` is derived from which of them are overridden.
    ``gradient(ctx, x)`` (optional)
        ``(f(x), grad f(x) flattened)`` for a scalar ``f``; needed by
        ``value_gradient_and_hessian`` and the adapters.
    ``compile(ctx, request)`` (optional)
        A callable ``run(x) -> (values, wait)`` that evaluates one request (gathered,
        ``want_value`` False) in a single compiled call, or None (the default). See
        :meth:`compile`.
    ``supports(kind)``, ``output_shape(ctx)``, ``rebind_args(ctx, f, x, args, kinds)``
        Optional, with defaults: which kinds are implemented (derived from the plain
        products), f's output shape, a context for new constant ``args``.

    Conventions, checked by :func:`sparsead.testing.check_backend`:

    - ``x`` is passed in the user's shape and dtype. ``n = x.size``.
    - ``f(x, *args)`` returns an array (any shape); ``m`` is its size. Outputs are
      flattened in C order.
    - Seeds and products are *batch-first* and C-contiguous: row ``c`` of a seed matrix
      is the tangent (cotangent) of color ``c``, row ``c`` of a product its result.
    - Every returned array is a ``numpy.ndarray``. An unsupported product raises
      ``NotImplementedError`` or :class:`sparsead.UnsupportedProductError` with a message
      that says what to use instead.

    Attributes
    ----------
    name : str
        Short name used in messages and benchmark tables.
    array_library : str or None
        What ``f`` is written in: ``"numpy"``, ``"jax"`` or ``"torch"``. None means
        "derive it from :attr:`name`" (``"jax"``/``"torch"``, else numpy). The pipeline
        uses it to pick a sparsity detector and the conformance suite to build scenario
        functions.
    """

    name: str = "abstract"
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
            An opaque context passed back to the other methods.
        """
        raise NotImplementedError

    def value(self, ctx: Any, x: np.ndarray) -> np.ndarray:
        """Return ``f(x, *args)`` flattened, shape ``(m,)``."""
        raise NotImplementedError

    def products(self, ctx: Any, x: np.ndarray, request: ProductRequest,
                 out: np.ndarray | None = None) -> tuple[np.ndarray | None, np.ndarray]:
        """Evaluate one :class:`ProductRequest` at ``x``: the one product method.

        Parameters
        ----------
        ctx : object
            The context from :meth:`prepare` (or :meth:`rebind_args`).
        x : numpy.ndarray
            The point, in the prepared shape and dtype.
        request : ProductRequest
            Kind, seeds, gather index and whether ``f(x)`` is wanted. The pipeline passes
            the same request object on every evaluation.
        out : numpy.ndarray, optional
            With a ``flat_index``: a 1-D array of ``flat_index.size`` where the gathered
            values may be written (then return ``out``). A backend whose values come out
            of its own computation in a new buffer may return that buffer instead; the
            caller copies it where it must.

        Returns
        -------
        value : numpy.ndarray or None
            ``f(x)`` flattened, shape ``(m,)``, when ``request.want_value``; otherwise
            None, or ``f(x)`` if the backend computed it anyway (the caller then checks
            that f's output size has not changed).
        result : numpy.ndarray
            ``product.ravel()[request.flat_index]`` (1-D), or the whole batch-first
            product ``(k, width)`` when ``flat_index`` is None. Gathered values are
            ``out`` or a new array that the backend never writes again: a new matrix may
            keep it as its data without a copy.

        Notes
        -----
        The default calls the plain :meth:`jvp`, :meth:`vjp` or :meth:`hvp` with the
        dense seeds and gathers in numpy.
        """
        kind = request.kind
        V = request.seed_matrix
        if kind == "jvp":
            y, P = self.jvp(ctx, x, V)
        elif kind == "vjp":
            y, P = self.vjp(ctx, x, V)
        else:
            P = self.hvp(ctx, x, V)
            y = self.value(ctx, x) if request.want_value else None
        if request.flat_index is None:
            return y, np.asarray(P)
        return y, np.ascontiguousarray(P).reshape(-1)[request.flat_index]

    def compile(self, ctx: Any, request: ProductRequest
                ) -> Callable[[Any], tuple[np.ndarray, Callable[[], Any]] | None] | None:
        """Optional fast path: one request fused into a single compiled call.

        Returns None (the default: no fast path) or a callable ``run(x)`` for a request
        with a ``flat_index`` and ``want_value`` False. ``run(x)`` returns ``(values,
        wait)``: the gathered values of :meth:`products` as a new writeable array that
        the backend never touches again, whose contents are valid once ``wait()`` has
        returned (an asynchronous backend can hand out the array before it is filled),
        or None when it does not take this ``x``; the caller then uses
        :meth:`products`. ``x`` has the prepared shape and dtype (checked by the
        caller); it is a numpy array or any other array type the backend may accept
        (the JAX backend takes JAX arrays as they are).

        The pipeline asks for it after the first evaluation of a prepared object whose
        values come from one gathered product, and uses it for plain ``M = P(x)``.
        """
        return None

    # ------------------------------------------------------------------------------
    # The plain batched products behind the default :meth:`products`.

    def jvp(self, ctx: Any, x: np.ndarray, V: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(f(x) flattened, J @ V.T transposed)`` with shapes ``(m,)`` and ``(k, m)``."""
        raise NotImplementedError(f"backend {self.name!r} has no JVPs")

    def vjp(self, ctx: Any, x: np.ndarray, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(f(x) flattened, W @ J)`` with shapes ``(m,)`` and ``(k, n)``."""
        raise NotImplementedError(f"backend {self.name!r} has no VJPs")

    def hvp(self, ctx: Any, x: np.ndarray, V: np.ndarray) -> np.ndarray:
        """Return ``V @ H`` (``H`` symmetric) with shape ``(k, n)`` for a scalar ``f``."""
        raise NotImplementedError(f"backend {self.name!r} has no HVPs")

    def gradient(self, ctx: Any, x: np.ndarray) -> tuple[float, np.ndarray]:
        """Return ``(f(x), grad f(x) flattened)`` for a scalar ``f``."""
        raise NotImplementedError(f"backend {self.name!r} has no gradient")

    # ------------------------------------------------------------------------------
    # Optional, with defaults.

    def supports(self, kind: str) -> bool:
        """Whether this backend implements the product ``kind``.

        ``kind`` is one of ``"jvp"``, ``"vjp"``, ``"hvp"``, ``"gradient"``. The default
        answers True when the subclass overrides the corresponding plain method; a
        backend that implements :meth:`products` directly overrides this too. The
        pipeline uses it to choose between column (JVP) and row (VJP) coloring.
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
