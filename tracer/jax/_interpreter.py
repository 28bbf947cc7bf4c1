"""Core of the JAX front-end: a jaxpr interpreter that evaluates each primitive with numpy.

The interpreter walks ``jaxpr.eqns`` and evaluates every equation by calling the rule
registered for its primitive in :data:`PRIMITIVE_RULES`. Rules only call numpy API
functions, so the same interpreter runs

* on plain float arrays, which lets the tests check every rule numerically against JAX,
* on the traced arrays of the numpy engine, which then computes the sparsity pattern with
  its own index-set algebra (the JAX front-end has no second copy of it).

Values flowing through the interpreter are of three kinds:

* constants: plain numpy arrays or scalars (literals, ``jaxpr.consts``, constant ``args``);
* traced arrays of the engine (``is_traced(v)`` is true);
* :class:`Opaque` values: dependence-free arrays whose *values* are unknown, for example a
  loop counter after merging loop iterations, or ``argmax`` of a traced array. They act as
  constants in arithmetic, and rules that need values (indices, predicates) treat them
  conservatively.
"""

from __future__ import annotations

import weakref
from typing import Any, Callable, Sequence

import numpy as np

from .._errors import TracingError

#: primitive name -> ``rule(invals, **params)`` returning one value, or a list of values
#: for primitives with ``multiple_results``.
PRIMITIVE_RULES: dict[str, Callable[..., Any]] = {}

#: Primitives whose rules receive :class:`Opaque` inputs unchanged (they need to know
#: which inputs have unknown values). Every other rule gets a dummy constant instead.
OPAQUE_AWARE: set[str] = set()

#: Primitives (control flow, calls) whose rules also run when the inputs are only
#: constants and :class:`Opaque` values: some outputs may still be known constants.
OPAQUE_PASSTHROUGH: set[str] = set()


#: Primitives whose rules also receive ``_out_avals`` (shapes and dtypes of the outputs).
NEEDS_AVALS: set[str] = set()

#: Primitives whose rules only handle traced inputs; with constant inputs JAX evaluates
#: them (linear algebra, FFT: no numpy re-implementation needed for exact constants).
CONSTANTS_BY_JAX: set[str] = set()


def register(*names: str, opaque_aware: bool = False, passthrough: bool = False,
             needs_avals: bool = False, constants_by_jax: bool = False):
    """Decorator registering one rule for one or more primitive names."""

    def deco(rule):
        for name in names:
            PRIMITIVE_RULES[name] = rule
            if opaque_aware or passthrough:
                OPAQUE_AWARE.add(name)
            if passthrough:
                OPAQUE_PASSTHROUGH.add(name)
            if needs_avals:
                NEEDS_AVALS.add(name)
            if constants_by_jax:
                CONSTANTS_BY_JAX.add(name)
        return rule

    return deco


#: When ``STRICT_RULES[0]`` is true, constant equations must also have a numpy rule
#: (the tests use it to check every rule on floats instead of letting JAX evaluate).
STRICT_RULES = [False]


class Opaque:
    """A dependence-free array whose values are unknown (shape and dtype only)."""

    __slots__ = ("shape", "dtype")

    def __init__(self, shape: Sequence[int], dtype: Any):
        self.shape = tuple(int(s) for s in shape)
        self.dtype = np.dtype(dtype)

    @classmethod
    def like(cls, aval: Any) -> "Opaque":
        return cls(aval.shape, _numpy_dtype(aval.dtype))

    def dummy(self) -> np.ndarray:
        """A stand-in constant; only used where values cannot change the dependence."""
        if self.dtype == np.bool_:
            value: Any = True
        elif np.issubdtype(self.dtype, np.integer):
            value = 3
        else:
            value = 0.5  # neither 0 nor 1, so no rule can mistake it for a neutral element
        return np.full(self.shape, value, dtype=self.dtype)

    def __repr__(self) -> str:
        return f"Opaque(shape={self.shape}, dtype={self.dtype})"


