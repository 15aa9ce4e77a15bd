"""A study folder as read at one moment (`read_study` -> `StudySnapshot`): its study.json and
ranked trial rows, for leaderboards, reports and retraining; and finding study folders. No TF.

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
import logging
import math
import re
import socket
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tuner.common.config import DEFAULT_MARGIN, MAX_REPEATS
from tuner.common.errors import UsageError
from tuner.common.lock import LOCK_FILE, process_alive
from tuner.common.names import HYPERPARAMETERS, RECORD_METRICS, objective_metric
from tuner.results import eye_scores
from tuner.results.decisions import (
    ALPHA,
    MIN_SEEDS,
    SEEDS,
    TOLERANCE,
    Spending,
    advice,
    look_alpha,
    out_of_reach,
    pairs,
    selection,
)
from tuner.results.eye_file import read_eye
from tuner.results.runs import (
    evaluation_file,
    evaluations_problem,
    failure_reason,
    finished_runs,
    json_problem,
    load_runs,
    parse_rank_by,
    read_json_or_none,
    summarise_runs,
)

log = logging.getLogger(__name__)
STUDY_FILE = "study.json"
SPACE_COPY = "space.toml"  # the space file a study ran with, copied into its folder
DAMAGED = "DAMAGED"  # a trial whose trial.json or evaluations.json cannot be read: never done
STATUS_ORDER = {"COMPLETED": 0, "RUNNING": 1, "IDLE": 1, "INTERRUPTED": 1,
                "FAILED": 2, "INVALID": 2, "STOPPED": 2, DAMAGED: 3}
IN_PROGRESS = ("RUNNING", "IDLE")
FAILED = ("FAILED", "INVALID", "STOPPED")
OLD_RANK_BY = "best"  # studies written before rank-by existed selected each trial's best evaluation
METHOD = "paired t, Bonferroni"  # the leaderboard's comparisons (tuner.results.decisions)
# A row's part in "which is best" (tuner.results.decisions.selection), in precedence order:
# within the margin of the best (even if also settled worse), settled worse, another at least
# as good, open, out of reach within the cap.
EQUIVALENT, WORSE, NOT_BEST, OPEN, OUT_OF_REACH = ("equivalent", "worse", "not best", "open",
                                                  "out of reach")
GRID_NAME = re.compile(r"^epoch_(\d+)\.png$")
LOCK_HOLDER = re.compile(r"process (\d+) on (\S+)")


def _metric(trial, name):
    """The last recorded value of metric `name` in a keras-tuner trial.json dict."""
    history = trial.get("metrics", {}).get("metrics", {}).get(name)
    if not history or not history.get("observations"):
        return None
    value = history["observations"][-1]["value"]
    value = value[0] if isinstance(value, list) else value
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def sample_grids(trial_dir):
    """(epoch, path) of each sample grid the trial saved, oldest first."""
    grids = []
    for path in (Path(trial_dir) / "samples").glob("epoch_*.png"):
        if match := GRID_NAME.match(path.name):
            grids.append((int(match.group(1)), path))
    return sorted(grids)


def _record(trial_dir, evaluated):
    """keras-tuner's trial.json, a stand-in for a trial scored before it was recorded, or None."""
    trial = read_json_or_none(trial_dir / "trial.json")
    if isinstance(trial, dict):
        return trial
    if evaluated:
        return {"trial_id": trial_dir.name.removeprefix("trial_"), "status": "RUNNING"}
    return None


def trial_row(trial_dir, objective="kid", search_alive=True, rank_by=OLD_RANK_BY):
    """One trial as a flat dict, or None if its folder holds nothing readable yet.

    Scores come from evaluations.json, reduced by `rank_by` within each run and
    averaged over its finished runs (a trial in progress: its runs so far); a failed trial
    has none. keras-tuner writes trial.json (status RUNNING) when a trial
    starts; a folder with only evaluations.json is a trial in progress too. A
    running trial of a study whose search process has died shows as INTERRUPTED.
    """
    trial_dir = Path(trial_dir)
    if damage := trial_damage(trial_dir):
        return damaged_row(trial_dir, damage)
    runs = load_runs(trial_dir)
    worker = evaluation_file(trial_dir).get("worker")
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
    row.update(summarise_runs(_counted(runs, status), rank_by, objective))
    return row


