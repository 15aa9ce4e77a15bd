"""Weighing a study's claims: the numbers that bear on each, and a verdict. No TensorFlow.

Every check compares configurations run for run: repeats train with the same
seeds, so the difference between two configurations is taken seed by seed and
its paired-t interval says whether it is beyond training noise. Hyperparameters a
check leaves free are paired too: only configurations that agree on them are
compared, and the per-seed differences are averaged over those pairs ("contexts").
Which intervals decide, and at which levels so that each verdict is wrong at most
5% of the time across the study's planned looks, is `tuner.results.decisions`.

Outcomes. Every check reads one of

    supported      the claim's side is settled
    tied           (better, best; not by eye, whose preference has no margin in the score's
                   units) the claimed configuration is within the study's margin of
                   every other (train.margin, a share of the better one's score;
                   DEFAULT_MARGIN, 15%, when the study kept none), so no other is better by
                   more than it, and each other not settled worse is within the margin of
                   it too: "2e-4 is best: tied with 5e-4 within 15%". A settled tie is an
                   answer: no number of seeds is owed to it.
    contradicted   the other side is settled
    not settled    neither, or fewer than 3 paired runs; `settle` says what would decide it
                   (or "hardly by repeats" when seeds would not)
    out of reach   not settled at the study's cap of seeds (--max-repeats), or (better,
                   best, increases) with at least 5 paired seeds and every comparison under
                   a 5% chance of deciding by the cap if it goes on as it went
                   (`check_out_of_reach`): "out of reach within 10 seeds: ..." with the
                   difference, its interval and the seeds that would decide it. An answer:
                   the race gives it no more seeds.
    not measured   the study lacks the configurations (or the epochs) it needs, or every
                   run of them diverged

and, kind by kind (checked in this order: the first that holds is the verdict):

    better     contradicted: b settled better (a side that diverged in a run never is);
               a diverged in every run while b completed a run
               supported: a settled better, and within the margin; or b diverged in every
               run while a completed one
               tied: a and b within the margin of each other, neither settled better
               not measured: both diverged in every run
    best       contradicted: another value settled better (one that diverged in a run never
               is), or the claimed one diverged in every run while another
               completed; supported: settled better than every other (values that diverged in
               every run count as worse) and within the margin of each; tied: within the
               margin of every other, and each other settled worse or within the margin of
               it
    similar    contradicted: some pair settled beyond the margin (the check's `margin`, else
               the study's), or some value diverged in every run while another completed;
               supported: every pair settled inside it
    increases  contradicted: some step settled downward; supported: every step upward
    plateau    contradicted: improvement settled beyond the margin (the check's, else 20%);
               supported: settled within it
    diverges   contradicted: one completed run (whatever the number of runs); supported:
               at least 2 runs, every one diverged; not settled: a single diverged run

A configuration that diverged in some run (but not all) is never called better or best
(supported or tied), nor contradicts a claim as better: its mean over the runs that
survived says nothing of the runs that did not. Its sides show the divergence rate's 95%
upper bound (Clopper-Pearson: 0 of 3 runs diverged still allows 63%), and a supported or
tied check names it for the winner.

A claim reads, of its checks' verdicts, the first of contradicted, not measured, not
settled, out of reach, tied, supported (PRECEDENCE): contradicted if any check is, tied if
some check is tied and none is worse. A claim of several checks is contradicted if any check is, so its
checks share the 5% of "contradicted" (Bonferroni over the checks but `diverges`, which
risks no error; for "any check contradicted" Holm's procedure makes the same decision).
Supported and tied need every check: an intersection-union test, which needs no correction.

A check on `metric = "eye"` (better, best) reads the Bradley-Terry preference of blind
pairwise judgements (tuner.results.eye_scores), where higher is better; the eye compares
configurations, not seeded runs, so its intervals are Wald intervals from the observed
information, not paired-t ones (see check_eye_better, check_eye_best).
"""


import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from scipy import stats

from tuner.common.config import CLAIM_MARGIN, DEFAULT_RESULTS_DIR
from tuner.common.errors import UsageError
from tuner.common.names import DECIMALS
from tuner.results import decisions
from tuner.results.decisions import NO_SEED, TOLERANCE, Advice, level_text
from tuner.results.evidence import (
    Evidence,
    Side,
    _last_grid,
    describe,
    fmt,
    missing,
    paired_sides,
    param_sides,
    present_values,
    same_value,
    seed_of,
    where_text,
)
from tuner.results.intervals import interval_phrase
from tuner.results.snapshot import (
    SPACE_COPY,
    find_study,
    latest_study,
    read_study,
)
from tuner.spaces.claims import EYE
from tuner.spaces.space import load_space

SUPPORTED, CONTRADICTED, TIED = "supported", "contradicted", "tied"
NOT_SETTLED, NOT_MEASURED, OUT_OF_REACH = "not settled", "not measured", "out of reach"
VERDICTS = {decisions.SUPPORTED: SUPPORTED, decisions.CONTRADICTED: CONTRADICTED,
            decisions.OPEN: NOT_SETTLED, decisions.TIED: TIED}
