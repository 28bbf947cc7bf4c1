"""The sdist and wheel build, and the wheel works outside the source tree.

``python -m build`` makes both (without build isolation: setuptools is already here, and
nothing is downloaded); the wheel goes into a fresh virtual environment in a temporary
folder, which sees the installed dependencies (``--system-site-packages``) but not this
checkout, and every submodule of tracer, coloring and sparsead is imported from there, each
in a process of its own (a fork taken after the third-party dependencies are loaded).
"""

import os
import shutil
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

import sparsead

ROOT = Path(__file__).resolve().parents[1]

IMPORT_ALL = r"""
import importlib, importlib.util, os, sys, traceback
from pathlib import Path
venv_prefix = sys.argv[1]
# the third-party dependencies once, then each module of ours in a fresh fork: a module
# that only works after a sibling happened to be imported first fails here
import numpy, scipy.sparse, numba  # noqa: E401
failed = []
for package in ("tracer", "coloring", "sparsead"):
    root = Path(importlib.util.find_spec(package).submodule_search_locations[0])
    assert str(root).startswith(venv_prefix), (package, root)
    names = []
    for path in sorted(root.rglob("*.py")):
        parts = [package, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__main__":
            continue
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    for name in names:
        pid = os.fork()
        if pid == 0:
            try:
                module = importlib.import_module(name)
                assert module.__file__.startswith(venv_prefix), (name, module.__file__)
            except BaseException:
                traceback.print_exc()
                os._exit(1)
            os._exit(0)
        if os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) != 0:
            failed.append(name)
    print(package, len(names), "modules")
assert not failed, f"modules that do not import on their own: {failed}"
import sparsead
print("version", sparsead.__version__)
"""

SKIPPED_NAMES = shutil.ignore_patterns(".git", "__pycache__", "*.egg-info", ".*_cache",
                                       ".hypothesis")
SKIPPED_PATHS = {ROOT / p for p in ("build", "dist", "docs/_build", "docs/auto_examples",
                                    "docs/api/generated", "docs/api/modules",
                                    "docs/benchmarks/generated", "benchmarks/results")}


def skip_outputs(folder, names):
    """Build outputs and caches are not copied (the ignored paths of .gitignore)."""
    skipped = set(SKIPPED_NAMES(folder, names))
    return skipped | {n for n in names if Path(folder, n) in SKIPPED_PATHS}


def run(cmd, **kwargs):
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kwargs)
    assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return proc.stdout


@pytest.mark.slow
def test_wheel_installs_and_imports_in_a_fresh_venv(tmp_path):
    pytest.importorskip("build", reason="python -m build needs the test extra")
    # a copy of the checkout, so that the build's egg-info and build/ stay out of it
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=skip_outputs)
    dist = tmp_path / "dist"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    # the sdist first, then the wheel from the unpacked sdist (build's default)
    run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(src)],
        env=env, cwd=tmp_path)
    version = sparsead.__version__
    (wheel,) = dist.glob(f"sparsead-{version}-*.whl")
    (sdist,) = dist.glob(f"sparsead-{version}.tar.gz")

    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
    for package in ("tracer", "coloring", "sparsead"):
        assert f"{package}/__init__.py" in names and f"{package}/py.typed" in names
    assert not any(n.startswith(("tests/", "benchmarks/", "docs/")) for n in names)
    with tarfile.open(sdist) as tf:
        members = tf.getnames()
    for path in ("pyproject.toml", "README.md", "sparsead/_version.py", "coloring/_plot.py"):
        assert f"sparsead-{version}/{path}" in members, path

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(env_dir)
    python = env_dir / ("Scripts" if os.name == "nt" else "bin") / "python"
    # this interpreter's pip installs into the venv: no pip bootstrap, no download
    run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
         "--no-index", str(wheel)], env=env, cwd=tmp_path)
    out = run([str(python), "-c", IMPORT_ALL, str(env_dir)], env=env, cwd=tmp_path)
    assert f"version {version}" in out
    for package in ("tracer", "coloring", "sparsead"):
        assert f"{package} " in out
