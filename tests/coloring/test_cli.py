"""The command line, run as a subprocess on the shared SuiteSparse matrices."""
import re
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
    assert "max degree + 1" not in info  # not a bound for star/acyclic colorings
    bound = int(info["lower bound (size of a clique found greedily)"])
    assert 2 <= bound <= int(info["colors"])


@pytest.mark.parametrize("problem", ["star", "acyclic"])
def test_cli_symmetric_bound_is_a_clique_and_below_the_colors(tmp_path, capsys, problem):
    # an arrowhead: max degree + 1 = n, but 2 colors suffice (the clique bound is 2)
    n = 12
    A = sp.lil_array((n, n))
    A[0, :] = 1
    A[:, 0] = 1
    A.setdiag(1)
    path = tmp_path / "arrow.mtx"
    scipy.io.mmwrite(path, sp.coo_array(A))
    assert main([str(path), "--problem", problem]) == 0
    info = parse(capsys.readouterr().out)
    bound = int(info["lower bound (size of a clique found greedily)"])
    assert bound == 2 <= int(info["colors"]) < n


def test_cli_errors(tmp_path, capsys):
    path = str(matrix("west0479.mtx"))
    assert main([path, "--problem", "star"]) == 2
    err = capsys.readouterr().err
    assert "symmetric" in err and "--symmetrize" in err and "symmetrize=True" not in err
    assert "--problem column" in err
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


def test_cli_messages_name_the_flags(tmp_path, capsys):
    from coloring._cli import as_flags
    assert as_flags("pass symmetrize=True to color A | A.T, or use problem='column'") == (
        "pass --symmetrize to color A | A.T, or use --problem column")
    path = tmp_path / "lower.mtx"
    scipy.io.mmwrite(path, sp.coo_array(np.array([[1.0, 0, 0], [2, 1, 0], [0, 3, 1]])))
    assert main([str(path), "--problem", "acyclic"]) == 2
    err = capsys.readouterr().err
    assert "--symmetrize" in err and "symmetrize=True" not in err
    assert main([str(path), "--problem", "acyclic", "--symmetrize"]) == 0


def test_cli_help_describes_every_option_with_its_default(capsys):
    from coloring._cli import build_parser
    parser = build_parser()
    options = [a for a in parser._actions if a.option_strings and a.dest != "help"]
    assert all(a.help for a in options)
    text = parser.format_help()
    assert len(re.findall(r"\(default:\s", text)) == len(options)
    assert "(default: column)" in text and "(default: largest_first)" in text
    assert "(default: 0)" in text
