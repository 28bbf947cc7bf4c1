"""Sparse Hessians (star/direct and acyclic/substitution) and the HVP operator."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator, aslinearoperator, cg

import coloring
import sparsead
from benchmarks.problems import (
    arrowhead,
    arrowhead_hessian_sparsity,
    chained_rosenbrock,
    rosenbrock_hessian_sparsity,
)
from sparsead.backends import Custom, FiniteDifferences


def rosen_grad(x):
    g = np.zeros_like(x)
    t = x[1:] - x[:-1] ** 2
    g[:-1] += -400.0 * x[:-1] * t - 2.0 * (1.0 - x[:-1])
    g[1:] += 200.0 * t
    return g


def arrow_grad(x):
    s = x[:-1] ** 2 + x[-1] ** 2
    g = np.empty_like(x)
    g[:-1] = 4.0 * s * x[:-1]
    g[-1] = np.sum(4.0 * s * x[-1])
    return g


def dense_hessian_cs(grad, x):
    """Reference: complex step of an analytic gradient, symmetrized."""
    h = 1e-30
    H = np.stack([np.imag(grad(x + 1j * h * e)) / h for e in np.eye(x.size)], axis=1)
    return 0.5 * (H + H.T)


def exact_hvp_backend(grad):
    """Custom backend: HVPs by the complex step of the analytic gradient (exact)."""
    def hvp(x, V):
        return np.stack([np.imag(grad(x + 1e-30j * v.reshape(x.shape))).ravel() / 1e-30
                         for v in V])
    return Custom(hvp=hvp, gradient=grad)


CASES = [
    (chained_rosenbrock, rosen_grad, rosenbrock_hessian_sparsity, 12),
    (arrowhead, arrow_grad, arrowhead_hessian_sparsity, 11),
]


@pytest.mark.parametrize("f,grad,pattern,n", CASES)
@pytest.mark.parametrize("method", ["star", "acyclic"])
@pytest.mark.parametrize("uplo", ["F", "L", "U"])
@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
def test_hessian_matches_reference(f, grad, pattern, n, method, uplo, fmt):
    x = np.linspace(-1.2, 1.1, n)
    H = sparsead.prepare_hessian(f, x, backend=exact_hvp_backend(grad), sparsity=pattern(n),
                                 coloring=method, uplo=uplo, format=fmt)
    assert H.method == method and H.coloring.problem == method
    ref = dense_hessian_cs(grad, x)
    ref = {"F": ref, "L": np.tril(ref), "U": np.triu(ref)}[uplo]
    M = H(x)
    assert M.format == fmt
    np.testing.assert_allclose(M.toarray(), ref, rtol=1e-12, atol=1e-10)
    rows, cols = H.structure()
    if uplo == "L":
        assert np.all(rows >= cols)
    if uplo == "U":
        assert np.all(rows <= cols)
    x2 = x + 0.3
    data = M.data
    assert H(x2, out=M) is M and M.data is data
    ref2 = dense_hessian_cs(grad, x2)
    ref2 = {"F": ref2, "L": np.tril(ref2), "U": np.triu(ref2)}[uplo]
    np.testing.assert_allclose(M.toarray(), ref2, rtol=1e-12, atol=1e-10)


def test_arrowhead_star_coloring_is_cheap():
    n = 50
    H = sparsead.prepare_hessian(arrowhead, np.ones(n), backend=exact_hvp_backend(arrow_grad),
                                 sparsity=arrowhead_hessian_sparsity(n))
    assert H.ncolors == 2  # star coloring with the hub: direct decompression from 2 HVPs
    coloring.check(H.sparsity, H.coloring)


def test_fd_backend_needs_grad_and_then_works():
    x = np.linspace(-1, 1, 9)
    with pytest.raises(sparsead.UnsupportedProductError, match="grad="):
        sparsead.hessian(chained_rosenbrock, x, sparsity=rosenbrock_hessian_sparsity(9))
    for method, tol in (("forward", 1e-4), ("central", 1e-7), ("complex", 1e-10)):
        M = sparsead.hessian(chained_rosenbrock, x, backend=FiniteDifferences(method),
                             grad=rosen_grad, sparsity=rosenbrock_hessian_sparsity(9))
        ref = dense_hessian_cs(rosen_grad, x)
        assert np.max(np.abs(M.toarray() - ref)) / np.max(np.abs(ref)) < tol


def test_grad_only_for_fd():
    with pytest.raises(sparsead.SparseADError, match="only used by the 'fd'"):
        sparsead.prepare_hessian(chained_rosenbrock, np.ones(4), grad=rosen_grad,
                                 backend=exact_hvp_backend(rosen_grad))


def test_value_gradient_and_hessian():
    x = np.linspace(-1, 1, 7)
    val, g, H = sparsead.value_gradient_and_hessian(
        chained_rosenbrock, x, grad=rosen_grad, sparsity=rosenbrock_hessian_sparsity(7),
        backend=FiniteDifferences("complex"))
    assert val == pytest.approx(chained_rosenbrock(x))
    np.testing.assert_allclose(g, rosen_grad(x))
    np.testing.assert_allclose(H.toarray(), dense_hessian_cs(rosen_grad, x), rtol=1e-10)


def test_matrix_input_hessian():
    def f(X):
        return np.sum(X ** 3) + np.sum(X[:, :-1] * X[:, 1:])

    def grad(X):
        g = 3 * X ** 2
        g[:, :-1] += X[:, 1:]
        g[:, 1:] += X[:, :-1]
        return g
    X = np.linspace(-1, 1, 12).reshape(3, 4)
    P = np.kron(np.eye(3), np.eye(4) + np.eye(4, k=1) + np.eye(4, k=-1))
    H = sparsead.hessian(f, X, backend=exact_hvp_backend(grad), sparsity=P)
    ref = dense_hessian_cs(lambda z: grad(z.reshape(3, 4)).ravel(), X.ravel())
    np.testing.assert_allclose(H.toarray(), ref, atol=1e-12)


def test_nonsymmetric_pattern_is_symmetrized():
    x = np.linspace(-1, 1, 6)
    P = sp.tril(rosenbrock_hessian_sparsity(6)).tocsr()  # only the lower triangle given
    H = sparsead.prepare_hessian(chained_rosenbrock, x, backend=exact_hvp_backend(rosen_grad),
                                 sparsity=P)
    np.testing.assert_allclose(H(x).toarray(), dense_hessian_cs(rosen_grad, x), atol=1e-10)


def test_hessian_errors():
    x = np.ones(5)
    be = exact_hvp_backend(rosen_grad)
    with pytest.raises(sparsead.SparseADError, match=r"shape \(5, 5\)"):
        sparsead.prepare_hessian(chained_rosenbrock, x, backend=be, sparsity=np.ones((4, 4)))
    with pytest.raises(sparsead.SparseADError, match="star"):
        sparsead.prepare_hessian(chained_rosenbrock, x, backend=be, sparsity=np.eye(5),
                                 coloring={"problem": "column"})
    with pytest.raises(sparsead.SparseADError, match="uplo"):
        sparsead.prepare_hessian(chained_rosenbrock, x, backend=be, sparsity=np.eye(5),
                                 uplo="X")
    with pytest.raises(sparsead.SparseADError, match="scalar"):
        sparsead.prepare_hessian(lambda z: z ** 2, x, backend=be, sparsity=np.eye(5))
    H = sparsead.prepare_hessian(chained_rosenbrock, x, backend=be,
                                 sparsity=rosenbrock_hessian_sparsity(5), uplo="L")
    with pytest.raises(sparsead.SparseADError, match="dtype"):
        H(x.astype(np.float32))
    with pytest.raises(sparsead.SparseADError):
        H(x, out=sp.csr_array(np.eye(5)))


def test_chunked_hessian():
    n = 10
    x = np.linspace(-1, 1, n)
    for method in ("star", "acyclic"):
        H = sparsead.prepare_hessian(arrowhead, x, backend=exact_hvp_backend(arrow_grad),
                                     sparsity=arrowhead_hessian_sparsity(n), coloring=method,
                                     chunk_size=1)
        np.testing.assert_allclose(H(x).toarray(), dense_hessian_cs(arrow_grad, x),
                                   atol=1e-10)


# -- HVP operator ---------------------------------------------------------------------

def test_hvp_operator_matvec_matmat_and_at():
    n = 8
    x = np.linspace(-1, 1, n)
    calls = []

    def hvp(z, V):
        calls.append(V.shape)
        return np.stack([np.imag(rosen_grad(z + 1e-30j * v)) / 1e-30 for v in V])
    op = sparsead.hvp_operator(chained_rosenbrock, x, backend=Custom(hvp=hvp))
    assert isinstance(op, LinearOperator) and op.shape == (n, n)
    ref = dense_hessian_cs(rosen_grad, x)
    v = np.arange(n, dtype=float)
    np.testing.assert_allclose(op @ v, ref @ v, atol=1e-10)
    calls.clear()
    V = np.random.default_rng(0).normal(size=(n, 3))
    np.testing.assert_allclose(op.matmat(V), ref @ V, atol=1e-10)
    assert calls == [(3, n)]  # one batched call
    x2 = x * 0.5
    op2 = op.at(x2)
    np.testing.assert_allclose(op2 @ v, dense_hessian_cs(rosen_grad, x2) @ v, atol=1e-10)
    np.testing.assert_allclose(op @ v, ref @ v, atol=1e-10)  # the original is unchanged
    np.testing.assert_allclose(op.T @ v, ref @ v, atol=1e-10)
    with pytest.raises(sparsead.SparseADError, match="shape"):
        op.at(np.ones(n + 1))


def test_hvp_operator_fd_in_a_solver():
    n = 20
    x = np.linspace(-0.5, 0.8, n)
    op = sparsead.hvp_operator(chained_rosenbrock, x, grad=rosen_grad,
                               backend=FiniteDifferences("central"))
    H = dense_hessian_cs(rosen_grad, x)
    b = np.ones(n)
    # the Rosenbrock Hessian is not positive definite everywhere; solve a shifted system
    shift = abs(np.linalg.eigvalsh(H).min()) + 10.0
    A = op + aslinearoperator(shift * sp.eye_array(n))
    sol, info = cg(A, b, rtol=1e-10, maxiter=500)
    assert info == 0
    np.testing.assert_allclose((H + shift * np.eye(n)) @ sol, b, atol=1e-5)


def test_plan_uses_the_coloring_gather_and_agrees_with_an_independent_one():
    from sparsead._plan import build_plan
    n = 30
    P = sp.csr_array(arrowhead_hessian_sparsity(n))
    P.sort_indices()
    res = coloring.color(P, "star", order="largest_first")
    plan = build_plan(P, res, fmt="csr")
    assert plan.flat_index is res.decompression_index("csr").flat_index
    rows = np.repeat(np.arange(n), np.diff(P.indptr))
    cols = P.indices
    # independent rule: (i, j) is read at (color j, row i) when j is alone in row i
    # with its color, else at (color i, row j); every entry must be read somewhere valid
    k = res.ncolors
    key = rows * k + res.colors[cols]
    alone = np.bincount(key, minlength=n * k)[key] == 1
    ok_here = plan.flat_index == res.colors[cols] * n + rows
    ok_there = plan.flat_index == res.colors[rows] * n + cols
    assert np.all(ok_here | ok_there) and np.all(~ok_here | alone)
    # the rule from the colors alone (a coloring without its star plan) agrees
    bare = coloring.ColoringResult(res.pattern, res.colors, "star")
    mine = bare.decompression_index("csr").flat_index
    assert np.all((mine == plan.flat_index) | ~alone | ok_there)


def test_coloring_of_a_superset_pattern_is_accepted():
    n = 9
    x = np.linspace(-1, 1, n)
    full = np.ones((n, n))
    res = coloring.color(full, "star")  # valid for any pattern inside it
    H = sparsead.prepare_hessian(chained_rosenbrock, x, backend=exact_hvp_backend(rosen_grad),
                                 sparsity=rosenbrock_hessian_sparsity(n), coloring=res)
    assert H.ncolors == n
    np.testing.assert_allclose(H(x).toarray(), dense_hessian_cs(rosen_grad, x), atol=1e-10)


# -- random symmetric patterns ------------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=25)
@given(n=st.integers(1, 14), density=st.floats(0.0, 0.6), seed=st.integers(0, 2 ** 31 - 1),
       method=st.sampled_from(["star", "acyclic"]), uplo=st.sampled_from(["F", "L", "U"]),
       fmt=st.sampled_from(["csr", "csc", "coo"]), chunk=st.sampled_from([None, 1, 2]))
def test_random_symmetric_patterns(n, density, seed, method, uplo, fmt, chunk):
    rng = np.random.default_rng(seed)
    A = sp.random_array((n, n), density=density, rng=rng, format="csr")
    A = (A + A.T).toarray() * rng.uniform(0.5, 2.0)

    def f(x):  # H = A - diag(cos x): the pattern of A plus the diagonal
        return 0.5 * x @ A @ x + np.sum(np.cos(x))

    def hess(x):
        return A - np.diag(np.cos(x))
    be = Custom(hvp=lambda x, V: V @ hess(x))
    x = rng.uniform(-1, 1, n)
    pattern = (A != 0) | np.eye(n, dtype=bool)
    H = sparsead.prepare_hessian(f, x, backend=be, sparsity=pattern, coloring=method,
                                 uplo=uplo, format=fmt, chunk_size=chunk)
    ref = {"F": hess(x), "L": np.tril(hess(x)), "U": np.triu(hess(x))}[uplo]
    M = H(x)
    assert M.format == fmt
    np.testing.assert_allclose(M.toarray(), ref, atol=1e-12)
    expected_nnz = {"F": pattern.sum(), "L": np.tril(pattern).sum(),
                    "U": np.triu(pattern).sum()}[uplo]
    assert M.nnz == H.nnz == expected_nnz  # structural zeros kept, nothing dropped


@pytest.mark.parametrize("method,chunk_size", [("star", None), ("star", 1), ("acyclic", None)])
def test_hessian_seeds_and_gather_indices_are_read_only(method, chunk_size):
    """Seeds and gather indices are compiled in by identity (JAX): edits must raise."""
    n = 10
    x = np.linspace(-1, 1, n)
    H = sparsead.prepare_hessian(arrowhead, x, backend=exact_hvp_backend(arrow_grad),
                                 sparsity=arrowhead_hessian_sparsity(n), coloring=method,
                                 chunk_size=chunk_size)
    plan = H._plan
    arrays = [H.seeds, plan.flat_index, plan.entry_input]
    for chunk in plan.chunks:
        arrays += [chunk.seeds, chunk.flat_index, chunk.entry_input]
    arrays = [a for a in arrays if a is not None]  # acyclic: no gather index
    assert H.seeds.shape == (H.ncolors, n)
    for a in arrays:
        assert not a.flags.writeable
        with pytest.raises(ValueError, match="read-only"):
            a.flat[0] = 0
    np.testing.assert_allclose(H(x).toarray(), dense_hessian_cs(arrow_grad, x), atol=1e-10)


def test_hessian_improvement_pass_is_opt_in_and_never_worse():
    """``coloring={"improve": k}`` reaches coloring.color for star/acyclic Hessians."""
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    from benchmarks.problems import brusselator_initial, make_brusselator_jax

    N = 6
    f = make_brusselator_jax(N)
    g = lambda y: jnp.sum(f(y) ** 2)  # noqa: E731
    x = brusselator_initial(N) + 0.1
    dense = np.asarray(jax.hessian(g)(x))
    for problem in ("star", "acyclic"):
        plain = sparsead.prepare_hessian(g, x, backend="jax", coloring={"problem": problem})
        tuned = sparsead.prepare_hessian(g, x, backend="jax",
                                         coloring={"problem": problem, "improve": 20})
        assert "iterated_greedy" not in plain.coloring.order
        assert tuned.ncolors <= plain.ncolors
        coloring.check(tuned.sparsity, tuned.coloring)
        np.testing.assert_allclose(tuned(x).toarray(), dense, rtol=1e-10, atol=1e-8)
