"""Substitution paths (acyclic Hessians, bicolorings by substitution) build their backend
requests once, at the first evaluation: later evaluations pass the very same request
objects (a backend may cache work on them), one per chunk of ``chunk_size`` seeds, and
the values match a dense reference written out by hand."""
import numpy as np
import pytest

import sparsead
from sparsead._plan import SeedColumns
from sparsead.backends import Custom
from sparsead.testing import CountingBackend
from tests.sparsead.test_bidirectional import arrow_jacobian, arrow_np, custom_both


class RecordingBackend(CountingBackend):
    """Counts calls (as :class:`CountingBackend`) and keeps every request it is given."""

    def __init__(self, inner):
        super().__init__(inner)
        self.requests = []

    def products(self, ctx, x, request, out=None):
        self.requests.append(request)
        return super().products(ctx, x, request, out=out)


def quartic(x):
    """A Hessian with a dense last row and column and a tridiagonal part."""
    return np.sum(x[:-1] ** 2 * x[-1] ** 2) + np.sum(x[1:] * x[:-1]) + np.sum(np.cos(x))


def quartic_hessian(x):
    n = x.size
    H = np.diag(-np.cos(x))
    H[np.arange(n - 1), np.arange(n - 1)] += 2 * x[-1] ** 2
    H[-1, -1] += 2 * np.sum(x[:-1] ** 2)
    H[:-1, -1] += 4 * x[:-1] * x[-1]
    H[-1, :-1] += 4 * x[:-1] * x[-1]
    i = np.arange(n - 1)
    H[i, i + 1] += 1
    H[i + 1, i] += 1
    return H


def evaluations_reuse_requests(M, be, reference, points, chunk_size):
    """Evaluate at each point; return the request objects of each evaluation."""
    seen = []
    for x in points:
        be.requests.clear()
        np.testing.assert_allclose(M(x).toarray(), reference(x), rtol=1e-12, atol=1e-12)
        seen.append(list(be.requests))
    assert all(len(s) == len(seen[0]) for s in seen)
    for s in seen[1:]:
        assert all(a is b for a, b in zip(s, seen[0]))  # the same objects, every time
    if chunk_size:
        assert all(r.k <= chunk_size for r in seen[0])
    assert sum(r.k for r in seen[0]) == M.ncolors
    return seen[0]


@pytest.mark.parametrize("chunk_size", [None, 1, 2])
def test_acyclic_hessian_requests_are_built_once_from_seed_columns(chunk_size):
    n = 12
    x0 = np.linspace(0.3, 1.5, n)
    be = RecordingBackend(Custom(hvp=lambda x, V: V @ quartic_hessian(x)))
    H = sparsead.prepare_hessian(quartic, x0, backend=be, coloring="acyclic",
                                 sparsity=quartic_hessian(x0) != 0, chunk_size=chunk_size)
    assert H.coloring.problem == "acyclic" and H.ncolors > 2
    points = [x0, x0[::-1].copy(), 0.5 * x0]
    requests = evaluations_reuse_requests(H, be, quartic_hessian, points, chunk_size)
    # the seeds stay the inputs of each color: no dense (k, n) seed matrix at preparation
    assert all(isinstance(r.seeds, SeedColumns) for r in requests)
    assert all(r.flat_index is None and not r.want_value for r in requests)
    assert H._plan._seeds is None


@pytest.mark.parametrize("chunk_size", [None, 1])
def test_bicolor_substitution_requests_are_built_once(chunk_size):
    n = 30
    x0 = np.linspace(0.2, 1.4, n)
    be = RecordingBackend(custom_both(arrow_jacobian))
    J = sparsead.prepare_jacobian(arrow_np, x0, backend=be, chunk_size=chunk_size,
                                  coloring={"problem": "bicolor_substitution"})
    assert J.coloring.problem == "bicolor_substitution"
    points = [x0, x0[::-1].copy(), 0.5 * x0]
    requests = evaluations_reuse_requests(J, be, arrow_jacobian, points, chunk_size)
    kinds = [r.kind for r in requests]
    assert kinds.count("jvp") and kinds.count("vjp")
    assert not any(r.want_value for r in requests)  # J(x) needs no f(x)
    # value_and_jacobian asks for f(x) in its first request only
    be.requests.clear()
    y, M = J.value_and_jacobian(x0)
    np.testing.assert_allclose(y, arrow_np(x0))
    np.testing.assert_allclose(M.toarray(), arrow_jacobian(x0), rtol=1e-12, atol=1e-12)
    assert [r.want_value for r in be.requests] == [True] + [False] * (len(requests) - 1)