def _counted(runs, status):
    """The runs a trial's scores come from: a completed trial's finished runs; a trial in
    progress shows its scores so far; a failed one has none."""
    if status in FAILED:
        return []
    return finished_runs(runs) if status == "COMPLETED" else runs


def trial_damage(trial_dir):
    """"trial_3/evaluations.json: not valid JSON (truncated?): ..." for a trial whose files
    cannot be read (or hold a score that is not a number), else None."""
    trial_dir = Path(trial_dir)
    for name, problem in (("trial.json", json_problem(trial_dir / "trial.json")),
                          ("evaluations.json", evaluations_problem(trial_dir))):
        if problem:
            return f"{trial_dir.name}/{name}: {problem}"
    return None


def damaged_row(trial_dir, damage):
    """A damaged trial's row: its configuration if trial.json still reads, no scores."""
    trial = read_json_or_none(trial_dir / "trial.json")
    trial = trial if isinstance(trial, dict) else {}
    hyperparameters = trial.get("hyperparameters")
    values = hyperparameters.get("values") if isinstance(hyperparameters, dict) else None
    values = values if isinstance(values, dict) else {}
    row = {"trial_id": str(trial.get("trial_id") or trial_dir.name.removeprefix("trial_")),
           "status": DAMAGED, "damaged": damage, "message": "",
           "hyperparameters": {**{k: values.get(k) for k in HYPERPARAMETERS}, **values},
           "folder": str(trial_dir), "worker": None}
    row.update({name: None for name in RECORD_METRICS})
    row.update(summarise_runs([], OLD_RANK_BY, "kid"))
    return row


def load_retrain(study_dir, trial_id):
    """The trial's `tuner.retrain` summary (final scores over seeds), or None if never retrained."""
    path = Path(study_dir) / "retrain" / f"trial_{trial_id}" / "retrain.json"
    if problem := json_problem(path):
        log.warning("%s: %s; its retraining is left out (retrain it again)", path, problem)
        return None
    doc = read_json_or_none(path)
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
    """study.json of a study folder (empty dict if absent).

    Raises:
        UsageError: study.json is there but cannot be read (its trials' scores cannot be
            read right without its rank-by rule and protocol).
    """
    path = Path(study_dir) / STUDY_FILE
    if problem := json_problem(path):
        raise UsageError(f"{path}: {problem}; run the study's search again with --repair to "
                         f"rewrite it (its trials are kept)")
    doc = read_json_or_none(path)
    return doc if isinstance(doc, dict) else {}


def unscored_runs(row):
    """Finished runs of a trial that have no score (e.g. a run that stopped before its first
    evaluation): such a trial is compared on its scored runs only, and says so."""
    return max(0, (row.get("repeats") or 0) - len(row.get("repeat_scores") or []))


def out_text(row):
    """"every run diverged (3 of 3)" for a completed trial whose every run diverged, else None:
    such a trial is out of the ranking's comparisons (its divergence is its result)."""
    runs = row.get("repeats") or 0
    if row["status"] == "COMPLETED" and runs and (row.get("diverged") or 0) >= runs:
        return f"every run diverged ({row['diverged']} of {runs})"
    return None


def rank(rows, objective, looks=1, margin=DEFAULT_MARGIN, cap=MAX_REPEATS):
    """Sort rows in place and number the completed ones: those with every finished run scored
    first (best first), then those with a finished run unscored, then those whose every run
    diverged ("out"); then trials in progress, then failed ones. Each compared row but #1
    gets `vs_best`, its comparison with #1, and every compared row `may_be_best` (`versus_first`:
    `looks` is the study's spending, an int or a `decisions.Spending`; `margin` a share of #1's
    score; `cap` the seeds within which an open comparison could still be decided)."""
    def key(row):
        value = row.get(objective) if row["status"] == "COMPLETED" else None
        return (STATUS_ORDER.get(row["status"], 1), out_text(row) is not None,
                unscored_runs(row) > 0, math.inf if value is None else value,
                row.get("study") or "", row["trial_id"])

    for row in rows:
        row["rank"], row["vs_best"], row["may_be_best"] = None, None, None
        row["out"], row["unscored"] = out_text(row), unscored_runs(row)
    rows.sort(key=key)
    ranked = [row for row in rows
              if row["status"] == "COMPLETED" and row.get(objective) is not None]
    for number, row in enumerate(ranked, start=1):
        row["rank"] = number
    compared = [row for row in ranked if row["out"] is None]
    answers = versus_first([scores_by_seed(r) for r in compared], looks, margin, cap)
    for row, (vs, may) in zip(compared, answers, strict=True):
        row["vs_best"], row["may_be_best"] = vs, may
        if vs and vs["n"] < 2 and min(row.get("repeats") or 0,
                                      compared[0].get("repeats") or 0) >= MIN_SEEDS:
            vs["advice"] = (f"needs {MIN_SEEDS} scored seeds in common with #1 (now {vs['n']}; "
                            f"runs without a score do not count): --settle adds seeds")
    if compared:
        compared[0]["may_be_best"] = True
    return rows


