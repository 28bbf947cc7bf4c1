"""JAX backend: batched JVPs, VJPs and HVPs compiled with ``jax.jit`` over ``jax.vmap``.

``f`` is written with ``jax.numpy`` and receives a JAX array of the prepared shape.

Design (each choice was compared with its alternatives by ``benchmarks/backends.py`` on
the 2D Brusselator; the figures are there, not here):

- **Batch-first layout.** Seeds ``V`` are ``(k, n)`` and ``jax.vmap`` maps over axis 0
  with ``out_axes=0``, so the compressed product is ``(k, m)`` in C order. ``(n, k)``
  seeds (``in_axes=1, out_axes=1``), mixed layouts and an unrolled loop of ``jax.jvp``
  were slower; ``jax.linearize`` + ``vmap`` was no faster.
- **Seeds as compile-time constants in the fused path.** :meth:`JaxBackend.products`
  is called by the pipeline with the *same* :class:`~sparsead.backends.ProductRequest`
  (seed matrix and gather index) on every evaluation. Embedding
  both as constants lets XLA constant-fold every part of the tangent computation that
  does not depend on ``x`` (for the Brusselator, the whole Laplacian of the tangent),
  which a runtime seed does not allow. The decompression gather runs in the same
  executable. One executable is compiled per request (so per chunk when the
  pipeline splits the seeds), found first by the request's identity (the backend keeps
  a reference, so ids are never recycled) and, on an identity miss, by content. **Do
  not modify a request's seeds or gather index in place after passing it**: a cache hit
  by identity does not re-read the values. Seeds larger than ``max_constant_bytes`` are
  runtime device arrays instead, transferred once when the executable is built.
- Optionally (``transpose_gather_bytes``), large products are transposed in the
  executable before the gather, so that the values of one CSR row are read from
  adjacent memory. It helps some sizes and hurts others, so it is off by default.
- Requests without a gather index go to the plain :meth:`~JaxBackend.jvp`,
  :meth:`~JaxBackend.vjp` and :meth:`~JaxBackend.hvp`, which take ``V`` as a runtime
  argument (arbitrary matrices, e.g. ``hvp_operator.matmat``):
  one compilation per distinct number of rows ``k``.
- HVPs are forward-over-reverse: ``jax.jvp`` of ``jax.grad`` under ``vmap``.
- Extra ``args`` that are arrays or float scalars are runtime arguments of the compiled
  functions: large data is never embedded, and :meth:`~JaxBackend.rebind_args` swaps in
  new values (an ODE time ``t``, ``least_squares`` args) without recompiling. Integers,
  strings and other objects are static constants (so ``f(x, N)`` may use ``N`` in a
  shape); a float that ``f`` branches on in Python is made static automatically.
- **64-bit floats.** JAX silently computes in float32 when ``jax_enable_x64`` is off. A
  float64 ``x`` with x64 disabled therefore raises :class:`~sparsead._errors.SparseADError`
  at :meth:`~JaxBackend.prepare` naming the fix, instead of returning float32 results.
- **Values only, zero copy.** ``J(x)`` does not need ``f(x)``, so the pipeline's
  request says ``want_value=False``, and its executable returns the gathered values
  alone: XLA then drops the primal outputs. The gather index is a runtime argument,
  transferred once (XLA gathers more slowly from a constant index). The result is the
  executable's output buffer handed to numpy as a writeable array (``_HostBuffer``),
  which becomes the new matrix's ``data`` without a copy. What ``J(x)`` costs beyond the
  bare ``vmap(jvp)`` is then the gather, and copying a numpy ``x`` that is not 64-byte
  aligned (an aligned one is used in place). A flat gather is used because gathering
  along the color axis (``take_along_axis``) or by ``where`` selects is slower.
- **Fast path** (:meth:`~JaxBackend.compile`, used by ``M = J(x)`` from the
  second call on). The executables take ``x`` in its prepared shape, so a JAX array
  goes in as it is. A misaligned numpy ``x`` of 64 KB or more is first copied into an
  aligned per-thread buffer (cheaper than jit's own copy through its slower transfer
  path). The new matrix is built over the output buffer while XLA computes, and only
  then does the call wait: Python work done after the wait competes with XLA's
  spinning worker threads and runs much slower.
- Every result is a ``numpy.ndarray``. Values, products, gathered values and gradients
  are writeable arrays that nothing else references (gathered values: the
  executable's output buffer, without a copy). ``out=`` of :meth:`~JaxBackend.products`
  is not written: the caller copies the returned buffer where it must.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import Any, Callable

import numpy as np

from .._errors import (
    BackendUnavailableError,
    SparseADError,
    UnsupportedProductError,
    install_instructions,
)
from .base import Backend, ProductRequest

try:
    import jax
    import jax.numpy as jnp
except ImportError as exc:  # JAX is an optional extra
    raise BackendUnavailableError(
        "the 'jax' backend needs JAX, which is not installed: "
        + install_instructions("jax", "jax")) from exc

__all__ = ["JaxBackend", "check_dtype", "same_static"]

#: Seeds up to this many bytes are embedded as constants of the fused executables.
DEFAULT_MAX_CONSTANT_BYTES = 32 * 2**20
#: Products larger than this are gathered from their transpose (see JaxBackend); off.
DEFAULT_TRANSPOSE_GATHER_BYTES: int | None = None
#: Fused executables kept per prepared function (least recently used are dropped).
_MAX_FUSED_CACHE = 32


def _is_runtime_arg(a: Any, scalars_static: bool) -> bool:
    """Whether an extra argument is passed to the executables at run time.

    Arrays always are (large data is never embedded, and new values need no
    recompilation); float and complex scalars are too (an ODE time ``t``), unless
    ``f`` uses them in Python control flow, in which case :meth:`JaxBackend.prepare`
    retries with ``scalars_static``. Integers, booleans, strings and other objects are
    static: ``f(x, N)`` may use ``N`` in a shape.
    """
    if isinstance(a, (np.ndarray, jax.Array)) and not isinstance(a, np.generic):
        return True
    if scalars_static:
        return False
    return isinstance(a, (float, complex, np.floating, np.complexfloating))


def _arg_signature(a: Any) -> Any:
    """What a runtime argument's executable depends on: type, shape and dtype."""
    if isinstance(a, (float, complex)):
        return type(a)
    return (np.shape(a), np.dtype(a.dtype))


