"""Smoke test of the Hessian benchmark at tiny sizes (no timing assertions)."""
import importlib.util
import json

import numpy as np
import pytest
import scipy.sparse as sp

from benchmarks import hessian

HAS_JAX = importlib.util.find_spec("jax") is not None
HAS_ASDEX = importlib.util.find_spec("asdex") is not None


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("hess") / "h.json"
    results = hessian.main(["--cases", "brusselator:3", "rosenbrock:20", "arrowhead:20",
                            "--repeats", "1", "--budget", "0.02", "--json", str(out),
                            "--quiet"])
    return out, results


def test_quick_run_writes_json_and_reports_every_method(quick_run, capsys):
    out, results = quick_run
    saved = json.loads(out.read_text())
    assert [c["case"] for c in saved["cases"]] == ["brusselator", "rosenbrock", "arrowhead"]
    for case in results["cases"]:
        assert set(case["methods"]) == set(hessian.METHOD_LABELS)
        for key, res in case["methods"].items():
            if res["available"]:
                assert res["steady"] > 0
                if res.get("rel_error") is not None:
                    tol = 1e-4 if key.startswith("fd") else 1e-10
                    assert res["rel_error"] < tol, (case["label"], key, res["rel_error"])
            else:
                assert res["reason"]
        assert case["methods"]["asdex"]["available"] == HAS_ASDEX
    hessian.main(["--from-json", str(out), "--readme"])
    assert "| method |" in capsys.readouterr().out


def test_ours_runs_once_the_pipeline_exists(quick_run):
    import sparsead
    import tracer

    if not (hasattr(tracer, "hessian_sparsity") and hasattr(sparsead, "prepare_hessian")):
        pytest.skip("tracer.hessian_sparsity / sparsead.prepare_hessian not implemented yet")
    _, results = quick_run
    for case in results["cases"]:
        assert case["detect"]["missing"] == 0, case["label"]
        if HAS_JAX:
            assert case["methods"]["jax_star"]["available"], case["methods"]["jax_star"]


@pytest.mark.parametrize("name", ["rosenbrock", "arrowhead"])
def test_analytic_reference_hessians_match_jax(name):
    jax = pytest.importorskip("jax")
    case = hessian.Case(name, 7)
    dense = np.asarray(jax.jit(jax.hessian(case.g_jax))(jax.numpy.asarray(case.x)))
    np.testing.assert_allclose(hessian.reference_hessian(case).toarray(), dense, rtol=1e-12,
                               atol=1e-12)
    np.testing.assert_allclose(case.grad()(case.x), np.asarray(jax.grad(case.g_jax)(case.x)),
                               rtol=1e-12)
    assert np.array_equal(dense != 0, case.exact.toarray() | (dense != 0))  # pattern covers


def test_brusselator_reference_hessian_matches_dense():
    jax = pytest.importorskip("jax")
    case = hessian.Case("brusselator", 3)
    dense = np.asarray(jax.jit(jax.hessian(case.g_jax))(jax.numpy.asarray(case.x)))
    R = hessian.reference_hessian(case)
    np.testing.assert_allclose(R.toarray(), dense, rtol=1e-11, atol=1e-8)
    assert not np.any((dense != 0) & ~case.exact.toarray())
    np.testing.assert_allclose(case.g_np(case.x), float(case.g_jax(case.x)), rtol=1e-13)


def test_triangle_result_is_symmetrised_before_comparing():
    R = sp.csr_array(np.array([[2.0, 1.0], [1.0, 3.0]]))
    assert hessian.relative_error(sp.tril(R), R) == 0.0
    assert hessian.relative_error(R * 1.5, R) == pytest.approx(0.5)
