"""Tests of tuner.study.hypermodel: build, fit, repeats and rank-by over a trial's runs."""

import json
import math
import statistics
from dataclasses import replace

import keras
import keras_tuner as kt
import pytest

from tuner.common.config import ScoringConfig, TrainSettings
from tuner.metrics.scoring import Scorer
from tuner.spaces.space import load_space
from tuner.study.hypermodel import DCGANHyperModel


@pytest.fixture
def hypermodel(faces, projection_extractor, tmp_path):
    scorer = Scorer(faces, ScoringConfig(samples=32, kid_subsets=10,
                                         cache_dir=str(tmp_path / "cache")),
                    eval_size=16, extractor=projection_extractor)
    space_file = tmp_path / "tiny.toml"
    space_file.write_text(
        "[hyperparameters.image_size]\nvalues = [16]\n"
        "[hyperparameters.learning_rate]\nvalues = [1e-3]\n"
        "[hyperparameters.subset_fraction]\nvalues = [0.5]\n")
    settings = TrainSettings(epochs=3, batch_size=8, eval_every=2)
    return DCGANHyperModel(load_space(str(space_file)), faces, scorer, settings)


def _run(hypermodel, tmp_path, callbacks=()):
    hp = kt.HyperParameters()
    hypermodel.declare_hyperparameters(hp)
    return hp, hypermodel.fit(hp, hypermodel.build(hp), callbacks=list(callbacks),
                              trial_dir=str(tmp_path / "trial"))


def test_fit_trains_each_repeat_passes_callbacks_on_and_returns_the_mean(hypermodel, tmp_path):
    hypermodel.settings = replace(hypermodel.settings, repeats=2)
    seen = []

    class Spy(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(dict(logs))

    hp, result = _run(hypermodel, tmp_path, [Spy()])
    assert set(hp.values) == {"learning_rate", "beta_1", "image_size", "subset_fraction"}
    # Both runs' epochs reach keras-tuner's callbacks; the objective, known only after
    # every run, never appears in an epoch's logs (keras-tuner would score the trial on it).
    assert len(seen) == 6 and not any("kid" in logs for logs in seen)
    record = json.loads((tmp_path / "trial" / "evaluations.json").read_text())
    assert [(r["repeat"], r["seed"], r["status"], r["epochs"]) for r in record["repeats"]] == [
        (0, 0, "completed", 3), (1, 1, "completed", 3)]
    evaluations = record["evaluations"]
    assert [(e["repeat"], e["epoch"]) for e in evaluations] == [(0, 2), (0, 3), (1, 2), (1, 3)]
    finals = [evaluations[1]["kid"], evaluations[3]["kid"]]
    assert finals[0] != finals[1]  # different seeds, different runs
    assert result["kid"] == pytest.approx(statistics.fmean(finals))  # rank by final (default)
    assert result["score_se"] == pytest.approx(statistics.stdev(finals) / math.sqrt(2))
    assert result["best"] == pytest.approx(statistics.fmean(
        [min(e["kid"] for e in evaluations if e["repeat"] == r) for r in (0, 1)]))
    assert result["repeats"] == 2 and result["diverged"] == 0 and result["epochs"] == 3
    for key in ("kid", "kid_std", "fd", "density", "coverage", "kid_train", "kid_heldout",
                "seconds_per_epoch"):
        assert math.isfinite(result[key]), key
    assert sorted(p.name for p in (tmp_path / "trial" / "samples").glob("*.png")) == [
        "epoch_00002.png", "epoch_00003.png"]
    assert sorted(p.name for p in (tmp_path / "trial" / "samples" / "repeat_1").iterdir()) == [
        "epoch_00002.png", "epoch_00003.png", "final_samples.npz"]  # each run keeps its own


def test_the_same_seed_trains_the_same_run(hypermodel, tmp_path):
    _, first = _run(hypermodel, tmp_path / "a")
    _, again = _run(hypermodel, tmp_path / "b")
    assert first["kid"] == again["kid"] and first["fd"] == again["fd"]
    assert "score_se" not in first  # one run: no spread over runs to report


def test_rank_by_best_and_last_n_reduce_each_run(hypermodel, tmp_path):
    hypermodel.settings = replace(hypermodel.settings, rank_by="last-2")
    _, last2 = _run(hypermodel, tmp_path)
    kids = [e["kid"] for e in json.loads(
        (tmp_path / "trial" / "evaluations.json").read_text())["evaluations"]]
    assert last2["kid"] == pytest.approx(statistics.fmean(kids[-2:]))
    hypermodel.settings = replace(hypermodel.settings, rank_by="best")
    _, best = _run(hypermodel, tmp_path / "b")
    assert best["kid"] == pytest.approx(min(kids)) == pytest.approx(best["best"])


def test_build_reads_the_trial_hyperparameters(hypermodel):
    hp = kt.HyperParameters()
    hypermodel.declare_hyperparameters(hp)
    model = hypermodel.build(hp)
    assert model.generator.output_shape == (None, 16, 16, 1)
    assert float(model.g_optimizer.learning_rate) == pytest.approx(1e-3)
    assert float(model.d_optimizer.beta_1) == pytest.approx(0.5)
