"""Choosing the coloring of a Jacobian or Hessian pattern: the one home of that decision.

Everything between a pattern and the coloring a prepared derivative uses lives here: the
``coloring=`` argument's defaults and normalization, the mode of a Jacobian (column: JVPs,
row: VJPs, bidirectional: both, auto: the fewest products the backend can compute), the
orders tried, where the improvement pass runs and its budget, the lower bounds that skip
a side, and the validation of a coloring the user gives. Preparation calls
:func:`jacobian_product_kinds` (which products to prepare) before it compiles, then,
once the pattern is known, :func:`choose_jacobian_coloring` or
:func:`choose_hessian_coloring`, which return the coloring and the pattern to keep
(:class:`ColoringChoice`); nothing here calls back into its callers. The coloring itself
is :func:`coloring.color`.
"""

from __future__ import annotations

import warnings
from typing import Any, Mapping, NamedTuple

import numpy as np
import scipy.sparse as sp

import coloring as _coloring

from ._errors import SparseADError
from .backends import Backend

#: Orders tried by default for Hessians (star/acyclic), keeping the fewest colors (see
#: :func:`coloring.color`).
DEFAULT_ORDERS: tuple[str, ...] = _coloring.BEST_ORDERS

#: Orders tried by default for Jacobians (column and row side). The improvement pass
#: (Culberson's iterated greedy) started from largest-first matches the best of all
#: orders on the Brusselator (10 colors, N = 8..128), where each of the other orders
#: costs several times largest-first and the improvement erases their advantage.
JACOBIAN_DEFAULT_ORDERS: tuple[str, ...] = ("largest_first",)

#: Default options of :func:`coloring.color`: the orders are tried on each side (column,
#: row), then up to 20 passes of the improvement (Culberson's iterated greedy) run on the
#: winner only (Hessians default to no improvement: star/acyclic passes cost more). On the
#: Brusselator that gives 10 colors (9 for some N) for every N from 8 to 2236. The passes
#: have a budget counted in adjacency entries visited, not in seconds (``effort``: at
#: most as much work as the order itself, and at least ``coloring.IMPROVE_MIN_WORK``), so
#: the result is deterministic on any machine and the coloring stays linear in the
#: pattern's size; small patterns get all 20 passes. The same ``effort`` budgets the
#: bicolorings' improvement and a Hessian's when asked for (``coloring={"improve": 20}``),
#: counted in what their kernels visit (see :func:`coloring.color`), so every coloring
#: is deterministic. ``coloring={"improve": 0}`` is cheapest, ``coloring={"effort": 4.0}``
#: searches longer on large patterns.
DEFAULT_COLORING_OPTIONS: dict[str, Any] = {"order": DEFAULT_ORDERS, "improve": 20,
                                            "effort": 1.0, "seed": 1}

class ColoringChoice(NamedTuple):
    """What preparation needs from the choice: the coloring, and the pattern to keep
    (the coloring's own read-only copy when it equals the given one, so that a prepared
    object holds one copy, not two)."""

    coloring: Any
    pattern: sp.csr_array


#: Modes of a Jacobian.
MODES = ("auto", "column", "row", "bidirectional")
_BICOLOR = ("bicolor", "bicolor_substitution")
_SYMMETRIC = ("star", "acyclic")


def coloring_options(coloring: Any, default_order: Any = DEFAULT_ORDERS,
                     default_improve: int = DEFAULT_COLORING_OPTIONS["improve"]
                     ) -> dict[str, Any]:
    """Normalize the ``coloring=`` argument (None, order name, tuple of orders, dict);
    ``default_order`` and ``default_improve`` apply where it names none."""
    defaults = {**DEFAULT_COLORING_OPTIONS, "order": default_order, "improve": default_improve}
    if coloring is None:
        return defaults
    if isinstance(coloring, str) or (isinstance(coloring, tuple)
                                     and all(isinstance(o, str) for o in coloring)):
        return {**defaults, "order": coloring}
    if isinstance(coloring, Mapping):
        return {**defaults, **coloring}
    raise TypeError(f"coloring= takes a coloring.ColoringResult, an order name, a tuple of "
                    f"order names or a dict of coloring.color options, not "
                    f"{type(coloring).__name__}")


def run_coloring(pattern: sp.csr_array, problem: str, options: dict[str, Any]):
    """Call :func:`coloring.color` with the normalized options for ``problem``."""
    opts = {k: v for k, v in options.items() if k != "problem"}
    return _coloring.color(pattern, problem, **opts)


