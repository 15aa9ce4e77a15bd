import json
import math
import statistics
from dataclasses import replace

import keras
import keras_tuner as kt
import pytest

from tuner.config import ScoringConfig, TrainSettings
from tuner.hypermodel import COLLAPSE_STD, EXPLODED_PATIENCE, DCGANHyperModel, Evaluation
from tuner.scoring import Scorer
from tuner.spaces import load_space


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
        "epoch_00002.png", "epoch_00003.png"]


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
