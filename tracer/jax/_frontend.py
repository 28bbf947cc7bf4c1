"""Entry points of the JAX front-end: sparsity of functions written with ``jax.numpy``.

``jax.make_jaxpr`` turns the function into a list of primitive equations; the interpreter
(:mod:`tracer.jax._interpreter`) evaluates them with numpy calls on the traced arrays of
the numpy engine, so both front-ends share one index-set algebra and one derivative table.
The primitive rules live in ``_elementwise``, ``_reductions``, ``_shapes``,
``_indexing`` (gather, scatter, pad, sort, convolution), ``_control`` (calls, cond,
while, scan) and ``_linalg`` (linear solves, factorizations, FFT, top_k), each
registering one :class:`~tracer.jax._registry.Rule` per primitive. Unknown primitives
raise a :class:`TracingError` naming them; there is no dense fallback.
"""

from __future__ import annotations

import weakref
from typing import Any, Callable, Sequence

import numpy as np
import scipy.sparse as sp

from .._errors import TracingError
from .._interop import hessian_pattern_of, jacobian_pattern_of, trace_inputs
from . import (  # noqa: F401 (each registers the rules of one primitive family)
    _control,
    _elementwise,
    _indexing,
    _linalg,
    _reductions,
    _shapes,
)
from ._interpreter import eval_jaxpr, strict_rules
from ._values import is_traced

__all__ = ["jacobian_sparsity_jax", "hessian_sparsity_jax", "evaluate_jax_function"]

_LOCAL_MODE_MESSAGE = (
    'mode="local" is not supported for JAX functions: the JAX front-end reads the jaxpr, '
    "which holds for every x, so it only gives global patterns. Use mode=\"global\" (JAX "
    "code expresses value-dependent choices with jnp.where / lax.cond, which global mode "
    "handles), or pass a numpy version of the function to get a local pattern.")


def _check_mode(mode: str) -> None:
    if mode == "local":
        raise TracingError(_LOCAL_MODE_MESSAGE)
    if mode != "global":
        raise TracingError(f'unknown mode {mode!r}; use mode="global" for JAX functions')


def _make_jaxpr(f: Callable, x: np.ndarray, args: Sequence[Any]):
    """The closed jaxpr of ``x -> f(x, *args)``; ``args`` stay concrete constants."""
    import jax  # noqa: PLC0415

    dtype = x.dtype if np.issubdtype(x.dtype, np.inexact) else np.dtype(np.float64)
    spec = jax.ShapeDtypeStruct(x.shape, jax.dtypes.canonicalize_dtype(dtype))
    try:
        if not args:
            # jax.jit(f) is kept per function so that JAX's own trace cache (keyed on the
            # function, as for any jitted function) serves repeated calls; the pattern is
            # still computed afresh from the jaxpr on every call
            return _jitted(f).trace(spec).jaxpr
        return jax.make_jaxpr(lambda v: f(v, *args))(spec)
    except jax.errors.ConcretizationTypeError as exc:
        raise TracingError(
            "the JAX function uses the value of its input in Python control flow (if, "
            "while, int(), float(), indexing), which has no single sparsity pattern. Use "
            "jnp.where, lax.cond, lax.while_loop or lax.fori_loop instead, or pass a numpy "
            'version of the function with mode="local". JAX said: '
            + str(exc).splitlines()[0]) from exc


_JITTED: "weakref.WeakKeyDictionary[Any, Any]" = weakref.WeakKeyDictionary()


def _jitted(f: Callable):
    import jax  # noqa: PLC0415

    try:
        wrapped = _JITTED.get(f)
    except TypeError:  # not weak-referenceable
        return jax.jit(f)
    if wrapped is None:
        wrapped = jax.jit(f)
        try:
            _JITTED[f] = wrapped
        except TypeError:
            pass
    return wrapped


def _as_input(x: Any) -> np.ndarray:
    return np.asarray(x)


