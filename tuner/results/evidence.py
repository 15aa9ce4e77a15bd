"""The evidence for a claim's check: the runs of the configurations it compares, paired by seed. No TF.
"""


import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from tuner.common.config import DEFAULT_MARGIN
from tuner.common.names import HYPERPARAMETERS
from tuner.results.decisions import clopper_pearson_upper
from tuner.results.intervals import standard_error
from tuner.results.runs import RUN_DONE, load_runs, run_scores
from tuner.results.snapshot import IN_PROGRESS, train_setting

SHOWN_METRICS = ("kid", "kid_heldout", "fd", "swd")  # beside the check's own, for the reader
NETWORK_INPUT = re.compile(r"-(\d+)>")  # "uint8>pil-bicubic-48>gray3>..." -> 48


@dataclass
class Side:
    """One configuration (or a set of paired ones) as a check sees it."""

    label: str
    by_seed: dict                 # seed -> the check's quantity, averaged over contexts
    mean: float | None = None
    se: float | None = None
    n: int = 0
    scores: dict = field(default_factory=dict)  # other metrics' means, for the reader
    grids: list = field(default_factory=list)   # each context's last sample grid (run 0)
    trials: list = field(default_factory=list)  # the trial ids whose runs it holds
    runs: int = 0          # finished runs of those trials
    diverged: int = 0      # of which diverged
    diverged_up_to: float | None = None  # the divergence rate's 95% upper bound (Clopper-Pearson)

    @property
    def out(self):
        """Every run diverged: out of the comparisons, as the leaderboard has it (its
        divergence is its result), and no seed is owed to it."""
        return self.runs > 0 and self.diverged == self.runs

    def __post_init__(self):
        values = list(self.by_seed.values())
        self.n = len(values)
        self.mean = math.fsum(values) / len(values) if values else None
        self.se = standard_error(values)


@dataclass(frozen=True)
class Trial:
    """A completed trial: its hyperparameters and its finished runs."""

    trial_id: str
    hps: dict
    runs: tuple
    row: dict


class Evidence:
    """A study's completed trials and how to read one quantity of one run."""

    def __init__(self, study):
        self.study = study
        self.objective = study.objective
        self.margin = margin_of(study.meta)  # the difference that matters, a share of the best
        self.looks = study.spending  # how each look at the numbers spends the 5%
        self.rank_by = study.rank_by
        self.trials = [Trial(row["trial_id"], _hyperparameters(row),
                             tuple(r for r in load_runs(row["folder"]) if r["status"] in RUN_DONE),
                             row)
                       for row in study.rows if row["status"] == "COMPLETED"]
        self.running = [row["trial_id"] for row in study.rows
                        if row["status"] != "COMPLETED" and not row.get("damaged")]
        self.in_progress = [row["trial_id"] for row in study.rows
                            if row["status"] in IN_PROGRESS + ("INTERRUPTED",)]
        # every configuration the study holds, finished or not: a check over part of them waits
        self.configurations = [_hyperparameters(row) for row in study.rows]

    def metric(self, check):
        return check.metric or self.objective

    def by_seed(self, trial, quantity):
        """{seed: the quantity of each finished run}; seconds per epoch of studies that kept
        only the trial's median come as one value."""
        values = {}
        for run in trial.runs:
            value = self.run_value(run, quantity)
            if value is not None:
                values[seed_of(run)] = value
        if not values and quantity == "seconds_per_epoch" and trial.row.get(quantity) is not None:
            values["trial"] = trial.row[quantity]
        return values

    def run_value(self, run, quantity):
        if quantity == "seconds_per_epoch":
            return run.get("seconds_per_epoch")
        return run_scores(run, self.rank_by, self.objective).get(quantity)

    def matching(self, assignment):
        return [t for t in self.trials if _matches(t.hps, assignment)]

    def network_input(self):
        """The side of the feature network's input (48 for ONet), or None."""
        match = NETWORK_INPUT.search(self.study.protocol.get("features_preprocessing") or "")
        return int(match.group(1)) if match else None


def margin_of(meta):
    """study.json's train.margin (a share of the best score: a smaller difference does not
    matter), else DEFAULT_MARGIN for studies written before it was kept."""
    value = train_setting(meta, "margin")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        return DEFAULT_MARGIN
    return float(value)


