"""The "fd" and Custom backends and the backend registry."""

import importlib.util

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize._numdiff import approx_derivative  # scipy keeps it private

import sparsead
from benchmarks.problems import brusselator_initial, brusselator_sparsity, make_brusselator_numpy
from sparsead.backends import (
    Backend,
    Custom,
    FiniteDifferences,
    available_backends,
    get_backend,
    register_backend,
)
from sparsead.backends.fd import relative_step


@pytest.mark.parametrize("ours,scipy_method", [("forward", "2-point"), ("central", "3-point"),
                                               ("complex", "cs")])
def test_fd_equals_scipy_approx_derivative_with_same_groups(ours, scipy_method):
    N = 6
    f = make_brusselator_numpy(N)
    x = brusselator_initial(N) - 0.5  # mixed signs exercise the sign rule
    P = brusselator_sparsity(N)
    J = sparsead.prepare_jacobian(f, x, backend=FiniteDifferences(ours), sparsity=P)
    ref = approx_derivative(f, x, method=scipy_method,
                            sparsity=(P, J.coloring.colors)).tocsr()
    ref.sort_indices()
    got = J(x)
    np.testing.assert_array_equal(got.indices, ref.indices)
    # same step rule, same groups: identical up to the last bit of rounding
    np.testing.assert_allclose(got.data, ref.data, rtol=1e-14, atol=1e-12)


def absolute_step(xf, rstep, rel_step):
    """Reference: the per-variable step ``h`` of scipy's ``_compute_absolute_step``, in
    x's dtype."""
    sign = np.where(xf >= 0, 1, -1).astype(xf.dtype)
    default = (rstep * sign * np.maximum(1, np.abs(xf))).astype(xf.dtype)
    if rel_step is None:
        return default
    h = (rel_step * sign * np.abs(xf)).astype(xf.dtype)
    return np.where((xf + h) - xf == 0, default, h)


def test_step_rules_follow_scipy():
    eps64, eps32 = np.finfo(np.float64).eps, np.finfo(np.float32).eps
    assert relative_step(np.float64, np.float64, "forward") == eps64 ** 0.5
    assert relative_step(np.float64, np.float64, "central") == pytest.approx(eps64 ** (1 / 3))
    assert relative_step(np.float32, np.float32, "forward") == pytest.approx(eps32 ** 0.5)
    # a less precise f decides the step
    assert relative_step(np.float64, np.float32, "forward") == pytest.approx(eps32 ** 0.5)
    x = np.array([0.0, -2.0, 0.5, 3.0])
    h = absolute_step(x, 1e-8, None)
    np.testing.assert_allclose(h, [1e-8, -2e-8, 1e-8, 3e-8])
    h = absolute_step(x, 1e-8, 1e-3)  # user rel_step: relative to |x|, fallback at x = 0
    np.testing.assert_allclose(h, [1e-8, -2e-3, 5e-4, 3e-3])


def test_fd_rel_step_option_and_aliases():
    f = np.sin
    x = np.linspace(0.5, 2.0, 5)
    for method in ("2-point", "3-point", "cs"):
        J = sparsead.jacobian(f, x, backend=FiniteDifferences(method, rel_step=1e-7),
                              sparsity=sp.eye_array(5))
        np.testing.assert_allclose(J.diagonal(), np.cos(x), rtol=1e-5)
    with pytest.raises(ValueError, match="unknown finite-difference method"):
        FiniteDifferences("backward")


def test_fd_generic_jvp_with_arbitrary_seeds():
    be = FiniteDifferences("central")
    f = lambda x: np.array([x[0] * x[1], np.exp(x[2]), x.sum()])  # noqa: E731
    x = np.array([0.5, -1.5, 0.2])
    ctx = be.prepare(f, x)
    V = np.array([[1.0, 2.0, -1.0], [0.0, 0.0, 0.0], [0.3, 0.0, 0.0]])
    y, JV = be.jvp(ctx, x, V)
    Jd = np.array([[x[1], x[0], 0], [0, 0, np.exp(x[2])], [1, 1, 1]])
    np.testing.assert_allclose(y, f(x))
    np.testing.assert_allclose(JV, (Jd @ V.T).T, atol=1e-8)
    assert not be.supports("vjp") and be.supports("jvp") and not be.supports("hvp")


