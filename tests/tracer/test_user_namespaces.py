"""Which callers count as user code, and declaring more (issue #12, item 5).

A function defined in a module whose name starts with ``scipy`` allocates its buffers
with ``np.empty``/``np.zeros`` like scipy's own test problems (``fun_medazko``): by
default that module counts as library code, so its buffers are plain numpy arrays and the
trace stops with a clear error; inside ``tracer.user_namespaces(...)`` it traces exactly.
"""
from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest

import sparsead
import tracer
from tests.tracer._oracle import jacobian_fd, nonzero_mask

MODULE = "scipy._sparsead_user_problem"
SOURCE = '''
import numpy as np


def residual(x):
    n = x.size
    out = np.empty(n)
    work = np.zeros(n + 2)
    work[1:-1] = x
    for i in range(n):
        out[i] = work[i] - 2.0 * work[i + 1] ** 2 + work[i + 2]
    return out
'''
X = np.linspace(0.2, 1.0, 6)


@pytest.fixture(scope="module")
def scipy_named_module(tmp_path_factory):
    path = tmp_path_factory.mktemp("ns") / "sparsead_user_problem.py"
    path.write_text(SOURCE)
    spec = importlib.util.spec_from_file_location(MODULE, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[MODULE] = module
    spec.loader.exec_module(module)
    yield module
    del sys.modules[MODULE]


def test_library_namespace_gets_plain_buffers_by_default(scipy_named_module):
    assert scipy_named_module.residual.__module__.startswith("scipy")
    with pytest.raises(tracer.TracingError, match=r"plain numpy\.ndarray") as excinfo:
        tracer.jacobian_sparsity(scipy_named_module.residual, X)
    excinfo.match(r'tracer\.user_namespaces\("scipy\._sparsead_user_problem"\)')


@pytest.mark.parametrize("declared", [MODULE, "scipy._sparsead_user_problem."])
def test_declared_namespace_traces_exactly(scipy_named_module, declared):
    f = scipy_named_module.residual
    reference = nonzero_mask(jacobian_fd(f, X), 1e-7)
    with tracer.user_namespaces(declared):
        P = tracer.jacobian_sparsity(f, X).toarray()
        J = sparsead.jacobian(f, X)  # sparsead's detection inside the block too
    assert np.array_equal(P, reference)
    assert np.array_equal(J.toarray() != 0, reference)
    with pytest.raises(tracer.TracingError):  # the declaration ended with the block
        tracer.jacobian_sparsity(f, X)


def test_prefix_matches_whole_module_names_only(scipy_named_module):
    with tracer.user_namespaces("scipy._sparsead_user"):  # not a module-name prefix
        with pytest.raises(tracer.TracingError):
            tracer.jacobian_sparsity(scipy_named_module.residual, X)
    with tracer.user_namespaces("scipy"):  # the whole package
        P = tracer.jacobian_sparsity(scipy_named_module.residual, X)
    assert P.nnz == 3 * X.size - 2


def test_user_namespaces_rejects_non_strings():
    with pytest.raises(TypeError, match="strings"):
        with tracer.user_namespaces(sys):
            pass
