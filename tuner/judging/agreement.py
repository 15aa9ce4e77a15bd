"""Each feature network's agreement with the eye: the runs the judges saw are rescored from
their final samples by every network available offline, against the study's own reference,
and the numbers kept in <study>/eye_rescores.json (tuner.results.eye_file), so a network
rescores a run once. Needs TensorFlow (the networks); the counting is
tuner.results.eye_scores.agreement_table.

A run keeps its last scored samples as final_samples.npz (uint8 at the training size, the
protocol's n_fake of them, about 1-4 MB compressed at 1000 samples of 64x64) next to its
sample grids; the samples were quantised to uint8 before they were scored, so the study's own
network reproduces the recorded score exactly. Runs trained before final samples were kept
are left out and counted.
"""

import hashlib
import logging
import os
from dataclasses import replace
from pathlib import Path

import numpy as np

from tuner.common import files
from tuner.common.errors import UsageError
from tuner.results import eye_file as store
from tuner.results.eye_scores import agreement_table, judged_runs, run_key
from tuner.results.snapshot import read_study
from tuner.study.evaluation import FINAL_SAMPLES_FILE

logger = logging.getLogger(__name__)


def samples_path(trial_dir, run):
    """Where run `run` of a trial keeps its final samples: samples/ for run 0,
    samples/repeat_<run>/ for the others (beside its sample grids)."""
    samples = Path(trial_dir) / "samples"
    return (samples if int(run) == 0 else samples / f"repeat_{int(run)}") / FINAL_SAMPLES_FILE


def measure(study_dir, networks=None):
    """Rescore the judged runs of the study at `study_dir` (cached) and count each network's
    agreement with the eye: `agreement_table`, plus "networks" (used, own first), "skipped"
    ({network: why}), "own" (the study's network) and "reproduced" (own-network rescores equal
    to the recorded final score, of those checked).

    Raises:
        UsageError: no pair judgements with runs in eye.json, an unknown network, the study's
            data or protocol cannot be rebuilt.
    """
    study = read_study(study_dir)
    doc = store.read_eye(study.path)
    runs = judged_runs(doc["judgements"])
    if not runs:
        raise UsageError(f"{store.eye_path(study.path)}: no pair judged yet (with the runs it "
                         f"showed); judge some pairs with `python -m tuner.eye` first")
    folders = {row["trial_id"]: Path(row["folder"]) for row in study.rows}
    numbers, meta = _rescore(study, runs, folders, networks)
    return {**agreement_table(doc["judgements"], numbers, networks=meta["networks"]), **meta}


def _rescore(study, runs, folders, asked):
    """The cache brought up to date for `runs` ((trial, run) pairs) and the networks."""
    scorers = Scorers(study.meta, asked)
    cache = store.read_rescores(study.path) or store.empty_rescores()
    scorers.forget_changed(cache)
    present = [(t, r) for t, r in runs if t in folders and samples_path(folders[t], r).is_file()]
    cache["missing"] = sorted(run_key(t, r) for t, r in runs if (t, r) not in present)
    if cache["missing"]:
        logger.warning("%d of %d judged runs have no %s (trained before runs kept their final "
                       "samples): left out", len(cache["missing"]), len(runs),
                       FINAL_SAMPLES_FILE)
    checked = equal = 0
    for trial, run in present:
        path = samples_path(folders[trial], run)
        entry = _entry(cache, run_key(trial, run), path)
        todo = [n for n in scorers.names if n not in entry]
        if not todo:
            continue
        images = _read_samples(path)
        for name in todo:
            scores = scorers.get(name).score_images(images)
            entry[name] = {"kid": scores["kid"], "fd": scores["fd"]}
            entry["swd"] = scores["swd"]
            if name == scorers.own:
                checked += 1
                equal += _reproduces(folders[trial], run, scores)
        files.write_json(store.rescores_path(study.path), cache)  # a stop keeps what is done
    files.write_json(store.rescores_path(study.path), cache)
    judged = {run_key(t, r) for t, r in present}
    numbers = {**cache, "runs": {k: {n: v for n, v in e.items() if n == "swd" or n in scorers.names}
                                 for k, e in cache["runs"].items() if k in judged}}
    return numbers, {"networks": scorers.names, "skipped": scorers.skipped, "own": scorers.own,
                     "reproduced": {"checked": checked, "equal": equal}}


