"""Tests of tuner.study.evaluation: when a run stops early, as a result; its epoch times."""

import json
import statistics

import keras_tuner as kt
import pytest

from tuner.common.config import ScoringConfig, TrainSettings
from tuner.metrics.scoring import Scorer
from tuner.results.runs import load_runs, summarise_runs
from tuner.spaces.space import load_space
from tuner.study.evaluation import (
    COLLAPSE_STD,
    EXPLODED_PATIENCE,
    Evaluation,
    TrialRecord,
    epoch_time,
)
from tuner.study.hypermodel import DCGANHyperModel


class _Model:
    stop_training = False


def _evaluation():
    evaluation = Evaluation(scorer=None, settings=TrainSettings(epochs=10, batch_size=8,
                                                                eval_every=5),
                            samples_dir="unused", epochs=10, train_indices=None, progress=None)
    evaluation.set_model(_Model())
    return evaluation


def test_non_finite_losses_stop_the_run_at_once_as_a_result():
    evaluation = _evaluation()
    evaluation._check_losses(1, {"g_loss": float("nan"), "d_loss": 0.5})
    assert evaluation.model.stop_training
    assert evaluation.diverged["epoch"] == 1
    assert evaluation.diverged["reason"] == "diverged at epoch 1: g_loss nan, d_loss 0.5 (not finite)"


def test_a_winning_discriminator_stops_the_run_after_patience():
    evaluation = _evaluation()
    won = {"g_loss": 2e4, "d_loss": 0.0}
    for epoch in range(1, EXPLODED_PATIENCE):
        evaluation._check_losses(epoch, won)
    evaluation._check_losses(EXPLODED_PATIENCE, {"g_loss": 1.0, "d_loss": 1.0})  # recovery resets
    for epoch in range(1, EXPLODED_PATIENCE):
        evaluation._check_losses(epoch, won)
    assert evaluation.diverged is None and not evaluation.model.stop_training
    evaluation._check_losses(EXPLODED_PATIENCE, won)
    assert evaluation.model.stop_training
    assert "discriminator won" in evaluation.diverged["reason"]


def test_a_generator_that_has_not_learned_variety_yet_is_not_collapsed():
    evaluation = _evaluation()
    evaluation._check_collapse(3, COLLAPSE_STD / 2)  # an untrained generator: one image for all z
    assert evaluation.diverged is None and not evaluation.model.stop_training
    evaluation._check_collapse(50, 0.2)               # it learned faces ...
    evaluation._check_collapse(60, COLLAPSE_STD / 2)  # ... and lost them: collapsed
    assert evaluation.model.stop_training
    assert evaluation.diverged["reason"].startswith("diverged at epoch 60: mode collapse")


# ---------------------------------------------------------------- epoch times


def test_epoch_time_is_the_10th_percentile_of_the_epochs_after_the_first():
    # 11 later epochs 1..11 s: position 0.1 * (11 - 1) = 1 of the sorted times, 2.0 s
    assert epoch_time([30.0, 7, 3, 11, 1, 9, 2, 5, 4, 10, 8, 6]) == 2.0
    # 2 later epochs: position 0.1 between them
    assert epoch_time([30.0, 2.0, 1.0]) == pytest.approx(1.1, abs=1e-12)
    # a load spike in a few epochs leaves it alone, where the median moves
    steady = [5.0] + [1.0] * 15
    loaded = [5.0] + [1.0] * 7 + [2.0] * 8  # half the epochs slowed by other jobs
    assert epoch_time(loaded) == epoch_time(steady) == 1.0
    assert statistics.median(loaded) > statistics.median(steady)
    assert epoch_time([3.0]) == 3.0  # one epoch: that one
    assert epoch_time([]) is None


def test_a_run_records_its_epoch_times_in_ms_and_their_summary(tmp_path):
    record = TrialRecord(tmp_path / "evaluations.json", {"p": 1})
    evaluation = _evaluation()
    evaluation.record = record
    evaluation.epoch_seconds = [2.71828, 1.00049, 1.2, 1.0004]
    evaluation.on_train_end()
    entry = json.loads((tmp_path / "evaluations.json").read_text())["repeats"][0]
    assert entry["epoch_seconds"] == [2.718, 1.0, 1.2, 1.0]
    assert entry["seconds_per_epoch"] == pytest.approx(1.0, abs=1e-12)  # of the file's values
    assert entry["status"] == "completed"


def test_runs_from_before_epoch_times_keep_the_trials_own_figure():
    runs = [{"repeat": 0, "seed": 0, "status": "completed", "diverged_at_epoch": None,
             "reason": "", "seconds_per_epoch": 1.7, "epoch_seconds": None,
             "evaluations": [{"epoch": 3, "kid": 0.1}]}]
    assert "seconds_per_epoch" not in summarise_runs(runs, "final", "kid")
    runs[0]["epoch_seconds"] = [3.0, 1.6, 1.8]
    runs.append({**runs[0], "repeat": 1, "seed": 1, "seconds_per_epoch": 1.2})
    assert summarise_runs(runs, "final", "kid")["seconds_per_epoch"] == pytest.approx(1.45)


@pytest.fixture
def hypermodel(faces, projection_extractor, tmp_path):
    scorer = Scorer(faces, ScoringConfig(samples=32, cache_dir=str(tmp_path / "cache")),
                    eval_size=16, extractor=projection_extractor)
    space_file = tmp_path / "tiny.toml"
    space_file.write_text("[hyperparameters.image_size]\nvalues = [16]\n")
    settings = TrainSettings(epochs=4, batch_size=8, eval_every=2, repeats=2)
    return DCGANHyperModel(load_space(str(space_file)), faces, scorer, settings)


def test_a_trial_records_every_runs_epoch_times_and_reports_their_statistic(hypermodel,
                                                                            tmp_path):
    hp = kt.HyperParameters()
    hypermodel.declare_hyperparameters(hp)
    result = hypermodel.fit(hp, hypermodel.build(hp), trial_dir=str(tmp_path / "trial"))
    doc = json.loads((tmp_path / "trial" / "evaluations.json").read_text())
    per_run = []
    for entry in doc["repeats"]:
        times = entry["epoch_seconds"]
        assert len(times) == 4 and all(t > 0 and t == round(t, 3) for t in times)
        assert entry["seconds_per_epoch"] == epoch_time(times)
        per_run.append(entry["seconds_per_epoch"])
    # the trial's figure (keras-tuner's record) is the leaderboard's: the mean over runs
    assert result["seconds_per_epoch"] == pytest.approx(statistics.fmean(per_run), rel=1e-12)
    runs = load_runs(tmp_path / "trial")
    assert [run["epoch_seconds"] for run in runs] == [e["epoch_seconds"] for e in doc["repeats"]]
    summary = summarise_runs(runs, hypermodel.settings.rank_by, "kid")
    assert summary["seconds_per_epoch"] == result["seconds_per_epoch"]
    # scoring is timed apart from the epochs: every evaluation says how long it took
    assert all(e["seconds"] > 0 for e in doc["evaluations"])
