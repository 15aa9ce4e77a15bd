"""Faults: failed trials recorded while the search goes on, one process per study, kill -9."""

import contextlib
import errno
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras_tuner as kt
import pytest

from tuner.common.config import DataConfig, ScoringConfig, SearchConfig
from tuner.common.errors import UsageError
from tuner.common.lock import StudyLock

PROJECT = Path(__file__).resolve().parents[2]

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


def _env(cwd):
    """A search subprocess' environment: this checkout on the path, the reference cache in `cwd`."""
    return {**os.environ, "XDG_CACHE_HOME": str(cwd / "cache"), "PYTHONPATH": str(PROJECT)}


def _search_in_process(lfw_tree, tmp_path, space_text, **options):
    from tuner.study.runner import run_search

    (tmp_path / "s.toml").write_text(space_text)
    return run_search(SearchConfig(
        data=DataConfig(str(lfw_tree.root), lfw_tree.person),
        scoring=ScoringConfig(samples=32, cache_dir=str(tmp_path / "cache")),
        space=str(tmp_path / "s.toml"), results_dir=str(tmp_path / "out"), **options))


def _crash_at_high_lr(monkeypatch, threshold=1.5e-3):
    from tuner.study.evaluation import Evaluation

    original = Evaluation._check_losses

    def crash(self, epoch, logs):
        if float(self.model.g_optimizer.learning_rate) > threshold:
            raise kt.errors.FailedTrialError(f"crashed at epoch {epoch} (test)")
        original(self, epoch, logs)

    monkeypatch.setattr(Evaluation, "_check_losses", crash)


def test_a_failing_trial_is_recorded_with_its_reason_and_the_search_goes_on(
        lfw_tree, tmp_path, monkeypatch, capsys):
    from tuner.results.snapshot import load_trials

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
    from tuner.study.runner import SearchStopped

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
    from tuner.results.snapshot import load_trials
    from tuner.study import evaluation

    monkeypatch.setattr(evaluation, "EXPLODED_G_LOSS", -1.0)  # every epoch's g_loss "explodes"
    monkeypatch.setattr(evaluation, "EXPLODED_PATIENCE", 2)
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


def _evaluated(path):
    """Whether a trial's evaluations.json (written as a run starts) holds an evaluation yet."""
    try:
        return bool(json.loads(path.read_text())["evaluations"])
    except (OSError, ValueError, KeyError):
        return False


def test_kill_9_mid_trial_then_the_same_command_finishes_the_study(lfw_tree, tmp_path):
    (tmp_path / "s.toml").write_text(SPACE.format(epochs=12, eval_every=4))
    command = [sys.executable, "-m", "tuner.search", "--data", str(lfw_tree.root), "--person",
               lfw_tree.person, "--space", "s.toml", "--samples", "32", "--results-dir", "out"]
    env = _env(tmp_path)
    folder = tmp_path / "out" / "s"
    process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 300
        # Kill once the second trial has written its first evaluation: mid-trial.
        while not _evaluated(folder / "trial_1" / "evaluations.json"):
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


