"""The jaxpr interpreter of the JAX front-end: each primitive evaluated with numpy.

The interpreter walks ``jaxpr.eqns`` and evaluates every equation with the :class:`Rule`
registered for its primitive in :data:`~tracer.jax._registry.RULES`. Rules only call numpy
API functions, so the same interpreter runs

* on plain float arrays, which lets the tests check every rule numerically against JAX,
* on the traced arrays of the numpy engine, which then computes the sparsity pattern with
  its own index-set algebra (the JAX front-end has no second copy of it).

The values it handles (constants, traced arrays, :class:`Opaque`) are described in
:mod:`tracer.jax._values`.
"""

from __future__ import annotations

import contextlib
import contextvars
import weakref
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from .._errors import TracingError
from ._registry import RULES, Rule
from ._values import OPAQUE_RESULT, Opaque, is_extended, is_traced, numpy_dtype

#: When true, constant equations must also have a numpy rule (the tests use it to check
#: every rule on floats instead of letting JAX evaluate). A context variable, so each
#: thread (and each evaluation) sees only its own setting.
_STRICT: contextvars.ContextVar[bool] = contextvars.ContextVar("tracer_jax_strict",
                                                                default=False)


@contextlib.contextmanager
def strict_rules(strict: bool) -> Iterator[None]:
    """Within the block, require (or not) a numpy rule for constant equations too."""
    token = _STRICT.set(bool(strict))
    try:
        yield
    finally:
        _STRICT.reset(token)


# ----------------------------------------------------------------------------------------
# The interpreter
# ----------------------------------------------------------------------------------------
_LITERAL: list = []


def _literal_type():
    if not _LITERAL:
        from jax.extend.core import Literal  # noqa: PLC0415

        _LITERAL.append(Literal)
    return _LITERAL[0]


def eval_jaxpr(jaxpr: Any, consts: Sequence[Any], args: Sequence[Any]) -> list[Any]:
    """Evaluate an open ``Jaxpr`` on ``consts`` and ``args`` with the registered rules."""
    literal = _literal_type()
    env: dict[Any, Any] = {}
    for var, val in zip(jaxpr.constvars, consts):
        env[var] = _as_constant(val)
    for var, val in zip(jaxpr.invars, args):
        env[var] = val

    def read(var):
        return literal_value(var) if type(var) is literal else env[var]

    plan = _rewrite_plan(jaxpr)
    for eqn, action in zip(jaxpr.eqns, plan):
        if action is None:
            outs = apply_equation(eqn, [read(v) for v in eqn.invars])
        elif action is _SKIP:
            continue
        else:  # a fused pattern, e.g. ("roll", source, shift, axis)
            source = env[action[1]]
            if isinstance(source, Opaque):
                outs = [Opaque.like(v.aval) for v in eqn.outvars]
            else:
                outs = [_FUSED[action[0]](source, *action[2:])]
        for var, val in zip(eqn.outvars, outs):
            env[var] = val
    return [read(v) for v in jaxpr.outvars]


# ----------------------------------------------------------------------------------------
# Fusion of equation patterns into one numpy call
# ----------------------------------------------------------------------------------------
_SKIP = "skip"
_FUSED: dict[str, Callable[..., Any]] = {
    # jnp.roll lowers to two slices and a concatenate; one np.roll is one engine gather
    "roll": lambda x, shift, axis: np.roll(x, shift, axis=axis),
    # x[0:1] followed by squeeze is x[0]: one basic index instead of two operations
    "index": lambda x, key: x[key],
}
_PLANS: "weakref.WeakKeyDictionary[Any, list]" = weakref.WeakKeyDictionary()


def _rewrite_plan(jaxpr: Any) -> list:
    """Per equation: ``None`` (evaluate), ``_SKIP``, or a fused action.

    Only structure is cached (per jaxpr object), never values or patterns.
    """
    try:
        return _PLANS[jaxpr]
    except KeyError:
        pass
    except TypeError:  # not weak-referenceable
        return _compute_plan(jaxpr)
    plan = _compute_plan(jaxpr)
    _PLANS[jaxpr] = plan
    return plan


