"""Oracle tests: shape manipulation, joining/splitting, stencil helpers and indexing.

All these functions are linear selections, so the exact pattern is the numerical one.
Each case is checked three ways: the Jacobian of ``op(x)`` (exact), the Hessian of
``sum(c * op(x))`` (linear: empty), and the Hessian of ``sum(c * op(x)**2)`` (exact:
pairs within each output element). Input ``x`` has 12 entries.
"""
from __future__ import annotations

import functools
import zlib

import numpy as np
import pytest

import tracer
from tests.tracer._oracle import (
    assert_contains,
    assert_pattern_equal,
    assert_symmetric,
    nonzero_mask,
    reference_hessian,
    reference_jacobian,
    sample,
)

MODES = ["global", "local"]
N = 12
IDX = np.array([5, 0, 7, 7, 11, 2])
MASK = np.array([True, False, True, True, False, False, True, False, True, False, False, True])


def _x34(x):
    return x.reshape(3, 4)


SHAPE_OPS = {
    # reshaping and axes
    "reshape": lambda xp, x: xp.reshape(x, (4, 3)),
    "reshape_minus1": lambda xp, x: x.reshape(2, -1),
    "reshape_F": lambda xp, x: xp.reshape(x, (3, 4), order="F"),
    "ravel": lambda xp, x: xp.ravel(_x34(x).T),
    "method_ravel": lambda xp, x: _x34(x).T.ravel(),
    "flatten": lambda xp, x: _x34(x).T.flatten(),
    "transpose": lambda xp, x: xp.transpose(_x34(x)),
    "transpose_axes": lambda xp, x: xp.transpose(x.reshape(2, 3, 2), (2, 0, 1)),
    "dot_T": lambda xp, x: _x34(x).T,
    "swapaxes": lambda xp, x: xp.swapaxes(x.reshape(2, 3, 2), 0, 2),
    "moveaxis": lambda xp, x: xp.moveaxis(x.reshape(2, 3, 2), 0, -1),
    "squeeze": lambda xp, x: xp.squeeze(x.reshape(3, 1, 4)),
    "expand_dims": lambda xp, x: xp.expand_dims(_x34(x), 1),
    "newaxis": lambda xp, x: x[None, :, None],
    "atleast_2d": lambda xp, x: xp.atleast_2d(x),
    # joining and splitting
    "concatenate": lambda xp, x: xp.concatenate([x[6:], x[:6], x[3:5]]),
    "concatenate_axis1": lambda xp, x: xp.concatenate([_x34(x), _x34(x)[:, :1]], axis=1),
    "concatenate_const": lambda xp, x: xp.concatenate([x[:3], xp.asarray([1.0, 2.0]), x[9:]]),
    "stack": lambda xp, x: xp.stack([x[:4], x[8:], x[4:8]]),
    "stack_axis1": lambda xp, x: xp.stack([x[:4], x[8:]], axis=1),
    "hstack": lambda xp, x: xp.hstack([x[7:], x[:2]]),
    "vstack": lambda xp, x: xp.vstack([x[:4], _x34(x)[1:]]),
    "split": lambda xp, x: xp.split(x, 3)[1] * 2.0 + xp.split(x, [2, 5])[2][:4],
    "split_axis1": lambda xp, x: xp.split(_x34(x), 2, axis=1)[1],
    # stencil helpers
    "roll": lambda xp, x: xp.roll(x, 3),
    "roll_axis": lambda xp, x: xp.roll(_x34(x), -1, axis=1),
    "roll_2axes": lambda xp, x: xp.roll(_x34(x), (1, 2), axis=(0, 1)),
    "diff": lambda xp, x: xp.diff(x),
    "diff_n2": lambda xp, x: xp.diff(x, n=2),
    "diff_axis0": lambda xp, x: xp.diff(_x34(x), axis=0),
    "pad_constant": lambda xp, x: xp.pad(x, (2, 1)),
    "pad_constant_value": lambda xp, x: xp.pad(_x34(x), 1, mode="constant", constant_values=3.0),
    "pad_wrap": lambda xp, x: xp.pad(x, (2, 3), mode="wrap"),
    "pad_wrap_2d": lambda xp, x: xp.pad(_x34(x), 1, mode="wrap"),
    "pad_edge": lambda xp, x: xp.pad(x, (1, 2), mode="edge"),
    "pad_edge_2d": lambda xp, x: xp.pad(_x34(x), ((0, 1), (2, 0)), mode="edge"),
    "tile": lambda xp, x: xp.tile(x[:3], 3),
    "tile_2d": lambda xp, x: xp.tile(_x34(x)[:2, :2], (2, 1)),
    "repeat": lambda xp, x: xp.repeat(x[:5], 2),
    "repeat_axis": lambda xp, x: xp.repeat(_x34(x), [1, 0, 2], axis=0),
    "flip": lambda xp, x: xp.flip(x),
    "flip_axis": lambda xp, x: xp.flip(_x34(x), axis=1),
    "fliplr": lambda xp, x: xp.fliplr(_x34(x)),
    "broadcast_to": lambda xp, x: xp.broadcast_to(x[:4], (3, 4)),
    "diag_extract": lambda xp, x: xp.diag(_x34(x)),
    "diag_offset": lambda xp, x: xp.diag(_x34(x), k=1),
    "diag_build": lambda xp, x: xp.diag(x[:3]),
    "diagonal": lambda xp, x: xp.diagonal(_x34(x)),
    "triu": lambda xp, x: xp.triu(_x34(x)),
    "tril": lambda xp, x: xp.tril(_x34(x), k=-1),
    "take": lambda xp, x: xp.take(x, IDX),
    "take_axis": lambda xp, x: xp.take(_x34(x), [3, 0], axis=1),
    "take_along_axis": lambda xp, x: xp.take_along_axis(
        _x34(x), xp.asarray(np.array([[0, 3], [1, 1], [2, 0]])), axis=1),
    # indexing
    "basic_slice": lambda xp, x: x[1:-2:3],
    "basic_2d": lambda xp, x: _x34(x)[1:, ::2],
    "basic_int": lambda xp, x: _x34(x)[2],
    "basic_neg_step": lambda xp, x: x[::-2],
    "basic_scalar": lambda xp, x: x[3] + x[-1],
    "ellipsis": lambda xp, x: x.reshape(2, 3, 2)[..., 1],
    "advanced_int": lambda xp, x: x[IDX],
    "advanced_list": lambda xp, x: x[[1, 1, 4]],
    "advanced_2d": lambda xp, x: _x34(x)[[0, 2], [1, 3]],
    "advanced_mixed": lambda xp, x: _x34(x)[1:, [0, 2]],
    "advanced_neg": lambda xp, x: x[np.array([-1, -3])],
    "bool_mask": lambda xp, x: x[MASK],
    "bool_mask_2d": lambda xp, x: _x34(x)[MASK.reshape(3, 4)],
    "bool_mask_rows": lambda xp, x: _x34(x)[np.array([True, False, True])],
    "where_const_cond": lambda xp, x: xp.where(MASK, x, 0.0),
    "where_const_cond_2": lambda xp, x: xp.where(MASK, x, x[::-1]),
}