# A claim reads the first of these that any of its checks reads.
PRECEDENCE = (CONTRADICTED, NOT_MEASURED, NOT_SETTLED, OUT_OF_REACH, TIED, SUPPORTED)
REACHABLE_KINDS = ("better", "best", "increases")  # checks read against 0 (no margin)


@dataclass
class CheckResult:
    """One check's verdict and the numbers behind it."""

    kind: str
    statement: str
    quantity: str
    verdict: str
    why: str
    settle: str = ""
    sides: list = field(default_factory=list)        # Side
    comparisons: list = field(default_factory=list)  # {"label", "diff", "low", "high", "n"}
    curves: list = field(default_factory=list)       # plateau: {"seed", "epochs", "values"}
    seeds_needed: int | None = None  # not settled: seeds per configuration for 80% power


@dataclass
class Verdict:
    """A claim, its verdict and its checks' results."""

    id: str
    text: str
    verdict: str
    checks: list

    def as_dict(self):
        return asdict(self)


def check(study=None, results_dir=DEFAULT_RESULTS_DIR, claims_file=None):
    """The study (a name under `results_dir`, a folder, or None: the latest) and its verdicts.

    Args:
        claims_file: a space file whose [[claims]] to check; None: the study's own.

    Raises:
        UsageError: no such study, a malformed claims file, or no claims to check.
    """
    folder = find_study(study, results_dir) if study else latest_study(results_dir)
    claims = study_claims(folder) if claims_file is None else load_space(claims_file).claims
    if not claims:
        source = claims_file or f"{folder / SPACE_COPY} (the space file the study ran with)"
        raise UsageError(f"{source} has no [[claims]]; add some (see the README's \"Claims\") "
                         f"or pass --claims FILE")
    return read_study(folder), weigh(folder, claims)


def weigh_study(study_dir, claims=None):
    """The verdicts on `claims` (default: those of the study's own space file) as dicts."""
    return [verdict.as_dict() for verdict in weigh(study_dir, claims)]


def weigh(study_dir, claims=None):
    """Verdicts on `claims` (default: the study's space file's) from the study's numbers."""
    study = read_study(study_dir)
    claims = study_claims(study_dir) if claims is None else claims
    evidence = Evidence(study)
    # a run scoring 1e300 overflows a variance: its interval is then none, without a warning
    with np.errstate(over="ignore", invalid="ignore"):
        return [_verdict(claim, evidence) for claim in claims]


def study_claims(study_dir):
    """The claims of the space file the study was run with (its copy in the folder); () if
    the folder has no copy (a study made by a keras-tuner tuner of the user's own)."""
    path = Path(study_dir) / SPACE_COPY
    return load_space(str(path)).claims if path.is_file() else ()


def _verdict(claim, evidence):
    # a claim is contradicted if any check is: its checks share the 5% (Bonferroni; for
    # "any check contradicted" Holm's first step is the same test). `diverges` risks none.
    checks = max(1, sum(check.kind != "diverges" for check in claim.checks))
    results = [(EYE_CHECKS if check.metric == EYE else CHECKS)[check.kind](check, evidence,
                                                                           checks)
               for check in claim.checks]
    if evidence.in_progress:  # what is missing may be what these trials are training
        for result in (r for r in results if r.verdict == NOT_MEASURED):
            result.settle = (f"let the search finish (trial {', '.join(evidence.in_progress)} "
                             f"not done yet; the same command resumes an interrupted one), "
                             f"else {result.settle}")
    for result in results:
        if result.verdict == NOT_SETTLED and check_out_of_reach(result, evidence.study.cap):
            result.verdict = OUT_OF_REACH
            result.why = _join(f"out of reach within {evidence.study.cap} seeds: {result.why}",
                               result.settle)
            result.settle, result.seeds_needed = "", None
    verdicts = {result.verdict for result in results}
    overall = next(v for v in PRECEDENCE if v in verdicts)
    return Verdict(claim.id, claim.text, overall, results)


def check_out_of_reach(check, cap):
    """A not-settled check that the race will give no more seeds to: one whose comparisons
    have reached the cap (any kind), or a check against 0 whose every comparison is unlikely
    (< decisions.FUTILITY) to clear 0 by `cap` seeds if it goes on as it went
    (`decisions.decision_chances`, at the level the comparison is read now); before the cap,
    checks against a margin are never called out of reach here, nor any before
    decisions.FUTILITY_SEEDS paired seeds."""
    if not check.comparisons or check.quantity == EYE:  # the eye counts judgements, not seeds
        return False
    if max(c.get("n") or 0 for c in check.comparisons) >= cap:
        return True
    if check.kind not in REACHABLE_KINDS:
        return False
    chances = []
    for c in check.comparisons:
        n, low, high = c.get("n") or 0, c.get("low"), c.get("high")
        if n < decisions.FUTILITY_SEEDS or low is None or high is None or n >= cap:
            return False
        error = (1 - c["level"]) / 2
        sd = (high - low) / 2 * np.sqrt(n) / float(decisions._t(1 - error, n - 1))
        worse, _ = decisions.decision_chances(abs(c["diff"]), sd, n, cap, -np.inf, error)
        chances.append(float(worse))
    return max(chances) < decisions.FUTILITY