@pytest.mark.parametrize("signum, exit_status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_or_sigterm_stops_the_search_keeps_finished_work_and_says_how_to_resume(
        signum, exit_status, lfw_tree, tmp_path):
    """SIGTERM (docker stop, SLURM, systemd) ends a search as Ctrl-C does, with status 143."""
    (tmp_path / "s.toml").write_text(SPACE.format(epochs=40, eval_every=2))
    env = _env(tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "tuner.search", "--data", str(lfw_tree.root), "--person",
         lfw_tree.person, "--space", "s.toml", "--samples", "32", "--results-dir", "out"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    evaluations = tmp_path / "out" / "s" / "trial_0" / "evaluations.json"
    deadline = time.time() + 300
    while not _evaluated(evaluations):
        assert process.poll() is None and time.time() < deadline, "search ended early"
        time.sleep(0.2)
    process.send_signal(signum)
    _, err = process.communicate(timeout=120)
    assert process.returncode == exit_status
    assert err.strip().splitlines()[-1] == "interrupted. Run the same command again to resume."
    assert "Traceback" not in err
    assert json.loads(evaluations.read_text())["evaluations"]  # finished work is kept
    # The interrupted trial (the first, or the next if the signal came late) is not failed.
    statuses = [_trial_status(tmp_path / "out" / "s", f"trial_{i}") for i in range(3)]
    assert statuses in (["RUNNING", None, None], ["COMPLETED", "RUNNING", None])


INTERRUPTED = "interrupted. Run the same command again to resume."
TWO_TRIALS = """
[search]
tuner = "grid"
max_trials = 2
[train]
epochs = 3
batch_size = 8
eval_every = 1
precision = "float32"
[hyperparameters.learning_rate]
values = [1e-4, 1e-3]
[hyperparameters.image_size]
values = [16]
"""


class _SigintOnDelete:
    """Python raises a KeyboardInterrupt landing in a __del__ nowhere: it prints and drops it."""

    def __del__(self):
        signal.raise_signal(signal.SIGINT)
        _ = [i for i in range(10)]  # the handler runs here, between bytecodes of __del__


def _sigint_in_a_del_while_training(monkeypatch):
    from tuner.study.evaluation import Evaluation

    original = Evaluation.on_epoch_end

    def on_epoch_end(self, epoch, logs=None):
        original(self, epoch, logs)
        if epoch == 0 and not interruption_sent:
            interruption_sent.append(True)
            _SigintOnDelete()  # created and collected at once

    interruption_sent = []
    monkeypatch.setattr(Evaluation, "on_epoch_end", on_epoch_end)


def _sigint_in_keras_tuner_copying_the_callbacks(monkeypatch):
    import copy
    import types

    from keras_tuner.src.engine import tuner as kt_tuner

    def deepcopy(obj, *args):  # keras-tuner turns any error here into a FatalError (bare except)
        if not interruption_sent:
            interruption_sent.append(True)
            signal.raise_signal(signal.SIGINT)
        return copy.deepcopy(obj, *args)

    interruption_sent = []
    monkeypatch.setattr(kt_tuner, "copy", types.SimpleNamespace(copy=copy.copy, deepcopy=deepcopy))


@pytest.mark.parametrize("send_sigint", [_sigint_in_a_del_while_training,
                                         _sigint_in_keras_tuner_copying_the_callbacks])
def test_ctrl_c_landing_where_python_would_lose_it_still_interrupts_and_resumes(
        send_sigint, lfw_tree, tmp_path, monkeypatch, capsys):
    from tuner.search import main

    (tmp_path / "s.toml").write_text(TWO_TRIALS)
    argv = ["--data", str(lfw_tree.root), "--person", lfw_tree.person, "--space",
            str(tmp_path / "s.toml"), "--samples", "32", "--results-dir", str(tmp_path / "out")]
    folder = tmp_path / "out" / "s"
    with monkeypatch.context() as patch:
        send_sigint(patch)
        assert main(argv) == 130
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1] == INTERRUPTED and "Traceback" not in err
    assert [_trial_status(folder, f"trial_{i}") for i in range(2)] == ["RUNNING", None]

    assert main(argv) == 0  # the same command again: the interrupted trial is rerun
    assert [_trial_status(folder, f"trial_{i}") for i in range(2)] == ["COMPLETED"] * 2
    evaluations = json.loads((folder / "trial_0" / "evaluations.json").read_text())
    assert [e["epoch"] for e in evaluations["evaluations"]] == [1, 2, 3]


def test_sigterm_during_training_stops_after_the_step_and_the_same_command_resumes(
        lfw_tree, tmp_path, monkeypatch, capfd):
    from tuner.search import main
    from tuner.study.evaluation import Evaluation

    (tmp_path / "s.toml").write_text(TWO_TRIALS)
    argv = ["--data", str(lfw_tree.root), "--person", lfw_tree.person, "--space",
            str(tmp_path / "s.toml"), "--samples", "32", "--results-dir", str(tmp_path / "out")]
    folder = tmp_path / "out" / "s"
    original = Evaluation.on_epoch_end

    def on_epoch_end(self, epoch, logs=None):
        original(self, epoch, logs)
        if epoch == 0:
            signal.raise_signal(signal.SIGTERM)  # as `docker stop` sends it

    with monkeypatch.context() as patch:
        patch.setattr(Evaluation, "on_epoch_end", on_epoch_end)
        assert main(argv) == 143
    err = capfd.readouterr().err  # fd 2: the signal handler writes there
    assert err.strip().splitlines()[-1] == INTERRUPTED and "Traceback" not in err
    assert "terminated: stopping after the current step" in err
    assert [_trial_status(folder, f"trial_{i}") for i in range(2)] == ["RUNNING", None]
    record = json.loads((folder / "trial_0" / "evaluations.json").read_text())
    assert [e["epoch"] for e in record["evaluations"]] == [1]  # stopped after the first epoch

    assert main(argv) == 0  # the same command again: the interrupted trial is rerun
    assert [_trial_status(folder, f"trial_{i}") for i in range(2)] == ["COMPLETED"] * 2
    record = json.loads((folder / "trial_0" / "evaluations.json").read_text())
    assert [e["epoch"] for e in record["evaluations"]] == [1, 2, 3]


