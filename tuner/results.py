"""Reading study folders: ranked trial rows for leaderboards, reports and retraining. No TensorFlow.

Only files are read (study.json, trial_*/trial.json, trial_*/evaluations.json,
trial_*/samples/*.png), never written or locked, so this works on a copy, a
finished study or one a search is still writing: a trial in progress shows as
running, with its best evaluation so far.
"""

import difflib
import json
import math
import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path

from tuner.errors import UsageError
from tuner.lock import LOCK_FILE

STUDY_FILE = "study.json"
STATUS_ORDER = {"COMPLETED": 0, "RUNNING": 1, "IDLE": 1, "INTERRUPTED": 1,
                "FAILED": 2, "INVALID": 2, "STOPPED": 2}
IN_PROGRESS = ("RUNNING", "IDLE")
HYPERPARAMETERS = ("learning_rate", "beta_1", "image_size", "subset_fraction")
SCORES = ("kid", "kid_std", "fd", "density", "coverage", "kid_train", "kid_heldout")
METRICS = SCORES + ("best_epoch", "epochs", "seconds_per_epoch", "final_kid", "final_fd")
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


def load_evaluations(trial_dir):
    """Every evaluation of a trial so far, oldest first ([] before the first one)."""
    doc = _read(Path(trial_dir) / "evaluations.json")
    evaluations = doc.get("evaluations") if isinstance(doc, dict) else None
    return [e for e in evaluations or [] if isinstance(e, dict) and "epoch" in e]


def sample_grids(trial_dir):
    """(epoch, path) of each sample grid the trial saved, oldest first."""
    grids = []
    for path in (Path(trial_dir) / "samples").glob("epoch_*.png"):
        if match := GRID_NAME.match(path.name):
            grids.append((int(match.group(1)), path))
    return sorted(grids)


def _best_so_far(evaluations, objective):
    """Scores of a trial still in progress: its best evaluation yet, and how far it got."""
    scored = [e for e in evaluations if e.get(objective) is not None]
    if not scored:
        return {}
    best = min(scored, key=lambda e: e[objective])
    return {**{name: best.get(name) for name in SCORES},
            "best_epoch": best["epoch"], "epochs": evaluations[-1]["epoch"]}


def _record(trial_dir, evaluations):
    """keras-tuner's trial.json, a stand-in for a trial scored before it was recorded, or None."""
    trial = _read(trial_dir / "trial.json")
    if isinstance(trial, dict):
        return trial
    if evaluations:
        return {"trial_id": trial_dir.name.removeprefix("trial_"), "status": "RUNNING"}
    return None


def trial_row(trial_dir, objective="kid", search_alive=True):
    """One trial as a flat dict, or None if its folder holds nothing readable yet.

    keras-tuner writes trial.json (status RUNNING) when a trial starts; a folder
    with only evaluations.json is a trial in progress too. A running trial of a
    study whose search process has died shows as INTERRUPTED.
    """
    trial_dir = Path(trial_dir)
    evaluations = load_evaluations(trial_dir)
    trial = _record(trial_dir, evaluations)
    if trial is None:
        return None
    status = trial.get("status") or "RUNNING"
    if status in IN_PROGRESS and not search_alive:
        status = "INTERRUPTED"
    values = trial.get("hyperparameters", {}).get("values", {})
    row = {"trial_id": str(trial.get("trial_id")), "status": status,
           "hyperparameters": {**{k: values.get(k) for k in HYPERPARAMETERS}, **values},
           "message": failure_reason(trial.get("message")) if trial.get("message") else "",
           "folder": str(trial_dir)}
    row.update({name: _metric(trial, name) for name in METRICS})
    if status in IN_PROGRESS + ("INTERRUPTED",):
        row.update(_best_so_far(evaluations, objective))
    for name in ("best_epoch", "epochs"):
        row[name] = int(row[name]) if row[name] is not None else None
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
    return _pid_alive(int(match.group(1)))


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def load_study(study_dir):
    """study.json of a study folder (empty dict if absent)."""
    doc = _read(Path(study_dir) / STUDY_FILE)
    return doc if isinstance(doc, dict) else {}


def rank(rows, objective):
    """Sort rows in place (completed best first, then in progress, then failed) and number
    the completed ones."""
    def key(row):
        value = row.get(objective) if row["status"] == "COMPLETED" else None
        return (STATUS_ORDER.get(row["status"], 1), math.inf if value is None else value,
                row.get("study") or "", row["trial_id"])

    rows.sort(key=key)
    ranked = (row for row in rows
              if row["status"] == "COMPLETED" and row.get(objective) is not None)
    for row in rows:
        row["rank"] = None
    for number, row in enumerate(ranked, start=1):
        row["rank"] = number
    return rows


def load_trials(study_dir, objective=None):
    """All trials of a study, ranked: completed by objective, then running, then failed."""
    study = load_study(study_dir)
    objective = objective or study.get("objective", "kid")
    protocol = study.get("protocol", {})
    alive = search_alive(study_dir)
    rows = [row for path in sorted(Path(study_dir).glob("trial_*")) if path.is_dir()
            if (row := trial_row(path, objective, alive)) is not None]
    for row in rows:
        row.update(study=Path(study_dir).name, features=protocol.get("features"),
                   eval_size=protocol.get("eval_size"), protocol_key=study.get("protocol_key"),
                   retrain=load_retrain(study_dir, row["trial_id"]))
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
        return self.meta.get("objective", "kid")

    @property
    def protocol(self):
        return self.meta.get("protocol") or {}


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


def _same_scoring(a, b):
    """Scores rank together only under one protocol (and one objective to sort by)."""
    return bool(a.protocol) and a.protocol == b.protocol and a.objective == b.objective


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
