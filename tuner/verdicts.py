"""Weighing a study's claims: the numbers that bear on each, and a verdict. No TensorFlow.

Every check compares configurations run for run: repeats train with the same
seeds, so the difference between two configurations is taken seed by seed and
its 95% paired-t interval says whether it is beyond training noise
(`tuner.comparison`). Hyperparameters a check leaves free are paired too: only
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
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tuner import comparison
from tuner.config import DEFAULT_RESULTS_DIR
from tuner.errors import UsageError
from tuner.results import (
    HYPERPARAMETERS,
    IN_PROGRESS,
    RUN_DONE,
    SPACE_COPY,
    find_study,
    latest_study,
    load_runs,
    open_study,
    run_scores,
)
from tuner.spaces import load_space
from tuner.tables import interval_phrase

SUPPORTED, CONTRADICTED = "supported", "contradicted"
NOT_SETTLED, NOT_MEASURED = "not settled", "not measured"
SHOWN_METRICS = ("kid", "kid_heldout", "fd", "swd")  # beside the check's own, for the reader
FEW_SEEDS = 30  # beyond this many seeds, more repeats are no practical way to settle a check
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

    def __post_init__(self):
        values = list(self.by_seed.values())
        self.n = len(values)
        self.mean = math.fsum(values) / len(values) if values else None
        self.se = comparison.standard_error(values)


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


@dataclass(frozen=True)
class Trial:
    """A completed trial: its hyperparameters and its finished runs."""

    trial_id: str
    hps: dict
    runs: tuple
    row: dict


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
    return open_study(folder), weigh(folder, claims)


def weigh_study(study_dir, claims=None):
    """The verdicts on `claims` (default: those of the study's own space file) as dicts."""
    return [verdict.as_dict() for verdict in weigh(study_dir, claims)]


def weigh(study_dir, claims=None):
    """Verdicts on `claims` (default: the study's space file's) from the study's numbers."""
    study = open_study(study_dir)
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


class Evidence:
    """A study's completed trials and how to read one quantity of one run."""

    def __init__(self, study):
        self.study = study
        self.objective = study.objective
        self.rank_by = study.rank_by
        self.trials = [Trial(row["trial_id"], _hyperparameters(row),
                             tuple(r for r in load_runs(row["folder"]) if r["status"] in RUN_DONE),
                             row)
                       for row in study.rows if row["status"] == "COMPLETED"]
        self.running = [row["trial_id"] for row in study.rows if row["status"] != "COMPLETED"]
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
                values[_seed(run)] = value
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


def _seed(run):
    """What pairs runs across configurations: the seed (the repeat number in old files)."""
    return run["seed"] if run["seed"] is not None else run["repeat"]


def _hyperparameters(row):
    values = row.get("hyperparameters") or {}
    return {name: values.get(name) for name in HYPERPARAMETERS}


def _matches(hps, assignment):
    return all(_same(hps.get(name), value) for name, value in assignment.items())


def _same(a, b):
    if a is None or b is None:
        return a is b
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=0.0)


def _context(hps, free):
    """The hyperparameters a comparison holds equal: all but the `free` ones."""
    return tuple((name, hps[name]) for name in HYPERPARAMETERS if name not in free)


def _paired_sides(evidence, where, free, assignments, quantity):
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
        return None, _missing(evidence, where, assignments, contexts)
    sides = [_side(label, [found[label] for found in complete], evidence, quantity)
             for label in assignments]
    return sides, ""


def _epochs(trial):
    return trial.row.get("epochs") or 0


def _side(label, trials, evidence, quantity):
    """Per seed, the mean over `trials` (one per context) of `quantity`; seeds all share."""
    maps = [evidence.by_seed(trial, quantity) for trial in trials]
    seeds = set(maps[0]).intersection(*maps[1:]) if maps else set()
    by_seed = {s: math.fsum(m[s] for m in maps) / len(maps) for s in sorted(seeds, key=str)}
    scores = {}
    for metric in SHOWN_METRICS:
        values = [v for t in trials for v in evidence.by_seed(t, metric).values()]
        scores[metric] = math.fsum(values) / len(values) if values else None
    grids = [str(p) for t in trials if (p := _last_grid(t.row["folder"]))]
    return Side(label, by_seed, scores=scores, grids=grids)


def _last_grid(folder):
    grids = sorted((Path(folder) / "samples").glob("epoch_*.png"))
    return grids[-1] if grids else None


def _missing(evidence, where, assignments, contexts):
    wanted = " and ".join(_describe(a) for a in assignments.values()) + _where_text(where)
    pending = f"; not completed yet: trial {', '.join(evidence.running)}" if evidence.running \
        else ""
    if contexts:
        return f"no completed trials with {wanted} that agree on every other " \
               f"hyperparameter{pending}"
    return f"no completed trial with {wanted}{pending}"