def _values(sides):
    """(k, N) float64: each side's value per seed over the union of their seeds (NaN where a
    side has none)."""
    seeds = sorted(set().union(*(side.by_seed for side in sides)), key=str)
    return np.array([[side.by_seed.get(seed, np.nan) for seed in seeds] for side in sides],
                    dtype=np.float64).reshape(len(sides), len(seeds))


def _comparisons(iv, labels):
    """Comparison dicts ({"label", "diff", "low", "high", "n", "level"}, the interval a
    verdict reads) and the advice for each, from `decisions.Intervals` of shape (c,)."""
    comps, tips = [], []
    for i, label in enumerate(labels):
        n = int(iv.p.n[i])
        has = n >= decisions.MIN_SEEDS
        # None, not Infinity, where a score of 1e300 overflows the arithmetic: JSON stays valid
        c = {"label": label, "diff": _finite(iv.p.diff[i]) if n else None,
             "low": _finite(iv.low[i]) if has else None,
             "high": _finite(iv.high[i]) if has else None, "n": n,
             "level": float(iv.level[i])}
        comps.append(c)
        tips.append(decisions.advice(c["diff"] or 0.0, float(iv.p.sd[i]) if n >= 2 else None,
                                     n, c["level"], float(iv.boundary[i]),
                                     TOLERANCE * float(iv.p.scale[i])))
    return comps, tips


def _check_advice(tips, toward_contradiction):
    """One check's advice from its open comparisons': one that points to a contradiction
    decides the check alone (the fewest seeds of those), else every open one must (the
    most); comparisons without a shared seed come first."""
    if not tips:
        return Advice(None, "")
    if any(tip.text == NO_SEED for tip in tips):
        return Advice(None, NO_SEED)

    def seeds(tip):
        return math.inf if tip.seeds is None else tip.seeds

    contra = [tip for tip, c in zip(tips, toward_contradiction, strict=True) if c]
    return min(contra, key=seeds) if contra else max(tips, key=seeds)


def _unscored(sides, metric):
    """Why a check cannot compare: sides without a single scored run, or ""."""
    empty = [side.label for side in sides if side.n == 0]
    return (f"no run of {' and '.join(empty)} has a finite {metric} on every paired "
            f"configuration") if empty else ""


def _resolution_advice(evidence, param, metric):
    """For image-size comparisons: what the score can see."""
    if param != "image_size":
        return ""
    sizes = [t.hps["image_size"] for t in evidence.trials if t.hps.get("image_size")]
    largest = max(sizes, default=0)
    eval_size = evidence.study.protocol.get("eval_size") or 0
    network = evidence.network_input()
    notes = []
    if eval_size and eval_size < largest:
        notes.append(f"an evaluation size of at least {largest} (--eval-size {largest})")
    if metric != "swd" and network and network < max(eval_size, largest):
        notes.append(f"a score that sees more than {evidence.study.protocol.get('features')}'s "
                     f"{network}x{network} (metric = \"swd\")")
    return "; ".join(notes)


def _join(*parts):
    return "; ".join(p for p in parts if p)


def _result(kind, statement, metric, verdict, why, sides, comps, tip, resolution=""):
    if verdict != NOT_SETTLED:
        return CheckResult(kind, statement, metric, verdict, why, "", sides, comps)
    return CheckResult(kind, statement, metric, verdict, why, _join(tip.text, resolution), sides,
                       comps, seeds_needed=tip.seeds)


def _not_scored(kind, statement, metric, sides):
    """A side without a scored run: more seeds help unless its every run diverged (then
    nothing would: not measured, and the race gives it no seed)."""
    empty = [side for side in sides if side.n == 0]
    if empty and all(side.out for side in empty):
        return CheckResult(kind, statement, metric, NOT_MEASURED, _out_note(empty),
                           "configurations that train without diverging", sides)
    return CheckResult(kind, statement, metric, NOT_SETTLED, _unscored(sides, metric),
                       f"runs that reach an evaluation with a finite {metric}", sides)


def _rate(side):
    """`x diverged in 1 of 3 runs (rate up to 90%)`: the 95% Clopper-Pearson upper bound."""
    return (f"{side.label} diverged in {side.diverged} of {side.runs} runs (a rate up to "
            f"{side.diverged_up_to:.0%})")


def _prone_note(sides):
    """Why no side that diverged in a run is called better: "" if none did."""
    prone = [side for side in sides if side.diverged and not side.out]
    return "; ".join(_rate(side) for side in prone) + (
        ": a configuration that diverges is not called better on the mean of its other runs"
        if prone else "")


