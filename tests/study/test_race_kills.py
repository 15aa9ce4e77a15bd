"""The race keeps every run exactly once across kill -9 at any moment (study/racing.py with
study/run_queue.py and the TrialRecord): a racing search killed at random moments, many times,
and resumed each time as the search resumes (claims of the dead process cleared, then the
race), ends with the very runs of a race never interrupted. Training is faked in-process:
each run writes evaluations.json through the real TrialRecord, its scores a fixed function
of configuration, seed and epoch; a kill is an exception raised just before or just after
any write of evaluations.json (files.write_json is atomic, so these are all the states a
kill -9 can leave)."""

import json
import random
from types import SimpleNamespace

import numpy as np
import pytest

from tests.helpers.study_folder import StudyWriter
from tuner.common import files
from tuner.common.config import TrainSettings
from tuner.study.evaluation import TrialRecord, forget_run
from tuner.study.racing import Racing
from tuner.study.run_queue import Claims, planned_looks

PROTOCOL = {"features": "onet", "eval_size": 32, "rank_by": "final"}
# Three configurations: two close (the race gives them seeds up to the cap), one far worse.
KIDS = {"0": 0.0300, "1": 0.0305, "2": 0.0600}
SETTINGS = TrainSettings(epochs=2, batch_size=8, eval_every=1, repeats=2, settle=True,
                         max_repeats=5, seed=0)
CONFIG = SimpleNamespace(max_consecutive_failures=3, max_epochs_total=None, time_budget=None)


class Killed(BaseException):
    """kill -9: nothing of the process runs after it (BaseException: no handler catches it)."""


class FakeHypermodel:
    """`train_run` as DCGANHyperModel's: forget what a killed process left of the run, then
    record it running, each evaluation, and its end; the scores depend on configuration,
    seed and epoch only."""

    settings = SETTINGS

    def train_run(self, trial_dir, values, seed, worker=None):
        repeat = seed - self.settings.seed
        path = trial_dir / "evaluations.json"
        forget_run(path, repeat)
        record = TrialRecord(path, PROTOCOL, worker=worker)
        record.run(repeat, seed, status="running")
        rng = np.random.default_rng([int(values["trial"]), seed])
        history = []
        for epoch in range(1, self.settings.epochs + 1):
            kid = KIDS[values["trial"]] * (1 + 0.5 / epoch) + float(rng.normal(0, 0.002))
            row = {"repeat": repeat, "seed": seed, "epoch": epoch, "kid": kid, "fd": kid * 100}
            history.append(row)
            record.add(row)
        record.run(repeat, seed, status="completed", epochs=self.settings.epochs)
        return SimpleNamespace(history=history, as_run=lambda: {"status": "completed"})


def make_study(folder):
    writer = StudyWriter(folder, PROTOCOL)
    writer.study(objective="kid", rank_by="final", repeats=SETTINGS.repeats, holdout=0.0,
                 protocol=PROTOCOL, train={"looks": planned_looks(None, SETTINGS)})
    for trial_id in KIDS:
        writer.trial(trial_id, {"learning_rate": 1e-4, "trial": trial_id})
    return folder


def search(folder):
    """One search process' race, as `runner.run_search` resumes one."""
    claims = Claims(folder, "search")
    claims.clear()
    Racing(FakeHypermodel(), folder, CONFIG, claims).run()


def final_runs(folder):
    """Every trial's runs and evaluations, without wall times."""
    out = {}
    for trial_id in KIDS:
        doc = json.loads((folder / f"trial_{trial_id}" / "evaluations.json").read_text())
        out[trial_id] = ([{k: v for k, v in r.items() if k != "seconds"} for r in doc["repeats"]],
                         sorted(doc["evaluations"], key=lambda e: (e["repeat"], e["epoch"])))
    return out


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    folder = make_study(tmp_path_factory.mktemp("race") / "s")
    search(folder)
    return final_runs(folder)


def test_the_uninterrupted_race_gives_the_close_configurations_seeds_up_to_the_cap(
        uninterrupted):
    seeds = {t: [r["seed"] for r in runs] for t, (runs, _) in uninterrupted.items()}
    assert seeds["0"] == seeds["1"] == [0, 1, 2, 3, 4]   # never settled: raced to the cap
    assert len(seeds["2"]) < 5                           # settled worse early
    assert all(r["status"] == "completed" for runs, _ in uninterrupted.values() for r in runs)


class KillAt:
    """files.write_json, but the process dies just before (or after) write number `at`."""

    def __init__(self, monkeypatch, at, after):
        self.count, self.at, self.after, self.real = 0, at, after, files.write_json
        monkeypatch.setattr(files, "write_json", self)

    def __call__(self, path, doc, *args, **kwargs):
        self.count += 1
        if self.count == self.at and not self.after:
            raise Killed
        self.real(path, doc, *args, **kwargs)
        if self.count == self.at:
            raise Killed


@pytest.mark.parametrize("seed", range(4))
def test_a_race_killed_at_random_moments_ends_with_the_runs_of_an_uninterrupted_one(
        tmp_path, monkeypatch, uninterrupted, seed):
    rng = random.Random(seed)
    folder = make_study(tmp_path / "s")
    kills = 0
    while True:
        with monkeypatch.context() as patch:
            KillAt(patch, at=rng.randint(1, 12), after=rng.random() < 0.5)
            try:
                search(folder)
                break
            except Killed:
                kills += 1
    assert kills >= 10  # killed in every part of the race: first runs, raced seeds, the end
    assert final_runs(folder) == uninterrupted
    assert not list(folder.glob("trial_*/*.claim"))
