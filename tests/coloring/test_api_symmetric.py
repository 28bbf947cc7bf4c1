"""The API layer of the symmetric problems: validation, symmetrize, uplo, out=, layouts.

The star and acyclic algorithms themselves are tested in test_star*/test_acyclic*; here
the round trip ``decompress(compress(H)) == H`` is checked through ``coloring.color``.
"""
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import coloring
from benchmarks.problems import arrowhead_hessian_sparsity, brusselator_sparsity
from coloring import ColoringError

pytest.importorskip("coloring.symmetric._coloring")


def symmetric_values(P, seed=0):
    """Random symmetric values on the symmetric pattern P (explicit zeros kept)."""
    P = sp.csr_array(P)
    P.sum_duplicates()
    P.sort_indices()
    rng = np.random.default_rng(seed)
    rows = np.repeat(np.arange(P.shape[0]), np.diff(P.indptr))
    lo, hi = np.minimum(rows, P.indices), np.maximum(rows, P.indices)
    # value depends only on the unordered pair, so the matrix is exactly symmetric
    vals = np.sin(lo * 12.9898 + hi * 78.233 + seed) * 1000 % 1 + rng.integers(1, 2, rows.size)
    return sp.csr_array((vals, P.indices, P.indptr), shape=P.shape)


def brute_force_star(Pd, colors):
    """Distance-1 proper, and every path on 4 vertices uses at least 3 colors."""
    n = Pd.shape[0]
    adj = [set(np.flatnonzero(Pd[i])) - {i} for i in range(n)]
    for i in range(n):
        for j in adj[i]:
            if colors[i] == colors[j]:
                return False
    for a in range(n):
        for b in adj[a]:
            for c in adj[b] - {a}:
                for d in adj[c] - {a, b}:
                    if colors[a] == colors[c] and colors[b] == colors[d]:
                        return False
    return True


