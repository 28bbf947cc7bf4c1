"""The examples in the docstrings of tracer, coloring and sparsead run as doctests.

Every module of the three packages is collected (private ones too: public names are
defined there), and the main public functions must have an example.
"""

import doctest
import importlib
import pkgutil

import pytest

PACKAGES = ("tracer", "coloring", "sparsead")
# run by tests/sparsead/test_docs.py already
COVERED_ELSEWHERE = {"sparsead", "sparsead.backends.custom"}


def all_modules():
    names = []
    for package in PACKAGES:
        module = importlib.import_module(package)
        names.append(package)
        names += [info.name for info in pkgutil.walk_packages(module.__path__, package + ".")
                  if not info.name.endswith("__main__")]
    return [n for n in names if n not in COVERED_ELSEWHERE]


@pytest.fixture(autouse=True)
def _agg_backend():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


@pytest.mark.parametrize("name", all_modules())
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE, verbose=False,
                             report=True)
    assert result.failed == 0, f"{result.failed} doctest failures in {name} (see output)"


MAIN_FUNCTIONS = [
    "tracer.jacobian_sparsity", "tracer.hessian_sparsity",
    "coloring.color", "coloring.check", "coloring.ColoringResult.plot",
    "sparsead.jacobian", "sparsead.prepare_jacobian", "sparsead.hessian",
    "sparsead.prepare_hessian", "sparsead.hvp_operator", "sparsead.ode_jacobian",
    "sparsead.least_squares_jacobian", "sparsead.trust_constr_hessian",
    "sparsead.IpoptAdapter", "sparsead.backends.Custom", "sparsead.testing.check_backend",
]


@pytest.mark.parametrize("qualname", MAIN_FUNCTIONS)
def test_main_public_functions_have_examples(qualname):
    module_name, _, attr_path = qualname.partition(".")
    obj = importlib.import_module(module_name)
    for part in attr_path.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:  # a subpackage, e.g. sparsead.testing
            obj = importlib.import_module(f"{obj.__name__}.{part}")
    examples = doctest.DocTestParser().get_examples(obj.__doc__ or "")
    assert examples and not any(e.options.get(doctest.SKIP) for e in examples), \
        f"{qualname} needs a running example in its docstring"
