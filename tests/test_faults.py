"""Faults: failed trials recorded while the search goes on, one process per study, kill -9."""

import json
import os
import signal
import subprocess
import sys
import time

import keras_tuner as kt
import pytest

from tuner.config import DataConfig, ScoringConfig, SearchConfig
from tuner.errors import UsageError
from tuner.lock import StudyLock

SPACE = """
[search]
tuner = "grid"
max_trials = 3
[train]
epochs = {epochs}
batch_size = 8
eval_every = {eval_every}
precision = "float32"
[hyperparameters.learning_rate]
values = [1e-4, 1e-3, 2e-3]
[hyperparameters.image_size]
values = [16]
"""


def test_a_second_search_on_the_same_study_is_refused_naming_the_holder(tmp_path):
    with StudyLock(tmp_path):
        with pytest.raises(UsageError, match=rf"is being searched by process {os.getpid()}"):
            StudyLock(tmp_path).__enter__()
    with StudyLock(tmp_path):  # released on exit: a later search may go on
        pass


def test_a_lock_left_by_a_dead_process_does_not_block(tmp_path):
    (tmp_path / ".search.lock").write_text("process 999999 on nowhere\n")
    with StudyLock(tmp_path) as lock:
        assert str(os.getpid()) in lock.path.read_text()


def _search_in_process(lfw_tree, tmp_path, space_text, **options):
    from tuner.study import run_search

    (tmp_path / "s.toml").write_text(space_text)
    return run_search(SearchConfig(
        data=DataConfig(str(lfw_tree.root), lfw_tree.person),
        scoring=ScoringConfig(samples=32, cache_dir=str(tmp_path / "cache")),
        space=str(tmp_path / "s.toml"), results_dir=str(tmp_path / "out"), **options))


def _crash_at_high_lr(monkeypatch, threshold=1.5e-3):
    from tuner import hypermodel

    original = hypermodel.Evaluation._check_losses

    def crash(self, epoch, logs):
        if float(self.model.g_optimizer.learning_rate) > threshold:
            raise kt.errors.FailedTrialError(f"crashed at epoch {epoch} (test)")
        original(self, epoch, logs)

    monkeypatch.setattr(hypermodel.Evaluation, "_check_losses", crash)


def test_a_failing_trial_is_recorded_with_its_reason_and_the_search_goes_on(
        lfw_tree, tmp_path, monkeypatch, capsys):
    from tuner.results import load_trials

    _crash_at_high_lr(monkeypatch)
    rows = load_trials(_search_in_process(lfw_tree, tmp_path, SPACE.format(epochs=1, eval_every=1)))
    assert [row["status"] for row in rows] == ["COMPLETED", "COMPLETED", "FAILED"]
    assert rows[-1]["message"] == "crashed at epoch 1 (test)"
    assert rows[-1]["hyperparameters"]["learning_rate"] == 2e-3
    assert rows[-1]["rank"] is None and rows[0]["rank"] == 1
    assert "Traceback" not in capsys.readouterr().err  # the reason is one log line
    trial = json.loads((tmp_path / "out" / "s" / "trial_2" / "trial.json").read_text())
    assert trial["message"].startswith("Traceback")  # the traceback is kept in trial.json


def test_too_many_failures_in_a_row_stop_the_search_with_the_last_trial_recorded_failed(
        lfw_tree, tmp_path, monkeypatch):
    from tuner.study import SearchStopped

    _crash_at_high_lr(monkeypatch, threshold=5e-4)  # the 2nd and 3rd trials crash
    with pytest.raises(SearchStopped, match=r"^search stopped: 2 trials in a row failed "
                       r"\(--max-consecutive-failures\); last reason: crashed at epoch 1 \(test\)$"):
        _search_in_process(lfw_tree, tmp_path, SPACE.format(epochs=1, eval_every=1),
                           max_consecutive_failures=2)
    study = tmp_path / "out" / "s"
    assert [_trial_status(study, f"trial_{i}") for i in range(3)] == [
        "COMPLETED", "FAILED", "FAILED"]


