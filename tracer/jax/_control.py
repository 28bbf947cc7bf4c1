"""Rules of the JAX front-end for calls and control flow (``cond``, ``while``, ``scan``).

* Calls (``jit``/``pjit``, ``closed_call``, ``remat``, ``custom_jvp_call``,
  ``custom_vjp_call``) evaluate their inner jaxpr: the custom derivative rules are
  ignored because the primal computation determines which derivatives can be nonzero.
* ``cond`` with a known index runs that branch; otherwise it runs every branch and
  merges the outputs (union of dependence).
* ``while`` and ``scan`` with traced or unknown values iterate the body on the carry,
  merging each new carry with the previous one, until the merged carry no longer changes:
  a fixed point that contains the carry of every possible iteration count. A ``scan``
  needs at most ``length`` such steps; a ``while`` loop that does not converge within
  :data:`MAX_FIXED_POINT_ITERATIONS` raises a :class:`TracingError`.
* Merging iterations loses known values such as a loop counter, and indices computed from
  them then cover the whole axis. So a ``while`` loop runs iteration by iteration while
  its condition has a known value, and a ``scan`` in which merging lost known values is
  re-run iteration by iteration; both up to :data:`EXACT_LOOP_LIMIT` steps.
  With only known constants, loops run exactly (this is plain evaluation, not tracing).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._errors import TracingError
from ._interpreter import eval_closed_jaxpr
from ._registry import register
from ._values import Opaque, data, is_concrete, is_traced, join, same, shape_of

#: Cap on fixed-point steps for ``while`` loops (each step evaluates the body once).
MAX_FIXED_POINT_ITERATIONS = 1000

#: Loops whose trip count and indices are known (a counter) are evaluated iteration by
#: iteration up to this many steps, which keeps indices computed from the counter exact.
EXACT_LOOP_LIMIT = 512


# ---------------------------------------------------------------- calls
def _call_rule(*param_names: str):
    def rule(invals, **params):
        for key in param_names:
            inner = params.get(key)
            if inner is not None:
                return eval_closed_jaxpr(inner, invals)
        raise TracingError(f"call primitive without an inner jaxpr (looked for "
                           f"{param_names}); please report this JAX version")

    return rule


for _name in ("jit", "pjit", "closed_call", "core_call", "remat", "remat2", "checkpoint",
              "custom_lin", "shard_map"):
    register(_name, _call_rule("jaxpr", "call_jaxpr"), passthrough=True)
for _name in ("custom_jvp_call", "custom_vjp_call", "custom_vjp_call_jaxpr"):
    register(_name, _call_rule("call_jaxpr", "fun_jaxpr", "jaxpr"), passthrough=True)


# ---------------------------------------------------------------- cond
def _cond(invals, branches, **_):
    index, *ops = invals
    if is_concrete(index):
        k = int(np.clip(int(np.asarray(index)), 0, len(branches) - 1))
        return eval_closed_jaxpr(branches[k], ops)
    outs = eval_closed_jaxpr(branches[0], ops)
    for branch in branches[1:]:
        outs = [join(a, b) for a, b in zip(outs, eval_closed_jaxpr(branch, ops))]
    return outs


register("cond", _cond, passthrough=True)


# ---------------------------------------------------------------- while
def _fixed_point_while(body_jaxpr, body_consts, carry):
    for _step in range(MAX_FIXED_POINT_ITERATIONS):
        new = eval_closed_jaxpr(body_jaxpr, body_consts + carry)
        merged = [join(c, n) for c, n in zip(carry, new)]
        if all(same(m, c) for m, c in zip(merged, carry)):
            return carry
        carry = merged
    raise TracingError(
        f"the sparsity pattern of a while_loop carry did not reach a fixed point within "
        f"{MAX_FIXED_POINT_ITERATIONS} steps (each step lets the dependence spread further). "
        "Use lax.scan or lax.fori_loop with static bounds, or pass the pattern explicitly.")


def _while(invals, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts, **params):
    cond_consts = invals[:cond_nconsts]
    body_consts = invals[cond_nconsts:cond_nconsts + body_nconsts]
    carry = list(invals[cond_nconsts + body_nconsts:])
    exact = all(is_concrete(v) for v in invals)  # plain evaluation, no step limit
    # While the condition has a known value (a counter), follow the iterations one by
    # one: indices computed from the counter stay exact. As soon as it depends on
    # traced or unknown values, the remaining iterations are merged to a fixed point.
    for _step in range(EXACT_LOOP_LIMIT):
        pred = eval_closed_jaxpr(cond_jaxpr, cond_consts + carry)[0]
        if not is_concrete(pred):
            break
        if not bool(np.asarray(pred)):
            return carry
        carry = eval_closed_jaxpr(body_jaxpr, body_consts + carry)
    else:
        if exact and all(is_concrete(v) for v in carry):
            # a long loop on constants: JAX runs the remaining iterations compiled
            from jax import lax  # noqa: PLC0415

            out = lax.while_p.bind(*cond_consts, *body_consts, *carry, cond_jaxpr=cond_jaxpr,
                                   body_jaxpr=body_jaxpr, cond_nconsts=cond_nconsts,
                                   body_nconsts=body_nconsts, **params)
            return [np.asarray(v) for v in out]
    return _fixed_point_while(body_jaxpr, body_consts, carry)


register("while", _while, passthrough=True)


# ---------------------------------------------------------------- scan
def _slice_all(xs: Any, length: int) -> Any:
    """One element of a scanned-over input that stands for every iteration."""
    if is_traced(xs):
        return np.sum(xs, axis=0)  # union over iterations (linear: keeps Hessian pairs)
    if isinstance(xs, Opaque):
        return Opaque(xs.shape[1:], xs.dtype)
    arr = np.asarray(xs)
    if length <= 1 or bool(np.all(arr == arr[:1])):
        return arr[0]
    return Opaque(arr.shape[1:], arr.dtype)


def _stack_all(y: Any, length: int) -> Any:
    """Stacked output of ``length`` iterations, each bounded by ``y``."""
    shape = (length,) + shape_of(y)
    if isinstance(y, Opaque):
        return Opaque(shape, y.dtype)
    if is_traced(y):
        return np.broadcast_to(np.expand_dims(y, 0), shape)
    return np.broadcast_to(np.expand_dims(np.asarray(y), 0), shape).copy()


def _scan(invals, jaxpr, length, reverse, num_consts, num_carry, **params):
    consts = list(invals[:num_consts])
    carry = list(invals[num_consts:num_consts + num_carry])
    xs = list(invals[num_consts + num_carry:])
    length = int(length)
    if all(is_concrete(v) for v in invals) and length > EXACT_LOOP_LIMIT:
        from jax import lax  # noqa: PLC0415  (a long loop on constants: JAX runs it)

        out = lax.scan_p.bind(*invals, jaxpr=jaxpr, length=length, reverse=reverse,
                              num_consts=num_consts, num_carry=num_carry, **params)
        return [np.asarray(v) for v in out]
    if all(is_concrete(v) for v in invals) or length == 0:
        return _scan_stepwise(jaxpr, length, reverse, consts, carry, xs)
    x_all = [_slice_all(x, length) for x in xs]
    # C_{k+1} = C_k  join  body(C_k): after `length` steps C contains every real carry
    init = carry
    for _step in range(length):
        outs = eval_closed_jaxpr(jaxpr, consts + carry + x_all)
        new, ys = outs[:num_carry], outs[num_carry:]
        merged = [join(c, n) for c, n in zip(carry, new)]
        if all(same(m, c) for m, c in zip(merged, carry)):
            break
        carry = merged
    else:
        outs = eval_closed_jaxpr(jaxpr, consts + carry + x_all)
        ys = outs[num_carry:]
    if length <= EXACT_LOOP_LIMIT and _values_lost(init + xs, carry + x_all):
        # known values (a loop counter, constant xs) became unknown by merging
        # iterations, which makes indices computed from them conservative: follow the
        # iterations one by one instead
        return _scan_stepwise(jaxpr, length, reverse, consts, init, xs)
    return carry + [_stack_all(y, length) for y in ys]


register("scan", _scan, passthrough=True)


def _values_lost(before, after) -> bool:
    return any(isinstance(b, Opaque) and not isinstance(a, Opaque) and not is_traced(a)
               for a, b in zip(before, after))


def _scan_stepwise(jaxpr, length, reverse, consts, carry, xs):
    """Evaluate a scan iteration by iteration (exact)."""
    ys_steps = []
    order = range(length - 1, -1, -1) if reverse else range(length)
    for i in order:
        outs = eval_closed_jaxpr(jaxpr, consts + carry + [_element(x, i) for x in xs])
        carry = outs[:len(carry)]
        ys_steps.append(outs[len(carry):])
    if reverse:
        ys_steps.reverse()
    n_ys = len(jaxpr.out_avals) - len(carry)
    ys = []
    for j in range(n_ys):
        aval = jaxpr.out_avals[len(carry) + j]
        if not length:
            ys.append(np.zeros((0,) + tuple(aval.shape), aval.dtype))
        else:
            ys.append(_stack([step[j] for step in ys_steps], aval))
    return carry + ys


def _element(xs: Any, i: int) -> Any:
    if isinstance(xs, Opaque):
        return Opaque(xs.shape[1:], xs.dtype)
    if is_traced(xs):
        return xs[i]
    return np.asarray(xs)[i]


def _stack(values: list, aval: Any) -> Any:
    if any(is_traced(v) for v in values):
        return np.stack([data(v) for v in values])
    if any(isinstance(v, Opaque) for v in values):
        return Opaque((len(values),) + tuple(aval.shape), aval.dtype)
    return np.stack([np.asarray(v) for v in values])


__all__ = ["MAX_FIXED_POINT_ITERATIONS", "EXACT_LOOP_LIMIT"]
