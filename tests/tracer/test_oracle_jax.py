"""JAX as an independent oracle for the cases whose reference is otherwise central
differences (code that is not complex-safe: abs, sign, maximum, clip, where, norms,
var/std, max/min, comparisons).

The same ``fn(xp, ...)`` code runs with ``xp = jax.numpy`` under ``jax.jacfwd`` (jitted
once per case). The tracer pattern must contain the JAX nonzeros, and the finite-difference
masks used elsewhere must agree with JAX at the same points (a check of the oracle itself).
"""
from __future__ import annotations

import numpy as np
import pytest

jax = pytest.importorskip("jax")

import tracer  # noqa: E402
from tests.tracer import test_oracle_elementwise as elementwise  # noqa: E402
from tests.tracer import test_oracle_reductions as reductions  # noqa: E402
from tests.tracer._oracle import assert_contains, jacobian_fd, nonzero_mask  # noqa: E402


def _jax_jacobian(fn, x):
    import jax.numpy as jnp

    def g(z):
        return jnp.ravel(jnp.asarray(fn(jnp, z), dtype=float))

    return np.asarray(jax.jit(jax.jacfwd(g))(jnp.asarray(x)), dtype=float).reshape(-1, x.size)


CASES = {}
for _name, _case in elementwise.UNARY.items():
    if not _case.cs:
        CASES[f"unary_{_name}"] = (
            _case.fn, lambda name=_name, case=_case: elementwise._unary_points(name, case))
for _name, _case in elementwise.BINARY.items():
    if not _case.cs:
        CASES[f"binary_{_name}"] = (
            elementwise._split(_case.fn),
            lambda name=_name, case=_case: elementwise._binary_points(name, case))
for _name, _red in reductions.REDUCTIONS.items():
    if not _red.cs and _name in ("var_axis1", "std", "norm_axis1", "norm_ord3", "max_axis0",
                                 "min_axis1", "norm_inf"):
        CASES[f"reduction_{_name}"] = (
            _red.fn, lambda name=_name, red=_red: reductions._points(name, red, 2))


@pytest.mark.parametrize("name", list(CASES))
def test_pattern_contains_jax_jacobian(name):
    fn, points = CASES[name]
    for x in points()[:2]:
        ref = nonzero_mask(_jax_jacobian(fn, x), 1e-9, 0.0)
        for mode in ("global", "local"):
            P = tracer.jacobian_sparsity(lambda z: fn(np, z), x, mode=mode)
            assert_contains(P, ref, f"{name} vs JAX ({mode})")
        fd = nonzero_mask(jacobian_fd(lambda z: fn(np, z), x), 1e-6)
        assert np.array_equal(fd, ref), f"{name}: finite-difference oracle disagrees with JAX"
