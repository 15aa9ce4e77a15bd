"""Weighing a study's claims: the numbers that bear on each, and a verdict. No TensorFlow.

Every check compares configurations run for run: repeats train with the same
seeds, so the difference between two configurations is taken seed by seed and
its 95% paired-t interval says whether it is beyond training noise
(`tuner.results.intervals`). Hyperparameters a check leaves free are paired too: only
configurations that agree on them are compared, and the per-seed differences
are averaged over those pairs ("contexts").

A check is

    supported      the interval lies on the claim's side (for "similar" and
                   "plateau": inside the margin)
    contradicted   the interval lies on the other side (outside the margin)
    not settled    the interval straddles the boundary, or there are fewer than
                   two paired runs; `settle` says what would decide it
    not measured   the study lacks the configurations (or the epochs) it needs

and a claim is contradicted if any of its checks is, else not measured if any
is, else not settled if any is, else supported.
"""


import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tuner.common.config import DEFAULT_RESULTS_DIR
from tuner.common.errors import UsageError
from tuner.results.evidence import (
    Evidence,
    Side,
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
from tuner.results.intervals import compare, interval_phrase
from tuner.results.snapshot import (
    SPACE_COPY,
    find_study,
    latest_study,
    read_study,
)
from tuner.spaces.space import load_space

SUPPORTED, CONTRADICTED = "supported", "contradicted"
NOT_SETTLED, NOT_MEASURED = "not settled", "not measured"
FEW_SEEDS = 30  # beyond this many seeds, more repeats are no practical way to settle a check


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
    results = [CHECKS[check.kind](check, evidence) for check in claim.checks]
    if evidence.in_progress:  # what is missing may be what these trials are training
        for result in (r for r in results if r.verdict == NOT_MEASURED):
            result.settle = (f"let the search finish (trial {', '.join(evidence.in_progress)} "
                             f"not done yet; the same command resumes an interrupted one), "
                             f"else {result.settle}")
    verdicts = {result.verdict for result in results}
    overall = next(v for v in (CONTRADICTED, NOT_MEASURED, NOT_SETTLED, SUPPORTED)
                   if v in verdicts)
    return Verdict(claim.id, claim.text, overall, results)


def _compare(base, other, label):
    """`other` minus `base` over their shared seeds, with its 95% interval."""
    result = compare(base.by_seed, other.by_seed)
    return {"label": label, **{k: result[k] for k in ("diff", "low", "high", "n")}}


def _repeats_advice(comparisons, boundaries):
    """What would settle a straddling interval: roughly how many paired seeds.

    A t interval's half-width shrinks as 1/sqrt(n); if the mean difference stays
    as measured, n' = n (half / gap)^2 seeds put the boundary outside it.
    """
    if any(c["low"] is None for c in comparisons):
        return "needs at least 2 runs per configuration for an interval: --repeats 3"
    needed = []
    for c, boundary in zip(comparisons, boundaries, strict=True):
        half, gap = (c["high"] - c["low"]) / 2, abs(c["diff"] - boundary)
        if c["low"] <= boundary <= c["high"]:
            needed.append(math.inf if gap == 0 else math.ceil(c["n"] * (half / gap) ** 2))
    finite = [n for n in needed if math.isfinite(n)]
    if not finite:
        return "more repeats, unless the difference is nil: it sits on the boundary"
    now = max(c["n"] for c in comparisons)
    seeds = max(max(finite), now + 1)
    if seeds > FEW_SEEDS:
        return (f"hardly by repeats: about {seeds} seeds (now {now}) if the differences stay as "
                f"measured; they are small against the training noise")
    return f"more repeats: about {seeds} seeds (now {now}) if the differences stay as measured"


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


def check_better(check, evidence):
    metric = evidence.metric(check)
    a, b = describe(check.a), describe(check.b)
    statement = f"{a} scores better (lower {metric}) than {b}" + where_text(check.where)
    free = set(check.a) | set(check.b)
    sides, missing = paired_sides(evidence, check.where, free, {a: check.a, b: check.b}, metric)
    if sides is None:
        return CheckResult("better", statement, metric, NOT_MEASURED, missing,
                           f"run the configurations {a} and {b}" + where_text(check.where))
    c = _compare(sides[0], sides[1], f"{b} - {a}")
    if c["low"] is not None and c["low"] > 0:
        verdict, why = SUPPORTED, f"{b} is worse by {interval_phrase(c, metric)}"
    elif c["high"] is not None and c["high"] < 0:
        verdict, why = CONTRADICTED, f"{b} is better: {interval_phrase(c, metric)}"
    else:
        verdict = NOT_SETTLED
        why = f"{b} - {a}: {interval_phrase(c, metric)}" + (", which includes 0" if c["low"] is not None
                                                    else "")
    settle = "" if verdict != NOT_SETTLED else _join(
        _repeats_advice([c], [0.0]), _resolution_advice(evidence, next(iter(free)), metric))
    return CheckResult("better", statement, metric, verdict, why, settle, sides, [c])


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
    claimed = sides[values.index(check.value)]
    comps = [_compare(claimed, side, f"{side.label} - {label}") for side in sides
             if side is not claimed]
    beaten = [c for c in comps if c["high"] is not None and c["high"] < 0]
    if beaten:
        verdict = CONTRADICTED
        why = "; ".join(f"{c['label'].split(' - ')[0]} is better: {interval_phrase(c, metric)}"
                        for c in beaten)
    elif all(c["low"] is not None and c["low"] > 0 for c in comps):
        verdict, why = SUPPORTED, "; ".join(f"{c['label']}: {interval_phrase(c, metric)}" for c in comps)
    else:
        open_ = [c for c in comps if c["low"] is None or c["low"] <= 0]
        verdict = NOT_SETTLED
        why = "; ".join(f"{c['label']}: {interval_phrase(c, metric)}" for c in open_)
        if all(c["low"] is not None for c in open_):
            why += ": an interval includes 0"
    settle = "" if verdict != NOT_SETTLED else _join(
        _repeats_advice(open_, [0.0] * len(open_)),
        _resolution_advice(evidence, check.param, metric))
    return CheckResult("best", statement, metric, verdict, why, settle, sides, comps)


def check_similar(check, evidence):
    metric = evidence.metric(check)
    names = ", ".join(fmt(v) for v in check.values)
    statement = (f"{check.param} {names} do not differ by more than {check.margin:.0%} of the "
                 f"best {metric}" + where_text(check.where))
    sides, missing = param_sides(check, evidence, list(check.values), metric)
    if sides is None:
        return CheckResult("similar", statement, metric, NOT_MEASURED, missing,
                           f"run {check.param} = {names}" + where_text(check.where))
    best = min(s.mean for s in sides if s.mean is not None)
    margin = check.margin * abs(best)
    comps = [_compare(x, y, f"{y.label} - {x.label}")
             for i, x in enumerate(sides) for y in sides[i + 1:]]
    if any(c["low"] is None for c in comps):
        verdict, why = NOT_SETTLED, "fewer than 2 paired runs: no interval"
    elif all(-margin <= c["low"] and c["high"] <= margin for c in comps):
        verdict, why = SUPPORTED, f"every pairwise interval lies within ±{margin:.4g}"
    elif far := [c for c in comps if c["low"] > margin or c["high"] < -margin]:
        verdict = CONTRADICTED
        why = "; ".join(f"{c['label']}: {interval_phrase(c, metric)}, beyond ±{margin:.4g}" for c in far)
    else:
        verdict = NOT_SETTLED
        why = "; ".join(f"{c['label']}: {interval_phrase(c, metric)}" for c in comps
                        if not (-margin <= c["low"] and c["high"] <= margin)) + \
            f" reaches past ±{margin:.4g}"
    advice = _repeats_advice(comps, [0.0] * len(comps)) if any(c["low"] is None for c in comps) \
        else _repeats_advice(*_margin_boundaries(comps, margin))
    settle = "" if verdict != NOT_SETTLED else _join(
        advice, _resolution_advice(evidence, check.param, metric))
    return CheckResult("similar", statement, metric, verdict, why, settle, sides, comps)


def _margin_boundaries(comps, margin):
    """For an equivalence check, each straddled interval's nearer margin edge."""
    straddled = [c for c in comps if c["low"] is not None
                 and (c["low"] < -margin <= c["high"] or c["low"] <= margin < c["high"])]
    return straddled, [margin if c["diff"] >= 0 else -margin for c in straddled]


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
    side = Side(describe(check.where), {seed_of(r): float(r["status"] == "diverged") for r in runs})
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
    return CheckResult("diverges", statement, "runs", verdict, why, settle, [side])


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
    side_at = Side(f"epoch {check.after_epoch}", {s: _avg(v) for s, v in at.items()})
    side_end = Side("end", {s: _avg(v) for s, v in end.items()})
    c = _compare(side_end, side_at, f"epoch {check.after_epoch} - end (improvement)")
    margin = check.margin * abs(side_at.mean)
    if c["low"] is None:
        verdict, why = NOT_SETTLED, "fewer than 2 runs: no interval"
    elif c["high"] <= margin:
        worse = "; it got worse" if c["high"] < 0 else ""
        verdict = SUPPORTED
        why = f"improvement after epoch {check.after_epoch}: {interval_phrase(c, metric)}, " \
              f"under {margin:.4g}{worse}"
    elif c["low"] > margin:
        verdict, why = CONTRADICTED, f"still improving: {interval_phrase(c, metric)}, beyond {margin:.4g}"
    else:
        verdict, why = NOT_SETTLED, f"improvement {interval_phrase(c, metric)} reaches past {margin:.4g}"
    settle = _repeats_advice([c], [margin]) if verdict == NOT_SETTLED else ""
    return CheckResult("plateau", statement, metric, verdict, why, settle, [side_at, side_end],
                       [c], curves)


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
    comps = [_compare(x, y, f"{y.label} - {x.label}") for x, y in zip(sides, sides[1:])]
    if any(c["high"] is not None and c["high"] < 0 for c in comps):
        verdict = CONTRADICTED
        why = "; ".join(f"{c['label']}: {interval_phrase(c, quantity)}" for c in comps if c["high"] < 0)
    elif all(c["low"] is not None and c["low"] > 0 for c in comps):
        ratios = ", ".join(f"{y.label} {y.mean / x.mean:.2f}x"
                           for x, y in zip(sides, sides[1:]) if x.mean)
        verdict, why = SUPPORTED, f"every step grows beyond noise ({ratios} the previous)"
    else:
        verdict = NOT_SETTLED
        why = "; ".join(f"{c['label']}: {interval_phrase(c, quantity)}" for c in comps
                        if c["low"] is None or c["low"] <= 0)
    settle = _repeats_advice(comps, [0.0] * len(comps)) if verdict == NOT_SETTLED else ""
    return CheckResult("increases", statement, quantity, verdict, why, settle, sides, comps)


CHECKS = {"better": check_better, "best": check_best, "similar": check_similar,
          "diverges": check_diverges, "plateau": check_plateau, "increases": check_increases}
