"""Seeds given to a study later (`--repeats K` on a finished study) and the `--settle` race, end to
end in real subprocesses: new seeds trained into the same trial folders, the runs already there
untouched, a kill -9 during an added run resumed by the same command."""

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from tuner.common.config import DEFAULT_MARGIN


def runs(folder, trial):
    doc = json.loads((folder / trial / "evaluations.json").read_text())
    return doc


def digest(folder):
    """Every file under `folder` (a trial's run-0 sample grids), by content."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.glob("epoch_*.png"))}


@pytest.fixture()
def finished(tiny_study, tmp_path):
    """A copy of the shared finished two-trial study (one run per configuration)."""
    cwd = shutil.copytree(tiny_study.cwd, tmp_path / "cwd")
    return cwd, cwd / "out" / "tiny", list(tiny_study.result.args[3:])


def test_more_repeats_on_a_finished_study_train_just_the_missing_seeds(finished, search_cli):
    cwd, folder, args = finished
    before = {t: (runs(folder, t), digest(folder / t / "samples")) for t in ("trial_0", "trial_1")}
    result = search_cli(cwd, *args, "--repeats", "2")
    assert result.returncode == 0, result.stderr[-2000:]
    for trial, (old, grids) in before.items():
        new = runs(folder, trial)
        assert [(r["repeat"], r["seed"], r["status"]) for r in new["repeats"]] == [
            (0, 0, "completed"), (1, 1, "completed")]
        assert new["repeats"][0] == old["repeats"][0]                       # run 0 as it was
        assert [e for e in new["evaluations"] if e["repeat"] == 0] == old["evaluations"]
        assert [e["epoch"] for e in new["evaluations"] if e["repeat"] == 1] == [1, 2]
        assert digest(folder / trial / "samples") == grids                  # its grids too
        assert sorted(digest(folder / trial / "samples" / "repeat_1")) == [
            "epoch_00001.png", "epoch_00002.png"]
    assert "run 2 (seed 1) of trial 0" in result.stderr and "(id 0)" not in result.stderr
    train = json.loads((folder / "study.json").read_text())["train"]
    # spending by seeds: a look at 1 seed, then at 2, each spends its own share
    assert (train["repeats"], train["looks"], train["spending"]) == (2, 1, "seeds")
    assert "(2)" in result.stdout                        # the table counts two runs each

    again = search_cli(cwd, *args, "--repeats", "2")     # nothing is missing now
    assert again.returncode == 0 and "run 2 (seed 1)" not in again.stderr
    assert json.loads((folder / "study.json").read_text())["train"]["looks"] == 1


def _running_added_run(folder):
    """Whether some trial has an added run (seed 2) under way with an evaluation written."""
    for trial in ("trial_0", "trial_1"):
        try:
            doc = json.loads((folder / trial / "evaluations.json").read_text())
        except (OSError, ValueError):
            continue
        if any(e.get("repeat") == 2 for e in doc.get("evaluations", [])) and \
                any(r["repeat"] == 2 and r["status"] == "running" for r in doc["repeats"]):
            return trial
    return None


def test_kill_9_during_an_added_run_then_the_same_command_finishes_it(finished, cli_env):
    cwd, folder, args = finished
    command = [sys.executable, "-m", "tuner.search", *args, "--repeats", "3", "--epochs", "2"]
    process = subprocess.Popen(command, cwd=cwd, env=cli_env(cwd), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 400
        while not (killed := _running_added_run(folder)):
            assert process.poll() is None and time.time() < deadline, "search ended early"
            time.sleep(0.1)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    finally:
        if process.poll() is None:
            process.kill()
    assert list(folder.glob(f"{killed}/run_2.claim"))  # the dead process' claim is left behind

    again = subprocess.run(command, cwd=cwd, env=cli_env(cwd), capture_output=True, text=True,
                           timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    for trial in ("trial_0", "trial_1"):
        doc = runs(folder, trial)
        assert [(r["repeat"], r["status"]) for r in doc["repeats"]] == [
            (0, "completed"), (1, "completed"), (2, "completed")]
        epochs = sorted((e["repeat"], e["epoch"]) for e in doc["evaluations"])
        assert epochs == [(k, e) for k in range(3) for e in (1, 2)]  # no half run left over
    assert not list(folder.glob("trial_*/*.claim"))
    assert f"run 3 (seed 2) of trial {killed[len('trial_'):]}" in again.stderr


def test_settle_races_seeds_up_to_its_cap_and_ends_with_what_is_open(finished, search_cli):
    cwd, folder, args = finished
    result = search_cli(cwd, *args, "--settle", "--max-repeats", "3")
    assert result.returncode == 0, result.stderr[-2000:]
    counts = [len(runs(folder, t)["repeats"]) for t in ("trial_0", "trial_1")]
    assert all(2 <= n <= 3 for n in counts), counts   # the race starts from 2 runs, caps at 3
    train = json.loads((folder / "study.json").read_text())["train"]
    assert (train["settle"], train["max_repeats"], train["repeats"]) == (True, 3, 2)
    assert (train["looks"], train["spending"], train["margin"]) == (1, "seeds", DEFAULT_MARGIN)
    last = result.stdout.strip().splitlines()
    study_line = last.index(f"study: {os.path.join('out', 'tiny')}")
    if study_line != len(last) - 1:      # decisions still open: named, with what settles them
        assert last[study_line + 1].startswith("open decisions (")


def _running_race_run(folder, repeat):
    """A trial whose run `repeat` is under way with an evaluation written, or None."""
    for trial in ("trial_0", "trial_1"):
        try:
            doc = json.loads((folder / trial / "evaluations.json").read_text())
        except (OSError, ValueError):
            continue
        if any(e.get("repeat") == repeat for e in doc.get("evaluations", [])) and \
                any(r["repeat"] == repeat and r["status"] == "running" for r in doc["repeats"]):
            return trial
    return None


def test_kill_9_during_a_race_run_then_the_same_command_trains_that_seed_again(finished,
                                                                               cli_env):
    cwd, folder, args = finished
    command = [sys.executable, "-m", "tuner.search", *args, "--settle", "--max-repeats", "3"]
    process = subprocess.Popen(command, cwd=cwd, env=cli_env(cwd), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 400
        while not (killed := _running_race_run(folder, 1)):  # seed 1, half-trained
            assert process.poll() is None and time.time() < deadline, "search ended early"
            time.sleep(0.1)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    finally:
        if process.poll() is None:
            process.kill()

    again = subprocess.run(command, cwd=cwd, env=cli_env(cwd), capture_output=True, text=True,
                           timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    assert f"run 2 (seed 1) of trial {killed[len('trial_'):]}" in again.stderr
    for trial in ("trial_0", "trial_1"):
        doc = runs(folder, trial)
        seeds = [r["seed"] for r in doc["repeats"]]
        assert seeds == list(range(len(seeds))) and 2 <= len(seeds) <= 3    # each seed once
        assert {r["status"] for r in doc["repeats"]} == {"completed"}
        epochs = sorted((e["repeat"], e["epoch"]) for e in doc["evaluations"])
        assert epochs == [(k, e) for k in range(len(seeds)) for e in (1, 2)]
    assert not list(folder.glob("trial_*/*.claim"))
