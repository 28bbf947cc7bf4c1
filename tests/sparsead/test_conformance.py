"""The backend conformance suite on the numpy backends ("fd" and Custom); S2's test files
run it on "jax" and "torch"."""

import numpy as np
import pytest

from sparsead.backends import Backend, Custom, FiniteDifferences, ProductRequest
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
    request = ProductRequest("jvp", np.eye(4), np.arange(4) * 5, np.arange(4))
    _, vals = be.products(ctx, np.ones(4), request)
    np.testing.assert_allclose(vals, 2.0, rtol=1e-6)
    assert be.total_calls == 2 and be.total_rows == 7
    be.reset()
    assert be.total_calls == 0


class WrongValuesBackend(FiniteDifferences):
    name = "wrong"

    def products(self, ctx, x, request, out=None):
        y, vals = super().products(ctx, x, request, out=out)
        if request.kind == "jvp":
            vals = vals * 1.01
        return y, vals


class JvpOnly(Backend):
    """Written against the plain jvp alone: complex steps, exact to rounding."""

    name = "jvp-only"
    array_library = "numpy"

    def prepare(self, f, x, args=(), *, kinds=frozenset({"jvp"})):
        return f, args

    def value(self, ctx, x):
        f, args = ctx
        return np.asarray(f(x, *args)).ravel()

    def jvp(self, ctx, x, V):
        f, args = ctx
        h = 1e-30 if x.dtype == np.float64 else 1e-15
        rows = [np.imag(np.asarray(f(x + 1j * h * v.reshape(x.shape), *args))).ravel() / h
                for v in V]
        return self.value(ctx, x), np.stack(rows).astype(x.dtype)


def test_a_backend_with_only_jvp_conforms_through_the_default_products():
    be = JvpOnly()
    assert be.supports("jvp") and not be.supports("vjp") and not be.supports("hvp")
    report = check_backend(be)
    assert not report.failures
    assert {r.scenario for r in report.skipped} == {s.name for s in SCENARIOS
                                                   if s.kind == "hessian"}
    assert all(r.error < 1e-9 for r in report.passed if r.dtype == "float64")


class ReusesItsBuffer(JvpOnly):
    """Breaks the products contract: hands out the same array on every call."""

    name = "reuses"

    def products(self, ctx, x, request, out=None):
        y, vals = super().products(ctx, x, request)
        buf = getattr(self, "_buf", None)
        if buf is None or buf.shape != vals.shape or buf.dtype != vals.dtype:
            buf = self._buf = np.empty_like(vals)
        buf[...] = vals
        return y, buf


def test_suite_reports_a_backend_that_reuses_its_output_buffer():
    few = [s for s in SCENARIOS if s.name == "banded"]
    report = check_backend(ReusesItsBuffer(), scenarios=few, dtypes=(np.float64,),
                           raise_on_failure=False)
    assert report.failures and "changed at a later evaluation" in report.failures[0].detail


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
