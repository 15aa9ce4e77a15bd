"""The runs a study still wants, and which process trains which: runs as the unit of work. No TF.

A configuration's run k trains with seed `seed + k`, the same seeds for every
configuration, so configurations compare run for run. Once the tuner has made
its trials, the study wants, in this order:

  1. every completed trial's runs up to `repeats` (seeds a study is given later, or the
     runs after the first of a tuner that hands out one run per trial);
  2. with `settle`, once every trial has those: one more run of each configuration that an
     open decision names (`results.race`), up to `max_repeats`, one at a time per
     configuration, so each decision is looked at again after every new seed.

Several processes share the work through claim files, `trial_<id>/run_<k>.claim`,
created atomically (O_EXCL): a run is trained by the process that made its claim.
A claim whose owner has died (its process gone, or its worker's heartbeat silent)
is taken over.
"""


import json
import logging
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from tuner.common.lock import process_alive
from tuner.common.names import HYPERPARAMETERS
from tuner.results.runs import (
    RUN_DONE,
    evaluations_problem,
    json_problem,
    load_runs,
    read_json_or_none,
)

log = logging.getLogger(__name__)
CLAIM = "run_{repeat}.claim"
RUN_ENDED = RUN_DONE + ("failed",)  # a failed run is not trained again: its reason is the result
WORKERS_DIR = "workers"             # `distributed.cluster`'s heartbeats: <worker id>.json


@dataclass(frozen=True)
class Run:
    """One training run a study wants: trial, run number, seed, and why."""

    trial_id: str
    folder: Path
    repeat: int
    seed: int
    values: dict   # the trial's hyperparameters, keras-tuner's own (tuner/*) included
    why: str       # "seed 2 of 3", or the open decision it serves

    @property
    def claim_path(self):
        return self.folder / CLAIM.format(repeat=self.repeat)


@dataclass(frozen=True)
class Trial:
    """A completed trial as the queue sees it: its hyperparameters and its runs' seeds."""

    trial_id: str
    folder: Path
    values: dict
    ended: frozenset    # seeds of its runs that ended (completed, diverged or failed)
    started: frozenset  # seeds of every run it has, ended or not
    finished: frozenset = frozenset()  # seeds of its runs that count: completed or diverged

    @property
    def continued(self):
        """A Hyperband trial that continues another's training: new seeds cannot start here."""
        return self.values.get("tuner/initial_epoch", 0) > 0


def completed_trials(study_dir):
    """The study's trials keras-tuner completed, in trial order."""
    trials = []
    for path in sorted(Path(study_dir).glob("trial_*/trial.json")):
        if problem := json_problem(path):
            log.warning("%s: %s; its runs are left alone (--repair reruns what it can)", path,
                        problem)
            continue
        doc = read_json_or_none(path)
        if not isinstance(doc, dict) or doc.get("status") != "COMPLETED":
            continue
        if problem := evaluations_problem(path.parent):  # never "done", never trained over
            log.warning("%s: %s; its runs are left alone (--repair reruns the trial)",
                        path.parent / "evaluations.json", problem)
            continue
        runs = load_runs(path.parent)
        trials.append(Trial(str(doc.get("trial_id") or path.parent.name[len("trial_"):]),
                            path.parent, dict((doc.get("hyperparameters") or {}).get("values")
                                              or {}),
                            frozenset(r["seed"] for r in runs if r["status"] in RUN_ENDED),
                            frozenset(r["seed"] for r in runs if r["seed"] is not None),
                            frozenset(r["seed"] for r in runs if r["status"] in RUN_DONE)))
    return trials


def missing_runs(trials, settings):
    """Each trial's runs below `settings.repeats` that have not ended, first seeds first."""
    wanted = []
    for k, seed in enumerate(settings.seeds()):
        for trial in trials:
            if seed not in trial.ended and not trial.continued:
                wanted.append(Run(trial.trial_id, trial.folder, k, seed, trial.values,
                                  f"seed {seed} of {settings.repeats}"))
    return wanted


