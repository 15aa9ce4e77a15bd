"""Reading study folders: ranked trial rows for leaderboards, reports and retraining. No TensorFlow.

Only files are read (study.json, trial_*/trial.json, trial_*/evaluations.json,
trial_*/samples/*.png), never written or locked, so this works on a copy, a
finished study or one a search is still writing: a trial in progress shows as
running, with its scores so far.

A trial's score comes from evaluations.json: within each training run (repeat)
the study's rank-by rule picks the evaluations (final, best, last-N), and the
trial's value is the mean over its runs, with the standard error over runs and
a paired comparison with the best trial over the seeds they share.
"""

import difflib
import json
import math
import re
import socket
from dataclasses import dataclass
from pathlib import Path

from tuner import comparison
from tuner.config import RANK_BY, objective_metric
from tuner.errors import UsageError
from tuner.lock import LOCK_FILE, process_alive

STUDY_FILE = "study.json"
SPACE_COPY = "space.toml"  # the space file a study ran with, copied into its folder
STATUS_ORDER = {"COMPLETED": 0, "RUNNING": 1, "IDLE": 1, "INTERRUPTED": 1,
                "FAILED": 2, "INVALID": 2, "STOPPED": 2}
IN_PROGRESS = ("RUNNING", "IDLE")
FAILED = ("FAILED", "INVALID", "STOPPED")
HYPERPARAMETERS = ("learning_rate", "beta_1", "image_size", "subset_fraction")
OBJECTIVES = ("kid", "fd", "swd", "kid_heldout")  # what a study may be ranked by
# Scores of an evaluation that a trial's row carries, each reduced by the study's rank-by rule.
SCORES = ("kid", "kid_std", "fd", "swd", "density", "coverage", "kid_train", "kid_heldout",
          "fd_heldout")
RECORD_METRICS = ("seconds_per_epoch",)  # read from keras-tuner's trial.json
OLD_RANK_BY = "best"  # studies written before rank-by existed selected each trial's best evaluation
RUN_DONE = ("completed", "diverged")
GRID_NAME = re.compile(r"^epoch_(\d+)\.png$")
LOCK_HOLDER = re.compile(r"process (\d+) on (\S+)")


def _read(path):
    """A JSON file's content, or None while it is missing or unreadable."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


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


def _metric(trial, name):
    """The last recorded value of metric `name` in a keras-tuner trial.json dict."""
    history = trial.get("metrics", {}).get("metrics", {}).get(name)
    if not history or not history.get("observations"):
        return None
    value = history["observations"][-1]["value"]
    value = value[0] if isinstance(value, list) else value
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def _number(value):
    """A score as a float, or None when it is missing or not finite."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _mean(values):
    numbers = [v for v in map(_number, values) if v is not None]
    return math.fsum(numbers) / len(numbers) if numbers else None


def _evaluation_file(trial_dir):
    doc = _read(Path(trial_dir) / "evaluations.json")
    return doc if isinstance(doc, dict) else {}


def _evaluations(doc):
    return [e for e in doc.get("evaluations") or [] if isinstance(e, dict) and "epoch" in e]


def load_evaluations(trial_dir):
    """Every evaluation of a trial so far, all its runs, in the order written."""
    return _evaluations(_evaluation_file(trial_dir))


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
            "evaluations": evaluations}


