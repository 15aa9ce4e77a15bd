"""Progress lines (common/progress.py): a trial's runs, and a run added later as a unit of its own."""

import logging

import pytest

from tuner.common import progress as module
from tuner.common.progress import Progress


@pytest.fixture()
def clock(monkeypatch):
    """A clock the test moves: `clock.now` seconds."""
    class Clock:
        now = 0.0
    monkeypatch.setattr(module.time, "perf_counter", lambda: Clock.now)
    return Clock


def lines(caplog):
    return [r.getMessage() for r in caplog.records]


def test_a_trial_of_two_runs_counts_both_in_its_eta(clock, caplog):
    caplog.set_level(logging.INFO, logger=module.__name__)
    progress = Progress(3, repeats=2)
    progress.trial_begin("0", {"learning_rate": 2e-4})
    progress.run_begin(0, 0)
    clock.now = 10.0
    progress.epoch(10, 10, {"g_loss": 1.0, "d_loss": 1.0}, 1.0)  # half the trial in 10 s
    assert lines(caplog)[-2:] == [
        "  run 1 of 2 (seed 0)",
        "  epoch 10/10  g_loss 1.000  d_loss 1.000  1.00s/epoch  trial ETA 10s"]


def test_a_run_added_later_is_its_own_unit_whatever_its_number(clock, caplog):
    caplog.set_level(logging.INFO, logger=module.__name__)
    progress = Progress(3, repeats=2)
    progress.added_run()
    progress.run_begin(5, 5)            # run 6 of the configuration: one run of work
    clock.now = 4.0
    progress.epoch(4, 10, {"g_loss": 1.0, "d_loss": 1.0}, 1.0)
    assert lines(caplog) == ["  epoch 4/10  g_loss 1.000  d_loss 1.000  1.00s/epoch  trial ETA 6s"]