CASES = {
    "arrowhead": arrowhead_hessian_sparsity(12),
    "brusselator": sp.csr_array(brusselator_sparsity(3).astype(bool)),
    "banded": sp.csr_array(sp.diags_array([np.ones(15 - abs(k)) for k in range(-2, 3)],
                                          offsets=list(range(-2, 3)), shape=(15, 15))),
    "diagonal": sp.eye_array(6, format="csr"),
    "empty": sp.csr_array((5, 5)),
    "no_diagonal_path": sp.csr_array(np.eye(7, k=1) + np.eye(7, k=-1)),
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("problem", ["star", "acyclic"])
@pytest.mark.parametrize("uplo", ["F", "L", "U"])
def test_symmetric_round_trip(name, problem, uplo):
    P = CASES[name]
    H = symmetric_values(P)
    r = coloring.color(P, problem, ("largest_first", "smallest_last"))
    assert r.problem == problem
    assert r.colors.shape == (P.shape[0],)
    if problem == "star":
        assert brute_force_star(P.toarray() != 0, r.colors)
    coloring.check(P, r)
    B = r.compress(H)
    assert B.shape == (P.shape[0], r.ncolors)
    ref = {"F": H, "L": sp.tril(H, format="csr"), "U": sp.triu(H, format="csr")}[uplo]
    for Bl in (B, np.asfortranarray(B)):
        D = r.decompress(Bl, uplo=uplo)
        assert np.array_equal(D.toarray(), ref.toarray())
        assert D.nnz == ref.nnz  # structural zeros of the triangle kept
        again = r.decompress(Bl, out=D, uplo=uplo)
        assert again is D and np.array_equal(D.toarray(), ref.toarray())
    idx = r.decompression_index("csr", uplo).flat_index
    if problem == "star":
        assert np.array_equal(np.ascontiguousarray(B.T).ravel()[idx], ref.data)
    else:
        assert idx is None


@settings(max_examples=20)
@given(st.integers(1, 14), st.floats(0, 0.6), st.integers(0, 1000),
       st.sampled_from(["star", "acyclic"]))
def test_random_symmetric_round_trip(n, density, seed, problem):
    rng = np.random.default_rng(seed)
    U = np.triu(rng.random((n, n)) < density)
    P = sp.csr_array(U | U.T)
    H = symmetric_values(P, seed)
    r = coloring.color(P, problem, "smallest_last")
    D = r.decompress(r.compress(H))
    if problem == "star":  # direct: every value is read, bit for bit
        assert np.array_equal(D.toarray(), H.toarray())
    else:  # substitution subtracts: rounding (seen: n=13, density 0.42, seed 371)
        np.testing.assert_allclose(D.toarray(), H.toarray(), rtol=1e-12, atol=1e-12)
    if problem == "star":
        assert brute_force_star(P.toarray(), r.colors)


def test_nonsymmetric_pattern_is_rejected_unless_symmetrize():
    A = sp.csr_array(np.triu(np.ones((4, 4))))
    for problem in ("star", "acyclic"):
        with pytest.raises(ColoringError, match=r"symmetric.*symmetrize=True"):
            coloring.color(A, problem)
        r = coloring.color(A, problem, symmetrize=True)
        assert r.pattern.nnz == 16
        coloring.check(A, r)  # checked against A | A.T
    with pytest.raises(ColoringError, match="square"):
        coloring.color(np.ones((3, 4)), "star")


def test_networkx_graph_star():
    nx = pytest.importorskip("networkx")
    G = nx.star_graph(20)
    r = coloring.color(G, "star")
    assert r.ncolors == 2  # the hub and the leaves
    assert r.lower_bound == 2  # a clique: the hub and one leaf


def test_arrowhead_star_two_colors():
    r = coloring.color(arrowhead_hessian_sparsity(500), "star", coloring.BEST_ORDERS)
    assert r.ncolors == 2


def test_check_symmetric_names_problem():
    P = CASES["banded"]
    r = coloring.color(P, "star")
    bad = coloring.ColoringResult(r.pattern, np.zeros(15, dtype=np.int64), "star")
    with pytest.raises(ColoringError):
        coloring.check(P, bad)


def test_wrong_B_shape_symmetric():
    P = CASES["banded"]
    r = coloring.color(P, "acyclic")
    with pytest.raises(ColoringError, match="shape"):
        r.decompress(np.zeros((15, r.ncolors + 1)))


@settings(max_examples=40)
@given(st.integers(1, 10), st.floats(0, 1), st.integers(0, 10**6))
def test_symmetry_check_names_an_unmirrored_entry(n, density, seed):
    from coloring._pattern import as_pattern, is_symmetric_pattern

    rng = np.random.default_rng(seed)
    D = rng.random((n, n)) < density
    if rng.random() < 0.5:
        D = D | D.T
    ok, pair = is_symmetric_pattern(as_pattern(D))
    assert ok == bool(np.array_equal(D, D.T))
    if not ok:
        i, j = pair
        assert D[i, j] and not D[j, i]


def max_clique_brute_force(P):
    """Reference: the largest clique, by networkx's exhaustive maximal-clique search."""
    nx = pytest.importorskip("networkx")
    P = sp.coo_array(P)
    G = nx.Graph()
    G.add_nodes_from(range(P.shape[0]))
    G.add_edges_from((int(i), int(j)) for i, j in zip(P.row, P.col) if i != j)
    return max((len(c) for c in nx.find_cliques(G)), default=0)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 14), density=st.floats(0.0, 0.8), seed=st.integers(0, 10**6))
def test_star_and_acyclic_lower_bound_is_a_clique_size(n, density, seed):
    # The bound of the symmetric problems must never exceed the colors actually used
    # (max degree + 1 did: an arrowhead needs 2), and it is the size of a real clique.
    rng = np.random.default_rng(seed)
    A = rng.random((n, n)) < density
    A = A | A.T | np.eye(n, dtype=bool)
    for problem in ("star", "acyclic"):
        r = coloring.color(A, problem)
        assert 1 <= r.lower_bound <= r.ncolors
        assert r.lower_bound <= max_clique_brute_force(A)
    if A.sum() == n:
        assert coloring.color(A, "star").lower_bound == 1  # no edges


def test_lower_bound_of_a_complete_block_and_the_arrowhead():
    K = np.ones((6, 6), bool)
    assert coloring.color(K, "star").lower_bound == 6 == coloring.color(K, "star").ncolors
    r = coloring.color(arrowhead_hessian_sparsity(10_000), "acyclic")
    assert r.lower_bound == 2 == r.ncolors
