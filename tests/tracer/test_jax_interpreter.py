"""The jaxpr interpreter of the JAX front-end, run on plain floats, against JAX itself.

The same interpreter later runs on traced arrays, so checking every primitive rule
numerically here checks that the rules compute what JAX computes.
"""

import pytest

jax = pytest.importorskip("jax")

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax import lax  # noqa: E402
from test_jax_cases import CASES, dense_reference, flat_outputs, jaxpr_primitives, random_input  # noqa: E402

from benchmarks.problems import make_brusselator_jax  # noqa: E402
from tracer.jax._frontend import evaluate_jax_function  # noqa: E402
from tracer.jax._registry import RULES  # noqa: E402

#: primitives that issue 3 requires the front-end to cover
REQUIRED = {
    "add", "sub", "mul", "div", "neg", "sin", "cos", "exp", "log", "tanh", "sqrt",
    "integer_pow", "pow", "select_n", "eq", "ne", "lt", "le", "gt", "ge",
    "convert_element_type", "reduce_sum", "reduce_max", "reduce_min", "reduce_prod",
    "argmax", "cumsum", "cumprod", "cummax", "dot_general", "reshape", "transpose",
    "broadcast_in_dim", "squeeze", "expand_dims", "concatenate", "pad", "slice",
    "dynamic_slice", "dynamic_update_slice", "gather", "scatter", "scatter-add", "rev",
    "iota", "sort", "cond", "while", "scan", "jit", "closed_call", "custom_jvp_call",
    "custom_vjp_call", "conv_general_dilated",
}


def test_required_primitives_have_rules():
    assert not REQUIRED - set(RULES)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_case_uses_the_primitives_it_claims(case):
    name, f, shape, prims = case
    used = jaxpr_primitives(jax.make_jaxpr(f)(random_input(shape)))
    assert prims <= used, f"{name}: jaxpr lacks {prims - used}"


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("seed", [0, 1])
def test_interpreter_matches_jax_on_floats(case, seed):
    name, f, shape, _ = case
    x = random_input(shape, seed)
    # random bits have no numpy rule: JAX itself evaluates those constant equations
    got = flat_outputs(evaluate_jax_function(f, x, strict=name != "random_constant"))
    want = dense_reference(name)["values"][seed]
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("N", [3, 8])
def test_interpreter_matches_jax_brusselator(N):
    f = make_brusselator_jax(N)
    x = random_input((2 * N * N,), N)
    (got,) = evaluate_jax_function(f, x, strict=True)
    np.testing.assert_allclose(got, np.asarray(jax.jit(f)(x)), rtol=1e-13)


def test_constant_args_stay_concrete():
    # python control flow on args works because args are closed over, not traced by JAX
    def f(x, k, w):
        return x[:k] * w if k > 1 else x

    x = random_input((5,))
    w = np.arange(3.0)
    (got,) = evaluate_jax_function(f, x, args=(3, w))
    np.testing.assert_allclose(got, x[:3] * w)


def test_float32_without_x64_dtypes_follow_jax():
    x = random_input((4,)).astype(np.float32)
    with jax.enable_x64(False):
        (got,) = evaluate_jax_function(lambda v: jnp.sin(v) * jnp.arange(4), x)
        want = np.asarray(jnp.sin(x) * jnp.arange(4))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_strict_mode_requires_rules_for_constants():
    from tracer._errors import TracingError

    def f(x):
        return x + lax.population_count(jnp.arange(4)).astype(float)

    with pytest.raises(TracingError, match="population_count"):
        evaluate_jax_function(f, random_input((4,)), strict=True)


def test_unknown_primitive_on_constants_is_evaluated_by_jax():
    # constant-only equations without a numpy rule are evaluated by JAX exactly
    def f(x):
        return x + lax.population_count(jnp.arange(4)).astype(float)

    x = random_input((4,))
    (got,) = evaluate_jax_function(f, x)
    np.testing.assert_allclose(got, np.asarray(f(jnp.asarray(x))))


def test_roll_and_slice_squeeze_are_fused():
    # jnp.roll lowers to slice+slice+concatenate, y[0] to slice+squeeze; each pair runs as
    # one numpy call (one engine operation) and the numbers stay those of JAX
    from tracer.jax._interpreter import _rewrite_plan

    def f(x):
        y = x.reshape(2, 3)
        return jnp.roll(y[0], 1) + jnp.roll(y[1], -1, axis=0) * y[1, 2]

    closed = jax.make_jaxpr(f)(np.ones(6))
    actions = []
    for eqn in closed.jaxpr.eqns:
        sub = eqn.params.get("jaxpr")
        if sub is not None:
            actions += _rewrite_plan(sub.jaxpr)
    actions += _rewrite_plan(closed.jaxpr)
    kinds = [a[0] for a in actions if isinstance(a, tuple)]
    assert kinds.count("roll") == 2 and kinds.count("index") == 3
    x = random_input((6,))
    (got,) = evaluate_jax_function(f, x, strict=True)
    np.testing.assert_allclose(got, np.asarray(f(jnp.asarray(x))))


def test_long_constant_loops_are_handed_to_jax():
    # loops on constants only longer than EXACT_LOOP_LIMIT are run by JAX (compiled)
    def f(x):
        c = lax.fori_loop(0, 2000, lambda i, v: v * 0.999 + 1.0, jnp.ones(3))
        w = lax.while_loop(lambda s: s[0] < 1500, lambda s: (s[0] + 1, s[1] + 0.5), (0, 0.0))
        return x * c + w[1]

    x = random_input((3,))
    (got,) = evaluate_jax_function(f, x)
    np.testing.assert_allclose(got, np.asarray(jax.jit(f)(x)), rtol=1e-12)


def test_strict_setting_is_per_thread():
    # a strict evaluation in one thread does not make another thread's evaluation strict
    import threading

    def f(x):  # population_count has no numpy rule: JAX evaluates it unless strict
        return x + lax.population_count(jnp.arange(4)).astype(float)

    x = random_input((4,))
    inside, release = threading.Event(), threading.Event()
    errors = []

    def strict_worker():
        from tracer.jax._interpreter import strict_rules

        with strict_rules(True):
            inside.set()
            release.wait(30)
            try:
                evaluate_jax_function(f, x, strict=True)
            except Exception as exc:  # noqa: BLE001  (the expected refusal)
                errors.append(exc)

    worker = threading.Thread(target=strict_worker)
    worker.start()
    try:
        assert inside.wait(30)
        (got,) = evaluate_jax_function(f, x)  # not strict here, while the worker is
        np.testing.assert_allclose(got, np.asarray(f(jnp.asarray(x))))
    finally:
        release.set()
        worker.join(30)
    assert len(errors) == 1 and "strict mode" in str(errors[0])
