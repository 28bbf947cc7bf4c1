"""Tracing state is per thread (issue #10, item 2).

- A bystander thread that allocates with every patched numpy function (and calls the
  patched math functions) while another thread is inside a trace gets numpy's own plain
  results; the two threads are synchronised with events, never with sleeps.
- Four threads trace four different functions at the same time (a barrier inside f keeps
  all four traces open together); each pattern equals its dense reference.
- numpy and math get their own functions back after a trace that raised, also while
  another thread still traces.
- An operation that needs the running trace outside any trace of its thread raises a
  clear TracingError (no fallback to a finished trace).

The ``timeout=`` of the waits only keeps a broken run from hanging; the order of events
never depends on them.
"""
from __future__ import annotations

import math
import threading

import numpy as np
import pytest

import tracer
from tests.tracer._oracle import jacobian_fd, nonzero_mask
from tracer._patching import ORIGINAL, ORIGINAL_MATH
from tracer._session import current_session

WAIT = 60.0  # seconds; only a guard against a hang


def _run_threads(targets):
    """Run each target in its own thread; re-raise the first exception of any of them."""
    errors: list[BaseException] = []

    def guarded(fn):
        def run():
            try:
                fn()
            except BaseException as exc:  # noqa: BLE001  (reported in the main thread)
                errors.append(exc)
        return run

    threads = [threading.Thread(target=guarded(t)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT)
    assert not any(t.is_alive() for t in threads), "a thread did not finish"
    if errors:
        raise errors[0]


def _assert_restored():
    for name, orig in ORIGINAL.items():
        assert getattr(np, name) is orig, f"np.{name} not restored"
    for name, orig in ORIGINAL_MATH.items():
        assert getattr(math, name) is orig, f"math.{name} not restored"


def test_bystander_thread_gets_plain_numpy_while_another_traces():
    inside, checked = threading.Event(), threading.Event()
    results: dict = {}

    def f(x):
        inside.set()
        assert checked.wait(WAIT)
        out = np.zeros(x.shape)
        out[1:] = x[:-1] * x[1:]
        return out

    def tracing_thread():
        try:
            results["P"] = tracer.jacobian_sparsity(f, np.arange(1.0, 5.0))
        finally:
            inside.set()

    def bystander():
        try:
            assert inside.wait(WAIT)
            results["patched"] = np.zeros is not ORIGINAL["zeros"]
            arrays = {
                "zeros": np.zeros(4), "empty": np.empty(4), "ones": np.ones(4),
                "full": np.full(4, 2.0), "array": np.array([1.0, 2.0, 3.0, 4.0]),
                "asarray": np.asarray([1.0, 2.0, 3.0, 4.0]),
                "asanyarray": np.asanyarray([1.0, 2.0, 3.0, 4.0]),
            }
            assert set(arrays) == set(ORIGINAL)  # every patched numpy function
            for name, a in arrays.items():
                assert type(a) is np.ndarray, name
                a[:] = np.arange(4.0)
                assert float(a.sum() * 2.0) == 12.0, name
            results["math"] = [math.exp(0.0), math.sin(0.0), math.floor(2.5)]
        finally:
            checked.set()

    _run_threads([tracing_thread, bystander])
    assert results["patched"], "the bystander did not run while the trace was open"
    assert results["math"] == [1.0, 0.0, 2]
    expected = np.zeros((4, 4), bool)
    for i in range(1, 4):
        expected[i, i - 1] = expected[i, i] = True
    assert np.array_equal(results["P"].toarray(), expected)
    _assert_restored()


def _stencil(x):
    out = np.zeros(x.size)
    out[1:-1] = x[:-2] - 2.0 * x[1:-1] + x[2:]
    out[0] = x[0]
    out[-1] = x[-1] ** 2
    return out


def _loop_math(x):
    out = np.empty(x.size - 1)
    for i in range(x.size - 1):
        out[i] = math.exp(-0.5 * x[i + 1]) * math.sin(x[i])
    return out


def _reversed_products(x):
    buf = np.ones(x.size)
    buf[:] = x * x[::-1]
    return np.array([buf[0], np.sum(buf[2:]), x[1]])


def _full_and_asarray(x):
    acc = np.full(3, 1.5)
    acc[0] = x[0] + x[4]
    acc[2] = x[2] * x[3]
    return np.asarray([acc[0], acc[1], acc[2], x[1] ** 3])


CONCURRENT = {"stencil": (_stencil, 5), "loop_math": (_loop_math, 6),
              "reversed_products": (_reversed_products, 7), "full_asarray": (_full_and_asarray, 8)}


def test_four_threads_trace_different_functions_at_once():
    barrier = threading.Barrier(len(CONCURRENT), timeout=WAIT)
    patterns: dict = {}

    def target(name):
        fn, n = CONCURRENT[name]

        def f(x):
            barrier.wait()  # all four traces are open here
            return fn(x)

        def run():
            x = np.linspace(0.3, 1.1, n)
            try:
                patterns[name] = tracer.jacobian_sparsity(f, x).toarray()
            except BaseException:
                barrier.abort()
                raise
        return run

    _run_threads([target(name) for name in CONCURRENT])
    for name, (fn, n) in CONCURRENT.items():
        x = np.linspace(0.3, 1.1, n)
        reference = nonzero_mask(jacobian_fd(fn, x), 1e-7)
        assert np.array_equal(patterns[name], reference), name
    _assert_restored()


def test_numpy_and_math_restored_after_a_trace_that_raised():
    def bad(x):
        math.exp(x[0])
        np.zeros(3)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        tracer.jacobian_sparsity(bad, np.ones(3))
    _assert_restored()
    assert tracer._patching.is_patched() is False


def test_raise_in_one_thread_keeps_patches_for_the_other_until_it_ends():
    raised = threading.Event()
    seen: dict = {}

    def bad(x):
        raise RuntimeError("boom")

    def failing():
        try:
            with pytest.raises(RuntimeError):
                tracer.jacobian_sparsity(bad, np.ones(2))
        finally:
            raised.set()

    def f(x):
        assert raised.wait(WAIT)
        out = np.zeros(3)  # still traced here although the other trace has ended
        out[:] = x[::-1]
        seen["traced"] = type(out) is not np.ndarray
        return out

    def long_trace():
        seen["P"] = tracer.jacobian_sparsity(f, np.ones(3)).toarray()

    _run_threads([long_trace, failing])
    assert seen["traced"]
    assert np.array_equal(seen["P"], np.eye(3, dtype=bool)[::-1])
    _assert_restored()


def test_no_fallback_to_a_finished_or_foreign_trace():
    with pytest.raises(tracer.TracingError, match="No trace is running in this thread"):
        current_session()
    inside, done = threading.Event(), threading.Event()
    errors: list = []

    def f(x):
        inside.set()
        assert done.wait(WAIT)
        return x

    def other():
        try:
            assert inside.wait(WAIT)
            with pytest.raises(tracer.TracingError, match="in this thread"):
                current_session()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            done.set()

    t = threading.Thread(target=other)
    t.start()
    tracer.jacobian_sparsity(f, np.ones(2))
    t.join(WAIT)
    assert not errors, errors