def evaluate_jax_function(f: Callable, x: Any, *, args: Sequence[Any] = (),
                          inputs: Any = None, strict: bool = False) -> list[Any]:
    """Run ``f(x, *args)`` through the jaxpr interpreter.

    Parameters
    ----------
    f, x, args
        The function, its input (used for shape and dtype) and constant extra arguments.
    inputs
        What the interpreter feeds in for ``x``: a traced array of the engine, or ``None``
        to evaluate on the plain values of ``x`` (used by the tests to check every rule
        numerically against JAX).
    strict
        Require a numpy rule for every equation, even with constant inputs (which are
        otherwise evaluated by JAX when no rule exists).

    Returns
    -------
    list
        The flat list of outputs (numpy arrays, traced arrays or :class:`Opaque` values).
    """
    x_np = _as_input(x)
    closed = _make_jaxpr(f, x_np, args)
    if inputs is None:
        inputs = x_np.astype(closed.in_avals[0].dtype, copy=False)
    with strict_rules(strict):
        return eval_jaxpr(closed.jaxpr, closed.consts, [inputs])


def _flat_output(outs: list[Any]) -> tuple[Any, int]:
    """One flat output array (several outputs are concatenated in order) and its size."""
    sizes = [int(np.prod(getattr(o, "shape", ()))) for o in outs]
    m = int(sum(sizes))
    traced = [o for o in outs if is_traced(o)]
    if not traced:
        return None, m
    if len(outs) == 1:
        return outs[0], m
    parts = []
    for o, size in zip(outs, sizes):
        if is_traced(o):
            parts.append(np.reshape(o, (-1,)))
        else:  # constants and opaque values carry no dependence
            parts.append(np.zeros(size))
    return np.concatenate(parts), m


def _empty(m: int, n: int):
    return sp.csr_array((m, n), dtype=bool)


def jacobian_sparsity_jax(f: Callable, x: Any, *, args: Sequence[Any] = (),
                          mode: str = "global"):
    """Jacobian sparsity pattern of a function written with ``jax.numpy`` / ``jax.lax``.

    Parameters
    ----------
    f : callable
        ``f(x, *args)`` returning an array (or a tuple of arrays, concatenated flat).
    x : array_like
        Input point; only its shape and dtype matter (the pattern holds for every x).
    args : sequence
        Constant extra arguments, never traced.
    mode : {"global"}
        Only global patterns are available for JAX functions.

    Returns
    -------
    scipy.sparse.csr_array
        Boolean ``(m, n)`` pattern, ``n = x.size``, ``m`` = total output size.

    Raises
    ------
    TracingError
        For ``mode="local"``, for primitives without a rule (named in the message) and
        for Python control flow on traced values.

    Notes
    -----
    As with ``jax.jit``, JAX caches the trace of ``f`` (without ``args``) per function
    object: if ``f`` reads mutable state that changes its structure, pass that state in
    ``args``. The pattern itself is recomputed from the jaxpr on every call.
    Loops are merged to a fixed point of their carry's dependence, or followed iteration
    by iteration when their trip count and indices are known (see
    :mod:`tracer.jax._control`); stacked ``scan`` outputs get the union over
    iterations.
    """
    out, m, n = _trace_jax(f, x, args, mode, hessian=False)
    if out is None:
        return _empty(m, n)
    return jacobian_pattern_of(out, n)


def _trace_jax(f: Callable, x: Any, args: Sequence[Any], mode: str, *, hessian: bool):
    """Evaluate ``f``'s jaxpr on traced inputs: ``(flat output or None, m, n)``."""
    _check_mode(mode)
    x_np = _as_input(x)
    traced = trace_inputs(x_np, hessian=hessian, mode="global")
    outs = evaluate_jax_function(f, x_np, args=args, inputs=traced)
    out, m = _flat_output(outs)
    return out, m, int(x_np.size)


def hessian_sparsity_jax(f: Callable, x: Any, *, args: Sequence[Any] = (),
                         mode: str = "global"):
    """Hessian sparsity pattern of a scalar function written with ``jax.numpy``.

    Parameters
    ----------
    f : callable
        ``f(x, *args)`` returning a scalar (an array of size 1).
    x : array_like
        Input point; only its shape and dtype matter.
    args : sequence
        Constant extra arguments, never traced.
    mode : {"global"}
        Only global patterns are available for JAX functions.

    Returns
    -------
    scipy.sparse.csr_array
        Symmetric boolean ``(n, n)`` pattern.
    """
    out, m, n = _trace_jax(f, x, args, mode, hessian=True)
    if m != 1:
        raise TracingError(f"hessian_sparsity needs a scalar-valued function, but the JAX "
                           f"function returns {m} values; sum them or use "
                           "jacobian_sparsity")
    if out is None:
        return _empty(n, n)
    return hessian_pattern_of(out, n)
