"""Damaged study files as every reader sees them: named, never "done", never a TypeError."""

import csv
import io
import json
import logging

import numpy as np
import pytest

from tests.helpers.claims_study import CLAIMS, GRID, make_study
from tests.helpers.repeated_study import write_repeated_study
from tuner.common.errors import UsageError
from tuner.report.tables import render
from tuner.report.verdict_text import render as render_verdicts
from tuner.results.rankings import rank_studies
from tuner.results.snapshot import read_study
from tuner.results.verdicts import weigh
from tuner.study.repair import find_damage, rebuilt_oracle, values_hash

TRUNCATED = "not valid JSON (truncated?): "


def _truncate(path):
    text = path.read_text()
    path.write_text(text[:len(text) // 2])


def _set_kid(path, value):
    doc = json.loads(path.read_text())
    doc["evaluations"][-1]["kid"] = value
    path.write_text(json.dumps(doc))


def _row(study, trial_id):
    return next(row for row in study.rows if row["trial_id"] == trial_id)


def test_a_truncated_evaluations_file_makes_its_trial_damaged_not_done(tmp_path):
    folder = write_repeated_study(tmp_path / "s")
    _truncate(folder / "trial_1" / "evaluations.json")
    study = read_study(folder)
    row = _row(study, "1")
    assert row["status"] == "DAMAGED" and row["rank"] is None and row["kid"] is None
    assert row["damaged"].startswith("trial_1/evaluations.json: " + TRUNCATED)
    assert row["hyperparameters"]["learning_rate"] == 5e-4  # its trial.json still reads
    assert study.rows[-1] is row  # after every other trial
    assert [r["rank"] for r in study.rows if r is not row] == [1, 2, 3, 4]
    text = render(rank_studies([study]), width=200)
    assert "s: 5 trials (3 done, 1 done*, 1 damaged)" in text
    assert "damaged (files that cannot be read; not ranked:" in text
    assert f"  trial 1: {row['damaged']}" in text.splitlines()


def test_the_damaged_field_and_status_in_json_and_csv(tmp_path):
    folder = write_repeated_study(tmp_path / "s")
    _set_kid(folder / "trial_2" / "evaluations.json", "abc")
    records = json.loads(render(rank_studies([read_study(folder)]), "json"))
    damaged = [r for r in records if r["damaged"]]
    assert [(r["trial_id"], r["status"], r["damaged"]) for r in damaged] == [
        ("2", "DAMAGED", "trial_2/evaluations.json: kid 'abc' at epoch 50 is not a number")]
    assert all(r["damaged"] is None for r in records if r["trial_id"] != "2")
    rows = list(csv.DictReader(io.StringIO(render(rank_studies([read_study(folder)]), "csv"))))
    assert [(r["trial_id"], r["damaged"]) for r in rows if r["damaged"]] == [
        ("2", "trial_2/evaluations.json: kid 'abc' at epoch 50 is not a number")]


def test_a_truncated_trial_file_is_damaged_with_its_configuration_unknown(tmp_path):
    folder = write_repeated_study(tmp_path / "s")
    _truncate(folder / "trial_0" / "trial.json")
    row = _row(read_study(folder), "0")
    assert row["status"] == "DAMAGED" and row["damaged"].startswith(
        "trial_0/trial.json: " + TRUNCATED)
    assert row["hyperparameters"]["learning_rate"] is None


def test_a_truncated_study_file_is_named_not_ranked_by_a_guess(tmp_path):
    folder = write_repeated_study(tmp_path / "s")
    _truncate(folder / "study.json")
    with pytest.raises(UsageError, match=rf"^{folder / 'study.json'}: not valid JSON \(truncated"
                       r"\?\): .*; run the study's search again with --repair to rewrite it"):
        read_study(folder)


@pytest.mark.parametrize("damage", ["truncated", "abc"])
def test_claims_skip_a_damaged_trial_saying_so(tmp_path, damage):
    folder = make_study(tmp_path, CLAIMS, GRID)
    path = folder / "trial_3" / "evaluations.json"
    _truncate(path) if damage == "truncated" else _set_kid(path, "abc")
    study = read_study(folder)
    verdicts = weigh(folder)
    text = render_verdicts(study, verdicts, width=1000)
    line = text.splitlines()[1]
    assert line.startswith("skipped, damaged: trial_3/evaluations.json: ")
    assert line.endswith("(rerun them: `python -m tuner.search` with the study's options and "
                         "--repair)")
    assert json.loads(render_verdicts(study, verdicts, "json"))["damaged"] == [
        _row(study, "3")["damaged"]]


def test_the_html_report_lists_a_damaged_trial(tmp_path):
    from tuner.report.html import write_report

    folder = write_repeated_study(tmp_path / "s")
    _set_kid(folder / "trial_4" / "evaluations.json", "abc")
    out = tmp_path / "r.html"
    write_report(read_study(folder), out)
    assert "trial 4: trial_4/evaluations.json: kid &#x27;abc&#x27; at epoch" in out.read_text()


def test_the_run_queue_leaves_a_damaged_trial_alone(tmp_path, caplog):
    from tuner.study.run_queue import completed_trials

    folder = write_repeated_study(tmp_path / "s")
    _truncate(folder / "trial_1" / "evaluations.json")
    with caplog.at_level(logging.WARNING):
        ids = [t.trial_id for t in completed_trials(folder)]
    assert ids == ["0", "2", "3", "4"]
    assert f"{folder / 'trial_1' / 'evaluations.json'}: {TRUNCATED}" in caplog.text


def test_a_record_will_not_write_over_a_damaged_evaluations_file(tmp_path):
    from tuner.study.evaluation import TrialRecord

    path = tmp_path / "evaluations.json"
    path.write_text('{"evaluations": [{"epo')
    with pytest.raises(UsageError, match=rf"^{path}: cannot be read \(.*\); run the search "
                       r"again with --repair"):
        TrialRecord(path, {}).run(1, seed=1)
    assert path.read_text() == '{"evaluations": [{"epo'


def test_find_damage_names_each_file_and_a_deleted_trial(tmp_path):
    folder = write_repeated_study(tmp_path / "s")
    (folder / "oracle.json").write_text(json.dumps(
        {"start_order": ["0", "1", "2", "3", "4", "5"], "end_order": [], "id_to_hash": {}}))
    _truncate(folder / "trial_1" / "evaluations.json")
    _set_kid(folder / "trial_2" / "evaluations.json", None)  # a missing score: not damage
    _truncate(folder / "trial_3" / "trial.json")
    found = [(d.path.relative_to(folder).as_posix(), d.problem.split(":")[0], d.lost)
             for d in find_damage(folder)]
    assert found == [("trial_1/evaluations.json", "not valid JSON (truncated?)", False),
                     ("trial_3/trial.json", "not valid JSON (truncated?)", True),
                     ("trial_5", "folder missing (oracle.json names it)", True)]


def test_a_rebuilt_oracle_holds_the_trials_order_ends_and_hashes(tmp_path):
    folder = write_repeated_study(tmp_path / "s")
    trial = json.loads((folder / "trial_4" / "trial.json").read_text())
    trial["status"] = "RUNNING"
    (folder / "trial_4" / "trial.json").write_text(json.dumps(trial))
    oracle = rebuilt_oracle(folder, forgotten={"3"})
    assert oracle["start_order"] == ["0", "1", "2", "4"]
    assert oracle["end_order"] == ["0", "1", "2"] and oracle["retry_queue"] == ["4"]
    assert oracle["id_to_hash"]["4"] == values_hash(trial["hyperparameters"]["values"])
    # keras-tuner's own hash of the same values (Oracle._compute_values_hash)
    import hashlib
    values = {"b": 0.5, "a": 2}
    assert values_hash(values) == hashlib.sha256(b"a=2b=0.5").hexdigest()[:32]


def test_a_truncated_checkpoint_is_set_aside_and_its_seed_starts_afresh(tmp_path, caplog):
    from tuner.study.checkpoint import read_checkpoint_state

    path = tmp_path / "seed_1" / "checkpoint.npz"
    path.parent.mkdir()
    buffer = io.BytesIO()
    np.savez(buffer, state=np.array(json.dumps({"epochs": 4})), v0000=np.zeros(3))
    path.write_bytes(buffer.getvalue()[:100])
    with caplog.at_level(logging.WARNING):
        assert read_checkpoint_state(path) is None
    assert not path.exists()
    assert (tmp_path / "seed_1" / "checkpoint.npz.damaged").read_bytes() == \
        buffer.getvalue()[:100]
    assert f"{path}: damaged, cannot be read (" in caplog.text
    assert "set aside as checkpoint.npz.damaged, this seed trains afresh" in caplog.text
    path.write_bytes(buffer.getvalue())
    assert read_checkpoint_state(path) == {"epochs": 4}  # a whole one still reads
