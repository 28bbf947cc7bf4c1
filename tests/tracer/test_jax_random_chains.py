"""Random chains of shape and linear jax.numpy operations on random shapes (hypothesis).

Every operation in the chain is linear with 0/1 coefficients, so the dense Jacobian has
no accidental zeros and the detected pattern must equal its nonzeros exactly.
"""

import pytest

jax = pytest.importorskip("jax")

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tracer.jax._frontend import evaluate_jax_function, jacobian_sparsity_jax  # noqa: E402

_FAST_COMPILE = {"xla_backend_optimization_level": 0,
                 "xla_llvm_disable_expensive_passes": True}

OPS = {
    "sum0": lambda a: jnp.sum(a, axis=0, keepdims=True),
    "cumsum_last": lambda a: jnp.cumsum(a, axis=-1),
    "flip": lambda a: jnp.flip(a, axis=0),
    "roll": lambda a: jnp.roll(a, 1, axis=-1),
    "transpose": lambda a: a.T,
    "pad": lambda a: jnp.pad(a, [(1, 0)] + [(0, 1)] * (a.ndim - 1)),
    "slice": lambda a: a[1:] if a.shape[0] > 1 else a,
    "shift_add": lambda a: a + jnp.roll(a, -1, axis=0),
    "take": lambda a: jnp.take(a, np.arange(a.shape[0])[::-1], axis=0),
    "concat": lambda a: jnp.concatenate([a, a[:1]], axis=0),
    "broadcast": lambda a: jnp.broadcast_to(a[None], (2,) + a.shape)[0] + a,
}


@settings(max_examples=12, deadline=None)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3),
       chain=st.lists(st.sampled_from(sorted(OPS)), min_size=1, max_size=4),
       seed=st.integers(0, 2**16))
def test_random_linear_chains(shape, chain, seed):
    def f(v):
        a = v.reshape(shape)
        for name in chain:
            a = OPS[name](a)
        return a

    n = int(np.prod(shape))
    x = np.random.default_rng(seed).uniform(0.2, 0.9, size=n)
    # f is linear: its Jacobian's columns are f(e_j); one jitted call gives values and J
    reference = jax.jit(lambda v, eye: (f(v), jax.vmap(lambda e: jnp.ravel(f(e)))(eye)))
    want, JT = reference.lower(x, np.eye(n)).compile(_FAST_COMPILE)(x, np.eye(n))
    (values,) = evaluate_jax_function(f, x, strict=True)
    np.testing.assert_allclose(values, np.asarray(want), rtol=1e-12)
    J = np.asarray(JT).T != 0
    P = jacobian_sparsity_jax(f, x).toarray()
    np.testing.assert_array_equal(P, J)
