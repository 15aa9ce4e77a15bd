"""A study's record, study.json: what was searched, on which data, scored how, with which packages.
"""


import logging
import platform
import time
from dataclasses import asdict, replace
from pathlib import Path

from tuner.common import files
from tuner.common.config import DEFAULT_FEATURES
from tuner.common.errors import UsageError
from tuner.data.sources import EMBEDDED, is_download
from tuner.results.runs import json_problem, read_json_or_none
from tuner.results.snapshot import SPACE_COPY, STUDY_FILE

log = logging.getLogger(__name__)


class StudyFile:
    """study.json of a project folder a user's own keras-tuner tuner fills with a study's trials.

    A search writes study.json before its first trial; under any other tuner the
    hypermodel calls `adopt(folder, tuner)` before its first trial in a folder.
    """

    NAME = STUDY_FILE
    MADE_BY = "unknown (made by a keras-tuner tuner in Python)"

    def __init__(self, config, inputs, scorer):
        self.config, self.inputs, self.scorer = config, inputs, scorer

    def adopt(self, folder, tuner=None):
        """Write `folder`'s study.json, space copy and HParams config, or check the study.json
        there was made with the same data, space and scoring (UsageError otherwise)."""
        from tuner.study.tensorboard import (  # TensorBoard loads TF: only when a folder is adopted
            board_dir,
            write_hparams_config,
        )

        folder = Path(folder)
        if (folder / STUDY_FILE).is_file():
            check_resumable(folder, self.inputs, self.scorer, search=False,
                             hint="use the same options, or give the tuner another project_name "
                                  "(or overwrite=True)")
            return
        write_hparams_config(board_dir(folder), self.inputs.space.params)
        oracle = getattr(tuner, "oracle", None)
        config = replace(self.config, command=self.MADE_BY, results_dir=str(folder.parent),
                         study=folder.name, tuner=None, max_trials=None)
        write_study_file(folder, study_record(
            config, self.inputs, self.scorer,
            tuner_name=f"{type(tuner).__name__} (keras-tuner)" if tuner else "unknown",
            max_trials=getattr(oracle, "max_trials", None),
            oracle_seed=getattr(oracle, "seed", None)))


# What a study refuses to change when it is resumed: every setting that changes how a trial
# is trained, scored or searched, as (study.json's name for it, the flag that sets it).
# "train" settings are in study.json's "train"; the others at its top level. --max-trials may
# grow (the search goes on); --repeats, --settle, --max-repeats (with the looks they plan),
# --time-budget, --max-epochs-total and --workers may change.
REFUSED_SETTINGS = (
    ("epochs", "--epochs"), ("batch_size", "--batch-size"), ("eval_every", "--eval-every"),
    ("latent_dim", "--latent-dim"), ("precision", "--precision"), ("flip", "--no-flip"),
    ("seed", "--seed"), ("objective", "--objective"), ("rank_by", "--rank-by"),
    ("holdout", "--holdout"), ("tuner", "--tuner"), ("max_trials", "--max-trials"),
    ("margin", "--margin"),
)
# Settings of the tool's own search only: a keras-tuner tuner of the user's records its own.
SEARCH_SETTINGS = ("tuner", "max_trials")
RESUME_HINT = ("resume it with the same settings, start afresh with --overwrite, or pick another "
               "--study name")


def with_study_network(config, study_dir):
    """`config` (a SearchConfig) with its feature network named.

    --features when given; else the network `study_dir`'s study.json records, so a
    study resumed without the flag keeps its own network whatever the default is now;
    else (a new study, or --overwrite) DEFAULT_FEATURES. The recorded weights file
    comes with a recorded network unless --features-weights is given.
    """
    scoring = config.scoring
    if scoring.features is not None:
        return config
    old = {} if config.overwrite else read_json_or_none(Path(study_dir) / STUDY_FILE) or {}
    recorded = (old.get("config") or {}).get("scoring") or {}
    # The protocol's name ("inception-keras" too) is a valid --features: older records have it.
    features = recorded.get("features") or (old.get("protocol") or {}).get("features")
    weights = scoring.features_weights
    if features is not None and weights is None:
        weights = recorded.get("features_weights")
    return replace(config, scoring=replace(scoring, features=features or DEFAULT_FEATURES,
                                           features_weights=weights))


