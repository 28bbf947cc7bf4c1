"""The aten-level graph of a torch function, recorded without values.

``make_fx`` in fake-tensor mode records the operators that ``f`` dispatches on a tensor of
the input's shape and dtype; ``torch.func.functionalize`` first rewrites in-place writes
(``y[1:] = ...``, ``y.add_(...)``) into pure operators (``slice_scatter``, ``add``), so
the interpreter never has to follow aliasing. Operators without a rule in
:data:`tracer.torch._rules.ATEN_RULES` are decomposed into simpler aten operators when
PyTorch has an exact decomposition for them (``softmax``, ``logsumexp``, ``var``, ...).
Constant tensors that ``f`` reads from its closure or ``args`` stay real tensors in the
graph (``get_attr`` nodes), so their values are known.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .._errors import TracingError
from ._rules import ATEN_RULES

_DECOMPOSITIONS: list = []


def decompositions() -> dict:
    """PyTorch's core aten decompositions of the operators that have no rule of their own."""
    if not _DECOMPOSITIONS:
        import torch._decomp as decomp

        table = {op: fn for op, fn in decomp.core_aten_decompositions().items()
                 if op_name(op) not in ATEN_RULES}
        _DECOMPOSITIONS.append(table)
    return _DECOMPOSITIONS[0]


def op_name(op: Any) -> str:
    """``"mul"`` for ``torch.ops.aten.mul.Tensor`` (the row name in the rule table)."""
    packet = getattr(op, "overloadpacket", None)
    return getattr(packet, "__name__", None) or getattr(op, "__name__", str(op))


def torch_dtype(dtype: np.dtype):
    """The torch dtype of a numpy dtype (floating inputs; others become float64)."""
    import torch

    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        dtype = np.dtype(np.float64)
    return torch.from_numpy(np.zeros(0, dtype)).dtype


def make_graph(f: Callable, shape: tuple, dtype, args: tuple):
    """The functionalized aten graph (``torch.fx.GraphModule``) of ``x -> f(x, *args)``."""
    import torch
    from torch.fx.experimental.proxy_tensor import make_fx
    from torch.fx.experimental.symbolic_shapes import GuardOnDataDependentSymNode

    args = tuple(torch.from_numpy(a) if isinstance(a, np.ndarray) else a for a in args)

    def fx(v):
        return f(v, *args)

    example = torch.zeros(shape, dtype=dtype)
    try:
        gm = make_fx(torch.func.functionalize(fx, remove="mutations"),
                     decomposition_table=decompositions(), tracing_mode="fake",
                     _allow_non_fake_inputs=True)(example)
        if any(_is_mutation(node) for node in gm.graph.nodes):
            # decompositions run below functionalization and may write in place
            # (circular padding): functionalize the decomposed graph once more
            gm = make_fx(torch.func.functionalize(gm, remove="mutations"),
                         tracing_mode="fake", _allow_non_fake_inputs=True)(example)
        return gm
    except GuardOnDataDependentSymNode as exc:
        raise TracingError(_VALUE_DEPENDENT) from exc
    except Exception as exc:
        if "data-dependent" in str(exc) or "DataDependent" in type(exc).__name__:
            raise TracingError(_VALUE_DEPENDENT) from exc
        if "Sparse CSR tensors do not have strides" in str(exc):
            raise TracingError(
                "the torch front-end records the function with fake tensors, which do not "
                "support sparse CSR constants; convert them with .to_sparse_coo() (or pass "
                "them as numpy/scipy constants to a numpy version of the function)") from exc
        raise


def is_input_write_back(node) -> bool:
    """``copy_(x, new)`` that functionalization appends when ``f`` writes into its input:
    it changes the caller's tensor, not ``f``'s outputs."""
    return (node.op == "call_function" and op_name(node.target) == "copy_"
            and getattr(node.args[0], "op", None) == "placeholder")


def _is_mutation(node) -> bool:
    schema = getattr(node.target, "_schema", None)
    return (node.op == "call_function" and schema is not None and schema.is_mutable
            and not is_input_write_back(node))


_VALUE_DEPENDENT = (
    "the torch function uses the value of its input in Python control flow (if, while, "
    "int(), float(), .item(), bool(), a boolean mask or nonzero() of a traced tensor), which "
    "has no single sparsity pattern. Use torch.where, torch.clamp, torch.maximum or masks "
    "built from constants instead, or pass a numpy version of the function with "
    'mode="local".')
