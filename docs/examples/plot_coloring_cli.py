"""
Coloring a SuiteSparse matrix from the command line
===================================================

``python -m coloring`` reads a Matrix Market file, colors it, and prints the number of
colors next to a bound, and the time. Here it runs on ``1138_bus``, the admittance matrix
of a power network from the SuiteSparse Matrix Collection (symmetric, 1138 x 1138), as
one would color the Hessian of a problem with that structure.

The matrix is read from the project's shared matrices when they are there (the
collection's files are not shipped with sparsead); elsewhere a 2D Laplacian written to a
temporary Matrix Market file stands in for it.
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import scipy.io
import scipy.sparse as sp

import coloring

# the checkout's shared matrices sit next to it, or above the folder this runs in
here = Path.cwd().resolve()
candidates = [d / "shared" / "matrices" / "1138_bus.mtx" for d in (here, *here.parents)]
matrix = next((p for p in candidates if p.exists()), None)
if matrix is None:
    T = sp.diags_array([-1.0, 2.0, -1.0], offsets=[-1, 0, 1], shape=(34, 34))
    matrix = Path(tempfile.mkdtemp()) / "laplacian_34x34.mtx"
    scipy.io.mmwrite(matrix, sp.coo_matrix(sp.kronsum(T, T)), symmetry="symmetric")
print("matrix:", matrix.name)

# %%
# Star coloring (for a Hessian), best of several orders
# ------------------------------------------------------
# The command line is ``python -m coloring MATRIX.mtx --problem star --order best``.

# the command line runs in a new process: let it import the same coloring package
package_root = str(Path(coloring.__file__).resolve().parents[1])
env = dict(os.environ, PYTHONPATH=os.pathsep.join([package_root, os.environ.get("PYTHONPATH", "")]))


def run(*args):
    out = subprocess.run([sys.executable, "-m", "coloring", str(matrix), *args],
                         capture_output=True, text=True, env=env, check=True)
    print(out.stdout)


run("--problem", "star", "--order", "best")

# %%
# Column coloring (for a Jacobian with this pattern) with the improvement pass
# ----------------------------------------------------------------------------
# For a column coloring the lower bound is the most nonzeros in a row; ``--improve``
# runs iterated-greedy passes that stop once they reach it.

run("--problem", "column", "--order", "smallest_last", "--improve", "50")

# %%
# The same from Python, with a picture
# ------------------------------------
# The pattern of a power network has no band structure; the colors are spread over it.

A = sp.csr_array(scipy.io.mmread(matrix))
star = coloring.color(A, problem="star", order=coloring.BEST_ORDERS)
print(star, "lower bound:", star.lower_bound)
star.plot()
plt.show()
