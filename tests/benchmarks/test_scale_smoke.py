"""benchmarks.scale on tiny sizes: the measurement, the fit, the tables and the targets."""
import numpy as np

from benchmarks import scale


def test_measure_size_reports_every_stage():
    r = scale.measure_size(8, repeats=1)
    assert r["nnz"] == 6 * 2 * 8 * 8 and r["colors"] >= 6
    assert set(r["stages"]) == set(scale.STAGES)
    assert set(r["stage_peak_bytes"]) == set(scale.STAGES)
    assert r["f_evals"] > 0 and r["peak_bytes"] >= max(r["stage_peak_bytes"].values())
    # J(x, out=M) less its calls of f: nested CPU intervals, so within [0, J(x, out=M)]
    assert 0 <= r["own_work"] <= r["steady_out"]


def _fake(N, nnz, slope):
    t = 1e-8 * nnz ** slope
    return {"N": N, "n": nnz // 6, "nnz": nnz, "backend": "fd", "colors": 10, "f": t / 10,
            "prepare_wall": 4 * t, "stages": {k: t for k in scale.STAGES},
            "stage_peak_bytes": {k: 50 * nnz for k in scale.STAGES}, "steady": t,
            "f_evals": 10.0, "steady_out": t, "f_evals_out": 10.0, "peak_bytes": 50 * nnz,
            "bytes_per_nnz": 50.0}


def test_growth_exponent_fit_recovers_the_slope():
    sizes = [_fake(N, 12 * N * N, 1.1) for N in (256, 512, 1024)]
    exps = scale.growth_exponents(sizes)
    assert np.isclose(exps["detect"], 1.1) and np.isclose(exps["peak memory"], 1.0)


def test_render_and_targets_of_a_run():
    sizes = [_fake(N, 12 * N * N, 1.0) for N in (256, 2236)]
    results = {"meta": {"date": "d", "machine": "m", "loadavg": "1.0"}, "sizes": sizes,
               "exponents": scale.growth_exponents(sizes),
               "tradeoff": {"N": 256, "nnz": 786432,
                            "rows": [{"budget": "effort 1 (default)", "colors": 10,
                                      "time": 0.1}]}}
    results["targets"] = scale.check_targets(results)
    assert [t["met"] for t in results["targets"]] == [True, True, True, True]
    text = scale.readme_section(results)
    assert text.startswith(scale.README_START) and text.endswith(scale.README_END)
    assert "| 2236 |" in text and "effort 1 (default)" in text
