"""Tests of tuner.results.snapshot: a study folder as read, whichever version wrote study.json."""

import json

from tests.helpers.repeated_study import PROTOCOL, write_repeated_study
from tests.helpers.study_folder import StudyWriter
from tuner.results.snapshot import read_study, train_setting


def test_each_training_setting_is_read_from_train(tmp_path):
    folder = write_repeated_study(tmp_path / "now")
    meta = json.loads((folder / "study.json").read_text())
    assert meta["train"] == {"epochs": 50, "objective": "kid", "rank_by": "final", "repeats": 3}
    assert not {"objective", "rank_by", "repeats"} & set(meta)
    study = read_study(folder)
    assert (study.objective, study.rank_by, study.repeats) == ("kid", "final", 3)


def test_a_study_json_with_settings_at_the_top_level_reads_the_same(tmp_path):
    """Versions before each setting was kept once wrote objective, rank_by and repeats at the
    top level of study.json: such a study ranks exactly as its rewrite in today's format."""
    now = read_study(write_repeated_study(tmp_path / "now"))
    old_folder = write_repeated_study(tmp_path / "old")
    StudyWriter(old_folder, PROTOCOL).legacy_study(
        objective="kid_heldout", rank_by="best", repeats=3, holdout=0.0, seed=0,
        protocol={**PROTOCOL, "rank_by": "best"}, protocol_key="0123456789abcdef",
        train={"epochs": 50}, data={})
    old = read_study(old_folder)
    assert (old.objective, old.rank_by, old.repeats) == ("kid_heldout", "best", 3)
    StudyWriter(old_folder, PROTOCOL).legacy_study(
        objective="kid", rank_by="final", repeats=3, holdout=0.0, seed=0,
        protocol={**PROTOCOL, "rank_by": "final"}, protocol_key="0123456789abcdef",
        train={"epochs": 50}, data={})
    old = read_study(old_folder)
    assert (old.objective, old.rank_by, old.repeats) == (now.objective, now.rank_by, now.repeats)
    assert [{k: v for k, v in row.items() if k not in ("study", "folder")} for row in old.rows] == \
        [{k: v for k, v in row.items() if k not in ("study", "folder")} for row in now.rows]


def test_train_wins_over_the_top_level_and_missing_settings_are_none():
    meta = {"objective": "fd", "train": {"objective": "kid", "epochs": 3}}
    assert train_setting(meta, "objective") == "kid"
    assert train_setting({"repeats": 2}, "repeats") == 2
    assert train_setting({"train": None}, "rank_by") is None
