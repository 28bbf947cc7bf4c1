"""tracer: sparsity detection of numpy (and jax.numpy) code by operator overloading."""