def _reliability(side):
    """For a supported or tied check: how often the winner may still diverge, unseen."""
    return f"; {_rate(side)}" if side.runs else ""


def _out_note(sides):
    return "; ".join(f"{side.label} diverged in every run ({side.runs} of {side.runs})"
                     for side in sides if side.out)


def _all_out(kind, statement, metric, sides):
    """Every side diverged in every run: nothing to compare, and no seed would help."""
    return CheckResult(kind, statement, metric, NOT_MEASURED, _out_note(sides),
                       "configurations that train without diverging", sides)


def _tie_phrase(c, metric):
    """`learning_rate=5e-4 - learning_rate=2e-4 between -0.0011 and +0.0009, inside -0.0024
    to +0.0024`: the one-sided bounds (each 95% over the planned looks) the tie reads."""
    if c["tie_low"] is None or c["tie_high"] is None:
        return f"{c['label']}: too few shared seeds for a bound"
    digits = DECIMALS.get(metric, 4)
    return (f"{c['label']} between {c['tie_low']:+.{digits}f} and {c['tie_high']:+.{digits}f}, "
            f"inside {-c['margin_low']:+.{digits}f} to {c['margin_high']:+.{digits}f}")


def _finite(value):
    value = float(value)
    return value if math.isfinite(value) else None


def _with_ties(comps, tie):
    """Each comparison dict with its tie's numbers (`decisions.Tie` of shape (c,))."""
    for i, c in enumerate(comps):
        c.update(tie_low=_finite(tie.low[i]), tie_high=_finite(tie.high[i]),
                 margin_low=_finite(tie.margin_low[i]), margin_high=_finite(tie.margin_high[i]))
    return comps


def _sooner(tip, tie_tip):
    """The advice that needs fewer seeds: the strict decision's or the tie's."""
    if tie_tip.seeds is None or tip.text == NO_SEED:
        return tip
    return tie_tip if tip.seeds is None or tie_tip.seeds < tip.seeds else tip


def check_better(check, evidence, checks=1):
    """a better than b, paired by seed: supported, tied (a and b within the study's margin
    of each other),
    contradicted or not settled (`decisions.decide_better`); a side that diverged in a run
    is never called better, and one that diverged in every run loses."""
    metric = evidence.metric(check)
    a, b = describe(check.a), describe(check.b)
    statement = f"{a} scores better (lower {metric}) than {b}" + where_text(check.where)
    free = set(check.a) | set(check.b)
    sides, missing = paired_sides(evidence, check.where, free, {a: check.a, b: check.b}, metric)
    if sides is None:
        return CheckResult("better", statement, metric, NOT_MEASURED, missing,
                           f"run the configurations {a} and {b}" + where_text(check.where))
    if sides[0].out and sides[1].out:
        return _all_out("better", statement, metric, sides)
    if sides[0].out or sides[1].out:
        verdict = CONTRADICTED if sides[0].out else SUPPORTED
        return CheckResult("better", statement, metric, verdict,
                           f"{_out_note(sides)}; a configuration that always diverges is worse "
                           f"than one that completes", "", sides)
    if _unscored(sides, metric):
        return _not_scored("better", statement, metric, sides)
    values = _values(sides)
    prone = np.array([side.diverged > 0 for side in sides])
    code, iv = decisions.decide_better(values[0], values[1], evidence.looks, margin=evidence.margin,
                                       checks=checks, prone=prone)
    verdict = VERDICTS[int(code)]
    (c,), (tip,) = _comparisons(iv, [f"{b} - {a}"])
    tie = decisions.tie(values[:1], values[1:], evidence.margin, evidence.looks)
    (c,) = _with_ties([c], tie)
    share = f"{evidence.margin:.0%}"
    if verdict == SUPPORTED:
        why = f"{b} is worse by {interval_phrase(c, metric)}" + _reliability(sides[0])
    elif verdict == CONTRADICTED:
        why = f"{b} is better: {interval_phrase(c, metric)}"
    elif verdict == TIED:
        why = (f"{a} is tied with {b} within {share}: {b} - {a}: {interval_phrase(c, metric)}; "
               f"{_tie_phrase(c, metric)}" + _reliability(sides[0]))
    else:
        why = f"{b} - {a}: {interval_phrase(c, metric)}" + (", which includes 0" if c["low"] is not None
                                                            else "")
    if verdict == NOT_SETTLED:
        tip = _sooner(tip, decisions.tie_advice(tie, evidence.looks))
    note = _prone_note(sides)
    if note and verdict == NOT_SETTLED:
        why += f"; {note}"
        if sides[0].diverged:
            tip = decisions.Advice(None, f"hardly by repeats: {sides[0].label} diverged in a run, "
                                         f"so more seeds can only contradict the claim")
    return _result("better", statement, metric, verdict, why, sides, [c], tip,
                   _resolution_advice(evidence, next(iter(free)), metric))


