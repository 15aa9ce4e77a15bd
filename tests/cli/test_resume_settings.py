"""A study resumed with other training settings is refused in one line, before any training."""

import shutil

import pytest


@pytest.fixture
def finished(tiny_study, tmp_path, monkeypatch):
    """A copy of the finished two-trial tiny study (2 epochs), the current folder its own."""
    cwd = shutil.copytree(tiny_study.cwd, tmp_path / "cwd")
    monkeypatch.chdir(cwd)
    return cwd, list(tiny_study.result.args[3:])


def _snapshot(folder):
    """Every file of `folder` but the lock (it names the last process that held the study)."""
    from tuner.common.lock import LOCK_FILES

    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name not in LOCK_FILES}


@pytest.mark.parametrize("flags, shown", [
    (["--epochs", "3"], "--epochs 2, not --epochs 3"),
    (["--eval-every", "2"], "--eval-every 1, not --eval-every 2"),
    (["--batch-size", "4"], "--batch-size 8, not --batch-size 4"),
    (["--tuner", "random"], "--tuner grid, not --tuner random"),
])
def test_a_finished_study_rerun_with_another_setting_exits_2_and_changes_nothing(
        finished, flags, shown, capsys):
    from tuner.search import main

    cwd, args = finished
    before = _snapshot(cwd / "out" / "tiny")
    assert main([*args, "--quiet", *flags]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        f"error: out/tiny holds a study made with {shown}; resume it with the same settings, "
        f"start afresh with --overwrite, or pick another --study name"]
    assert _snapshot(cwd / "out" / "tiny") == before  # study.json and the trials untouched


def test_a_smaller_max_trials_is_refused_and_a_larger_one_goes_on(finished, capsys):
    from tuner.search import main

    _, args = finished
    assert main([*args, "--quiet", "--max-trials", "1"]) == 2
    assert capsys.readouterr().err.startswith(
        "error: out/tiny holds a study of --max-trials 2, not 1: a search cannot shrink")


def test_a_worker_with_other_settings_than_its_chiefs_study_is_refused(finished, monkeypatch,
                                                                       capsys):
    """A worker started with --epochs 3 against a chief whose study says 2: refused before it
    asks the chief for a trial."""
    from tuner.search import main
    from tuner.study import runner

    monkeypatch.setattr(runner, "join_chief", lambda role, study_dir: None)  # as if admitted
    _, args = finished
    assert main([*args, "--quiet", "--epochs", "3", "--worker", "127.0.0.1:1",
                 "--worker-id", "w1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.splitlines() == [err] and err.startswith(
        "error: out/tiny holds a study made with --epochs 2, not --epochs 3; a worker needs")


def test_a_study_resumed_without_features_keeps_its_network_when_the_default_changes(
        finished, monkeypatch, capsys):
    """Made with onet; the default is now fer: resuming without --features goes on with onet,
    and --features fer is refused, naming both networks."""
    from tuner.common.files import read_json
    from tuner.search import main
    from tuner.study import record

    cwd, args = finished
    monkeypatch.setattr(record, "DEFAULT_FEATURES", "fer")
    before = _snapshot(cwd / "out" / "tiny")
    assert main([*args, "--quiet"]) == 0, capsys.readouterr().err
    study = read_json(cwd / "out" / "tiny" / "study.json")
    assert (study["protocol"]["features"], study["config"]["scoring"]["features"]) == ("onet", "onet")
    assert {p for p in before if p.parts[0].startswith("trial_")} <= set(
        _snapshot(cwd / "out" / "tiny"))
    capsys.readouterr()
    assert main([*args, "--quiet", "--features", "fer"]) == 2
    assert capsys.readouterr().err.strip().startswith(
        "error: out/tiny holds a study scored with features 'onet', not 'fer'")
