"""Torch front-end: sparsity detection of functions written with PyTorch.

The function is recorded as an aten-level graph without values (``make_fx`` in
fake-tensor mode, after ``torch.func.functionalize``; see :mod:`tracer.torch._graph`),
and the graph is evaluated on the numpy engine's traced arrays by one rule per aten
operator (:data:`ATEN_RULES`, :mod:`tracer.torch._rules`), so numpy, JAX and torch
functions share one index-set algebra and one derivative table. Operators without a rule
are decomposed by PyTorch's own exact decompositions when it has one; otherwise the
operator is named in a :class:`~tracer.TracingError` (there is no dense fallback).

Modules
-------
``_graph``        Recording the graph: fake tensors, functionalization, decompositions.
``_interpreter``  Walking the graph: constants by torch, traced values by the rules.
``_rules``        The table: one rule per aten operator.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import scipy.sparse as sp

from .._array import TracedArray
from .._errors import TracingError
from .._session import Session
from .._trace import hessian_pattern_of, jacobian_pattern_of, trace_input
from ._graph import make_graph, torch_dtype
from ._interpreter import evaluate_graph
from ._rules import ATEN_RULES

__all__ = ["jacobian_sparsity_torch", "hessian_sparsity_torch", "is_torch_tensor",
           "ATEN_RULES"]

_LOCAL_MODE_MESSAGE = (
    'mode="local" is not supported for torch functions: the torch front-end records the '
    "operator graph without values, which holds for every x, so it only gives global "
    'patterns. Use mode="global" (express value-dependent choices with torch.where, '
    "torch.clamp, torch.maximum), or pass a numpy version of the function to get a local "
    "pattern.")


def is_torch_tensor(x: Any) -> bool:
    """True for ``torch.Tensor`` inputs (without importing torch when it is not loaded)."""
    import sys

    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def _input_array(x: Any) -> np.ndarray:
    if is_torch_tensor(x):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def _trace(f: Callable, x: Any, args: tuple, mode: str, hessian: bool):
    if mode == "local":
        raise TracingError(_LOCAL_MODE_MESSAGE)
    if mode != "global":
        raise TracingError(f'unknown mode {mode!r}; use mode="global" for torch functions')
    x_np = _input_array(x)
    try:
        import torch  # noqa: F401
    except ImportError as exc:
        raise TracingError("the torch front-end needs PyTorch: pip install torch") from exc
    gm = make_graph(f, x_np.shape, torch_dtype(x_np.dtype), tuple(args))
    session = Session(x_np.size, hessian, "global")
    tx = trace_input(x_np, session)
    outs = evaluate_graph(gm, tx, session)
    return _flat_output(outs, session), x_np.size


def _flat_output(outs: list, session: Session) -> TracedArray:
    """One flat traced output (several outputs are concatenated in order)."""
    parts = []
    for o in outs:
        if isinstance(o, TracedArray):
            parts.append(np.reshape(o, (-1,)))
        elif o is not None:  # constant outputs: no dependence
            size = int(np.prod(getattr(o, "shape", ())))
            parts.append(TracedArray.constant(session, np.zeros(size)))
    if not parts:
        return TracedArray.constant(session, np.zeros(0))
    out = parts[0] if len(parts) == 1 else np.concatenate(parts)
    return out._sync()


def jacobian_sparsity_torch(f: Callable, x: Any, *, args: tuple = (),
                            mode: str = "global") -> sp.csr_array:
    """Jacobian sparsity pattern of a function written with PyTorch.

    Parameters
    ----------
    f : callable
        ``f(x, *args)`` taking a ``torch.Tensor`` and returning a tensor (or a tuple of
        tensors, concatenated flat in order).
    x : torch.Tensor or array_like
        Input point; only its shape and dtype matter (the pattern holds for every x).
    args : tuple
        Constant extra arguments (tensors, numpy arrays converted to tensors, numbers).
    mode : {"global"}
        Only global patterns are available for torch functions.

    Returns
    -------
    scipy.sparse.csr_array
        Boolean ``(m, n)`` pattern, ``n = x.numel()``, ``m`` = total output size; it never
        misses a nonzero of the Jacobian.

    Raises
    ------
    TracingError
        For an operator without a rule (named in the message), for Python control flow on
        traced values, and for ``mode="local"``.
    """
    out, n = _trace(f, x, args, mode, hessian=False)
    return jacobian_pattern_of(out, n)


def hessian_sparsity_torch(f: Callable, x: Any, *, args: tuple = (),
                           mode: str = "global") -> sp.csr_array:
    """Hessian sparsity pattern of a scalar function written with PyTorch.

    Parameters
    ----------
    f : callable
        ``f(x, *args)`` returning a tensor with one element.
    x : torch.Tensor or array_like
        Input point; only its shape and dtype matter.
    args : tuple
        Constant extra arguments.
    mode : {"global"}
        Only global patterns are available for torch functions.

    Returns
    -------
    scipy.sparse.csr_array
        Symmetric boolean ``(n, n)`` pattern; never misses a nonzero of the Hessian.
    """
    out, n = _trace(f, x, args, mode, hessian=True)
    return hessian_pattern_of(out, n)
