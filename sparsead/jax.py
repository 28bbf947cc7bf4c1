"""Sparse Jacobians and Hessians as pure JAX functions (jit, vmap, loops, several devices).

``import sparsead.jax`` (JAX is needed only here; ``import sparsead`` never loads it).

:func:`jacobian` detects the pattern once (the tracer's jaxpr front-end, or ``sparsity=``),
colors it (:mod:`coloring`) and returns a :class:`JaxSparseJacobian` ``jac``. ``jac(x,
*args)`` is a pure JAX function: it works under ``jax.jit``, ``jax.vmap`` (a batch of
points gives a batch of matrices sharing one structure), inside ``lax.while_loop``,
``lax.scan`` and ``lax.fori_loop``, and with traced ``args``. The structure, coloring and
seed matrix are fixed at preparation: a new ``x`` never re-colors, and a jitted caller
compiles once. All colors' products and the decompression gather are one traced
computation (the JAX backend's batch-first ``vmap`` of JVPs, VJPs or forward-over-reverse
HVPs, with the 0/1 seeds as compile-time constants so that XLA folds the parts of the
tangent computation that do not depend on ``x``), so a jitted ``jac`` is one fused
executable. :func:`hessian` does the same for scalar functions (star coloring, direct
decompression; acyclic coloring with substitution), :func:`value_and_jacobian` also
returns ``f(x)``, and :func:`hvp` returns a jittable ``hvp(x, v)``.

Pytrees
-------
``x`` and ``f``'s output may be pytrees of arrays (dicts, tuples, ...). Rows and columns
are numbered in :func:`jax.flatten_util.ravel_pytree` order: the leaves in
``jax.tree_util`` order, each flattened in C order, concatenated.

Output formats
--------------
``format="bcsr"`` (:class:`jax.experimental.sparse.BCSR`, default), ``"bcoo"``
(:class:`~jax.experimental.sparse.BCOO`, entries in row-major order) or ``"data"`` (the
values only, a 1-D array in the fixed order of ``jac.indices``/``jac.indptr``, which are
static numpy arrays; ``jac.structure()`` is the pattern as a scipy CSR matrix). Structural
zeros are stored.

Several devices
---------------
With ``mesh=`` (a :class:`jax.sharding.Mesh`) the color batch is split across all of the
mesh's devices with ``jax.shard_map``: every device computes its share of the products
for the same (replicated) ``x``, and the gather reads the assembled product. The seeds are
padded with zero rows to a multiple of the device count; the values equal the
single-device ones. On several hosts, start every process with
``jax.distributed.initialize(...)`` (coordinator address, process count and id, or
the cluster's auto-detection), build the mesh over all of them,
``jax.make_mesh((jax.device_count(),), ("colors",))``, prepare ``jac`` with the same
``f``, ``x`` and options in every process (the coloring is deterministic), and call the
jitted ``jac`` in every process, as any multi-controller JAX program.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import scipy.sparse as sp

from ._choose_coloring import choose_hessian_coloring, choose_jacobian_coloring
from ._errors import SparseADError
from ._pattern import as_pattern, detect_hessian, detect_jacobian
from ._plan import PlanSizes, build_plan
from .backends.jax_backend import JaxBackend, check_dtype, same_static
from .hessian import _symmetrize

try:
    import jax
    import jax.numpy as jnp
    from jax.experimental import sparse as jsparse
    from jax.flatten_util import ravel_pytree
except ImportError as exc:  # JAX is an optional extra
    raise ImportError("sparsead.jax needs JAX: pip install sparsead[jax]  (or pip install "
                      "jax)") from exc

__all__ = ["JaxSparseJacobian", "JaxSparseHessian", "jacobian", "value_and_jacobian",
           "hessian", "hvp"]

FORMATS = ("bcsr", "bcoo", "data")


def _check_format(format: str) -> None:
    if format not in FORMATS:
        raise SparseADError(f"unknown format {format!r}; use 'bcsr' "
                            f"(jax.experimental.sparse.BCSR), 'bcoo' or 'data' (values only)")


def _dtype(a: Any) -> np.dtype:
    return np.dtype(a.dtype) if hasattr(a, "dtype") else np.asarray(a).dtype


class _Flat:
    """``f`` on the flat input vector: pytree ``x`` in, flat output out (ravel_pytree)."""

    def __init__(self, f: Callable, x: Any, args: tuple) -> None:
        leaves = jax.tree_util.tree_leaves(x)
        if not leaves:
            raise SparseADError("x has no array leaves; pass an array or a pytree of arrays")
        for leaf in leaves:
            dt = _dtype(leaf)
            if not np.issubdtype(dt, np.floating):
                raise SparseADError(f"x must hold real floating arrays (float32 or float64), "
                                    f"got a leaf of dtype {dt}; convert it, e.g. "
                                    f"x.astype(jnp.float64)")
            check_dtype(dt, "x")  # float64 with x64 off would silently become float32
        x0, self.unravel = ravel_pytree(x)
        self.x0 = np.asarray(x0)
        self.treedef = jax.tree_util.tree_structure(x)
        self.leaf_specs = tuple((tuple(np.shape(a)), _dtype(a))
                                for a in jax.tree_util.tree_leaves(x))
        self.f = f
        try:
            out = jax.eval_shape(lambda z: f(self.unravel(z), *args), x0)
        except Exception as exc:  # noqa: BLE001  (re-raised with the fix attached)
            raise TypeError(
                f"sparsead.jax could not trace f(x, *args) with JAX ({type(exc).__name__}: "
                f"{exc}). f must be a pure function written with jax.numpy (numpy calls "
                f"on tracers, Python branches on values and side effects fail); for numpy "
                f"functions use sparsead.jacobian with backend='fd'") from exc
        zeros = jax.tree_util.tree_map(lambda s: np.zeros(s.shape, s.dtype), out)
        y0, self.unravel_out = ravel_pytree(zeros)
        self.m = int(np.size(y0))

    def __call__(self, xf, *args):
        return ravel_pytree(self.f(self.unravel(xf), *args))[0]

    def flatten_point(self, x: Any):
        """``x`` checked against the prepared pytree, shapes and dtypes, then flattened."""
        treedef = jax.tree_util.tree_structure(x)
        if treedef != self.treedef:
            raise SparseADError(f"x has the pytree structure {treedef}, but this function "
                                f"was prepared for {self.treedef}; prepare again for it")
        leaves = jax.tree_util.tree_leaves(x)
        for leaf, (shape, dtype) in zip(leaves, self.leaf_specs):
            got = (tuple(np.shape(leaf)), _dtype(leaf))
            if got != (shape, dtype):
                raise SparseADError(
                    f"x has shape {got[0]} and dtype {got[1]}, but this function was prepared "
                    f"for shape {shape} and dtype {dtype} (under jax.vmap: per point); pass "
                    f"x.astype({dtype.name}) or prepare again for the new x")
        return ravel_pytree(x)[0]


class _Prepared(PlanSizes):
    """What a prepared Jacobian and Hessian share: backend context, plan, evaluation."""

    def __init__(self, flat: _Flat, args: tuple, kind: str, pattern: sp.csr_array,
                 result: Any, plan: Any, format: str, mesh: Any) -> None:
        self._flat = flat
        self._kind = kind
        self._backend = JaxBackend()
        # The backend checks dtypes (x64), classifies args into runtime (arrays, float
        # scalars: traced) and static ones, and owns the batched product bodies.
        self._ctx = self._backend.prepare(flat, flat.x0, args,
                                          kinds=frozenset({kind}))
        self._args = args
        self.sparsity = pattern
        self.coloring = result
        self._plan = plan
        self.format = format
        self.mesh = mesh
        self.shape = plan.shape
        self.indices = plan.indices
        self.indptr = plan.indptr
        self.rows, self.cols = plan.coordinates()  # a CSR plan expands them on demand
        self._coo_indices = np.stack([self.rows, self.cols],
                                     axis=1).astype(plan.indices.dtype)

    def structure(self) -> sp.csr_array:
        """The stored pattern as a boolean scipy CSR matrix (``indices``/``indptr``)."""
        return sp.csr_array((np.ones(self.nnz, dtype=bool), self.indices.copy(),
                             self.indptr.copy()), shape=self.shape)

    # ------------------------------------------------------------------ evaluation
    def _dyn(self, args: tuple) -> tuple:
        """The runtime arguments of the backend's bodies; static ones must be unchanged."""
        ctx = self._ctx
        if len(args) != len(self._args):
            raise SparseADError(f"got {len(args)} extra arguments, but this function was "
                                f"prepared with {len(self._args)}")
        runtime = set(ctx.runtime)
        for i, (new, old) in enumerate(zip(args, self._args)):
            if i not in runtime and isinstance(new, jax.core.Tracer):
                raise SparseADError(
                    f"args[{i}] was static at preparation ({old!r}: ints, strings and "
                    f"objects are) but is traced now: under jax.jit, mark it static "
                    f"(static_argnums) or close over it")
            if i not in runtime and not same_static(new, old):
                raise SparseADError(
                    f"args[{i}] is a static argument (an int, string or object at "
                    f"preparation, {old!r}) and cannot change; prepare again, or pass it as "
                    f"an array to make it a traced argument")
        return tuple(args[i] for i in ctx.runtime)

    def _products(self, xf, dyn, seeds: np.ndarray, with_value: bool):
        """``(f(x) flat or None, batch-first products (k, width))`` of ``seeds``."""
        be, ctx = self._backend, self._ctx
        body = be.traced_products(ctx, self._kind)
        seeds = np.asarray(seeds, dtype=ctx.x_dtype)
        if self.mesh is None:
            out = body(xf, dyn, seeds)  # seeds: a constant, folded by XLA
        else:
            out = _sharded(body, self.mesh, self._kind, xf, dyn, seeds)
        if self._kind == "hvp":
            return None, out
        y, P = out
        return (y if with_value else None), P

    def _values(self, x, args: tuple, with_value: bool = False):
        xf = self._flat.flatten_point(x)
        dyn = self._dyn(args)
        plan = self._plan
        dtype = np.dtype(self._ctx.x_dtype)
        if plan.ncolors == 0:
            y = self._ctx.f_flat(xf, dyn) if with_value else None
            return y, jnp.zeros(plan.nnz, dtype=dtype)
        if plan.flat_index is None:  # acyclic: all products, then substitution
            y, P = self._products(xf, dyn, plan.seeds, with_value)
            return y, self._substitute(P)
        y, vals = None, None
        for chunk in plan.chunks:  # one chunk unless chunk_size= splits the colors
            y_c, P = self._products(xf, dyn, chunk.seeds, with_value and y is None)
            y = y_c if y is None else y
            idx = chunk.flat_index.astype(np.int32 if P.size < 2**31 - 1 else np.int64)
            got = jnp.ravel(P).at[idx].get(mode="promise_in_bounds")
            if chunk.positions is None:
                vals = got
            else:
                if vals is None:
                    vals = jnp.zeros(plan.nnz, dtype=got.dtype)
                vals = vals.at[chunk.positions].set(got, mode="promise_in_bounds",
                                                    unique_indices=True)
        return y, vals

    def _substitute(self, P):
        """Acyclic decompression: the coloring package's substitution, on the host."""
        result, uplo, nnz = self.coloring, self._uplo, self._plan.nnz
        k = self._plan.ncolors

        def host(products):
            products = np.asarray(products)
            # rows past k are the zero padding of a mesh's color batch
            B = np.ascontiguousarray(products[:k].T)
            return np.asarray(result.decompress(B, uplo=uplo).data, dtype=products.dtype)

        spec = jax.ShapeDtypeStruct((nnz,), P.dtype)
        return jax.pure_callback(host, spec, P, vmap_method="sequential")

    _uplo = "F"

    def _matrix(self, vals):
        if self.format == "data":
            return vals
        if self.format == "bcoo":
            return jsparse.BCOO((vals, jnp.asarray(self._coo_indices)), shape=self.shape,
                                indices_sorted=True, unique_indices=True)
        return jsparse.BCSR((vals, jnp.asarray(self.indices), jnp.asarray(self.indptr)),
                            shape=self.shape, indices_sorted=True, unique_indices=True)


