"""The JAX front-end: sparsity detection of ``jax.numpy`` / ``jax.lax`` code via its jaxpr.

Modules, each importing only the ones listed above it (and the engine through
:mod:`tracer._interop`):

``_registry``     The table: one :class:`~tracer.jax._registry.Rule` per primitive.
``_values``       Constants, traced arrays and ``Opaque`` values; joins and unions.
``_interpreter``  Evaluates a jaxpr equation by equation with the registered rules.
``_elementwise``  Rules: unary/binary elementwise primitives, with derivative flags.
``_reductions``   Rules: reductions, arg-reductions, cumulative primitives.
``_shapes``       Rules: reshape, broadcast, slice, concatenate, ``dot_general``, ...
``_indexing``     Rules: gather, scatter, pad, dynamic slices, sort, convolution.
``_control``      Rules: calls, ``cond``, ``while``, ``scan``.
``_linalg``       Rules: linear solves, factorizations, FFT, ``top_k``.
``_frontend``     Entry points: :func:`jacobian_sparsity_jax`, :func:`hessian_sparsity_jax`.

Users call :func:`tracer.jacobian_sparsity` / :func:`tracer.hessian_sparsity`, which
come here for JAX arrays and JAX code.
"""

from ._frontend import evaluate_jax_function, hessian_sparsity_jax, jacobian_sparsity_jax

__all__ = ["jacobian_sparsity_jax", "hessian_sparsity_jax", "evaluate_jax_function"]
