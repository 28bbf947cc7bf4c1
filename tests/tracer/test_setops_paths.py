"""Which path the tracer's set operations take, checked in fresh processes (tracer._setops).

Small traces must compile nothing (Numba is imported and its typing tables are built
before numpy is patched, but no kernel runs); large ones use the Numba kernels, whose
module is imported before numpy is patched.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run(code: str, cache_dir: Path) -> str:
    """Run ``code`` in a new process with an empty Numba cache (kernels really compile)."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPO, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_small_inputs_with_large_intermediates_stay_on_numpy(tmp_path):
    out = run(
        "import sys, numpy as np, tracer\n"
        "P = tracer.jacobian_sparsity(lambda x: np.outer(x, x).ravel(), np.ones(300))\n"
        "assert P.shape == (90000, 300) and P.nnz == 2 * 90000 - 300\n"
        "print(sys.modules['tracer._kernels'].union2.signatures)\n", tmp_path)
    assert out.strip() == "[]"
    # nothing compiled: Numba writes every kernel it compiles (cache=True) there
    assert not any(tmp_path.rglob("*.nb*"))


def test_large_traces_use_the_kernels_imported_before_patching(tmp_path):
    out = run(
        "import sys, numpy as np, tracer\n"
        "from tracer import _setops\n"
        "n = 2 * _setops.COMPILE_MIN_SIZE\n"
        "P = tracer.jacobian_sparsity(lambda x: x[1:] * x[:-1] + np.sin(x[1:]),\n"
        "                             np.ones(n))\n"
        "assert P.shape == (n - 1, n) and P.nnz == 2 * (n - 1)\n"
        "print(sys.modules['tracer._kernels'].union2.signatures != [])\n", tmp_path)
    assert out.strip() == "True"
