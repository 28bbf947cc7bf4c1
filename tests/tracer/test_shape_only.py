"""Shape-only numpy functions on traced arrays: evaluated on the shape, checked against
dense references (central differences / complex step of the same numpy code)."""
from __future__ import annotations

import numpy as np
import pytest

import tracer
from tests.tracer._oracle import (
    assert_pattern_equal,
    nonzero_mask,
    reference_hessian,
    reference_jacobian,
)
from tracer._functions import SHAPE_ONLY_FUNCTIONS

_rng = np.random.default_rng(20261203)


def _distances(x):
    """scipy's electron-on-a-sphere style: inverse distances with the diagonal zeroed."""
    p = x.reshape(-1, 3)
    dx = p[:, 0, None] - p[:, 0]
    dy = p[:, 1, None] - p[:, 1]
    dz = p[:, 2, None] - p[:, 2]
    dm1 = dx**2 + dy**2 + dz**2
    dm1[np.diag_indices_from(dm1)] = 1.0
    dm1 = dm1**-0.5
    dm1[np.diag_indices_from(dm1)] = 0
    return dm1


def _tril_triu(x):
    a = x.reshape(3, 3)
    lower = a[np.tril_indices_from(a, -1)]
    upper = a[np.triu_indices_from(a, 1)]
    return lower * upper[::-1]


def _queries(x):
    n = np.shape(x)[0] // np.ndim(x)
    w = np.zeros(np.size(x), dtype=np.result_type(x, np.float32))
    w[:n] = 2.0
    assert np.can_cast(x, np.float64) and np.isrealobj(x) and not np.iscomplexobj(x)
    return w * x + np.asarray(1.0, np.common_type(x))


CASES = {"distances": _distances, "tril_triu": _tril_triu, "queries": _queries}


@pytest.mark.parametrize("mode", ["global", "local"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_shape_only_jacobian(name, mode):
    f = CASES[name]
    x = _rng.uniform(0.5, 1.5, 9 if name != "distances" else 12)
    P = tracer.jacobian_sparsity(f, x, mode=mode)
    J, tol, floor = reference_jacobian(lambda xp, z: f(z), x, complex_safe=False)
    assert_pattern_equal(P, nonzero_mask(J, tol, floor))


def test_electron_energy_hessian():
    x = _rng.normal(size=12)

    def energy(z):
        return 0.5 * np.sum(_distances(z))

    P = tracer.hessian_sparsity(energy, x)
    H, tol, floor = reference_hessian(lambda xp, z: energy(z), x, complex_safe=False)
    assert_pattern_equal(P, nonzero_mask(H, tol, floor))


@pytest.mark.parametrize("func", SHAPE_ONLY_FUNCTIONS, ids=lambda f: f.__name__)
def test_table_matches_numpy_on_values(func):
    """Every row gives what numpy gives on the plain array of the same shape and dtype."""
    x = _rng.uniform(size=(3, 3))
    args = {np.can_cast: (np.float32,), np.tril_indices_from: (1,),
            np.triu_indices_from: (-1,)}.get(func, ())
    seen = []

    def f(z):
        seen.append(func(z, *args))
        return z

    tracer.jacobian_sparsity(f, x)
    expected = func(x, *args)
    got = seen[0]
    if isinstance(expected, tuple) and expected and isinstance(expected[0], np.ndarray):
        assert all(np.array_equal(a, b) for a, b in zip(got, expected))
    else:
        assert got == expected
