"""Stage reports of prepare_jacobian: INFO records on the 'sparsead' logger, a bar with
progress=True, nothing at all by default."""
import gc
import logging
import sys
import types
import weakref

import numpy as np
import pytest

import sparsead


def f(x):
    return np.concatenate([x[1:] * x[:-1], [x[0]]])


def test_silent_by_default(capsys, caplog):
    caplog.set_level(logging.WARNING)
    sparsead.prepare_jacobian(f, np.arange(1.0, 6.0))
    assert capsys.readouterr() == ("", "")
    assert not caplog.records


def test_stages_are_logged_in_order(caplog):
    caplog.set_level(logging.INFO, logger="sparsead")
    J = sparsead.prepare_jacobian(f, np.arange(1.0, 6.0))
    done = [r.getMessage() for r in caplog.records if "done in" in r.getMessage()]
    assert [m.split(": ")[1].split(" ")[0] for m in done] == ["compile", "detect", "color",
                                                              "plan"]
    assert f"{J.ncolors} colors" in done[-1]


def test_progress_true_shows_the_stages(capsys):
    sparsead.prepare_jacobian(f, np.arange(1.0, 6.0), sparsity=np.ones((5, 5)),
                              progress=True)
    err = capsys.readouterr().err
    assert "prepare_jacobian" in err  # tqdm's bar (or the plain lines without tqdm)


def test_hessian_stages_are_logged(caplog):
    caplog.set_level(logging.INFO, logger="sparsead")
    sparsead.prepare_hessian(lambda x: np.sum(x[1:] * x[:-1]), np.arange(1.0, 6.0),
                             backend=sparsead.backends.FiniteDifferences(
                                 grad=lambda x: np.r_[x[1:], 0] + np.r_[0, x[:-1]]))
    done = [r.getMessage() for r in caplog.records if "done in" in r.getMessage()]
    assert [m.split(": ")[1].split(" ")[0] for m in done] == ["compile", "detect", "color",
                                                              "plan"]


def stage_names(caplog):
    return [r.getMessage().split(": ")[1].split(" (")[0].split(" done")[0]
            for r in caplog.records if "done in" in r.getMessage()]


def test_first_evaluation_is_reported_once_by_the_first_call(caplog):
    caplog.set_level(logging.INFO, logger="sparsead")
    x = np.arange(1.0, 6.0)
    J = sparsead.prepare_jacobian(f, x)
    assert "first evaluation" not in stage_names(caplog)  # preparation computes no values
    caplog.clear()
    M = J(x)
    assert stage_names(caplog) == ["first evaluation"]
    message = [r.getMessage() for r in caplog.records][-1]
    assert message.startswith("prepare_jacobian (n=5): first evaluation")
    assert f"({J.ncolors} products)" in message
    caplog.clear()
    J(x + 1.0, out=M)
    J.values(x)
    J.value_and_jacobian(x)
    assert not caplog.records
    np.testing.assert_allclose(M.toarray()[0], [x[1] + 1.0, x[0] + 1.0, 0, 0, 0])


def test_first_evaluation_through_any_entry_point(caplog):
    caplog.set_level(logging.INFO, logger="sparsead")
    x = np.arange(1.0, 6.0)
    for evaluate in (lambda J: J.values(x), lambda J: J.value_and_jacobian(x)):
        J = sparsead.prepare_jacobian(f, x)
        caplog.clear()
        evaluate(J)
        evaluate(J)
        assert stage_names(caplog) == ["first evaluation"]
    H = sparsead.prepare_hessian(
        lambda x: np.sum(x[1:] * x[:-1]), x, with_gradient=True,
        backend=sparsead.backends.FiniteDifferences(
            grad=lambda x: np.r_[x[1:], 0] + np.r_[0, x[:-1]]))
    caplog.clear()
    H.value_gradient_and_hessian(x)
    H(x)
    assert stage_names(caplog) == ["first evaluation"]
    assert caplog.records[0].getMessage().startswith("prepare_hessian (n=5): first evaluation")


def test_first_evaluation_that_fails_is_reported_and_not_retried(caplog):
    caplog.set_level(logging.INFO, logger="sparsead")
    J = sparsead.prepare_jacobian(f, np.arange(1.0, 6.0))
    with pytest.raises(sparsead.SparseADError):
        J(np.ones(4))  # wrong shape
    assert caplog.records[-1].getMessage().endswith("first evaluation (2 products) ...")
    caplog.clear()
    J(np.ones(5))
    assert not caplog.records


class FakeTqdm:
    """Records what sparsead asks of tqdm (a bar per StageProgress)."""

    bars: list = []

    def __init__(self, total, desc, unit, leave):
        self.total, self.desc, self.n, self.postfix, self.closed = total, desc, 0, [], False
        FakeTqdm.bars.append(self)

    def set_postfix_str(self, s):
        self.postfix.append(s)

    def update(self, k):
        self.n += k

    def close(self):
        self.closed = True


def test_progress_bar_shows_preparation_then_the_first_evaluation(monkeypatch):
    fake = types.ModuleType("tqdm.auto")
    fake.tqdm = FakeTqdm
    monkeypatch.setitem(sys.modules, "tqdm.auto", fake)
    monkeypatch.setattr(FakeTqdm, "bars", [])
    x = np.arange(1.0, 6.0)
    J = sparsead.prepare_jacobian(f, x, progress=True)
    (prep,) = FakeTqdm.bars
    assert prep.desc == "prepare_jacobian (n=5)" and prep.closed
    assert prep.postfix == ["compile", "detect", "color", "plan"] and prep.n == prep.total == 4
    J(x)
    J(x)
    assert len(FakeTqdm.bars) == 2
    first = FakeTqdm.bars[1]
    assert first.desc == "prepare_jacobian (n=5)" and first.postfix == ["first evaluation"]
    assert first.n == first.total == 1 and first.closed


def test_no_bar_without_progress(monkeypatch):
    fake = types.ModuleType("tqdm.auto")
    fake.tqdm = FakeTqdm
    monkeypatch.setitem(sys.modules, "tqdm.auto", fake)
    monkeypatch.setattr(FakeTqdm, "bars", [])
    x = np.arange(1.0, 6.0)
    sparsead.prepare_jacobian(f, x)(x)
    assert FakeTqdm.bars == []


def test_an_unevaluated_prepared_object_is_freed_at_once():
    """The first-evaluation hook holds no reference cycle: the arrays of a prepared
    object that is dropped before its first call are freed by reference counting."""
    J = sparsead.prepare_jacobian(f, np.arange(1.0, 6.0))
    ref = weakref.ref(J)
    gc.disable()
    try:
        del J
        assert ref() is None
    finally:
        gc.enable()
