"""Weighing a study's claims: the numbers that bear on each, and a verdict. No TensorFlow.

Every check compares configurations run for run: repeats train with the same
seeds, so the difference between two configurations is taken seed by seed and
its paired-t interval says whether it is beyond training noise. Hyperparameters a
check leaves free are paired too: only configurations that agree on them are
compared, and the per-seed differences are averaged over those pairs ("contexts").
Which intervals decide, and at which levels so that each verdict is wrong at most
5% of the time across the study's planned looks, is `tuner.results.decisions`.

A check is

    supported      the claim's side is settled (for "similar" and "plateau":
                   inside the margin)
    contradicted   the other side is settled (outside the margin)
    not settled    neither, or fewer than 3 paired runs; `settle` says what
                   would decide it
    not measured   the study lacks the configurations (or the epochs) it needs

and a claim is contradicted if any of its checks is, else not measured if any
is, else not settled if any is, else supported.

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

from tuner.common.config import DEFAULT_RESULTS_DIR
from tuner.common.errors import UsageError
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

SUPPORTED, CONTRADICTED = "supported", "contradicted"
NOT_SETTLED, NOT_MEASURED = "not settled", "not measured"
VERDICTS = {decisions.SUPPORTED: SUPPORTED, decisions.CONTRADICTED: CONTRADICTED,
            decisions.OPEN: NOT_SETTLED}


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
    return [_verdict(claim, evidence) for claim in claims]


def study_claims(study_dir):
    """The claims of the space file the study was run with (its copy in the folder); () if
    the folder has no copy (a study made by a keras-tuner tuner of the user's own)."""
    path = Path(study_dir) / SPACE_COPY
    return load_space(str(path)).claims if path.is_file() else ()


def _verdict(claim, evidence):
    results = [(EYE_CHECKS if check.metric == EYE else CHECKS)[check.kind](check, evidence)
               for check in claim.checks]
    if evidence.in_progress:  # what is missing may be what these trials are training
        for result in (r for r in results if r.verdict == NOT_MEASURED):
            result.settle = (f"let the search finish (trial {', '.join(evidence.in_progress)} "
                             f"not done yet; the same command resumes an interrupted one), "
                             f"else {result.settle}")
    verdicts = {result.verdict for result in results}
    overall = next(v for v in (CONTRADICTED, NOT_MEASURED, NOT_SETTLED, SUPPORTED)
                   if v in verdicts)
    return Verdict(claim.id, claim.text, overall, results)


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
        c = {"label": label, "diff": float(iv.p.diff[i]) if n else None,
             "low": float(iv.low[i]) if has else None,
             "high": float(iv.high[i]) if has else None, "n": n,
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
    return CheckResult(kind, statement, metric, NOT_SETTLED, _unscored(sides, metric),
                       f"runs that reach an evaluation with a finite {metric}", sides)


def check_better(check, evidence):
    metric = evidence.metric(check)
    a, b = describe(check.a), describe(check.b)
    statement = f"{a} scores better (lower {metric}) than {b}" + where_text(check.where)
    free = set(check.a) | set(check.b)
    sides, missing = paired_sides(evidence, check.where, free, {a: check.a, b: check.b}, metric)
    if sides is None:
        return CheckResult("better", statement, metric, NOT_MEASURED, missing,
                           f"run the configurations {a} and {b}" + where_text(check.where))
    if _unscored(sides, metric):
        return _not_scored("better", statement, metric, sides)
    values = _values(sides)
    code, iv = decisions.decide_better(values[0], values[1], evidence.looks)
    verdict = VERDICTS[int(code)]
    (c,), (tip,) = _comparisons(iv, [f"{b} - {a}"])
    if verdict == SUPPORTED:
        why = f"{b} is worse by {interval_phrase(c, metric)}"
    elif verdict == CONTRADICTED:
        why = f"{b} is better: {interval_phrase(c, metric)}"
    else:
        why = f"{b} - {a}: {interval_phrase(c, metric)}" + (", which includes 0" if c["low"] is not None
                                                            else "")
    return _result("better", statement, metric, verdict, why, sides, [c], tip,
                   _resolution_advice(evidence, next(iter(free)), metric))


def _open_one_sided(comps, tips):
    """The comparisons of a best/increases check not settled on the claim's side, their
    advice, and which of them point to a contradiction (d < 0)."""
    open_ = [(c, tip) for c, tip in zip(comps, tips, strict=True)
             if c["low"] is None or c["low"] <= 0]
    return ([c for c, _ in open_], [tip for _, tip in open_],
            [c["diff"] is not None and c["diff"] < 0 for c, _ in open_])


def check_best(check, evidence):
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
    if _unscored(sides, metric):
        return _not_scored("best", statement, metric, sides)
    claimed = values.index(check.value)
    code, iv = decisions.decide_best(_values(sides), claimed, evidence.looks)
    verdict = VERDICTS[int(code)]
    comps, tips = _comparisons(iv, [f"{side.label} - {label}" for side in sides
                                    if side is not sides[claimed]])
    if verdict == CONTRADICTED:
        why = "; ".join(f"{c['label'].split(' - ')[0]} is better: {interval_phrase(c, metric)}"
                        for c in comps if c["high"] is not None and c["high"] < 0)
    elif verdict == SUPPORTED:
        why = "; ".join(f"{c['label']}: {interval_phrase(c, metric)}" for c in comps)
    else:
        open_, _, _ = _open_one_sided(comps, tips)
        why = "; ".join(f"{c['label']}: {interval_phrase(c, metric)}" for c in open_)
        if all(c["low"] is not None for c in open_):
            why += ": an interval includes 0"
    _, open_tips, contra = _open_one_sided(comps, tips)
    return _result("best", statement, metric, verdict, why, sides, comps,
                   _check_advice(open_tips, contra),
                   _resolution_advice(evidence, check.param, metric))


def check_similar(check, evidence):
    metric = evidence.metric(check)
    names = ", ".join(fmt(v) for v in check.values)
    statement = (f"{check.param} {names} do not differ by more than {check.margin:.0%} of their "
                 f"mean {metric}" + where_text(check.where))
    sides, missing = param_sides(check, evidence, list(check.values), metric)
    if sides is None:
        return CheckResult("similar", statement, metric, NOT_MEASURED, missing,
                           f"run {check.param} = {names}" + where_text(check.where))
    if _unscored(sides, metric):
        return _not_scored("similar", statement, metric, sides)
    code, iv, margin = decisions.decide_similar(_values(sides), check.margin, evidence.looks)
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


def check_diverges(check, evidence):
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
                trials=[t.trial_id for t in trials])
    when = f" (at epochs {', '.join(map(str, sorted(epochs)))})" if epochs else ""
    why = f"{len(diverged)} of {len(runs)} runs diverged{when}"
    if diverged and diverged[0]["reason"]:
        why += f"; {diverged[0]['reason']}"
    if len(runs) < 2:
        verdict, settle = NOT_SETTLED, "needs at least 2 runs: --repeats 3"
    elif len(diverged) == len(runs):
        verdict, settle = SUPPORTED, ""
    elif not diverged:
        verdict, settle = CONTRADICTED, ""
    else:
        verdict, settle = NOT_SETTLED, "more repeats: some runs diverge and some do not"
    return CheckResult("diverges", statement, "runs", verdict, why, settle, [side],
                       seeds_needed=3 if len(runs) < 2 else None)


def check_plateau(check, evidence):
    metric = evidence.metric(check)
    statement = (f"{metric} improves by less than {check.margin:.0%} after epoch "
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
    code, iv, margin = decisions.decide_plateau(values[0], values[1], check.margin,
                                                evidence.looks)
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


def check_increases(check, evidence):
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
    code, iv = decisions.decide_increases(_values(sides), evidence.looks)
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


def check_eye_better(check, evidence):
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
    c = _eye_comparison(f"{a} - {b}", d, low, high, min(side_a.n, side_b.n), 0.95)
    verdict = SUPPORTED if low > 0 else CONTRADICTED if high < 0 else NOT_SETTLED
    why = f"eye preference {a} - {b}: {_eye_phrase(c)}" + \
        (", which includes 0" if verdict == NOT_SETTLED else "")
    return CheckResult("better", statement, "eye", verdict, why,
                       EYE_SETTLE if verdict == NOT_SETTLED else "", [side_a, side_b], [c])


def check_eye_best(check, evidence):
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
    level = 1 - 0.05 / len(others)
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
