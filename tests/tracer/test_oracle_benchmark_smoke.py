"""Smoke test: ``python -m benchmarks.detection`` runs end to end at tiny sizes.

No timing is asserted (the machine is shared); only that every case runs, prints one line,
finds the exact pattern, and that ``--json`` writes the results.
"""
from __future__ import annotations

import io
import json

from benchmarks import detection


def test_detection_benchmark_tiny(tmp_path):
    path = tmp_path / "detection.json"
    out = io.StringIO()
    results = detection.main(
        ["--sizes", "4,6", "--loop-sizes", "4", "--hessian-sizes", "4",
         "--objective-sizes", "50", "--jax-sizes", "4", "--local-sizes", "4",
         "--torch-sizes", "4", "--no-peers",
         "--repeat", "1",
         "--json", str(path)], out=out)
    text = out.getvalue()
    cases = {(r.case, r.size) for r in results}
    assert ("jacobian numpy brusselator", 6) in cases
    assert ("jacobian loop brusselator", 4) in cases
    assert ("hessian brusselator sum(f^2)", 4) in cases
    assert ("hessian rosenbrock", 50) in cases and ("hessian arrowhead", 50) in cases
    assert ("jacobian jax front-end", 4) in cases
    assert ("prepared local J(x), new x", 4) in cases
    assert ("jacobian torch front-end", 4) in cases
    for r in results:
        if "front-end" not in r.case:     # JAX or torch may be unavailable
            assert r.correct, f"{r.case} N={r.size}: wrong pattern"
            assert r.first_s is not None and r.median_s is not None and r.float_s
        assert r.case in text
    torch_row = next(r for r in results if r.case == "jacobian torch front-end")
    if not torch_row.note.startswith("not available"):
        assert torch_row.correct
    payload = json.loads(path.read_text())
    assert len(payload["results"]) == len(results)
    assert "# done" in text


def test_detection_parser_defaults():
    args = detection.build_parser().parse_args([])
    assert args.sizes == [32, 64, 128, 256]
    assert args.hessian_sizes == [32, 64]
    assert args.objective_sizes == [10_000, 100_000]
    assert args.loop_sizes == [32]
    assert args.local_sizes == [32, 64]
    assert args.torch_sizes == [32, 64, 128]
    assert detection.build_parser().parse_args(["--sizes", "1e2"]).sizes == [100]
