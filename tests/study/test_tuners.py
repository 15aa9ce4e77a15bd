"""Each --tuner runs a real (tiny) search and records its trials in the study folder."""

import json
import os

import keras
import keras_tuner as kt
import pytest

from tuner.common.config import DataConfig, ScoringConfig, SearchConfig, TrainOverrides, TrainSettings
from tuner.common.errors import UsageError
from tuner.study.tuners import TUNER_CLASSES, make_tuner

SPACE = """
[search]
max_trials = 2
hyperband_factor = 2
[train]
epochs = 2
batch_size = 8
eval_every = 1
precision = "float32"
[hyperparameters.learning_rate]
min = 1e-4
max = 1e-3
sampling = "log"
step = 3
[hyperparameters.image_size]
values = [16]
"""


@pytest.mark.parametrize("tuner", ["random", "bayesian", "hyperband", "grid"])
def test_every_tuner_completes_trials(tuner, lfw_tree, tmp_path):
    from tuner.results.snapshot import load_trials
    from tuner.study.runner import run_search

    (tmp_path / "s.toml").write_text(SPACE)
    rows = load_trials(run_search(SearchConfig(
        data=DataConfig(str(lfw_tree.root), lfw_tree.person),
        scoring=ScoringConfig(samples=16, cache_dir=str(tmp_path / "cache")),
        space=str(tmp_path / "s.toml"), tuner=tuner, results_dir=str(tmp_path / "out"))))
    assert rows and all(row["status"] == "COMPLETED" for row in rows)
    assert all(1e-4 <= row["hyperparameters"]["learning_rate"] <= 1e-3 for row in rows)
    if tuner != "hyperband":
        assert len(rows) == 2
    study = json.loads((tmp_path / "out" / "s" / "study.json").read_text())
    assert study["tuner"] == tuner


def test_hyperband_continues_every_run_of_a_configuration(lfw_tree, tmp_path):
    """A later Hyperband round trains each of a configuration's runs on from where it stopped."""
    from tuner.results.runs import load_evaluations
    from tuner.study.runner import run_search

    # A continuous range: every first-round slot of every bracket draws a fresh configuration.
    (tmp_path / "s.toml").write_text(SPACE
                                     .replace("step = 3\n", ""))
    study = run_search(SearchConfig(
        data=DataConfig(str(lfw_tree.root), lfw_tree.person),
        scoring=ScoringConfig(samples=16, cache_dir=str(tmp_path / "cache")),
        train=TrainOverrides(repeats=2), space=str(tmp_path / "s.toml"), tuner="hyperband",
        results_dir=str(tmp_path / "out")))
    continued = [json.loads((t / "trial.json").read_text()) for t in study.glob("trial_*")]
    continued = [t for t in continued if t["hyperparameters"]["values"].get("tuner/initial_epoch")]
    assert continued, "hyperband made no second round"
    for trial in continued:
        values = trial["hyperparameters"]["values"]
        previous = study / f"trial_{values['tuner/trial_id']}"
        assert (previous / "repeat_1.weights.h5").is_file()
        epochs = [(e["repeat"], e["epoch"]) for e in load_evaluations(study / f"trial_{trial['trial_id']}")]
        start = values["tuner/initial_epoch"] + 1
        assert {r for r, _ in epochs} == {0, 1} and min(e for _, e in epochs) == start


SETTINGS = TrainSettings(epochs=2, batch_size=8, eval_every=1)


def test_an_unknown_tuner_is_refused():
    message = "--tuner must be one of grid, one-at-a-time, random, bayesian, hyperband"
    with pytest.raises(UsageError, match=message):
        make_tuner("annealing", None, SETTINGS, max_trials=1, hyperband_factor=3,
                   directory="out", project_name="s", max_consecutive_failures=3)
    assert list(TUNER_CLASSES) == ["grid", "random", "bayesian", "hyperband"]