def _open_one_sided(comps, tips):
    """The comparisons of a best/increases check not settled on the claim's side, their
    advice, and which of them point to a contradiction (d < 0)."""
    open_ = [(c, tip) for c, tip in zip(comps, tips, strict=True)
             if c["low"] is None or c["low"] <= 0]
    return ([c for c, _ in open_], [tip for _, tip in open_],
            [c["diff"] is not None and c["diff"] < 0 for c, _ in open_])


def _best_out(check, statement, metric, sides, claimed):
    """A best check some of whose values diverged in every run: those lose;
    None if the others still need comparing."""
    if all(side.out for side in sides):
        return _all_out("best", statement, metric, sides)
    if sides[claimed].out:
        return CheckResult("best", statement, metric, CONTRADICTED,
                           f"{_out_note([sides[claimed]])}; the others completed runs", "",
                           sides)
    if all(side.out for i, side in enumerate(sides) if i != claimed):
        return CheckResult("best", statement, metric, SUPPORTED,
                           f"{_out_note(sides)}; {sides[claimed].label} completed runs", "",
                           sides)
    return None


def check_best(check, evidence, checks=1):
    """value best of param's values, paired by seed: supported (settled better than every
    other), tied (within the study's margin of every other, and every other not settled
    worse within the margin of it),
    contradicted (another settled better) or not settled (`decisions.decide_best`). Values
    that diverged in every run lose; one that diverged in some run is never
    called best, and never contradicts the claimed one."""
    metric = evidence.metric(check)
    label = f"{check.param}={fmt(check.value)}"
    statement = f"{label} is the best {check.param} (lowest {metric})" + where_text(check.where)
    others = [v for v in present_values(evidence, check) if not same_value(v, check.value)]
    if not others:
        return CheckResult("best", statement, metric, NOT_MEASURED,
                           f"the study has no other {check.param} to compare with" +
                           where_text(check.where),
                           f"run {check.param} values besides {fmt(check.value)}")
    values = sorted([check.value, *others])
    sides, missing = param_sides(check, evidence, values, metric)
    if sides is None:
        return CheckResult("best", statement, metric, NOT_MEASURED, missing,
                           f"run {check.param} = {', '.join(map(fmt, values))}" +
                           where_text(check.where))
    claimed = values.index(check.value)
    decided = _best_out(check, statement, metric, sides, claimed)
    if decided is not None:
        return decided
    everything, compared = sides, [side for side in sides if not side.out]
    claimed = compared.index(sides[claimed])
    sides = compared
    if _unscored(sides, metric):
        return _not_scored("best", statement, metric, everything)
    table = _values(sides)
    prone = np.array([side.diverged > 0 for side in sides])
    code, iv = decisions.decide_best(table, claimed, evidence.looks, margin=evidence.margin,
                                     checks=checks, prone=prone)
    verdict = VERDICTS[int(code)]
    rest = [j for j in range(len(sides)) if j != claimed]
    comps, tips = _comparisons(iv, [f"{sides[j].label} - {label}" for j in rest])
    tie = decisions.tie(table[[claimed]], table[rest], evidence.margin, evidence.looks)
    comps = _with_ties(comps, tie)
    if verdict == CONTRADICTED:
        why = "; ".join(f"{c['label'].split(' - ')[0]} is better: {interval_phrase(c, metric)}"
                        for c in comps if c["high"] is not None and c["high"] < 0)
    elif verdict == SUPPORTED:
        why = "; ".join(f"{c['label']}: {interval_phrase(c, metric)}" for c in comps) + \
            _reliability(sides[claimed])
    elif verdict == TIED:
        open_, _, _ = _open_one_sided(comps, tips)
        names = " and ".join(c["label"].split(" - ")[0].split("=", 1)[1] for c in open_)
        why = (f"{fmt(check.value)} is best: tied with {names} within {evidence.margin:.0%}: "
               + "; ".join(_tie_phrase(c, metric) for c in open_) + _reliability(sides[claimed]))
    else:
        open_, _, _ = _open_one_sided(comps, tips)
        why = "; ".join(f"{c['label']}: {interval_phrase(c, metric)}" for c in open_)
        if all(c["low"] is not None for c in open_):
            why += ": an interval includes 0"
    _, open_tips, contra = _open_one_sided(comps, tips)
    tip = _check_advice(open_tips, contra)
    if verdict == NOT_SETTLED:
        tip = _sooner(tip, decisions.tie_advice(tie, evidence.looks))
    note = _prone_note(everything)
    if note and verdict == NOT_SETTLED:
        why += f"; {note}"
        if sides[claimed].diverged:
            tip = decisions.Advice(None, f"hardly by repeats: {label} diverged in a run, so "
                                         f"more seeds can only contradict the claim")
    if _out_note(everything):
        why += f"; {_out_note(everything)}"
    return _result("best", statement, metric, verdict, why, everything, comps, tip,
                   _resolution_advice(evidence, check.param, metric))


