"""evaluations.json as several runs of one trial write it (study/evaluation.py TrialRecord): each
record merges its own runs into the file, runs already there stay exactly as they were."""

import json

from tuner.study.evaluation import TrialRecord, forget_run

PROTOCOL = {"features": "onet", "n_fake": 64}


def row(repeat, epoch, kid):
    return {"repeat": repeat, "seed": repeat, "epoch": epoch, "kid": kid}


def read(path):
    return json.loads(path.read_text())


def test_runs_of_two_records_are_merged_not_overwritten(tmp_path):
    path = tmp_path / "evaluations.json"
    first, second = TrialRecord(path, PROTOCOL), TrialRecord(path, PROTOCOL, worker="w2")
    first.run(0, 0, status="running")
    second.run(1, 1, status="running")
    first.add(row(0, 1, 0.5))
    second.add(row(1, 1, 0.4))
    first.run(0, 0, status="completed", epochs=1)
    doc = read(path)
    assert [(r["repeat"], r["status"]) for r in doc["repeats"]] == [(0, "completed"),
                                                                    (1, "running")]
    assert doc["repeats"][1]["worker"] == "w2" and "worker" not in doc["repeats"][0]
    assert sorted((e["repeat"], e["kid"]) for e in doc["evaluations"]) == [(0, 0.5), (1, 0.4)]
    assert doc["protocol"] == PROTOCOL
    assert isinstance(doc["repeats"][0]["seconds"], float)  # an ended run keeps its wall time


def test_a_run_added_later_leaves_the_runs_there_byte_for_byte(tmp_path):
    path = tmp_path / "evaluations.json"
    old = TrialRecord(path, PROTOCOL)
    old.run(0, 0, status="running")
    old.add(row(0, 1, 0.5))
    old.run(0, 0, status="completed", epochs=1)
    before = read(path)
    added = TrialRecord(path, PROTOCOL)
    added.run(3, 3, status="running")
    added.add(row(3, 1, 0.3))
    after = read(path)
    assert after["repeats"][0] == before["repeats"][0]
    assert [e for e in after["evaluations"] if e["repeat"] == 0] == before["evaluations"]
    assert [r["repeat"] for r in after["repeats"]] == [0, 3]


def test_a_file_from_before_repeats_keeps_its_run_as_run_0(tmp_path):
    path = tmp_path / "evaluations.json"
    path.write_text(json.dumps({"protocol": PROTOCOL, "evaluations": [{"epoch": 1, "kid": 0.5}]}))
    TrialRecord(path, PROTOCOL).run(1, 1, status="running")
    doc = read(path)
    assert [(r["repeat"], r["status"]) for r in doc["repeats"]] == [(0, "completed"),
                                                                    (1, "running")]
    assert doc["evaluations"] == [{"epoch": 1, "kid": 0.5}]


def test_forgetting_an_unfinished_run_keeps_the_others(tmp_path):
    path = tmp_path / "evaluations.json"
    record = TrialRecord(path, PROTOCOL)
    for repeat in (0, 1):
        record.run(repeat, repeat, status="running")
        record.add(row(repeat, 1, 0.5))
    forget_run(path, 1)
    doc = read(path)
    assert [r["repeat"] for r in doc["repeats"]] == [0]
    assert [e["repeat"] for e in doc["evaluations"]] == [0]