def check_resumable(study_dir, inputs, scorer, hint=RESUME_HINT, search=True):
    """Resuming is only honest on the same data, space, settings and scoring protocol.

    Args:
        study_dir: the study folder; nothing is checked if it holds no study.json yet.
        inputs: this run's `study.inputs.Inputs`.
        scorer: this run's `metrics.scoring.Scorer`.
        hint: how to fix a mismatch, ending the one-line error.
        search: the tool's search (False: a user's keras-tuner tuner, whose tuner and
            max_trials are its own), so SEARCH_SETTINGS are checked too.

    Raises:
        UsageError: the first difference, naming what differs, its recorded and new value.
    """
    path = study_dir / STUDY_FILE
    if not path.is_file():
        return
    if problem := json_problem(path):
        raise UsageError(f"{path}: {problem}; the study cannot resume on it: run its search "
                         f"with --repair to set it aside and write it anew")
    old = files.read_json(path)
    mismatches = [what for what, same in (
        ("data", old.get("data", {}).get("fingerprint") == inputs.faces.fingerprint),
        ("space file", old.get("space", {}).get("text") == inputs.space.text),
    ) if not same]
    if mismatches:
        raise UsageError(
            f"{study_dir} holds a study made with a different {', '.join(mismatches)}; {hint}")
    _check_settings(study_dir, old, inputs, hint, search)
    _check_protocol(study_dir, old.get("protocol"), scorer.protocol.as_dict(), hint)
    log.info("resuming study %s", study_dir)


def _check_settings(study_dir, old, inputs, hint, search):
    recorded = {**{k: old.get(k) for k in ("holdout", "tuner", "max_trials")}, **old.get("train", {})}
    current = {**asdict(inputs.settings), "holdout": inputs.holdout, "tuner": inputs.tuner_name,
               "max_trials": inputs.max_trials}
    for name, flag in REFUSED_SETTINGS:
        was, now = recorded.get(name), current[name]
        if was is None or was == now or (name in SEARCH_SETTINGS and not search):
            continue  # an older study.json without it cannot be checked
        if name == "max_trials":
            if now > was:
                continue
            raise UsageError(
                f"{study_dir} holds a study of --max-trials {was}, not {now}: a search cannot "
                f"shrink; give --max-trials {was} or more to go on, or start afresh with "
                f"--overwrite, or pick another --study name")
        raise UsageError(f"{study_dir} holds a study made with {_shown(flag, was)}, not "
                         f"{_shown(flag, now)}; {hint}")


def _shown(flag, value):
    """A setting as the flag that gives it: `--epochs 2`, `--no-flip` or `no --no-flip`."""
    if flag == "--no-flip":
        return "no --no-flip" if value else "--no-flip"
    if flag == "--objective":
        value = str(value).replace("_", "-")
    return f"{flag} {value}"


def _check_protocol(study_dir, old, new, hint):
    """The scoring protocol, field by field: the message names the first that differs."""
    if old == new:
        return
    if not isinstance(old, dict):
        raise UsageError(f"{study_dir} holds a study made with a different scoring protocol; {hint}")
    name = next(k for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k))
    raise UsageError(f"{study_dir} holds a study scored with {name} {old.get(name)!r}, not "
                     f"{new.get(name)!r} (a different scoring protocol); {hint}")


def write_study_file(study_dir, record):
    files.write_bytes(study_dir / SPACE_COPY, record["space"]["text"].encode())
    files.write_json(study_dir / STUDY_FILE, {"study": study_dir.name, **record})


def study_record(config, inputs, scorer, tuner_name, max_trials, oracle_seed=None):
    """study.json's content (but the study's name): configuration, space, data, protocol.

    `oracle_seed` is the seed keras-tuner's oracle draws configurations with (the study's
    seed + 1: keras-tuner takes 0 for no seed), recorded so a draw can be retraced.
    """
    space, faces, settings = inputs.space, inputs.faces, inputs.settings
    return {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": config.command,
        # An absolute data path: retraining may run from another folder.
        "config": asdict(replace(config, command="", data=replace(
            config.data, data=_absolute_source(config.data.data)), scoring=replace(
            # the network used, when a keras-tuner tuner's hypermodel left it to the default
            config.scoring,
            features=config.scoring.features or scorer.protocol.as_dict()["features"]))),
        "space": {"name": space.name, "path": space.path, "text": space.text,
                  "description": space.description},
        "tuner": tuner_name,
        "max_trials": max_trials,
        "oracle_seed": oracle_seed,
        "holdout": inputs.holdout,
        "train": asdict(settings),
        "data": {"source": _absolute_source(config.data.data), "name": faces.name,
                 "person": config.data.person,
                 "images": len(faces), "fingerprint": faces.fingerprint,
                 "crop": config.data.crop, "flip": config.data.flip},
        "protocol": scorer.protocol.as_dict(),
        "protocol_key": scorer.protocol.key(),
        "versions": package_versions(),
    }


def _absolute_source(source):
    """A local path made absolute; the embedded faces and an archive to download keep their name."""
    if source == EMBEDDED or is_download(source):
        return source
    return str(Path(source).expanduser().resolve())


def package_versions():
    from importlib import metadata

    versions = {"python": platform.python_version()}
    for name in ("dcgan-tuner", "tensorflow", "keras", "keras-tuner", "numpy", "scipy",
                 "pillow", "mtcnn"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions
