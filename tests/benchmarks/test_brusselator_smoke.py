"""Smoke test of the main job at a tiny size, and the Brusselator variants against each other.

Timing values are never asserted (the machine is shared); only structure and correctness.
"""
import importlib.util
import json

import numpy as np
import pytest

from benchmarks import brusselator, problems

HAS = {name: importlib.util.find_spec(name) is not None
       for name in ("jax", "torch", "asdex", "sparsejac", "matplotlib")}


def _ours_ready(name="prepare_jacobian"):
    import sparsead
    import tracer

    return hasattr(sparsead, name) and hasattr(tracer, "jacobian_sparsity")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    # torch (slow first call) and the JAX ODE row are left out to keep this under budget;
    # the torch Brusselator twin is checked below, the backends in tests/sparsead.
    argv = ["--sizes", "4", "--ode-size", "4", "--repeats", "1", "--budget", "0.02",
            "--backends", "fd", "jax", "--ode-backends", "fd", "--cold-backends", "fd",
            "--json", str(out / "b.json"), "--quiet"]
    results = brusselator.main(argv)
    return out, results


def test_quick_run_writes_json_tables_and_plots(quick_run, capsys):
    out, results = quick_run
    saved = json.loads((out / "b.json").read_text())
    assert saved["sizes"][0]["N"] == 4 and saved["sizes"][0]["n"] == 32
    assert saved["sizes"][0]["nnz"] == 12 * 16
    assert set(saved["sizes"][0]["methods"]) >= {"fd", "jax"} | set(brusselator.PEERS)
    if HAS["matplotlib"]:
        assert (out / "brusselator_pattern.png").stat().st_size > 1000
        assert (out / "brusselator_scaling.png").stat().st_size > 1000
    # the tables can be printed again from the JSON, as text and as markdown
    brusselator.main(["--from-json", str(out / "b.json")])
    text = capsys.readouterr().out
    assert "Brusselator N=4: n=32" in text and "Stiff solve" in text
    brusselator.main(["--from-json", str(out / "b.json"), "--readme"])
    text = capsys.readouterr().out
    assert "| method | colors | steady N=4 |" in text and "| Jacobian | wall |" in text
    # cold and warm first calls, each in a new process, are reported separately
    (row,) = saved["new_process"]
    assert row["backend"] == "fd" and row["N"] == 4 and "error" not in row, row
    assert row["cold"] > 0 and row["warm"] > 0
    assert "first call of sparsead[fd] in a new process" in text
    assert "N=4 cold " in text and ", warm " in text
    section = brusselator.readme_section(saved)
    assert section.startswith(brusselator.README_START)
    assert section.endswith(brusselator.README_END)
    assert "docs/brusselator_scaling.png" in section


def test_every_method_is_measured_and_correct_or_says_why(quick_run):
    _, results = quick_run
    methods = results["sizes"][0]["methods"]
    for key, res in methods.items():
        if res["available"]:
            assert res["steady"] > 0 and res.get("first_call", res.get("compile")) > 0
            if res.get("rel_error") is not None:
                tol = 1e-5 if key in ("fd", "scipy") else 1e-10
                assert res["rel_error"] < tol, (key, res["rel_error"])
        else:
            assert isinstance(res["reason"], str) and res["reason"]
    for peer in ("asdex", "sparsejac"):
        assert methods[peer]["available"] == HAS[peer], methods[peer]
        if not HAS[peer]:
            assert "not installed" in methods[peer]["reason"]
    assert methods["scipy"]["available"]
    assert methods["jacfwd"]["available"] == HAS["jax"]
    if _ours_ready():
        assert methods["fd"]["available"], methods["fd"]
        if HAS["jax"]:
            assert methods["jax"]["available"], methods["jax"]


def test_ode_solutions_agree(quick_run):
    _, results = quick_run
    runs = results["ode"]["runs"]
    assert runs["jac_sparsity"]["available"] and runs["dense"]["available"]
    scale = results["ode"]["max_abs_y"]
    for key, run in runs.items():
        if run["available"]:
            assert run["max_abs_diff"] < 1e-3 * scale, (key, run["max_abs_diff"])
    if _ours_ready("ode_jacobian"):
        assert runs["ours"]["available"], runs["ours"]
        assert runs["ours"]["njev"] >= 1


