"""The backend protocol: ProductRequest, the default products, and a backend written
against ``products`` and ``compile`` alone (references: dense Jacobians written here)."""

import numpy as np
import pytest

import sparsead
from sparsead._plan import SeedColumns
from sparsead.backends import Backend, FiniteDifferences, ProductRequest
from sparsead.errors import UnsupportedProductError


def f_band(x):
    return x[1:] * x[:-1] + np.sin(x[1:])


def jac_band(x):
    """Dense reference Jacobian of f_band."""
    n = x.size
    J = np.zeros((n - 1, n))
    J[np.arange(n - 1), np.arange(n - 1)] = x[1:]
    J[np.arange(n - 1), np.arange(1, n)] = x[:-1] + np.cos(x[1:])
    return J


class DenseJvp(Backend):
    """Only the plain jvp, from the exact dense Jacobian."""

    name = "dense-jvp"
    array_library = "numpy"

    def prepare(self, f, x, args=(), *, kinds=frozenset({"jvp"})):
        return None

    def value(self, ctx, x):
        return f_band(x)

    def jvp(self, ctx, x, V):
        return f_band(x), V @ jac_band(x).T


def test_request_checks_its_kind_and_gives_both_seed_forms():
    with pytest.raises(ValueError, match="unknown product kind"):
        ProductRequest("jacobian", np.eye(3))
    V = np.array([[1.0, 0, 1, 0], [0, 1, 0, 1]])
    dense = ProductRequest("jvp", V)
    cols = ProductRequest("jvp", SeedColumns([np.array([0, 2]), np.array([1, 3])], 4, float))
    assert dense.k == cols.k == 2
    np.testing.assert_array_equal(cols.seed_matrix, V)
    for a, b in zip(dense.seed_columns, cols.seed_columns):
        np.testing.assert_array_equal(a, b)
    assert cols.seed_matrix is cols.seed_matrix  # built once


def test_default_products_gather_from_the_plain_jvp():
    be = DenseJvp()
    assert be.supports("jvp") and not be.supports("vjp") and not be.supports("hvp")
    x = np.linspace(0.5, 2.0, 6)
    V = np.random.default_rng(0).standard_normal((3, 6))
    JV = V @ jac_band(x).T
    idx = np.array([0, 7, 14, 3])
    y, vals = be.products(None, x, ProductRequest("jvp", V, idx))
    np.testing.assert_allclose(vals, JV.ravel()[idx])
    np.testing.assert_allclose(y, f_band(x))
    _, full = be.products(None, x, ProductRequest("jvp", V))
    np.testing.assert_allclose(full, JV)
    with pytest.raises(NotImplementedError, match="no VJPs"):
        be.products(None, x, ProductRequest("vjp", np.eye(5)))


def test_fd_products_take_seed_columns_and_write_into_out():
    be = FiniteDifferences("central")
    x = np.linspace(0.5, 2.0, 6)
    ctx = be.prepare(f_band, x)
    colors = np.arange(6) % 3
    columns = [np.flatnonzero(colors == c) for c in range(3)]
    V = np.zeros((3, 6))
    V[colors, np.arange(6)] = 1.0
    rows, cols = np.nonzero(jac_band(x))
    idx = colors[cols] * 5 + rows
    out = np.empty(idx.size)
    for seeds in (V, SeedColumns(columns, 6, float)):
        y, vals = be.products(ctx, x, ProductRequest("jvp", seeds, idx, cols), out=out)
        assert vals is out
        np.testing.assert_allclose(vals, jac_band(x)[rows, cols], rtol=1e-8)
        np.testing.assert_allclose(y, f_band(x))
    with pytest.raises(UnsupportedProductError, match="no VJPs"):
        be.products(ctx, x, ProductRequest("vjp", np.eye(5)))


class ProductsOnly(Backend):
    """A third-party backend written against products and compile alone."""

    name = "products-only"
    array_library = "numpy"

    def __init__(self):
        self.compiled_calls = 0

    def supports(self, kind):
        return kind == "jvp"

    def prepare(self, f, x, args=(), *, kinds=frozenset({"jvp"})):
        return None

    def value(self, ctx, x):
        return f_band(x)

    def products(self, ctx, x, request, out=None):
        P = request.seed_matrix @ jac_band(x).T
        y = f_band(x) if request.want_value else None
        if request.flat_index is None:
            return y, P
        return y, P.ravel()[request.flat_index]

    def compile(self, ctx, request):
        def run(x):
            if type(x) is not np.ndarray:
                return None
            self.compiled_calls += 1
            return self.products(ctx, x, request)[1], lambda: None
        return run


def test_a_backend_with_products_and_compile_runs_the_pipeline():
    be = ProductsOnly()
    x = np.linspace(0.5, 2.0, 8)
    J = sparsead.prepare_jacobian(f_band, x, backend=be)
    np.testing.assert_allclose(J(x).toarray(), jac_band(x))
    assert be.compiled_calls == 0  # the first evaluation takes the general path
    x2 = x + 0.3
    M = J(x2)
    assert be.compiled_calls == 1
    np.testing.assert_allclose(M.toarray(), jac_band(x2))
    np.testing.assert_allclose(J(list(x2)).toarray(), jac_band(x2))  # run said no
    assert be.compiled_calls == 1
    y, M2 = J.value_and_jacobian(x2)
    np.testing.assert_allclose(y, f_band(x2))
    np.testing.assert_allclose(M2.toarray(), jac_band(x2))