def _check_mesh(mesh: Any) -> None:
    if mesh is not None and not isinstance(mesh, jax.sharding.Mesh):
        raise SparseADError(f"mesh= takes a jax.sharding.Mesh (e.g. jax.make_mesh(("
                            f"jax.device_count(),), ('colors',))), not {type(mesh).__name__}")


def _sharded(body: Callable, mesh: Any, kind: str, xf, dyn, seeds: np.ndarray):
    """``body(xf, dyn, seeds)`` with the seed rows split over all devices of ``mesh``.

    Device ``d`` computes the products of seed rows ``[d * kl, (d + 1) * kl)``. Its block
    of seeds is selected by ``lax.switch`` on the device index among compile-time
    constants, so XLA folds the x-independent tangent work as on one device (and the
    values are the single-device ones bit for bit), instead of receiving the seeds as a
    sharded runtime array.
    """
    from jax.sharding import NamedSharding  # noqa: PLC0415
    from jax.sharding import PartitionSpec as P  # noqa: PLC0415

    ndev = int(mesh.size)
    k = seeds.shape[0]
    kl = math.ceil(k / ndev)
    padded = np.zeros((kl * ndev, seeds.shape[1]), dtype=seeds.dtype)
    padded[:k] = seeds  # zero seeds give zero products, never read by the gather
    axes = tuple(mesh.axis_names)
    split = P(axes)
    out_specs = split if kind == "hvp" else (P(), split)
    explicit = any(t == jax.sharding.AxisType.Explicit for t in mesh.axis_types)
    if explicit:  # explicit-sharding meshes (jax.make_mesh's default): place the inputs
        whole = NamedSharding(mesh, P())
        xf = jax.reshard(xf, whole)
        dyn = tuple(jax.reshard(jnp.asarray(a), whole) for a in dyn)
    blocks = [padded[d * kl:(d + 1) * kl] for d in range(ndev)]
    branches = [lambda xf, dyn, block=block: body(xf, dyn, block) for block in blocks]

    def local(xf, dyn):
        return jax.lax.switch(jax.lax.axis_index(axes), branches, xf, dyn)

    # check_vma off: forward-over-reverse mixes the replicated x with varying tangents,
    # which the check rejects; every output here is replicated or split as specified.
    run = jax.shard_map(local, mesh=mesh, in_specs=(P(), P()), out_specs=out_specs,
                        check_vma=False)
    out = run(xf, dyn)
    if explicit:  # the gather reads the whole product: replicate it
        out = jax.tree_util.tree_map(lambda a: jax.reshard(a, whole), out)
    return out


