"""Errors a first-time user meets name the problem and the fix (issue 11)."""
from __future__ import annotations

import pydoc

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.integrate import solve_ivp

import sparsead


def rhs(t, y):
    lap = np.concatenate(([0.0], y[:-2] - 2.0 * y[1:-1] + y[2:], [0.0]))
    return 50.0 * lap - y**3


def rhs_out_first(out, t, y):
    out[:] = rhs(t, y)


def rhs_out_last(t, y, out):
    out[:] = rhs(t, y)


Y0 = np.sin(np.linspace(0.0, np.pi, 12)) ** 2


def test_inplace_ode_rhs_out_first_matches_the_out_of_place_one():
    ref = sparsead.ode_jacobian(rhs, 0.0, Y0)
    jac = sparsead.ode_jacobian(rhs_out_first, 0.0, Y0, out=np.zeros_like(Y0))
    np.testing.assert_allclose(jac(0.3, Y0 + 0.1).toarray(), ref(0.3, Y0 + 0.1).toarray())
    sol = solve_ivp(rhs, (0.0, 0.1), Y0, method="BDF", jac=jac)
    assert sol.status == 0


def test_inplace_ode_rhs_in_the_wrong_order_is_named():
    y0 = Y0.copy()
    with pytest.raises(sparsead.SparseADError, match=r"fun\(t, y, out, \*args\)") as info:
        sparsead.ode_jacobian(rhs_out_last, 0.0, y0, out=np.zeros_like(y0))
    assert "fun(out, t, y" in str(info.value)
    np.testing.assert_array_equal(y0, Y0)  # the probe never writes into the caller's y0


def test_inplace_ode_rhs_without_out_names_the_fix():
    with pytest.raises(sparsead.SparseADError, match=r"in-place .*Pass out="):
        sparsead.ode_jacobian(rhs_out_first, 0.0, Y0)


def test_inplace_f_without_out_names_the_fix():
    def f(out, x):
        out[:] = x[1:] * x[:-1]

    x = np.arange(1.0, 6.0)
    with pytest.raises(sparsead.SparseADError, match=r"in-place function f\(out, x.*out="):
        sparsead.jacobian(f, x)
    J = sparsead.jacobian(f, x, out=np.zeros(4))
    np.testing.assert_allclose(J.toarray(), sp.diags_array([x[1:], x[:-1]], offsets=[0, 1],
                                                           shape=(4, 5)).toarray(), rtol=1e-6)


def test_a_plain_type_error_of_f_is_not_blamed_on_out():
    def f(x):
        return x + "a"

    with pytest.raises(TypeError) as info:
        sparsead.jacobian(f, np.ones(3))
    assert "out=" not in str(info.value)


@pytest.mark.parametrize("call", [
    lambda x: sparsead.jacobian(np.sin, x),
    lambda x: sparsead.hessian(lambda v: np.sum(v**2), x, grad=lambda v: 2 * v),
    lambda x: sparsead.ode_jacobian(lambda t, y: -y, 0.0, x),
])
def test_complex_x_is_refused_without_suggesting_a_cast(call):
    with pytest.raises(sparsead.SparseADError, match="complex input is not supported") as info:
        call(np.ones(3) + 1j)
    assert "astype(float)" not in str(info.value)


def test_help_of_the_package_is_short_and_documents_the_exceptions():
    text = pydoc.render_doc(sparsead, renderer=pydoc.plaintext)
    # the entry points' own docstrings; the exceptions' inherited members made it > 1000
    assert len(text.splitlines()) < 800
    assert "inherited from builtins" not in text  # no exception boilerplate
    for name in ("SparseADError", "SparsityDetectionError", "BackendUnavailableError",
                 "UnsupportedProductError", "ColorEvaluationError"):
        assert name in text
        assert issubclass(getattr(sparsead, name), Exception)


def test_torch_extra_is_a_lower_bound_only():
    tomllib = pytest.importorskip("tomllib")
    from pathlib import Path

    meta = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    extras = meta["project"]["optional-dependencies"]
    assert extras["torch"] == ["torch>=2.4"]  # users are not forced onto one build


def test_a_small_first_jacobian_compiles_nothing(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys, numpy as np, sparsead\n"
            "J = sparsead.jacobian(lambda x: x**2, np.ones(3))\n"
            "assert np.allclose(J.toarray(), 2 * np.eye(3))\n"
            "print('ok')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[2], timeout=300,
                          env=dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path)))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "ok"
    # No kernel was compiled: Numba writes every kernel it compiles (cache=True) there.
    # (The tracer still imports Numba and builds its typing tables before patching numpy,
    # so that a kernel compiled in another thread during a trace types correctly.)
    assert not any(tmp_path.rglob("*.nb*")), sorted(p.name for p in tmp_path.rglob("*"))