def test_diverging_configurations_are_results_and_the_grid_finishes(
        lfw_tree, tmp_path, monkeypatch):
    """Four configurations that all diverge: each stops early, is scored there, and counts."""
    from tuner import hypermodel
    from tuner.results import load_trials

    monkeypatch.setattr(hypermodel, "EXPLODED_G_LOSS", -1.0)  # every epoch's g_loss "explodes"
    monkeypatch.setattr(hypermodel, "EXPLODED_PATIENCE", 2)
    space = SPACE.format(epochs=6, eval_every=4).replace(
        "values = [1e-4, 1e-3, 2e-3]", "values = [2e-2, 5e-2, 1e-1, 2e-1]").replace(
        "max_trials = 3", "max_trials = 4")
    study = _search_in_process(lfw_tree, tmp_path, space, max_consecutive_failures=3)
    for trial in sorted(study.glob("trial_*")):
        assert json.loads((trial / "trial.json").read_text())["status"] == "COMPLETED"
        record = json.loads((trial / "evaluations.json").read_text())
        assert [(r["status"], r["diverged_at_epoch"]) for r in record["repeats"]] == [
            ("diverged", 2)]
        assert [e["epoch"] for e in record["evaluations"]] == [2]  # scored where it stopped
        assert record["evaluations"][0]["kid"] == record["evaluations"][0]["kid"]  # not NaN
    rows = load_trials(study)
    assert len(rows) == 4 and all(row["rank"] is not None for row in rows)


def _trial_status(folder, trial):
    try:
        return json.loads((folder / trial / "trial.json").read_text())["status"]
    except (OSError, ValueError, KeyError):
        return None


def test_kill_9_mid_trial_then_the_same_command_finishes_the_study(lfw_tree, tmp_path):
    (tmp_path / "s.toml").write_text(SPACE.format(epochs=12, eval_every=4))
    command = [sys.executable, "-m", "tuner.search", "--data", str(lfw_tree.root), "--person",
               lfw_tree.person, "--space", "s.toml", "--samples", "32", "--results-dir", "out"]
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    folder = tmp_path / "out" / "s"
    process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 300
        # Kill once the second trial has written its first evaluation: mid-trial.
        while not (folder / "trial_1" / "evaluations.json").exists():
            assert process.poll() is None and time.time() < deadline, "search ended early"
            time.sleep(0.2)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    finally:
        if process.poll() is None:
            process.kill()
    first_trial = (folder / "trial_0" / "trial.json").read_text()
    assert _trial_status(folder, "trial_0") == "COMPLETED"
    assert _trial_status(folder, "trial_1") == "RUNNING"

    again = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                           timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    assert (folder / "trial_0" / "trial.json").read_text() == first_trial  # not rerun
    assert "(id 0)" not in again.stderr and "(id 1)" in again.stderr
    assert [_trial_status(folder, f"trial_{i}") for i in range(3)] == ["COMPLETED"] * 3
    assert not (folder / "trial_3").exists()
    evaluations = json.loads((folder / "trial_1" / "evaluations.json").read_text())
    assert [e["epoch"] for e in evaluations["evaluations"]] == [4, 8, 12]


def test_ctrl_c_stops_the_search_keeps_finished_work_and_says_how_to_resume(lfw_tree, tmp_path):
    (tmp_path / "s.toml").write_text(SPACE.format(epochs=40, eval_every=2))
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    process = subprocess.Popen(
        [sys.executable, "-m", "tuner.search", "--data", str(lfw_tree.root), "--person",
         lfw_tree.person, "--space", "s.toml", "--samples", "32", "--results-dir", "out"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    evaluations = tmp_path / "out" / "s" / "trial_0" / "evaluations.json"
    deadline = time.time() + 300
    while not evaluations.exists():
        assert process.poll() is None and time.time() < deadline, "search ended early"
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130
    assert err.strip().splitlines()[-1] == "interrupted. Run the same command again to resume."
    assert "Traceback" not in err
    assert json.loads(evaluations.read_text())["evaluations"]  # finished work is kept


def test_an_unwritable_results_folder_is_reported_before_training(tmp_path, capsys):
    from tuner.search import main

    (tmp_path / "a-file").write_text("")
    assert main(["--results-dir", str(tmp_path / "a-file" / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: --results-dir {tmp_path / 'a-file' / 'out'}: cannot write")
    assert "\n" not in err.strip()
