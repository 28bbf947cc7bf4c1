"""JAX functions covering the primitives of the JAX front-end, shared by its tests.

Each case is ``(name, f, x_shape, primitives)``: ``f(x)`` is written with ``jax.numpy`` /
``jax.lax`` and its jaxpr contains the listed primitives (checked by the tests).
Inputs are drawn in ``(0.2, 0.9)`` so that every function is smooth there.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

pytest.importorskip("jax")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from jax import lax  # noqa: E402

_IDX = np.array([3, 0, 2, 2, 5])


@jax.custom_jvp
def _custom_jvp_sin(x):
    return jnp.sin(x) * 2.0


_custom_jvp_sin.defjvp(lambda p, t: (_custom_jvp_sin(p[0]), 2.0 * jnp.cos(p[0]) * t[0]))


@jax.custom_vjp
def _custom_vjp_sq(x):
    return x * x


_custom_vjp_sq.defvjp(lambda x: (x * x, x), lambda r, g: (2.0 * r * g,))


def _conv1d(x):
    lhs = x[:12].reshape(1, 2, 6)  # N, C, W
    rhs = jnp.arange(1.0, 13.0).reshape(3, 2, 2)  # O, I, W
    return lax.conv_general_dilated(lhs, rhs, (1,), "SAME")


def _conv2d_traced_kernel(x):
    lhs = x[:16].reshape(1, 4, 4, 1)  # NHWC
    rhs = x[16:20].reshape(2, 2, 1, 1)  # HWIO
    return lax.conv_general_dilated(lhs, rhs, (1, 1), ((1, 0), (0, 1)),
                                    rhs_dilation=(1, 1),
                                    dimension_numbers=("NHWC", "HWIO", "NHWC"))


def _conv_grouped(x):
    lhs = x[:16].reshape(1, 4, 4)  # N C W, 2 groups of 2 channels
    rhs = jnp.arange(1.0, 25.0).reshape(4, 2, 3) / 7.0
    return lax.conv_general_dilated(lhs, rhs, (2,), ((1, 1),), lhs_dilation=(1,),
                                    feature_group_count=2)


def _while_loop(x):
    def body(c):
        i, v = c
        return i + 1, v.at[i].add(jnp.sin(v[i + 1]))

    return lax.while_loop(lambda c: c[0] < 4, body, (0, x))[1]


def _fori_shift(x):
    return lax.fori_loop(0, 3, lambda i, v: jnp.roll(v, 1) * 0.5 + v, x)


def _fori_indexing(x):
    # the counter indexes the carry: exact only when iterations are followed one by one
    return lax.fori_loop(0, 4, lambda i, v: v.at[i + 1].set(v[i] * v[i + 1] + 1.0), x)


def _while_traced_condition(x):
    # the trip count depends on x: the carry is merged to a fixed point
    return lax.while_loop(lambda c: jnp.sum(c) < 50.0, lambda c: c * 2.0 + jnp.roll(c, 1), x)


def _while_counter_unknown(x):
    # a counter indexes the carry, but the trip count depends on x: after merging the
    # iterations the counter's value is unknown, so reads and writes cover the whole axis
    def body(c):
        i, v = c
        w = v.at[i % 6].add(v[(i + 1) % 6] ** 2)
        return i + 1, lax.dynamic_update_slice(w, lax.dynamic_slice(w, (i % 4,), (2,)), (1,))

    return lax.while_loop(lambda c: jnp.sum(c[1]) < 20.0, body, (0, x))[1]


def _scan(x):
    def step(c, xi):
        c = c * xi + jnp.sin(c)
        return c, c * 2.0

    c, ys = lax.scan(step, x[:2], x[2:8].reshape(3, 2))
    return jnp.concatenate([c, ys.ravel()])


def _scan_reverse_const_xs(x):
    def step(c, t):
        return c * t + x[0], c + t

    c, ys = lax.scan(step, x[1:4], jnp.arange(1.0, 4.0)[:, None] * jnp.ones(3),
                     reverse=True)
    return jnp.concatenate([c, ys.ravel()])


def _cond(x):
    return lax.cond(x[0] > 0.5, lambda v: jnp.sin(v[:3]), lambda v: v[1:4] ** 2, x)


def _switch_const(x):
    return lax.switch(1, [lambda v: v[:2], lambda v: v[2:4] * v[0], lambda v: v[4:6]], x)


_A = np.array([[4.0, 1.0, 0.0, 0.5], [0.2, 3.0, 1.0, 0.0], [0.0, 0.3, 5.0, 1.0],
               [0.1, 0.0, 0.4, 4.0]])


def _linalg(x):
    v = x[:4]
    return jnp.concatenate([
        jnp.linalg.solve(_A, v),
        jax.scipy.linalg.solve_triangular(jnp.tril(_A), v, lower=True),
        jax.scipy.linalg.solve_triangular(jnp.triu(_A), v, lower=False, trans=1),
        lax.linalg.triangular_solve(jnp.tril(_A), v[None, :], left_side=False, lower=True)[0],
        jnp.linalg.solve(_A + jnp.diag(x[4:]), v),
        jnp.linalg.cholesky(_A @ _A.T + jnp.outer(x[4:], x[4:]))[:, 0],
        lax.top_k(x, 2)[0]])


CASES = [
    ("arith", lambda x: (x + 1.0) * x - x / (x + 2.0) - 3.0 * x, (5,),
     {"add", "mul", "sub", "div"}),
    ("transcendental", lambda x: jnp.sin(x) + jnp.cos(x) + jnp.tan(x) + jnp.exp(x)
     + jnp.log(x) + jnp.tanh(x) + jnp.arcsin(x) + jnp.arccos(x) + jnp.arctan(x)
     + jnp.sinh(x) + jnp.cosh(x) + jnp.arcsinh(x) + jnp.arctanh(x) + jnp.arccosh(x + 1.5)
     + jnp.sqrt(x) + jnp.cbrt(x) + jnp.log1p(x) + jnp.expm1(x) + jnp.exp2(x), (5,),
     {"sin", "cos", "tan", "exp", "log", "tanh", "asin", "acos", "atan", "sinh", "cosh",
      "asinh", "atanh", "acosh", "sqrt", "cbrt", "log1p", "expm1", "exp2"}),
    ("special", lambda x: jax.scipy.special.erf(x) + lax.rsqrt(x) + jax.nn.sigmoid(x)
     + jax.scipy.special.gammaln(x + 1.0) + lax.logistic(x) + jax.scipy.special.erfc(x),
     (4,), {"erf", "rsqrt", "logistic", "lgamma", "erfc"}),
    ("integer_pow", lambda x: x**2 + x**3 + x**-1 + x**1 + x**0 + lax.integer_pow(x, 0)
     + jnp.square(x), (4,), {"integer_pow"}),
    ("pow", lambda x: x**2.5 + jnp.power(x[::-1], x) + 2.0**x, (4,), {"pow"}),
    ("abs_sign_round", lambda x: jnp.abs(x - 0.5) + jnp.sign(x - 0.5) + jnp.floor(4 * x)
     + jnp.ceil(4 * x) + jnp.round(4 * x) + lax.round(4 * x) + jnp.trunc(4 * x), (5,),
     {"abs", "sign", "floor", "ceil", "round"}),
    ("minmax_clamp", lambda x: jnp.maximum(x, x[::-1]) + jnp.minimum(x, 0.5)
     + lax.clamp(0.3, x, 0.7) + jnp.clip(x, 0.25, 0.75), (5,), {"max", "min", "clamp"}),
    ("select_compare", lambda x: jnp.where(x > 0.5, x, x**2) + jnp.where(x <= 0.4, 1.0, x)
     + jnp.where((x >= 0.3) & (x < 0.8) | (x == 0.5) & ~(x != 0.6), x[::-1], 0.0)
     + lax.select_n(jnp.array([0, 1, 2, 1, 0]), x, x**2, x**3), (5,),
     {"select_n", "gt", "le", "ge", "lt", "eq", "ne", "and", "or", "not"}),
    ("convert", lambda x: x.astype(jnp.float32).astype(jnp.float64) * 2.0
     + (x * 10).astype(jnp.int32) + x.astype(bool), (4,), {"convert_element_type"}),
    ("atan2_rem_hypot", lambda x: jnp.arctan2(x, x[::-1]) + jnp.fmod(7 * x, x[::-1])
     + jnp.hypot(x, 2.0) + jnp.remainder(7 * x, 0.3) + (7 * x) // 0.7, (4,),
     {"atan2", "rem"}),
    ("reductions", lambda x: jnp.concatenate([
        jnp.sum(x.reshape(3, 4), axis=0), jnp.max(x.reshape(3, 4), axis=1),
        jnp.min(x.reshape(3, 4), axis=0), jnp.prod(x.reshape(3, 4), axis=1),
        jnp.array([jnp.all(x > 0.3), jnp.any(x > 0.8)]).astype(float),
        jnp.argmax(x.reshape(3, 4), axis=1).astype(float),
        jnp.argmin(x.reshape(3, 4), axis=0).astype(float) + x[:4],
        jnp.mean(x)[None], jnp.linalg.norm(x)[None]]), (12,),
     {"reduce_sum", "reduce_max", "reduce_min", "reduce_prod", "reduce_and", "reduce_or",
      "argmax", "argmin"}),
    ("cumulative", lambda x: jnp.concatenate([
        jnp.cumsum(x), jnp.cumprod(x), lax.cummax(x), lax.cummin(x),
        lax.cummax(x, reverse=True), jnp.cumsum(x.reshape(2, 3), axis=1).ravel(),
        lax.cumlogsumexp(x), lax.cumsum(x, reverse=True)]), (6,),
     {"cumsum", "cumprod", "cummax", "cummin", "cumlogsumexp"}),
    ("cumprod_hessian", lambda x: jnp.cumprod(x) + lax.cumsum(x * x, reverse=True), (5,),
     {"cumprod", "cumsum"}),
    ("dot_general", lambda x: jnp.concatenate([
        (x.reshape(3, 4) @ jnp.arange(8.0).reshape(4, 2)).ravel(),
        (x.reshape(3, 4) @ x.reshape(4, 3)).ravel(),
        jnp.einsum("bij,bjk->bik", x.reshape(2, 2, 3), x.reshape(2, 3, 2)).ravel(),
        jnp.dot(x, x)[None], jnp.tensordot(x.reshape(2, 6), x.reshape(6, 2), 1).ravel()]),
     (12,), {"dot_general"}),
    ("shapes", lambda x: jnp.concatenate([
        x.reshape(2, 3, 2).transpose(2, 0, 1).ravel(),
        jnp.broadcast_to(x[:3], (2, 3)).ravel(), x[None, :, None][0, :, 0],
        jnp.squeeze(x.reshape(1, 12)), jnp.expand_dims(x, 0).ravel(),
        x.reshape(3, 4)[::-1, ::2].ravel(), x[1:10:3], jnp.flip(x), jnp.roll(x, 2),
        jnp.tile(x[:2], 3), jnp.repeat(x[:2], 2), jnp.stack([x[:2], x[2:4]]).ravel(),
        jnp.hstack(jnp.split(x, 3)), jnp.diff(x), jnp.triu(x[:9].reshape(3, 3)).ravel(),
        jnp.outer(x[:2], x[2:4]).ravel(), x.reshape(4, 3).T.ravel()]), (12,),
     {"reshape", "transpose", "broadcast_in_dim", "squeeze", "concatenate", "slice", "rev",
      "split"}),
    ("pad", lambda x: jnp.concatenate([
        jnp.pad(x, (2, 1)), jnp.pad(x.reshape(2, 3), ((1, 0), (0, 2)), mode="edge").ravel(),
        jnp.pad(x, 2, mode="wrap"),
        lax.pad(x, 0.5, [(1, -1, 2)]),
        lax.pad(x.reshape(2, 3), x[0], [(-1, 1, 1), (2, 0, 0)]).ravel()]),
     (6,), {"pad"}),
    ("iota_and_const_ops", lambda x: x * jnp.arange(5) + lax.iota(jnp.float64, 5)
     + jnp.cumsum(jnp.arange(5.0)) + jnp.sort(jnp.array([3.0, 1.0, 2.0, 0.0, 5.0])), (5,),
     {"iota"}),
    ("dynamic_slice", lambda x: jnp.concatenate([
        lax.dynamic_slice(x, (2,), (3,)), lax.dynamic_slice(x, (5,), (3,)),
        lax.dynamic_slice(x.reshape(2, 3), (1, 1), (1, 2)).ravel(),
        lax.dynamic_update_slice(x, x[:2] ** 2, (3,)),
        lax.dynamic_update_slice(x, jnp.array([1.0, 2.0]), (5,)),
        lax.dynamic_update_slice(jnp.zeros(6), x[:2], (1,))]), (6,),
     {"dynamic_slice", "dynamic_update_slice"}),
    ("gather", lambda x: jnp.concatenate([
        x[_IDX], x.reshape(2, 3)[np.array([1, 0, 1]), np.array([2, 2, 0])],
        x.reshape(2, 3)[:, np.array([0, 2])].ravel(), jnp.take(x, np.array([5, 1])),
        jnp.take(x, np.array([1, 9]), mode="fill", fill_value=-1.0),
        jnp.take(x, np.array([1, 9]), mode="clip"),
        jnp.take_along_axis(x.reshape(2, 3), np.array([[2, 0], [1, 1]]), axis=1).ravel()]),
     (6,), {"gather"}),
    ("scatter", lambda x: jnp.concatenate([
        x.at[_IDX].add(x[:5] ** 2), x.at[np.array([1, 4])].set(x[:2] * 3.0),
        x.at[np.array([0, 2, 4])].mul(x[3:6], unique_indices=True),
        jnp.zeros(6).at[np.array([2, 4])].add(x[:2]),
        x.at[np.array([2, 8])].add(1.0, mode="drop"),
        x.reshape(2, 3).at[:, np.array([0, 2])].add(x[:4].reshape(2, 2)).ravel()]), (6,),
     {"scatter-add", "scatter", "scatter-mul"}),
    ("scatter_minmax", lambda x: jnp.concatenate([
        x.at[np.array([1, 1, 3])].max(x[3:6]), x.at[np.array([1, 2, 3])].min(x[3:6] ** 2)]),
     (6,), {"scatter-max", "scatter-min"}),
    ("sort", lambda x: jnp.concatenate([jnp.sort(x), jnp.sort(x.reshape(2, 3), axis=0).ravel(),
                                        x[jnp.argsort(x)], jnp.argsort(x).astype(float),
                                        x[jnp.lexsort((x, jnp.round(2 * x)))]]),
     (6,), {"sort"}),
    ("cond", _cond, (5,), {"cond"}),
    ("switch_const", _switch_const, (6,), {"cond"}),
    ("while", _while_loop, (6,), {"while"}),
    ("fori_scan", _fori_shift, (6,), {"scan"}),
    ("fori_indexing", _fori_indexing, (6,), {"scan", "dynamic_slice", "scatter"}),
    ("while_traced_condition", _while_traced_condition, (6,), {"while"}),
    ("while_counter_unknown", _while_counter_unknown, (6,),
     {"while", "dynamic_slice", "dynamic_update_slice", "scatter-add"}),
    ("scan", _scan, (8,), {"scan"}),
    ("scan_reverse_const_xs", _scan_reverse_const_xs, (5,), {"scan"}),
    ("custom_derivatives", lambda x: _custom_jvp_sin(x) + _custom_vjp_sq(x[::-1])
     + jax.nn.relu(x - 0.5) + jax.checkpoint(lambda v: jnp.sin(v) * v)(x)
     + jax.jit(lambda v: v * 2.0)(x), (5,),
     {"custom_jvp_call", "custom_vjp_call", "jit"}),
    ("stop_gradient", lambda x: lax.stop_gradient(x) * x, (4,), {"stop_gradient"}),
    ("conv1d", _conv1d, (12,), {"conv_general_dilated"}),
    ("linalg", _linalg, (8,), {"custom_linear_solve", "lu", "triangular_solve", "cholesky",
                               "top_k"}),
    ("complex_fft", lambda x: jnp.concatenate([
        jnp.abs(jnp.fft.rfft(x)), jnp.abs(x + 1j * x[::-1]), jnp.real((x + 1j) * x[::-1])]),
     (4,), {"fft", "abs"}),
    ("random_constant", lambda x: x * jax.random.normal(jax.random.key(0), (4,)), (4,),
     {"random_bits"}),
    ("conv2d_traced_kernel", _conv2d_traced_kernel, (20,), {"conv_general_dilated"}),
    ("conv_grouped", _conv_grouped, (16,), {"conv_general_dilated"}),
]


def jaxpr_primitives(jaxpr) -> set[str]:
    """Names of all primitives in a (closed) jaxpr, including inner jaxprs."""
    jaxpr = getattr(jaxpr, "jaxpr", jaxpr)
    names = set()
    for eqn in jaxpr.eqns:
        names.add(eqn.primitive.name)
        for p in eqn.params.values():
            for sub in (p if isinstance(p, (tuple, list)) else (p,)):
                if hasattr(sub, "eqns") or hasattr(getattr(sub, "jaxpr", None), "eqns"):
                    names |= jaxpr_primitives(sub)
    return names


def random_input(shape, seed=0):
    return np.random.default_rng(seed).uniform(0.2, 0.9, size=shape)


def flat_outputs(out) -> np.ndarray:
    leaves = jax.tree_util.tree_leaves(out)
    return np.concatenate([np.ravel(np.asarray(leaf, dtype=float)) for leaf in leaves])


POINTS = 3  # random points at which the dense references are evaluated

#: cases without a dense Hessian reference: compiling ``jax.hessian`` of these large or
#: scan-heavy graphs takes seconds, and their Hessian rules are elementwise (engine
#: table) or linear; ``cumprod_hessian`` keeps the interesting cumulative product
NO_HESSIAN_REFERENCE = {"transcendental", "special", "cumulative", "shapes",
                        "atan2_rem_hypot", "dot_general", "linalg", "random_constant"}
HESSIAN_CASES = [c for c in CASES if c[0] not in NO_HESSIAN_REFERENCE]
_BY_NAME = {c[0]: c for c in CASES}


def _flat_jax(f):
    def flat(v):
        return jnp.concatenate([jnp.ravel(leaf).astype(float)
                                for leaf in jax.tree_util.tree_leaves(f(v))])

    return flat


_FAST_COMPILE = {"xla_backend_optimization_level": 0,
                 "xla_llvm_disable_expensive_passes": True}


@functools.lru_cache(maxsize=None)
def dense_reference(name: str) -> dict:
    """Values, dense Jacobian nonzeros and dense Hessian nonzeros (of ``sum(f)``) of a case.

    One jitted function computes all three (one XLA compilation per case). Nonzeros are
    united over :data:`POINTS` random points.
    """
    _, f, shape, _ = _BY_NAME[name]
    flat = _flat_jax(f)

    def g(v):
        return jnp.sum(flat(v))

    # custom_vjp has no forward mode, while_loop has no reverse mode
    transforms = [(jax.jacfwd, jax.hessian), (jax.jacrev, jax.hessian),
                  (jax.jacfwd, lambda h: jax.jacfwd(jax.jacfwd(h)))]
    if name in NO_HESSIAN_REFERENCE:
        transforms = [(jax.jacfwd, None), (jax.jacrev, None)]
    x0 = jnp.asarray(random_input(shape))
    for jac_t, hes_t in transforms:
        both = jax.jit(lambda v, jac_t=jac_t, hes_t=hes_t: (
            flat(v), jac_t(flat)(v), hes_t(g)(v) if hes_t else jnp.zeros(())))
        try:
            # unoptimized XLA: compiling dominates, running these tiny graphs is instant
            fn = both.lower(x0).compile(_FAST_COMPILE)
            break
        except (TypeError, ValueError, NotImplementedError):
            continue
    n = int(np.prod(shape))
    values, jac_nz, hes_nz = [], 0, 0
    for seed in range(POINTS):
        val, J, H = fn(jnp.asarray(random_input(shape, seed)))
        values.append(np.asarray(val))
        jac_nz = jac_nz | (np.asarray(J).reshape(-1, n) != 0)
        if H.ndim:
            hes_nz = hes_nz | (np.asarray(H).reshape(n, n) != 0)
    return {"values": values, "jacobian": jac_nz, "hessian": hes_nz}


def test_cases_have_unique_names():
    assert len(_BY_NAME) == len(CASES)