def check_similar(check, evidence, checks=1):
    """No two values differ by more than the margin (the check's, else the study's) x their
    mean score, on per-seed contrasts (`decisions.decide_similar`); a value that diverged in
    every run differs from those that completed."""
    metric = evidence.metric(check)
    names = ", ".join(fmt(v) for v in check.values)
    fraction = evidence.margin if check.margin is None else check.margin
    statement = (f"{check.param} {names} do not differ by more than {fraction:.0%} of their "
                 f"mean {metric}" + where_text(check.where))
    sides, missing = param_sides(check, evidence, list(check.values), metric)
    if sides is None:
        return CheckResult("similar", statement, metric, NOT_MEASURED, missing,
                           f"run {check.param} = {names}" + where_text(check.where))
    if all(side.out for side in sides):
        return _all_out("similar", statement, metric, sides)
    if any(side.out for side in sides):
        return CheckResult("similar", statement, metric, CONTRADICTED,
                           f"{_out_note(sides)}; the others completed runs", "", sides)
    if _unscored(sides, metric):
        return _not_scored("similar", statement, metric, sides)
    code, iv, margin = decisions.decide_similar(_values(sides), fraction, evidence.looks,
                                                checks=checks)
    verdict, margin = VERDICTS[int(code)], float(margin)
    index = decisions.pair_indices(len(sides))
    comps, tips = _comparisons(iv, [f"{sides[j].label} - {sides[i].label}" for i, j in index])
    inside = [c["low"] is not None and -margin < c["low"] and c["high"] < margin for c in comps]
    if verdict == SUPPORTED:
        why = f"every pairwise interval lies within ±{margin:.4g}"
    elif verdict == CONTRADICTED:
        why = "; ".join(f"{c['label']}: {interval_phrase(c, metric)}, beyond ±{margin:.4g}"
                        for c in comps if c["low"] is not None
                        and (c["low"] > margin or c["high"] < -margin))
    else:
        why = "; ".join(f"{c['label']}: {interval_phrase(c, metric)}"
                        for c, ok in zip(comps, inside, strict=True) if not ok)
        why += f" reaches past ±{margin:.4g}" if all(c["low"] is not None for c in comps) \
            else f" (margin ±{margin:.4g})"
    open_ = [(tip, c["diff"] is not None and abs(c["diff"]) > margin)
             for c, tip, ok in zip(comps, tips, inside, strict=True) if not ok]
    tip = _check_advice([t for t, _ in open_], [far for _, far in open_])
    return _result("similar", statement, metric, verdict, why, sides, comps, tip,
                   _resolution_advice(evidence, check.param, metric))


def check_diverges(check, evidence, checks=1):
    """Every run of the configuration diverges: contradicted by one run that did not
    (whatever the number of runs), supported when at least 2 runs all diverged."""
    statement = f"{describe(check.where)} diverges in every run"
    trials = evidence.matching(check.where)
    runs = [r for t in trials for r in t.runs]
    if not runs:
        return CheckResult("diverges", statement, "runs", NOT_MEASURED,
                           missing(evidence, {}, {"": check.where}, {}),
                           f"run {describe(check.where)}")
    diverged = [r for r in runs if r["status"] == "diverged"]
    epochs = [r["diverged_at_epoch"] for r in diverged if r["diverged_at_epoch"] is not None]
    side = Side(describe(check.where), {seed_of(r): float(r["status"] == "diverged") for r in runs},
                trials=[t.trial_id for t in trials], runs=len(runs), diverged=len(diverged),
                diverged_up_to=float(decisions.clopper_pearson_upper(len(diverged), len(runs))))
    when = f" (at epochs {', '.join(map(str, sorted(epochs)))})" if epochs else ""
    why = f"{len(diverged)} of {len(runs)} runs diverged{when}"
    if diverged and diverged[0]["reason"]:
        why += f"; {diverged[0]['reason']}"
    if len(diverged) < len(runs):
        verdict, settle = CONTRADICTED, ""
        why += f": {len(runs) - len(diverged)} completed, so not every run diverges"
    elif len(runs) < 2:
        verdict, settle = NOT_SETTLED, "needs at least 2 runs: --repeats 3"
    else:
        verdict, settle = SUPPORTED, ""
    return CheckResult("diverges", statement, "runs", verdict, why, settle, [side],
                       seeds_needed=3 if verdict == NOT_SETTLED else None)