def _describe(assignment):
    return ", ".join(f"{name}={_fmt(value)}" for name, value in assignment.items()) or "any setting"


def _fmt(value):
    return f"{value:g}" if isinstance(value, float) else str(value)


def _compare(base, other, label):
    """`other` minus `base` over their shared seeds, with its 95% interval."""
    result = comparison.compare(base.by_seed, other.by_seed)
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
    a, b = _describe(check.a), _describe(check.b)
    statement = f"{a} scores better (lower {metric}) than {b}" + _where_text(check.where)
    free = set(check.a) | set(check.b)
    sides, missing = _paired_sides(evidence, check.where, free, {a: check.a, b: check.b}, metric)
    if sides is None:
        return CheckResult("better", statement, metric, NOT_MEASURED, missing,
                           f"run the configurations {a} and {b}" + _where_text(check.where))
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


def _param_sides(check, evidence, values, quantity):
    assignments = {f"{check.param}={_fmt(v)}": {check.param: v} for v in values}
    return _paired_sides(evidence, check.where, {check.param}, assignments, quantity)


def _present_values(evidence, check):
    """The values of `check.param` the study has at `check.where`, in any trial (one still
    running or failed too: its configuration is then missing, and the check says so)."""
    values = {hps[check.param] for hps in evidence.configurations if _matches(hps, check.where)}
    return sorted(v for v in values if v is not None)


def check_best(check, evidence):
    metric = evidence.metric(check)
    label = f"{check.param}={_fmt(check.value)}"
    statement = f"{label} is the best {check.param} (lowest {metric})" + _where_text(check.where)
    others = [v for v in _present_values(evidence, check) if not _same(v, check.value)]
    if not others:
        return CheckResult("best", statement, metric, NOT_MEASURED,
                           f"the study has no other {check.param} to compare with" +
                           _where_text(check.where),
                           f"run {check.param} values besides {_fmt(check.value)}")
    values = sorted([check.value, *others])
    sides, missing = _param_sides(check, evidence, values, metric)
    if sides is None:
        return CheckResult("best", statement, metric, NOT_MEASURED, missing,
                           f"run {check.param} = {', '.join(map(_fmt, values))}" +
                           _where_text(check.where))
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
    names = ", ".join(_fmt(v) for v in check.values)
    statement = (f"{check.param} {names} do not differ by more than {check.margin:.0%} of the "
                 f"best {metric}" + _where_text(check.where))
    sides, missing = _param_sides(check, evidence, list(check.values), metric)
    if sides is None:
        return CheckResult("similar", statement, metric, NOT_MEASURED, missing,
                           f"run {check.param} = {names}" + _where_text(check.where))
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
    statement = f"{_describe(check.where)} diverges in every run"
    trials = evidence.matching(check.where)
    runs = [r for t in trials for r in t.runs]
    if not runs:
        return CheckResult("diverges", statement, "runs", NOT_MEASURED,
                           _missing(evidence, {}, {"": check.where}, {}),
                           f"run {_describe(check.where)}")
    diverged = [r for r in runs if r["status"] == "diverged"]
    epochs = [r["diverged_at_epoch"] for r in diverged if r["diverged_at_epoch"] is not None]
    side = Side(_describe(check.where), {_seed(r): float(r["status"] == "diverged") for r in runs})
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
                 f"{check.after_epoch}" + _where_text(check.where))
    trials = evidence.matching(check.where)
    if not trials:
        return CheckResult("plateau", statement, metric, NOT_MEASURED,
                           _missing(evidence, {}, {"": check.where}, {}),
                           f"run {_describe(check.where)}")
    at, end, curves = {}, {}, []
    for trial in trials:
        for run in trial.runs:
            curve = [(e["epoch"], e.get(metric)) for e in run["evaluations"]
                     if e.get(metric) is not None and math.isfinite(e[metric])]
            seed = _seed(run)
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
    statement = f"{quantity} grows with {check.param}" + _where_text(check.where)
    values = _present_values(evidence, check)
    if len(values) < 2:
        return CheckResult("increases", statement, quantity, NOT_MEASURED,
                           f"the study has {len(values)} value(s) of {check.param}" +
                           _where_text(check.where), f"run at least two {check.param} values")
    sides, missing = _param_sides(check, evidence, values, quantity)
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


def _where_text(where):
    return f" at {_describe(where)}" if where else ""


CHECKS = {"better": check_better, "best": check_best, "similar": check_similar,
          "diverges": check_diverges, "plateau": check_plateau, "increases": check_increases}
