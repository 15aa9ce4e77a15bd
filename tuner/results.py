"""Reading a study folder: trial rows for leaderboards and retraining. No TensorFlow.

Only files are read (study.json, trial_*/trial.json, trial_*/evaluations.json),
so this works on a copy, a finished study or one still being written.
"""

import json
import math
from pathlib import Path

STATUS_ORDER = {"COMPLETED": 0, "RUNNING": 1, "IDLE": 1, "FAILED": 2, "INVALID": 2, "STOPPED": 2}
HYPERPARAMETERS = ("learning_rate", "beta_1", "image_size", "subset_fraction")


def _read(path):
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


def trial_row(trial_dir):
    """One trial as a flat dict, or None if its trial.json is missing or unreadable."""
    trial = _read(Path(trial_dir) / "trial.json")
    if trial is None:
        return None
    values = trial.get("hyperparameters", {}).get("values", {})
    row = {"trial_id": trial.get("trial_id"), "status": trial.get("status"),
           "hyperparameters": {k: values.get(k) for k in HYPERPARAMETERS},
           "message": failure_reason(trial.get("message")) if trial.get("message") else ""}
    for name in ("kid", "kid_std", "fd", "density", "coverage", "kid_train", "kid_heldout",
                 "best_epoch", "epochs", "seconds_per_epoch", "final_kid", "final_fd"):
        row[name] = _metric(trial, name)
    for name in ("best_epoch", "epochs"):
        row[name] = int(row[name]) if row[name] is not None else None
    return row


def load_study(study_dir):
    """study.json of a study folder (empty dict if absent)."""
    return _read(Path(study_dir) / "study.json") or {}


def load_trials(study_dir, objective=None):
    """All trials of a study, ranked: completed by objective, then running, then failed."""
    study = load_study(study_dir)
    objective = objective or study.get("objective", "kid")
    features = study.get("protocol", {}).get("features")
    rows = [row for path in sorted(Path(study_dir).glob("trial_*"))
            if (row := trial_row(path)) is not None]
    for row in rows:
        row["features"] = features
    rows.sort(key=lambda r: (STATUS_ORDER.get(r["status"], 1),
                             r[objective] if r[objective] is not None else math.inf))
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank if row["status"] == "COMPLETED" else None
    return rows
