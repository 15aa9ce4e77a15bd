import math

import keras
import keras_tuner as kt
import pytest

from tuner.config import ScoringConfig
from tuner.hypermodel import EXPLODED_PATIENCE, DCGANHyperModel, Evaluation, TrainSettings
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


def test_fit_passes_callbacks_on_and_returns_the_best_evaluation(hypermodel, tmp_path):
    hp = kt.HyperParameters()
    hypermodel.declare_hyperparameters(hp)
    assert set(hp.values) == {"learning_rate", "beta_1", "image_size", "subset_fraction"}
    model = hypermodel.build(hp)
    seen = []

    class Spy(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(dict(logs))

    result = hypermodel.fit(hp, model, callbacks=[Spy()], trial_dir=str(tmp_path / "trial"))
    # Evaluated at epoch 2 (eval_every) and 3 (the last); later callbacks see the scores.
    assert [("kid" in logs) for logs in seen] == [False, True, True]
    assert result["epochs"] == 3 and result["best_epoch"] in (2, 3)
    for key in ("kid", "kid_std", "fd", "density", "coverage", "kid_train", "kid_heldout",
                "seconds_per_epoch", "g_loss", "d_loss"):
        assert math.isfinite(result[key]), key
    assert sorted(p.name for p in (tmp_path / "trial" / "samples").iterdir()) == [
        "epoch_00002.png", "epoch_00003.png"]
    assert (tmp_path / "trial" / "evaluations.json").is_file()


def test_build_reads_the_trial_hyperparameters(hypermodel):
    hp = kt.HyperParameters()
    hypermodel.declare_hyperparameters(hp)
    model = hypermodel.build(hp)
    assert model.generator.output_shape == (None, 16, 16, 1)
    assert float(model.g_optimizer.learning_rate) == pytest.approx(1e-3)
    assert float(model.d_optimizer.beta_1) == pytest.approx(0.5)


def _evaluation():
    settings = TrainSettings(epochs=10, batch_size=8, eval_every=5)
    return Evaluation(scorer=None, settings=settings, trial_dir=None, epochs=10,
                      train_indices=None, progress=None)


def test_non_finite_losses_fail_the_trial_at_once():
    with pytest.raises(kt.errors.FailedTrialError, match="diverged at epoch 1.*not finite"):
        _evaluation()._check_losses(1, {"g_loss": float("nan"), "d_loss": 0.5})


def test_a_winning_discriminator_fails_the_trial_after_patience():
    evaluation = _evaluation()
    won = {"g_loss": 2e4, "d_loss": 0.0}
    for epoch in range(1, EXPLODED_PATIENCE):
        evaluation._check_losses(epoch, won)
    evaluation._check_losses(EXPLODED_PATIENCE, {"g_loss": 1.0, "d_loss": 1.0})  # recovery resets
    for epoch in range(1, EXPLODED_PATIENCE):
        evaluation._check_losses(epoch, won)
    with pytest.raises(kt.errors.FailedTrialError, match="discriminator won"):
        evaluation._check_losses(EXPLODED_PATIENCE, won)