def check_given_coloring(result: Any, pattern: sp.csr_array, allowed: tuple[str, ...]) -> None:
    """Validate a user-supplied ColoringResult against the pattern (clear errors)."""
    problem = getattr(result, "problem", None)
    if problem not in allowed:
        raise SparseADError(f"coloring has problem={problem!r}, but this derivative needs "
                            f"one of {allowed}")
    colors = np.asarray(result.colors)
    expected = pattern.shape[0] if problem == "row" else pattern.shape[1]
    if colors.shape != (expected,):
        raise SparseADError(f"coloring has {colors.size} colors but the pattern of shape "
                            f"{pattern.shape} needs {expected} ({problem} coloring)")
    try:
        _coloring.check(pattern, result)
    except _coloring.ColoringError as exc:
        raise SparseADError(f"the given coloring is not valid for this sparsity pattern: "
                            f"{exc}") from exc


def is_coloring_result(obj: Any) -> bool:
    """Whether ``coloring=`` is a computed one-sided or symmetric coloring (not options)."""
    return hasattr(obj, "colors") and hasattr(obj, "problem") and hasattr(obj, "ncolors")


def _is_bicoloring(obj: Any) -> bool:
    return hasattr(obj, "row_colors") and hasattr(obj, "column_colors")


def _unknown_mode(mode: str) -> SparseADError:
    return SparseADError(f"unknown mode {mode!r}; use 'auto', 'column' (JVPs), 'row' "
                         f"(VJPs) or 'bidirectional' (both)")


def jacobian_product_kinds(mode: str, backend: Backend) -> frozenset[str]:
    """The products (``"jvp"``, ``"vjp"``) a Jacobian in ``mode`` may need from
    ``backend``: what preparation compiles before the pattern is known."""
    if mode not in MODES:
        raise _unknown_mode(mode)
    for side, kind, what in (("column", "jvp", "JVPs"), ("row", "vjp", "VJPs")):
        if mode == side and not backend.supports(kind):
            raise SparseADError(f"mode={side!r} needs {what}, which backend "
                                f"{backend.name!r} does not provide; use mode='auto'")
    kinds = frozenset({"jvp"}) if mode == "column" else (
        frozenset({"vjp"}) if mode == "row" else
        frozenset(k for k in ("jvp", "vjp") if backend.supports(k)))
    if not kinds:
        raise SparseADError(f"backend {backend.name!r} supports neither JVPs nor VJPs")
    return kinds


def _given_bicoloring(P: sp.csr_array, result: Any, backend: Backend, mode: str):
    """Validate a user-supplied bicoloring (same pattern, a backend with both products)."""
    if mode not in ("auto", "bidirectional"):
        raise SparseADError(f"mode={mode!r} contradicts the given bicoloring; use "
                            f"mode='bidirectional'")
    if not (backend.supports("jvp") and backend.supports("vjp")):
        raise SparseADError(f"a bicoloring needs JVPs and VJPs, which backend "
                            f"{backend.name!r} does not both provide")
    pattern = result.pattern
    if pattern.shape != P.shape or not (np.array_equal(pattern.indptr, P.indptr)
                                        and np.array_equal(pattern.indices, P.indices)):
        raise SparseADError("the given bicoloring was computed for another sparsity pattern; "
                            "bicolor this Jacobian's pattern (J.sparsity) instead")
    try:
        _coloring.check(P, result)
    except _coloring.ColoringError as exc:
        raise SparseADError(f"the given bicoloring is not valid for this sparsity pattern: "
                            f"{exc}") from exc
    return result


def _bidirectional_side(backend: Backend, warn: bool = True) -> str | None:
    """The one-sided mode a backend without both products falls back to (None: none)."""
    if backend.supports("jvp") and backend.supports("vjp"):
        return None
    side = "column" if backend.supports("jvp") else "row"
    what = "VJPs" if side == "column" else "JVPs"
    if warn:
        warnings.warn(f"backend {backend.name!r} has no {what}, so mode='bidirectional' is not "
                      f"available; using mode={side!r} ({side} coloring) instead",
                      UserWarning, stacklevel=5)
    return side


def choose_jacobian_coloring(P: sp.csr_array, coloring: Any, backend: Backend, mode: str,
                             *, bidirectional: bool = True) -> ColoringChoice:
    """Column (JVP), row (VJP) or bidirectional coloring: the fewest products.

    Returns the coloring result (a ``coloring.BicoloringResult`` for bidirectional) and
    the pattern to keep (:class:`ColoringChoice`); see :func:`_jacobian_coloring`."""
    result = _jacobian_coloring(P, coloring, backend, mode, bidirectional=bidirectional)
    return ColoringChoice(result, shared_pattern(P, result))


