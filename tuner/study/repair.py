"""Damaged study files: found before a search resumes, and (`--repair`) set aside so that just
those trials run again. No TF.

The tool writes every file atomically, yet a full disk, a copy cut short or a hand edit can
leave one unreadable. keras-tuner would then stop with a traceback, or take a trial whose scores
cannot be read as finished. Instead the search refuses such a study in one line naming the
file, and with `--repair`:

- a trial whose evaluations.json is damaged (unreadable, or a score that is not a number) runs
  again with the same hyperparameters: its folder is set aside, its trial.json rewritten as
  RUNNING and the oracle told to retry it;
- a trial whose trial.json is damaged or whose folder is gone has lost its configuration
  (only trial.json holds it): it is recorded as failed, saying so, and forgotten by the
  oracle, so the tuner may propose the configuration again;
- a damaged oracle.json is rebuilt from the trial.json files (the random draws' state is lost;
  a Hyperband study's brackets cannot be rebuilt, which is refused);
- a damaged study.json is set aside and written anew by the search from its settings;
- a damaged eye.json is set aside: the judgements start over (the old ones stay readable there).

A file is damaged when it cannot be read, or when it reads but has the wrong shape
(`results.schemas`: a field of the wrong type, a required one missing, a number that is not
finite); the message names the field at fault.

Damaged files go to `<study>/damaged/<time>/`, keeping their paths (a rerun trial's
TensorBoard run `tensorboard/trial_<id>/` with them); nothing is deleted.
"""


import hashlib
import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from tuner.common import files
from tuner.common.errors import UsageError
from tuner.results.eye_file import EYE_FILE
from tuner.results.runs import EVALUATIONS, evaluations_problem, json_problem, read_json_or_none
from tuner.results.snapshot import STUDY_FILE

log = logging.getLogger(__name__)
ORACLE_FILE = "oracle.json"
TUNER_FILE = "tuner0.json"  # keras-tuner's own state of the tuner (an empty dict here)
DAMAGED_DIR = "damaged"
BOARD_DIR = "tensorboard"  # study.tensorboard.board_dir's, named here without loading TF
ENDED = ("COMPLETED", "FAILED", "INVALID")
LOST = "its configuration is lost"


@dataclass(frozen=True)
class Damage:
    """One damaged file (or a trial folder gone) and what is wrong with it."""

    path: Path
    problem: str
    trial_id: str | None = None  # None: a file of the whole study

    @property
    def lost(self):
        """Whether the trial's configuration went with it (its trial.json, or its folder)."""
        return self.trial_id is not None and self.path.name != EVALUATIONS

    def text(self, study_dir):
        return f"{self.path.relative_to(study_dir)}: {self.problem}"


def oracle_trial_ids(oracle):
    """The trial ids an oracle.json names (started, ended or hashed)."""
    if not isinstance(oracle, dict):
        return set()
    ids = set(oracle.get("start_order") or []) | set(oracle.get("end_order") or [])
    return {str(i) for i in ids | set(oracle.get("id_to_hash") or {})}


def find_damage(study_dir):
    """Every damaged file of a study: its own files, then each trial's, then trials gone."""
    study_dir = Path(study_dir)
    found = [Damage(study_dir / name, problem)
             for name in (STUDY_FILE, ORACLE_FILE, TUNER_FILE, EYE_FILE)
             if (problem := json_problem(study_dir / name))]
    known = oracle_trial_ids(read_json_or_none(study_dir / ORACLE_FILE))
    folders = {p.name.removeprefix("trial_"): p for p in study_dir.glob("trial_*") if p.is_dir()}
    for trial_id, folder in sorted(folders.items()):
        record = folder / "trial.json"
        if problem := json_problem(record):
            found.append(Damage(record, problem, trial_id))
        elif not record.is_file() and trial_id in known:
            found.append(Damage(record, "missing", trial_id))
        elif problem := evaluations_problem(folder):
            found.append(Damage(folder / EVALUATIONS, problem, trial_id))
    found += [Damage(study_dir / f"trial_{trial_id}", "folder missing (oracle.json names it)",
                     trial_id) for trial_id in sorted(known - set(folders))]
    if not (study_dir / ORACLE_FILE).is_file() and any(
            (p / "trial.json").is_file() for p in folders.values()):
        found.append(Damage(study_dir / ORACLE_FILE, "missing beside the trials"))
    return found


