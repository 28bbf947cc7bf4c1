"""Smoke test of the coloring benchmark script (tiny problem, no timing assertions)."""
import json

from benchmarks import coloring as bench


def test_benchmark_smoke(tmp_path, capsys):
    path = tmp_path / "rows.json"
    assert bench.main(["--smoke", "--json", str(path)]) == 0
    rows = json.loads(path.read_text())
    out = capsys.readouterr().out
    assert "first-call" in out
    problems = {r["problem"] for r in rows}
    assert {"column", "row", "star", "acyclic", "decomp"} <= problems
    for r in rows:
        if r["problem"] == "column" and r["method"] in ("largest_first", "best+improve"):
            assert r["colors"] >= 6  # the Brusselator lower bound
        if r["method"] == "scipy group_columns":
            assert r["colors"] >= 6


def test_benchmark_helpers():
    A = bench.laplacian2d(4)
    assert A.shape == (16, 16) and A.nnz == 16 + 2 * 2 * 4 * 3
    B = bench.laplacian3d(3)
    assert B.shape == (27, 27)
    R = bench.random_rows(50, 3, seed=1)
    assert R.shape == (50, 50) and R.nnz <= 150
    assert bench.symmetric_or_none(R) is None or (R != R.T).nnz == 0