def divergence(trials):
    """(runs, diverged, the 95% upper bound of the divergence rate) over `trials`' finished
    runs: "0 of 3 diverged" still allows a rate up to 63% (Clopper-Pearson)."""
    runs = [r for t in trials for r in t.runs]
    diverged = sum(r["status"] == "diverged" for r in runs)
    bound = float(clopper_pearson_upper(diverged, len(runs))) if runs else None
    return len(runs), diverged, bound


def seed_of(run):
    """What pairs runs across configurations: the seed (the repeat number in old files)."""
    return run["seed"] if run["seed"] is not None else run["repeat"]


def _hyperparameters(row):
    values = row.get("hyperparameters") or {}
    return {name: values.get(name) for name in HYPERPARAMETERS}


def _matches(hps, assignment):
    return all(same_value(hps.get(name), value) for name, value in assignment.items())


def same_value(a, b):
    if a is None or b is None:
        return a is b
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=0.0)


def _context(hps, free):
    """The hyperparameters a comparison holds equal: all but the `free` ones."""
    return tuple((name, hps[name]) for name in HYPERPARAMETERS if name not in free)


def paired_sides(evidence, where, free, assignments, quantity):
    """Sides for `assignments` (label -> {hyperparameter: value}) over the contexts that hold
    all of them; None and a reason if no context does."""
    contexts = {}
    for trial in evidence.matching(where):
        for label, assignment in assignments.items():
            if _matches(trial.hps, assignment):
                found = contexts.setdefault(_context(trial.hps, free), {})
                if label not in found or _epochs(trial) > _epochs(found[label]):
                    found[label] = trial  # Hyperband: a configuration's longest-trained trial
    complete = [found for found in contexts.values() if len(found) == len(assignments)]
    if not complete:
        return None, missing(evidence, where, assignments, contexts)
    sides = [side_of(label, [found[label] for found in complete], evidence, quantity)
             for label in assignments]
    return sides, ""


def _epochs(trial):
    return trial.row.get("epochs") or 0


def side_of(label, trials, evidence, quantity):
    """Per seed, the mean over `trials` (one per context) of `quantity`; seeds all share."""
    maps = [evidence.by_seed(trial, quantity) for trial in trials]
    seeds = set(maps[0]).intersection(*maps[1:]) if maps else set()
    by_seed = {s: math.fsum(m[s] for m in maps) / len(maps) for s in sorted(seeds, key=str)}
    scores = {}
    for metric in SHOWN_METRICS:
        values = [v for t in trials for v in evidence.by_seed(t, metric).values()]
        scores[metric] = math.fsum(values) / len(values) if values else None
    grids = [str(p) for t in trials if (p := _last_grid(t.row["folder"]))]
    runs, diverged, bound = divergence(trials)
    return Side(label, by_seed, scores=scores, grids=grids, trials=[t.trial_id for t in trials],
                runs=runs, diverged=diverged, diverged_up_to=bound)


def _last_grid(folder):
    grids = sorted((Path(folder) / "samples").glob("epoch_*.png"))
    return grids[-1] if grids else None


def missing(evidence, where, assignments, contexts):
    wanted = " and ".join(describe(a) for a in assignments.values()) + where_text(where)
    pending = f"; not completed yet: trial {', '.join(evidence.running)}" if evidence.running \
        else ""
    if contexts:
        return f"no completed trials with {wanted} that agree on every other " \
               f"hyperparameter{pending}"
    return f"no completed trial with {wanted}{pending}"


def describe(assignment):
    return ", ".join(f"{name}={fmt(value)}" for name, value in assignment.items()) or "any setting"


def fmt(value):
    return f"{value:g}" if isinstance(value, float) else str(value)


def param_sides(check, evidence, values, quantity):
    assignments = {f"{check.param}={fmt(v)}": {check.param: v} for v in values}
    return paired_sides(evidence, check.where, {check.param}, assignments, quantity)


def present_values(evidence, check):
    """The values of `check.param` the study has at `check.where`, in any trial (one still
    running or failed too: its configuration is then missing, and the check says so)."""
    values = {hps[check.param] for hps in evidence.configurations if _matches(hps, check.where)}
    return sorted(v for v in values if v is not None)


def where_text(where):
    return f" at {describe(where)}" if where else ""