def _compute_plan(jaxpr: Any) -> list:
    literal = _literal_type()
    eqns = jaxpr.eqns
    plan: list = [None] * len(eqns)
    producer: dict[Any, int] = {}
    uses: dict[Any, int] = {}
    for k, eqn in enumerate(eqns):
        for v in eqn.invars:
            if type(v) is not literal:
                uses[v] = uses.get(v, 0) + 1
        if eqn.primitive.name == "slice":
            producer[eqn.outvars[0]] = k
    for v in jaxpr.outvars:
        if type(v) is not literal:
            uses[v] = uses.get(v, 0) + 2
    for k, eqn in enumerate(eqns):
        if eqn.primitive.name == "squeeze":
            _plan_slice_squeeze(eqns, k, producer, uses, plan, literal)
        if eqn.primitive.name != "concatenate" or len(eqn.invars) != 2:
            continue
        a, b = eqn.invars
        if type(a) is literal or type(b) is literal:
            continue
        i, j = producer.get(a), producer.get(b)
        if i is None or j is None or uses.get(a) != 1 or uses.get(b) != 1:
            continue
        shift = _rotation(eqns[i], eqns[j], eqn.params["dimension"])
        if shift is not None:
            plan[i] = plan[j] = _SKIP
            plan[k] = ("roll", eqns[i].invars[0], shift, eqn.params["dimension"])
    return plan


def _plan_slice_squeeze(eqns, k, producer, uses, plan, literal) -> None:
    """``squeeze(slice(x))`` over unit-size dims becomes one basic index ``x[i, a:b, ...]``."""
    eqn = eqns[k]
    v = eqn.invars[0]
    if type(v) is literal or uses.get(v) != 1:
        return
    i = producer.get(v)
    if i is None or plan[i] is not None:
        return
    sl = eqns[i]
    src = sl.invars[0]
    if type(src) is literal:
        return
    starts, limits = sl.params["start_indices"], sl.params["limit_indices"]
    if sl.params.get("strides") not in (None, (1,) * len(starts)):
        return
    dims = set(eqn.params["dimensions"])
    key = []
    for ax, (a, b) in enumerate(zip(starts, limits)):
        if ax in dims:
            if b - a != 1:
                return
            key.append(int(a))
        else:
            key.append(slice(int(a), int(b)))
    plan[i] = _SKIP
    plan[k] = ("index", src, tuple(key))


def _rotation(first: Any, second: Any, axis: int):
    """Shift ``r`` when ``concat([x[s:], x[:s]], axis)`` equals ``np.roll(x, r, axis)``."""
    src = first.invars[0]
    if second.invars[0] is not src or type(src) is _literal_type():
        return None
    shape = tuple(src.aval.shape)
    for eqn in (first, second):
        if eqn.params.get("strides") not in (None, (1,) * len(shape)):
            return None
    s1, l1 = first.params["start_indices"], first.params["limit_indices"]
    s2, l2 = second.params["start_indices"], second.params["limit_indices"]
    for ax, n in enumerate(shape):
        if ax == axis:
            continue
        if s1[ax] != 0 or s2[ax] != 0 or l1[ax] != n or l2[ax] != n:
            return None
    n = shape[axis]
    s = s1[axis]
    if not (0 < s < n and l1[axis] == n and s2[axis] == 0 and l2[axis] == s):
        return None
    return n - s


def literal_value(var: Any) -> Any:
    """A jaxpr literal as a Python scalar (weakly typed) or numpy scalar/array.

    JAX's own literal types go through JAX's ``__array_ufunc__``, which is slow and not
    what the engine expects.
    """
    val = var.val
    aval = var.aval
    arr = np.asarray(val, dtype=numpy_dtype(aval.dtype))
    if arr.ndim == 0:
        return arr.item() if getattr(aval, "weak_type", False) else arr[()]
    return arr