def _finite(x):
    """A float for JSON, None where it is not finite (a score of 1e300 overflows its sd)."""
    return float(x) if x is not None and math.isfinite(float(x)) else None


def versus_first(score_maps, looks=1, margin=DEFAULT_MARGIN, cap=MAX_REPEATS):
    """Each of `score_maps` ({seed: score}) against the first, as (`vs_best` dict, may be
    best) pairs (the first's dict is None): settled worse (Bonferroni over all pairs and the
    looks), may be best and equivalent within `margin` (`decisions.selection`)."""
    if len(score_maps) < 2:
        return [(None, True)] * len(score_maps)
    seeds = sorted(set().union(*score_maps), key=str)
    values = np.array([[m.get(s, np.nan) for s in seeds] for m in score_maps], dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        chosen = selection(values, margin, looks)
    k = len(score_maps)
    spend = looks if isinstance(looks, Spending) else Spending(int(looks))

    def error(n):  # the one-sided error of a comparison with #1 at n seeds
        return look_alpha(spend, ALPHA, n) / max(1, k - 1)

    out = [(None, True)]
    for i in range(1, k):
        out.append((_row_answer(chosen, i, k, spend, margin, cap, error),
                    bool(chosen.may_be_best[i])))
    return out


def _row_answer(chosen, i, k, spend, margin, cap, error):
    """Row i's `vs_best` dict (see `versus_first`)."""
    iv = chosen.versus
    n = int(iv.p.n[i])
    has = n >= MIN_SEEDS
    delta = _finite(chosen.delta)
    vs = {"diff": _finite(iv.p.diff[i]) if n else None,
          "low": _finite(iv.low[i]) if has else None,
          "high": _finite(iv.high[i]) if has else None,
          "n": n, "settled": bool(chosen.settled[i]), "method": METHOD,
          "level": float(iv.level[i]), "pairs": pairs(k), "looks": spend.looks,
          "spending": spend.name, "equivalent": bool(chosen.equivalent[i]),
          "upper": _finite(chosen.upper[i]) if has else None,
          "margin": delta, "margin_share": margin, "mcb_level": float(1 - chosen.g[i]),
          "status": None, "seeds_needed": None, "advice": ""}
    sd = _finite(iv.p.sd[i]) if n >= 2 else None
    if vs["equivalent"]:  # worse perhaps, but by less than matters: a tie is the answer
        vs["status"] = EQUIVALENT
    elif vs["settled"] or not chosen.may_be_best[i]:
        vs["status"] = WORSE if vs["settled"] else NOT_BEST
    elif has and sd is not None and delta is not None and out_of_reach(
            vs["diff"], sd, n, max(cap, n), delta, error(np.array([float(max(cap, n))]))[0]):
        vs["status"] = OUT_OF_REACH
        vs["advice"] = (f"out of reach within {cap} seeds: difference {vs['diff']:+.4g}, "
                        f"margin {delta:.4g}")
    else:
        vs["status"] = OPEN
        diff = vs["diff"] or 0.0
        # the nearer decision: worse (against 0) when past half the margin, else equivalent
        boundary = 0.0 if delta is None or diff >= delta / 2 else delta
        tip = advice(diff, sd, n, vs["mcb_level"], boundary,
                     tolerance=TOLERANCE * float(iv.p.scale[i]), error=error)
        vs.update(seeds_needed=tip.seeds, advice=tip.text)
    return vs


def scores_by_seed(row):
    """{seed: objective} of a trial's runs, to pair with another trial's runs of the same seed."""
    return {(s["seed"] if s["seed"] is not None else f"repeat {s['repeat']}"): s["score"]
            for s in row.get("repeat_scores") or []}


def train_setting(study, name):
    """A training setting of study.json (its `train`); studies written before each setting
    was kept once also hold it at the top level, where it is read from when `train` lacks it."""
    train = study.get("train")
    value = train.get(name) if isinstance(train, dict) else None
    return study.get(name) if value is None else value


def objective_of(study):
    """The score a study ranks by (a study.json spelling `kid-heldout` reads as kid_heldout)."""
    return objective_metric(str(train_setting(study, "objective") or "kid"))


def looks_of(study):
    """The looks planned at a study's numbers (study.json's train.looks; 1 when absent):
    a racing search decides after each round of seeds, and each look spends 5%/looks."""
    looks = train_setting(study, "looks")
    return looks if isinstance(looks, int) and not isinstance(looks, bool) and looks >= 1 else 1


def spending_of(study):
    """How a study spends its 5% over looks (`decisions.Spending`): by seeds when study.json
    says train.spending "seeds", else in equal shares over its planned looks (older studies)."""
    return Spending(looks_of(study), train_setting(study, "spending") == SEEDS)


def margin_of(study):
    """The margin that matters, a share of #1's score (study.json train.margin; older studies
    read DEFAULT_MARGIN)."""
    margin = train_setting(study, "margin")
    ok = isinstance(margin, (int, float)) and not isinstance(margin, bool) and margin >= 0
    return float(margin) if ok else DEFAULT_MARGIN


def cap_of(study):
    """The seeds per configuration a race of the study may reach (its --max-repeats)."""
    cap = train_setting(study, "max_repeats")
    return cap if isinstance(cap, int) and not isinstance(cap, bool) and cap >= 2 else MAX_REPEATS


def rank_by_of(study, study_dir="."):
    """The study's rank-by rule; studies from before the choice existed ranked by the best
    evaluation. UsageError naming study.json if the rule is not one of the known ones."""
    rule = train_setting(study, "rank_by") or (study.get("protocol") or {}).get("rank_by") or OLD_RANK_BY
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
    return rank(rows, objective, spending_of(study), margin_of(study), cap_of(study))


@dataclass(frozen=True)
class StudySnapshot:
    """One study folder as read from disk: its study.json and its ranked trial rows."""

    name: str
    path: Path
    meta: dict
    rows: list
    eye: dict | None = None  # the eye's numbers (tuner.results.eye_scores.summary), if judged

    @property
    def objective(self):
        return objective_of(self.meta)

    @property
    def rank_by(self):
        return rank_by_of(self.meta, self.path)

    @property
    def repeats(self):
        """Runs per configuration the study asked for (1 before repeats existed)."""
        return int(train_setting(self.meta, "repeats") or 1)

    @property
    def looks(self):
        """Looks at the study's numbers planned when it was searched (each spends 5%/looks)."""
        return looks_of(self.meta)

    @property
    def spending(self):
        """How its 5% is spread over looks (`decisions.Spending`)."""
        return spending_of(self.meta)

    @property
    def margin(self):
        return margin_of(self.meta)

    @property
    def cap(self):
        return cap_of(self.meta)

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


def read_study(study_dir):
    """Read a study folder (its name is the folder's: a copy may be renamed)."""
    study_dir = Path(study_dir)
    rows = load_trials(study_dir)
    return StudySnapshot(name=study_dir.name, path=study_dir, meta=load_study(study_dir),
                         rows=rows, eye=attach_eye(study_dir, rows))


def attach_eye(study_dir, rows):
    """The eye's numbers from the study's eye.json (None without judgements); each compared
    row gets `eye`, its Bradley-Terry preference score (higher: preferred), and `eye_detail`
    (its interval, choices and fooled rate).

    A damaged eye.json is named in one warning and read as no judgements: the scores stand
    without it (`--repair` sets it aside).
    """
    try:
        judgements = read_eye(study_dir)["judgements"]
    except UsageError as err:
        log.warning("%s; the eye's judgements are left out", err)
        judgements = []
    if not any(not j.get("undone") for j in judgements):
        for row in rows:
            row["eye"], row["eye_detail"] = None, None
        return None
    scores = {row["trial_id"]: {m: row.get(m) for m in eye_scores.EYE_METRICS} for row in rows}
    summary = eye_scores.summary(judgements, scores)
    for row in rows:
        detail = summary["preference"].of(row["trial_id"])
        fooled = summary["fooled"].get(row["trial_id"])
        if fooled:
            detail = {**(detail or {}), "fooled": fooled}
        row["eye"] = detail["score"] if detail and "score" in detail else None
        row["eye_detail"] = detail
    return summary


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
