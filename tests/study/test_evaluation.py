"""Tests of tuner.study.evaluation: when a run stops early, as a result."""



from tuner.common.config import TrainSettings
from tuner.study.evaluation import COLLAPSE_STD, EXPLODED_PATIENCE, Evaluation


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
