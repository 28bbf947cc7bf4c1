"""executor= of the fd and Custom backends: same values as serial, failures name the color.

f sleeps a little so that the colors really overlap on the workers; no timing is
asserted (speed-ups are measured in benchmarks/scale.py).
"""
from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sparsead
from sparsead.backends import Custom, FiniteDifferences

N = 12


def slow_f(x):
    """A tridiagonal-coupled function that takes a little while (picklable: module level)."""
    time.sleep(0.01)
    y = np.sin(x) * x
    y[1:] += x[:-1] ** 2
    y[:-1] -= 0.5 * x[1:]
    return y


def failing_f(x):
    """Fails only at the perturbed point of the color that moves variable 0."""
    if x[0] != 0.5:
        raise FloatingPointError("solver diverged")
    return slow_f(x)


def slow_jvp(x, v):
    time.sleep(0.01)
    out = (np.cos(x) * x + np.sin(x)) * v
    out[1:] += 2 * x[:-1] * v[:-1]
    out[:-1] -= 0.5 * v[1:]
    return out


def reference(x):
    """The exact Jacobian of slow_f, written out densely."""
    J = np.diag(np.cos(x) * x + np.sin(x))
    J[np.arange(1, N), np.arange(N - 1)] += 2 * x[:-1]
    J[np.arange(N - 1), np.arange(1, N)] -= 0.5
    return J


@pytest.fixture(scope="module")
def process_pool():
    # spawned workers: forking a process that runs JAX's threads may deadlock
    with ProcessPoolExecutor(max_workers=2,
                             mp_context=multiprocessing.get_context("spawn")) as pool:
        yield pool


@pytest.fixture(scope="module")
def dask_executor():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            yield client.get_executor()


def _x():
    return np.linspace(0.5, 1.7, N)


@pytest.mark.parametrize("method", ["forward", "central", "complex"])
def test_fd_on_a_process_pool_equals_serial(process_pool, method):
    x = _x()
    serial = sparsead.jacobian(slow_f, x, backend=FiniteDifferences(method))
    pooled = sparsead.jacobian(slow_f, x, backend=FiniteDifferences(method,
                                                                   executor=process_pool))
    assert pooled.nnz == serial.nnz > 0
    np.testing.assert_array_equal(pooled.indices, serial.indices)
    np.testing.assert_array_equal(pooled.data, serial.data)  # bit for bit
    np.testing.assert_allclose(pooled.toarray(), reference(x), rtol=1e-4, atol=1e-4)


def test_fd_on_a_dask_cluster_equals_serial(dask_executor):
    x = _x()
    serial = sparsead.prepare_jacobian(slow_f, x)
    J = sparsead.prepare_jacobian(slow_f, x, backend=FiniteDifferences(executor=dask_executor))
    assert J.ncolors == serial.ncolors == 3
    for point in (x, x[::-1].copy()):
        np.testing.assert_array_equal(J(point).data, serial(point).data)


def test_custom_on_executors_equals_serial(process_pool, dask_executor):
    x = _x()
    P = reference(x) != 0
    serial = sparsead.jacobian(slow_f, x, sparsity=P,
                               backend=Custom(jvp=slow_jvp, batched=False))
    for executor in (process_pool, dask_executor, ThreadPoolExecutor(2)):
        be = Custom(jvp=slow_jvp, batched=False, executor=executor)
        J = sparsead.jacobian(slow_f, x, sparsity=P, backend=be)
        np.testing.assert_array_equal(J.data, serial.data)
    np.testing.assert_allclose(serial.toarray(), reference(x), rtol=1e-12)


@pytest.mark.parametrize("which", ["process", "dask"])
def test_a_failing_worker_names_its_color(process_pool, dask_executor, which):
    executor = process_pool if which == "process" else dask_executor
    x = _x()
    x[0] = 0.5
    J = sparsead.prepare_jacobian(failing_f, x, sparsity=reference(x) != 0,
                                  backend=FiniteDifferences(executor=executor))
    bad = int(np.asarray(J.coloring.colors)[0])  # the color that perturbs x[0]
    with pytest.raises(sparsead.ColorEvaluationError, match=f"color {bad} ") as info:
        J(x)
    assert info.value.color == bad
    assert isinstance(info.value.__cause__, FloatingPointError)
    assert "solver diverged" in str(info.value)


def test_executor_must_be_an_executor():
    with pytest.raises(TypeError, match="concurrent.futures.Executor"):
        FiniteDifferences(executor=4)


def make_buffer_reusing_f():
    """slow_f writing every result into one buffer of its own (a common C-wrapper habit)."""
    buf = np.empty(N)

    def f(x):
        buf[:] = slow_f(x)
        return buf
    return f


@pytest.mark.parametrize("method", ["forward", "central"])
def test_fd_on_a_thread_pool_refuses_an_f_that_reuses_its_output(method):
    x = np.linspace(0.1, 1.0, N)
    with ThreadPoolExecutor(2) as pool:
        backend = FiniteDifferences(method, executor=pool)
        # the same f, returning fresh arrays, gives the exact pattern's values
        J = sparsead.jacobian(slow_f, x, backend=backend)
        np.testing.assert_allclose(J.toarray(), reference(x), atol=1e-5)
        with pytest.raises(sparsead.SparseADError, match="same memory for two colors"):
            sparsead.jacobian(make_buffer_reusing_f(), x, backend=backend,
                              sparsity=J != 0)
    # serially the reused buffer is handled (copied), so the values are right
    J_serial = sparsead.jacobian(make_buffer_reusing_f(), x,
                                 backend=FiniteDifferences(method), sparsity=J != 0)
    np.testing.assert_allclose(J_serial.toarray(), reference(x), atol=1e-5)


def test_custom_on_a_thread_pool_refuses_a_jvp_that_reuses_its_output():
    x = np.linspace(0.1, 1.0, N)
    buf = np.empty(N)

    def jvp_into_buffer(x, v):
        buf[:] = slow_jvp(x, v)
        return buf

    sparsity = reference(x) != 0
    with ThreadPoolExecutor(2) as pool:
        fresh = Custom(jvp=slow_jvp, batched=False, executor=pool)
        J = sparsead.jacobian(slow_f, x, backend=fresh, sparsity=sparsity)
        np.testing.assert_allclose(J.toarray(), reference(x), atol=1e-12)
        reusing = Custom(jvp=jvp_into_buffer, batched=False, executor=pool)
        with pytest.raises(sparsead.SparseADError, match="same memory for two colors"):
            sparsead.jacobian(slow_f, x, backend=reusing, sparsity=sparsity)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 30), st.integers(1, 10),
                          st.sampled_from([1, 2, -1, -3])), min_size=0, max_size=8))
def test_shared_output_check_equals_pairwise_may_share_memory(views):
    from sparsead.backends._executor import refuse_shared_outputs

    bases = [np.zeros(64), np.zeros(64), np.zeros((8, 8))]
    arrays = []
    for b, start, length, step in views:
        flat = bases[b].reshape(-1)
        arrays.append(flat[start:start + length * abs(step):abs(step)][::np.sign(step)])
        if b == 2:
            arrays[-1] = bases[2][start % 8, ::abs(step)]
    # the naive reference: every pair, numpy's own bounds test
    shared = any(np.may_share_memory(a, c) for i, a in enumerate(arrays)
                 for c in arrays[i + 1:] if a.size and c.size)
    if shared:
        with pytest.raises(sparsead.SparseADError, match="same memory"):
            refuse_shared_outputs(arrays, "f", ThreadPoolExecutor)
    else:
        refuse_shared_outputs(arrays, "f", ThreadPoolExecutor)