class JaxSparseJacobian(_Prepared):
    """A sparse Jacobian as a pure JAX function: ``jac(x, *args)``.

    Attributes
    ----------
    shape : tuple
        ``(m, n)``: f's output and x, both flattened in ``ravel_pytree`` order.
    indices, indptr : numpy.ndarray
        The CSR structure (static); ``format="data"`` values follow its order.
    rows, cols : numpy.ndarray
        Coordinates of the values in the same order.
    mode : str
        ``"column"`` (one JVP per color) or ``"row"`` (one VJP per color).
    ncolors, nnz : int
    format : str
        ``"bcsr"``, ``"bcoo"`` or ``"data"``.
    sparsity, coloring
        The boolean pattern (scipy CSR) and the :class:`coloring.ColoringResult`.
    mesh : jax.sharding.Mesh or None
    """

    @property
    def mode(self) -> str:
        return self._plan.problem

    def __repr__(self) -> str:
        return (f"JaxSparseJacobian(shape={self.shape}, nnz={self.nnz}, mode={self.mode!r}, "
                f"ncolors={self.ncolors}, format={self.format!r})")

    def __call__(self, x: Any, *args: Any):
        """The Jacobian at ``x`` (a pytree like the prepared one), in ``format``."""
        return self._matrix(self._values(x, args)[1])

    def value_and_jacobian(self, x: Any, *args: Any):
        """``(f(x, *args), J(x))`` from the same products; f(x) has f's output structure."""
        y, vals = self._values(x, args, with_value=True)
        return self._flat.unravel_out(y), self._matrix(vals)


