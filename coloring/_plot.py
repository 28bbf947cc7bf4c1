"""Pictures of a coloring: the pattern coloured by color, and the compressed matrix.

The picture follows SparseMatrixColorings.jl's ``show_colors``: each structural nonzero of
the pattern gets the color of the product it is read from (its column's color for column
colorings, its row's for row colorings, the color of the compressed entry its direct
decompression reads for star colorings), and beside it the compressed matrix ``B`` shows
which of its entries hold nonzeros, coloured by their product. matplotlib is imported here
only, so it stays an optional dependency.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def nonzero_colors(result: Any) -> np.ndarray:
    """The color each structural nonzero of ``result.pattern`` is recovered from.

    Parameters
    ----------
    result : ColoringResult
        The coloring.

    Returns
    -------
    numpy.ndarray of int64
        One color per nonzero, aligned with ``result.pattern.indices``.
    """
    P = result.pattern
    rows = np.repeat(np.arange(P.shape[0], dtype=np.int64), np.diff(P.indptr))
    if result.problem == "row":
        return result.colors[rows]
    if result.problem == "star" and result.ncolors:
        index = result.decompression_index().flat_index
        return (index // P.shape[1]).astype(np.int64)  # batch-first (k, n): c * n + i
    return result.colors[P.indices]  # column, acyclic (by substitution)


def _cmap(plt: Any, k: int) -> Any:
    # tab10 has no pale colors; tab20, then a continuous map, when more colors are needed
    name = "tab10" if k <= 10 else "tab20" if k <= 20 else "turbo"
    return plt.get_cmap(name, max(k, 2))


def _marker_area(ax: Any, shape: tuple[int, int]) -> float:
    """Marker area (points^2) so that one cell of the matrix is about one square marker."""
    fig = ax.figure
    bbox = ax.get_position()
    w_in = bbox.width * fig.get_figwidth()
    h_in = bbox.height * fig.get_figheight()
    cell = 72.0 * min(w_in / max(shape[1], 1), h_in / max(shape[0], 1))
    return max(cell, 2.0) ** 2  # at least 2 points: large patterns stay visible


def _draw_pattern(ax: Any, rows: np.ndarray, cols: np.ndarray, colors: np.ndarray,
                  shape: tuple[int, int], cmap: Any, k: int, title: str) -> None:
    # one square marker per nonzero: no dense (m, n) image for large patterns
    ax.scatter(cols, rows, c=colors, cmap=cmap, vmin=-0.5, vmax=max(k, 2) - 0.5,
               marker="s", s=_marker_area(ax, shape), linewidths=0)
    ax.set_xlim(-0.5, shape[1] - 0.5)
    ax.set_ylim(shape[0] - 0.5, -0.5)
    ax.set_aspect("equal" if max(shape) <= 20 * min(shape) else "auto")
    ax.set_title(title)


def _draw_compressed(ax: Any, B_colors: np.ndarray, cmap: Any, k: int, title: str) -> None:
    # B has only k columns (or rows): a dense image of it is small
    ax.imshow(np.ma.masked_less(B_colors, 0), cmap=cmap, vmin=-0.5, vmax=max(k, 2) - 0.5,
              interpolation="nearest", aspect="auto")
    ax.set_title(title)


def plot_coloring(result: Any, ax: Any = None, *, compressed: bool = True) -> Any:
    """Draw ``result.pattern`` coloured by color, and the compressed matrix beside it.

    Parameters
    ----------
    result : ColoringResult
        The coloring to draw.
    ax : matplotlib.axes.Axes or pair of Axes, optional
        Where to draw. ``None`` makes a new figure with one (``compressed=False``) or two
        axes. A single Axes gets only the pattern; a pair gets the pattern and ``B``.
    compressed : bool
        With ``ax=None``, also draw the compressed matrix ``B``.

    Returns
    -------
    matplotlib.axes.Axes or tuple of two Axes
        The axes drawn into: ``(pattern_ax, compressed_ax)`` when ``B`` is drawn.

    Raises
    ------
    ImportError
        If matplotlib is not installed (``pip install "sparsead[plot]"``).
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError("ColoringResult.plot needs matplotlib: "
                          "pip install matplotlib (or the extra sparsead[plot])") from exc
    row = result.problem == "row"
    if ax is None:
        if compressed:
            # B has k columns (k rows for row colorings): a narrow panel that shares the
            # pattern's rows (columns), so each product lines up with what it holds
            if row:
                _, axes = plt.subplots(2, 1, figsize=(5, 6.5), height_ratios=[3, 1],
                                       sharex=True, layout="constrained")
            else:
                _, axes = plt.subplots(1, 2, figsize=(7, 4.8), width_ratios=[3, 1],
                                       sharey=True, layout="constrained")
            ax = tuple(axes)
        else:
            _, ax = plt.subplots(figsize=(4.8, 4.8), layout="constrained")
    if isinstance(ax, (tuple, list, np.ndarray)):
        if len(ax) != 2:
            raise ValueError(f"ax must be one Axes or a pair of Axes, got {len(ax)} axes")
        pattern_ax, compressed_ax = ax[0], ax[1]
    else:
        pattern_ax, compressed_ax = ax, None

    P = result.pattern
    k = result.ncolors
    cmap = _cmap(plt, k)
    rows = np.repeat(np.arange(P.shape[0], dtype=np.int64), np.diff(P.indptr))
    _draw_pattern(pattern_ax, rows, P.indices, nonzero_colors(result), P.shape, cmap, k,
                  f"{result.problem} coloring: {k} colors")
    if compressed_ax is None:
        return pattern_ax

    # entries of B that receive at least one nonzero (all-ones values: no cancellation)
    B = result.compress(np.ones(result.nnz))
    colors = np.arange(B.shape[0])[:, None] if row else np.arange(B.shape[1])[None, :]
    B_colors = np.where(B != 0, colors, -1)
    product = "S^T A" if row else "A S"
    _draw_compressed(compressed_ax, B_colors, cmap, k,
                     f"B = {product}, {B.shape[0]} x {B.shape[1]}")
    return pattern_ax, compressed_ax
