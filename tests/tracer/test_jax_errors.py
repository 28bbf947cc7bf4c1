"""Error paths of the JAX front-end, and how ``frontend="auto"`` recognises JAX code."""

import pytest

jax = pytest.importorskip("jax")

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax import lax  # noqa: E402

import tracer  # noqa: E402
from benchmarks.problems import make_brusselator_jax, make_brusselator_numpy  # noqa: E402
from tracer import _api  # noqa: E402
from tracer._errors import TracingError  # noqa: E402
from tracer.jax import _control  # noqa: E402
from tracer.jax._frontend import hessian_sparsity_jax, jacobian_sparsity_jax  # noqa: E402

X = np.linspace(0.2, 0.8, 6)


@pytest.mark.parametrize("entry", [jacobian_sparsity_jax, hessian_sparsity_jax])
def test_local_mode_is_refused_with_advice(entry):
    with pytest.raises(TracingError, match='mode="local" is not supported.*mode="global"'):
        entry(lambda x: jnp.sum(jnp.sin(x)), X, mode="local")


def test_unknown_mode():
    with pytest.raises(TracingError, match="unknown mode"):
        jacobian_sparsity_jax(jnp.sin, X, mode="sideways")


def test_pure_callback_is_an_unknown_primitive():
    def f(x):
        return jax.pure_callback(np.sin, jax.ShapeDtypeStruct(x.shape, x.dtype), x)

    with pytest.raises(TracingError, match="'pure_callback'"):
        jacobian_sparsity_jax(f, X)


def test_custom_primitive_is_named():
    from jax.extend.core import Primitive

    twist = Primitive("twist_for_test")
    twist.def_abstract_eval(lambda a: a)
    twist.def_impl(lambda a: a)

    with pytest.raises(TracingError, match="'twist_for_test'.*never falls back"):
        jacobian_sparsity_jax(lambda x: twist.bind(x) * 2.0, X)


def test_python_control_flow_on_values():
    def f(x):
        return x * 2.0 if x[0] > 0 else x

    with pytest.raises(TracingError, match="jnp.where, lax.cond"):
        jacobian_sparsity_jax(f, X)


def test_hessian_needs_scalar_output():
    with pytest.raises(TracingError, match="scalar-valued"):
        hessian_sparsity_jax(jnp.sin, X)


def test_while_without_fixed_point_raises(monkeypatch):
    monkeypatch.setattr(_control, "MAX_FIXED_POINT_ITERATIONS", 2)

    def f(x):  # each step spreads the dependence by one element
        return lax.while_loop(lambda c: jnp.sum(c) < 1e6, lambda c: c + jnp.roll(c, 1), x)

    with pytest.raises(TracingError, match="fixed point within 2 steps"):
        jacobian_sparsity_jax(f, X)


def test_batch_group_conv_is_refused_clearly():
    def f(x):
        lhs = x.reshape(2, 1, 3)
        return lax.conv_general_dilated(lhs, jnp.ones((2, 1, 1)), (1,), "VALID",
                                        batch_group_count=2)

    with pytest.raises(TracingError, match="batch_group_count"):
        jacobian_sparsity_jax(f, X)


def _uses_jax_frontend(monkeypatch, f, x) -> bool:
    """Run ``tracer.jacobian_sparsity(f, x)`` and tell whether it went to the JAX front-end."""
    used = []
    real = _api._jax_frontend

    def spy():
        used.append(True)
        return real()

    monkeypatch.setattr(_api, "_jax_frontend", spy)
    tracer.jacobian_sparsity(f, x)
    return bool(used)


def test_jax_arrays_are_recognised():
    assert _api._is_jax_array(jnp.ones(3))
    assert _api._is_jax_array(jax.jit(jnp.sin)(jnp.ones(3)))
    assert not _api._is_jax_array(np.ones(3))
    assert not _api._is_jax_array([1.0, 2.0])


def test_auto_frontend_recognises_jax_functions(monkeypatch):
    # JAX code on a numpy x: the numpy trace fails inside JAX and hands over
    assert _uses_jax_frontend(monkeypatch, make_brusselator_jax(3), np.ones(18))
    assert _uses_jax_frontend(monkeypatch, jax.jit(jnp.sin), X)
    assert _uses_jax_frontend(monkeypatch, lambda x: jnp.sin(x), X)
    # a JAX x selects the JAX front-end even for code that never calls JAX
    assert _uses_jax_frontend(monkeypatch, lambda x: x, jnp.ones(3))
    # numpy code stays with the numpy engine
    assert not _uses_jax_frontend(monkeypatch, make_brusselator_numpy(3), np.ones(18))
    assert not _uses_jax_frontend(monkeypatch, lambda x: np.sin(x) + 1.0, X)


def test_exception_from_jax_is_recognised():
    class Foreign:  # an array-like JAX does not know, like the numpy engine's arrays
        shape, dtype, ndim = (3,), np.dtype(float), 1

        def __jax_array__(self):
            raise RuntimeError("refused")

    with pytest.raises(Exception) as info:
        jnp.sin(Foreign())
    assert _api._raised_in_jax(info.value)
    try:
        np.linalg.inv(np.zeros((2, 2)))
    except np.linalg.LinAlgError as exc:
        assert not _api._raised_in_jax(exc)
    else:  # pragma: no cover
        raise AssertionError("np.linalg.inv of a zero matrix must raise")


def test_debug_print_is_ignored():
    def f(x):
        jax.debug.print("x={x}", x=x)
        return jnp.sin(x[1:]) * x[:-1]

    p = jacobian_sparsity_jax(f, X)
    expected = np.eye(5, 6, dtype=bool) | np.eye(5, 6, 1, dtype=bool)
    np.testing.assert_array_equal(p.toarray(), expected)
