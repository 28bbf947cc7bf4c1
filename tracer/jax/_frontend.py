"""JAX front-end: sparsity detection of functions written with ``jax.numpy`` / ``jax.lax``.

``jax.make_jaxpr`` turns the function into a list of primitive equations. The interpreter
in :mod:`tracer.jax._interpreter` evaluates them with numpy calls on the traced arrays of
the numpy engine, so both front-ends share one index-set algebra and one derivative table.
The primitive rules live in ``_jax_frontend_rules`` (elementwise, reductions, shapes),
``_jax_frontend_indexing`` (gather, scatter, pad, sort, convolution),
``_jax_frontend_control`` (calls, cond, while, scan) and ``_jax_frontend_linalg``
(linear solves, factorizations, FFT, top_k). Unknown primitives raise a
:class:`TracingError` naming them; there is no dense fallback.
"""

from __future__ import annotations

import types
import weakref
from typing import Any, Callable, Sequence

import numpy as np

from .._errors import TracingError
from . import (  # noqa: F401 (rule tables)
    _control,
    _elementwise,
    _indexing,
    _linalg,
)
from ._interpreter import (
    OPAQUE_AWARE,
    PRIMITIVE_RULES,
    STRICT_RULES,
    eval_jaxpr,
    interop,
    is_traced,
)

__all__ = ["jacobian_sparsity_jax", "hessian_sparsity_jax", "looks_like_jax_function",
           "exception_came_from_jax", "is_jax_array", "evaluate_jax_function",
           "PRIMITIVE_RULES", "OPAQUE_AWARE"]

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
    previous = STRICT_RULES[0]
    STRICT_RULES[0] = strict
    try:
        return eval_jaxpr(closed.jaxpr, closed.consts, [inputs])
    finally:
        STRICT_RULES[0] = previous


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
    import scipy.sparse as sp  # noqa: PLC0415

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
    hooks, out, m, n = _trace_jax(f, x, args, mode, hessian=False)
    if out is None:
        return _empty(m, n)
    return hooks.jacobian_pattern_of(out, n)


def _trace_jax(f: Callable, x: Any, args: Sequence[Any], mode: str, *, hessian: bool):
    """Evaluate ``f``'s jaxpr on traced inputs: ``(hooks, flat output or None, m, n)``."""
    _check_mode(mode)
    x_np = _as_input(x)
    hooks = interop()
    traced = hooks.trace_inputs(x_np, hessian=hessian, mode="global")
    outs = evaluate_jax_function(f, x_np, args=args, inputs=traced)
    out, m = _flat_output(outs)
    return hooks, out, m, int(x_np.size)


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
    hooks, out, m, n = _trace_jax(f, x, args, mode, hessian=True)
    if m != 1:
        raise TracingError(f"hessian_sparsity needs a scalar-valued function, but the JAX "
                           f"function returns {m} values; sum them or use "
                           "jacobian_sparsity")
    if out is None:
        return _empty(n, n)
    return hooks.hessian_pattern_of(out, n)


# ---------------------------------------------------------------- detection helpers
def is_jax_array(x: Any) -> bool:
    """True for ``jax.Array`` inputs (without importing JAX when it is not loaded)."""
    import sys  # noqa: PLC0415

    jax = sys.modules.get("jax")
    return jax is not None and isinstance(x, jax.Array)


def _is_jax_object(obj: Any) -> bool:
    if isinstance(obj, types.ModuleType):
        return obj.__name__.split(".")[0] in ("jax", "jaxlib", "flax", "equinox")
    mod = getattr(obj, "__module__", None) or getattr(type(obj), "__module__", None) or ""
    return isinstance(mod, str) and mod.split(".")[0] in ("jax", "jaxlib")


def looks_like_jax_function(f: Callable, x: Any = None, _depth: int = 0) -> bool:
    """Heuristic: is ``f`` written with JAX?

    True when ``x`` is a JAX array, when ``f`` is a ``jax.jit``-wrapped function, or when
    the names its code reads (globals, closure cells, nested functions) include a JAX
    module, a JAX function or a JAX array. A ``False`` answer is not a proof: the numpy
    engine should still hand over to the JAX front-end when JAX code touches a traced
    array (see :func:`exception_came_from_jax`).
    """
    if x is not None and is_jax_array(x):
        return True
    if _depth > 3 or f is None:
        return False
    if hasattr(f, "lower") and hasattr(f, "trace") and _is_jax_object(f):  # jax.jit(...)
        return True
    if isinstance(f, __import__("functools").partial):
        return looks_like_jax_function(f.func, None, _depth + 1) or any(
            _is_jax_object(a) for a in f.args)
    fn = getattr(f, "__func__", f)
    code = getattr(fn, "__code__", None)
    if code is None:
        call = getattr(type(f), "__call__", None)  # noqa: B004
        return call is not None and looks_like_jax_function(call, None, _depth + 1)
    glb = getattr(fn, "__globals__", {})
    for c in _code_objects(code):
        for name in c.co_names:
            if name in glb and _is_jax_object(glb[name]):
                return True
    for cell in getattr(fn, "__closure__", None) or ():
        try:
            val = cell.cell_contents
        except ValueError:  # empty cell
            continue
        if _is_jax_object(val):
            return True
        if callable(val) and getattr(val, "__code__", None) is not None \
                and looks_like_jax_function(val, None, _depth + 1):
            return True
    return False


def _code_objects(code: types.CodeType):
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _code_objects(const)


def exception_came_from_jax(exc: BaseException) -> bool:
    """True when ``exc`` was raised inside JAX (e.g. ``jnp.sin`` on a numpy traced array).

    In JAX 0.10, ``jnp`` functions reject unknown array-likes with a ``TypeError`` or
    ``ValueError`` before any ``__jax_array__`` hook runs, so the numpy engine can use this
    test to hand the function over to the JAX front-end.
    """
    if "__jax_array__" in str(exc):
        return True
    tb = exc.__traceback__
    while tb is not None:
        mod = tb.tb_frame.f_globals.get("__name__", "")
        if isinstance(mod, str) and mod.split(".")[0] in ("jax", "jaxlib"):
            return True
        tb = tb.tb_next
    return False



