"""Rules of the JAX front-end for reductions and cumulative primitives."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ._registry import register
from ._values import OPAQUE_RESULT, is_traced

_REDUCE = {"reduce_sum": np.sum, "reduce_max": np.max, "reduce_min": np.min,
           "reduce_prod": np.prod, "reduce_and": np.all, "reduce_or": np.any}
for _name, _fn in _REDUCE.items():
    register(_name, lambda invals, axes, _fn=_fn, **_: _fn(invals[0], axis=tuple(axes)))


def _arg_reduce(fn: Callable[..., Any]) -> Callable[..., Any]:
    def evaluate(invals, axes, index_dtype, **_):
        x = invals[0]
        if is_traced(x):  # an index: no derivative, value unknown in global mode
            return OPAQUE_RESULT
        return fn(np.asarray(x), axis=int(axes[0])).astype(index_dtype)

    return evaluate


register("argmax", _arg_reduce(np.argmax))
register("argmin", _arg_reduce(np.argmin))


def _cumulative(numeric: Callable[..., Any],
                traced_fn: Callable[..., Any] | None = None) -> Callable[..., Any]:
    """Rule for ``cum*`` primitives; ``traced_fn`` computes the dependence when traced."""

    def evaluate(invals, axis, reverse=False, **_):
        x = invals[0]
        fn = traced_fn if (traced_fn is not None and is_traced(x)) else numeric
        if reverse:
            return np.flip(fn(np.flip(x, axis), axis), axis)
        return fn(x, axis)

    return evaluate


register("cumsum", _cumulative(lambda x, a: np.cumsum(x, axis=a)))
register("cumprod", _cumulative(lambda x, a: np.cumprod(x, axis=a)))
# cummax / cummin select one of the earlier elements, piecewise: out[i] depends linearly
# (piecewise) on x[:i+1], which is exactly the dependence and Hessian class of cumsum
register("cummax", _cumulative(lambda x, a: np.maximum.accumulate(x, axis=a),
                               lambda x, a: np.cumsum(x, axis=a)))
register("cummin", _cumulative(lambda x, a: np.minimum.accumulate(x, axis=a),
                               lambda x, a: np.cumsum(x, axis=a)))
# log(cumsum(exp(x))): out[i] is a smooth function of all of x[:i+1], with all pairs
register("cumlogsumexp", _cumulative(lambda x, a: np.logaddexp.accumulate(x, axis=a),
                                     lambda x, a: np.log(np.cumsum(np.exp(x), axis=a))))
