"""The command line, run as a subprocess on the shared SuiteSparse matrices."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp

from coloring._cli import main

REPO = Path(__file__).resolve().parents[2]
MATRIX_DIRS = [REPO.parent / "shared" / "matrices", REPO / "shared" / "matrices"]
MATRICES = next((d for d in MATRIX_DIRS if d.is_dir()), None)


def matrix(name):
    if MATRICES is None or not (MATRICES / name).exists():
        pytest.skip(f"shared matrix {name} not available")
    return MATRICES / name


def run_cli(*args):
    # the timeout is a hang guard only: with a cold Numba cache the kernels compile first
    return subprocess.run([sys.executable, "-m", "coloring", *map(str, args)],
                          capture_output=True, text=True, cwd=REPO, timeout=600)


def parse(stdout):
    out = {}
    for line in stdout.splitlines():
        key, _, value = line.partition(": ")
        out[key] = value
    return out


def test_cli_column_and_output_file(tmp_path):
    path = matrix("west0479.mtx")
    out_file = tmp_path / "colors.txt"
    proc = run_cli(path, "--order", "largest_first,smallest_last", "--output", out_file)
    assert proc.returncode == 0, proc.stderr
    info = parse(proc.stdout)
    assert info["n"].startswith("479")
    assert info["nnz"] == "1910"  # the 22 explicit zeros are structural
    colors = np.loadtxt(out_file, dtype=int)
    assert colors.shape == (479,)
    assert int(info["colors"]) == colors.max() + 1
    assert int(info["colors"]) >= int(info["lower bound (max nonzeros in a row)"])
    assert float(info["seconds"]) >= 0 and float(info["compile seconds"]) >= 0
    # brute-force validity: no row holds two columns of one color
    A = sp.csr_array(scipy.io.mmread(path))
    for i in range(A.shape[0]):
        row_colors = colors[A.indices[A.indptr[i]:A.indptr[i + 1]]]
        assert len(set(row_colors)) == row_colors.size


def test_cli_star_on_symmetric_matrix(capsys):
    assert main([str(matrix("1138_bus.mtx")), "--problem", "star", "--order", "smallest_last"]) == 0
    info = parse(capsys.readouterr().out)
    assert info["problem"] == "star"
    assert int(info["colors"]) >= 2
    assert "max degree + 1" in info


def test_cli_errors(tmp_path, capsys):
    path = str(matrix("west0479.mtx"))
    assert main([path, "--problem", "star"]) == 2
    assert "symmetric" in capsys.readouterr().err
    assert main([path, "--order", "nope"]) == 2
    assert "unknown order" in capsys.readouterr().err
    assert main([str(tmp_path / "missing.mtx")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_cli_in_process(tmp_path, capsys):
    path = tmp_path / "small.mtx"
    scipy.io.mmwrite(path, sp.coo_array(np.array([[1.0, 0, 2], [0, 3, 0], [4, 0, 0]])))
    assert main([str(path), "--problem", "row", "--order", "best", "--improve", "3"]) == 0
    info = parse(capsys.readouterr().out)
    assert info["colors"] == "2"
    assert main([str(path), "--problem", "star", "--symmetrize", "--order", "all"]) == 0
