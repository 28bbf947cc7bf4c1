"""Interpreter of aten graphs on the numpy engine's traced arrays.

Every node of the graph (see :mod:`tracer.torch._graph`) is evaluated in order:

* nodes whose inputs are all constants run the torch operator itself on real tensors,
  which is exact by definition (``torch.arange``, a constant matrix times a constant);
  random and uninitialised results (``rand``, ``dropout``, ``empty``) are instead
  dependence-free arrays with *unknown* values, so no rule mistakes a random draw for a
  constant (an exact zero, an index);
* nodes with a traced input call the operator's rule in
  :data:`tracer.torch._rules.ATEN_RULES` on numpy views of the constants; the rules call
  numpy functions on traced arrays, so the engine's index-set algebra and derivative
  table decide the pattern. An operator without a rule raises :class:`TracingError`
  naming it: there is never a dense guess.
"""

from __future__ import annotations

import numbers
import operator

import numpy as np

from .._array import TracedArray
from .._construct import scalar_to_array
from .._errors import TracingError
from .._scalar import TracedScalar
from .._session import Session
from ._graph import is_input_write_back, op_name
from ._rules import ATEN_RULES, RuleContext, to_numpy

# operators whose values must not be taken from a run of torch (uninitialised memory)
_UNINITIALISED = {"empty", "empty_like", "empty_strided", "new_empty", "new_empty_strided",
                  "empty_permuted"}


# in-place operators that functionalization keeps (they change only shape metadata)
_METADATA_INPLACE = {"squeeze_", "unsqueeze_", "transpose_", "t_", "swapdims_", "swapaxes_"}


def _any_traced(x) -> bool:
    if isinstance(x, TracedArray):
        return True
    if isinstance(x, (list, tuple)):
        return any(_any_traced(e) for e in x)
    if isinstance(x, dict):
        return any(_any_traced(e) for e in x.values())
    return False


def _to_torch(x):
    import torch

    if isinstance(x, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(x))
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, list):
        return [_to_torch(e) for e in x]
    if isinstance(x, tuple):
        return tuple(_to_torch(e) for e in x)
    return x


def _map_numpy(x):
    if isinstance(x, list):
        return [_map_numpy(e) for e in x]
    if isinstance(x, tuple):
        return tuple(_map_numpy(e) for e in x)
    return to_numpy(x)


def _is_random(op) -> bool:
    import torch

    return torch.Tag.nondeterministic_seeded in getattr(op, "tags", ())


def evaluate_graph(gm, x_traced: TracedArray, session: Session) -> list:
    """Evaluate the graph module ``gm`` on the traced input; return its flat outputs."""
    from torch.fx.node import map_arg

    env: dict = {}
    outputs: list = []
    for node in gm.graph.nodes:
        if node.op == "placeholder":
            env[node] = x_traced
        elif node.op == "get_attr":
            env[node] = getattr(gm, node.target)
        elif is_input_write_back(node):
            env[node] = None
        elif node.op == "call_function":
            args = map_arg(node.args, env.__getitem__)
            kwargs = map_arg(node.kwargs, env.__getitem__)
            env[node] = _call(node, args, kwargs, session)
            if op_name(node.target) in _METADATA_INPLACE:  # x.squeeze_(): x is the result
                env[node.args[0]] = env[node]
        elif node.op == "output":
            outputs = _flatten(map_arg(node.args[0], env.__getitem__))
        else:  # call_module / call_method do not occur in make_fx graphs
            raise TracingError(f"internal: unexpected graph node {node.op} {node.target}")
    return outputs


def _call(node, args, kwargs, session: Session):
    op = node.target
    if op is operator.getitem:
        return args[0][args[1]]
    name = op_name(op)
    meta = node.meta.get("val")
    if not _any_traced(args) and not _any_traced(kwargs):
        if name in _UNINITIALISED or _is_random(op):
            return RuleContext(session, meta, name, op).unknown()
        return op(*_to_torch(args), **_to_torch(kwargs))
    rule = ATEN_RULES.get(name)
    if rule is None:
        raise TracingError(
            f"the torch front-end has no rule for the operator aten.{name} (called as "
            f"{op}), so it cannot detect the sparsity of this function (it never falls back "
            "to a dense pattern). Rewrite this step with common torch operations, pass a "
            "numpy version of the function, or give the sparsity pattern explicitly.")
    ctx = RuleContext(session, meta, name, op)
    out = rule(ctx, *_map_numpy(args), **{k: _map_numpy(v) for k, v in kwargs.items()})
    return _as_array(out, session)


def _as_array(x, session: Session):
    """Rule results as traced arrays or numpy arrays (the engine may give traced scalars)."""
    if isinstance(x, TracedScalar):
        return scalar_to_array(x, session)
    if isinstance(x, (list, tuple)):
        return type(x)(_as_array(e, session) for e in x)
    if isinstance(x, (numbers.Number, np.generic)):
        return np.asarray(x)
    return x


def _flatten(x) -> list:
    if isinstance(x, (list, tuple)):
        return [e for item in x for e in _flatten(item)]
    return [x]
