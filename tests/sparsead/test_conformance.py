"""The backend conformance suite on the numpy backends ("fd" and Custom); S2's test files
run it on "jax" and "torch"."""

import numpy as np
import pytest

from sparsead.backends import Custom, FiniteDifferences
from sparsead.testing import SCENARIOS, CountingBackend, check_backend


@pytest.mark.parametrize("method", ["forward", "central", "complex"])
def test_fd_backend_conforms(method):
    report = check_backend(FiniteDifferences(method))
    assert not report.failures and not report.skipped
    names = {r.scenario for r in report.passed}
    assert names == {sc.name for sc in SCENARIOS}


def test_fd_backend_conforms_chunked():
    report = check_backend("fd", chunk_size=2, dtypes=(np.float64,))
    assert not report.failures


def _complex_step_products(f, args):
    """Custom callables from complex steps of the scenario's numpy f (exact to rounding)."""
    h = 1e-30

    def jvp(x, V, *a):
        return np.stack([np.imag(np.asarray(f(x + 1j * h * v.reshape(x.shape), *a))).ravel() / h
                         for v in V])
    return jvp


def _custom_factory(batched):
    def factory(scenario, f, args):
        if scenario.kind == "hessian":
            grad = scenario.grad

            def hvp(x, V, *a):
                out = [np.imag(grad(x + 1e-30j * v.reshape(x.shape), *a)).ravel() / 1e-30
                       for v in V]
                return np.stack(out)
            if not batched:
                return Custom(hvp=lambda x, v, *a: hvp(x, v.reshape(1, -1), *a)[0],
                              batched=False)
            return Custom(hvp=hvp)
        jvp = _complex_step_products(f, args)
        if not batched:
            return Custom(jvp=lambda x, v, *a: jvp(x, v.reshape(1, -1), *a)[0], batched=False)
        return Custom(jvp=jvp)
    return factory


@pytest.mark.parametrize("batched", [True, False])
def test_custom_backend_conforms(batched):
    report = check_backend(factory=_custom_factory(batched))
    assert not report.failures and not report.skipped
    assert all(r.error < 1e-9 for r in report.passed if r.dtype == "float64")


def test_counting_backend_counts_calls_and_rows():
    be = CountingBackend(FiniteDifferences())
    ctx = be.prepare(lambda x: x ** 2, np.ones(4))
    be.jvp(ctx, np.ones(4), np.eye(4)[:3])
    be.jvp_gather_entries(ctx, np.ones(4), np.eye(4), np.arange(4), np.arange(4))
    assert be.total_calls == 2 and be.total_rows == 7
    be.reset()
    assert be.total_calls == 0


class WrongValuesBackend(FiniteDifferences):
    name = "wrong"

    def jvp_gather_entries(self, ctx, x, V, flat_index, entry_input, out=None):
        y, vals = super().jvp_gather_entries(ctx, x, V, flat_index, entry_input, out=out)
        vals *= 1.01
        return y, vals


def test_suite_reports_wrong_values():
    with pytest.raises(AssertionError, match="values differ"):
        check_backend(WrongValuesBackend("complex"), dtypes=(np.float64,))
    report = check_backend(WrongValuesBackend("complex"), dtypes=(np.float64,),
                           raise_on_failure=False)
    failing = {r.scenario for r in report.failures}
    assert "brusselator" in failing and "rosenbrock_hessian" not in failing
    assert "failed" in report.summary()


def test_check_backend_argument_errors():
    with pytest.raises(TypeError, match="exactly one"):
        check_backend()
    with pytest.raises(TypeError, match="exactly one"):
        check_backend("fd", factory=lambda *a: None)


def test_custom_backend_with_jvp_and_vjp_conforms_bidirectionally():
    """With both products the bidirectional scenarios run as bicolorings, and mode="auto"
    picks one where it needs fewer products (dense rows and dense columns)."""
    def factory(scenario, f, args):
        if scenario.kind == "hessian":
            return _custom_factory(True)(scenario, f, args)
        jvp = _complex_step_products(f, args)

        def vjp(x, W, *a):
            J = jvp(x, np.eye(x.size), *a).T  # (m, n) by complex steps: the reference
            return W @ J
        return Custom(jvp=jvp, vjp=vjp)

    report = check_backend(factory=factory, dtypes=(np.float64,))
    assert not report.failures
    by_name = {r.scenario: r for r in report.passed}
    for name in ("arrowhead_bidirectional", "dense_rows_and_columns",
                 "bidirectional_substitution", "arrowhead"):
        assert by_name[name].mode == "bidirectional", name
        assert by_name[name].ncolors <= 5
    assert by_name["banded"].mode in ("column", "row")
    assert all(r.error < 1e-9 for r in report.passed)