def rng_for(name, salt=0):
    return np.random.default_rng(zlib.crc32(name.encode()) + salt)


@functools.lru_cache(maxsize=None)
def refs(name):
    fn = SHAPE_OPS[name]
    rng = rng_for(name)
    pts = [sample(rng, (N,)) for _ in range(2)]
    jac = [nonzero_mask(*reference_jacobian(fn, x)) for x in pts]
    c = rng.uniform(0.5, 1.5, np.shape(fn(np, pts[0])))
    g_lin = lambda xp, x: xp.sum(c * fn(xp, x))  # noqa: E731
    g_sq = lambda xp, x: xp.sum(c * fn(xp, x) ** 2)  # noqa: E731
    hess = [nonzero_mask(*reference_hessian(g_sq, x)) for x in pts]
    return pts, jac, g_lin, g_sq, hess


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(SHAPE_OPS))
def test_shape_jacobian(name, mode):
    fn = SHAPE_OPS[name]
    pts, jac, _, _, _ = refs(name)
    union = np.zeros_like(jac[0])
    for x, ref in zip(pts, jac):
        union |= ref
        P = tracer.jacobian_sparsity(lambda x: fn(np, x), x, mode=mode)
        assert_contains(P, ref, f"{name} Jacobian ({mode})")
    assert_pattern_equal(P, union, f"{name} Jacobian ({mode})")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(SHAPE_OPS))