class JaxSparseHessian(_Prepared):
    """A sparse Hessian of a scalar function as a pure JAX function: ``hes(x, *args)``.

    Attributes as :class:`JaxSparseJacobian`; ``method`` is ``"star"`` (direct
    decompression, one gather on the device) or ``"acyclic"`` (decompression by
    substitution, computed on the host through ``jax.pure_callback``), ``uplo`` the
    stored triangle (``"F"``, ``"L"`` or ``"U"``).
    """

    def __init__(self, *a: Any, uplo: str, **kw: Any) -> None:
        super().__init__(*a, **kw)
        self._uplo = self.uplo = uplo

    @property
    def method(self) -> str:
        return self._plan.problem

    def __repr__(self) -> str:
        return (f"JaxSparseHessian(shape={self.shape}, nnz={self.nnz}, uplo={self.uplo!r}, "
                f"coloring={self.method!r}, ncolors={self.ncolors}, format={self.format!r})")

    def __call__(self, x: Any, *args: Any):
        """The Hessian (its ``uplo`` triangle) at ``x``, in ``format``."""
        return self._matrix(self._values(x, args)[1])


def jacobian(f: Callable, x: Any, *, args: tuple = (), sparsity: Any = None,
             coloring: Any = None, mode: str = "auto", format: str = "bcsr",
             chunk_size: int | None = None, mesh: Any = None) -> JaxSparseJacobian:
    """Prepare the sparse Jacobian of a JAX function as a pure JAX function.

    Parameters
    ----------
    f : callable
        ``f(x, *args)`` written with ``jax.numpy``; x and the output may be pytrees.
    x : pytree of arrays
        Point of preparation (float32 or float64 leaves; float64 needs
        ``jax.config.update("jax_enable_x64", True)``). Later calls need the same
        structure, shapes and dtypes.
    args : tuple
        Example extra arguments. Arrays and float scalars are traced at call time
        (``jac(x, *args)`` with new values, under jit too); ints, strings and other
        objects are static and must not change.
    sparsity : array_like or scipy.sparse matrix, optional
        Known pattern ``(m, n)`` in ``ravel_pytree`` order; detected from the jaxpr of f
        when omitted (a pattern valid for every x).
    coloring : coloring.ColoringResult, str, tuple or dict, optional
        A column/row coloring of the pattern or options of :func:`coloring.color`.
    mode : {"auto", "column", "row"}
        JVPs (column coloring), VJPs (row coloring), or whichever needs fewer colors.
        Bidirectional evaluation (a bicoloring, JVPs and VJPs together) is not available
        here: ``mode="bidirectional"`` raises; :func:`sparsead.prepare_jacobian` has it.
    format : {"bcsr", "bcoo", "data"}
        Output of ``jac(x)``.
    chunk_size : int, optional
        At most this many products per batch (caps the memory of the product matrix);
        default: all colors in one batch.
    mesh : jax.sharding.Mesh, optional
        Split the color batch over the mesh's devices (see the module docstring).

    Returns
    -------
    JaxSparseJacobian
        ``jac(x, *args)``; also ``jac.value_and_jacobian(x, *args)``.

    Raises
    ------
    TypeError
        f cannot be traced by JAX.
    SparseADError
        A pattern of the wrong shape, non-float x, float64 without x64, a bad option.
    """
    _check_format(format)
    _check_mesh(mesh)
    args = tuple(args)
    flat = _Flat(f, x, args)
    n, m = flat.x0.size, flat.m
    be = JaxBackend()
    if sparsity is None:
        sparsity = detect_jacobian(flat, flat.x0, args, library="jax", sparsity_from=None,
                                   sparsity_mode="global")
    P = as_pattern(sparsity, (m, n), "Jacobian")
    # one-sided colorings only: the fused executable runs one kind of product
    result, P = choose_jacobian_coloring(P, coloring, be, mode, bidirectional=False)
    plan = build_plan(P, result, fmt="csr", dtype=np.result_type(flat.x0.dtype, np.float32),
                      chunk_size=chunk_size)
    kind = "jvp" if result.problem == "column" else "vjp"
    return JaxSparseJacobian(flat, args, kind, P, result, plan, format, mesh)


