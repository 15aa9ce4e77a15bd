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
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from tuner import files
from tuner.config import (
    OBJECTIVES,
    PRECISIONS,
    ClusterConfig,
    SearchConfig,
    TrainSettings,
    check_holdout,
    check_image_size,
    check_rank_by,
    objective_metric,
    parse_duration,
)
from tuner.data import EMBEDDED, is_download, load_faces
from tuner.errors import UsageError
from tuner.lock import LOCK_FILES, StudyLock
from tuner.results import SPACE_COPY, STUDY_FILE
from tuner.spaces import load_space

log = logging.getLogger(__name__)



def run_search(config: SearchConfig, on_validated=None, role=None):
    """Run (or resume) the study `config` describes; return its folder.

    Args:
        config: the search.
        on_validated: called once every input has been checked, before
            TensorFlow is imported (the CLI quiets TF's start-up there).
        role: this process' part (`config.ClusterConfig`): a search of its own
            (the default), the chief that serves the study's oracle to
            workers and trains nothing, or a worker that runs the chief's trials.

    Raises:
        UsageError: any bad flag, space file, data source or results folder,
            a worker whose chief is not there or whose study differs, always
            before training starts.
    """
    role = role or ClusterConfig()
    if role.role == "worker":
        return _run_worker(config, role, on_validated)
    inputs = validate(config)
    study_dir = prepare_folder(config)
    if on_validated:
        on_validated()
    with StudyLock(study_dir):
        if config.overwrite:
            _empty_folder(study_dir)
        _describe_data(inputs)
        from tuner.cluster import keras_tuner_environment

        with keras_tuner_environment(role):
            tuner = _make_tuner(config, inputs, study_dir)
        _write_study_file(study_dir, study_record(config, inputs, tuner.hypermodel.scorer,
                                                  inputs.tuner_name, inputs.max_trials))
        if role.role == "chief":
            _serve(tuner, study_dir, role, config)
        else:
            _search(tuner, config)
    return study_dir


def _run_worker(config, role, on_validated):
    """A worker: check the chief is there and runs this very study, then train its trials."""
    from tuner.cluster import Heartbeat, check_chief, keras_tuner_environment

    if config.overwrite:
        raise UsageError("--overwrite belongs to the chief (it owns the study folder); "
                         "give it there, not to a worker")
    resolve(config)  # the flags first, then the chief (in seconds), then the data
    check_chief(role.host, role.port)
    inputs = validate(config)
    study_dir = study_folder(config)
    if not (study_dir / STUDY_FILE).is_file():
        raise UsageError(
            f"{study_dir} holds no {STUDY_FILE}: a worker runs in the chief's study folder; give "
            f"the --results-dir and --study the chief uses (on a filesystem both machines share)")
    if on_validated:
        on_validated()
    _describe_data(inputs)
    with keras_tuner_environment(role):
        tuner = _make_tuner(config, inputs, study_dir, required=True,
                            hint="a worker needs the very data, space file and scoring options "
                                 "of its chief; give it the same options")
        log.info("worker %s: running trials of %s for the chief at %s:%d", role.worker_id,
                 study_dir, role.host, role.port)
        with Heartbeat(study_dir, role.worker_id):
            _search(tuner, config)
    return study_dir


def _serve(tuner, study_dir, role, config):
    from tuner.chief import serve
    from tuner.results import failure_reason

    serve(tuner, study_dir, role)
    if tuner.oracle.failures:
        raise SearchStopped(
            f"search stopped: {config.max_consecutive_failures} trials in a row failed "
            f"(--max-consecutive-failures); last reason: {failure_reason(tuner.oracle.failures)}")


@dataclass(frozen=True)
class Inputs:
    """A study's validated inputs: what `validate` makes of a SearchConfig, before any training."""

    space: object       # spaces.Space
    settings: TrainSettings
    tuner_name: str
    max_trials: int
    holdout: float      # the share of the images held out from training
    eval_size: int
    faces: object       # data.FaceSet
    pool: object        # indices trials may train on
    heldout: object     # indices no trial trains on


def validate(config, space=None):
    """Check every input of `config` and load its faces; UsageError on the first bad one.

    `space` is the loaded `spaces.Space` when the caller has one (the Python API);
    otherwise `config.space` is read.
    """
    space, settings, tuner_name, max_trials = resolve(config, space)
    holdout = _holdout(config, space)
    eval_size = _eval_size(config, space)
    faces = load_faces(config.data.data, config.data.person, config.data.crop,
                       url=config.data.data_url, sha256=config.data.data_sha256)
    pool, heldout = faces.split(holdout, config.seed)
    _check_objective(settings, heldout)
    return Inputs(space, settings, tuner_name, max_trials, holdout, eval_size, faces, pool,
                  heldout)


def _describe_data(inputs):
    faces, heldout = inputs.faces, inputs.heldout
    log.info("data: %s, %d images (fingerprint %s)%s", faces.name, len(faces),
             faces.fingerprint, f"; {len(heldout)} held out from training" if len(heldout)
             else "")
    _warn_resolution(faces, inputs.space)


def resolve(config, space=None):
    """The space, the study's `TrainSettings` after flags, the tuner and the trial count."""
    space = space or load_space(config.space)
    settings = train_settings(space, config)
    tuner_name = config.tuner or space.tuner
    space.check_tuner(tuner_name)
    max_trials = config.max_trials if config.max_trials is not None else space.max_trials
    _check_positive("--max-trials", max_trials)
    if tuner_name == "one-at-a-time":  # the design is finite: never promise more trials than it has
        max_trials = min(max_trials, len(space.configurations()))
    _check_positive("--samples", config.scoring.samples)
    _check_positive("--max-consecutive-failures", config.max_consecutive_failures)
    if config.time_budget is not None:
        parse_duration(config.time_budget)
    if config.max_epochs_total is not None:
        _check_positive("--max-epochs-total", config.max_epochs_total)
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


