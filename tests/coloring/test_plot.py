"""ColoringResult.plot: the axes it returns and the colors it gives each nonzero."""

import numpy as np
import pytest
import scipy.sparse as sp

import coloring
from coloring._plot import nonzero_colors

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def laplacian(k):
    T = sp.diags_array([-1.0, 2.0, -1.0], offsets=[-1, 0, 1], shape=(k, k))
    return sp.csr_array(sp.kronsum(T, T))


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize("problem", ["column", "row", "star", "acyclic"])
def test_plot_returns_the_pattern_and_compressed_axes(problem):
    result = coloring.color(laplacian(5), problem=problem, order="smallest_last")
    axes = result.plot()
    assert isinstance(axes, tuple) and len(axes) == 2
    pattern_ax, compressed_ax = axes
    assert isinstance(pattern_ax, matplotlib.axes.Axes)
    assert pattern_ax.figure is compressed_ax.figure
    # one marker per structural nonzero
    (markers,) = pattern_ax.collections
    assert len(markers.get_offsets()) == result.nnz
    # the compressed image has the shape of B
    (image,) = compressed_ax.images
    assert image.get_array().shape == result.compressed_shape


def test_plot_into_given_axes():
    result = coloring.color(laplacian(4), problem="column")
    fig, ax = plt.subplots()
    assert result.plot(ax) is ax
    fig, pair = plt.subplots(1, 2)
    assert result.plot(pair) == (pair[0], pair[1])
    assert isinstance(result.plot(compressed=False), matplotlib.axes.Axes)
    with pytest.raises(ValueError, match="pair of Axes"):
        result.plot(list(pair) + [ax])


@pytest.mark.parametrize("problem", ["column", "row", "star", "acyclic"])
def test_each_nonzero_gets_the_color_it_is_read_from(problem):
    """Naive reference: direct decompression reads A[i, j] from B at its color's entry."""
    A = laplacian(6)
    A = sp.csr_array(A + sp.random_array(A.shape, density=0.02, random_state=1))
    A = sp.csr_array(A + A.T)  # symmetric for star/acyclic, still fine for column/row
    result = coloring.color(A, problem=problem, order="largest_first")
    got = nonzero_colors(result)
    P = result.pattern
    U = sp.csr_array(sp.triu(P.astype(float)))
    U.data = np.random.default_rng(0).uniform(1.0, 2.0, U.nnz)
    V = sp.csr_array(U + sp.triu(U, k=1).T)  # symmetric values on the pattern
    assert V.nnz == result.nnz
    B = result.compress(V)
    for pos, (i, j) in enumerate(zip(np.repeat(np.arange(P.shape[0]), np.diff(P.indptr)),
                                     P.indices)):
        c = got[pos]
        if problem == "column":
            assert c == result.colors[j]
        elif problem == "row":
            assert c == result.colors[i]
        elif problem == "acyclic":
            assert c == result.colors[j]
        else:  # star: read from B[i, c] with c = color of j, or from B[j, c], c = color of i
            assert c in (result.colors[i], result.colors[j])
            # read directly: B[i, color j] (or B[j, color i]) holds A[i, j] alone
            assert (c == result.colors[j] and np.isclose(B[i, c], V[i, j])) or (
                c == result.colors[i] and np.isclose(B[j, c], V[i, j]))