def same_static(a: Any, b: Any) -> bool:
    """Whether two static (compile-time) extra arguments are interchangeable."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, (int, bool, str, bytes, np.generic, type(None))):
        return bool(a == b)
    return False


def check_dtype(dtype: np.dtype, what: str) -> None:
    """Raise a clear error unless JAX computes in ``dtype`` (floating; x64 mode for 64 bits)."""
    if not (np.issubdtype(dtype, np.floating) or np.issubdtype(dtype, np.complexfloating)):
        raise SparseADError(
            f"the jax backend differentiates floating-point {what} only, got dtype {dtype}; "
            f"convert it, e.g. x.astype(np.float64)")
    if np.finfo(dtype).bits > 32 and not jax.config.jax_enable_x64:
        raise SparseADError(
            f"{what} has dtype {dtype} but JAX's 64-bit mode is off, so JAX would silently "
            f"compute in 32 bits. Enable it before preparing with "
            f"jax.config.update('jax_enable_x64', True), or pass a float32 {what}")


@dataclass
class _FusedEntry:
    """A compiled fused product for one seed matrix and gather index."""

    fn: Callable[..., Any]
    request: ProductRequest   # the caller's object: keeps its id from being recycled
    seed_copy: np.ndarray     # private copies for the content check on identity misses
    index_copy: np.ndarray
    kind: str


@dataclass
class JaxContext:
    """Prepared state of one function: shapes, dtypes and the compiled products."""

    f_flat: Callable[..., Any]        # (x_flat, dyn_args) -> y_flat
    dyn_args: tuple                   # runtime arguments (arrays on the device, scalars)
    f: Callable[..., Any]             # the user's function and args, for rebind_args
    args: tuple
    runtime: tuple[int, ...]          # positions in args of the runtime arguments
    signature: tuple                  # _arg_signature of each runtime argument
    y_shape: tuple[int, ...]
    x_shape: tuple[int, ...]
    x_dtype: np.dtype
    n: int
    m: int
    y_dtype: np.dtype
    compiled: dict[Any, Callable[..., Any]] = field(default_factory=dict)
    fused: OrderedDict = field(default_factory=OrderedDict)


class JaxBackend(Backend):
    """Batched derivative products of a ``jax.numpy`` function via ``jit(vmap(jvp))``.

    Parameters
    ----------
    max_constant_bytes : int, optional
        Seed matrices up to this size are compiled into the fused executables as
        constants (fastest evaluation); larger ones are runtime device arrays.
    transpose_gather_bytes : int or None, optional
        Products larger than this (None, the default: never) are transposed to
        ``(width, k)`` inside the executable before the gather, so that the values of one
        matrix row are read from adjacent memory instead of ``k`` places
        ``width * itemsize`` bytes apart.
    compiler_options : dict, optional
        Extra XLA compiler options for every executable (``jax.jit(...).lower().compile``).

    Notes
    -----
    See the module docstring for the layout, caching and x64 rules.
    """

    name = "jax"
    def __init__(self, *, max_constant_bytes: int = DEFAULT_MAX_CONSTANT_BYTES,
                 transpose_gather_bytes: int | None = DEFAULT_TRANSPOSE_GATHER_BYTES,
                 compiler_options: dict | None = None) -> None:
        self.max_constant_bytes = int(max_constant_bytes)
        self.transpose_gather_bytes = (None if transpose_gather_bytes is None
                                       else int(transpose_gather_bytes))
        self.compiler_options = dict(compiler_options or {})

    def __repr__(self) -> str:
        return f"JaxBackend(max_constant_bytes={self.max_constant_bytes})"

    # ------------------------------------------------------------------ preparation
    def prepare(self, f: Callable[..., Any], x: np.ndarray, args: tuple = (),
                *, kinds: frozenset[str] = frozenset({"jvp"})) -> JaxContext:
        """Check ``x`` and trace ``f`` once for its output shape; compile lazily.

        Compilation happens on the first product of each kind (and seed size), so only
        the executables the pipeline actually uses are built.

        Raises
        ------
        SparseADError
            ``x`` is not floating point, or is float64 while JAX's x64 mode is off.
        TypeError
            ``f`` cannot be traced by JAX (not written with ``jax.numpy``).
        """
        x_dtype = np.dtype(getattr(x, "dtype", np.asarray(x).dtype))
        check_dtype(x_dtype, "x")
        x_shape = tuple(np.shape(x))
        args = tuple(args)
        for i, a in enumerate(args):
            if isinstance(a, (np.ndarray, jax.Array)) and np.dtype(a.dtype).kind in "fc":
                check_dtype(np.dtype(a.dtype), f"args[{i}]")
        try:
            return self._trace(f, x_shape, x_dtype, args, scalars_static=False)
        except jax.errors.ConcretizationTypeError:
            if not any(_is_runtime_arg(a, False) and not _is_runtime_arg(a, True)
                       for a in args):
                raise
        # f branches on a float argument in Python: make scalars static (each new
        # value then costs a new preparation, see rebind_args).
        return self._trace(f, x_shape, x_dtype, args, scalars_static=True)

    def _trace(self, f, x_shape, x_dtype, args, *, scalars_static: bool) -> JaxContext:
        n = int(np.prod(x_shape, dtype=np.int64))
        runtime = tuple(i for i, a in enumerate(args) if _is_runtime_arg(a, scalars_static))
        dyn_args = tuple(args[i] if isinstance(args[i], (float, complex))
                         else jnp.asarray(args[i]) for i in runtime)

        def f_flat(xf, dyn):
            full = list(args)
            for i, a in zip(runtime, dyn):
                full[i] = a
            return jnp.asarray(f(xf.reshape(x_shape), *full))

        try:
            y_struct = jax.eval_shape(f_flat, jax.ShapeDtypeStruct((n,), x_dtype), dyn_args)
        except jax.errors.ConcretizationTypeError:
            raise
        except jax.errors.JAXTypeError as exc:
            raise TypeError(
                f"the jax backend could not trace f: {exc}. f must be written with "
                f"jax.numpy (a numpy function converts JAX tracers to numpy arrays); use "
                f"backend='fd' for numpy functions") from exc
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"the jax backend could not trace f(x, *args) with x of shape {x_shape} and "
                f"dtype {x_dtype}: {str(exc).rstrip('.')}. f must be written with "
                f"jax.numpy") from exc
        y_shape = tuple(y_struct.shape)

        def f_flat_ravel(xf, dyn):
            return jnp.ravel(f_flat(xf, dyn))

        return JaxContext(f_flat=f_flat_ravel, dyn_args=dyn_args, f=f, args=args,
                          runtime=runtime,
                          signature=tuple(_arg_signature(args[i]) for i in runtime),
                          y_shape=y_shape, x_shape=x_shape, x_dtype=x_dtype, n=n,
                          m=int(np.prod(y_shape, dtype=np.int64)),
                          y_dtype=np.dtype(y_struct.dtype))

    def output_shape(self, ctx: JaxContext) -> tuple[int, ...]:
        """Shape of ``f(x, *args)`` at preparation."""
        return ctx.y_shape

    def rebind_args(self, ctx: JaxContext, f: Callable[..., Any], x: np.ndarray, args: tuple,
                    kinds: frozenset[str]) -> JaxContext:
        """A context for new constant ``args`` that reuses every compiled executable.

        Runtime arguments (arrays, float scalars) may change value, not shape or dtype;
        static ones (ints, strings, objects) must be equal. Otherwise prepare again.
        """
        args = tuple(args)
        compatible = f is ctx.f and len(args) == len(ctx.args)
        if compatible:
            rt = set(ctx.runtime)
            for i, (new, old) in enumerate(zip(args, ctx.args)):
                if i in rt:
                    ok = (_is_runtime_arg(new, False)
                          and _arg_signature(new) == ctx.signature[ctx.runtime.index(i)])
                else:
                    ok = same_static(new, old)
                if not ok:
                    compatible = False
                    break
        if not compatible:
            return self.prepare(f, x, args, kinds=kinds)
        dyn = tuple(args[i] if isinstance(args[i], (float, complex)) else jnp.asarray(args[i])
                    for i in ctx.runtime)
        return replace(ctx, dyn_args=dyn)  # shallow: the executable caches are shared

    # ------------------------------------------------------------------ helpers
    def _x_full(self, ctx: JaxContext, x: Any):
        """``x`` checked, in its own shape: the fused executables take it unflattened, so
        a JAX array goes in as it is (no reshape dispatch, no host round trip)."""
        shape = tuple(np.shape(x))
        dtype = np.dtype(getattr(x, "dtype", np.asarray(x).dtype))
        if shape != ctx.x_shape or dtype != ctx.x_dtype:
            raise SparseADError(
                f"x has shape {shape} and dtype {dtype}, but the function was prepared for "
                f"shape {ctx.x_shape} and dtype {ctx.x_dtype}; prepare again for the new x")
        if isinstance(x, (np.ndarray, jax.Array)):
            return x
        return np.asarray(x, dtype=dtype)

    def _x(self, ctx: JaxContext, x: Any):
        """``x`` checked and flattened, for the plain products' executables."""
        x = self._x_full(ctx, x)
        if isinstance(x, np.ndarray):
            return x.reshape(-1)  # a view; jit transfers it with the call
        return jnp.ravel(x)

    def _check_seed(self, ctx: JaxContext, V: np.ndarray, width: int, what: str) -> None:
        if np.ndim(V) != 2 or np.shape(V)[1] != width:
            raise SparseADError(
                f"{what} must have shape (k, {width}) (batch-first), got {np.shape(V)}")

    def _compile(self, fn: Callable[..., Any], *example: Any) -> Callable[..., Any]:
        jitted = jax.jit(fn)
        if not self.compiler_options:
            return jitted
        return jitted.lower(*example).compile(compiler_options=self.compiler_options)

    @staticmethod
    def _device_seed(V: Any, dtype: np.dtype):
        """The seed as a device array of x's dtype.

        Not cached: the plain products take arbitrary, possibly reused and mutated,
        matrices (``hvp_operator(...).matmat``). The pipeline's repeated seeds go through
        the fused entry points, which compile them in once.
        """
        return jnp.asarray(V, dtype=dtype)

    # The traced bodies. ``V`` has shape (k, n) for JVP/HVP and (k, m) for VJP.
    @staticmethod
    def _jvp_body(ctx: JaxContext):
        f_flat = ctx.f_flat

        def body(xf, dyn, V):
            def one(v):
                return jax.jvp(lambda z: f_flat(z, dyn), (xf,), (v,))
            return jax.vmap(one, in_axes=0, out_axes=(None, 0))(V)
        return body

    @staticmethod
    def _vjp_body(ctx: JaxContext):
        f_flat = ctx.f_flat

        def body(xf, dyn, W):
            y, pullback = jax.vjp(lambda z: f_flat(z, dyn), xf)
            return y, jax.vmap(lambda w: pullback(w)[0])(W)
        return body

    @staticmethod
    def _scalar(ctx: JaxContext, what: str):
        if ctx.m != 1:
            raise UnsupportedProductError(
                f"{what} needs a scalar function, but f returns {ctx.m} values; use jvp/vjp "
                f"for a Jacobian")
        f_flat = ctx.f_flat
        return lambda z, dyn: f_flat(z, dyn)[0]

    def _hvp_body(self, ctx: JaxContext):
        fs = self._scalar(ctx, "hvp")

        def body(xf, dyn, V):
            grad = jax.grad(lambda z: fs(z, dyn))
            return jax.vmap(lambda v: jax.jvp(grad, (xf,), (v,))[1])(V)
        return body

    def traced_products(self, ctx: JaxContext, kind: str) -> Callable[..., Any]:
        """The traceable batched product of ``kind``, for use inside other JAX code.

        Returns ``body(x_flat, dyn_args, seeds)``: for ``"jvp"`` and ``"vjp"``
        ``(f(x) flattened, product (k, width))``, for ``"hvp"`` the product alone.
        ``dyn_args`` are the runtime arguments (``ctx.dyn_args``, or new values of the
        same structure); ``seeds`` is batch-first ``(k, n)`` (``(k, m)`` for a VJP).
        Nothing is compiled: :mod:`sparsead.jax` calls it under the user's ``jax.jit``.
        """
        if kind == "jvp":
            return self._jvp_body(ctx)
        if kind == "vjp":
            return self._vjp_body(ctx)
        if kind == "hvp":
            return self._hvp_body(ctx)
        raise ValueError(f"unknown product kind {kind!r}; use 'jvp', 'vjp' or 'hvp'")

    # ------------------------------------------------------------------ products
    def value(self, ctx: JaxContext, x: np.ndarray) -> np.ndarray:
        """Return ``f(x, *args)`` flattened, shape ``(m,)``."""
        fn = ctx.compiled.get("value")
        xf = self._x(ctx, x)
        if fn is None:
            fn = ctx.compiled["value"] = self._compile(ctx.f_flat, xf, ctx.dyn_args)
        return np.array(fn(xf, ctx.dyn_args))

    def gradient(self, ctx: JaxContext, x: np.ndarray) -> tuple[float, np.ndarray]:
        """Return ``(f(x), grad f(x) flattened)`` for a scalar ``f`` (reverse mode)."""
        fn = ctx.compiled.get("gradient")
        xf = self._x(ctx, x)
        if fn is None:
            fn = ctx.compiled["gradient"] = self._compile(
                jax.value_and_grad(self._scalar(ctx, "gradient")), xf, ctx.dyn_args)
        val, g = fn(xf, ctx.dyn_args)
        return val.item(), np.array(g)

    def _batched(self, kind: str, ctx: JaxContext, x: Any, V: Any, width: int):
        self._check_seed(ctx, V, width, "W" if kind == "vjp" else "V")
        xf = self._x(ctx, x)
        Vd = self._device_seed(V, ctx.x_dtype)
        key = (kind, Vd.shape[0])  # jit would retrace per k anyway; keep one entry per k
        fn = ctx.compiled.get(key)
        if fn is None:
            body = self.traced_products(ctx, kind)
            fn = ctx.compiled[key] = self._compile(body, xf, ctx.dyn_args, Vd)
        return fn(xf, ctx.dyn_args, Vd)

    def jvp(self, ctx: JaxContext, x: np.ndarray, V: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(f(x) flattened (m,), J @ V[c] for each row c (k, m))``."""
        y, JV = self._batched("jvp", ctx, x, V, ctx.n)
        return np.array(y), np.array(JV)

    def vjp(self, ctx: JaxContext, x: np.ndarray, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(f(x) flattened (m,), W[c] @ J for each row c (k, n))``."""
        y, WJ = self._batched("vjp", ctx, x, W, ctx.m)
        return np.array(y), np.array(WJ)

    def hvp(self, ctx: JaxContext, x: np.ndarray, V: np.ndarray) -> np.ndarray:
        """Return ``H @ V[c]`` for each row c, shape ``(k, n)``, for a scalar ``f``."""
        return np.array(self._batched("hvp", ctx, x, V, ctx.n))

    # ------------------------------------------------------------------ fused products
    def _fused(self, ctx: JaxContext, request: ProductRequest):
        """Find or build the executable ``x -> [f(x),] product.ravel()[flat_index]``."""
        ident = id(request)
        entry = ctx.fused.get(ident)
        if entry is not None and entry.request is request:
            ctx.fused.move_to_end(ident)
            return entry.fn
        kind = request.kind
        with_value = request.want_value and kind != "hvp"
        width = ctx.m if kind == "vjp" else ctx.n
        Vn = request.seed_matrix
        self._check_seed(ctx, Vn, width, "W" if kind == "vjp" else "V")
        index = np.asarray(request.flat_index)
        if index.ndim != 1 or not np.issubdtype(index.dtype, np.integer):
            raise SparseADError(f"flat_index must be a 1-D integer array, got shape "
                                f"{index.shape} and dtype {index.dtype}")
        size = Vn.shape[0] * (ctx.m if kind == "jvp" else ctx.n)
        if index.size and (index.min() < 0 or index.max() >= size):
            width_out = ctx.m if kind == "jvp" else ctx.n
            raise SparseADError(f"flat_index has entries outside [0, {size}) for a {kind} "
                                f"product of shape ({Vn.shape[0]}, {width_out})")
        variant = (kind, with_value)
        # Identity miss: the same content may already be compiled (e.g. a re-created view).
        for other in ctx.fused.values():
            if (other.seed_copy.shape == Vn.shape
                    and other.index_copy.shape == index.shape
                    and other.seed_copy.dtype == Vn.dtype
                    and other.kind == variant
                    and np.array_equal(other.index_copy, index)
                    and np.array_equal(other.seed_copy, Vn)):
                fn, seed_copy, index_copy = other.fn, other.seed_copy, other.index_copy
                break
        else:
            fn = self._build_fused(kind, ctx, Vn, index, with_value)
            seed_copy, index_copy = Vn.copy(), index.copy()
        ctx.fused[ident] = _FusedEntry(fn=fn, request=request, seed_copy=seed_copy,
                                       index_copy=index_copy, kind=variant)
        while len(ctx.fused) > _MAX_FUSED_CACHE:
            ctx.fused.popitem(last=False)
        return fn

    def _build_fused(self, kind: str, ctx: JaxContext, Vn: np.ndarray, index: np.ndarray,
                     with_value: bool):
        body = self.traced_products(ctx, kind)
        dtype = ctx.x_dtype
        k = Vn.shape[0]
        width = ctx.m if kind == "jvp" else ctx.n
        transpose = (self.transpose_gather_bytes is not None and k > 1
                     and k * width * dtype.itemsize > self.transpose_gather_bytes)
        if transpose:
            # Entry c * width + i of the (k, width) product is entry i * k + c of its
            # transpose: the k colors of one row become neighbours in memory.
            index = (index % width) * k + index // width
        idx = jnp.asarray(index.astype(np.int32 if index.size == 0 or
                                       max(int(index.max()), 0) < 2**31 - 1 else np.int64))
        # x in its prepared shape (flattened inside, for free), see _x_full
        x0 = jax.ShapeDtypeStruct(ctx.x_shape, ctx.x_dtype)

        # The gather index is a runtime argument, transferred once here: as a
        # compile-time constant the same gather is slower.
        def gather(P, i):
            flat = P.T.ravel() if transpose else P.ravel()
            return flat.at[i].get(mode="promise_in_bounds")

        def product(x, dyn, Vs, i):
            xf = jnp.reshape(x, (-1,))
            if kind == "hvp":
                return gather(body(xf, dyn, Vs), i)
            y, P = body(xf, dyn, Vs)
            # Without the value, XLA drops the primal outputs it does not need.
            return (y, gather(P, i)) if with_value else gather(P, i)

        if Vn.size * dtype.itemsize <= self.max_constant_bytes:
            # Seed as a compile-time constant: XLA folds the x-independent tangent work.
            Vc = np.ascontiguousarray(Vn, dtype=dtype)
            compiled = self._compile(lambda x, dyn, i: product(x, dyn, Vc, i),
                                     x0, ctx.dyn_args, idx)
            return lambda x, dyn: compiled(x, dyn, idx)
        # Large seed: runtime device array, transferred once and bound here.
        Vd = jnp.asarray(Vn, dtype=dtype)
        compiled = self._compile(product, x0, ctx.dyn_args, Vd, idx)
        return lambda x, dyn: compiled(x, dyn, Vd, idx)

    def products(self, ctx: JaxContext, x: Any, request: ProductRequest,
                 out: np.ndarray | None = None) -> tuple[np.ndarray | None, np.ndarray]:
        """One request; a gathered one runs as a single executable.

        With a ``flat_index``, the seeds are compiled in as constants and the index
        transferred to the device the first time the request is seen (see the module
        docstring); later calls with the same request only run the executable, which
        leaves out ``f(x)`` when ``want_value`` is False. The gathered values are the
        executable's output buffer (writeable, no copy); ``out`` is not written. Without
        a ``flat_index``: the plain :meth:`jvp`, :meth:`vjp` or :meth:`hvp`.
        """
        if request.kind == "hvp":
            self._scalar(ctx, "hvp")
        if request.flat_index is None:
            return super().products(ctx, x, request, out)
        fn = self._fused(ctx, request)
        xf = self._x_full(ctx, x)
        if request.want_value and request.kind != "hvp":
            y, vals = fn(xf, ctx.dyn_args)
            return np.array(y), _deliver(vals, None)
        vals = _deliver(fn(xf, ctx.dyn_args), None)
        return (self.value(ctx, x) if request.want_value else None), vals

    def compile(self, ctx: JaxContext, request: ProductRequest):
        """``run(x) -> (values, wait)`` bound to the values-only executable of a gathered
        request (see :meth:`Backend.compile`); ``run`` takes a numpy or JAX array of
        the prepared shape and dtype (checked by the caller) and returns None for any
        other type."""
        if request.flat_index is None or request.want_value:
            return None
        if request.kind == "hvp":
            self._scalar(ctx, "hvp")
        fn = self._fused(ctx, request)
        dyn = ctx.dyn_args
        staging = threading.local()  # one aligned buffer per calling thread
        nbytes = ctx.n * ctx.x_dtype.itemsize

        def run(x):
            if type(x) is np.ndarray:
                if (nbytes >= _STAGE_MIN_BYTES
                        and x.__array_interface__["data"][0] % _ZERO_COPY_ALIGNMENT):
                    # jit copies a misaligned numpy x on every call through its slower
                    # transfer path; an aligned one it reads in place, so we copy into
                    # our aligned buffer first. The buffer is reused only after wait(),
                    # and never shared between threads.
                    buf = getattr(staging, "buf", None)
                    if buf is None:
                        buf = staging.buf = _aligned_empty(ctx.x_shape, ctx.x_dtype)
                    np.copyto(buf, x)
                    x = buf
            elif not isinstance(x, jax.Array):
                return None
            return _values_then_wait(fn(x, dyn))
        return run


class _HostBuffer:
    """Hands the memory of an executable's output to numpy as writeable.

    ``np.asarray`` of a JAX array is a read-only view, because JAX arrays are
    immutable. The fused outputs are fresh buffers per call (XLA copies constants and
    parameters that would reach an output), referenced by nothing but this holder, so
    letting the caller own and write them is safe, and saves a copy of every value.
    """

    __slots__ = ("__array_interface__", "_keep")

    def __init__(self, owner: Any, address: int, shape: tuple, typestr: str) -> None:
        self._keep = owner  # keeps the buffer alive as long as the numpy array lives
        self.__array_interface__ = {"version": 3, "shape": shape, "typestr": typestr,
                                    "data": (address, False)}


#: XLA's CPU client uses a host array in place when its data is aligned to this.
_ZERO_COPY_ALIGNMENT = 64
#: Below this size the fast path passes a misaligned x as it is (the copy costs little).
_STAGE_MIN_BYTES = 64 * 1024


def _aligned_empty(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """An uninitialized C-contiguous array whose data starts on a 64-byte boundary."""
    size = int(np.prod(shape, dtype=np.int64))
    raw = np.empty(size * dtype.itemsize + _ZERO_COPY_ALIGNMENT, dtype=np.uint8)
    start = -raw.__array_interface__["data"][0] % _ZERO_COPY_ALIGNMENT
    return raw[start:start + size * dtype.itemsize].view(dtype).reshape(shape)


def _no_wait() -> None:
    return None


def _values_then_wait(vals: Any) -> tuple[np.ndarray, Callable[[], Any]]:
    """``(values, wait)`` for an executable's output still being computed.

    On the CPU the output buffer exists as soon as the executable starts, so the numpy
    array over it (and the caller's new matrix) is built while XLA computes, and only
    ``wait()`` is left after the result is ready: Python work done after the wait
    competes with XLA's spinning worker threads and runs much slower than the same work
    done while XLA computes. Read ``values`` only after ``wait()``.
    """
    if vals.size and getattr(getattr(vals, "device", None), "platform", None) == "cpu":
        address = vals.unsafe_buffer_pointer()  # allocated: returns before the result
        data = np.asarray(_HostBuffer(vals, address, vals.shape, np.dtype(vals.dtype).str))
        return data, vals.block_until_ready
    return _deliver(vals, None), _no_wait  # another device: a host copy, after the wait


def _deliver(vals: Any, out: np.ndarray | None) -> np.ndarray:
    """The gathered values: copied into ``out``, or a new writeable array (no copy)."""
    host = np.asarray(vals)  # waits for the executable; on CPU a view of its buffer
    if out is not None:
        np.copyto(out, host)
        return out
    if host.flags.writeable or host.size == 0:
        return host if host.flags.writeable else host.copy()
    # Keep the numpy view, not the jax.Array: holding the array instead releases the
    # buffer later, which costs time on every call.
    iface = host.__array_interface__
    return np.asarray(_HostBuffer(host, iface["data"][0], host.shape, iface["typestr"]))