def test_a_second_ctrl_c_exits_at_once_with_the_same_last_line(tmp_path):
    child = f"""
import argparse, os, signal, sys, time
from tuner import console
def job():
    signal.raise_signal(signal.SIGINT)  # the first only asks the job to stop at a safe point
    signal.raise_signal(signal.SIGINT)
    time.sleep(600)
sys.exit(console.run_cli(job, argparse.Namespace(debug=False), {INTERRUPTED.split(". ", 1)[1]!r}))
"""
    result = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True,
                            timeout=120, env={**os.environ, "PYTHONPATH": str(PROJECT)})
    assert result.returncode == 130
    assert result.stderr.splitlines() == [
        "", "stopping after the current step; press Ctrl-C again to stop at once", "",
        INTERRUPTED]


def test_an_unwritable_results_folder_is_reported_before_training(tmp_path, capsys):
    from tuner.search import main

    (tmp_path / "a-file").write_text("")
    assert main(["--results-dir", str(tmp_path / "a-file" / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: --results-dir {tmp_path / 'a-file' / 'out'}: cannot write")
    assert "\n" not in err.strip()


def test_process_alive_tells_a_running_process_from_an_ended_one():
    from tuner.common.lock import process_alive

    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)
    assert process_alive(os.getpid())
    assert not process_alive(int(ended.stdout))


def test_the_search_cli_exits_1_with_the_reason_when_failures_stop_it(
        lfw_tree, tmp_path, monkeypatch, capsys):
    from tuner import search

    _crash_at_high_lr(monkeypatch, threshold=5e-4)
    (tmp_path / "s.toml").write_text(SPACE.format(epochs=1, eval_every=1))
    status = search.main(["--data", str(lfw_tree.root), "--person", lfw_tree.person,
                          "--space", str(tmp_path / "s.toml"), "--samples", "32", "--quiet",
                          "--results-dir", str(tmp_path / "out"), "--max-consecutive-failures", "2"])
    out, err = capsys.readouterr()
    assert status == 1
    assert err.strip().splitlines()[-1] == (
        "error: search stopped: 2 trials in a row failed (--max-consecutive-failures); "
        "last reason: crashed at epoch 1 (test)")
    assert "failed" in out and f"study: {tmp_path / 'out' / 's'}" in out  # the table still shows


FULL_DISK_END = "free some space there (or choose another folder), then run the same command " \
                "again to resume"


def _temporaries(folder):
    return [p for p in folder.rglob("*") if p.name.startswith(".") and ".tmp" in p.name]


def test_a_disk_filling_up_mid_trial_stops_in_one_line_and_the_same_command_resumes(
        lfw_tree, tmp_path, monkeypatch, capsys):
    """The write that finds no room (here the second trial's first sample grid) ends the
    search: exit 1, one line, nothing half-written, the trial not counted as failed."""
    from tuner.common import files
    from tuner.search import main
    from tuner.study.evaluation import Evaluation

    (tmp_path / "s.toml").write_text(TWO_TRIALS)
    argv = ["--data", str(lfw_tree.root), "--person", lfw_tree.person, "--space",
            str(tmp_path / "s.toml"), "--samples", "32", "--results-dir", str(tmp_path / "out")]
    folder = tmp_path / "out" / "s"
    full = []
    original_epoch_end, original_fsync = Evaluation.on_epoch_end, os.fsync

    def on_epoch_end(self, epoch, logs=None):
        if "trial_1" in str(self.samples_dir):
            full.append(True)  # from here on, the disk is full
        original_epoch_end(self, epoch, logs)

    def fsync(fd):
        if full:
            raise OSError(errno.ENOSPC, "No space left on device")
        original_fsync(fd)

    with monkeypatch.context() as patch:
        patch.setattr(Evaluation, "on_epoch_end", on_epoch_end)
        patch.setattr(files.os, "fsync", fsync)
        patch.setattr(files, "free_bytes", lambda where: 4321 if full else 10**12)
        assert main(argv) == 1
    out, err = capsys.readouterr()
    last = err.strip().splitlines()[-1]
    assert re.fullmatch(  # the grid's size in bytes depends on what was trained
        rf"error: disk full: {re.escape(str(folder / 'trial_1' / 'samples'))} has 4\.3 kB free "
        rf"and epoch_00001\.png needs [\d.]+ k?B; {re.escape(FULL_DISK_END)}", last), last
    assert "Traceback" not in err and out == ""
    assert [_trial_status(folder, f"trial_{i}") for i in range(2)] == ["COMPLETED", "RUNNING"]
    assert not list((folder / "trial_1" / "samples").iterdir()) and not _temporaries(folder)

    assert main(argv) == 0  # space freed: the same command finishes the study
    assert [_trial_status(folder, f"trial_{i}") for i in range(2)] == ["COMPLETED"] * 2
    evaluations = json.loads((folder / "trial_1" / "evaluations.json").read_text())
    assert [e["epoch"] for e in evaluations["evaluations"]] == [1, 2, 3]


def test_no_trial_starts_without_room_for_it_and_the_message_says_how_much(
        lfw_tree, tmp_path, monkeypatch, capsys):
    """Before a trial trains, the disk must hold what the largest trial so far took (its
    folder and TensorBoard run), and at least the trial's checkpoint, with a margin."""
    from tuner.common import files
    from tuner.search import main
    from tuner.study import hypermodel

    (tmp_path / "s.toml").write_text(TWO_TRIALS)
    argv = ["--data", str(lfw_tree.root), "--person", lfw_tree.person, "--space",
            str(tmp_path / "s.toml"), "--samples", "32", "--results-dir", str(tmp_path / "out")]
    folder = tmp_path / "out" / "s"
    checkpoints = []
    original_room = hypermodel.trial_room

    def trial_room(trial_dir, model):
        checkpoints.append(hypermodel.weights_bytes(model))
        return original_room(trial_dir, model)

    with monkeypatch.context() as patch:
        patch.setattr(hypermodel, "trial_room", trial_room)
        patch.setattr(files, "free_bytes",  # room for one trial only
                      lambda where: 1_000_000 if (folder / "trial_1").exists() else 10**12)
        assert main(argv) == 1
    err = capsys.readouterr().err
    first = files.folder_bytes(folder / "trial_0") + files.folder_bytes(
        folder / "tensorboard" / "trial_0")
    assert first > checkpoints[1] > 0  # the first trial's folder holds its checkpoint and more
    assert err.strip().splitlines()[-1] == (
        f"error: disk full: {folder / 'trial_1'} has 1.0 MB free and a trial needs "
        f"{files.human_bytes(first + files.ROOM_MARGIN)}; {FULL_DISK_END}")
    assert "Traceback" not in err
    assert [_trial_status(folder, f"trial_{i}") for i in range(2)] == ["COMPLETED", "RUNNING"]
    assert not (folder / "trial_1" / "checkpoint.weights.h5").exists()
    assert not _temporaries(folder)


@contextlib.contextmanager
def _tmpfs(folder, size):
    """A tmpfs of `size` (e.g. "45m") mounted on `folder`; skips the test where that cannot be."""
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root on Linux (as in CI)")
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


def test_a_full_tmpfs_stops_the_search_in_one_line_and_once_grown_the_same_command_finishes(
        lfw_tree, tmp_path):
    """A real full disk, where HDF5 would drop a failed checkpoint write and crash the process
    later (exit 139): 45 MB hold the first trial (a 33 MB checkpoint) and not the second."""
    (tmp_path / "s.toml").write_text(SPACE.format(epochs=1, eval_every=1))
    with _tmpfs(tmp_path / "disk", "45m") as disk:
        command = [sys.executable, "-m", "tuner.search", "--data", str(lfw_tree.root),
                   "--person", lfw_tree.person, "--space", "s.toml", "--samples", "32",
                   "--results-dir", str(disk)]
        folder = disk / "s"
        first = subprocess.run(command, cwd=tmp_path, env=_env(tmp_path), capture_output=True,
                               text=True, timeout=600)
        assert first.returncode == 1, first.stderr[-3000:]
        last = first.stderr.strip().splitlines()[-1]
        assert re.fullmatch(rf"error: disk full: {re.escape(str(folder / 'trial_1'))} has "
                            rf"[\d.]+ MB free and a trial needs 3\d\.\d MB; "
                            rf"{re.escape(FULL_DISK_END)}", last), last
        assert "Traceback" not in first.stderr
        assert [_trial_status(folder, f"trial_{i}") for i in range(3)] == [
            "COMPLETED", "RUNNING", None]
        assert not _temporaries(folder)
        import h5py

        with h5py.File(folder / "trial_0" / "checkpoint.weights.h5") as whole:  # not truncated
            assert len(whole.keys()) > 0

        subprocess.run(["mount", "-o", "remount,size=150m", "tmpfs", str(disk)], check=True)
        again = subprocess.run(command, cwd=tmp_path, env=_env(tmp_path), capture_output=True,
                               text=True, timeout=600)
        assert again.returncode == 0, again.stderr[-3000:]
        assert [_trial_status(folder, f"trial_{i}") for i in range(3)] == ["COMPLETED"] * 3
        assert f"study: {folder}" in again.stdout