def _entry(cache, key, path):
    """The run's cached numbers, emptied when its samples changed."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    entry = cache["runs"].get(key)
    if not isinstance(entry, dict) or entry.get("samples") != digest:
        entry = cache["runs"][key] = {"samples": digest}
    return entry


def _read_samples(path):
    """The run's final samples as floats in [-1, 1], (N, H, W, 1)."""
    from tuner.data.images import from_uint8

    try:
        with np.load(path) as npz:
            samples = npz["samples"]
    except (OSError, ValueError, KeyError) as err:
        raise UsageError(f"{path}: cannot be read ({err}); move it aside to leave the run "
                         f"out") from None
    return from_uint8(samples)[..., None]


def _reproduces(trial_dir, run, scores):
    """Whether the rescored KID and FD equal the run's last recorded evaluation's; logged."""
    from tuner.results.runs import read_json_or_none

    doc = read_json_or_none(Path(trial_dir) / "evaluations.json") or {}
    rows = [e for e in doc.get("evaluations") or [] if isinstance(e, dict)
            and e.get("repeat", 0) == run and isinstance(e.get("epoch"), int)]
    if not rows:
        return False
    last = max(rows, key=lambda e: e["epoch"])
    same = last.get("kid") == scores["kid"] and last.get("fd") == scores["fd"]
    if not same:
        logger.warning("%s run %d: rescored KID %r, FD %r; recorded %r, %r", trial_dir, run,
                       scores["kid"], scores["fd"], last.get("kid"), last.get("fd"))
    return same


class Scorers:
    """The study's Scorer (its own network, checked equal to its protocol) and one per other
    network available offline, made when first asked for; `names` own first."""

    def __init__(self, meta, asked=None):
        from tuner.metrics import features

        self.meta = meta
        self.own = _canonical(((meta.get("config") or {}).get("scoring") or {}).get("features")
                              or "onet")
        unknown = sorted(set(asked or ()) - set(features.CHOICES))
        if unknown:
            raise UsageError(f"--networks {','.join(unknown)}: not a feature network; choose "
                             f"from {', '.join(features.CHOICES)}")
        self.skipped = {}
        self.names = [self.own] if not asked or self.own in asked else []
        for name in features.CHOICES:
            if name == self.own or (asked and name not in asked):
                continue
            why = _not_offline(name)
            if why:
                self.skipped[name] = why
                logger.debug("network %s left out: %s", name, why)
            else:
                self.names.append(name)
        self._made = {}

    def get(self, name):
        if name not in self._made:
            self._made[name] = self._make(name)
        return self._made[name]

    def _make(self, name):
        from tuner.metrics.scoring import Scorer
        from tuner.study.retraining import rebuild_scoring

        if self.own not in self._made:
            self._made[self.own] = rebuild_scoring(self.meta)[1]
        own = self._made[self.own]
        if name == self.own:
            return own
        protocol = own.protocol
        return Scorer(own.faces, replace(own.config, features=name, features_weights=None),
                      eval_size=own.eval_size, flip=own.flip, holdout_fraction=protocol.holdout,
                      holdout_seed=protocol.holdout_seed, rank_by=protocol.rank_by)

    def identity(self, name):
        """What makes a network's numbers: its name, weights and preprocessing."""
        extractor = self.get(name).extractor
        return {"features": extractor.name, "weights": str(extractor.weights),
                "preprocessing": extractor.preprocessing}

    def forget_changed(self, cache):
        """Drop a network's cached numbers when its weights or preprocessing changed."""
        for name in list(self.names):
            try:
                now = self.identity(name)
            except UsageError as err:
                if name == self.own:
                    raise
                self.names.remove(name)
                self.skipped[name] = str(err)
                logger.warning("network %s left out: %s", name, err)
                continue
            if cache["networks"].get(name) != now:
                for entry in cache["runs"].values():
                    entry.pop(name, None)
                cache["networks"][name] = now


def _canonical(name):
    from tuner.metrics import features

    return getattr(features, "_ALIASES", {}).get(str(name).strip().lower(), str(name))


def _not_offline(name):
    """Why network `name` cannot be used without downloading its weights, or ""."""
    from tuner.metrics import features

    if name != "inception":
        return ""
    home = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras")
    if (home / "models" / features.INCEPTION_WEIGHTS_FILE).is_file():
        return ""
    return (f"its weights ({features.INCEPTION_WEIGHTS_FILE}) are not in Keras' cache, "
            f"{home / 'models'}")
