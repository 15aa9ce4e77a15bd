"""TensorBoard logs: each trial's run holds its losses, scores, grids and hyperparameters;
the study's folder holds the HParams config."""

import numpy as np
import pytest
from tensorboard.backend.event_processing import event_accumulator

from tuner.spaces.space import load_space
from tuner.study import tensorboard


def read(log_dir):
    """Summary tags of the event files in `log_dir` and {tag: [(step, value), ...]} of scalars."""
    import tensorflow as tf

    events = event_accumulator.EventAccumulator(str(log_dir), size_guidance={"tensors": 0})
    events.Reload()
    tags = events.Tags()["tensors"]
    values = {tag: [(e.step, tf.make_ndarray(e.tensor_proto)) for e in events.Tensors(tag)]
              for tag in tags}
    return tags, values, events


@pytest.fixture
def space(tmp_path):
    (tmp_path / "s.toml").write_text("[hyperparameters.learning_rate]\nvalues = [2e-4, 2e-3]\n"
                                     "[hyperparameters.beta_1]\nmin = 0.1\nmax = 0.9\n"
                                     "[hyperparameters.image_size]\nvalues = [16, 32]\n"
                                     "[hyperparameters.subset_fraction]\nvalues = [0.5, 1]\n")
    return load_space(str(tmp_path / "s.toml"))


def test_a_trial_run_holds_losses_scores_grid_and_hparams(tmp_path):
    trial = tensorboard.TrialBoard(tmp_path / "tensorboard" / "trial_03")
    trial.hparams({"learning_rate": 2e-4, "beta_1": 0.5, "image_size": 16,
                   "subset_fraction": 1.0, "tuner/epochs": 4})
    for epoch in (1, 2):
        trial.epoch(epoch, {"g_loss": 1.0 + epoch, "d_loss": 0.5})
    grid = np.arange(34 * 34, dtype=np.uint8).reshape(34, 34)
    trial.evaluation(2, {"epoch": 2, "kid": 0.07, "kid_std": 0.01, "fd": 5.0, "density": 0.3,
                         "coverage": 0.2, "seconds": 1.0}, grid)
    trial.result({"kid": 0.07, "fd": 5.0, "epochs": 2}, step=2)
    trial.close()
    tags, values, events = read(tmp_path / "tensorboard" / "trial_03")
    assert set(tags) == {"_hparams_/session_start_info", "g_loss", "d_loss", "kid", "kid_std",
                         "fd", "density", "coverage", "samples", "score/kid", "score/fd"}
    assert [(step, float(v)) for step, v in values["g_loss"]] == [(1, 2.0), (2, 3.0)]
    assert values["kid"][0][0] == 2 and float(values["kid"][0][1]) == pytest.approx(0.07)
    assert float(values["score/fd"][0][1]) == 5.0
    assert events.SummaryMetadata("samples").plugin_data.plugin_name == "images"
    start = events.SummaryMetadata("_hparams_/session_start_info").plugin_data.content
    assert b"learning_rate" in start and b"tuner/epochs" not in start


def test_a_rerun_trial_starts_a_fresh_log(tmp_path):
    first = tensorboard.TrialBoard(tmp_path / "trial_0")
    first.epoch(1, {"g_loss": 9.0, "d_loss": 9.0})
    first.close()
    second = tensorboard.TrialBoard(tmp_path / "trial_0")
    second.epoch(1, {"g_loss": 1.0, "d_loss": 1.0})
    second.close()
    _, values, _ = read(tmp_path / "trial_0")
    assert [float(v) for _, v in values["g_loss"]] == [1.0]


def test_the_study_config_declares_four_hyperparameters_and_the_scores(tmp_path, space):
    tensorboard.write_hparams_config(tmp_path / "tensorboard", space.params)
    tensorboard.write_hparams_config(tmp_path / "tensorboard", space.params)  # a resumed study
    assert len(list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))) == 1
    tags, _, events = read(tmp_path / "tensorboard")
    assert tags == ["_hparams_/experiment"]
    from tensorboard.plugins.hparams import plugin_data_pb2

    content = events.SummaryMetadata("_hparams_/experiment").plugin_data.content
    experiment = plugin_data_pb2.HParamsPluginData.FromString(content).experiment
    assert [h.name for h in experiment.hparam_infos] == [
        "learning_rate", "beta_1", "image_size", "subset_fraction"]
    beta_1 = experiment.hparam_infos[1].domain_interval
    assert (beta_1.min_value, beta_1.max_value) == pytest.approx((0.1, 0.9))
    fractions = experiment.hparam_infos[3].domain_discrete.values
    assert [v.number_value for v in fractions] == [0.5, 1.0]
    assert [m.name.tag for m in experiment.metric_infos] == [
        "score/kid", "score/fd", "score/swd", "score/kid_heldout", "score/se", "score/repeats",
        "score/diverged_runs"]