def load_runs(trial_dir):
    """The trial's training runs (its repeats), by repeat number, each with its evaluations."""
    doc = _evaluation_file(trial_dir)
    evaluations = _evaluations(doc)
    entries = _run_entries(doc, evaluations)
    numbers = sorted(set(entries) | {e.get("repeat", 0) for e in evaluations})
    by_epoch = sorted(evaluations, key=lambda e: e["epoch"])
    return [_run(n, entries.get(n), [e for e in by_epoch if e.get("repeat", 0) == n])
            for n in numbers]


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
    numbers it reports); best_epoch = the median of their epochs.
    """
    scored = [(run, run_scores(run, rank_by, objective)) for run in runs if run["evaluations"]]
    row = {name: _mean(v[name] for _, v in scored) for name in SCORES + ("best",)}
    repeat_scores = [{"repeat": r["repeat"], "seed": r["seed"], "score": v[objective],
                      "diverged_at_epoch": r["diverged_at_epoch"]}
                     for r, v in scored if v[objective] is not None]
    row.update(repeats=sum(r["status"] in RUN_DONE for r in runs),
               score_se=comparison.standard_error([s["score"] for s in repeat_scores]),
               repeat_scores=repeat_scores,
               best_epoch=_low_median([v["best_epoch"] for _, v in scored
                                       if v["best_epoch"] is not None]),
               epochs=max((e["epoch"] for r in runs for e in r["evaluations"]), default=None))
    row.update(_divergence(runs))
    return row


def sample_grids(trial_dir):
    """(epoch, path) of each sample grid the trial saved, oldest first."""
    grids = []
    for path in (Path(trial_dir) / "samples").glob("epoch_*.png"):
        if match := GRID_NAME.match(path.name):
            grids.append((int(match.group(1)), path))
    return sorted(grids)


def _record(trial_dir, evaluated):
    """keras-tuner's trial.json, a stand-in for a trial scored before it was recorded, or None."""
    trial = _read(trial_dir / "trial.json")
    if isinstance(trial, dict):
        return trial
    if evaluated:
        return {"trial_id": trial_dir.name.removeprefix("trial_"), "status": "RUNNING"}
    return None


def trial_row(trial_dir, objective="kid", search_alive=True, rank_by=OLD_RANK_BY):
    """One trial as a flat dict, or None if its folder holds nothing readable yet.

    Scores come from evaluations.json, reduced by `rank_by` within each run and
    averaged over runs (a trial in progress: its runs so far); a failed trial
    has none. keras-tuner writes trial.json (status RUNNING) when a trial
    starts; a folder with only evaluations.json is a trial in progress too. A
    running trial of a study whose search process has died shows as INTERRUPTED.
    """
    trial_dir = Path(trial_dir)
    runs = load_runs(trial_dir)
    worker = _evaluation_file(trial_dir).get("worker")
    trial = _record(trial_dir, any(run["evaluations"] for run in runs))
    if trial is None:
        return None
    status = trial.get("status") or "RUNNING"
    if status in IN_PROGRESS and not search_alive:
        status = "INTERRUPTED"
    values = trial.get("hyperparameters", {}).get("values", {})
    row = {"trial_id": str(trial.get("trial_id")), "status": status,
           "hyperparameters": {**{k: values.get(k) for k in HYPERPARAMETERS}, **values},
           "message": failure_reason(trial.get("message")) if trial.get("message") else "",
           "folder": str(trial_dir), "worker": worker if isinstance(worker, str) else None}
    row.update({name: _metric(trial, name) for name in RECORD_METRICS})
    row.update(summarise_runs([] if status in FAILED else runs, rank_by, objective))
    return row


def load_retrain(study_dir, trial_id):
    """The trial's `tuner.retrain` summary (final scores over seeds), or None if never retrained."""
    doc = _read(Path(study_dir) / "retrain" / f"trial_{trial_id}" / "retrain.json")
    if not isinstance(doc, dict) or not doc.get("n_completed"):
        return None
    final = doc["final"]
    return {"epochs": doc["epochs"], "seeds": doc["n_completed"], "complete": doc["complete"],
            "kid": final["kid"]["mean"], "kid_seed_std": final["kid"]["std"],
            "fd": final["fd"]["mean"], "fd_seed_std": final["fd"]["std"]}


def search_alive(study_dir):
    """False only when the study's lock names a process of this machine that has exited.

    The lock file stays behind after its holder dies (only the flock goes), so
    it names the last search; reading it never takes the lock, which would
    make a search starting at that moment refuse to run.
    """
    try:
        holder = (Path(study_dir) / LOCK_FILE).read_text()
    except OSError:
        return True
    match = LOCK_HOLDER.search(holder)
    if not match or match.group(2) != socket.gethostname():
        return True  # another machine's process: we cannot tell, so trust the files
    return process_alive(int(match.group(1)))


def load_study(study_dir):
    """study.json of a study folder (empty dict if absent)."""
    doc = _read(Path(study_dir) / STUDY_FILE)
    return doc if isinstance(doc, dict) else {}