def _jacobian_coloring(P: sp.csr_array, coloring: Any, backend: Backend, mode: str,
                       *, bidirectional: bool = True):
    """The coloring of :func:`choose_jacobian_coloring`. On a
    tie the column coloring wins (forward mode has no tape to store), and a one-sided
    coloring wins over a bicoloring. A VJP counts as one product. ``mode`` forces one
    kind; ``"bidirectional"`` on a backend without VJPs (``"fd"``) warns and uses column
    coloring. ``bidirectional=False`` (a caller that evaluates one-sided colorings only)
    keeps ``"auto"`` to column and row colorings and refuses a bicoloring.
    """
    if mode not in MODES:
        raise _unknown_mode(mode)
    if not bidirectional and (mode == "bidirectional" or _is_bicoloring(coloring) or (
            isinstance(coloring, dict) and coloring.get("problem") in _BICOLOR)):
        raise SparseADError("bidirectional evaluation (a bicoloring) is not available here: "
                            "use mode='auto', 'column' or 'row', or sparsead.prepare_jacobian")
    can = {"column": backend.supports("jvp"), "row": backend.supports("vjp")}
    if _is_bicoloring(coloring):
        return _given_bicoloring(P, coloring, backend, mode)
    if is_coloring_result(coloring):
        check_given_coloring(coloring, P, ("column", "row"))
        side = coloring.problem
        if mode != "auto" and mode != side:
            raise SparseADError(f"mode={mode!r} contradicts the given {side} coloring")
        if not can[side]:
            raise SparseADError(f"a {side} coloring needs {'JVPs' if side == 'column' else 'VJPs'}"
                                f", which backend {backend.name!r} does not provide")
        return coloring
    opts = coloring_options(coloring, JACOBIAN_DEFAULT_ORDERS)
    forced = opts.pop("problem", None)
    bicolor_problem = "bicolor"
    if forced is not None:
        if forced not in ("column", "row") + _BICOLOR:
            raise SparseADError(f"a Jacobian needs problem 'column', 'row', 'bicolor' or "
                                f"'bicolor_substitution', not {forced!r}")
        forced_mode = "bidirectional" if forced in _BICOLOR else forced
        if mode not in ("auto", forced_mode) and not (
                forced in _BICOLOR and _bidirectional_side(backend, warn=False) == mode):
            raise SparseADError(f"mode={mode!r} contradicts coloring problem={forced!r}")
        mode = forced_mode
        if forced in _BICOLOR:
            bicolor_problem = forced
    if mode == "bidirectional":
        side = _bidirectional_side(backend)
        if side is None:
            return run_coloring(P, bicolor_problem, opts)
        mode = side
    best = _one_sided_coloring(P, opts, can, mode, backend)
    if (bidirectional and mode == "auto" and can["column"] and can["row"]
            and _may_bicolor_better(P, best)):
        best = _bicoloring_if_fewer(P, opts, best)
    return best


def _may_bicolor_better(P: sp.csr_array, best: Any) -> bool:
    """Whether ``mode="auto"`` tries a bicoloring after the one-sided ``best``.

    A bicoloring pays off when dense rows and dense columns force a one-sided coloring
    far above the typical number of nonzeros per row or column. Below twice that average
    (the Brusselator: 10 colors, 6 nonzeros per row) it is not tried, which keeps its
    cost (a sizeable fraction of the default coloring's there) off the default path; nor
    with fewer than 3 colors, where a bicoloring of 1 or 2 products would be one-sided
    too. ``mode="bidirectional"`` always bicolors.
    """
    m, n = P.shape
    mean = P.nnz / max(min(m, n), 1)
    return best.ncolors >= 3 and best.ncolors > 2 * mean


def _bicoloring_if_fewer(P: sp.csr_array, opts: dict, best: Any) -> Any:
    """A bicoloring if it needs fewer products than ``best`` (improved only if it wins)."""
    improve = opts.get("improve", False)
    trial = run_coloring(P, "bicolor", {**opts, "improve": 0})
    if trial.nproducts >= best.ncolors:
        return best
    if improve and trial.nproducts > 2:
        improved = run_coloring(P, "bicolor", opts)
        if improved.nproducts < trial.nproducts:
            trial = improved
    return trial


