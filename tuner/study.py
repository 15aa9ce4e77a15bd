"""A study: one search of one space on one face set, in one folder of the results dir.

`run_search(config)` validates everything (space, flags, data, results folder)
before any training, then drives a keras-tuner tuner whose project directory is
`<results_dir>/<study>/`. Beside keras-tuner's own files (oracle.json,
trial_*/trial.json, checkpoints) the folder holds `study.json` (resolved
configuration, data fingerprint, scoring protocol, package versions), a copy of
the space file, and per trial `evaluations.json` and sample grids.
Running the same search again resumes it; `overwrite` starts afresh.
"""

import logging
import platform
import shutil
import time
from dataclasses import asdict, replace
from pathlib import Path

from tuner import files
from tuner.config import (
    OBJECTIVES,
    PRECISIONS,
    SearchConfig,
    TrainSettings,
    check_holdout,
    check_image_size,
    check_rank_by,
    objective_metric,
)
from tuner.data import EMBEDDED, is_download, load_faces
from tuner.errors import UsageError
from tuner.lock import LOCK_FILES, StudyLock
from tuner.spaces import load_space

log = logging.getLogger(__name__)

STUDY_FILE = "study.json"
SPACE_COPY = "space.toml"


def run_search(config: SearchConfig, on_validated=None):
    """Run (or resume) the study `config` describes; return its folder.

    Args:
        config: the search.
        on_validated: called once every input has been checked, before
            TensorFlow is imported (the CLI quiets TF's start-up there).

    Raises:
        UsageError: any bad flag, space file, data source or results folder,
            always before training starts.
    """
    space, settings, tuner_name, max_trials = resolve(config)
    holdout = _holdout(config, space)
    eval_size = _eval_size(config, space)
    faces = load_faces(config.data.data, config.data.person, config.data.crop,
                       url=config.data.data_url, sha256=config.data.data_sha256)
    pool, heldout = faces.split(holdout, config.seed)
    _check_objective(settings, heldout)
    study_dir = prepare_folder(config)
    if on_validated:
        on_validated()
    with StudyLock(study_dir):
        if config.overwrite:
            _empty_folder(study_dir)
        log.info("data: %s, %d images (fingerprint %s)%s", faces.name, len(faces),
                 faces.fingerprint, f"; {len(heldout)} held out from training" if len(heldout)
                 else "")
        _warn_resolution(faces, space)
        tuner = _make_tuner(config, space, faces, settings, tuner_name, max_trials,
                            eval_size, study_dir, holdout, pool, heldout)
        _write_study_file(study_dir, config, space, faces, tuner, settings, tuner_name,
                          max_trials, holdout)
        _search(tuner, config)
    return study_dir


def resolve(config):
    """The space, the study's `TrainSettings` after flags, the tuner and the trial count."""
    space = load_space(config.space)
    settings = train_settings(space, config)
    tuner_name = config.tuner or space.tuner
    space.check_tuner(tuner_name)
    max_trials = config.max_trials if config.max_trials is not None else space.max_trials
    _check_positive("--max-trials", max_trials)
    if tuner_name == "one-at-a-time":  # the design is finite: never promise more trials than it has
        max_trials = min(max_trials, len(space.configurations()))
    _check_positive("--samples", config.scoring.samples)
    _check_positive("--max-consecutive-failures", config.max_consecutive_failures)
    return space, settings, tuner_name, max_trials


def train_settings(space, config):
    """The one place a study's fixed settings are made: the space file's, then the flags'."""
    overrides = {k: v for k, v in asdict(config.train).items() if v is not None}
    for key, value in overrides.items():
        if key == "precision":
            if value not in PRECISIONS:
                raise UsageError(f"--precision must be one of {', '.join(PRECISIONS)}, got {value!r}")
        elif key == "rank_by":
            check_rank_by(value)
        else:
            _check_positive(f"--{key.replace('_', '-')}", value)
    if config.objective not in OBJECTIVES:
        raise UsageError(f"--objective must be one of {', '.join(OBJECTIVES)}, got {config.objective!r}")
    chosen = {"repeats": space.repeats, "rank_by": space.rank_by, **space.train, **overrides}
    return TrainSettings.from_dict({**chosen, "flip": config.data.flip, "seed": config.seed,
                                    "objective": objective_metric(config.objective)})


def _holdout(config, space):
    if config.data.holdout is None:
        return space.holdout
    return check_holdout(config.data.holdout)


def _check_objective(settings, heldout):
    if settings.objective == "kid_heldout" and not len(heldout):
        raise UsageError("--objective kid-heldout needs a held-out split: give --holdout "
                         "(e.g. --holdout 0.2) or set holdout in the space file's [search]")


def _warn_resolution(faces, space):
    """Say once which trained sizes exceed the source images: they learn from upsampled blur."""
    source = min(min(image.shape[:2]) for image in faces.images)  # the median would hide a few
    upsampled = [size for size in space.image_sizes() if size > source]
    if upsampled:
        log.warning("the source images are %dx%d: trials at %s train on upsampled images, so "
                    "they cannot learn finer detail than %d px", source, source,
                    "/".join(map(str, upsampled)), source)


def _eval_size(config, space):
    """The study's one evaluation resolution: --eval-size, else the largest trained size."""
    try:
        return check_image_size(config.scoring.eval_size or max(space.image_sizes()))
    except UsageError as err:
        raise UsageError(f"--eval-size: {err}") from None


