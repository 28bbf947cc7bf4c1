"""Sparsity patterns: validation of given ones, detection through :mod:`tracer`.

Patterns are never guessed from random probes: either the user gives one
(``sparsity=``), or the tracer reads the function (or its numpy twin, ``sparsity_from=``).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import scipy.sparse as sp

import tracer

from ._errors import SparseADError, SparsityDetectionError


def as_pattern(sparsity: Any, shape: tuple[int, int], what: str) -> sp.csr_array:
    """Canonical boolean CSR pattern (sorted, no duplicates) of the expected shape.

    Every stored entry of a sparse input counts as structural (explicit zeros too, which
    is conservative); a dense input contributes its nonzeros.
    """
    if sp.issparse(sparsity):
        P = sp.csr_array(sparsity, copy=True)
        P.data = np.ones(P.data.size, dtype=bool)
    else:
        arr = np.asarray(sparsity)
        if arr.ndim != 2:
            raise SparseADError(f"sparsity for the {what} must be a 2-D matrix of shape "
                                f"{shape}, got an array of shape {arr.shape}")
        P = sp.csr_array(arr != 0)
    if P.shape != tuple(shape):
        raise SparseADError(
            f"sparsity has shape {P.shape}, but the {what} of this function at this x has "
            f"shape {tuple(shape)} (outputs x inputs, both flattened in C order); pass a "
            f"pattern of that shape")
    P.sum_duplicates()
    P.sort_indices()
    P.data = np.ones(P.indices.size, dtype=bool)
    # read-only int64 arrays of its own: the coloring package shares them, not copies them
    P.indptr, P.indices = _own_frozen_int64(P.indptr), _own_frozen_int64(P.indices)
    return P


def _own_frozen_int64(a: np.ndarray) -> np.ndarray:
    out = a if a.dtype == np.int64 and a.base is None else np.array(a, dtype=np.int64)
    out.flags.writeable = False
    return out


def _wrap_detection_error(exc: Exception, what: str) -> SparsityDetectionError:
    err = SparsityDetectionError(
        f"could not detect the {what} sparsity pattern: {exc}\n"
        f"Fix the function (see the message above). For value-dependent control flow, "
        f"first write the choice with np.where(cond, a, b) or np.select(...): exact, and "
        f"the pattern holds for every x. Otherwise use sparsity_mode='local': the pattern "
        f"is then detected again at every new x the prepared object is called with (one "
        f"trace of f per new x, often costlier than the Jacobian evaluation itself) and "
        f"the object re-colors when the pattern changes. Or pass sparsity= (a known "
        f"pattern) or "
        f"sparsity_from= (a numpy twin of the function)")
    return err


def detect_jacobian(f: Callable, x: np.ndarray, args: tuple, *, library: str,
                    sparsity_from: Callable | None, sparsity_mode: str,
                    out: Any = None) -> sp.csr_array:
    """Jacobian pattern of ``f`` (or of its numpy twin ``sparsity_from``) at ``x``."""
    return _detect("Jacobian", f, x, args, library, sparsity_from, sparsity_mode,
                   {"out": out})


def detect_hessian(f: Callable, x: np.ndarray, args: tuple, *, library: str,
                   sparsity_from: Callable | None, sparsity_mode: str) -> sp.csr_array:
    """Hessian pattern of scalar ``f`` (or of ``sparsity_from``) at ``x``."""
    return _detect("Hessian", f, x, args, library, sparsity_from, sparsity_mode, {})


def _detect(what: str, f: Callable, x: np.ndarray, args: tuple, library: str,
            sparsity_from: Callable | None, sparsity_mode: str,
            numpy_kwargs: dict) -> sp.csr_array:
    """The numpy tracer on ``sparsity_from`` or a numpy ``f``; the JAX or torch front-end
    on a JAX or torch ``f``; otherwise an error naming both ways to give the pattern."""
    pick = ((lambda tr: tr.jacobian_sparsity) if what == "Jacobian"
            else (lambda tr: tr.hessian_sparsity))
    if sparsity_from is not None or library == "numpy":
        g = sparsity_from if sparsity_from is not None else f
        try:
            return pick(tracer)(g, x, args=args, mode=sparsity_mode, **numpy_kwargs)
        except Exception as exc:  # noqa: BLE001  (re-raised with the fix attached)
            raise _wrap_detection_error(exc, what) from exc
    if library in ("jax", "torch"):
        return _detect_frontend(pick, f, x, args, sparsity_mode, what, library)
    raise SparsityDetectionError(
        f"sparsity detection of {library} functions is not available: pass sparsity= (a "
        f"known pattern) or sparsity_from= (the same function written with numpy)")


def _detect_frontend(pick, f, x, args, sparsity_mode, what, library):
    """Through the tracer's JAX or torch front-end, with a clear error when it fails."""
    try:
        detect = pick(tracer)
        kwargs = {"args": args, "frontend": library}
        if sparsity_mode != "global":
            kwargs["mode"] = sparsity_mode
        return detect(f, x, **kwargs)
    except Exception as exc:  # noqa: BLE001
        name = {"jax": "JAX", "torch": "torch"}[library]
        raise SparsityDetectionError(
            f"could not detect the {what} sparsity of this {name} function automatically "
            f"({type(exc).__name__}: {exc}). Pass sparsity= (a known pattern) or "
            f"sparsity_from= (the same function written with numpy, which the numpy "
            f"tracer reads)") from exc
