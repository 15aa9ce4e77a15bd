"""The racing rule: which configurations another seed would help decide. No TensorFlow.

A racing search (`--settle`) trains one round of seeds, looks at the study, gives one more
seed to every configuration named in an open decision, and looks again, until nothing is
open or every configuration has MAX_REPEATS seeds. Open decisions are

* every comparison the leaderboard shows that is not settled (a row against #1: both
  configurations are named), and
* every check of the study's claims that is "not settled" (not "not measured": seeds do not
  bring a missing configuration); the configurations of its sides are named.

So a configuration settled worse than #1 and in no open claim check gets no more seeds, and
a configuration whose every run diverged is out of the race (`out_of_race`). Every look
spends its share of the 5% error (`tuner.results.decisions`: looks = the rounds the search
planned), so stopping as soon as a decision is reached costs no error rate.

`race` runs the same rule on plain arrays of simulated studies (no study folder), which is
how its error rates and its cost in seeds are measured (benchmarks/calibration.py).
"""

from dataclasses import dataclass

import numpy as np

from tuner.common.config import MAX_REPEATS
from tuner.results import decisions
from tuner.results.intervals import interval_phrase
from tuner.results.snapshot import read_study
from tuner.results.verdicts import NOT_SETTLED, study_claims, weigh


@dataclass(frozen=True)
class OpenDecision:
    """A decision another seed of its configurations would help settle."""

    label: str          # e.g. "trial 3 vs #1 (trial 0)" or "claim 1, check 1 (better): ..."
    trial_ids: tuple    # the trials (configurations) whose next seed would help decide it
    measured: str       # the measured difference and its interval, in the score's digits
    advice: str         # what would settle it, e.g. "about 7 seeds (now 4) for 80% power ..."
    seeds_needed: int | None  # seeds per configuration for 80% power; None if hardly by repeats


def open_decisions(study_dir, claims=None):
    """Every open decision of the study: its leaderboard's unsettled rows against #1, then
    its claims' unsettled checks (`claims` None: those of the study's own space file)."""
    study = read_study(study_dir)
    claims = study_claims(study_dir) if claims is None else claims
    return leaderboard_decisions(study) + (claim_decisions(study_dir, claims) if claims else [])


def leaderboard_decisions(study):
    """The leaderboard's rows not settled against #1, as OpenDecisions."""
    ranked = [row for row in study.rows if row.get("rank") and not row.get("out")]
    if len(ranked) < 2:
        return []
    best = ranked[0]["trial_id"]
    return [OpenDecision(f"trial {row['trial_id']} vs #1 (trial {best})",
                         (row["trial_id"], best), interval_phrase(row["vs_best"], study.objective),
                         row["vs_best"]["advice"], row["vs_best"]["seeds_needed"])
            for row in ranked[1:] if not row["vs_best"]["settled"]]


def claim_decisions(study_dir, claims):
    """The claims' checks that are "not settled", as OpenDecisions."""
    out = []
    for verdict in weigh(study_dir, claims):
        for number, check in enumerate(verdict.checks, start=1):
            if check.verdict != NOT_SETTLED:
                continue
            what = "; ".join(c["label"] for c in check.comparisons) or check.statement
            trials = tuple(dict.fromkeys(t for side in check.sides for t in side.trials))
            out.append(OpenDecision(f"claim {verdict.id}, check {number} ({check.kind}): {what}",
                                    trials, check.why, check.settle, check.seeds_needed))
    return out


def out_of_race(study_dir):
    """{trial_id: "every run diverged (3 of 3)"} of the study's trials out of the race."""
    return {row["trial_id"]: row["out"] for row in read_study(study_dir).rows if row.get("out")}


# ---------------------------------------------------------------- the rule on plain data


def leaderboard_rule(values, looks):
    """One look at the leaderboard of studies `values` (..., k, N) (NaN: no seed yet).

    Returns (open (..., k): the configurations another seed would help decide - every row
    not settled against #1, and #1 while any is -, settled (..., k), best (...))."""
    best, _, settled = decisions.leaderboard(values, looks)
    open_ = ~settled
    k = values.shape[-2]
    is_best = np.arange(k) == best[..., None]
    others_open = (open_ & ~is_best).any(axis=-1)
    open_ = np.where(is_best, others_open[..., None], open_)
    return open_, (settled, best)


def open_configurations(scores, looks=1):
    """The configurations of one study ({config: {seed: score}}) that the leaderboard's rule
    gives another seed, in the order given."""
    configs = list(scores)
    seeds = sorted(set().union(*(scores[c] for c in configs)), key=str)
    values = np.array([[scores[c].get(s, np.nan) for s in seeds] for c in configs],
                      dtype=np.float64).reshape(len(configs), len(seeds))
    open_, _ = leaderboard_rule(values, looks)
    return [c for c, is_open in zip(configs, open_, strict=True) if is_open]


@dataclass(frozen=True)
class Race:
    """What racing a batch of simulated studies did: each look's outcome (as the rule gives
    it) and the seeds each configuration ended with (..., k)."""

    outcomes: list
    seeds: np.ndarray


def race(values, first, rule=leaderboard_rule, cap=MAX_REPEATS):
    """Race studies `values` (..., k, N >= cap): every configuration starts with seeds
    0..first-1; at each look `rule(visible values, looks)` names the open configurations, each
    of which gets its next seed, until none is open or all have `cap`. looks = cap - first + 1
    (a look after every round, as the search plans them)."""
    values = np.asarray(values, dtype=np.float64)
    looks = cap - first + 1
    n = np.full(values.shape[:-1], first)
    seed = np.arange(values.shape[-1])
    outcomes = []
    for _ in range(looks):
        visible = np.where(seed < n[..., None], values, np.nan)
        open_, outcome = rule(visible, looks)
        outcomes.append(outcome)
        grow = open_ & (n < cap)
        if not grow.any():
            break
        n = n + grow
    return Race(outcomes, n)
