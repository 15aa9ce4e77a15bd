"""A trial's runs as read from its evaluations.json: scores per run, the mean over runs. No TensorFlow.
"""


import json
import math
from pathlib import Path

from tuner.common.config import RANK_BY
from tuner.common.names import SCORES
from tuner.results.intervals import standard_error
from tuner.results.schemas import not_regular, shape_problem

RUN_DONE = ("completed", "diverged")  # a run's status once it trained no more
EVALUATIONS = "evaluations.json"


def read_json_or_none(path):
    """A JSON file's content, or None while it is missing, unreadable or not a regular file."""
    if not_regular(path):
        return None
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def json_problem(path, shape=True):
    """What is wrong with a JSON file that exists: "not a regular file (a FIFO)", "not valid
    JSON (truncated?): ...", "not a JSON object", or (`shape`) the field at fault of a file of
    the wrong shape (`schemas`); None when it reads right or is absent (absent is not damage)."""
    if problem := not_regular(path):
        return problem
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        return "not text (damaged)"
    except ValueError as err:
        return f"not valid JSON (truncated?): {err}"
    except OSError as err:
        return f"cannot be read ({err.strerror or err})"
    if not isinstance(doc, dict):
        return "not a JSON object"
    return shape_problem(doc, Path(path).name) if shape else None


def _bad_score(value):
    """Whether a stored score is neither a finite number nor null (JSON's NaN): damage, not a
    score."""
    return value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or not math.isfinite(value))


def evaluations_problem(trial_dir):
    """What makes a trial's evaluations.json unusable, or None: unreadable JSON, a score that
    is not a finite number (e.g. "kid": "abc"), named with its epoch, or any other field of
    the wrong shape (`schemas`), named."""
    path = Path(trial_dir) / EVALUATIONS
    problem = json_problem(path, shape=False)
    if problem or not path.exists():
        return problem
    doc = read_json_or_none(path) or {}
    rows = doc.get("evaluations")
    for row in rows if isinstance(rows, list) else []:
        for name in SCORES:
            if isinstance(row, dict) and _bad_score(row.get(name)):
                what = "a finite number" if isinstance(row[name], float) else "a number"
                return f"{name} {row[name]!r} at epoch {row.get('epoch')} is not {what}"
    return shape_problem(doc, EVALUATIONS)


def failure_reason(message):
    """The one line that says why a trial failed, from keras-tuner's stored traceback."""
    lines = [line.strip() for line in (message or "").splitlines() if line.strip()]
    if not lines:
        return ""
    last = lines[-1]
    for prefix in ("keras_tuner.src.errors.FailedTrialError: ", "FailedTrialError: "):
        if last.startswith(prefix):
            return last[len(prefix):]
    return last


def _number(value):
    """A score as a float, or None when it is missing or not finite."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _mean(values):
    numbers = [v for v in map(_number, values) if v is not None]
    return math.fsum(numbers) / len(numbers) if numbers else None


def evaluation_file(trial_dir):
    doc = read_json_or_none(Path(trial_dir) / EVALUATIONS)
    return doc if isinstance(doc, dict) else {}


def run_entries(trial_dir):
    """The run entries ("repeats") of a trial's evaluations.json: seed, status, worker, seconds."""
    return [r for r in evaluation_file(trial_dir).get("repeats") or [] if isinstance(r, dict)]


def finished_count(trial_dir):
    """How many of a trial's runs count (completed or diverged; `finished_runs`): a run a
    killed process left `running` does not, nor does a failed one."""
    return sum(r.get("status") in RUN_DONE for r in run_entries(trial_dir))


def mean_run_seconds(trial_dirs):
    """The mean wall time (training and scoring) of the runs of `trial_dirs` that recorded one;
    None before any has."""
    times = [r["seconds"] for folder in trial_dirs for r in run_entries(folder)
             if isinstance(r.get("seconds"), (int, float)) and r["seconds"] > 0]
    return math.fsum(times) / len(times) if times else None


def _evaluations(doc):
    return [e for e in doc.get("evaluations") or [] if isinstance(e, dict) and "epoch" in e]


def load_evaluations(trial_dir):
    """Every evaluation of a trial so far, all its runs, in the order written."""
    return _evaluations(evaluation_file(trial_dir))


def _run_entries(doc, evaluations):
    """{repeat: its entry in "repeats"}; a file from before repeats holds one finished run."""
    if "repeats" not in doc:
        return {0: {"repeat": 0, "status": "completed"}} if evaluations else {}
    return {r["repeat"]: r for r in doc["repeats"] or []
            if isinstance(r, dict) and isinstance(r.get("repeat"), int)}


