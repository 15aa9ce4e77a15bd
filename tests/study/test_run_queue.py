"""The runs a study still wants and who trains which (study/run_queue.py): seeds missing below
--repeats, the race's next seeds, the looks a study plans, claim files between processes."""

import json
import os
import subprocess
import sys
import time

import pytest

from tests.helpers.study_folder import StudyWriter, run_entry
from tuner.common.config import TrainSettings
from tuner.results.race import OpenDecision
from tuner.study.run_queue import (
    Claims,
    completed_trials,
    missing_runs,
    planned_looks,
    race_runs,
)

LR = {"learning_rate": 2e-4, "beta_1": 0.5, "image_size": 32, "subset_fraction": 1.0}


def settings(**values):
    return TrainSettings(**{"epochs": 2, "batch_size": 8, "eval_every": 1, **values})


def study(tmp_path, seeds_by_trial, statuses=None, values=None):
    """A study whose trial k has ended runs of `seeds_by_trial[k]` (and a running one for each
    seed in `statuses`' 'running' list)."""
    writer = StudyWriter(tmp_path / "s", protocol={"features": "onet"})
    for trial_id, seeds in seeds_by_trial.items():
        runs = [run_entry(seed, 2, seed=seed) for seed in seeds]
        runs += [{**run_entry(seed, 0, seed=seed), "status": "running"}
                 for seed in (statuses or {}).get(trial_id, ())]
        rows = [{"repeat": r["repeat"], "seed": r["seed"], "epoch": 2, "kid": 0.02} for r in runs]
        writer.trial(trial_id, {**LR, **(values or {}).get(trial_id, {})}, evaluations=rows,
                     runs=runs)
    writer.trial("9", LR, status="RUNNING")  # keras-tuner's trial under way: not the queue's
    return writer.folder


def test_completed_trials_read_their_ended_and_started_seeds(tmp_path):
    folder = study(tmp_path, {"0": [0, 1], "1": [0]}, statuses={"1": [1]})
    trials = {t.trial_id: t for t in completed_trials(folder)}
    assert sorted(trials) == ["0", "1"]
    assert trials["0"].ended == {0, 1} and trials["1"].ended == {0}
    assert trials["1"].started == {0, 1}
    assert trials["0"].values["learning_rate"] == 2e-4


def test_missing_runs_are_every_trials_seeds_below_repeats_first_seeds_first(tmp_path):
    folder = study(tmp_path, {"0": [0, 1], "1": [0]}, statuses={"1": [1]})
    wanted = missing_runs(completed_trials(folder), settings(repeats=3, seed=0))
    # trial 1's seed 1 is running (a dead process' or another worker's): still wanted
    assert [(r.trial_id, r.repeat, r.seed) for r in wanted] == [("1", 1, 1), ("0", 2, 2),
                                                                ("1", 2, 2)]
    assert wanted[0].why == "seed 1 of 3"
    assert wanted[0].claim_path == folder / "trial_1" / "run_1.claim"


def test_missing_runs_follow_the_study_seed(tmp_path):
    folder = study(tmp_path, {"0": [7]})
    wanted = missing_runs(completed_trials(folder), settings(repeats=2, seed=7))
    assert [(r.repeat, r.seed) for r in wanted] == [(1, 8)]


def test_continued_hyperband_trials_get_no_new_seeds(tmp_path):
    folder = study(tmp_path, {"0": [0], "1": [0]},
                   values={"1": {"tuner/initial_epoch": 2, "tuner/epochs": 6}})
    trials = completed_trials(folder)
    assert [r.trial_id for r in missing_runs(trials, settings(repeats=2))] == ["0"]


def decision(*trial_ids):
    return OpenDecision(f"trial {trial_ids[0]} vs #1", tuple(trial_ids), "+0.01", "", None)


def test_the_race_gives_the_next_seed_to_each_configuration_an_open_decision_names(tmp_path):
    folder = study(tmp_path, {"0": [0, 1, 2], "1": [0, 1, 2, 3], "2": [0, 1, 2]})
    trials = completed_trials(folder)
    race = settings(repeats=3, settle=True, max_repeats=5)
    wanted = race_runs(trials, race, [decision("1", "0")])
    assert [(r.trial_id, r.seed) for r in wanted] == [("0", 3), ("1", 4)]  # fewest runs first
    assert wanted[0].why == "open: trial 1 vs #1"
    assert race_runs(trials, race, []) == []                      # nothing open: nothing wanted
    assert [r.trial_id for r in race_runs(trials, race, [decision("1", "0")], busy={"0"})] \
        == ["1"]                                                  # one run at a time per trial


def test_the_race_stops_at_max_repeats(tmp_path):
    folder = study(tmp_path, {"0": [0, 1, 2, 3, 4], "1": [0, 1, 2, 3]})
    race = settings(repeats=3, settle=True, max_repeats=5)
    assert [(r.trial_id, r.seed) for r in race_runs(completed_trials(folder), race,
                                                     [decision("1", "0")])] == [("1", 4)]