def test_fd_generic_hvp_with_grad():
    grad = lambda x: np.array([2 * x[0] * x[1], x[0] ** 2 + 3 * x[1] ** 2])  # noqa: E731
    be = FiniteDifferences("forward", grad=grad)
    x = np.array([1.0, 2.0])
    ctx = be.prepare(lambda x: x[0] ** 2 * x[1] + x[1] ** 3, x, kinds=frozenset({"hvp"}))
    H = np.array([[2 * x[1], 2 * x[0]], [2 * x[0], 6 * x[1]]])
    np.testing.assert_allclose(be.hvp(ctx, x, np.eye(2)), H, rtol=1e-6)
    val, g = be.gradient(ctx, x)
    assert val == pytest.approx(2.0 + 8.0) and np.allclose(g, grad(x))


def _buffer_writer(fun, size):
    """``fun`` rewritten the way a careful user might: every result written into one
    output buffer of its own, which is returned (and overwritten by the next call)."""
    buf = np.empty(size, dtype=complex)

    def f(x):
        out = buf[:size] if np.iscomplexobj(x) else buf.real
        out[...] = fun(x)
        return out
    return f


@pytest.mark.parametrize("method", ["forward", "central", "complex"])
def test_fd_with_an_f_that_reuses_its_output_buffer(method):
    # each result lands in f's one buffer: the value at x must be copied before the
    # perturbed points overwrite it (it used to give a zero Jacobian and a wrong value)
    fun = lambda x: np.array([x[0] * x[1], np.sin(x[2]), x[1] + x[2] ** 2])  # noqa: E731
    x = np.array([0.5, -1.5, 0.2])
    dense = np.array([[x[1], x[0], 0], [0, 0, np.cos(x[2])], [0, 1, 2 * x[2]]])
    J = sparsead.prepare_jacobian(_buffer_writer(fun, 3), x,
                                  backend=FiniteDifferences(method), sparsity=dense != 0)
    for _ in range(2):  # detected on the first call, copied from then on
        y, M = J.value_and_jacobian(x)
        np.testing.assert_allclose(M.toarray(), dense, rtol=1e-6, atol=1e-8)
        np.testing.assert_array_equal(y, fun(x))
    be = FiniteDifferences(method)
    ctx = be.prepare(_buffer_writer(fun, 3), x)
    y, JV = be.jvp(ctx, x, np.eye(3))
    np.testing.assert_allclose(JV, dense.T, rtol=1e-6, atol=1e-8)
    np.testing.assert_array_equal(y, fun(x))


def test_fd_hessian_with_a_grad_that_reuses_its_output_buffer():
    grad = lambda x: np.array([2 * x[0] * x[1], x[0] ** 2 + 3 * x[1] ** 2])  # noqa: E731
    x = np.array([1.0, 2.0])
    H = np.array([[2 * x[1], 2 * x[0]], [2 * x[0], 6 * x[1]]])
    be = FiniteDifferences("forward", grad=_buffer_writer(grad, 2))
    ctx = be.prepare(lambda x: x[0] ** 2 * x[1] + x[1] ** 3, x, kinds=frozenset({"hvp"}))
    np.testing.assert_allclose(be.hvp(ctx, x, np.eye(2)), H, rtol=1e-6)
    got = sparsead.hessian(lambda x: x[0] ** 2 * x[1] + x[1] ** 3, x, backend=be,
                           sparsity=np.ones((2, 2), dtype=bool))
    np.testing.assert_allclose(got.toarray(), H, rtol=1e-6)


def test_fd_errors():
    be = FiniteDifferences()
    with pytest.raises(sparsead.UnsupportedProductError, match="grad="):
        be.prepare(np.sum, np.ones(3), kinds=frozenset({"hvp"}))
    with pytest.raises(sparsead.UnsupportedProductError, match="VJP"):
        be.prepare(np.sin, np.ones(3), kinds=frozenset({"vjp"}))
    ctx = be.prepare(np.sin, np.ones(3))
    with pytest.raises(sparsead.SparseADError, match="shape"):
        be.value(ctx, np.ones(4))
    be2 = FiniteDifferences(grad=lambda x: np.ones(5))
    ctx2 = be2.prepare(np.sum, np.ones(3), kinds=frozenset({"hvp"}))
    with pytest.raises(sparsead.SparseADError, match="one per element"):
        be2.hvp(ctx2, np.ones(3), np.eye(3))


def test_custom_backend_checks_shapes_and_names_missing_products():
    be = Custom(jvp=lambda x, V: np.zeros((V.shape[0], 7)))
    J = sparsead.prepare_jacobian(np.sin, np.ones(3), backend=be, sparsity=np.eye(3))
    with pytest.raises(sparsead.SparseADError, match="expected"):
        J(np.ones(3))
    with pytest.raises(sparsead.UnsupportedProductError, match="hvp="):
        sparsead.prepare_hessian(np.sum, np.ones(3), backend=be, sparsity=np.eye(3))
    with pytest.raises(ValueError, match="at least one"):
        Custom()
    assert "jvp" in repr(be) and be.supports("jvp") and not be.supports("vjp")


