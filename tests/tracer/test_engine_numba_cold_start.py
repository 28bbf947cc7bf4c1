"""Tracing with a cold Numba cache must not break later Numba compilations.

Numba builds its typing tables lazily on the first compilation. If that first
compilation happens inside a trace, while ``np.zeros``/``np.empty`` are patched, the
tables would record the wrappers and every later kernel calling ``np.zeros`` (in the
coloring package, for one) would fail to compile. A warm developer cache hides this, so
the test runs in a subprocess with an empty cache directory.
"""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_trace_then_color_with_a_cold_numba_cache(tmp_path):
    code = textwrap.dedent("""
        import numpy as np
        import tracer, coloring
        from benchmarks.problems import make_brusselator_numpy, brusselator_initial
        from benchmarks.problems import brusselator_sparsity
        N = 6
        P = tracer.jacobian_sparsity(make_brusselator_numpy(N), brusselator_initial(N))
        assert (P != brusselator_sparsity(N)).nnz == 0
        assert np.zeros is np.__dict__["zeros"]
        r = coloring.color(P, "column", order="largest_first")
        coloring.check(P, r)
        print("ok", r.ncolors)
    """)
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path), PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.startswith("ok")