def _one_sided_coloring(P: sp.csr_array, opts: dict, can: dict, mode: str,
                        backend: Backend) -> Any:
    """The column or row coloring with fewer colors (``mode`` "auto"), or the forced one."""
    opts = dict(opts)
    sides = ("column", "row") if mode == "auto" else (mode,)
    sides = tuple(s for s in sides if can[s])
    if not sides:
        need = "JVPs" if mode == "column" else "VJPs" if mode == "row" else "JVPs or VJPs"
        raise SparseADError(f"backend {backend.name!r} provides no {need} for mode={mode!r}")
    if len(sides) == 2 and _structurally_symmetric(P):
        sides = ("column",)  # the row problem of a symmetric pattern is the same problem
    if len(sides) == 1:
        return run_coloring(P, sides[0], opts)
    # Try every order on each side without the improvement pass, then improve only the
    # winner: the pass costs as much as all orders together and rarely changes the winner.
    improve = opts.pop("improve", False)
    budget = {key: opts.pop(key) for key in ("time_limit", "effort") if key in opts}
    best = None
    for side in sides:
        if best is not None and best.ncolors <= _lower_bound(P, side):
            continue  # this side cannot need fewer colors than the best so far
        result = run_coloring(P, side, opts)
        if best is None or result.ncolors < best.ncolors:
            best = result
    if improve and best.ncolors > _lower_bound(P, best.problem):
        order = getattr(best, "order", "") or opts.get("order", "largest_first")
        order = order.split("+")[0]
        improved = run_coloring(P, best.problem, {**opts, "order": order, "improve": improve,
                                                  **budget})
        if improved.ncolors < best.ncolors:
            best = improved
    return best


def _structurally_symmetric(P: sp.csr_array) -> bool:
    """Whether the pattern equals its transpose (then row and column coloring coincide);
    one O(nnz) pass, no transposed copy."""
    if P.shape[0] != P.shape[1]:
        return False
    return bool(_coloring.is_symmetric_pattern(P)[0])


def shared_pattern(P: sp.csr_array, result: Any) -> sp.csr_array:
    """The coloring's own (read-only) copy of the pattern when it equals ``P``: the
    prepared object then keeps one copy of the pattern, not two."""
    Q = getattr(result, "pattern", None)
    if Q is P or (Q is not None and Q.indices is P.indices and Q.indptr is P.indptr):
        return Q
    if (sp.issparse(Q) and Q.format == "csr" and Q.shape == P.shape and Q.nnz == P.nnz
            and np.array_equal(Q.indptr, P.indptr) and np.array_equal(Q.indices, P.indices)):
        return Q
    return P


def _lower_bound(P: sp.csr_array, side: str) -> int:
    """Colors any coloring of this side needs: the most nonzeros in a row (column side)
    or in a column (row side)."""
    if P.nnz == 0:
        return 0
    if side == "column":
        return int(np.diff(P.indptr).max())
    return int(np.bincount(P.indices, minlength=P.shape[1]).max())


def choose_hessian_coloring(P: sp.csr_array, coloring: Any) -> ColoringChoice:
    """A star (default) or acyclic coloring of the symmetric pattern ``P``, and the
    pattern to keep (:class:`ColoringChoice`).

    ``coloring`` is a ColoringResult, ``"star"``/``"acyclic"``, an order name or tuple, or
    a dict of :func:`coloring.color` options (``{"problem": "acyclic", "order": ...}``).
    """
    result = _hessian_coloring(P, coloring)
    return ColoringChoice(result, shared_pattern(P, result))


def _hessian_coloring(P: sp.csr_array, coloring: Any):
    if is_coloring_result(coloring):
        check_given_coloring(coloring, P, _SYMMETRIC)
        return coloring
    problem = "star"
    if isinstance(coloring, str) and coloring in _SYMMETRIC:
        problem, coloring = coloring, None
    # No improvement pass by default: it would cost as much again as the orders (its
    # ``effort`` budget), and more on small patterns (its floor,
    # ``coloring._api.SYMMETRIC_IMPROVE_MIN_WORK``);
    # ``coloring={"improve": 20}`` asks for it (deterministic, as for Jacobians).
    opts = coloring_options(coloring, default_improve=0)
    problem = opts.pop("problem", problem)
    if problem not in _SYMMETRIC:
        raise SparseADError(f"a Hessian needs problem 'star' (direct decompression) or "
                            f"'acyclic' (substitution), not {problem!r}")
    return run_coloring(P, problem, opts)