@pytest.mark.parametrize("recorded, given, looks", [
    (None, {}, 1),                                                   # a new fixed study
    (None, {"settle": True, "repeats": 3, "max_repeats": 10}, 8),    # seeds 3..10: 8 looks
    ({"repeats": 3, "looks": 1}, {"repeats": 3}, 1),                 # resumed as it was
    ({"repeats": 3, "looks": 1}, {"repeats": 5}, 2),                 # seeds added: one more look
    ({"repeats": 3, "looks": 1}, {"settle": True, "repeats": 3, "max_repeats": 10}, 8),
    ({"repeats": 3, "settle": True, "max_repeats": 10, "looks": 8},
     {"settle": True, "repeats": 3, "max_repeats": 10}, 8),          # the race resumed
    ({"repeats": 3, "settle": True, "max_repeats": 10, "looks": 8},
     {"settle": True, "repeats": 3, "max_repeats": 15}, 13),         # its cap raised
    ({"repeats": 1}, {"repeats": 1}, 1),                             # a study from before looks
])
def test_a_study_counts_the_looks_it_plans_and_those_it_took(recorded, given, looks):
    assert planned_looks(recorded, settings(**given)) == looks


def run_of(folder, trial_id="0", repeat=1):
    trial = next(t for t in completed_trials(folder) if t.trial_id == trial_id)
    return missing_runs([trial], settings(repeats=repeat + 1))[-1]


def test_a_run_is_claimed_by_one_process_and_released(tmp_path):
    folder = study(tmp_path, {"0": [0]})
    run = run_of(folder)
    mine, theirs = Claims(folder, "w1"), Claims(folder, "w2")
    assert mine.take(run) and not theirs.take(run)
    holder = json.loads(run.claim_path.read_text())
    assert holder["owner"] == "w1" and holder["pid"] == os.getpid()
    assert theirs.busy(completed_trials(folder)) == {"0"}
    mine.release(run)
    assert not run.claim_path.exists() and theirs.take(run)


def test_a_dead_process_claim_is_taken_over(tmp_path):
    folder = study(tmp_path, {"0": [0]})
    run = run_of(folder)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    run.claim_path.write_text(json.dumps({"owner": "w9", "pid": int(dead.stdout),
                                          "host": Claims(folder, "x").host, "time": 0}))
    claims = Claims(folder, "w1")
    assert claims.busy(completed_trials(folder)) == set()
    assert claims.take(run) and json.loads(run.claim_path.read_text())["owner"] == "w1"


def test_another_machines_claim_lives_as_long_as_its_workers_heartbeat(tmp_path):
    folder = study(tmp_path, {"0": [0]})
    run = run_of(folder)
    run.claim_path.write_text(json.dumps({"owner": "far", "pid": 1, "host": "elsewhere"}))
    beat = folder / "workers" / "far.json"
    beat.parent.mkdir()
    beat.write_text("{}")
    claims = Claims(folder, "w1", worker_timeout=60)
    assert not claims.take(run)                   # its heartbeat is fresh
    old = time.time() - 120
    os.utime(beat, (old, old))
    assert claims.take(run)                       # silent for 2 minutes: dead


def test_a_search_of_one_process_clears_claims_left_by_dead_ones(tmp_path):
    folder = study(tmp_path, {"0": [0], "1": [0]})
    for trial_id in ("0", "1"):
        assert Claims(folder, "old").take(run_of(folder, trial_id))
    Claims(folder, "search").clear()
    assert not list(folder.glob("trial_*/*.claim"))


def test_a_run_left_running_by_a_killed_race_is_trained_again_before_any_later_seed(tmp_path):
    folder = study(tmp_path, {"0": [0, 1], "1": [0, 1, 3]}, statuses={"0": [2], "1": [2]})
    race = settings(repeats=2, settle=True, max_repeats=4)
    wanted = race_runs(completed_trials(folder), race, [decision("1", "0")])
    assert [(r.trial_id, r.repeat, r.seed) for r in wanted] == [("0", 2, 2), ("1", 2, 2)]


def test_the_race_cap_counts_finished_runs_only(tmp_path):
    folder = study(tmp_path, {"0": [0, 1, 2]}, statuses={"0": [3]})  # seed 3 killed mid-run
    race = settings(repeats=2, settle=True, max_repeats=4)
    assert [(r.repeat, r.seed) for r in race_runs(completed_trials(folder), race,
                                                  [decision("0")])] == [(3, 3)]
    done = study(tmp_path / "done", {"0": [0, 1, 2, 3]})
    assert race_runs(completed_trials(done), race, [decision("0")]) == []


def test_a_claim_of_an_exited_but_unreaped_process_is_taken_over(tmp_path):
    """A zombie answers signal 0; its claim must not look alive (a launcher slow to reap would
    otherwise hold the run for ever)."""
    from tuner.common.lock import process_alive

    folder = study(tmp_path, {"0": [0]})
    run = run_of(folder)
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.time() + 60
    while process_alive(child.pid):  # exits; not reaped (no wait) until the end of the test
        assert time.time() < deadline, "the child did not exit"
        time.sleep(0.05)
    run.claim_path.write_text(json.dumps({"owner": "w9", "pid": child.pid,
                                          "host": Claims(folder, "x").host, "time": 0}))
    try:
        assert os.path.exists(f"/proc/{child.pid}")          # still there: a zombie
        assert Claims(folder, "w1").take(run)
    finally:
        child.wait()
