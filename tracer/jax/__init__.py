"""The JAX front-end: sparsity detection of ``jax.numpy`` / ``jax.lax`` code via its jaxpr."""

from ._frontend import evaluate_jax_function, hessian_sparsity_jax, jacobian_sparsity_jax

__all__ = ["jacobian_sparsity_jax", "hessian_sparsity_jax", "evaluate_jax_function"]
