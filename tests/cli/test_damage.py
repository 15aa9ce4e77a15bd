"""Damaged study files: the search refuses them in one line, and --repair reruns just those trials.

One small grid search is made once; each test damages a copy of it and runs the real CLI.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
SPACE = """
[search]
tuner = "grid"
max_trials = 3
[train]
epochs = 1
batch_size = 8
eval_every = 1
precision = "float32"
[hyperparameters.learning_rate]
values = [1e-4, 1e-3, 2e-3]
[hyperparameters.image_size]
values = [16]
"""


def _search(lfw_tree, folder, *flags):
    command = [sys.executable, "-m", "tuner.search", "--data", str(lfw_tree.root), "--person",
               lfw_tree.person, "--space", "s.toml", "--samples", "32", "--results-dir", "out",
               "--quiet", *flags]
    env = {**os.environ, "XDG_CACHE_HOME": str(folder / "cache"),
           "PYTHONPATH": str(PROJECT)}
    return subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True,
                          timeout=900)


@pytest.fixture(scope="module")
def finished(lfw_tree, tmp_path_factory):
    """A finished three-trial study, searched once."""
    folder = tmp_path_factory.mktemp("finished")
    (folder / "s.toml").write_text(SPACE)
    result = _search(lfw_tree, folder)
    assert result.returncode == 0, result.stderr[-2000:]
    return folder


@pytest.fixture
def copy(finished, tmp_path):
    """A copy of the finished study to damage (its feature cache shared)."""
    shutil.copytree(finished, tmp_path / "w", ignore=shutil.ignore_patterns("*.lock"))
    return tmp_path / "w"


def _truncate(path):
    text = path.read_text()
    path.write_text(text[:len(text) // 2])
    return text[:len(text) // 2]


def _trial(study, trial_id):
    return json.loads((study / f"trial_{trial_id}" / "trial.json").read_text())


def _last(result):
    return result.stderr.strip().splitlines()[-1]


def _refused(lfw_tree, folder, damaged):
    result = _search(lfw_tree, folder)
    assert result.returncode == 2, result.stderr[-2000:]
    last = _last(result)
    assert last.startswith(f"error: out/s/{damaged}: ")  # --results-dir out, as given
    assert "add --repair to set the damaged files aside" in last
    assert "Traceback" not in result.stderr
    return last


def _damaged_copy(study, relative):
    """The one file or folder `--repair` set aside, under damaged/<time>/."""
    [stamp] = (study / "damaged").iterdir()
    return stamp / relative


def _scored(study, trial_id):
    doc = json.loads((study / f"trial_{trial_id}" / "evaluations.json").read_text())
    return [(e["epoch"], isinstance(e["kid"], float)) for e in doc["evaluations"]]


DAMAGE = {"truncated": "not valid JSON", "not a number": "kid 'abc' at epoch 1 is not a number",
          "Infinity": "kid inf at epoch 1 is not a finite number",
          "no evaluations": "'evaluations' is a required property"}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_evaluations_file_is_refused_then_repair_reruns_that_trial_only(
        lfw_tree, copy, damage):
    study = copy / "out" / "s"
    path = study / "trial_1" / "evaluations.json"
    kept = {i: (study / f"trial_{i}" / "trial.json").read_text() for i in (0, 2)}
    if damage == "truncated":
        bad = _truncate(path)
    else:
        doc = json.loads(path.read_text())
        if damage == "no evaluations":
            del doc["evaluations"]
        else:
            doc["evaluations"][0]["kid"] = "abc" if damage == "not a number" else float("inf")
        path.write_text(bad := json.dumps(doc))
    last = _refused(lfw_tree, copy, "trial_1/evaluations.json")
    assert DAMAGE[damage] in last

    result = _search(lfw_tree, copy, "--repair")
    assert result.returncode == 0, result.stderr[-2000:]
    assert _damaged_copy(study, "trial_1/evaluations.json").read_text() == bad  # kept aside
    assert _trial(study, 1)["status"] == "COMPLETED" and _scored(study, 1) == [(1, True)]
    assert {i: (study / f"trial_{i}" / "trial.json").read_text() for i in (0, 2)} == kept
    assert not (study / "trial_3").exists()
    assert "damaged" not in result.stdout  # the leaderboard after it: every trial done


def test_a_damaged_study_file_is_refused_then_rewritten_without_rerunning_trials(lfw_tree, copy):
    study = copy / "out" / "s"
    record = json.loads((study / "study.json").read_text())
    kept = [(study / f"trial_{i}" / "trial.json").read_text() for i in range(3)]
    _truncate(study / "study.json")
    assert "not valid JSON" in _refused(lfw_tree, copy, "study.json")

    result = _search(lfw_tree, copy, "--repair")
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads((study / "study.json").read_text())["train"] == record["train"]
    assert [(study / f"trial_{i}" / "trial.json").read_text() for i in range(3)] == kept
    assert _damaged_copy(study, "study.json").is_file()


def test_a_damaged_oracle_file_is_rebuilt_from_the_trials(lfw_tree, copy):
    study = copy / "out" / "s"
    kept = [(study / f"trial_{i}" / "trial.json").read_text() for i in range(3)]
    _truncate(study / "oracle.json")
    assert "not valid JSON" in _refused(lfw_tree, copy, "oracle.json")

    result = _search(lfw_tree, copy, "--repair")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "oracle.json rebuilt from the trials' trial.json files" in result.stderr
    oracle = json.loads((study / "oracle.json").read_text())
    assert oracle["end_order"] == ["0", "1", "2"]
    assert [(study / f"trial_{i}" / "trial.json").read_text() for i in range(3)] == kept
    assert not (study / "trial_3").exists()


@pytest.mark.parametrize("damage", ["trial.json truncated", "folder deleted"])
def test_a_trial_that_lost_its_configuration_is_recorded_failed_and_the_grid_runs_it_again(
        lfw_tree, copy, damage):
    study = copy / "out" / "s"
    if damage == "folder deleted":
        shutil.rmtree(study / "trial_1")
        assert "folder missing (oracle.json names it)" in _refused(lfw_tree, copy, "trial_1")
    else:
        _truncate(study / "trial_1" / "trial.json")
        assert "not valid JSON" in _refused(lfw_tree, copy, "trial_1/trial.json")

    # The lost trial's place counts as a trial: one more lets the grid run its configuration.
    result = _search(lfw_tree, copy, "--repair", "--max-trials", "4")
    assert result.returncode == 0, result.stderr[-2000:]
    lost = _trial(study, 1)
    assert lost["status"] == "FAILED" and "its configuration is lost" in lost["message"]
    again = _trial(study, 3)
    assert again["status"] == "COMPLETED"
    assert again["hyperparameters"]["values"]["learning_rate"] == 1e-3
    assert _scored(study, 3) == [(1, True)]
    if damage == "trial.json truncated":
        assert _damaged_copy(study, "trial_1/evaluations.json").is_file()