#: Returned by a rule whose output is dependence-free but has unknown values
#: (e.g. ``argmax`` of a traced array). The interpreter turns it into an :class:`Opaque`.
OPAQUE_RESULT = object()


def _is_extended(dtype: Any) -> bool:
    try:
        np.dtype(dtype)
        return False
    except TypeError:
        return True


def _numpy_dtype(dtype: Any) -> np.dtype:
    try:
        return np.dtype(dtype)
    except TypeError:  # extended dtypes (keys, float0): treat as opaque bytes
        return np.dtype(np.float64)


# ----------------------------------------------------------------------------------------
# Access to the engine hooks (tracer._interop), resolved lazily so that the interpreter
# also runs on floats when the engine is unavailable.
# ----------------------------------------------------------------------------------------
class _Interop:
    module: Any = None

    def get(self):
        if self.module is None:
            try:
                from .. import _interop  # noqa: PLC0415 (lazy on purpose)
            except ImportError:
                return None
            self.module = _interop
        return self.module


_INTEROP = _Interop()


def interop():
    """The engine's hook module; raise a clear error if the engine is not available."""
    mod = _INTEROP.get()
    if mod is None:
        raise TracingError("the tracer engine (tracer._interop) is not available, so the "
                           "JAX front-end cannot trace; this is a packaging bug")
    return mod


def is_traced(v: Any) -> bool:
    """True for traced arrays of the engine (never for constants or :class:`Opaque`)."""
    mod = _INTEROP.get()
    return mod is not None and mod.is_traced(v)


def is_concrete(v: Any) -> bool:
    """True when the values of ``v`` are known (neither traced nor opaque)."""
    return not isinstance(v, Opaque) and not is_traced(v)


def data(v: Any) -> Any:
    """``v``, with an :class:`Opaque` replaced by a dummy constant.

    Only valid where the result is traced anyway (its values are then never used).
    """
    return v.dummy() if isinstance(v, Opaque) else v


def shape_of(v: Any) -> tuple[int, ...]:
    return tuple(getattr(v, "shape", ()))


def dtype_of(v: Any) -> np.dtype:
    dt = getattr(v, "dtype", None)
    return np.asarray(v).dtype if dt is None else np.dtype(dt)


def union_of_traced(shape: Sequence[int], *values: Any) -> Any:
    """Elementwise union of the dependence of the traced ``values``, broadcast to ``shape``.

    Constants and opaque values contribute nothing. Returns :data:`OPAQUE_RESULT` when no
    value is traced. No new Hessian pairs are created (the union is a linear combination).
    """
    traced = [v for v in values if is_traced(v)]
    shape = tuple(shape)
    if not traced:
        return OPAQUE_RESULT
    if len(traced) == 1:
        out = traced[0]
    else:
        out = interop().union_dependence(*traced)
    if shape_of(out) != shape:
        out = np.broadcast_to(out, shape)
    return out


def total_union(v: Any) -> Any:
    """Union of the dependence of all elements of ``v`` (a 0-d array); linear."""
    return np.sum(v) if shape_of(v) else v


def join(a: Any, b: Any) -> Any:
    """Merge two possible values of the same variable (cond branches, loop iterations)."""
    if is_traced(a) or is_traced(b):
        return union_of_traced(shape_of(a) or shape_of(b), a, b)
    if isinstance(a, Opaque):
        return a
    if isinstance(b, Opaque):
        return b
    a_arr, b_arr = np.asarray(a), np.asarray(b)
    if a_arr.shape == b_arr.shape and a_arr.dtype == b_arr.dtype and np.array_equal(
            a_arr, b_arr, equal_nan=a_arr.dtype.kind in "fc"):
        return a
    return Opaque(a_arr.shape, a_arr.dtype)