def check_plateau(check, evidence, checks=1):
    metric = evidence.metric(check)
    fraction = CLAIM_MARGIN if check.margin is None else check.margin
    statement = (f"{metric} improves by less than {fraction:.0%} after epoch "
                 f"{check.after_epoch}" + where_text(check.where))
    trials = evidence.matching(check.where)
    if not trials:
        return CheckResult("plateau", statement, metric, NOT_MEASURED,
                           missing(evidence, {}, {"": check.where}, {}),
                           f"run {describe(check.where)}")
    at, end, curves = {}, {}, []
    for trial in trials:
        for run in trial.runs:
            curve = [(e["epoch"], e.get(metric)) for e in run["evaluations"]
                     if e.get(metric) is not None and math.isfinite(e[metric])]
            seed = seed_of(run)
            curves.append({"trial": trial.trial_id, "seed": seed,
                           "epochs": [e for e, _ in curve], "values": [v for _, v in curve]})
            later = [v for e, v in curve if e >= check.after_epoch]
            if len(later) >= 2:  # an evaluation at E (or the first after it) and one after that
                at.setdefault(seed, []).append(later[0])
                end.setdefault(seed, []).append(later[-1])
    if not at:
        last = max((e for c in curves for e in c["epochs"]), default=0)
        return CheckResult("plateau", statement, metric, NOT_MEASURED,
                           f"no run was evaluated at epoch {check.after_epoch} and after it "
                           f"(the last evaluation is at epoch {last})",
                           f"train past epoch {check.after_epoch} (--epochs), evaluating at it "
                           f"(--eval-every)", curves=curves)
    side_at = Side(f"epoch {check.after_epoch}", {s: _avg(v) for s, v in at.items()},
                   trials=[t.trial_id for t in trials])
    side_end = Side("end", {s: _avg(v) for s, v in end.items()},
                    trials=[t.trial_id for t in trials])
    values = _values([side_at, side_end])
    code, iv, margin = decisions.decide_plateau(values[0], values[1], fraction,
                                                evidence.looks, checks=checks)
    verdict, margin = VERDICTS[int(code)], float(margin)
    (c,), (tip,) = _comparisons(iv, [f"epoch {check.after_epoch} - end (improvement)"])
    if c["low"] is None:
        why = f"improvement {interval_phrase(c, metric)}"
    elif verdict == SUPPORTED:
        worse = "; it got worse" if c["high"] < 0 else ""
        why = f"improvement after epoch {check.after_epoch}: {interval_phrase(c, metric)}, " \
              f"under {margin:.4g}{worse}"
    elif verdict == CONTRADICTED:
        why = f"still improving: {interval_phrase(c, metric)}, beyond {margin:.4g}"
    else:
        why = f"improvement {interval_phrase(c, metric)} reaches past {margin:.4g}"
    result = _result("plateau", statement, metric, verdict, why, [side_at, side_end], [c], tip)
    result.curves = curves
    return result


def _avg(values):
    return math.fsum(values) / len(values)


def check_increases(check, evidence, checks=1):
    quantity = check.quantity
    statement = f"{quantity} grows with {check.param}" + where_text(check.where)
    values = present_values(evidence, check)
    if len(values) < 2:
        return CheckResult("increases", statement, quantity, NOT_MEASURED,
                           f"the study has {len(values)} value(s) of {check.param}" +
                           where_text(check.where), f"run at least two {check.param} values")
    sides, missing = param_sides(check, evidence, values, quantity)
    if sides is None:
        return CheckResult("increases", statement, quantity, NOT_MEASURED, missing,
                           f"run every {check.param} in one context")
    if _unscored(sides, quantity):
        return _not_scored("increases", statement, quantity, sides)
    code, iv = decisions.decide_increases(_values(sides), evidence.looks, checks=checks)
    verdict = VERDICTS[int(code)]
    comps, tips = _comparisons(iv, [f"{y.label} - {x.label}" for x, y in zip(sides, sides[1:])])
    if verdict == CONTRADICTED:
        why = "; ".join(f"{c['label']}: {interval_phrase(c, quantity)}" for c in comps
                        if c["high"] is not None and c["high"] < 0)
    elif verdict == SUPPORTED:
        ratios = ", ".join(f"{y.label} {y.mean / x.mean:.2f}x"
                           for x, y in zip(sides, sides[1:]) if x.mean and y.mean is not None)
        why = f"every step grows beyond noise ({ratios} the previous)"
    else:
        open_, _, _ = _open_one_sided(comps, tips)
        why = "; ".join(f"{c['label']}: {interval_phrase(c, quantity)}" for c in open_)
    _, open_tips, contra = _open_one_sided(comps, tips)
    return _result("increases", statement, quantity, verdict, why, sides, comps,
                   _check_advice(open_tips, contra))


# ---------------------------------------------------------------- the eye (metric = "eye")
EYE_SETTLE = "more blind pairwise judgements of these configurations (python -m tuner.eye)"


def _eye_side(label, evidence, assignment, where):
    """A side read from the eye: the configurations matching `assignment` at `where` that the
    eye compared, their mean Bradley-Terry score and its standard error (observed
    information), and the weights that average them."""
    preference = evidence.study.eye["preference"] if evidence.study.eye else None
    trials = [t for t in evidence.matching({**where, **assignment})
              if preference is not None and t.trial_id in preference.ids]
    side = Side(label, {}, trials=[t.trial_id for t in trials],
                grids=[str(p) for t in trials if (p := _last_grid(t.row["folder"]))][:1])
    weights = np.zeros(len(preference.ids) if preference is not None else 0)
    for t in trials:
        weights[preference.ids.index(t.trial_id)] += 1.0 / len(trials)
    if trials:
        side.mean, side.se = preference.difference(weights)
        side.n = int(sum(preference.games[preference.ids.index(t)] for t in side.trials))
    return side, weights


