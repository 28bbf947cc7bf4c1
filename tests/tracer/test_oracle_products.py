"""Oracle tests: dot, matmul, einsum, tensordot, outer, inner, linalg.solve / inv.

Constant matrices come dense and as ``scipy.sparse`` (``csr_array``, ``csr_matrix``,
``csc_array``) and multiply the traced array from either side (``L @ u``, ``u @ L``).
The reference is the complex step of the same code (``const(np, M)`` keeps the sparse
type; with ``xp = jax.numpy`` the constants become dense arrays). Constant matrices have
random nonzero values, so the numerical pattern is the structural one and the detected
pattern must equal it exactly.
"""
from __future__ import annotations

import functools
import zlib

import numpy as np
import pytest
import scipy.sparse as sp

import tracer
from tests.tracer._oracle import (
    assert_contains,
    assert_pattern_equal,
    assert_symmetric,
    nonzero_mask,
    reference_hessian,
    reference_jacobian,
    sample,
)

MODES = ["global", "local"]
N = 6

_rng = np.random.default_rng(20261124)


def _random_sparse(m, n, density=0.35):
    M = sp.random_array((m, n), density=density, rng=_rng, format="csr")
    M.data = _rng.uniform(0.5, 1.5, M.data.size) * _rng.choice([-1, 1], M.data.size)
    M = M + sp.eye_array(m, n)  # no empty rows; keeps it structurally interesting
    return sp.csr_array(M)


def _laplacian(n):
    main = -2.0 * np.ones(n) + _rng.uniform(-0.1, 0.1, n)
    off = np.ones(n - 1) + _rng.uniform(-0.1, 0.1, n - 1)
    L = sp.diags_array([off, main, off], offsets=[-1, 0, 1], format="lil")
    L[0, n - 1] = 1.0  # periodic corner entries
    L[n - 1, 0] = 1.0
    return sp.csr_array(L)


L6 = _laplacian(N)
S64 = _random_sparse(N, 4)       # (6, 4)
S46 = _random_sparse(4, N)       # (4, 6)
A_DENSE = _random_sparse(4, N).toarray()     # dense with structural zeros
B_DENSE = _random_sparse(N, 3).toarray()
T3 = _rng.uniform(0.5, 1.5, (2, 3, 2)) * (_rng.uniform(size=(2, 3, 2)) > 0.3)

SPARSE_KINDS = {
    "csr_array": sp.csr_array, "csr_matrix": sp.csr_matrix, "csc_array": sp.csc_array,
}


def const(xp, M):
    """The constant as the traced code sees it (numpy / sparse) or as JAX needs it (dense)."""
    if xp is np:
        return M
    return xp.asarray(M.toarray() if sp.issparse(M) else M)


PRODUCTS = {
    # dense constant matrices, both sides
    "dot_A_x": lambda xp, x: xp.dot(const(xp, A_DENSE), x),
    "dot_x_B": lambda xp, x: xp.dot(x, const(xp, B_DENSE)),
    "matmul_A_x": lambda xp, x: xp.matmul(const(xp, A_DENSE), x),
    "op_A_at_x": lambda xp, x: const(xp, A_DENSE) @ x,
    "op_x_at_B": lambda xp, x: x @ const(xp, B_DENSE),
    "op_A_at_X": lambda xp, x: const(xp, A_DENSE[:, :3]) @ x.reshape(3, 2),
    "op_X_at_B": lambda xp, x: x.reshape(2, 3) @ const(xp, B_DENSE[:3]),
    "method_dot": lambda xp, x: x.reshape(2, 3).dot(const(xp, B_DENSE[:3])),
    "einsum_ij_j": lambda xp, x: xp.einsum("ij,j->i", const(xp, A_DENSE), x),
    "einsum_i_ij": lambda xp, x: xp.einsum("i,ij->j", x, const(xp, B_DENSE)),
    "einsum_trace": lambda xp, x: xp.einsum("ii->", x[:4].reshape(2, 2)) + x[4] * x[5],
    "einsum_transpose": lambda xp, x: xp.einsum("ij->ji", x.reshape(2, 3)),
    "einsum_batch": lambda xp, x: xp.einsum("bij,bj->bi", const(xp, T3[:, :, :1] * np.ones(
        (2, 3, 3))), x.reshape(2, 3)),
    "tensordot_axes1": lambda xp, x: xp.tensordot(const(xp, A_DENSE), x, axes=1),
    "tensordot_axes2": lambda xp, x: xp.tensordot(const(xp, T3), x.reshape(3, 2),
                                                  axes=([1, 2], [0, 1])),
    "tensordot_pairs": lambda xp, x: xp.tensordot(x.reshape(2, 3), const(xp, T3),
                                                  axes=([0, 1], [0, 1])),
    "outer_const": lambda xp, x: xp.outer(x[:3], const(xp, np.array([1.0, -2.0]))),
    "inner_const": lambda xp, x: xp.inner(x.reshape(2, 3), const(xp, B_DENSE[:3].T)),
    # traced times traced (bilinear)
    "dot_traced": lambda xp, x: xp.dot(x[:3], x[3:]),
    "matmul_traced": lambda xp, x: x[:4].reshape(2, 2) @ x[2:].reshape(2, 2),
    "einsum_traced": lambda xp, x: xp.einsum("i,j->ij", x[:2], x[2:]),
    "outer_traced": lambda xp, x: xp.outer(x[:2], x[3:]),
    "inner_traced": lambda xp, x: xp.inner(x[:3], x[3:]),
    "tensordot_traced": lambda xp, x: xp.tensordot(x[:4].reshape(2, 2), x[2:].reshape(2, 2),
                                                   axes=1),
    # linear algebra with a constant matrix
    "solve": lambda xp, x: xp.linalg.solve(const(xp, L6.toarray() - 3 * np.eye(N)), x),
    "inv_at": lambda xp, x: xp.linalg.inv(const(xp, L6.toarray() - 3 * np.eye(N))) @ x,
    "solve_matrix_rhs": lambda xp, x: xp.linalg.solve(
        const(xp, L6.toarray()[:3, :3] - 3 * np.eye(3)), x.reshape(3, 2)),
}

