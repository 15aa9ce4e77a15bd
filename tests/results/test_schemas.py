"""Every study file checked against its documented shape (results/schemas.py): a file that
parses but has the wrong shape is damaged, named with the field at fault, and --repair sets it
aside; eye.json's damage stops no reader; no reader blocks on a FIFO; nothing is deleted."""

import json
import logging
import os
import threading

import pytest

from tests.helpers.repeated_study import write_repeated_study
from tuner.common.errors import UsageError
from tuner.results.schemas import SCHEMAS, describe, shape_problem
from tuner.results.snapshot import read_study
from tuner.study.repair import check_study, find_damage


def _row(study, trial_id):
    return next(row for row in study.rows if row["trial_id"] == trial_id)


def _edit(path, change):
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


def _infinite(doc):
    for row in doc["evaluations"]:
        row["kid"] = float("inf")


@pytest.mark.parametrize("change, problem", [
    (lambda d: d.pop("evaluations"), "'evaluations' is a required property"),
    (_infinite, "kid inf at epoch 25 is not a finite number"),
    (lambda d: d["evaluations"][0].update(epoch=None),
     "`evaluations[0].epoch`: None is not of type 'integer'"),
    (lambda d: d.update(repeats=5), "`repeats`: 5 is not of type 'array'"),
    (lambda d: d["repeats"][1].update(status="done"),
     "`repeats[1].status`: 'done' is not one of ['running', 'completed', 'diverged', 'failed']"),
    (lambda d: d["evaluations"][1].update(fd_levels=float("inf")),
     "`evaluations[1].fd_levels`: inf is not a finite number"),
])
def test_an_evaluations_file_of_the_wrong_shape_is_damaged_naming_the_field(tmp_path, change,
                                                                            problem):
    folder = write_repeated_study(tmp_path / "s")
    _edit(folder / "trial_1" / "evaluations.json", change)
    row = _row(read_study(folder), "1")
    assert row["status"] == "DAMAGED" and row["rank"] is None and row["kid"] is None
    assert row["damaged"] == f"trial_1/evaluations.json: {problem}"
    assert [d.text(folder) for d in find_damage(folder)] == [
        row["damaged"], "oracle.json: missing beside the trials"]


@pytest.mark.parametrize("change, problem", [
    (lambda d: d.pop("hyperparameters"), "'hyperparameters' is a required property"),
    (lambda d: d.update(hyperparameters="x"), "`hyperparameters`: 'x' is not of type 'object'"),
    (lambda d: d["hyperparameters"].update(values=[]),
     "`hyperparameters.values`: [] is not of type 'object'"),
])
def test_a_trial_file_without_its_configuration_is_damaged_not_done(tmp_path, change, problem):
    folder = write_repeated_study(tmp_path / "s")
    _edit(folder / "trial_2" / "trial.json", change)
    row = _row(read_study(folder), "2")
    assert (row["status"], row["damaged"]) == ("DAMAGED", f"trial_2/trial.json: {problem}")
    from tuner.study.run_queue import completed_trials

    assert [t.trial_id for t in completed_trials(folder)] == ["0", "1", "3", "4"]


@pytest.mark.parametrize("change, field", [
    (lambda d: d.update(repeats="x"), "`repeats`: 'x' is not of type 'integer'"),
    (lambda d: d.update(train={"epochs": None}), "`train.epochs`: None is not of type 'integer'"),
    (lambda d: d.update(data="x"), "`data`: 'x' is not of type 'object'"),
])
def test_a_study_file_of_the_wrong_shape_is_named_with_its_field(tmp_path, change, field):
    folder = write_repeated_study(tmp_path / "s")
    _edit(folder / "study.json", change)
    with pytest.raises(UsageError, match=rf"^{folder / 'study.json'}: {_re(field)}; run the "
                                         r"study's search again with --repair"):
        read_study(folder)
    assert f"study.json: {field}" in [d.text(folder) for d in find_damage(folder)]


def _re(text):
    import re

    return re.escape(text)


def test_a_wrong_shaped_study_file_is_refused_on_resume_as_damaged_not_as_another_study(
        tmp_path):
    from tuner.study.record import check_resumable

    folder = write_repeated_study(tmp_path / "s")
    _edit(folder / "study.json", lambda d: d.update(space="x"))
    with pytest.raises(UsageError, match=r"study\.json: `space`: 'x' is not of type 'object'; "
                                         r"the study cannot resume on it: run its search with "
                                         r"--repair"):
        check_resumable(folder, None, None)