def check_study(study_dir, repair, tuner_name):
    """Refuse a damaged study in one line, or (`repair`) set its damage aside.

    Raises:
        UsageError: damage without `repair`, naming the first damaged file and the way on;
            or damage `repair` cannot mend (a Hyperband study's oracle.json).
    """
    study_dir = Path(study_dir)
    found = find_damage(study_dir)
    if not repair:
        for damage in [d for d in found if d.path.name == EYE_FILE]:  # the search needs it not
            log.warning("%s; the search goes on without it (--repair sets it aside)",
                        damage.text(study_dir))
        found = [d for d in found if d.path.name != EYE_FILE]
    if not found:
        return
    if not repair:
        more = f" (and {len(found) - 1} more damaged file{'s' * (len(found) > 2)})" \
            if len(found) > 1 else ""
        raise UsageError(f"{found[0].path}: {found[0].problem}{more}; the study cannot resume "
                         f"on it: add --repair to set the damaged files aside in "
                         f"{study_dir / DAMAGED_DIR} and rerun those trials (the others are "
                         f"kept)")
    oracle_damaged = any(d.path.name == ORACLE_FILE for d in found)
    if oracle_damaged and tuner_name == "hyperband":
        raise UsageError(f"{study_dir / ORACLE_FILE}: damaged, and a Hyperband study's brackets "
                         f"are kept only there, so --repair cannot rebuild it; search anew with "
                         f"another --study (this one stays readable by the leaderboard)")
    for line in repair_study(study_dir, found, oracle_damaged):
        log.warning("%s", line)


def repair_study(study_dir, found, rebuild_oracle):
    """Set `found` aside under damaged/<time>/ and make the oracle rerun those trials; return
    one line per thing done, for the log."""
    aside = study_dir / DAMAGED_DIR / time.strftime("%Y%m%d-%H%M%S")
    lines = []
    rerun, forgotten = set(), set()
    for damage in found:
        what = damage.text(study_dir)
        if damage.trial_id is None:
            if damage.path.exists():
                _set_aside(damage.path, study_dir, aside)
            lines.append(f"repair: {what}; set aside in {aside}")
            if damage.path.name == TUNER_FILE:
                files.write_json(damage.path, {})  # keras-tuner's tuner state is empty here
            continue
        folder = study_dir / f"trial_{damage.trial_id}"
        trial = read_json_or_none(folder / "trial.json")
        moved = f" set aside in {aside} and" if folder.exists() else ""
        if folder.exists():
            _set_aside(folder, study_dir, aside)
        board = study_dir / BOARD_DIR / folder.name  # its TensorBoard run goes with it
        if board.exists():
            _set_aside(board, study_dir, aside)
        if damage.lost:
            forgotten.add(damage.trial_id)
            files.write_json(folder / "trial.json", _placeholder(damage, aside, study_dir))
            lines.append(f"repair: {what}; trial {damage.trial_id}{moved} recorded failed: "
                         f"{LOST} (the tuner may propose it again)")
        else:
            rerun.add(damage.trial_id)
            files.write_json(folder / "trial.json", {
                **trial, "status": "RUNNING", "metrics": {"metrics": {}}, "score": None,
                "best_step": 0, "message": None})
            lines.append(f"repair: {what}; trial {damage.trial_id} set aside in {aside} and "
                         f"run again")
    if rebuild_oracle:
        oracle = rebuilt_oracle(study_dir, forgotten)
        lines.append(f"repair: {ORACLE_FILE} rebuilt from the trials' trial.json files "
                     f"(the state of the tuner's random draws is lost: later configurations "
                     f"differ from those the first search would have drawn)")
    else:
        oracle = read_json_or_none(study_dir / ORACLE_FILE)
    if isinstance(oracle, dict):
        files.write_json(study_dir / ORACLE_FILE, _retried(oracle, rerun, forgotten))
    return lines


