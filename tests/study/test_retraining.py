"""Tests of tuner.study.retraining's plan: what a retrain takes from the study folder (no TF)."""

import pytest

from tests.helpers.repeated_study import LAB, PROTOCOL, write_trial
from tests.helpers.study_folder import StudyWriter
from tuner.common.config import RetrainConfig
from tuner.study.retraining import make_plan

TRAIN = {"epochs": 50, "batch_size": 16, "eval_every": 25, "latent_dim": 100,
         "precision": "float32", "retrain_epochs": 80, "seed": 4}
CONFIG = {"seed": 4, "data": {"data": "lfw-subset", "person": None, "crop": 1.0, "flip": True}}


def _study(folder, write):
    """A study of seed 4, two runs per configuration, ranked by `swd`, written by `write`
    (StudyWriter.study or .legacy_study) with its one completed trial."""
    write(StudyWriter(folder, PROTOCOL), objective="swd", rank_by="final", repeats=2,
          holdout=0.25, config=CONFIG, protocol=PROTOCOL, protocol_key="0123456789abcdef")
    write_trial(folder, "0", {**LAB, "learning_rate": 2e-4}, [[(25, 0.03), (50, 0.02)]] * 2)
    return folder


@pytest.mark.parametrize("write", [
    lambda writer, **fields: writer.study(train=dict(TRAIN), **fields),
    lambda writer, **fields: writer.legacy_study(train=dict(TRAIN), **fields),
], ids=["today", "older"])
def test_the_plan_takes_the_study_settings_from_study_json(tmp_path, write):
    plan = make_plan(RetrainConfig(seeds=2), _study(tmp_path / "study", write))
    assert plan.train == {"batch_size": 16, "eval_every": 25, "latent_dim": 100,
                          "precision": "float32", "flip": True, "data_seed": 4, "holdout": 0.25,
                          "objective": "swd"}
    assert plan.seeds == (6, 7)  # after the search's seeds 4 and 5
    assert plan.epochs == 80 and plan.trial["trial_id"] == "0"


def test_a_study_ranked_by_swd_gets_its_swd_in_every_seed_and_in_the_summary(tmp_path):
    from tuner.study.retraining import _seed_record, make_summary

    plan = make_plan(RetrainConfig(seeds=2), _study(
        tmp_path / "study", lambda writer, **fields: writer.study(train=dict(TRAIN), **fields)))
    history = {6: [{"epoch": 40, "kid": 0.03, "fd": 3.0, "swd": 140.0, "fd_heldout": 3.5},
                   {"epoch": 80, "kid": 0.02, "fd": 2.0, "swd": 120.0, "fd_heldout": 2.5}],
               7: [{"epoch": 80, "kid": 0.04, "fd": 4.0, "swd": 160.0, "fd_heldout": 4.5}]}
    runs = [_seed_record(plan, seed, "COMPLETED", rows) for seed, rows in history.items()]
    assert runs[0]["final"] == {"epoch": 80, "kid": 0.02, "fd": 2.0, "fd_heldout": 2.5,
                                "swd": 120.0}
    assert runs[0]["best"]["swd"] == 120.0  # the best by the study's objective
    summary = make_summary(plan, runs)
    assert summary["final"]["swd"] == {"mean": 140.0, "std": pytest.approx(28.284271247)}
    assert set(summary["final"]) == {"kid", "fd", "swd"} and "swd" in summary["search"]