def value_and_jacobian(f: Callable, x: Any, **options: Any) -> Callable:
    """Prepare ``(x, *args) -> (f(x, *args), J(x))`` as a pure JAX function.

    Same options as :func:`jacobian`; the value comes from the same products (no extra
    evaluation of f) and has f's output structure.
    """
    return jacobian(f, x, **options).value_and_jacobian


def hessian(f: Callable, x: Any, *, args: tuple = (), sparsity: Any = None,
            coloring: Any = None, uplo: str = "F", format: str = "bcsr",
            chunk_size: int | None = None, mesh: Any = None) -> JaxSparseHessian:
    """Prepare the sparse Hessian of a scalar JAX function as a pure JAX function.

    HVPs are forward-over-reverse (``jax.jvp`` of ``jax.grad``), one per color, batched.

    Parameters
    ----------
    f : callable
        Scalar ``f(x, *args)`` written with ``jax.numpy``; x may be a pytree.
    x, args, format, chunk_size, mesh
        As in :func:`jacobian`.
    sparsity : matrix, optional
        Known Hessian pattern ``(n, n)``; symmetrized (``P | P.T``).
    coloring : coloring.ColoringResult, str or dict, optional
        ``"star"`` (default: direct decompression, one gather), ``"acyclic"`` (fewer
        colors; substitution runs on the host via ``jax.pure_callback``), an order name
        or a dict of :func:`coloring.color` options.
    uplo : {"F", "L", "U"}
        Full matrix, or only its lower/upper triangle.

    Returns
    -------
    JaxSparseHessian
    """
    _check_format(format)
    _check_mesh(mesh)
    args = tuple(args)
    flat = _Flat(f, x, args)
    if flat.m != 1:
        raise SparseADError(f"a Hessian needs a scalar f, but f returns {flat.m} values; use "
                            f"sparsead.jax.jacobian for vector outputs")
    n = flat.x0.size
    if sparsity is None:
        sparsity = detect_hessian(flat, flat.x0, args, library="jax", sparsity_from=None,
                                  sparsity_mode="global")
    P = _symmetrize(as_pattern(sparsity, (n, n), "Hessian"))
    result, P = choose_hessian_coloring(P, coloring)
    plan = build_plan(P, result, fmt="csr", uplo=uplo,
                      dtype=np.result_type(flat.x0.dtype, np.float32), chunk_size=chunk_size)
    return JaxSparseHessian(flat, args, "hvp", P, result, plan, format, mesh, uplo=uplo)


def hvp(f: Callable, x: Any, *, args: tuple = ()) -> Callable:
    """A jittable ``hvp(x, v, *args) = H(x) @ v`` of a scalar JAX function.

    Forward-over-reverse: ``jax.jvp(jax.grad(f), (x,), (v,))``; ``x`` and ``v`` are
    pytrees like the prepared ``x``. Checks that f can be traced and is scalar.
    """
    args = tuple(args)
    flat = _Flat(f, x, args)
    if flat.m != 1:
        raise SparseADError(f"hvp needs a scalar f, but f returns {flat.m} values")

    def product(x, v, *a):
        flat.flatten_point(x)
        flat.flatten_point(v)
        grad = jax.grad(lambda z: jnp.reshape(f(z, *a), ()))
        return jax.jvp(grad, (x,), (v,))[1]
    return product
