"""Hypothesis: random chains of operations on random shapes against a dense oracle.

A chain starts from ``x.reshape(r, c)`` and applies 1-6 random operations: unary ufuncs,
binary ops with constants or with earlier intermediates, reductions along an axis,
reshape / transpose / slicing / roll / concatenate / pad, cumsum, and products with random
constant dense and ``scipy.sparse`` matrices from either side. All constants are drawn
from a generator seeded per example, so every call of the chain sees the same constants.

The reference is the complex-step Jacobian of the same numpy code (central differences
when the chain holds a non-analytic op such as ``maximum``). The detected pattern must
contain every numerical nonzero in both modes. When the chain is purely linear, with
random nonzero coefficients, the pattern must equal the complex-step nonzeros exactly
(no tolerance: structural zeros stay exactly zero), and so must the Hessian pattern of
``sum(c * y**2)``.
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import tracer
from tests.tracer._oracle import (
    assert_contains,
    assert_pattern_equal,
    hessian_complex_step,
    jacobian_complex_step,
    near_kink,
    nonzero_mask,
    reference_hessian,
    reference_jacobian,
    to_dense,
)

MAX_SIZE = 24


class Constants:
    """Random constants of a chain, drawn on the first (untraced) call and replayed after.

    The chain draws its constants in the same order on every call (the order depends on
    shapes only), so the traced calls see exactly the constants of the reference calls,
    and no random generator runs while the tracer is active.
    """

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.values = []
        self.pos = 0

    def get(self, make):
        if self.pos == len(self.values):
            self.values.append(make(self.rng))
        value = self.values[self.pos]
        self.pos += 1
        return value

    def coef(self, shape):
        """Random coefficients with |c| in [0.5, 1.5]: never (near) zero, so no cancellation."""
        return self.get(lambda rng: _coef(rng, shape))

    def integer(self, high):
        return self.get(lambda rng: int(rng.integers(high)))

    def sparse(self, m, n, kind):
        return self.get(lambda rng: _sparse(rng, m, n, kind))

    def mask(self, shape, p):
        return self.get(lambda rng: rng.uniform(size=shape) < p)


def _coef(rng, shape):
    return rng.uniform(0.5, 1.5, shape) * rng.choice([-1.0, 1.0], shape)


def _sparse(rng, m, n, kind):
    M = sp.random_array((m, n), density=0.5, rng=rng, format="coo")
    M.data = _coef(rng, M.data.size)
    return {"csr_array": sp.csr_array, "csr_matrix": sp.csr_matrix,
            "csc_array": sp.csc_array}[kind](M)


def _partner(cur, pool, K):
    """An earlier intermediate of the same shape (cur itself is always one)."""
    same = [p for p in pool if p.shape == cur.shape]
    return same[K.integer(len(same))] if same else cur[::-1]


def _axis(K, cur):
    return K.integer(cur.ndim)


def _setitem_shift(cur, K):
    y = cur.copy()
    y[1:] = K.coef(cur[:-1].shape) * cur[:-1]
    return y


def _write_through_T(cur, K):
    Y = np.zeros_like(cur.T)
    Y.T[...] = cur * K.coef(cur.shape)
    return Y


def _write_through_flip(cur, K):
    y = np.zeros_like(cur)
    v = np.flip(y, axis=1)
    v[:, :1] = cur[:, -1:] * K.coef((cur.shape[0], 1))
    return y + cur


def _iadd_view_of_view(cur, K):
    y = cur * 1.0
    w = y[::-1][:, ::2]
    w += K.coef(w.shape) * cur[:w.shape[0], :w.shape[1]]
    return y


# name -> (apply(cur, pool, constants), linear, analytic)
OPS = {
    "sin": (lambda cur, pool, K: np.sin(cur), False, True),
    "tanh": (lambda cur, pool, K: np.tanh(cur), False, True),
    "square": (lambda cur, pool, K: cur * cur, False, True),
    "exp": (lambda cur, pool, K: np.exp(0.3 * cur), False, True),
    "rational": (lambda cur, pool, K: cur / (1.0 + cur * cur), False, True),
    "scale": (lambda cur, pool, K: cur * K.coef(cur.shape), True, True),
    "scale_row": (lambda cur, pool, K: K.coef((1, cur.shape[1])) * cur, True, True),
    "affine": (lambda cur, pool, K: cur + K.coef(cur.shape), True, True),
    "lin_pool": (lambda cur, pool, K: K.coef(cur.shape) * cur
                 + K.coef(cur.shape) * _partner(cur, pool, K), True, True),
    "mul_pool": (lambda cur, pool, K: cur * _partner(cur, pool, K), False, True),
    "max_pool": (lambda cur, pool, K: np.maximum(cur, _partner(cur, pool, K)),
                 False, False),
    "sum_axis": (lambda cur, pool, K: np.sum(cur, axis=_axis(K, cur), keepdims=True),
                 True, True),
    "sum_bcast": (lambda cur, pool, K: cur + K.coef(cur.shape) * np.sum(
        cur, axis=_axis(K, cur), keepdims=True), True, True),
    "mean_axis": (lambda cur, pool, K: cur.mean(axis=_axis(K, cur), keepdims=True),
                  True, True),
    "prod_axis": (lambda cur, pool, K: np.prod(cur, axis=_axis(K, cur), keepdims=True),
                  False, True),
    "max_axis": (lambda cur, pool, K: np.max(cur, axis=_axis(K, cur), keepdims=True),
                 False, False),
    "reshape": (lambda cur, pool, K: cur.reshape(cur.shape[::-1]), True, True),
    "transpose": (lambda cur, pool, K: cur.T, True, True),
    "swapaxes": (lambda cur, pool, K: np.swapaxes(cur, 0, 1), True, True),
    "flip": (lambda cur, pool, K: cur[::-1], True, True),
    "drop_first": (lambda cur, pool, K: cur[1:] if cur.shape[0] > 1 else cur, True, True),
    "column_slice": (lambda cur, pool, K: cur[:, ::2], True, True),
    "roll": (lambda cur, pool, K: np.roll(cur, 1, axis=_axis(K, cur)), True, True),
    "concat": (lambda cur, pool, K: np.concatenate(
        [cur, K.coef((1, cur.shape[1])) * cur[-1:]], axis=0)
        if cur.size <= MAX_SIZE else cur, True, True),
    "pad_wrap": (lambda cur, pool, K: np.pad(cur, ((0, 0), (1, 0)), mode="wrap")
                 if cur.size <= MAX_SIZE else cur, True, True),
    "cumsum": (lambda cur, pool, K: np.cumsum(cur, axis=_axis(K, cur)), True, True),
    "diff_coef": (lambda cur, pool, K: cur[1:] - K.coef(cur[1:].shape) * cur[:-1]
                  if cur.shape[0] > 1 else cur, True, True),
    "dense_left": (lambda cur, pool, K: (K.coef((3, cur.shape[0]))
                                           * K.mask((3, cur.shape[0]), 0.6)) @ cur,
                   True, True),
    "sparse_left": (lambda cur, pool, K: K.sparse(cur.shape[0], cur.shape[0],
                                                   "csr_array") @ cur, True, True),
    "sparse_left_matrix": (lambda cur, pool, K: K.sparse(2, cur.shape[0],
                                                          "csr_matrix") @ cur, True, True),
    "sparse_right": (lambda cur, pool, K: cur @ K.sparse(cur.shape[1], cur.shape[1],
                                                          "csc_array"), True, True),
    # writes into buffers and through views (numpy semantics: the base array changes)
    "setitem_shift": (lambda cur, pool, K: _setitem_shift(cur, K), True, True),
    "write_through_T": (lambda cur, pool, K: _write_through_T(cur, K), True, True),
    "write_through_flip": (lambda cur, pool, K: _write_through_flip(cur, K), True, True),
    "iadd_view_of_view": (lambda cur, pool, K: _iadd_view_of_view(cur, K), True, True),
    "einsum_right": (lambda cur, pool, K: np.einsum(
        "ij,jk->ik", cur, K.coef((cur.shape[1], 2))), True, True),
}


def make_chain(shape, ops, seed):
    """The chain as a numpy function of a flat x; constants fixed by ``seed``."""
    K = Constants(seed)

    def f(x):
        K.pos = 0
        cur = x.reshape(shape)
        pool = [cur]
        for name in ops:
            cur = OPS[name][0](cur, pool, K)
            if cur.ndim == 1:  # keep everything 2-D so that every op applies
                cur = cur.reshape(1, -1)
            pool.append(cur)
        return cur.ravel()

    f(np.zeros(shape[0] * shape[1]))  # draw the constants outside any trace

    linear = all(OPS[name][1] for name in ops)
    analytic = all(OPS[name][2] for name in ops)
    return f, linear, analytic


chains = st.tuples(
    st.integers(1, 4), st.integers(1, 4),
    st.lists(st.sampled_from(sorted(OPS)), min_size=1, max_size=6),
    st.integers(0, 2**31 - 1))

linear_chains = st.tuples(
    st.integers(1, 4), st.integers(1, 4),
    st.lists(st.sampled_from(sorted(k for k, v in OPS.items() if v[1])), min_size=1,
             max_size=6),
    st.integers(0, 2**31 - 1))


def exact_linear_jacobian_mask(f, x):
    """Exact nonzeros of a linear chain: the complex step leaves structural zeros exactly
    zero and keeps any nonzero coefficient (however small, even after a near-cancellation
    of random coefficients) nonzero, so no tolerance is needed."""
    return jacobian_complex_step(f, x) != 0


def _point(shape, seed):
    rng = np.random.default_rng(seed + 1)
    n = shape[0] * shape[1]
    return rng.uniform(0.3, 0.9, n) * rng.choice([-1.0, 1.0], n)


@settings(max_examples=40)
@given(chains)
def test_random_chain_jacobian_contains_numerical(chain):
    r, c, ops, seed = chain
    f, linear, analytic = make_chain((r, c), ops, seed)
    x = _point((r, c), seed)
    assume(analytic or not near_kink(f, x))   # FD reference needs a point off the kinks
    ref = nonzero_mask(*reference_jacobian(lambda xp, z: f(z), x, complex_safe=analytic))
    G = tracer.jacobian_sparsity(f, x, mode="global")
    assert_contains(G, ref, f"global pattern of chain {ops}")
    L = tracer.jacobian_sparsity(f, x, mode="local")
    assert_contains(L, ref, f"local pattern of chain {ops}")
    assert_contains(G, to_dense(L), f"global must contain local for chain {ops}")
    if linear:
        assert_pattern_equal(G, exact_linear_jacobian_mask(f, x), f"linear chain {ops}")


@settings(max_examples=30)
@given(linear_chains)
def test_random_linear_chain_exact(chain):
    r, c, ops, seed = chain
    f, linear, _ = make_chain((r, c), ops, seed)
    assert linear
    x = _point((r, c), seed)
    ref = exact_linear_jacobian_mask(f, x)
    for mode in ("global", "local"):
        assert_pattern_equal(tracer.jacobian_sparsity(f, x, mode=mode), ref,
                             f"linear chain {ops} ({mode})")
    w = _coef(np.random.default_rng(seed + 2), ref.shape[0])
    H0 = tracer.hessian_sparsity(lambda z: np.sum(w * f(z)), x)
    assert H0.nnz == 0, f"linear chain {ops} must have an empty Hessian"
    g = lambda xp, z: np.sum(w * f(z) ** 2)  # noqa: E731
    H = tracer.hessian_sparsity(lambda z: g(np, z), x)
    assert_pattern_equal(H, hessian_complex_step(lambda z: g(np, z), x) != 0,
                         f"sum(w y^2), {ops}")


@settings(max_examples=30)
@given(chains)
def test_random_chain_hessian_contains_numerical(chain):
    r, c, ops, seed = chain
    f, _, analytic = make_chain((r, c), ops, seed)
    x = _point((r, c), seed)
    assume(analytic or not near_kink(f, x, step=1e-3))  # hessian_fd steps 1e-4
    w = _coef(np.random.default_rng(seed + 2), np.size(f(x)))
    g = lambda xp, z: np.sum(w * f(z) ** 2)  # noqa: E731
    ref = nonzero_mask(*reference_hessian(g, x, complex_safe=analytic))
    for mode in ("global", "local"):
        H = tracer.hessian_sparsity(lambda z: g(np, z), x, mode=mode)
        assert_contains(H, ref, f"Hessian of chain {ops} ({mode})")


@pytest.mark.parametrize("ops", [
    ["sparse_left", "sin", "sparse_right"],
    ["concat", "roll", "cumsum", "transpose"],
    ["sum_bcast", "mul_pool", "prod_axis"],
    ["dense_left", "max_axis", "exp"],
])
def test_fixed_chains(ops):
    """A few chains that always run, independent of the hypothesis database."""
    f, linear, analytic = make_chain((3, 4), ops, 17)
    x = _point((3, 4), 17)
    ref = nonzero_mask(*reference_jacobian(lambda xp, z: f(z), x, complex_safe=analytic))
    assert_contains(tracer.jacobian_sparsity(f, x), ref, f"chain {ops}")


# ------------------------------------------------------------------ scalar (loop) programs
UNARY_SCALAR = [
    lambda e: np.sin(e), lambda e: np.exp(0.3 * e), lambda e: np.tanh(e), lambda e: e ** 2,
    lambda e: -e, lambda e: np.sqrt(1.0 + e * e), lambda e: 2.0 * e + 1.0,
]
BINARY_SCALAR = [
    lambda a, b: a + b, lambda a, b: a - 0.5 * b, lambda a, b: a * b,
    lambda a, b: a / (1.0 + b * b), lambda a, b: np.arctan2(a, 2.0 + b * b),
]


def _expression(draw_int, depth, n, leaves):
    """Random expression tree over x[j] (recorded in ``leaves``) as a function of x."""
    kind = draw_int(0, 2) if depth > 0 else 0
    if kind == 0:
        j = draw_int(0, n - 1)
        leaves.add(j)
        return lambda x: x[j]
    if kind == 1:
        op = UNARY_SCALAR[draw_int(0, len(UNARY_SCALAR) - 1)]
        sub = _expression(draw_int, depth - 1, n, leaves)
        return lambda x: op(sub(x))
    op = BINARY_SCALAR[draw_int(0, len(BINARY_SCALAR) - 1)]
    a = _expression(draw_int, depth - 1, n, leaves)
    b = _expression(draw_int, depth - 1, n, leaves)
    return lambda x: op(a(x), b(x))


@settings(max_examples=30)
@given(st.data())
def test_random_scalar_programs(data):
    """Element-by-element code (``out[i] = expr(x[j], ...)``): the pattern contains the
    numerical nonzeros and never a variable the expression does not read."""
    n = data.draw(st.integers(1, 5))
    m = data.draw(st.integers(1, 4))

    def draw_int(lo, hi):
        return data.draw(st.integers(lo, hi))

    exprs, leaves = [], []
    for _ in range(m):
        used = set()
        exprs.append(_expression(draw_int, draw_int(0, 3), n, used))
        leaves.append(used)
    as_list = data.draw(st.booleans())

    def f(x):
        if as_list:
            return [e(x) for e in exprs]
        out = np.zeros_like(x[:1] * np.zeros(m))
        for i, e in enumerate(exprs):
            out[i] = e(x)
        return out

    x = _point((1, n), data.draw(st.integers(0, 2**31 - 1)))
    ref = nonzero_mask(*reference_jacobian(lambda xp, z: f(z), x))
    allowed = np.zeros((m, n), bool)
    for i, used in enumerate(leaves):
        allowed[i, sorted(used)] = True
    for mode in ("global", "local"):
        P = tracer.jacobian_sparsity(f, x, mode=mode)
        assert_contains(P, ref, f"scalar program ({mode})")
        assert not (to_dense(P) & ~allowed).any(), "pattern holds a variable never read"
    g = lambda xp, z: sum(w * v ** 2 for w, v in zip(range(1, m + 1), f(z)))  # noqa: E731
    H = tracer.hessian_sparsity(lambda z: g(np, z), x)
    assert_contains(H, nonzero_mask(*reference_hessian(g, x)), "scalar program Hessian")