def eval_closed_jaxpr(closed: Any, args: Sequence[Any]) -> list[Any]:
    """Evaluate a ``ClosedJaxpr`` (or an open ``Jaxpr`` without constants)."""
    if hasattr(closed, "consts"):
        return eval_jaxpr(closed.jaxpr, closed.consts, args)
    return eval_jaxpr(closed, (), args)


def _as_constant(val: Any) -> Any:
    """JAX arrays among the constants become numpy arrays (the engine mixes with numpy)."""
    if isinstance(val, (np.ndarray, np.generic, int, float, bool, complex)):
        return val
    if is_extended(getattr(val, "dtype", np.float64)):
        return val  # PRNG keys: only JAX itself can use them
    if hasattr(val, "__array__") and not is_traced(val):
        return np.asarray(val)
    return val


def apply_equation(eqn: Any, invals: list[Any]) -> list[Any]:
    """Evaluate one equation; return the list of its output values."""
    prim = eqn.primitive
    name = prim.name
    rule = RULES.get(name)
    traced = False
    opaque = False
    for v in invals:
        if isinstance(v, Opaque):
            opaque = True
        elif is_traced(v):
            traced = True

    if not traced and not opaque:
        return _apply_constant(eqn, rule, invals)
    if opaque and not traced and (rule is None or not rule.passthrough):
        # only constants and unknown values in, so unknown values out, no dependence
        return [Opaque.like(v.aval) for v in eqn.outvars]
    if rule is None:
        raise TracingError(
            f"the JAX front-end has no rule for the primitive '{name}', so it cannot "
            "detect the sparsity of this function (it never falls back to a dense pattern). "
            "Rewrite this step with common jax.numpy / jax.lax operations, pass a numpy "
            "version of the function, or give the sparsity pattern explicitly.")
    if opaque and not rule.receives_opaque:
        invals = [v.dummy() if isinstance(v, Opaque) else v for v in invals]
    out = rule.evaluate(invals, **_params(eqn, rule))
    outs = list(out) if prim.multiple_results else [out]
    return [Opaque.like(var.aval) if o is OPAQUE_RESULT else o
            for o, var in zip(outs, eqn.outvars)]


def _params(eqn: Any, rule: Rule) -> dict:
    if rule.needs_avals:
        return dict(eqn.params, _out_avals=[v.aval for v in eqn.outvars],
                    _in_avals=[v.aval for v in eqn.invars])
    return eqn.params


def _apply_constant(eqn: Any, rule: Rule | None, invals: list[Any]) -> list[Any]:
    """All inputs are known constants: compute the exact values.

    The numpy rule is used when there is one (fast, no XLA compilation); otherwise JAX
    evaluates the primitive itself, which is exact by definition.
    """
    prim = eqn.primitive
    if rule is None and _STRICT.get():
        raise TracingError(f"no numpy rule for the primitive '{prim.name}' (strict mode)")
    if rule is not None and not rule.constants_by_jax:
        out = rule.evaluate(invals, **_params(eqn, rule))
    else:
        out = prim.bind(*invals, **eqn.params)
    outs = list(out) if prim.multiple_results else [out]
    result = []
    for o, var in zip(outs, eqn.outvars):
        if o is OPAQUE_RESULT:
            result.append(Opaque.like(var.aval))
            continue
        if isinstance(o, Opaque) or is_traced(o) or is_extended(var.aval.dtype):
            result.append(o)  # PRNG keys and other extended dtypes stay JAX arrays
            continue
        dtype = numpy_dtype(var.aval.dtype)
        # keep JAX's dtypes (float32 without x64, int32 indices, ...)
        result.append(np.asarray(o, dtype=dtype))
    return result