def test_a_damaged_eye_file_stops_no_reader_and_repair_sets_it_aside(tmp_path, caplog):
    folder = write_repeated_study(tmp_path / "s")
    (folder / "eye.json").write_text(json.dumps({"sessions": [], "judgements": "x"}))
    with caplog.at_level(logging.WARNING):
        study = read_study(folder)
    assert study.eye is None and _row(study, "0")["rank"] == 1
    assert "eye.json: `judgements`: 'x' is not of type 'array'" in caplog.text
    (folder / "oracle.json").write_text("{}")  # the study's other files are sound
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        check_study(folder, repair=False, tuner_name="grid")  # the search goes on
    assert "the search goes on without it (--repair sets it aside)" in caplog.text
    check_study(folder, repair=True, tuner_name="grid")
    assert not (folder / "eye.json").exists()
    [aside] = (folder / "damaged").glob("*/eye.json")
    assert json.loads(aside.read_text())["judgements"] == "x"


def test_repair_sets_a_rerun_trials_tensorboard_run_aside_with_it(tmp_path):
    folder = write_repeated_study(tmp_path / "s")
    _edit(folder / "trial_1" / "evaluations.json", lambda d: d.pop("evaluations"))
    events = folder / "tensorboard" / "trial_1" / "events.out.tfevents.1"
    events.parent.mkdir(parents=True)
    events.write_bytes(b"curves")
    check_study(folder, repair=True, tuner_name="grid")
    assert not events.parent.exists()
    [stamp] = (folder / "damaged").iterdir()
    assert (stamp / "tensorboard" / "trial_1" / "events.out.tfevents.1").read_bytes() == b"curves"
    assert (stamp / "trial_1" / "evaluations.json").is_file()
    assert json.loads((folder / "trial_1" / "trial.json").read_text())["status"] == "RUNNING"
    assert "1" in json.loads((folder / "oracle.json").read_text())["retry_queue"]


def test_no_reader_blocks_on_a_fifo_in_place_of_a_study_file(tmp_path):
    folder = write_repeated_study(tmp_path / "s")
    path = folder / "trial_3" / "evaluations.json"
    path.unlink()
    os.mkfifo(path)
    read = {}
    reader = threading.Thread(target=lambda: read.update(study=read_study(folder)), daemon=True)
    reader.start()
    reader.join(120)  # a bound, not a timing: a reader that opens the FIFO never returns
    if reader.is_alive():
        with open(path, "w"):  # let the blocked reader go, then fail
            pass
        pytest.fail("read_study blocked on a FIFO")
    row = _row(read["study"], "3")
    assert row["damaged"] == "trial_3/evaluations.json: not a regular file (a FIFO)"


def test_every_file_the_tool_writes_fits_its_schema(tmp_path):
    folder = write_repeated_study(tmp_path / "s")
    for name in ("study.json", "trial_0/trial.json", "trial_0/evaluations.json"):
        assert shape_problem(json.loads((folder / name).read_text()), name) is None
    from tuner.results.eye_file import empty
    from tuner.study.repair import rebuilt_oracle

    assert shape_problem(rebuilt_oracle(folder), "oracle.json") is None
    assert shape_problem(empty(), "eye.json") is None


def test_the_schemas_render_as_a_format_reference():
    text = describe()
    for name in SCHEMAS:
        assert f"### {name}" in text
    assert "- `evaluations` (array, required)" in text
    assert "- `repeats[].status` (one of running, completed, diverged, failed): a run counts " \
           "once completed or diverged" in text
    assert "- `hyperparameters.values` (object, required): the configuration" in text


def test_the_format_reference_in_results_readme_is_the_schemas_own():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "results" / "README.md").read_text()
    assert readme.endswith(describe()), "regenerate results/README.md's file formats"


def test_a_retrain_summary_of_the_wrong_shape_is_left_out_saying_so(tmp_path, caplog):
    folder = write_repeated_study(tmp_path / "s")
    path = folder / "retrain" / "trial_0" / "retrain.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"epochs": 4, "n_completed": 2, "complete": True, "final": {}}))
    with caplog.at_level(logging.WARNING):
        assert _row(read_study(folder), "0")["retrain"] is None
    assert "`final`: 'kid' is a required property" in caplog.text


def test_a_judgement_on_a_study_that_cannot_be_written_is_one_line(tmp_path, monkeypatch):
    import errno

    import filelock

    from tuner.common.errors import Unwritable
    from tuner.results import eye_file

    def read_only(self, *args, **kwargs):  # as a read-only study answers (tests may run as root)
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(filelock.FileLock, "acquire", read_only)
    with pytest.raises(Unwritable, match=r"^cannot write .*\.eye\.json\.lock \(Read-only file "
                                         r"system\): its folder is not writable"):
        eye_file.update(tmp_path, lambda doc: None)
