"""The racing rule: which configurations another seed could still help decide. No TensorFlow.

A racing search (`--settle`) trains one round of seeds, looks at the study, gives one more
seed to every configuration whose part in an open decision can still change, and looks again,
until nothing is open, every open comparison is out of reach, or every configuration has its
cap of seeds (MAX_REPEATS). It ranks and selects (`decisions.selection`, after the fully
sequential procedures with elimination and an indifference zone, as Kim-Nelson's KN): the
open decisions are

* each leaderboard row that may still be the best and is not yet within the margin of it,
  and #1 while any row is (a row settled worse, or that another configuration is at least
  as good as, or within the margin of the best, is done; so the race stops when the
  selection is settled), unless its comparison is out of reach within the cap
  (`decisions.out_of_reach`: under a 5% chance of deciding by the cap if it goes on as it
  went, judged from 5 seeds on): a finding, "out of reach within N seeds: difference d,
  margin m", that costs no error (stopping only gives up chances to decide);
* every check of the study's claims that is "not settled" (not "not measured": seeds do not
  bring a missing configuration), unless its comparisons are out of reach in the same sense;
  the configurations of its sides are named.

A configuration whose every run diverged is out of the race (`out_of_race`) and gets no seed,
even when a claim names it. Every comparison over n shared seeds spends its share of the 5%
error (`decisions.Spending`, by seeds), so stopping as soon as a decision is reached, and
continuing a study later, cost no error rate.

`race` runs the same rule on plain arrays of simulated studies (no study folder), which is
how its error rates and its cost in seeds are measured (benchmarks/calibration.py).
"""

from dataclasses import dataclass

import numpy as np

from tuner.common.config import DEFAULT_MARGIN, MAX_REPEATS
from tuner.results import decisions
from tuner.results.intervals import interval_phrase
from tuner.results.snapshot import OPEN, OUT_OF_REACH, read_study
from tuner.results.verdicts import NOT_SETTLED, study_claims, weigh
from tuner.results.verdicts import OUT_OF_REACH as CHECK_OUT_OF_REACH


@dataclass(frozen=True)
class OpenDecision:
    """A decision another seed of its configurations would help settle."""

    label: str          # e.g. "trial 3 vs #1 (trial 0)" or "claim 1, check 1 (better): ..."
    trial_ids: tuple    # the trials (configurations) whose next seed would help decide it
    measured: str       # the measured difference and its interval, in the score's digits
    advice: str         # what would settle it, e.g. "about 7 seeds (now 4) for 80% power ..."
    seeds_needed: int | None  # seeds per configuration for 80% power; None if hardly by repeats


def open_decisions(study_dir, claims=None):
    """Every open decision of the study: its leaderboard's open rows, then its claims'
    unsettled checks within reach (`claims` None: those of the study's own space file).
    Configurations out of the race are named by none of them."""
    study = read_study(study_dir)
    claims = study_claims(study_dir) if claims is None else claims
    out = {row["trial_id"] for row in study.rows if row.get("out")}
    found = leaderboard_decisions(study) + (claim_decisions(study_dir, claims, study.cap)
                                            if claims else [])
    return [OpenDecision(d.label, tuple(t for t in d.trial_ids if str(t) not in out),
                         d.measured, d.advice, d.seeds_needed)
            for d in found if any(str(t) not in out for t in d.trial_ids)]


def leaderboard_decisions(study):
    """The leaderboard's rows still open in the selection (may be the best, not within the
    margin of it, within reach), as OpenDecisions against #1."""
    ranked = [row for row in study.rows if row.get("rank") and not row.get("out")]
    if len(ranked) < 2:
        return []
    best = ranked[0]["trial_id"]
    return [OpenDecision(f"trial {row['trial_id']} vs #1 (trial {best})",
                         (row["trial_id"], best), interval_phrase(row["vs_best"], study.objective),
                         row["vs_best"]["advice"], row["vs_best"]["seeds_needed"])
            for row in ranked[1:] if row["vs_best"].get("status", OPEN) == OPEN]


def claim_decisions(study_dir, claims, cap=MAX_REPEATS):
    """The claims' checks that are "not settled" and within reach of `cap` seeds, as
    OpenDecisions."""
    out = []
    for verdict in weigh(study_dir, claims):
        for number, check in enumerate(verdict.checks, start=1):
            if check.verdict != NOT_SETTLED:  # out of reach, decided or not measured
                continue
            what = "; ".join(c["label"] for c in check.comparisons) or check.statement
            trials = tuple(dict.fromkeys(t for side in check.sides for t in side.trials))
            out.append(OpenDecision(f"claim {verdict.id}, check {number} ({check.kind}): {what}",
                                    trials, check.why, check.settle, check.seeds_needed))
    return out


