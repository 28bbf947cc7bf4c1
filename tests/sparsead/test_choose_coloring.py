"""The coloring preparation chooses, against a naive reference written from the documented
defaults (prepare_jacobian's and prepare_hessian's docstrings) with direct calls of
coloring.color: the same colors, on random, Brusselator and arrowhead patterns."""
import itertools
import time
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import coloring
import sparsead
from benchmarks.problems import brusselator_sparsity
from sparsead._choose_coloring import choose_hessian_coloring
from sparsead.backends import Custom

#: The documented defaults: largest-first on each side of a Jacobian, up to 20 passes of
#: iterated greedy within once the ordering's work (deterministic), seed 1; the best
#: orders and no improvement for a Hessian.
IMPROVE = {"improve": 20, "effort": 1.0, "seed": 1}

BOTH = Custom(jvp=lambda x, V: V, vjp=lambda x, W: W)
ONLY_VJP = Custom(vjp=lambda x, W: W)


def reference_jacobian_coloring(P, mode, jvp=True, vjp=True):
    """The documented choice, spelled out with one coloring.color call per step."""
    if mode == "bidirectional" and jvp and vjp:
        return coloring.color(P, "bicolor", "largest_first", **IMPROVE)
    if mode == "bidirectional":  # a backend with one kind of product falls back to it
        mode = "column" if jvp else "row"
    sides = [s for s, ok in (("column", jvp), ("row", vjp)) if ok and mode in ("auto", s)]
    if len(sides) == 1:
        return coloring.color(P, sides[0], "largest_first", **IMPROVE)
    # auto: largest-first on both sides (column on ties), then the improvement on the
    # winner, kept if it has fewer colors
    plain = [coloring.color(P, side, "largest_first", seed=1) for side in sides]
    best = plain[0] if plain[0].ncolors <= plain[1].ncolors else plain[1]
    improved = coloring.color(P, best.problem, "largest_first", **IMPROVE)
    if improved.ncolors < best.ncolors:
        best = improved
    # then a bicoloring where a side needs more than twice the average nonzeros per row
    # or column (and at least 3 colors); kept if it needs fewer products
    mean = P.nnz / max(min(P.shape), 1)
    if best.ncolors >= 3 and best.ncolors > 2 * mean:
        trial = coloring.color(P, "bicolor", "largest_first", **{**IMPROVE, "improve": 0})
        if trial.nproducts < best.ncolors:
            if trial.nproducts > 2:
                better = coloring.color(P, "bicolor", "largest_first", **IMPROVE)
                if better.nproducts < trial.nproducts:
                    trial = better
            best = trial
    return best


def assert_same_coloring(got, want):
    assert got.problem == want.problem
    if hasattr(want, "row_colors"):
        np.testing.assert_array_equal(got.row_colors, want.row_colors)
        np.testing.assert_array_equal(got.column_colors, want.column_colors)
    else:
        np.testing.assert_array_equal(got.colors, want.colors)


def prepared_coloring(P, mode, backend):
    m, n = P.shape
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # fd's fallback from bidirectional
        J = sparsead.prepare_jacobian(lambda x: np.zeros(m), np.ones(n), backend=backend,
                                      sparsity=P, mode=mode)
    return J.coloring


def arrowhead(n, symmetric):
    A = np.eye(n, dtype=bool)
    A[0] = True
    A[:, 0 if symmetric else -1] = True
    return sp.csr_array(A)


NAMED = {"brusselator8": sp.csr_array(brusselator_sparsity(8)),
         "arrowhead": arrowhead(30, symmetric=False),
         "symmetric_arrowhead": arrowhead(30, symmetric=True)}
CASES = [("auto", BOTH, True, True), ("column", BOTH, True, True), ("row", BOTH, True, True),
         ("bidirectional", BOTH, True, True), ("auto", "fd", True, False),
         ("bidirectional", "fd", True, False), ("auto", ONLY_VJP, False, True)]


@pytest.mark.parametrize("name", sorted(NAMED))
@pytest.mark.parametrize("mode, backend, jvp, vjp", CASES)
def test_jacobian_coloring_is_the_documented_choice(name, mode, backend, jvp, vjp):
    P = NAMED[name]
    assert_same_coloring(prepared_coloring(P, mode, backend),
                         reference_jacobian_coloring(P, mode, jvp, vjp))


def test_auto_bicolors_the_arrowhead():
    """The reference's bicoloring branch is exercised (else the test above proves less)."""
    assert prepared_coloring(NAMED["arrowhead"], "auto", BOTH).problem == "bicolor"


@st.composite
def patterns(draw):
    m = draw(st.integers(1, 25))
    n = draw(st.integers(1, 25))
    density = draw(st.sampled_from([0.05, 0.15, 0.4]))
    seed = draw(st.integers(0, 2**31 - 1))
    A = np.random.default_rng(seed).random((m, n)) < density
    if draw(st.booleans()):  # a dense row and column: where bicolorings win
        A[0] = A[:, -1] = True
    return sp.csr_array(A)


@settings(max_examples=40, deadline=None)
@given(P=patterns(), case=st.sampled_from(CASES))
def test_random_jacobian_coloring_is_the_documented_choice(P, case):
    mode, backend, jvp, vjp = case
    assert_same_coloring(prepared_coloring(P, mode, backend),
                         reference_jacobian_coloring(P, mode, jvp, vjp))


@settings(max_examples=20, deadline=None)
@given(P=patterns(), problem=st.sampled_from(["star", "acyclic"]))
def test_hessian_coloring_is_the_documented_choice(P, problem):
    n = max(P.shape)
    A = np.zeros((n, n), dtype=bool)
    A[:P.shape[0], :P.shape[1]] = P.toarray()
    S = sp.csr_array(A | A.T)
    H = sparsead.prepare_hessian(lambda x: 0.0, np.ones(n), grad=lambda x: x, sparsity=S,
                                 coloring=problem)
    want = coloring.color(S, problem, coloring.BEST_ORDERS, improve=0, effort=1.0, seed=1)
    assert_same_coloring(H.coloring, want)


def test_hessian_and_bicoloring_improvements_ignore_the_clock(monkeypatch):
    """The effort budget reaches the star/acyclic and bicolor improvements: with hours
    passing between clock readings they still give the calm run's colorings (a time
    budget would stop them at once), which are the documented calls of coloring.color."""
    H = np.random.default_rng(3).random((200, 200)) < 0.02
    H = sp.csr_array(H | H.T | np.eye(200, dtype=bool))
    J = np.random.default_rng(0).random((120, 100)) < 0.04
    J[0] = J[:, -1] = True
    J = sp.csr_array(J)

    def choose():
        return (choose_hessian_coloring(H, {"problem": "acyclic", "improve": 20}).coloring,
                prepared_coloring(J, "bidirectional", BOTH))

    calm = choose()
    # the improvements win here, so stopping them early would change the colorings
    assert "+" in calm[0].order and "+" in calm[1].order
    assert_same_coloring(calm[0], coloring.color(H, "acyclic", coloring.BEST_ORDERS,
                                                 **IMPROVE))
    assert_same_coloring(calm[1], reference_jacobian_coloring(J, "bidirectional"))
    ticks = itertools.count()
    monkeypatch.setattr(time, "perf_counter", lambda: 3600.0 * next(ticks))
    for got, want in zip(choose(), calm):
        assert_same_coloring(got, want)