def same(a: Any, b: Any) -> bool:
    """True when ``a`` and ``b`` carry the same dependence (and, for constants, values)."""
    ta, tb = is_traced(a), is_traced(b)
    if ta and tb:
        return bool(interop().same_dependence(a, b))
    if ta or tb:
        return False
    if isinstance(a, Opaque) or isinstance(b, Opaque):
        return isinstance(a, Opaque) and isinstance(b, Opaque)
    a_arr, b_arr = np.asarray(a), np.asarray(b)
    return a_arr.dtype == b_arr.dtype and np.array_equal(
        a_arr, b_arr, equal_nan=a_arr.dtype.kind in "fc")


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
    """Evaluate an open ``Jaxpr`` on ``consts`` and ``args`` with :data:`PRIMITIVE_RULES`."""
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
    arr = np.asarray(val, dtype=_numpy_dtype(aval.dtype))
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
    if _is_extended(getattr(val, "dtype", np.float64)):
        return val  # PRNG keys: only JAX itself can use them
    if hasattr(val, "__array__") and not is_traced(val):
        return np.asarray(val)
    return val


def apply_equation(eqn: Any, invals: list[Any]) -> list[Any]:
    """Evaluate one equation; return the list of its output values."""
    prim = eqn.primitive
    name = prim.name
    rule = PRIMITIVE_RULES.get(name)
    traced = False
    opaque = False
    for v in invals:
        if isinstance(v, Opaque):
            opaque = True
        elif is_traced(v):
            traced = True

    if not traced and not opaque:
        return _apply_constant(eqn, rule, invals)
    if opaque and not traced and name not in OPAQUE_PASSTHROUGH:
        # only constants and unknown values in, so unknown values out, no dependence
        return [Opaque.like(v.aval) for v in eqn.outvars]
    if rule is None:
        raise TracingError(
            f"the JAX front-end has no rule for the primitive '{name}', so it cannot "
            "detect the sparsity of this function (it never falls back to a dense pattern). "
            "Rewrite this step with common jax.numpy / jax.lax operations, pass a numpy "
            "version of the function, or give the sparsity pattern explicitly.")
    if opaque and name not in OPAQUE_AWARE:
        invals = [v.dummy() if isinstance(v, Opaque) else v for v in invals]
    params = eqn.params
    if name in NEEDS_AVALS:
        params = dict(params, _out_avals=[v.aval for v in eqn.outvars],
                      _in_avals=[v.aval for v in eqn.invars])
    out = rule(invals, **params)
    outs = list(out) if prim.multiple_results else [out]
    return [Opaque.like(var.aval) if o is OPAQUE_RESULT else o
            for o, var in zip(outs, eqn.outvars)]


def _apply_constant(eqn: Any, rule: Any, invals: list[Any]) -> list[Any]:
    """All inputs are known constants: compute the exact values.

    The numpy rule is used when there is one (fast, no XLA compilation); otherwise JAX
    evaluates the primitive itself, which is exact by definition.
    """
    prim = eqn.primitive
    if rule is None and STRICT_RULES[0]:
        raise TracingError(f"no numpy rule for the primitive '{prim.name}' (strict mode)")
    if rule is not None and prim.name not in CONSTANTS_BY_JAX:
        params = eqn.params
        if prim.name in NEEDS_AVALS:
            params = dict(params, _out_avals=[v.aval for v in eqn.outvars],
                          _in_avals=[v.aval for v in eqn.invars])
        out = rule(invals, **params)
        outs = list(out) if prim.multiple_results else [out]
    else:
        out = prim.bind(*invals, **eqn.params)
        outs = list(out) if prim.multiple_results else [out]
    result = []
    for o, var in zip(outs, eqn.outvars):
        if o is OPAQUE_RESULT:
            result.append(Opaque.like(var.aval))
            continue
        if isinstance(o, Opaque) or is_traced(o) or _is_extended(var.aval.dtype):
            result.append(o)  # PRNG keys and other extended dtypes stay JAX arrays
            continue
        dtype = _numpy_dtype(var.aval.dtype)
        # keep JAX's dtypes (float32 without x64, int32 indices, ...)
        result.append(np.asarray(o, dtype=dtype))
    return result