# sparse constants from both sides, every supported sparse type
for _kind, _cls in SPARSE_KINDS.items():
    PRODUCTS[f"sparse_L_at_u_{_kind}"] = (
        lambda xp, x, c=_cls: const(xp, c(L6)) @ x)
    PRODUCTS[f"sparse_u_at_L_{_kind}"] = (
        lambda xp, x, c=_cls: x @ const(xp, c(L6)))
    PRODUCTS[f"sparse_rect_left_{_kind}"] = (
        lambda xp, x, c=_cls: const(xp, c(S46)) @ x)
    PRODUCTS[f"sparse_rect_right_{_kind}"] = (
        lambda xp, x, c=_cls: x @ const(xp, c(S64)))
    PRODUCTS[f"sparse_L_at_U2d_{_kind}"] = (
        lambda xp, x, c=_cls: const(xp, c(L6[:3, :3])) @ x.reshape(3, 2))
    PRODUCTS[f"sparse_U2d_at_L_{_kind}"] = (
        lambda xp, x, c=_cls: x.reshape(2, 3) @ const(xp, c(L6[:3, :3])))
PRODUCTS["sparse_dot_method"] = lambda xp, x: (
    L6.dot(x) if xp is np else const(xp, L6) @ x)
PRODUCTS["sparse_laplacian_plus_nonlinear"] = lambda xp, x: (
    const(xp, L6) @ x + x ** 2 * xp.sin(x))

# results that are not exact because a constant matrix is inverted (structural fill)
NOT_EXACT = {"solve", "inv_at", "solve_matrix_rhs"}


def rng_for(name, salt=0):
    return np.random.default_rng(zlib.crc32(name.encode()) + salt)


@functools.lru_cache(maxsize=None)
def refs(name):
    """Test points, Jacobian masks and (objective, Hessian masks) pairs, shared by both modes."""
    fn = PRODUCTS[name]
    rng = rng_for(name)
    pts = [sample(rng, (N,)) for _ in range(3)]
    jac = [nonzero_mask(*reference_jacobian(fn, x)) for x in pts]
    c = rng.uniform(0.5, 1.5, np.shape(fn(np, pts[0])))
    hess = []
    for g in (lambda xp, x: xp.sum(c * fn(xp, x)), lambda xp, x: xp.sum(c * fn(xp, x) ** 2)):
        hess.append((g, [nonzero_mask(*reference_hessian(g, x)) for x in pts[:2]]))
    return pts, jac, hess


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(PRODUCTS))
def test_product_jacobian(name, mode):
    fn = PRODUCTS[name]
    pts, jac, _ = refs(name)
    union = np.zeros_like(jac[0])
    for x, ref in zip(pts, jac):
        union |= ref
        P = tracer.jacobian_sparsity(lambda x: fn(np, x), x, mode=mode)
        assert_contains(P, ref, f"{name} Jacobian ({mode})")
    if name not in NOT_EXACT:
        assert_pattern_equal(P, union, f"{name} Jacobian ({mode})")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(PRODUCTS))
def test_product_hessian(name, mode):
    """sum(c * p(x)) and sum(c * p(x)**2): linear products add no pairs; bilinear add cross."""
    pts, _, hess = refs(name)
    for g, masks in hess:
        union = np.zeros((N, N), bool)
        for x, ref in zip(pts, masks):
            union |= ref
            P = tracer.hessian_sparsity(lambda x, g=g: g(np, x), x, mode=mode)
            assert_symmetric(P)
            assert_contains(P, ref, f"{name} Hessian ({mode})")
        if name not in NOT_EXACT:
            assert_pattern_equal(P, union, f"{name} Hessian ({mode})")


@pytest.mark.parametrize("kind", list(SPARSE_KINDS))
def test_sparse_laplacian_exact_pattern(kind):
    """L @ u with a sparse periodic Laplacian gives exactly L's pattern, from both sides."""
    L = SPARSE_KINDS[kind](L6)
    x = sample(rng_for(kind), (N,))
    expected = L6 != 0
    assert_pattern_equal(tracer.jacobian_sparsity(lambda u: L @ u, x), expected, "L @ u")
    assert_pattern_equal(tracer.jacobian_sparsity(lambda u: u @ L, x), expected.T, "u @ L")


def test_large_sparse_product_is_exact():
    """A bigger banded sparse constant (n = 400): exact pattern, no densification."""
    n = 400
    rng = rng_for("large")
    L = sp.diags_array([rng.uniform(0.5, 1, n - k) for k in (3, 1, 0, 1, 3)],
                       offsets=[-3, -1, 0, 1, 3], format="csr")
    x = rng.uniform(size=n)
    P = tracer.jacobian_sparsity(lambda u: np.sin(L @ u) + u, x)
    assert_pattern_equal(P, (L != 0).toarray() | np.eye(n, dtype=bool), "banded L @ u")