def unreachable(study_dir, claims=None):
    """[(label, why)] of the study's comparisons out of reach within its cap: leaderboard rows
    ("out of reach within 10 seeds: difference +0.0002, margin 0.0036") and claims' checks.
    They draw no seeds: their numbers are the answer."""
    study = read_study(study_dir)
    ranked = [row for row in study.rows if row.get("rank") and not row.get("out")]
    out = [(f"trial {row['trial_id']} vs #1 (trial {ranked[0]['trial_id']})",
            row["vs_best"]["advice"]) for row in ranked[1:]
           if row["vs_best"].get("status") == OUT_OF_REACH]
    claims = study_claims(study_dir) if claims is None else claims
    for verdict in weigh(study_dir, claims) if claims else []:
        for number, check in enumerate(verdict.checks, start=1):
            if check.verdict == CHECK_OUT_OF_REACH:
                out.append((f"claim {verdict.id}, check {number} ({check.kind})", check.why))
    return out


def out_of_race(study_dir):
    """{trial_id: "every run diverged (3 of 3)"} of the study's trials out of the race."""
    return {row["trial_id"]: row["out"] for row in read_study(study_dir).rows if row.get("out")}


# ---------------------------------------------------------------- the rule on plain data


def leaderboard_rule(values, looks):
    """One look at the leaderboard of studies `values` (..., k, N) (NaN: no seed yet), racing
    for "settled worse" alone (the rule before selection; kept for comparison).

    Returns (open (..., k): the configurations another seed would help decide - every row
    not settled against #1, and #1 while any is -, (settled (..., k), best (...)))."""
    best, _, settled = decisions.leaderboard(values, looks)
    open_ = ~settled
    k = values.shape[-2]
    is_best = np.arange(k) == best[..., None]
    others_open = (open_ & ~is_best).any(axis=-1)
    open_ = np.where(is_best, others_open[..., None], open_)
    return open_, (settled, best)


def selection_rule(margin=DEFAULT_MARGIN, cap=MAX_REPEATS, futility=True):
    """The race's rule on plain data: one look at studies `values` (..., k, N) gives the
    configurations whose part in the selection is open and within reach of `cap` seeds, and
    #1 while any is (see the module docstring). The outcome of a look is its
    `decisions.Selection` and the rows out of reach."""
    def rule(values, looks):
        chosen = decisions.selection(values, margin, looks)
        p = chosen.versus.p
        far = np.zeros(p.n.shape, dtype=bool)
        if futility:
            k = values.shape[-2]
            error = decisions.look_alpha(looks, decisions.ALPHA, cap) / max(1, k - 1)
            with np.errstate(invalid="ignore", divide="ignore"):
                far = decisions.out_of_reach(p.diff, p.sd, p.n, cap, chosen.delta[..., None],
                                             error)
        racing = ~chosen.decided & ~far
        open_ = racing | (chosen.is_best & racing.any(axis=-1)[..., None])
        return open_, (chosen, far)
    return rule


def open_configurations(scores, looks=None, margin=DEFAULT_MARGIN):
    """The configurations of one study ({config: {seed: score}}) that the race's rule gives
    another seed, in the order given."""
    configs = list(scores)
    seeds = sorted(set().union(*(scores[c] for c in configs)), key=str)
    values = np.array([[scores[c].get(s, np.nan) for s in seeds] for c in configs],
                      dtype=np.float64).reshape(len(configs), len(seeds))
    looks = decisions.Spending(by_seeds=True) if looks is None else looks
    open_, _ = selection_rule(margin)(values, looks)
    return [c for c, is_open in zip(configs, open_, strict=True) if is_open]


@dataclass(frozen=True)
class Race:
    """What racing a batch of simulated studies did: each look's outcome (as the rule gives
    it) and the seeds each configuration ended with (..., k)."""

    outcomes: list
    seeds: np.ndarray


def race(values, first, rule=None, cap=MAX_REPEATS, looks=None):
    """Race studies `values` (..., k, N >= cap): every configuration starts with seeds
    0..first-1; at each look `rule(visible values, looks)` names the open configurations, each
    of which gets its next seed, until none is open or all have `cap`. `rule` None: the
    selection rule (`selection_rule`) at the default margin; `looks` None: spending by seeds
    (`decisions.Spending`), which any number of looks keeps."""
    values = np.asarray(values, dtype=np.float64)
    rule = selection_rule(cap=cap) if rule is None else rule
    looks = decisions.Spending(by_seeds=True) if looks is None else looks
    n = np.full(values.shape[:-1], first)
    seed = np.arange(values.shape[-1])
    outcomes = []
    for _ in range(cap - first + 1):
        visible = np.where(seed < n[..., None], values, np.nan)
        open_, outcome = rule(visible, looks)
        outcomes.append(outcome)
        grow = open_ & (n < cap)
        if not grow.any():
            break
        n = n + grow
    return Race(outcomes, n)