def rank(rows, objective):
    """Sort rows in place (completed best first, then in progress, then failed), number the
    completed ones and compare each with #1 (`vs_best`)."""
    def key(row):
        value = row.get(objective) if row["status"] == "COMPLETED" else None
        return (STATUS_ORDER.get(row["status"], 1), math.inf if value is None else value,
                row.get("study") or "", row["trial_id"])

    rows.sort(key=key)
    ranked = [row for row in rows
              if row["status"] == "COMPLETED" and row.get(objective) is not None]
    for row in rows:
        row["rank"], row["vs_best"] = None, None
    for number, row in enumerate(ranked, start=1):
        row["rank"] = number
    for row in ranked[1:]:
        row["vs_best"] = comparison.compare(scores_by_seed(ranked[0]), scores_by_seed(row))
    return rows


def scores_by_seed(row):
    """{seed: objective} of a trial's runs, to pair with another trial's runs of the same seed."""
    return {(s["seed"] if s["seed"] is not None else f"repeat {s['repeat']}"): s["score"]
            for s in row.get("repeat_scores") or []}


def objective_of(study):
    """The score a study ranks by (a study.json spelling `kid-heldout` reads as kid_heldout)."""
    return objective_metric(str(study.get("objective") or "kid"))


def rank_by_of(study, study_dir="."):
    """The study's rank-by rule; studies from before the choice existed ranked by the best
    evaluation. UsageError naming study.json if the rule is not one of the known ones."""
    rule = study.get("rank_by") or (study.get("protocol") or {}).get("rank_by") or OLD_RANK_BY
    try:
        parse_rank_by(rule)
    except ValueError as err:
        raise UsageError(f"{Path(study_dir) / STUDY_FILE}: {err}; correct the file") from None
    return rule


def load_trials(study_dir, objective=None):
    """All trials of a study, ranked: completed by objective, then running, then failed."""
    study = load_study(study_dir)
    objective = objective or objective_of(study)
    rank_by = rank_by_of(study, study_dir)
    protocol = study.get("protocol", {})
    alive = search_alive(study_dir)
    rows = [row for path in sorted(Path(study_dir).glob("trial_*")) if path.is_dir()
            if (row := trial_row(path, objective, alive, rank_by)) is not None]
    for row in rows:
        row.update(study=Path(study_dir).name, features=protocol.get("features"),
                   eval_size=protocol.get("eval_size"), protocol_key=study.get("protocol_key"),
                   rank_by=rank_by, retrain=load_retrain(study_dir, row["trial_id"]))
    return rank(rows, objective)


@dataclass(frozen=True)
class Study:
    """One study folder as read from disk: its study.json and its ranked trial rows."""

    name: str
    path: Path
    meta: dict
    rows: list

    @property
    def objective(self):
        return objective_of(self.meta)

    @property
    def rank_by(self):
        return rank_by_of(self.meta, self.path)

    @property
    def repeats(self):
        """Runs per configuration the study asked for (1 before repeats existed)."""
        return int(self.meta.get("repeats") or 1)

    @property
    def protocol(self):
        return self.meta.get("protocol") or {}


def epoch_spending(study):
    """(epochs spent, epochs of the equivalent grid) of a Hyperband study, else None.

    Spent: every trial's epochs (Hyperband's `tuner/epochs` less the
    `tuner/initial_epoch` it continued from) times its runs. The equivalent
    grid trains each configuration Hyperband tried for the study's full epochs.
    """
    if str(study.meta.get("tuner", "")).lower() != "hyperband":
        return None
    epochs = (study.meta.get("train") or {}).get("epochs")
    if not isinstance(epochs, int):
        return None
    spent, configurations = 0, set()
    for row in study.rows:
        values = row.get("hyperparameters") or {}
        spent += (values.get("tuner/epochs", epochs) - values.get("tuner/initial_epoch", 0)) \
            * study.repeats
        configurations.add(tuple(sorted((k, repr(v)) for k, v in values.items()
                                        if not k.startswith("tuner/") and v is not None)))
    return spent, len(configurations) * epochs * study.repeats


def spending_text(study):
    """One line on what a Hyperband study spent against its grid, or ""."""
    spending = epoch_spending(study)
    if not spending or not spending[1]:
        return ""
    spent, grid = spending
    return (f"Hyperband trained {spent} epochs; the grid of the configurations it tried, each "
            f"trained for the full {study.meta['train']['epochs']} epochs, would take {grid} "
            f"({spent / grid:.0%})")


def open_study(study_dir):
    """Read a study folder (its name is the folder's: a copy may be renamed)."""
    study_dir = Path(study_dir)
    return Study(name=study_dir.name, path=study_dir, meta=load_study(study_dir),
                 rows=load_trials(study_dir))