def test_custom_single_vector_callables_get_x_shaped_vectors():
    seen = []

    def jvp(x, v):
        seen.append(v.shape)
        return 2 * x * v
    X = np.arange(6.0).reshape(2, 3)
    M = sparsead.jacobian(lambda x: x ** 2, X, backend=Custom(jvp=jvp, batched=False),
                          sparsity=np.eye(6))
    np.testing.assert_allclose(M.diagonal(), 2 * X.ravel())
    assert set(seen) == {(2, 3)}


def test_registry():
    assert isinstance(get_backend("fd"), FiniteDifferences)
    assert get_backend("fd", method="central").method == "central"
    be = FiniteDifferences()
    assert get_backend(be) is be
    with pytest.raises(TypeError, match="configure the instance"):
        get_backend(be, method="central")
    with pytest.raises(ValueError, match="unknown backend 'nope'"):
        get_backend("nope")
    with pytest.raises(TypeError, match="name or a sparsead.backends.Backend"):
        get_backend(3)
    register_backend("fd-central", lambda: FiniteDifferences("central"))
    assert get_backend("fd-central").method == "central"
    assert "fd-central" in available_backends() and "fd" in available_backends()


def test_missing_optional_package_names_the_extra(monkeypatch):
    real = importlib.util.find_spec

    def fake_find_spec(name, *a, **k):
        if name in ("jax", "torch"):
            return None
        return real(name, *a, **k)
    monkeypatch.setattr(importlib.util, "find_spec", fake_find_spec)
    with pytest.raises(sparsead.BackendUnavailableError,
                       match=r'pip install jax .*pip install -e "\.\[jax\]"') as info:
        get_backend("jax")
    assert "sparsead[" not in str(info.value)  # no such distribution on PyPI
    with pytest.raises(ImportError, match=r'pip install torch .*"\.\[torch\]"'):
        sparsead.jacobian(np.sin, np.ones(2), backend="torch", sparsity=np.eye(2))
    assert "jax" not in available_backends()


def test_base_backend_defaults():
    class Minimal(Backend):
        name = "minimal"

        def prepare(self, f, x, args=(), *, kinds=frozenset({"jvp"})):
            return (f, args)

        def value(self, ctx, x):
            return np.asarray(ctx[0](x, *ctx[1])).ravel()

        def jvp(self, ctx, x, V):
            return self.value(ctx, x), V * np.cos(x)[None, :]
    be = Minimal()
    assert be.supports("jvp") and not be.supports("vjp") and not be.supports("hvp")
    assert be.output_shape(None) is None
    M = sparsead.jacobian(np.sin, np.linspace(0, 1, 4), backend=be, sparsity=np.eye(4))
    np.testing.assert_allclose(M.diagonal(), np.cos(np.linspace(0, 1, 4)))
    J = sparsead.prepare_jacobian(np.sin, np.linspace(0, 1, 4), backend=be, sparsity=np.eye(4))
    y, _ = J.value_and_jacobian(np.linspace(0, 1, 4))
    assert y.shape == (4,)
    # the default rebind prepares again with the new args
    J2 = sparsead.prepare_jacobian(lambda x, a: np.sin(a * x), np.ones(3), args=(1.0,),
                                   backend=Minimal(), sparsity=np.eye(3))
    np.testing.assert_allclose(J2.values(np.ones(3), args=(2.0,)), np.cos(np.ones(3)))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("rel_step", [None, 1e-3, 0.0])
@pytest.mark.parametrize("compiled", [True, False])
def test_step_kernel_matches_the_numpy_rule(dtype, rel_step, compiled):
    from sparsead._kernels import CENTRAL, COMPLEX, FORWARD, fd_steps, fd_steps_numpy
    fd_steps = fd_steps if compiled else fd_steps_numpy
    x = np.array([0.0, -2.0, 0.5, 3.0, -1e-9, 1e12], dtype=dtype)
    rstep = relative_step(x.dtype, x.dtype, "forward")
    ref_h = absolute_step(x, rstep, rel_step)
    for code, ref_dx in ((FORWARD, (x + ref_h) - x), (CENTRAL, (x + ref_h) - (x - ref_h)),
                         (COMPLEX, ref_h)):
        h, dx = np.empty_like(x), np.empty_like(x)
        fd_steps(x, rstep, np.nan if rel_step is None else rel_step, code, h, dx)
        np.testing.assert_allclose(h, ref_h, rtol=1e-6 if dtype == np.float32 else 1e-15)
        np.testing.assert_allclose(dx, ref_dx, rtol=1e-6 if dtype == np.float32 else 1e-15)
        assert np.all(dx != 0)