def _set_aside(path, study_dir, aside):
    """Move `path` to the same place under `aside`: kept, out of the search's way."""
    target = aside / path.relative_to(study_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(path), str(target))


def _placeholder(damage, aside, study_dir):
    """keras-tuner's trial.json of a trial whose configuration is lost: failed, saying why."""
    return {"trial_id": damage.trial_id, "hyperparameters": {"space": [], "values": {}},
            "metrics": {"metrics": {}}, "score": None, "best_step": 0, "status": "FAILED",
            "message": f"{damage.text(study_dir)}; set aside in {aside}: {LOST}"}


def _retried(oracle, rerun, forgotten):
    """oracle.json with `rerun` trials queued to run again and `forgotten` ones taken out."""
    oracle = dict(oracle)
    gone = rerun | forgotten
    oracle["end_order"] = [i for i in oracle.get("end_order") or [] if str(i) not in gone]
    oracle["start_order"] = [i for i in oracle.get("start_order") or []
                             if str(i) not in forgotten]
    oracle["start_order"] += sorted(rerun - {str(i) for i in oracle["start_order"]})
    queue = [i for i in oracle.get("retry_queue") or [] if str(i) not in gone]
    oracle["retry_queue"] = queue + sorted(rerun)
    oracle["ongoing_trials"] = {k: v for k, v in (oracle.get("ongoing_trials") or {}).items()
                                if str(v) not in gone}
    hashes = dict(oracle.get("id_to_hash") or {})
    lost = {hashes.pop(i) for i in forgotten if i in hashes}
    oracle["id_to_hash"] = hashes
    oracle["tried_so_far"] = [h for h in oracle.get("tried_so_far") or [] if h not in lost]
    oracle["run_times"] = {k: v for k, v in (oracle.get("run_times") or {}).items()
                           if k not in gone}
    return oracle


def values_hash(values):
    """keras-tuner's hash of a trial's hyperparameter values (Oracle._compute_values_hash)."""
    text = "".join(f"{k}={values[k]}" for k in sorted(values))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def rebuilt_oracle(study_dir, forgotten=()):
    """An oracle.json from the trials' trial.json files: their order, which ended, which run
    again, the values tried. The random seed's state cannot be recovered and starts anew."""
    trials = {}
    for path in Path(study_dir).glob("trial_*/trial.json"):
        doc = read_json_or_none(path)
        if isinstance(doc, dict) and str(doc.get("trial_id")) not in forgotten:
            trials[str(doc.get("trial_id"))] = doc
    order = sorted(trials, key=lambda i: (len(i), i))
    ended = [i for i in order if trials[i].get("status") in ENDED]
    space = next((t["hyperparameters"] for t in trials.values()
                  if (t.get("hyperparameters") or {}).get("space")), {"space": [], "values": {}})
    hashes = {i: values_hash((trials[i].get("hyperparameters") or {}).get("values") or {})
              for i in order}
    return {"ongoing_trials": {}, "hyperparameters": space, "start_order": order,
            "end_order": ended, "run_times": {i: 1 for i in ended},
            "retry_queue": [i for i in order if i not in ended], "seed": 1,
            "seed_state": 1 + 1000 * len(order), "tried_so_far": sorted(set(hashes.values())),
            "id_to_hash": hashes,
            "display": {"search_start": None, "trial_start": {}, "trial_number": {}},
            # BayesianOptimization's own settings, as tuners.make_tuner leaves them (defaults)
            "num_initial_points": None, "alpha": 1e-4, "beta": 2.6}