def is_study(path):
    return (Path(path) / STUDY_FILE).is_file()


def study_dirs(results_dir):
    """Every study folder directly under `results_dir`, by name."""
    root = Path(results_dir)
    return sorted(p for p in root.iterdir() if is_study(p)) if root.is_dir() else []


def _last_activity(study_dir):
    """When the study last changed: a resumed old study counts as recent."""
    paths = [study_dir, study_dir / STUDY_FILE, study_dir / "oracle.json"]
    return max(p.stat().st_mtime for p in paths if p.exists())


def latest_study(results_dir):
    """The study folder under `results_dir` that changed last; UsageError if there is none."""
    folders = study_dirs(results_dir)
    if not folders:
        raise UsageError(f"--results-dir {results_dir}: no study there (no <study>/{STUDY_FILE}); "
                         f"run `python -m tuner.search` first, or name a study folder")
    return max(folders, key=_last_activity)


def find_study(study, results_dir):
    """A study folder from a path or a name under `results_dir`; UsageError naming the choices."""
    for candidate in (Path(study).expanduser(), Path(results_dir) / study):
        if is_study(candidate):
            return candidate
    names = [p.name for p in study_dirs(results_dir)]
    close = difflib.get_close_matches(Path(study).name, names, n=3)
    hint = (f"did you mean {' or '.join(close)}?" if close else
            f"studies there: {', '.join(names)}" if names else f"{results_dir} holds no study")
    raise UsageError(f"study {study!r}: not a study folder (no {STUDY_FILE}) nor a study in "
                     f"--results-dir {results_dir}; {hint}")


@dataclass(frozen=True)
class Ranking:
    """Trials of one or more studies scored under one protocol, ranked together."""

    studies: tuple
    rows: list
    objective: str
    protocol: dict
    note: str = ""  # why these studies are not ranked with the first group

    @property
    def names(self):
        return [study.name for study in self.studies]

    @property
    def rank_by(self):
        return self.studies[0].rank_by if self.studies else OLD_RANK_BY

    @property
    def repeats(self):
        """The most runs per configuration any of its studies asked for."""
        return max((study.repeats for study in self.studies), default=1)


def _same_scoring(a, b):
    """Scores rank together only under one protocol, objective and rank-by rule."""
    return (bool(a.protocol) and a.protocol == b.protocol and a.objective == b.objective
            and a.rank_by == b.rank_by)


def _why_separate(study, first):
    """One line: how `study`'s scoring differs from the first ranked group's."""
    if not study.protocol or not first.protocol:
        missing = study.name if not study.protocol else first.name
        return f"{study.name} is ranked separately from {first.name}: " \
               f"{missing} records no scoring protocol"
    differences = [f"{k} {first.protocol.get(k)} vs {study.protocol.get(k)}"
                   for k in sorted(set(first.protocol) | set(study.protocol))
                   if first.protocol.get(k) != study.protocol.get(k)]
    if study.objective != first.objective:
        differences.append(f"objective {first.objective} vs {study.objective}")
    if study.rank_by != first.rank_by and "rank_by" not in first.protocol:
        differences.append(f"rank_by {first.rank_by} vs {study.rank_by}")
    return (f"{study.name} is ranked separately from {first.name}: scores are not comparable "
            f"({'; '.join(differences)})")


def rank_studies(studies):
    """Group studies with identical scoring and rank each group; later groups say why apart."""
    groups = []
    for study in studies:
        group = next((g for g in groups if _same_scoring(g[0], study)), None)
        if group is None:
            groups.append([study])
        else:
            group.append(study)
    rankings = []
    for group in groups:
        objective = group[0].objective
        rows = rank([dict(row) for study in group for row in study.rows], objective)
        note = "" if not rankings else "; ".join(_why_separate(s, groups[0][0]) for s in group)
        rankings.append(Ranking(tuple(group), rows, objective, group[0].protocol, note))
    return rankings


def load_rankings(studies, results_dir):
    """Rankings of the named studies (paths or names), or of the most recent study if none."""
    paths = [find_study(s, results_dir) for s in studies] or [latest_study(results_dir)]
    unique = list({p.resolve(): p for p in paths}.values())
    return rank_studies([open_study(p) for p in unique])