def test_core_works_without_jax_and_torch():
    import subprocess
    import sys
    code = (
        "import sys; sys.modules['jax'] = None; sys.modules['torch'] = None\n"
        "import numpy as np, sparsead\n"
        "from sparsead.testing import check_backend\n"
        "M = sparsead.jacobian(np.sin, np.ones(3), sparsity=np.eye(3))\n"
        "assert abs(M.diagonal() - np.cos(1.0)).max() < 1e-6\n"
        "assert sparsead.backends.available_backends() == ['fd']\n"
        "for name in ('jax', 'torch'):\n"
        "    try:\n"
        "        sparsead.backends.get_backend(name)\n"
        "    except sparsead.BackendUnavailableError as e:\n"
        "        assert f'pip install -e \".[{name}]\"' in str(e), e\n"
        "    else:\n"
        "        raise AssertionError(name)\n"
        "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=600)  # hang guard; cold Numba compiles
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_numpy_twins_of_the_fd_kernels_match_the_compiled_ones(dtype):
    from sparsead import _kernels as K
    rng = np.random.default_rng(0)
    x = rng.standard_normal(50).astype(dtype)
    h = rng.random(50).astype(dtype)
    cols = np.sort(rng.choice(50, 7, replace=False)).astype(np.int64)
    for sign in (1.0, -1.0):
        np.testing.assert_array_equal(K.perturb_numpy(x, h, cols, sign, np.empty_like(x)),
                                      K.perturb(x, h, cols, sign, np.empty_like(x)))
    src = rng.standard_normal(200).astype(dtype)
    flat = rng.integers(0, 200, 80)
    entry = rng.integers(0, 50, 80)
    np.testing.assert_array_equal(
        K.gather_divide_numpy(src, flat, h, entry, np.empty(80, dtype)),
        K.gather_divide(src, flat, h, entry, np.empty(80, dtype)))
    # the size picks the implementation, and a kernel compiled already is preferred
    assert K.fd_kernels(K.COMPILE_MIN_SIZE)[0] is K.fd_steps
    assert K.is_compiled(K.gather_divide)
    assert K.fd_kernels(10)[0] is K.fd_steps


@pytest.mark.parametrize("method", ["forward", "central", "complex"])
def test_small_and_compiled_fd_paths_give_the_same_jacobian(method, monkeypatch):
    from sparsead import _kernels as K

    def f(x):
        return np.concatenate([x[1:] ** 2 - x[:-1], [np.sum(np.sin(x))]])

    x = np.linspace(-1.0, 2.0, 30)
    monkeypatch.setattr(K, "is_compiled", lambda kernel: False)  # the twins, surely
    small = sparsead.jacobian(f, x, backend=FiniteDifferences(method))
    monkeypatch.undo()
    monkeypatch.setattr(K, "COMPILE_MIN_SIZE", 0)
    compiled = sparsead.jacobian(f, x, backend=FiniteDifferences(method))
    np.testing.assert_array_equal(small.toarray(), compiled.toarray())


@pytest.mark.parametrize("ncolors,start,stop", [(5, 0, 5), (7, 2, 5), (40000, 100, 39000),
                                                (70000, 0, 9)])  # 65536 + 3 is not 3
def test_group_by_color_kernel_and_twin_list_each_colors_inputs(ncolors, start, stop):
    from sparsead import _kernels as K

    colors = np.random.default_rng(4).integers(0, ncolors, 300).astype(np.int32)
    if ncolors > 2**16 + 3:
        colors[:4] = [2**16 + 3, 2**15 + 1, 3, 3]  # would wrap to 3 and negative in int16
    # the reference: a pure-Python loop over the colors
    ref = [[j for j in range(colors.size) if colors[j] == c] for c in range(start, stop)]
    size = sum(map(len, ref))
    for kernel in (K.group_by_color, K.group_by_color_numpy):
        order, bounds = kernel(colors, start, stop, np.empty(size, np.int32),
                               np.empty(stop - start + 1, np.int64))
        assert [order[bounds[c]:bounds[c + 1]].tolist() for c in range(stop - start)] == ref
