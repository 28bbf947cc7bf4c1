"""PyTorch backend: batched products against dense ``torch.autograd.functional`` references."""

from __future__ import annotations

import importlib
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from sparsead._errors import BackendUnavailableError, SparseADError  # noqa: E402
from sparsead.backends import ProductRequest  # noqa: E402
from sparsead.backends.torch_backend import TorchBackend  # noqa: E402

RNG = np.random.default_rng(1)
IN_SHAPES = [(), (4,), (2, 3)]


def f_scalar(x):
    return torch.sum(torch.sin(x) * x) + torch.sum(x) ** 3


def f_vector(x):
    z = x.reshape(-1)
    return torch.cat([z**2 * torch.flip(z, (0,)), torch.cos(z[:1]) * torch.sum(z)])


def f_matrix(x):
    z = x.reshape(-1)
    return torch.outer(torch.tanh(z), torch.flip(z, (0,)) + 1.0)


OUT_FUNCS = {"scalar": f_scalar, "vector": f_vector, "matrix": f_matrix}


def dense_jacobian(f, x, args=()):
    """Reference: ``torch.autograd.functional.jacobian`` flattened to (m, n)."""
    xt = torch.from_numpy(np.array(x))
    targs = tuple(torch.from_numpy(a) if isinstance(a, np.ndarray) else a for a in args)
    J = torch.autograd.functional.jacobian(lambda z: f(z, *targs).reshape(-1), xt)
    return J.numpy().reshape(-1, np.size(x))


def dense_hessian(f, x):
    xt = torch.from_numpy(np.array(x))
    H = torch.autograd.functional.hessian(lambda z: f(z).reshape(()), xt)
    return H.numpy().reshape(np.size(x), np.size(x))


def tol(dtype):
    return dict(rtol=2e-5, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)


@pytest.fixture(scope="module")
def backend():
    return TorchBackend()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("out", sorted(OUT_FUNCS))
