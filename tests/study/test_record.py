"""study.json: what a study records, and what a resumed study refuses to change."""

from dataclasses import replace
from types import SimpleNamespace

import pytest

from tuner.common import files
from tuner.common.config import SearchConfig, TrainSettings
from tuner.common.errors import UsageError
from tuner.study import record
from tuner.study.record import (
    REFUSED_SETTINGS,
    check_resumable,
    study_record,
    with_study_network,
    write_study_file,
)

SETTINGS = TrainSettings(epochs=2, batch_size=8, eval_every=1, precision="float32", seed=0,
                         objective="kid", rank_by="final", repeats=1, margin=0.1)
PROTOCOL = {"features": "onet", "n_fake": 64, "eval_size": 16, "holdout_seed": 0}
HINT = ("resume it with the same settings, start afresh with --overwrite, or pick another "
        "--study name")


class _Faces(list):
    name, fingerprint = "faces", "f" * 16


def _inputs(settings=SETTINGS, **changes):
    space = SimpleNamespace(name="s", path="s.toml", text="[train]\nepochs = 2\n", description="")
    return SimpleNamespace(**{"space": space, "settings": settings, "tuner_name": "grid",
                              "max_trials": 3, "holdout": 0.0, "faces": _Faces([0] * 12),
                              **changes})


def _scorer(**protocol):
    return SimpleNamespace(protocol=SimpleNamespace(as_dict=lambda: {**PROTOCOL, **protocol},
                                                    key=lambda: "k"))


@pytest.fixture
def study(tmp_path):
    """A study folder whose study.json a search made with SETTINGS, grid, 3 trials."""
    folder = tmp_path / "s"
    folder.mkdir()
    write_study_file(folder, study_record(SearchConfig(space="s.toml"), _inputs(), _scorer(),
                                          "grid", 3, oracle_seed=1))
    return folder


def test_the_study_records_the_oracle_seed_it_drew_with(study):
    assert files.read_json(study / "study.json")["oracle_seed"] == 1


def test_the_same_settings_resume(study, caplog):
    check_resumable(study, _inputs(), _scorer())
    check_resumable(study, _inputs(settings=replace(SETTINGS, repeats=3)), _scorer())  # allowed


@pytest.mark.parametrize("change, shown", [
    ({"epochs": 3}, "--epochs 2, not --epochs 3"),
    ({"eval_every": 2}, "--eval-every 1, not --eval-every 2"),
    ({"batch_size": 16}, "--batch-size 8, not --batch-size 16"),
    ({"precision": "mixed"}, "--precision float32, not --precision mixed"),
    ({"latent_dim": 64}, "--latent-dim 100, not --latent-dim 64"),
    ({"seed": 4}, "--seed 0, not --seed 4"),
    ({"flip": False}, "no --no-flip, not --no-flip"),
    ({"objective": "kid_heldout"}, "--objective kid, not --objective kid-heldout"),
    ({"rank_by": "best"}, "--rank-by final, not --rank-by best"),
    ({"margin": 0.2}, "--margin 0.1, not --margin 0.2"),
])
def test_a_changed_training_setting_is_refused_naming_it_and_both_values(study, change, shown):
    with pytest.raises(UsageError) as refused:
        check_resumable(study, _inputs(settings=replace(SETTINGS, **change)), _scorer())
    assert str(refused.value) == f"{study} holds a study made with {shown}; {HINT}"


@pytest.mark.parametrize("change, shown", [
    ({"tuner_name": "random"}, "--tuner grid, not --tuner random"),
    ({"holdout": 0.2}, "--holdout 0.0, not --holdout 0.2"),
])
def test_a_changed_search_setting_is_refused(study, change, shown):
    with pytest.raises(UsageError, match=f"made with {shown}; resume it"):
        check_resumable(study, _inputs(**change), _scorer())


def test_a_larger_max_trials_continues_the_search_and_a_smaller_one_is_refused(study):
    check_resumable(study, _inputs(max_trials=5), _scorer())
    with pytest.raises(UsageError) as refused:
        check_resumable(study, _inputs(max_trials=2), _scorer())
    assert str(refused.value) == (
        f"{study} holds a study of --max-trials 3, not 2: a search cannot shrink; give "
        f"--max-trials 3 or more to go on, or start afresh with --overwrite, or pick another "
        f"--study name")


def test_a_scoring_protocol_mismatch_names_the_field(study):
    with pytest.raises(UsageError) as refused:
        check_resumable(study, _inputs(), _scorer(n_fake=500))
    assert str(refused.value) == (f"{study} holds a study scored with n_fake 64, not 500 (a "
                                  f"different scoring protocol); {HINT}")


def test_a_users_own_tuner_is_not_held_to_the_search_settings(study):
    check_resumable(study, _inputs(tuner_name="random", max_trials=1), _scorer(), search=False)
    with pytest.raises(UsageError, match="--epochs 2, not --epochs 3; use the same options"):
        check_resumable(study, _inputs(settings=replace(SETTINGS, epochs=3)), _scorer(),
                        hint="use the same options", search=False)


def test_an_older_study_without_a_setting_is_not_refused_for_it(study):
    record = files.read_json(study / "study.json")
    del record["train"]["eval_every"], record["max_trials"]
    files.write_json(study / "study.json", record)
    check_resumable(study, _inputs(settings=replace(SETTINGS, eval_every=5), max_trials=1), _scorer())


def test_the_refused_settings_are_the_training_settings_but_those_a_resume_may_change():
    names = {name for name, _ in REFUSED_SETTINGS}
    # seeds added; the spending is the study's own from its first search
    may_change = {"repeats", "retrain_epochs", "settle", "max_repeats", "looks", "spending"}
    assert names == set(TrainSettings.__dataclass_fields__) - may_change | {
        "holdout", "tuner", "max_trials"}
    assert all(flag.startswith("--") for _, flag in REFUSED_SETTINGS)


# --- the feature network of a resumed study: its own, whatever the default is now ---


def _network(config):
    return config.scoring.features, config.scoring.features_weights


@pytest.fixture
def default_fer(monkeypatch):
    """The default network flipped to fer after the study was made with onet."""
    monkeypatch.setattr(record, "DEFAULT_FEATURES", "fer")


def test_a_study_without_features_records_the_network_it_scored_with(study):
    assert files.read_json(study / "study.json")["config"]["scoring"]["features"] == "onet"


def test_a_resumed_study_keeps_its_recorded_network_when_the_default_changes(study, default_fer):
    assert _network(with_study_network(SearchConfig(), study)) == ("onet", None)


def test_a_new_study_or_overwrite_takes_the_default_and_a_flag_wins(study, tmp_path, default_fer):
    assert _network(with_study_network(SearchConfig(), tmp_path / "new")) == ("fer", None)
    assert _network(with_study_network(SearchConfig(overwrite=True), study)) == ("fer", None)
    given = replace(SearchConfig(), scoring=replace(SearchConfig().scoring, features="inception"))
    assert _network(with_study_network(given, study)) == ("inception", None)


def test_an_older_record_without_config_keeps_the_protocols_network_and_weights(tmp_path,
                                                                                 default_fer):
    folder = tmp_path / "old"
    folder.mkdir()
    files.write_json(folder / "study.json", {"protocol": {"features": "inception-keras"}})
    assert _network(with_study_network(SearchConfig(), folder)) == ("inception-keras", None)
    files.write_json(folder / "study.json", {"config": {"scoring": {
        "features": "inception", "features_weights": "/w/inception.h5"}}})
    assert _network(with_study_network(SearchConfig(), folder)) == ("inception", "/w/inception.h5")
