"""The public ``tracer`` API on JAX functions: automatic front-end selection."""

import pytest

jax = pytest.importorskip("jax")

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax import lax  # noqa: E402

import tracer  # noqa: E402
from benchmarks.problems import brusselator_sparsity, make_brusselator_jax  # noqa: E402
from tracer.jax._frontend import hessian_sparsity_jax  # noqa: E402

N = 4
X = np.linspace(0.1, 0.9, 2 * N * N)


def _same(a, b):
    return a.shape == b.shape and (a != b).nnz == 0


@pytest.mark.parametrize("x", [X, jnp.asarray(X)], ids=["numpy-x", "jax-x"])
def test_auto_detects_jax_brusselator(x):
    assert _same(tracer.jacobian_sparsity(make_brusselator_jax(N), x), brusselator_sparsity(N))


def test_frontend_jax_explicit():
    p = tracer.jacobian_sparsity(make_brusselator_jax(N), X, frontend="jax")
    assert _same(p, brusselator_sparsity(N))


@pytest.mark.parametrize("first_op", [jnp.sin, lax.sin, jnp.asarray],
                         ids=["jnp.sin", "lax.sin", "jnp.asarray"])
def test_auto_detects_jax_whatever_touches_the_array_first(first_op):
    # jnp.sin / lax.sin reject foreign arrays before any __jax_array__ hook runs
    def f(x):
        y = first_op(x)
        return y[1:] * y[:-1]

    p = tracer.jacobian_sparsity(f, X[:5])
    expected = np.zeros((4, 5), bool)
    expected[np.arange(4), np.arange(4)] = expected[np.arange(4), np.arange(1, 5)] = True
    np.testing.assert_array_equal(p.toarray(), expected)


def test_auto_hessian_of_jax_objective():
    f = make_brusselator_jax(N)
    H = tracer.hessian_sparsity(lambda v: jnp.sum(f(v) ** 2), X)
    # the dense comparison is in test_jax_patterns; here: the same result as asked directly
    assert _same(H, hessian_sparsity_jax(lambda v: jnp.sum(f(v) ** 2), X))


def test_args_are_constants():
    def f(x, w, k):
        return jnp.tanh(x[:k] * w)

    p = tracer.jacobian_sparsity(f, X[:6], args=(np.ones(3), 3), frontend="jax")
    np.testing.assert_array_equal(p.toarray(), np.eye(3, 6, dtype=bool))


def test_local_mode_through_public_api():
    with pytest.raises(tracer.TracingError, match="not supported for JAX functions"):
        tracer.jacobian_sparsity(make_brusselator_jax(N), X, mode="local", frontend="jax")
    with pytest.raises(tracer.TracingError, match="not supported for JAX functions"):
        tracer.jacobian_sparsity(make_brusselator_jax(N), jnp.asarray(X), mode="local")


def test_tuple_outputs_are_concatenated():
    def f(x):
        return jnp.sin(x[:2]), {"b": x[2] * x[3]}

    p = tracer.jacobian_sparsity(f, X[:4], frontend="jax")
    np.testing.assert_array_equal(p.toarray(), [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 1]])


def test_constant_output_gives_empty_pattern():
    p = tracer.jacobian_sparsity(lambda x: jnp.zeros(3) + jnp.argmax(x), X[:4], frontend="jax")
    assert p.shape == (3, 4) and p.nnz == 0


def test_without_x64():
    # JAX's default float32 mode: the jaxpr is float32, the pattern is the same
    with jax.enable_x64(False):
        p = tracer.jacobian_sparsity(make_brusselator_jax(N), X.astype(np.float32),
                                     frontend="jax")
    assert _same(p, brusselator_sparsity(N))