def test_unavailable_peer_is_a_line_not_a_crash(tmp_path, monkeypatch):
    def missing(*args, **kwargs):
        raise brusselator.NotAvailable("asdex is not installed (pip install asdex)")

    monkeypatch.setattr(brusselator, "run_asdex", missing)
    results = brusselator.main(["--sizes", "3", "--ode-size", "0", "--backends", "fd",
                                "--peers", "asdex", "scipy", "--repeats", "1", "--budget",
                                "0.01", "--no-plots", "--json", str(tmp_path / "r.json"),
                                "--quiet"])
    rows, missing_lines = brusselator.size_rows(results["sizes"][0])
    assert any(line.startswith("asdex: not available: asdex is not installed")
               for line in missing_lines)
    assert any(row[0] == "scipy approx_derivative" for row in rows)


@pytest.mark.parametrize("N", [4, 5])
def test_torch_brusselator_matches_numpy(N):
    torch = pytest.importorskip("torch")
    y = problems.brusselator_initial(N) + 0.3
    for t in (0.0, 2.0):
        f = problems.make_brusselator_numpy(N, t)
        g = brusselator.make_brusselator_torch(N, t)
        np.testing.assert_allclose(g(torch.as_tensor(y)).numpy(), f(y), rtol=1e-13, atol=1e-10)


def test_ode_rhs_switches_forcing_at_1_1():
    N = 4
    rhs = brusselator.make_rhs_numpy(N)
    y = problems.brusselator_initial(N)
    np.testing.assert_array_equal(rhs(1.0, y), problems.make_brusselator_numpy(N, 1.0)(y))
    np.testing.assert_array_equal(rhs(1.2, y), problems.make_brusselator_numpy(N, 1.2)(y))


def test_reference_jacobian_matches_complex_step():
    N = 4
    x = brusselator._eval_point(N)
    R = brusselator.reference_jacobian(N, x, problems.brusselator_sparsity(N)).toarray()
    f = problems.make_brusselator_numpy(N, brusselator.EVAL_TIME)
    dense = np.stack([np.imag(f(x + 1e-30j * e)) / 1e-30 for e in np.eye(x.size)], axis=1)
    np.testing.assert_allclose(R, dense, rtol=1e-12, atol=1e-9)


def _dense_jacfwd(f, x):
    jax = pytest.importorskip("jax")
    return np.asarray(jax.jacfwd(f)(jax.numpy.asarray(x)))


@pytest.mark.parametrize("N", [4])
def test_numpy_and_jax_brusselator_sparse_jacobians_match_dense(N):
    """The issue's check: both implementations agree, and their sparse Jacobians
    computed by sparsead equal a dense ``jax.jacfwd`` Jacobian."""
    pytest.importorskip("jax")
    import sparsead

    x = brusselator._eval_point(N)
    f_np = problems.make_brusselator_numpy(N, 2.0)
    f_jax = problems.make_brusselator_jax(N, 2.0)
    np.testing.assert_allclose(np.asarray(f_jax(x)), f_np(x), rtol=1e-13, atol=1e-10)
    dense = _dense_jacfwd(f_jax, x)
    if not hasattr(sparsead, "jacobian"):
        pytest.skip("sparsead.jacobian not implemented yet")
    J_jax = sparsead.jacobian(f_jax, x, backend="jax", sparsity=problems.brusselator_sparsity(N))
    np.testing.assert_allclose(J_jax.toarray(), dense, rtol=1e-12, atol=1e-10)
    import tracer

    if not hasattr(tracer, "jacobian_sparsity"):
        pytest.skip("tracer.jacobian_sparsity not implemented yet")
    J_fd = sparsead.jacobian(f_np, x, backend="fd")  # pattern detected by the tracer
    assert J_fd.shape == dense.shape
    np.testing.assert_allclose(J_fd.toarray(), dense, rtol=1e-5,
                               atol=1e-6 * np.abs(dense).max())
    detected = J_fd.copy()
    detected.data[:] = 1
    assert np.all(detected.toarray()[dense != 0] == 1)  # never misses a nonzero


def test_update_readme_replaces_only_the_marked_section(quick_run, tmp_path):
    _, results = quick_run
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{brusselator.README_START}\nold\n{brusselator.README_END}\nrest\n")
    brusselator.update_readme(results, path=readme)
    text = readme.read_text()
    assert text.startswith("intro\n") and text.endswith("\nrest\n") and "\nold\n" not in text
    assert brusselator.readme_section(results) in text
