"""Sparse Jacobians through the whole pipeline, against dense complex-step references."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import coloring
import sparsead
from benchmarks.problems import brusselator_initial, brusselator_sparsity, make_brusselator_numpy
from sparsead._choose_coloring import choose_jacobian_coloring
from sparsead.backends import Custom, FiniteDifferences


def dense_jacobian_cs(f, x, args=()):
    """Reference: complex-step Jacobian, one column per input (naive loop)."""
    x = np.asarray(x, dtype=float)
    h = 1e-30
    cols = []
    for j in range(x.size):
        xc = x.astype(complex).ravel()
        xc[j] += 1j * h
        cols.append(np.imag(np.asarray(f(xc.reshape(x.shape), *args))).ravel() / h)
    return np.stack(cols, axis=1)


def tridiag(x):
    y = -2.0 * x + x ** 3
    y[1:] += x[:-1]
    y[:-1] += np.sin(x[1:])
    return y


def tridiag_pattern(n):
    return sp.diags_array([np.ones(n - 1), np.ones(n), np.ones(n - 1)], offsets=[-1, 0, 1],
                          shape=(n, n), dtype=bool)


def cs_backend():
    """A Custom backend whose JVPs are complex steps (exact to rounding)."""
    def jvp(x, V, *args):
        return np.stack([np.imag(np.asarray(tridiag(x + 1e-30j * v))).ravel() / 1e-30
                         for v in V])
    return Custom(jvp=jvp)


X10 = np.linspace(-1.0, 1.5, 10)


@pytest.mark.parametrize("method,tol", [("forward", 1e-6), ("central", 1e-9),
                                        ("complex", 1e-13)])
def test_fd_matches_complex_step(method, tol):
    J = sparsead.jacobian(tridiag, X10, backend=FiniteDifferences(method),
                          sparsity=tridiag_pattern(10))
    assert np.max(np.abs(J.toarray() - dense_jacobian_cs(tridiag, X10))) < tol


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
def test_formats_fixed_order_and_structural_zeros(fmt):
    # the pattern has an extra (structural) entry (0, 5) whose value is 0
    P = sp.lil_array(tridiag_pattern(10))
    P[0, 5] = True
    J = sparsead.prepare_jacobian(tridiag, X10, backend=cs_backend(), sparsity=P, format=fmt)
    M = J(X10)
    assert M.format == fmt and M.nnz == J.nnz == 29
    rows, cols = J.structure()
    ref = dense_jacobian_cs(tridiag, X10)
    np.testing.assert_allclose(M.data, ref[rows, cols], atol=1e-14)
    assert (0, 5) in set(zip(rows.tolist(), cols.tolist()))
    if fmt != "coo":
        assert M.has_sorted_indices
    M2 = J(X10 + 0.1)
    if fmt == "coo":
        np.testing.assert_array_equal(M2.coords[0], M.coords[0])
    else:
        np.testing.assert_array_equal(M2.indices, M.indices)
    np.testing.assert_allclose(M2.toarray(), dense_jacobian_cs(tridiag, X10 + 0.1), atol=1e-13)


def test_out_refills_in_place_without_reallocating():
    J = sparsead.prepare_jacobian(tridiag, X10, backend=cs_backend(),
                                  sparsity=tridiag_pattern(10))
    M = J(X10)
    data = M.data
    x2 = X10 * 1.3
    M2 = J(x2, out=M)
    assert M2 is M and M.data is data
    np.testing.assert_allclose(M.toarray(), dense_jacobian_cs(tridiag, x2), atol=1e-13)
    y, M3 = J.value_and_jacobian(X10, out=M)
    assert M3 is M
    np.testing.assert_allclose(y, tridiag(X10))


def test_values_and_structure_for_triplets():
    J = sparsead.prepare_jacobian(tridiag, X10, backend=cs_backend(),
                                  sparsity=tridiag_pattern(10), format="coo")
    rows, cols = J.structure()
    vals = J.values(X10)
    ref = dense_jacobian_cs(tridiag, X10)
    np.testing.assert_allclose(vals, ref[rows, cols], atol=1e-14)
    buf = np.empty_like(vals)
    assert J.values(X10, out=buf) is buf


def test_attributes_and_repr():
    J = sparsead.prepare_jacobian(tridiag, X10, sparsity=tridiag_pattern(10))
    assert J.mode == "column" and J.ncolors == 3 and J.nnz == 28
    assert J.coloring.problem == "column" and J.sparsity.shape == (10, 10)
    assert J.seeds.shape == (3, 10)
    coloring.check(J.sparsity, J.coloring)
    assert "ncolors=3" in repr(J)


def test_brusselator_equals_dense_reference():
    N = 6
    f = make_brusselator_numpy(N)
    x = brusselator_initial(N)
    J = sparsead.jacobian(f, x, backend=FiniteDifferences("complex"),
                          sparsity=brusselator_sparsity(N))
    np.testing.assert_allclose(J.toarray(), dense_jacobian_cs(f, x), rtol=1e-12, atol=1e-9)


def _arrow_row(x):
    # dense last row: column coloring needs n colors, row coloring 2
    return np.concatenate([x ** 2, [np.sum(np.sin(x))]])


def _arrow_row_pattern(n):
    i = np.arange(n)
    return sp.csr_array((np.ones(2 * n, bool), (np.concatenate([i, np.full(n, n)]),
                                                np.concatenate([i, i]))), shape=(n + 1, n))


def _arrow_row_backend(calls):
    def jvp(x, V):
        calls.append(("jvp", V.shape))
        return np.stack([dense_jacobian_cs(_arrow_row, x) @ v for v in V])

    def vjp(x, W):
        calls.append(("vjp", W.shape))
        return np.stack([w @ dense_jacobian_cs(_arrow_row, x) for w in W])
    return Custom(jvp=jvp, vjp=vjp)


def test_row_mode_is_chosen_when_fewer_colors_and_shown():
    n = 8
    x = np.linspace(0.1, 1.0, n)
    calls = []
    J = sparsead.prepare_jacobian(_arrow_row, x, backend=_arrow_row_backend(calls),
                                  sparsity=_arrow_row_pattern(n))
    assert J.mode == "row" and J.ncolors == 2
    calls.clear()
    M = J(x)
    assert calls == [("vjp", (2, n + 1))]  # one batched call with ncolors seeds
    np.testing.assert_allclose(M.toarray(), dense_jacobian_cs(_arrow_row, x), atol=1e-13)
    Jc = sparsead.prepare_jacobian(_arrow_row, x, backend=_arrow_row_backend(calls),
                                   sparsity=_arrow_row_pattern(n), mode="column")
    assert Jc.mode == "column" and Jc.ncolors == n
    np.testing.assert_allclose(Jc(x).toarray(), M.toarray(), atol=1e-13)


def test_fd_never_picks_row_mode():
    n = 8
    x = np.linspace(0.1, 1.0, n)
    J = sparsead.prepare_jacobian(_arrow_row, x, sparsity=_arrow_row_pattern(n))
    assert J.mode == "column"
    with pytest.raises(sparsead.SparseADError, match="VJPs"):
        sparsead.prepare_jacobian(_arrow_row, x, sparsity=_arrow_row_pattern(n), mode="row")


@pytest.mark.parametrize("chunk_size", [1, 2, 5])
def test_chunked_evaluation_matches_and_counts_calls(chunk_size):
    N = 4
    f = make_brusselator_numpy(N)
    x = brusselator_initial(N)
    shapes = []

    def jvp(x, V):
        shapes.append(V.shape[0])
        return np.stack([np.imag(f(x + 1e-30j * v)) / 1e-30 for v in V])
    J = sparsead.prepare_jacobian(f, x, backend=Custom(jvp=jvp),
                                  sparsity=brusselator_sparsity(N), chunk_size=chunk_size)
    shapes.clear()
    M = J(x)
    k = J.ncolors
    assert sum(shapes) == k and len(shapes) == -(-k // chunk_size)
    np.testing.assert_allclose(M.toarray(), dense_jacobian_cs(f, x), rtol=1e-12, atol=1e-9)


def test_coloring_argument_forms():
    P = tridiag_pattern(10)
    res = coloring.color(P, "column", order="natural")
    J1 = sparsead.prepare_jacobian(tridiag, X10, sparsity=P, coloring=res)
    assert J1.coloring is res
    J2 = sparsead.prepare_jacobian(tridiag, X10, sparsity=P, coloring="smallest_last")
    J3 = sparsead.prepare_jacobian(tridiag, X10, sparsity=P,
                                   coloring={"order": ("natural", "largest_first")})
    for J in (J1, J2, J3):
        assert J.ncolors == 3
        np.testing.assert_allclose(J(X10).toarray(), dense_jacobian_cs(tridiag, X10),
                                   atol=1e-6)


def test_invalid_given_coloring_is_rejected():
    P = tridiag_pattern(10)
    bad = coloring.color(sp.eye_array(10, format="csr"), "column")  # one color for all
    with pytest.raises(sparsead.SparseADError, match="not valid"):
        sparsead.prepare_jacobian(tridiag, X10, sparsity=P, coloring=bad)
    with pytest.raises(sparsead.SparseADError, match="colors"):
        sparsead.prepare_jacobian(tridiag, X10, sparsity=P,
                                  coloring=coloring.color(sp.eye_array(4, format="csr")))


# -- shapes of x and f(x) ---------------------------------------------------------------

def test_matrix_input_scalar_output_and_extra_args():
    def f(X, w, c):
        return c * np.sum(w * X ** 2)
    X = np.arange(6.0).reshape(2, 3)
    w = np.linspace(1, 2, 6).reshape(2, 3)
    J = sparsead.prepare_jacobian(f, X, args=(w, 0.5), sparsity=np.ones((1, 6)),
                                  backend=FiniteDifferences("complex"))
    y, M = J.value_and_jacobian(X)
    assert np.shape(y) == () and M.shape == (1, 6)
    np.testing.assert_allclose(M.toarray(), dense_jacobian_cs(f, X, (w, 0.5)), atol=1e-12)


def test_scalar_input():
    def f(t):
        return np.array([np.sin(t), t ** 2])
    J = sparsead.jacobian(f, np.float64(0.3), sparsity=np.ones((2, 1)))
    np.testing.assert_allclose(J.toarray().ravel(), [np.cos(0.3), 0.6], rtol=1e-6)


def test_inplace_function():
    def f(out, x, a):
        out[0] = x[0] * x[1]
        out[1:] = a * np.exp(x[1:]) - x[:-1]
    x = np.linspace(0.1, 0.9, 5)
    P = np.zeros((5, 5), bool)
    P[0, :2] = True
    P[np.arange(1, 5), np.arange(1, 5)] = True
    P[np.arange(1, 5), np.arange(0, 4)] = True
    J = sparsead.prepare_jacobian(f, x, args=(2.0,), sparsity=P, out=np.zeros(5),
                                  backend=FiniteDifferences("complex"))

    def f_oop(x, a):
        out = np.zeros(5, dtype=x.dtype)
        f(out, x, a)
        return out
    y, M = J.value_and_jacobian(x)
    np.testing.assert_allclose(y, f_oop(x, 2.0))
    np.testing.assert_allclose(M.toarray(), dense_jacobian_cs(f_oop, x, (2.0,)), atol=1e-12)


def test_float32_keeps_dtype():
    x = X10.astype(np.float32)
    M = sparsead.jacobian(tridiag, x, sparsity=tridiag_pattern(10))
    assert M.dtype == np.float32
    np.testing.assert_allclose(M.toarray(), dense_jacobian_cs(tridiag, X10), atol=2e-2)


def test_empty_pattern_needs_no_products():
    calls = []

    def jvp(x, V):
        calls.append(V.shape)
        return np.zeros((V.shape[0], 3))
    J = sparsead.prepare_jacobian(lambda x: np.ones(3), np.ones(4), backend=Custom(jvp=jvp),
                                  sparsity=np.zeros((3, 4)))
    M = J(np.ones(4))
    assert J.ncolors == 0 and M.nnz == 0 and M.shape == (3, 4) and calls == []


# -- NaN and inf propagate --------------------------------------------------------------

def test_nan_and_inf_propagate_into_values():
    def f(x):
        y = x ** 2
        y[2] = np.sqrt(x[2])      # NaN derivative for x[2] < 0
        y[5] = x[5] / 0.0 * x[4]  # inf/NaN through a division by zero
        return y
    x = np.linspace(-1.0, 1.0, 8)
    x[2] = -0.5
    P = sp.eye_array(8, format="lil", dtype=bool)
    P[5, 4] = True
    with np.errstate(all="ignore"):
        M = sparsead.jacobian(f, x, sparsity=P)
    d = M.toarray()
    assert np.isnan(d[2, 2])
    assert not np.isfinite(d[5, 5]) and not np.isfinite(d[5, 4])
    finite_rows = [0, 1, 3, 4, 6, 7]
    assert np.all(np.isfinite(M.data[np.isin(M.tocoo().coords[0], finite_rows)]))
    assert M.nnz == 9  # the non-finite values are stored, not dropped


# -- bad input ------------------------------------------------------------------------

def test_error_x_shape_and_dtype_changed():
    J = sparsead.prepare_jacobian(tridiag, X10, sparsity=tridiag_pattern(10))
    with pytest.raises(sparsead.SparseADError, match="shape"):
        J(np.ones(11))
    with pytest.raises(sparsead.SparseADError, match="dtype"):
        J(X10.astype(np.float32))
    with pytest.raises(sparsead.SparseADError, match="floating"):
        sparsead.prepare_jacobian(tridiag, np.arange(10), sparsity=tridiag_pattern(10))


def test_error_output_shape_changed():
    state = {"m": 10}

    def f(x):
        return np.sin(x[: state["m"]])
    J = sparsead.prepare_jacobian(f, X10, sparsity=sp.eye_array(10))
    state["m"] = 9
    with pytest.raises(sparsead.SparseADError, match="output shape changed"):
        J(X10)
    # a Custom backend whose f changes size is caught by the pipeline too
    J2 = sparsead.prepare_jacobian(lambda x: np.sin(x[:state["m"]]), np.ones(9),
                                   backend=Custom(jvp=lambda x, V: V * np.cos(x)),
                                   sparsity=sp.eye_array(9))
    state["m"] = 8
    with pytest.raises(sparsead.SparseADError, match="output shape changed"):
        J2(np.ones(9))


def test_error_wrong_size_pattern():
    with pytest.raises(sparsead.SparseADError, match=r"shape \(10, 10\)"):
        sparsead.prepare_jacobian(tridiag, X10, sparsity=tridiag_pattern(9))
    with pytest.raises(sparsead.SparseADError, match="2-D"):
        sparsead.prepare_jacobian(tridiag, X10, sparsity=np.ones(10))


def test_error_mismatched_out():
    J = sparsead.prepare_jacobian(tridiag, X10, sparsity=tridiag_pattern(10))
    M = J(X10)
    with pytest.raises(sparsead.SparseADError, match="format"):
        J(X10, out=M.tocsc())
    with pytest.raises(sparsead.SparseADError, match="stores"):
        J(X10, out=sp.csr_array(np.eye(10)))
    with pytest.raises(sparsead.SparseADError, match="structure"):
        other = sp.csr_array(sp.diags_array([np.ones(8), np.ones(10), np.ones(8),
                                             np.ones(2)], offsets=[-2, 0, 2, 8]))
        J(X10, out=other)
    with pytest.raises(sparsead.SparseADError, match="dtype"):
        J(X10, out=M.astype(np.float32))
    with pytest.raises(sparsead.SparseADError, match="shape"):
        J(X10, out=sp.csr_array((10, 11)))
    with pytest.raises(sparsead.SparseADError, match="scipy.sparse"):
        J(X10, out=np.zeros((10, 10)))


def test_error_bad_options():
    P = tridiag_pattern(10)
    with pytest.raises(sparsead.SparseADError, match="format"):
        sparsead.prepare_jacobian(tridiag, X10, sparsity=P, format="dok")
    with pytest.raises(sparsead.SparseADError, match="mode"):
        sparsead.prepare_jacobian(tridiag, X10, sparsity=P, mode="sideways")
    with pytest.raises(sparsead.SparseADError, match="chunk_size"):
        sparsead.prepare_jacobian(tridiag, X10, sparsity=P, chunk_size=0)
    with pytest.raises(TypeError, match="coloring="):
        sparsead.prepare_jacobian(tridiag, X10, sparsity=P, coloring=3.5)


# -- random patterns ------------------------------------------------------------------

@st.composite
def random_problem(draw):
    m = draw(st.integers(1, 12))
    n = draw(st.integers(1, 12))
    density = draw(st.floats(0.05, 0.6))
    seed = draw(st.integers(0, 2 ** 31 - 1))
    fmt = draw(st.sampled_from(["csr", "csc", "coo"]))
    chunk = draw(st.sampled_from([None, 1, 3]))
    return m, n, density, seed, fmt, chunk


@settings(max_examples=25)
@given(random_problem())
def test_random_patterns_match_reference(problem):
    m, n, density, seed, fmt, chunk = problem
    rng = np.random.default_rng(seed)
    A = sp.random_array((m, n), density=density, rng=rng, format="csr")
    A.data = rng.uniform(0.5, 2.0, A.nnz)
    Ad = A.toarray()

    def f(x):  # J = A * cos(A x) row scaling: pattern exactly that of A
        return np.sin(Ad @ x) + 0.0 * x.sum()  # 0*x.sum() keeps f defined for any n
    x = rng.uniform(-1, 1, n)
    J = sparsead.prepare_jacobian(f, x, backend=FiniteDifferences("complex"), sparsity=A,
                                  format=fmt, chunk_size=chunk)
    M = J(x)
    assert M.format == fmt and M.nnz == A.nnz
    ref = np.cos(Ad @ x)[:, None] * Ad
    np.testing.assert_allclose(M.toarray(), ref, atol=1e-12)
    coloring.check(A, J.coloring)


def test_plan_index_equals_the_coloring_packages_gather():
    P = sp.csr_array(tridiag_pattern(10))
    for problem in ("column", "row"):
        res = coloring.color(P, problem)
        from sparsead._plan import build_plan
        plan = build_plan(P, res, fmt="csr")
        assert plan.flat_index is res.decompression_index("csr").flat_index


def test_symmetric_pattern_colors_one_side_only(monkeypatch):
    from sparsead import _choose_coloring as choose_mod
    problems = []
    real = choose_mod.run_coloring

    def spy(P, problem, opts):
        problems.append(problem)
        return real(P, problem, opts)
    monkeypatch.setattr(choose_mod, "run_coloring", spy)
    n = 8
    x = np.linspace(0.1, 1.0, n)
    calls = []
    J = sparsead.prepare_jacobian(tridiag, X10, backend=Custom(
        jvp=lambda x, V: V * 0, vjp=lambda x, W: W * 0), sparsity=tridiag_pattern(10))
    assert problems == ["column"] and J.mode == "column"
    problems.clear()
    sparsead.prepare_jacobian(_arrow_row, x, backend=_arrow_row_backend(calls),
                              sparsity=_arrow_row_pattern(n))
    assert set(problems) == {"column", "row"}


def test_refill_in_place_allocates_nothing_of_size_nnz():
    import tracemalloc
    n = 20000
    x = np.linspace(-1.0, 1.0, n)
    P = sp.diags_array([np.ones(n - 1), np.ones(n), np.ones(n - 1)], offsets=[-1, 0, 1],
                       shape=(n, n))
    # f allocates nothing itself (it returns its input), so every byte traced below is
    # the pipeline's or the fd backend's own
    J = sparsead.prepare_jacobian(lambda z: z, x, sparsity=P)
    M = J(x)
    J(x, out=M)  # warm caches (buffers, seed columns, compiled kernels)
    tracemalloc.start()
    J(x, out=M)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 0.05 * M.data.nbytes, peak
    np.testing.assert_allclose(M.diagonal(), 1.0, rtol=1e-6)


@pytest.mark.parametrize("chunk_size", [None, 2])
def test_seeds_and_gather_indices_are_read_only(chunk_size):
    """The JAX backend compiles seeds and indices in by identity: edits must raise."""
    N = 4
    f = make_brusselator_numpy(N)
    x = brusselator_initial(N)
    J = sparsead.prepare_jacobian(f, x, sparsity=brusselator_sparsity(N),
                                  chunk_size=chunk_size)
    plan = J._plan
    arrays = [J.seeds, plan.flat_index, plan.entry_input]
    for chunk in plan.chunks:
        arrays += [chunk.seeds, chunk.flat_index, chunk.entry_input]
    for a in arrays:
        assert not a.flags.writeable
        with pytest.raises(ValueError, match="read-only"):
            a[0] = 0
    with pytest.raises(ValueError, match="read-only"):
        J.seeds[...] = 1
    np.testing.assert_allclose(J(x).toarray(), dense_jacobian_cs(f, x), rtol=1e-5,
                               atol=1e-6)  # forward differences


@pytest.mark.parametrize("N", [8, 13, 32])
def test_default_coloring_of_brusselator_needs_at_most_10_colors(N):
    """The cheap default (largest-first + iterated greedy) keeps the known 10 colors.

    The default's passes are capped by a time limit that depends on the machine's load;
    an explicit limit that never binds makes the count independent of timing."""
    P = brusselator_sparsity(N)
    both_sides = Custom(jvp=lambda x, V: V, vjp=lambda x, W: W)
    result, _ = choose_jacobian_coloring(sp.csr_array(P), {"time_limit": 600.0}, both_sides,
                                         "auto")
    assert result.ncolors <= 10
    coloring.check(sp.csr_array(P), result)


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
def test_editing_one_result_never_changes_the_next(fmt):
    # Results share one read-only structure. eliminate_zeros (the scipy method that
    # rewrites indices in place) must work on a result and leave later results exact.
    def f(x):
        return np.array([x[0] * x[1], x[1] ** 2, x[2] + x[0]])
    P = sp.csr_array(np.array([[1, 1, 0], [0, 1, 0], [1, 0, 1]], dtype=bool))
    P_indices_before = P.indices.copy()
    J = sparsead.prepare_jacobian(f, np.ones(3), backend=Custom(jvp=lambda x, V: np.stack(
        [dense_jacobian_cs(f, x) @ v for v in V])), sparsity=P, format=fmt)
    x0 = np.array([0.0, 1.0, 2.0])  # d(x0*x1)/dx1 = x0 = 0: a stored structural zero
    M1 = J(x0)
    assert M1.nnz == 5
    M1.eliminate_zeros()
    assert M1.nnz == 4
    x1 = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(J(x1).toarray(), dense_jacobian_cs(f, x1), rtol=1e-13)
    assert J(x1).nnz == 5
    rows, cols = J.structure()
    with pytest.raises(ValueError):
        rows[0] = 2  # shared with every result: read-only
    if fmt != "coo":
        with pytest.raises(ValueError):
            J(x1).indices[0] = 2
    # the caller's pattern is copied, not frozen
    assert P.indices.flags.writeable and np.array_equal(P.indices, P_indices_before)
    M2 = J(x1)
    M2.data[:] = 0.0
    np.testing.assert_allclose(J(x1).toarray(), dense_jacobian_cs(f, x1), rtol=1e-13)
