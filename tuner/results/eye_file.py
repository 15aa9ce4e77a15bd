"""eye.json: a study's judgements by eye and the sessions that planned them. No TF.

    {"format": 1,
     "sessions": [{"id", "judge", "started", "settings", "items": [task, ...]}],
     "judgements": [{"session", "item", "task", "answer", "judge", "time", ...}]}

A pair judgement also holds `left` and `right` (the trials shown) and `runs`; a face
judgement `trial` (None for a real face) and `truth`; one recorded from an answers file
`"source": "files"`. A session's `settings` may hold `"export": true` (its pairs were written
as image files) and `same_pairs_as` (a judge whose pairs it repeats). Older files lack
`settings`, `runs` and a session's judge; they load all the same. Undoing an answer marks it `undone`
(with the time) rather than deleting it. Every change is a read-modify-write under a lock,
written atomically, so two pages or a stopped server never lose an answer.
"""

import time
from pathlib import Path

import filelock

from tuner.common import files
from tuner.common.errors import UsageError
from tuner.results.runs import json_problem

EYE_FILE = "eye.json"
LOCK_NAME = ".eye.json.lock"
FORMAT = 1


def empty():
    return {"format": FORMAT, "sessions": [], "judgements": []}


def eye_path(study_dir):
    return Path(study_dir) / EYE_FILE


def read_eye(study_dir):
    """The study's eye.json (an empty one if there is none).

    Raises:
        UsageError: eye.json cannot be read or is not in the format above.
    """
    path = eye_path(study_dir)
    if not path.exists():
        return empty()
    problem = json_problem(path)  # its shape too: results.schemas' EYE
    if problem:
        raise UsageError(f"{path}: {problem}; restore it from a copy, or move it aside to "
                         f"start the judgements over (the study's search with --repair does)")
    return files.read_json(path)


def update(study_dir, change):
    """Apply `change(doc)` to eye.json under its lock and write it atomically; returns what
    `change` returned."""
    lock = filelock.FileLock(Path(study_dir) / LOCK_NAME, timeout=30)
    try:
        lock.acquire()
    except OSError as err:  # a read-only study: one line, not a traceback
        raise files.unwritable(lock.lock_file, err) from None
    try:
        doc = read_eye(study_dir)
        result = change(doc)
        files.write_json(eye_path(study_dir), doc)
        return result
    finally:
        lock.release()


def now():
    return time.strftime("%Y-%m-%dT%H:%M:%S")


# The judged runs rescored by each feature network (tuner.judging.agreement writes it):
#   {"format": 1,
#    "networks": {name: {"features", "weights", "preprocessing"}},
#    "runs": {"<trial>/<run>": {"samples": sha256 of its final_samples.npz (16 hex digits),
#                               "swd": v, name: {"kid": v, "fd": v}, ...}},
#    "missing": ["<trial>/<run>", ...]}   # judged runs without final samples
# A few hundred bytes per run and network.
RESCORES_FILE = "eye_rescores.json"


def rescores_path(study_dir):
    return Path(study_dir) / RESCORES_FILE


def empty_rescores():
    return {"format": FORMAT, "networks": {}, "runs": {}, "missing": []}


def read_rescores(study_dir):
    """The study's eye_rescores.json, or None when there is none or it is not of the shape
    above (it is a cache: made again by `python -m tuner.eye STUDY --agreement`)."""
    path = rescores_path(study_dir)
    if json_problem(path) or not path.exists():
        return None
    doc = files.read_json(path)
    ok = isinstance(doc.get("networks"), dict) and isinstance(doc.get("runs"), dict) and \
        all(isinstance(v, dict) for v in doc["runs"].values()) and \
        isinstance(doc.get("missing", []), list)
    return doc if ok else None
