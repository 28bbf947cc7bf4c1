"""The documentation builds with warnings as errors, and its code runs.

The build is ``python -m sphinx -W -b html docs docs/_build/html`` (here into a temporary
folder): it executes the gallery examples (sphinx-gallery stops at the first error) and
the ``plot`` directives, and generates the API pages from each package's ``__all__``.
The user guide's ``code-block:: python`` blocks are not run by Sphinx, so they run here,
page by page in one namespace, as a reader would paste them.
"""

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
CODE_BLOCK = re.compile(r"^\.\. code-block:: python\n\n((?:(?:   .*)?\n)+)", re.M)
GUIDE_PAGES = [DOCS / "getting_started.rst", *sorted((DOCS / "user_guide").glob("*.rst"))]


def python_blocks(page: Path) -> list[str]:
    return [re.sub(r"^   ", "", body, flags=re.M) for body in CODE_BLOCK.findall(page.read_text())]


@pytest.mark.parametrize("page", GUIDE_PAGES, ids=lambda p: p.stem)
def test_user_guide_code_runs(page, capsys):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    namespace = {"__name__": f"docs_{page.stem}"}
    for index, code in enumerate(python_blocks(page)):
        exec(compile(code, f"{page.relative_to(ROOT)} python block {index}", "exec"), namespace)


def test_every_guide_page_is_in_a_toctree():
    index = (DOCS / "user_guide" / "index.rst").read_text()
    for page in (DOCS / "user_guide").glob("*.rst"):
        if page.stem != "index":
            assert re.search(rf"^   {page.stem}$", index, re.M), f"{page.name} not in toctree"


@pytest.mark.slow
def test_sphinx_build_with_warnings_as_errors(tmp_path):
    pytest.importorskip("sphinx", reason="the docs need the test extra (pip install -e .[test])")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH",
                                                                                  "")]),
               MPLBACKEND="Agg")
    env.pop("SPARSEAD_DOCS_INTERSPHINX", None)  # the build must not need the network
    html = tmp_path / "html"
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         # run every example, also those an earlier build ran (sphinx-gallery's cache)
         "-D", "sphinx_gallery_conf.run_stale_examples=1",
         "-d", str(tmp_path / "doctrees"), str(DOCS), str(html)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-10000:]

    # the API reference has a page for every public name of the three packages
    for package in ("tracer", "coloring", "sparsead", "sparsead.backends", "sparsead.testing"):
        module = importlib.import_module(package)
        for name in module.__all__:
            if type(getattr(module, name)).__name__ == "module":
                continue
            page = html / "api" / "generated" / f"{package}.{name}.html"
            assert page.exists(), f"no API page for {package}.{name}"
    # every example ran and its page exists; the benchmark pages come from docs/*.json
    for example in (DOCS / "examples").glob("plot_*.py"):
        assert (html / "auto_examples" / f"{example.stem}.html").exists(), example.name
    for page in ("brusselator", "bidirectional", "hessian", "scale", "jax_native"):
        text = (html / "benchmarks" / "generated" / f"{page}.html").read_text()
        if (DOCS / f"{page}.json").exists():
            assert "<table" in text, page
    assert "ColoringResult.plot" in (html / "api" / "generated"
                                     / "coloring.ColoringResult.html").read_text()