def _eye_interval(preference, w_claimed, w_other, level):
    """(d, low, high) of d = theta(claimed) - theta(other) at `level`, Wald interval from the
    observed information: d +- z sqrt((w_c - w_o)' C (w_c - w_o))."""
    d, se = preference.difference(w_claimed - w_other)
    z = float(stats.norm.ppf(0.5 + level / 2))
    return d, d - z * se, d + z * se


def _eye_unjudged(kind, statement, sides):
    empty = [s.label for s in sides if not s.trials]
    return CheckResult(kind, statement, "eye", NOT_MEASURED,
                       f"the eye has not compared {' and '.join(empty)}", EYE_SETTLE, sides)


def _eye_comparison(label, d, low, high, n, level):
    return {"label": label, "diff": d, "low": low, "high": high, "n": n, "level": level}


def _eye_phrase(c):
    return (f"{c['diff']:+.2f}, {level_text(c['level'])} interval {c['low']:+.2f} to "
            f"{c['high']:+.2f}")


def check_eye_better(check, evidence, checks=1):
    """a better than b by eye: the 95% Wald interval of theta_a - theta_b (Bradley-Terry,
    observed information; no seeds to pair, the eye compares configurations, not runs)
    above 0 supports, below 0 contradicts, else not settled."""
    a, b = describe(check.a), describe(check.b)
    statement = f"{a} looks better to the eye (higher preference) than {b}" + \
        where_text(check.where)
    (side_a, w_a), (side_b, w_b) = (_eye_side(label, evidence, assignment, check.where)
                                    for label, assignment in ((a, check.a), (b, check.b)))
    if not side_a.trials or not side_b.trials:
        return _eye_unjudged("better", statement, [side_a, side_b])
    d, low, high = _eye_interval(evidence.study.eye["preference"], w_a, w_b, 0.95)
    # "contradicted" shares the 5% with the claim's other checks (Bonferroni)
    _, _, against = _eye_interval(evidence.study.eye["preference"], w_a, w_b, 1 - 0.05 / checks)
    verdict = SUPPORTED if low > 0 else CONTRADICTED if against < 0 else NOT_SETTLED
    c = _eye_comparison(f"{a} - {b}", d, low, high, min(side_a.n, side_b.n), 0.95)
    why = f"eye preference {a} - {b}: {_eye_phrase(c)}" + \
        (", which includes 0" if verdict == NOT_SETTLED else "")
    return CheckResult("better", statement, "eye", verdict, why,
                       EYE_SETTLE if verdict == NOT_SETTLED else "", [side_a, side_b], [c])


def check_eye_best(check, evidence, checks=1):
    """value best by eye: theta(value) - theta(other) for each other value, Wald intervals at
    1 - 0.05/(k-1) (Bonferroni over the k-1 comparisons): all above 0 supports, any below 0
    contradicts, else not settled."""
    label = f"{check.param}={fmt(check.value)}"
    statement = f"{label} looks best to the eye of the {check.param} values" + \
        where_text(check.where)
    others = [v for v in present_values(evidence, check) if not same_value(v, check.value)]
    values = sorted([check.value, *others])
    read = [_eye_side(f"{check.param}={fmt(v)}", evidence, {check.param: v}, check.where)
            for v in values]
    sides = [side for side, _ in read]
    if not others or any(not s.trials for s in sides):
        return _eye_unjudged("best", statement, sides) if others else CheckResult(
            "best", statement, "eye", NOT_MEASURED,
            f"the study has no other {check.param} to compare with", EYE_SETTLE)
    claimed = values.index(check.value)
    level = 1 - 0.05 / (len(others) * checks)  # Bonferroni over the others and the checks
    comps = []
    for i, (side, weights) in enumerate(read):
        if i != claimed:
            d, low, high = _eye_interval(evidence.study.eye["preference"], read[claimed][1],
                                         weights, level)
            comps.append(_eye_comparison(f"{label} - {side.label}", d, low, high,
                                         min(side.n, sides[claimed].n), level))
    verdict = CONTRADICTED if any(c["high"] < 0 for c in comps) else \
        SUPPORTED if all(c["low"] > 0 for c in comps) else NOT_SETTLED
    shown = comps if verdict == SUPPORTED else [
        c for c in comps if (c["high"] < 0 if verdict == CONTRADICTED else c["low"] <= 0)]
    why = "; ".join(f"eye preference {c['label']}: {_eye_phrase(c)}" for c in shown)
    return CheckResult("best", statement, "eye", verdict, why,
                       EYE_SETTLE if verdict == NOT_SETTLED else "", sides, comps)


EYE_CHECKS = {"better": check_eye_better, "best": check_eye_best}


CHECKS = {"better": check_better, "best": check_best, "similar": check_similar,
          "diverges": check_diverges, "plateau": check_plateau, "increases": check_increases}