def _make_tuner(config, inputs, study_dir, required=False, hint=None):
    from tuner.board import board_dir, write_hparams_config
    from tuner.engine import make_tuner  # keras-tuner and TF: only after validation
    from tuner.progress import Progress

    settings = inputs.settings
    # Hyperband's trial count follows from its budget and its results, not from max_trials.
    planned = None if inputs.tuner_name == "hyperband" else inputs.max_trials
    progress = Progress(planned, log_every=max(1, settings.epochs // 20),
                        repeats=settings.repeats)
    hypermodel = make_hypermodel(config, inputs, progress)
    _check_resumable(study_dir, inputs.faces, hypermodel.scorer, inputs.space,
                     **({"hint": hint} if hint else {}))
    if not required:
        write_hparams_config(board_dir(study_dir), inputs.space.params)
    return make_tuner(inputs.tuner_name, hypermodel, settings, max_trials=inputs.max_trials,
                      hyperband_factor=inputs.space.hyperband_factor,
                      directory=config.results_dir, project_name=study_dir.name,
                      max_consecutive_failures=config.max_consecutive_failures,
                      progress=progress, spending=search_budget(config, settings))


def search_budget(config, settings):
    """The engine's Budget of `config` (--time-budget, --max-epochs-total), or None."""
    import time

    from tuner.engine import Budget

    if config.time_budget is None and config.max_epochs_total is None:
        return None

    def epochs_per_trial(values):
        trained = values.get("tuner/epochs", settings.epochs) - values.get("tuner/initial_epoch", 0)
        return trained * settings.repeats

    return Budget(seconds=None if config.time_budget is None else parse_duration(config.time_budget),
                  epochs=config.max_epochs_total, epochs_per_trial=epochs_per_trial,
                  started=time.monotonic())


def make_hypermodel(config, inputs, progress=None, cls=None):
    """The study's `DCGANHyperModel` (or `cls`, a subclass) with its `Scorer`: one recipe for
    the search and for `DCGANHyperModel.from_space`."""
    from tuner.device import describe_precision
    from tuner.hypermodel import DCGANHyperModel
    from tuner.scoring import Scorer

    settings = inputs.settings
    log.info(describe_precision(settings.precision))
    scorer = Scorer(inputs.faces, config.scoring, inputs.eval_size, flip=settings.flip,
                    holdout=inputs.heldout, holdout_fraction=inputs.holdout,
                    holdout_seed=config.seed, rank_by=settings.rank_by)
    _warn_network(scorer, inputs.eval_size)
    return (cls or DCGANHyperModel)(inputs.space, inputs.faces, scorer, settings, progress,
                                    pool=inputs.pool)


def hypermodel_from(config, space=None, cls=None):
    """`DCGANHyperModel.from_space`: the study's hypermodel for any keras-tuner tuner.

    The same validation, data and scorer as `run_search`; on its first trial in a
    tuner's project folder it writes the study.json a search would (or checks the
    one there), so the leaderboard, the report and retraining read that folder.
    """
    inputs = validate(config, space)
    _describe_data(inputs)
    hypermodel = make_hypermodel(config, inputs, cls=cls)
    hypermodel.study_file = StudyFile(config, inputs, hypermodel.scorer)
    return hypermodel


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
        from tuner.board import board_dir, write_hparams_config

        folder = Path(folder)
        if (folder / STUDY_FILE).is_file():
            _check_resumable(folder, self.inputs.faces, self.scorer, self.inputs.space,
                             hint="use the same options, or give the tuner another project_name "
                                  "(or overwrite=True)")
            return
        write_hparams_config(board_dir(folder), self.inputs.space.params)
        oracle = getattr(tuner, "oracle", None)
        config = replace(self.config, command=self.MADE_BY, results_dir=str(folder.parent),
                         study=folder.name, tuner=None, max_trials=None)
        _write_study_file(folder, study_record(
            config, self.inputs, self.scorer,
            tuner_name=f"{type(tuner).__name__} (keras-tuner)" if tuner else "unknown",
            max_trials=getattr(oracle, "max_trials", None)))


def _warn_network(scorer, eval_size):
    """Say once when the evaluation size exceeds what the feature network sees."""
    network = getattr(scorer.extractor, "input_size", None)
    if network and eval_size > network:
        log.warning("evaluating at %dx%d, but %s sees %dx%d: KID and FD cannot see detail "
                    "finer than that; only the network-free SWD (--objective swd) can",
                    eval_size, eval_size, scorer.protocol.features, network, network)


def _check_resumable(study_dir, faces, scorer, space,
                     hint="resume it with the same settings, start afresh with --overwrite, "
                          "or pick another --study name"):
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
            f"{study_dir} holds a study made with a different {', '.join(mismatches)}; {hint}")
    log.info("resuming study %s", study_dir)


def _write_study_file(study_dir, record):
    files.write_bytes(study_dir / SPACE_COPY, record["space"]["text"].encode())
    files.write_json(study_dir / STUDY_FILE, {"study": study_dir.name, **record})


def study_record(config, inputs, scorer, tuner_name, max_trials):
    """study.json's content (but the study's name): configuration, space, data, protocol."""
    space, faces, settings = inputs.space, inputs.faces, inputs.settings
    return {
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