def _run(number, entry, evaluations):
    """One training run: its seed, status, divergence and evaluations (oldest first)."""
    entry = entry or {"status": "running"}  # evaluated before its entry was written
    seed = entry.get("seed", next((e["seed"] for e in evaluations if "seed" in e), None))
    return {"repeat": number, "seed": seed, "status": entry.get("status") or "running",
            "diverged_at_epoch": entry.get("diverged_at_epoch"),
            "reason": entry.get("reason") or "", "seconds_per_epoch": entry.get("seconds_per_epoch"),
            "epoch_seconds": entry.get("epoch_seconds"), "evaluations": evaluations}


def load_runs(trial_dir):
    """The trial's training runs (its repeats), by repeat number, each with its evaluations."""
    doc = evaluation_file(trial_dir)
    evaluations = _evaluations(doc)
    entries = _run_entries(doc, evaluations)
    numbers = sorted(set(entries) | {e.get("repeat", 0) for e in evaluations})
    by_epoch = sorted(evaluations, key=lambda e: e["epoch"])
    return [_run(n, entries.get(n), [e for e in by_epoch if e.get("repeat", 0) == n])
            for n in numbers]


def finished_runs(runs):
    """The runs that count: those that trained no more (completed or diverged). A run still
    `running` (training now, or left so by a killed process, which trains it again from its
    start) holds a half-trained generator's scores: it is never averaged in."""
    return [run for run in runs if run["status"] in RUN_DONE]


def parse_rank_by(rank_by):
    """("final", 1), ("best", None) or ("last", N) from "final", "best" or "last-N";
    ValueError for anything else."""
    match = RANK_BY.match(str(rank_by))
    if not match:
        raise ValueError(f"rank_by must be final, best or last-N (N a positive integer), "
                         f"got {rank_by!r}")
    if match.group(2):
        return "last", int(match.group(2))
    return match.group(1), (1 if match.group(1) == "final" else None)


def picked(evaluations, rank_by, objective):
    """The evaluations of one run that its score is taken from.

    final: the last one; last-N: the last N; best: the one with the lowest
    `objective` (every score then comes from that one generator, the
    checkpoint a search keeps).
    """
    rule, n = parse_rank_by(rank_by)
    if rule != "best":
        return evaluations[-n:]
    scored = [e for e in evaluations if _number(e.get(objective)) is not None]
    return [min(scored, key=lambda e: e[objective])] if scored else []


def run_scores(run, rank_by, objective):
    """One run's value of every score (the mean over its picked evaluations), and its
    optimistic best: the lowest `objective` of all its evaluations, and that epoch."""
    chosen = picked(run["evaluations"], rank_by, objective)
    values = {name: _mean(e.get(name) for e in chosen) for name in SCORES}
    best = picked(run["evaluations"], "best", objective)
    values["best"] = _number(best[0][objective]) if best else None
    values["best_epoch"] = best[0]["epoch"] if best else None
    return values


def _low_median(values):
    return sorted(values)[(len(values) - 1) // 2] if values else None


def _divergence(runs):
    """How many runs diverged, the earliest epoch one did, and the first stated reason."""
    diverged = [r for r in runs if r["status"] == "diverged"]
    epochs = [r["diverged_at_epoch"] for r in diverged if r["diverged_at_epoch"] is not None]
    return {"diverged": len(diverged), "diverged_at_epoch": min(epochs, default=None),
            "diverged_reason": next((r["reason"] for r in diverged if r["reason"]), "")}


def summarise_runs(runs, rank_by, objective):
    """A trial's scores from its runs: each score is the mean over the runs scored so far.

    score_se = s / sqrt(K) over the K runs' objective values (None if K < 2);
    best = the mean of each run's best objective (optimistic: selected on the
    numbers it reports); best_epoch = the median of their epochs. seconds_per_epoch = the
    mean over the runs that record their epoch times (``epoch_seconds``) of each one's
    ``seconds_per_epoch`` (the 10th percentile of its epochs after the first); absent for
    studies from before, whose trial-level median then stands.
    """
    scored = [(run, run_scores(run, rank_by, objective)) for run in runs if run["evaluations"]]
    row = {name: _mean(v[name] for _, v in scored) for name in SCORES + ("best",)}
    repeat_scores = [{"repeat": r["repeat"], "seed": r["seed"], "score": v[objective],
                      "diverged_at_epoch": r["diverged_at_epoch"]}
                     for r, v in scored if v[objective] is not None]
    row.update(repeats=sum(r["status"] in RUN_DONE for r in runs),
               score_se=standard_error([s["score"] for s in repeat_scores]),
               repeat_scores=repeat_scores,
               best_epoch=_low_median([v["best_epoch"] for _, v in scored
                                       if v["best_epoch"] is not None]),
               epochs=max((e["epoch"] for r in runs for e in r["evaluations"]), default=None))
    row.update(_divergence(runs))
    timed = [r["seconds_per_epoch"] for r in runs
             if r.get("epoch_seconds") and _number(r["seconds_per_epoch"]) is not None]
    if timed:
        row["seconds_per_epoch"] = _mean(timed)
    return row