@pytest.mark.parametrize("name", ["grid", "random", "bayesian", "hyperband"])
def test_keras_tuner_state_files_are_written_atomically(name, tmp_path, monkeypatch):
    from tuner.study import tuners

    written = []
    real_write = tuners.files.write_bytes
    monkeypatch.setattr(tuners.files, "write_bytes",
                        lambda path, data: (written.append(str(path)), real_write(path, data)))
    tuner = make_tuner(name, lambda hp: hp.Choice("x", [1, 2]), SETTINGS, max_trials=2,
                       hyperband_factor=2, directory=tmp_path, project_name="p",
                       max_consecutive_failures=3)
    assert isinstance(tuner.oracle, tuners.AtomicSavesMixin)
    trial_id = tuner.oracle.create_trial("tuner0").trial_id
    tuner.save()
    names = {os.path.relpath(path, tmp_path / "p") for path in written}
    trial_json = os.path.join(f"trial_{trial_id}", "trial.json")
    assert names == {"oracle.json", "tuner0.json", trial_json}
    assert not list(tmp_path.rglob("*.tmp"))
    assert json.loads((tmp_path / "p" / trial_json).read_text())["trial_id"] == trial_id


class _SpaceModel(kt.HyperModel):
    """Declares a space's hyperparameters and builds nothing: enough for an oracle."""

    def __init__(self, space):
        super().__init__()
        self.space = space

    def declare_hyperparameters(self, hp):
        self.space.declare(hp)

    def build(self, hp):
        self.space.declare(hp)
        return keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])


def _finish(tuner, trial):
    tuner.oracle.update_trial(trial.trial_id, {"kid": 0.1})
    trial.status = "COMPLETED"
    tuner.oracle.end_trial(trial)
    tuner.save()  # as on_trial_end does: what a resumed search reloads


def test_one_at_a_time_hands_out_the_design_in_order_and_resumes(tmp_path):
    from tuner.spaces.space import load_space

    space = load_space("lab-mini")
    design = space.configurations()

    def tuner():
        return make_tuner("one-at-a-time", _SpaceModel(space), SETTINGS, max_trials=50,
                          hyperband_factor=3, directory=tmp_path, project_name="p",
                          max_consecutive_failures=3)

    first = tuner()
    handed = []
    for _ in range(3):
        trial = first.oracle.create_trial("tuner0")
        handed.append(trial.hyperparameters.values)
        _finish(first, trial)
    resumed = tuner()  # a new process on the same folder goes on with the fourth
    while (trial := resumed.oracle.create_trial("tuner0")).status == "RUNNING":
        handed.append(trial.hyperparameters.values)
        _finish(resumed, trial)
    assert handed == design
    assert trial.status == "STOPPED"
    assert resumed.oracle.max_trials == len(design) == 7


def test_hyperband_halves_a_space_of_few_configurations_up_to_max_epochs(lfw_tree, tmp_path):
    """Three learning rates, max_epochs 4, factor 2: keras-tuner's own first round wants 4
    configurations and, never drawing one twice, would stop after 3 trials of 1 epoch. Here
    its rounds are 3 (1 epoch), 2 (2 epochs), 1 (4 epochs): successive halving to the end."""
    from tuner.results.snapshot import load_trials
    from tuner.study.runner import run_search

    (tmp_path / "s.toml").write_text(SPACE.replace("[train]\nepochs = 2\n", "[train]\nepochs = 4\n"))
    study = run_search(SearchConfig(
        data=DataConfig(str(lfw_tree.root), lfw_tree.person),
        scoring=ScoringConfig(samples=16, cache_dir=str(tmp_path / "cache")),
        space=str(tmp_path / "s.toml"), tuner="hyperband", results_dir=str(tmp_path / "out")))
    trials = [json.loads((t / "trial.json").read_text())["hyperparameters"]["values"]
              for t in sorted(study.glob("trial_*"))]
    first = [t for t in trials if t["tuner/bracket"] == 2]
    assert [(t["tuner/round"], t["tuner/epochs"]) for t in first] == [
        (0, 1), (0, 1), (0, 1), (1, 2), (1, 2), (2, 4)]
    assert sorted(t["learning_rate"] for t in first if t["tuner/round"] == 0) == pytest.approx(
        [1e-4, 3e-4, 9e-4])
    assert all(row["status"] == "COMPLETED" for row in load_trials(study))