def test_shape_hessian(name, mode):
    pts, _, g_lin, g_sq, hess = refs(name)
    x = pts[0]
    P = tracer.hessian_sparsity(lambda x: g_lin(np, x), x, mode=mode)
    assert P.shape == (N, N) and P.nnz == 0, f"linear {name} must add no Hessian pairs"
    union = np.zeros((N, N), bool)
    for x, ref in zip(pts, hess):
        union |= ref
        P = tracer.hessian_sparsity(lambda x: g_sq(np, x), x, mode=mode)
        assert_symmetric(P)
        assert_contains(P, ref, f"{name} Hessian ({mode})")
    assert_pattern_equal(P, union, f"{name} Hessian ({mode})")


# ----------------------------------------------------------- slice and index assignment
def _assign_interior(x):
    y = x.copy()
    y[1:-1] = x[2:] - 2 * x[1:-1] + x[:-2]
    return y


def _index_iadd(x):
    y = x * 1.0
    y[np.array([0, 3, 5])] += x[np.array([6, 7, 8])] ** 2
    return y


def _index_assign_scalar(x):
    y = x.copy()
    y[4] = x[0] * x[1]
    y[0] = 3.0
    return y


def _mask_assign(x):
    y = x.copy()
    y[MASK] = x[::-1][MASK] * 2.0
    return y


def _slice_imul_2d(x):
    y = x.reshape(3, 4).copy()
    y[:, 1:] *= y[:, :1]
    return y


def _ellipsis_assign(x):
    y = x * 1.0
    y[2:5] = 0.0
    return y


ASSIGN = {
    "slice_assign_interior": _assign_interior,
    "index_iadd": _index_iadd,
    "index_assign_scalar": _index_assign_scalar,
    "mask_assign": _mask_assign,
    "slice_imul_2d": _slice_imul_2d,
    "ellipsis_assign_const": _ellipsis_assign,
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(ASSIGN))
def test_assignment_jacobian_and_hessian(name, mode):
    np_fn = ASSIGN[name]
    fn = lambda xp, x: np_fn(x)  # noqa: E731
    rng = rng_for(name)
    union = np.zeros((np.size(fn(np, np.ones(N))), N), bool)
    for _ in range(2):
        x = sample(rng, (N,))
        ref = nonzero_mask(*reference_jacobian(fn, x))
        union |= ref
        P = tracer.jacobian_sparsity(lambda x: fn(np, x), x, mode=mode)
        assert_contains(P, ref, f"{name} Jacobian ({mode})")
    assert_pattern_equal(P, union, f"{name} Jacobian ({mode})")
    c = rng.uniform(0.5, 1.5, union.shape[0]).reshape(np.shape(fn(np, x)))
    g = lambda xp, x: xp.sum(c * fn(xp, x) ** 2)  # noqa: E731
    H = tracer.hessian_sparsity(lambda x: g(np, x), x, mode=mode)
    assert_symmetric(H)
    assert_pattern_equal(H, nonzero_mask(*reference_hessian(g, x)), f"{name} Hessian ({mode})")


@pytest.mark.parametrize("mode", MODES)
def test_assignment_overwrites_dependence(mode):
    """Writing a constant or new value into a slot replaces (not merges) its index set."""
    x = sample(rng_for("overwrite"), (N,))

    def f(x):
        y = x.copy()
        y[:6] = 0.0
        y[6:] = x[:6]
        return y

    E = np.zeros((N, N), bool)
    E[np.arange(6, 12), np.arange(6)] = True
    assert_pattern_equal(tracer.jacobian_sparsity(f, x, mode=mode), E, "overwrite")
