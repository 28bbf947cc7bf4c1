"""Torch front-end: patterns of PyTorch functions against the nonzeros of dense
``torch.func.jacfwd`` / ``torch.func.hessian`` at random points (the pattern must contain
them, and equal them where the pattern is exact), the Brusselator written in torch, and
the errors (unknown operator, value-dependent control flow, local mode)."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = pytest.importorskip("torch.nn.functional")

import tracer  # noqa: E402
from tracer import TracingError  # noqa: E402
from tracer.torch import ATEN_RULES, hessian_sparsity_torch  # noqa: E402

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

DT = torch.float64
N = 6
_g = torch.Generator().manual_seed(12)


def _rand(*shape):
    return torch.rand(*shape, generator=_g, dtype=DT) + 0.5


W = _rand(N, N) * (torch.rand(N, N, generator=_g, dtype=DT) > 0.6)   # structural zeros
W_COO = W.to_sparse()
K1 = torch.tensor([[[1.0, 0.0, -2.0]]], dtype=DT)                      # zero kernel tap
K2 = torch.tensor([[[[0.5, 1.0], [0.0, 2.0]]], [[[1.0, 0.0], [0.0, 0.0]]]], dtype=DT)
K_GROUPED = torch.tensor([[[1.0, 0.0]], [[0.5, 2.0]], [[0.0, 0.0]], [[1.0, 1.0]]], dtype=DT)
IDX = torch.tensor([3, 0, 0, 5, 2, 1])
PERM = torch.tensor([2, 0, 1, 5, 4, 3])


def _scatter_add(x):
    return torch.zeros(N, dtype=DT).scatter_add(0, IDX, x)


def _index_put(x):
    y = torch.zeros(N, dtype=DT)
    y[PERM[:3]] = x[:3] * 2.0
    y[1:3] += x[3:5]
    return y + x


def _writes_into_input(x):
    x[1:] = x[:-1] * 3.0
    x.mul_(x.roll(2))
    return x


def _setitem(x):
    y = x.clone()
    y[0] = x[5] ** 2
    y[2:4] = torch.sin(x[:2])
    return y


# One entry per operator family of the issue: (function R^6 -> R^k, pattern exact?)
CASES = {
    "elementwise": (lambda x: torch.sin(x) * torch.exp(x) + x ** 2 / (1 + x.abs())
                    - torch.tanh(x).sqrt() + torch.log1p(x) * torch.sigmoid(x), True),
    "broadcasting": (lambda x: (x.reshape(2, 3)[:, None, :] * x.reshape(2, 3)[None]).flatten(),
                     True),
    "reductions": (lambda x: torch.stack([x[:3].sum(), x[3:].mean(), x[1:3].prod(),
                                          x.reshape(2, 3).sum(1).sum(),
                                          torch.linalg.vector_norm(x[::2]),
                                          torch.logsumexp(x[2:], 0)]), True),
    "max_min": (lambda x: torch.stack([x.max(), x[:3].min(), x.reshape(2, 3).amax(1).sum()]),
                False),
    "softmax_std": (lambda x: torch.cat([torch.softmax(x[:3], 0), x[3:].std().reshape(1)]),
                    True),
    "slicing": (lambda x: x[1:4] * x[::2] + x[[0, 5, 1]], True),
    "index_select": (lambda x: torch.index_select(x, 0, IDX) * x, True),
    "gather": (lambda x: torch.gather(x.reshape(2, 3), 1, torch.tensor([[2, 0], [1, 1]]))
               .flatten(), True),
    "scatter_add": (_scatter_add, True),
    "index_put": (_index_put, True),
    "setitem": (_setitem, True),
    "cat_stack": (lambda x: torch.cat([x[3:], torch.stack([x[0], x[1] * x[2]])]), True),
    "reshape_permute": (lambda x: x.reshape(2, 3).permute(1, 0).reshape(-1) * x, True),
    "roll_flip": (lambda x: torch.roll(x, 2) * torch.flip(x, (0,)), True),
    "matmul_dense": (lambda x: W @ x + torch.matmul(x, W.T) * x, True),
    "matmul_sparse": (lambda x: torch.sparse.mm(W_COO, x.reshape(N, 1)).reshape(-1), True),
    "einsum": (lambda x: torch.einsum("ij,j->i", W, x) + torch.einsum("i,i->", x, x), True),
    "where_clamp": (lambda x: torch.where(x > 1.0, x, x ** 2) + torch.clamp(x, 0.6, 1.2)
                    + x.clamp(min=0.7), True),
    "cumsum": (lambda x: torch.cumsum(x, 0) * x, True),
    "conv1d": (lambda x: F.conv1d(x.reshape(1, 1, N), K1, padding=1).flatten(), True),
    "conv2d": (lambda x: F.conv2d(x.reshape(1, 1, 2, 3), K2, padding=1).flatten(), True),
    "conv_grouped": (lambda x: F.conv1d(x.reshape(1, 2, 3), K_GROUPED, stride=2, padding=2,
                                        dilation=2, groups=2).flatten(), True),
    "pad_activations": (lambda x: F.pad(x.reshape(1, 1, N), (2, 1), mode="circular").flatten()
                        * torch.cat([F.elu(x), F.leaky_relu(x[:3])]), True),
    "inplace": (lambda x: x.clone().mul_(2.0).add_(x.roll(1)), True),
    "inplace_input": (_writes_into_input, True),
    "zero_constants": (lambda x: torch.zeros(N, dtype=DT) * x + 0.0 * x.roll(1)
                       + torch.tensor([0, 1, 0, 1, 0, 1], dtype=DT) * torch.exp(x), True),
}


def _dense(f, x):
    """Dense Jacobian (m, n) by forward mode (on a copy: f may write into its input)."""
    return torch.func.jacfwd(lambda z: f(z.clone()).reshape(-1))(x).reshape(-1, x.numel())


def _nonzeros(f, points, dense=None):
    mask = None
    for x in points:
        J = (dense or _dense)(f, x)
        nz = (J != 0).numpy()
        mask = nz if mask is None else (mask | nz)
    return mask


def _points(k=3, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [torch.rand(N, generator=gen, dtype=DT) + 0.5 for _ in range(k)]


def _ref_function(name, f):
    if name == "matmul_sparse":  # forward mode has no sparse matmul: the dense twin
        return lambda x: (W @ x.reshape(N, 1)).reshape(-1)
    return f


@pytest.mark.parametrize("name", sorted(CASES))
def test_operator_patterns_against_jacfwd(name):
    f, exact = CASES[name]
    P = tracer.jacobian_sparsity(f, torch.ones(N, dtype=DT)).toarray()
    ref = _nonzeros(_ref_function(name, f), _points())
    assert P.shape == ref.shape
    assert not (ref & ~P).any(), f"missed entries {np.argwhere(ref & ~P).tolist()}"
    if exact:
        assert not (P & ~ref).any(), f"extra entries {np.argwhere(P & ~ref).tolist()}"


def test_numpy_input_with_frontend_torch_and_auto():
    f = CASES["roll_flip"][0]
    P = tracer.jacobian_sparsity(f, np.ones(N), frontend="torch")
    Q = tracer.jacobian_sparsity(f, np.ones(N))  # auto: torch rejects the numpy trace
    R = tracer.jacobian_sparsity(f, torch.ones(N, dtype=DT))
    # y[i] = x[i-2] * x[5-i]: two different inputs for every i
    assert (P != R).nnz == 0 and (Q != R).nnz == 0 and R.nnz == 2 * N


def test_brusselator_exact():
    from benchmarks.brusselator import make_brusselator_torch
    from benchmarks.problems import brusselator_initial, brusselator_sparsity

    Nb = 8
    f = make_brusselator_torch(Nb)
    P = tracer.jacobian_sparsity(f, torch.from_numpy(brusselator_initial(Nb)))
    assert (P != brusselator_sparsity(Nb)).nnz == 0


def _objective(x):
    y = x.reshape(2, 3)
    return (torch.sum(x[1:] * x[:-1]) + torch.sum(torch.sin(y[0]) ** 2)
            + torch.sum(torch.exp(W[:3, :3] @ y[1])) + (x[0] * 0.0 * x[5])
            + torch.sum(torch.where(x > 1.0, x ** 3, x)) + torch.cumsum(x, 0)[2] ** 2)


def test_hessian_against_torch_hessian():
    P = tracer.hessian_sparsity(_objective, torch.ones(N, dtype=DT)).toarray()
    ref = None
    for x in _points(4, seed=1):
        H = (torch.func.hessian(_objective)(x) != 0).numpy()
        ref = H if ref is None else (ref | H)
    assert not (ref & ~P).any()
    assert not (P & ~ref).any()
    assert (P == P.T).all()


def test_hessian_needs_a_scalar():
    with pytest.raises(TracingError, match="scalar"):
        hessian_sparsity_torch(lambda x: x * x, np.ones(3))


# ---------------------------------------------------------------- random operator chains
def _unary(fn):
    return lambda x, c: fn(x)


CHAIN_OPS = {
    "sin": _unary(torch.sin), "exp": _unary(lambda x: torch.exp(x * 0.1)),
    "square": _unary(lambda x: x * x), "tanh": _unary(torch.tanh),
    "abs_sqrt": _unary(lambda x: torch.sqrt(x.abs() + 1.0)),
    "roll": _unary(lambda x: torch.roll(x, 1)), "flip": _unary(lambda x: x.flip(0)),
    "neighbours": _unary(lambda x: torch.cat([x[1:] * x[:-1], x[:1]])),
    "transpose": _unary(lambda x: x.reshape(2, 3).t().reshape(-1)),
    "cumsum": _unary(lambda x: torch.cumsum(x, 0)),
    "matmul": lambda x, c: c["W"] @ x,
    "scale_zeros": lambda x, c: c["v"] * x,
    "where": _unary(lambda x: torch.where(x > 0.5, x, x * x)),
    "clamp": _unary(lambda x: torch.clamp(x, -2.0, 2.0)),
    "gather": lambda x, c: torch.gather(x, 0, c["idx"]),
    "index_select": lambda x, c: torch.index_select(x, 0, c["idx"]),
    "scatter_add": lambda x, c: torch.zeros(N, dtype=DT).scatter_add(0, c["idx"], x),
    "index_put": lambda x, c: torch.zeros(N, dtype=DT).index_put((c["idx"],), x,
                                                                 accumulate=True),
    "sum_broadcast": _unary(lambda x: x + x[:2].sum()),
    "stack_mean": _unary(lambda x: torch.stack([x[:3], x[3:]]).mean(0).repeat(2)),
    "conv1d": lambda x, c: F.conv1d(x.reshape(1, 1, N), c["k"], padding=1).reshape(-1),
    "mul_pair": _unary(lambda x: x * x.roll(2)),
}


@settings(max_examples=25, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from(sorted(CHAIN_OPS)), min_size=1, max_size=5),
       st.integers(0, 2**16))
def test_random_operator_chains(ops, seed):
    gen = torch.Generator().manual_seed(seed)
    consts = {
        "W": torch.rand(N, N, generator=gen, dtype=DT)
        * (torch.rand(N, N, generator=gen, dtype=DT) > 0.5),
        "v": (torch.rand(N, generator=gen, dtype=DT) > 0.4).to(DT),
        "idx": torch.randint(0, N, (N,), generator=gen),
        "k": torch.rand(1, 1, 3, generator=gen, dtype=DT)
        * (torch.rand(1, 1, 3, generator=gen, dtype=DT) > 0.3),
    }

    def f(x):
        for name in ops:
            x = CHAIN_OPS[name](x, consts)
        return x

    P = tracer.jacobian_sparsity(f, torch.ones(N, dtype=DT)).toarray()
    ref = _nonzeros(f, _points(3, seed=seed))
    assert not (ref & ~P).any(), f"{ops}: missed {np.argwhere(ref & ~P).tolist()}"


# ---------------------------------------------------------------- errors and the table
def test_unknown_operator_is_named():
    with pytest.raises(TracingError, match=r"aten\._fft_r2c"):
        tracer.jacobian_sparsity(lambda x: torch.fft.rfft(x).abs(), torch.ones(8, dtype=DT))


def test_value_dependent_control_flow_raises():
    def f(x):
        if x.sum() > 0:
            return x * 2
        return x

    with pytest.raises(TracingError, match="control flow"):
        tracer.jacobian_sparsity(f, torch.ones(3, dtype=DT))
    with pytest.raises(TracingError, match=r"\.item\(\)|control flow"):
        tracer.jacobian_sparsity(lambda x: x * x[0].item(), torch.ones(3, dtype=DT))


def test_local_mode_is_refused():
    with pytest.raises(TracingError, match="local"):
        tracer.jacobian_sparsity(torch.sin, torch.ones(3, dtype=DT), mode="local")


def test_random_values_are_not_constants():
    """A random mask is unknown, never a constant whose zeros could cut the dependence."""
    def f(x):
        return x * (torch.rand(x.shape, dtype=DT) > 2.0)  # all zeros in any one run

    assert tracer.jacobian_sparsity(f, torch.ones(4, dtype=DT)).nnz == 4


def test_every_rule_is_callable_with_a_name():
    assert all(callable(r) and isinstance(k, str) for k, r in ATEN_RULES.items())
    families = ("add", "mul", "sum", "index", "gather", "scatter_add", "index_put", "cat",
                "stack", "view", "permute", "roll", "mm", "where", "clamp", "cumsum",
                "convolution", "index_select")
    assert all(name in ATEN_RULES for name in families)


def test_sparsead_torch_backend_detects_by_itself():
    import sparsead

    def f(x):
        return torch.sin(x) * x.roll(1, 0)

    x = np.linspace(0.1, 1.0, 6)
    J = sparsead.jacobian(f, x, backend="torch")
    ref = torch.func.jacfwd(f)(torch.from_numpy(x)).numpy()
    assert J.nnz == 12
    np.testing.assert_allclose(J.toarray(), ref, atol=1e-13)


def test_sparsead_torch_hessian_detects_by_itself():
    import sparsead

    def f(x):
        return torch.sum(x[1:] * x[:-1]) + torch.sum(torch.sin(x) ** 2)

    x = np.linspace(0.1, 1.0, 6)
    H = sparsead.hessian(f, x, backend="torch")
    ref = torch.func.hessian(f)(torch.from_numpy(x)).numpy()
    assert H.nnz == 16
    np.testing.assert_allclose(H.toarray(), ref, atol=1e-13)
