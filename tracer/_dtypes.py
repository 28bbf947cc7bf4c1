"""The result dtype of a ufunc on operands of given kinds, as numpy resolves it.

An operand's kind is its numpy dtype (traced arrays, traced scalars, numpy scalars and
arrays: *strong* types) or the Python type ``bool``, ``int``, ``float`` or ``complex`` of
a plain number (a *weak* type: ``float32_array + 1.0`` stays float32). numpy itself
decides, on probes of those kinds, once per ufunc and kinds; an operation numpy rejects
(``float & float``, ``-bool``) raises numpy's own ``TypeError`` (not cached: numpy raises
it afresh each time).
"""

from __future__ import annotations

from typing import Any

import numpy as np

FLOAT = np.dtype(float)
BOOL = np.dtype(bool)
INT = np.dtype(int)

_PYTHON_NUMBERS = (bool, int, float, complex)

# (ufunc, kinds...) -> dtype, or tuple of dtypes (several outputs)
_RESULTS: dict[tuple, Any] = {}


def kind_of(x) -> Any:
    """The kind of a plain operand: its Python type (weak) or its numpy dtype (strong)."""
    t = type(x)
    if t in _PYTHON_NUMBERS:
        return t
    dtype = getattr(x, "dtype", None)
    if isinstance(dtype, np.dtype):
        return dtype
    return np.asarray(x).dtype


def _probe(kind):
    if not isinstance(kind, np.dtype):
        return kind(1)
    if kind.kind in "biufc":
        return kind.type(1)  # a numpy scalar: no allocation (np.ones is patched in traces)
    return np.ones((), kind)


def result_dtype(ufunc: np.ufunc, *kinds):
    """numpy's result dtype of ``ufunc`` on operands of these kinds (see :func:`kind_of`).

    A ufunc with several outputs gives a tuple of dtypes. Raises numpy's ``TypeError``
    when numpy has no loop for the kinds.
    """
    key = (ufunc,) + kinds
    r = _RESULTS.get(key)
    if r is None:
        with np.errstate(all="ignore"):
            out = ufunc(*[_probe(k) for k in kinds])
        r = tuple(np.asarray(o).dtype for o in out) if isinstance(out, tuple) else \
            np.asarray(out).dtype
        _RESULTS[key] = r
    return r
