"""Sphinx configuration of the sparsead documentation.

Build: ``python -m sphinx -W -b html docs docs/_build/html`` (no network needed).

Generated at build time (git-ignored): ``api/modules/*.rst`` (one page per public package,
listing its ``__all__``), ``api/generated/`` (autosummary), ``benchmarks/generated/*.md``
(from ``docs/*.json``, as the README's results sections) and ``auto_examples/``
(sphinx-gallery runs ``docs/examples/*.py``).
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))  # the checkout's packages, and benchmarks/ for the pages
os.environ.setdefault("MPLBACKEND", "Agg")

import sparsead  # noqa: E402

project = "sparsead"
author = "the sparsead developers"
copyright = "the sparsead developers"
version = release = sparsead.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
    "matplotlib.sphinxext.plot_directive",
]
# Cross-links to numpy/scipy/jax need their inventories from the network: opt in with
# SPARSEAD_DOCS_INTERSPHINX=1. The default build works offline.
if os.environ.get("SPARSEAD_DOCS_INTERSPHINX") == "1":
    extensions.append("sphinx.ext.intersphinx")
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable", None),
        "scipy": ("https://docs.scipy.org/doc/scipy", None),
        "jax": ("https://docs.jax.dev/en/latest", None),
    }

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "examples/*.rst", "**/GALLERY_HEADER.rst"]
default_role = "literal"

html_theme = "pydata_sphinx_theme"
html_title = f"sparsead {release}"
html_static_path = ["_static"]
html_css_files = ["custom.css"]
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2}
# pages without sub-pages need no section navigation
html_sidebars = {"index": [], "getting_started": [], "changelog": []}
smartquotes = False  # keep "--option" and quotes in the generated pages as written

autosummary_generate = True
autosummary_imported_members = True
autodoc_typehints = "none"  # numpydoc's Parameters sections say it
autodoc_default_options = {"members": True, "inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
# numpydoc links each "Attributes" entry by its bare name; a name that two result classes
# share (``nnz`` of ColoringResult and BicoloringResult) is then ambiguous
suppress_warnings = ["ref.python"]

myst_heading_anchors = 3

plot_include_source = True
plot_html_show_formats = False
plot_html_show_source_link = False
plot_formats = [("png", 90)]
plot_rcparams = {"figure.max_open_warning": 0}

sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "within_subsection_order": "FileNameSortKey",
    "image_scrapers": ("matplotlib",),
    "show_memory": False,
    "write_computation_times": False,
}

# ---------------------------------------------------------------- API pages from __all__

API_PACKAGES = ("tracer", "coloring", "sparsead")


def public_modules() -> list[str]:
    """The packages and their public submodules with names of their own.

    A public submodule (no leading underscore, with ``__all__``) gets a page unless every
    name of its ``__all__`` is already on its parent's page (``sparsead.adapters`` is
    re-exported by ``sparsead``; ``sparsead.testing`` is not). New public names and
    modules appear without editing this file.
    """
    names = []

    def exported(module) -> set[int]:
        return {id(getattr(module, n)) for n in getattr(module, "__all__", ())}

    def visit(name: str) -> None:
        module = importlib.import_module(name)
        names.append(name)
        if not hasattr(module, "__path__"):
            return
        mine = exported(module)
        for info in pkgutil.iter_modules(module.__path__):
            if info.name.startswith("_"):
                continue
            sub_name = f"{name}.{info.name}"
            try:
                sub = importlib.import_module(sub_name)
            except ImportError:  # an optional dependency is missing: no page
                continue
            if id(sub) in mine or any(id(getattr(sub, n)) not in mine
                                      for n in getattr(sub, "__all__", ())):
                visit(sub_name)

    for package in API_PACKAGES:
        visit(package)
    return names


def write_if_changed(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def write_api_pages() -> None:
    out = DOCS / "api" / "modules"
    wanted = set()
    stubs = set()  # autosummary's pages in api/generated/ that the members still need
    for name in public_modules():
        module = importlib.import_module(name)
        members = [n for n in getattr(module, "__all__", ())
                   if not hasattr(getattr(module, n), "__path__")
                   and type(getattr(module, n)).__name__ != "module"]
        lines = [f"``{name}``", "=" * (len(name) + 4), "",
                 f".. automodule:: {name}", "   :no-members:", ""]
        if members:
            lines += [".. currentmodule:: " + name, "", ".. autosummary::",
                      "   :toctree: ../generated", "", *[f"   {n}" for n in members], ""]
        wanted.add(f"{name}.rst")
        stubs.update(f"{name}.{n}.rst" for n in members)
        write_if_changed(out / f"{name}.rst", "\n".join(lines))
    for stale in out.glob("*.rst"):
        if stale.name not in wanted:
            stale.unlink()
    # a name that left an __all__ would otherwise keep its old page (duplicate objects)
    for stale in (DOCS / "api" / "generated").glob("*.rst"):
        if stale.name not in stubs:
            stale.unlink()


# ------------------------------------------------- benchmark pages from docs/*.json

BENCHMARK_PAGES = {  # page -> (title, benchmark module, JSON file, function of the section)
    "brusselator": ("Jacobians of the 2D Brusselator", "benchmarks.brusselator",
                    "brusselator.json", "readme_section"),
    "bidirectional": ("Bidirectional Jacobians", "benchmarks.bidirectional",
                      "bidirectional.json", "render"),
    "hessian": ("Sparse Hessians", "benchmarks.hessian", "hessian.json", "readme_section"),
    "scale": ("Scale: ten million unknowns on one machine", "benchmarks.scale", "scale.json",
              "readme_section"),
    "jax_native": ("JAX-native (sparsead.jax)", "benchmarks.jax_native", "jax_native.json",
                   "readme_section"),
}

# What the generated section assumes the reader knows (the README says it above the markers)
BENCHMARK_INTROS = {
    "bidirectional": (
        "`python -m benchmarks.bidirectional`: Jacobians with dense rows and dense columns "
        "(a nonsymmetric arrowhead, banded and random patterns with dense rows and columns, "
        "SuiteSparse matrices) colored by columns, by rows and by bicolorings "
        "(`coloring.color(..., problem=\"bicolor\")`, see the "
        "[coloring guide](../../user_guide/coloring.rst)), and the arrowhead end to end with "
        "`sparsead.prepare_jacobian(..., mode=...)`."),
    "scale": (
        "`python -m benchmarks.scale`: the default pipeline (`prepare_jacobian(f, x)`, fd "
        "backend, then `J(x)`) on the Brusselator up to n = 10^7 unknowns, each N in its "
        "own process: every stage's time and peak memory, the coloring's `effort` budget "
        "and an `executor=` run."),
    "jax_native": (
        "`python -m benchmarks.jax_native`: `jax.jit(sparsead.jax.jacobian(f, x))` next to "
        "asdex's jitted `jacobian_from_coloring` and sparsejac on the Brusselator (steady, "
        "first call, a jitted Newton step with `spsolve`, `vmap` over 8 points), and "
        "`sparsead.jax.hessian` against asdex's `hessian_from_coloring` (see "
        "[JAX-native sparse Jacobians](../../user_guide/jax_native.rst))."),
}


def benchmark_markdown(module_name: str, results: dict,
                       function: str = "readme_section") -> str:
    """The README section of a benchmark, with links made relative to this page."""
    module = importlib.import_module(module_name)
    text = getattr(module, function)(results)
    text = text.replace(module.README_START, "").replace(module.README_END, "")
    # README links point at docs/NAME from the repository root; pages live in
    # docs/benchmarks/generated/
    text = text.replace("](docs/", "](../../")
    return text.strip() + "\n"


def write_benchmark_pages() -> None:
    out = DOCS / "benchmarks" / "generated"
    for page, (title, module_name, json_name, function) in BENCHMARK_PAGES.items():
        source = DOCS / json_name
        if source.exists():
            body = benchmark_markdown(module_name, json.loads(source.read_text()), function)
        else:
            body = f"No results yet: `docs/{json_name}` is written by the benchmark's `--docs`.\n"
        intro = BENCHMARK_INTROS.get(page)
        if intro:
            body = f"{intro}\n\n{body}"
        write_if_changed(out / f"{page}.md", f"# {title}\n\n{body}")


write_api_pages()
write_benchmark_pages()