@pytest.mark.parametrize("in_shape", IN_SHAPES, ids=str)
def test_jvp_vjp_match_dense_jacobian(backend, in_shape, out, dtype):
    f = OUT_FUNCS[out]
    x = (RNG.random(in_shape) + 0.5).astype(dtype)
    J = dense_jacobian(f, x)
    m, n = J.shape
    ctx = backend.prepare(f, x)
    V = RNG.standard_normal((3, n)).astype(dtype)
    y, JV = backend.jvp(ctx, x, V)
    assert isinstance(JV, np.ndarray) and JV.shape == (3, m) and JV.dtype == dtype
    np.testing.assert_allclose(y, f(torch.from_numpy(np.array(x))).reshape(-1).numpy(),
                               **tol(dtype))
    np.testing.assert_allclose(JV, V @ J.T, **tol(dtype))
    W = RNG.standard_normal((2, m)).astype(dtype)
    _, WJ = backend.vjp(ctx, x, W)
    assert WJ.shape == (2, n) and WJ.dtype == dtype
    np.testing.assert_allclose(WJ, W @ J, **tol(dtype))
    np.testing.assert_allclose(backend.value(ctx, x), y, **tol(dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("in_shape", IN_SHAPES, ids=str)
def test_hvp_and_gradient_match_dense_hessian(backend, in_shape, dtype):
    x = (RNG.random(in_shape) + 0.5).astype(dtype)
    H = dense_hessian(f_scalar, x)
    n = H.shape[0]
    ctx = backend.prepare(f_scalar, x)
    V = RNG.standard_normal((4, n)).astype(dtype)
    HV = backend.hvp(ctx, x, V)
    assert HV.shape == (4, n) and HV.dtype == dtype
    np.testing.assert_allclose(HV, V @ H, **tol(dtype))
    val, g = backend.gradient(ctx, x)
    xt = torch.from_numpy(np.array(x)).requires_grad_(True)
    f_scalar(xt).backward()
    np.testing.assert_allclose(g, xt.grad.numpy().ravel(), **tol(dtype))
    assert np.isclose(val, float(f_scalar(torch.from_numpy(np.array(x)))), rtol=1e-5)


def f_with_args(x, a, N, scale):
    return scale * torch.tanh(x.reshape(N, -1) * a).reshape(-1) + torch.roll(x, 1) ** 2


def test_extra_args_numpy_arrays_become_tensors(backend):
    x = RNG.random(6)
    args = (RNG.random((2, 3)), 2, 0.5)
    J = dense_jacobian(f_with_args, x, args)
    ctx = backend.prepare(f_with_args, x, args)
    np.testing.assert_allclose(backend.jvp(ctx, x, np.eye(6))[1], J.T, rtol=1e-12)
    np.testing.assert_allclose(backend.vjp(ctx, x, np.eye(6))[1], J, rtol=1e-12)


def test_fused_gather_equals_unfused(backend):
    x = RNG.random(5) + 0.5
    ctx = backend.prepare(f_vector, x)
    V = RNG.standard_normal((3, 5))
    idx = RNG.integers(0, 3 * 6, size=7)
    y, JV = backend.jvp(ctx, x, V)
    y1, vals = backend.products(ctx, x, ProductRequest("jvp", V, idx))
    np.testing.assert_allclose(vals, JV.ravel()[idx])
    W = RNG.standard_normal((2, 6))
    _, WJ = backend.vjp(ctx, x, W)
    idx_n = RNG.integers(0, 2 * 5, size=4)
    np.testing.assert_allclose(backend.products(ctx, x, ProductRequest("vjp", W, idx_n))[1],
                               WJ.ravel()[idx_n])
    sctx = backend.prepare(f_scalar, x)
    idx_h = RNG.integers(0, 3 * 5, size=6)
    y_h, vals_h = backend.products(sctx, x, ProductRequest("hvp", V, idx_h, want_value=False))
    assert y_h is None
    np.testing.assert_allclose(vals_h, backend.hvp(sctx, x, V).ravel()[idx_h])


def test_empty_batch(backend):
    x = RNG.random(4)
    ctx = backend.prepare(f_vector, x)
    assert backend.jvp(ctx, x, np.zeros((0, 4)))[1].shape == (0, 5)
    assert backend.vjp(ctx, x, np.zeros((0, 5)))[1].shape == (0, 4)
    assert backend.hvp(backend.prepare(f_scalar, x), x, np.zeros((0, 4))).shape == (0, 4)


def test_errors(backend):
    x = RNG.random(4)
    ctx = backend.prepare(f_vector, x)
    with pytest.raises(SparseADError, match="prepared for shape"):
        backend.jvp(ctx, RNG.random(5), np.eye(4))
    with pytest.raises(SparseADError, match="dtype"):
        backend.value(ctx, x.astype(np.float32))
    with pytest.raises(SparseADError, match=r"shape \(k, 4\)"):
        backend.jvp(ctx, x, np.eye(3))
    with pytest.raises(NotImplementedError, match="scalar function"):
        backend.hvp(ctx, x, np.eye(4))
    with pytest.raises(SparseADError, match="floating-point"):
        backend.prepare(f_vector, np.arange(3))
    with pytest.raises(TypeError, match="torch operations"):
        backend.prepare(lambda z: np.sin(z.numpy()), np.ones(3))


def test_missing_torch_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # makes ``import torch`` fail
    monkeypatch.setitem(sys.modules, "torch.func", None)
    monkeypatch.delitem(sys.modules, "sparsead.backends.torch_backend")
    with pytest.raises(BackendUnavailableError, match=r'pip install -e "\.\[torch\]"'):
        importlib.import_module("sparsead.backends.torch_backend")


def test_output_shape_and_rebind(backend):
    x = RNG.random(4)
    ctx = backend.prepare(f_with_args, x, (RNG.random((2, 2)), 2, 0.5))
    a2 = RNG.random((2, 2))
    ctx2 = backend.rebind_args(ctx, f_with_args, x, (a2, 2, 1.5), frozenset({"jvp"}))
    J = dense_jacobian(f_with_args, x, (a2, 2, 1.5))
    np.testing.assert_allclose(backend.jvp(ctx2, x, np.eye(4))[1], J.T, rtol=1e-12)
    assert backend.output_shape(ctx) == (4,)


@pytest.mark.parametrize("chunk_size", [None, 2])
def test_conformance_suite_torch(chunk_size):
    check_backend = pytest.importorskip("sparsead.testing").check_backend
    report = check_backend("torch", chunk_size=chunk_size)
    assert report.passed and not report.failures