def _check_positive(flag, value):
    if value <= 0:
        raise UsageError(f"{flag} must be a positive integer, got {value}")


def study_folder(config):
    """`<results_dir>/<study>`, the study defaulting to the space's name."""
    return Path(config.results_dir) / (config.study or Path(config.space).stem)


def prepare_folder(config):
    """The study folder, created and checked writable."""
    study_dir = study_folder(config)
    try:
        study_dir.mkdir(parents=True, exist_ok=True)
        probe = study_dir / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise UsageError(f"--results-dir {config.results_dir}: cannot write the study folder "
                         f"{study_dir} ({err.strerror or err}); choose a writable folder") from None
    return study_dir


def _empty_folder(study_dir):
    """Everything but the lock we hold goes: `--overwrite` starts the study afresh."""
    for path in study_dir.iterdir():
        if path.name not in LOCK_FILES:
            shutil.rmtree(path) if path.is_dir() else path.unlink()


def _make_tuner(config, space, faces, settings, tuner_name, max_trials, eval_size, study_dir,
                holdout, pool, heldout):
    from tuner.board import board_dir, write_hparams_config
    from tuner.device import describe_precision
    from tuner.engine import make_tuner  # keras-tuner and TF: only after validation
    from tuner.hypermodel import DCGANHyperModel
    from tuner.progress import Progress
    from tuner.scoring import Scorer

    log.info(describe_precision(settings.precision))
    scorer = Scorer(faces, config.scoring, eval_size, flip=settings.flip, holdout=heldout,
                    holdout_fraction=holdout, holdout_seed=config.seed, rank_by=settings.rank_by)
    _warn_network(scorer, eval_size)
    _check_resumable(study_dir, faces, scorer, space)
    write_hparams_config(board_dir(study_dir), space.params)
    progress = Progress(max_trials, log_every=max(1, settings.epochs // 20),
                        repeats=settings.repeats)
    hypermodel = DCGANHyperModel(space, faces, scorer, settings, progress, pool=pool)
    return make_tuner(tuner_name, hypermodel, settings, max_trials=max_trials,
                      hyperband_factor=space.hyperband_factor, directory=config.results_dir,
                      project_name=study_dir.name,
                      max_consecutive_failures=config.max_consecutive_failures,
                      progress=progress)


def _warn_network(scorer, eval_size):
    """Say once when the evaluation size exceeds what the feature network sees."""
    network = getattr(scorer.extractor, "input_size", None)
    if network and eval_size > network:
        log.warning("evaluating at %dx%d, but %s sees %dx%d: KID and FD cannot see detail "
                    "finer than that; only the network-free SWD (--objective swd) can",
                    eval_size, eval_size, scorer.protocol.features, network, network)


def _check_resumable(study_dir, faces, scorer, space):
    """Resuming is only honest on the same data, space and scoring protocol."""
    path = study_dir / STUDY_FILE
    if not path.is_file():
        return
    old = files.read_json(path)
    mismatches = [what for what, same in (
        ("data", old.get("data", {}).get("fingerprint") == faces.fingerprint),
        ("space file", old.get("space", {}).get("text") == space.text),
        ("scoring protocol", old.get("protocol") == scorer.protocol.as_dict()),
    ) if not same]
    if mismatches:
        raise UsageError(
            f"{study_dir} holds a study made with a different {', '.join(mismatches)}; "
            f"resume it with the same settings, start afresh with --overwrite, "
            f"or pick another --study name")
    log.info("resuming study %s", study_dir)


def _write_study_file(study_dir, config, space, faces, tuner, settings, tuner_name, max_trials,
                      holdout):
    files.write_bytes(study_dir / SPACE_COPY, space.text.encode())
    files.write_json(study_dir / STUDY_FILE, {
        "study": study_dir.name,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": config.command,
        # An absolute data path: retraining may run from another folder.
        "config": asdict(replace(config, command="", data=replace(
            config.data, data=_absolute_source(config.data.data)))),
        "space": {"name": space.name, "path": space.path, "text": space.text,
                  "description": space.description},
        "tuner": tuner_name,
        "max_trials": max_trials,
        "objective": settings.objective,
        "repeats": settings.repeats,
        "rank_by": settings.rank_by,
        "holdout": holdout,
        "train": asdict(settings),
        "data": {"source": _absolute_source(config.data.data), "name": faces.name,
                 "person": config.data.person,
                 "images": len(faces), "fingerprint": faces.fingerprint,
                 "crop": config.data.crop, "flip": config.data.flip},
        "protocol": tuner.hypermodel.scorer.protocol.as_dict(),
        "protocol_key": tuner.hypermodel.scorer.protocol.key(),
        "versions": package_versions(),
    })


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


def _search(tuner, config):
    """Run the tuner; too many failed trials in a row (errors, not divergence) end the search.

    Raises:
        SearchStopped: `--max-consecutive-failures` trials in a row failed.
    """
    from tuner.engine import TooManyFailures

    try:
        tuner.search(verbose=0)
    except TooManyFailures as err:
        raise SearchStopped(
            f"search stopped: {config.max_consecutive_failures} trials in a row failed "
            f"(--max-consecutive-failures); last reason: {err.reason}") from None


class SearchStopped(Exception):
    """The search ended before its trials were done, for a reason the user must see."""
