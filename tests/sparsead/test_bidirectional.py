"""Bidirectional Jacobians (JVPs and VJPs from a bicoloring) against dense references."""
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import coloring
import sparsead
from sparsead import SparseADError
from sparsead.backends import Custom


def arrow_np(x):
    """Nonsymmetric arrowhead: y0 sums over all x; x[-1] enters every other residual."""
    return np.concatenate([np.sum(x ** 2).reshape(1), x[1:] * x[-1] + np.sin(x[1:])])


def arrow_jacobian(x):
    """Dense reference, written out by hand."""
    n = x.size
    J = np.zeros((n, n))
    J[0] = 2 * x
    i = np.arange(1, n)
    J[i, i] = x[-1] + np.cos(x[1:])
    J[i, n - 1] += x[1:]
    return J


def custom_both(f_jac):
    return Custom(jvp=lambda x, V: V @ f_jac(x).T, vjp=lambda x, W: W @ f_jac(x))


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
@pytest.mark.parametrize("chunk_size", [None, 1])
def test_custom_bidirectional_matches_reference(fmt, chunk_size):
    x = np.linspace(0.2, 1.4, 40)
    be = custom_both(arrow_jacobian)
    J = sparsead.prepare_jacobian(arrow_np, x, backend=be, mode="bidirectional", format=fmt,
                                  chunk_size=chunk_size)
    assert J.mode == "bidirectional" and J.ncolors <= 3
    M = J(x)
    assert M.format == fmt
    np.testing.assert_allclose(M.toarray(), arrow_jacobian(x), rtol=1e-14, atol=1e-14)
    x2 = x[::-1].copy()
    assert J(x2, out=M) is M
    np.testing.assert_allclose(M.toarray(), arrow_jacobian(x2), rtol=1e-14, atol=1e-14)
    y, M3 = J.value_and_jacobian(x)
    np.testing.assert_allclose(y, arrow_np(x))
    np.testing.assert_allclose(J.values(x), M3.data)


def test_substitution_and_given_bicoloring():
    x = np.linspace(0.2, 1.4, 30)
    be = custom_both(arrow_jacobian)
    J = sparsead.prepare_jacobian(arrow_np, x, backend=be,
                                  coloring={"problem": "bicolor_substitution"}, chunk_size=1)
    assert J.coloring.problem == "bicolor_substitution" and J.mode == "bidirectional"
    np.testing.assert_allclose(J(x).toarray(), arrow_jacobian(x), rtol=1e-13, atol=1e-13)
    M = J(x)
    J(x[::-1].copy(), out=M)
    np.testing.assert_allclose(M.toarray(), arrow_jacobian(x[::-1]), rtol=1e-13, atol=1e-13)
    given = coloring.color(J.sparsity, "bicolor")
    J2 = sparsead.prepare_jacobian(arrow_np, x, backend=be, coloring=given,
                                   sparsity=J.sparsity)
    assert J2.coloring is given
    np.testing.assert_allclose(J2(x).toarray(), arrow_jacobian(x), rtol=1e-14, atol=1e-14)
    with pytest.raises(SparseADError, match="contradicts the given bicoloring"):
        sparsead.prepare_jacobian(arrow_np, x, backend=be, coloring=given, mode="column",
                                  sparsity=J.sparsity)
    other = coloring.color(sp.eye_array(30, format="csr"), "bicolor")
    with pytest.raises(SparseADError, match="another sparsity pattern"):
        sparsead.prepare_jacobian(arrow_np, x, backend=be, coloring=other,
                                  sparsity=J.sparsity)


def test_auto_keeps_one_side_when_a_bicoloring_is_no_better():
    x = np.linspace(0.2, 1.4, 30)

    def tri(x):
        return x ** 2 + np.concatenate([[0.0], x[:-1]]) - np.concatenate([x[1:], [0.0]])

    def tri_jac(x):
        return np.diag(2 * x) + np.eye(x.size, k=-1) - np.eye(x.size, k=1)

    J = sparsead.prepare_jacobian(tri, x, backend=custom_both(tri_jac))
    assert J.mode == "column" and J.ncolors == 3
    np.testing.assert_allclose(J(x).toarray(), tri_jac(x))


def test_fd_keeps_column_coloring_and_says_so():
    x = np.linspace(0.2, 1.4, 12)
    with pytest.warns(UserWarning, match="'fd' has no VJPs, so mode='bidirectional'"):
        J = sparsead.prepare_jacobian(arrow_np, x, mode="bidirectional")
    assert J.mode == "column" and J.ncolors == 12
    np.testing.assert_allclose(J(x).toarray(), arrow_jacobian(x), rtol=1e-6, atol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # mode="auto" on fd: no bicoloring, no warning
        assert sparsead.prepare_jacobian(arrow_np, x).mode == "column"
    with pytest.raises(SparseADError, match="'bidirectional'"):
        sparsead.prepare_jacobian(arrow_np, x, mode="both")


def test_jax_auto_arrowhead_equals_dense_jacfwd():
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    jax.config.update("jax_enable_x64", True)

    def f(x):
        return jnp.concatenate([jnp.sum(x ** 2).reshape(1), x[1:] * x[-1] + jnp.sin(x[1:])])

    n = 2000
    x = np.linspace(0.1, 1.0, n)
    J = sparsead.prepare_jacobian(f, x, backend="jax", sparsity_from=arrow_np)
    assert J.mode == "bidirectional" and J.ncolors <= 3  # column or row alone: n
    np.testing.assert_allclose(J(x).toarray(), np.asarray(jax.jacfwd(f)(x)), rtol=1e-14,
                               atol=1e-14)
