"""Stage reports of prepare_jacobian: INFO records on the 'sparsead' logger, a bar with
progress=True, nothing at all by default."""
import logging

import numpy as np

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
