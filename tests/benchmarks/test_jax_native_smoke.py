"""Smoke test of the JAX-native benchmark at tiny sizes (no timing assertions)."""
import importlib.util
import json

import pytest

pytest.importorskip("jax")

from benchmarks import jax_native  # noqa: E402

HAS_ASDEX = importlib.util.find_spec("asdex") is not None


def test_quick_run_checks_values_and_renders(tmp_path, capsys):
    out = tmp_path / "j.json"
    results = jax_native.main(["--sizes", "4", "--hessian-cases", "rosenbrock:20",
                               "--methods", "ours", "asdex", "--repeats", "1",
                               "--budget", "0.01", "--json", str(out), "--quiet"])
    saved = json.loads(out.read_text())
    assert [s["N"] for s in saved["jacobian"]] == [4]
    ours = results["jacobian"][0]["methods"]["ours"]
    assert ours["available"] and ours["rel_error"] < 1e-12
    for what in ("steady", "newton", "vmap", "first_call"):
        assert ours[what] > 0
    assert results["jacobian"][0]["methods"]["asdex"]["available"] == HAS_ASDEX
    hess = results["hessian"][0]["methods"]["ours"]
    assert hess["rel_error"] < 1e-12
    assert jax_native.README_START in jax_native.readme_section(saved)
    jax_native.main(["--from-json", str(out), "--readme"])
    assert "| N | n | method |" in capsys.readouterr().out