def race_runs(trials, settings, decisions, busy=()):
    """With every trial's first runs done: the next run of each configuration an open
    decision names (one run per configuration at a time: `busy` trial ids are training one),
    while it has fewer than `max_repeats` finished runs."""
    reasons = {}
    for decision in decisions:
        name = decision.label.split(": ")[0]  # a claim check's name, without its comparisons
        for trial_id in decision.trial_ids:
            reasons.setdefault(str(trial_id), name)
    wanted = []
    for trial in sorted(trials, key=lambda t: len(t.finished)):
        if trial.trial_id not in reasons or trial.trial_id in busy or trial.continued:
            continue
        if len(trial.finished) < settings.max_repeats:
            repeat = next_repeat(trial, settings)
            wanted.append(Run(trial.trial_id, trial.folder, repeat, settings.seed + repeat,
                              trial.values, f"open: {reasons[trial.trial_id]}"))
    return wanted


def next_repeat(trial, settings):
    """The run a configuration trains next: its first that has not ended. A run left
    `running` by a killed process comes before any later seed and is trained again from
    its start (`hypermodel.train_run` forgets what it left), so every seed is trained once."""
    return next(k for k in range(len(trial.ended) + 1) if settings.seed + k not in trial.ended)


def configuration(values):
    """`learning_rate=0.0005, image_size=32`: the searched values of a trial, for a log line."""
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                     for k, v in values.items() if k in HYPERPARAMETERS)


class Claims:
    """The claim files of one study, made and judged by one process (`owner`).

    Args:
        study_dir: the study folder.
        owner: this process' name: a worker's id, or "search".
        worker_timeout: seconds after which a worker's silent heartbeat means it died.
    """

    def __init__(self, study_dir, owner, worker_timeout=60.0):
        self.study_dir, self.owner, self.worker_timeout = Path(study_dir), owner, worker_timeout
        self.host = socket.gethostname()

    def take(self, run):
        """Claim `run` for this process; False if a live process holds it."""
        for _ in range(2):  # once more after taking a dead owner's claim away
            try:
                fd = os.open(run.claim_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                if not self._stale(run.claim_path):
                    return False
                run.claim_path.unlink(missing_ok=True)
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"owner": self.owner, "pid": os.getpid(), "host": self.host,
                           "time": time.time()}, f)
            return True
        return False

    def release(self, run):
        run.claim_path.unlink(missing_ok=True)

    def busy(self, trials):
        """Trial ids with a run claimed by a live process, and whether there are any."""
        return {trial.trial_id for trial in trials
                for path in trial.folder.glob(CLAIM.format(repeat="*"))
                if not self._stale(path)}

    def clear(self):
        """Forget every claim: a search of one process holds the study's lock, so any claim
        left is a dead process'."""
        for path in self.study_dir.glob("trial_*/" + CLAIM.format(repeat="*")):
            path.unlink(missing_ok=True)

    def _stale(self, path):
        holder = read_json_or_none(path)
        if not isinstance(holder, dict):  # being written this instant, or damaged: judge by age
            return _age(path) > self.worker_timeout
        if holder.get("host") == self.host and isinstance(holder.get("pid"), int):
            return not process_alive(holder["pid"])
        beat = self.study_dir / WORKERS_DIR / f"{holder.get('owner')}.json"
        return _age(beat) > self.worker_timeout


def _age(path):
    """Seconds since `path` was written (infinite when it is missing)."""
    try:
        return time.time() - path.stat().st_mtime
    except OSError:
        return float("inf")


def planned_looks(recorded, settings):
    """The looks at a study's decisions it plans, those it took before included.

    Each look spends an equal share of the error rate (`results.decisions`), so a
    study counts them: a new study plans 1, or with `settle` one per seed from
    `repeats` to `max_repeats`. Resumed (`recorded`: study.json's "train" before),
    it keeps its looks and adds one if `repeats` was raised, or the race's new seeds.
    """
    if not recorded:
        return settings.max_repeats - settings.repeats + 1 if settings.settle else 1
    looks = recorded.get("looks") or 1
    before = (recorded.get("max_repeats") if recorded.get("settle") else None) \
        or recorded.get("repeats") or 1
    if settings.settle:
        return looks + max(0, settings.max_repeats - before)
    return looks + (settings.repeats > before)
