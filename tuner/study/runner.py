"""Running a study: one search of one space on one face set, in one folder of the results dir.

`run_search(config)` validates everything (space, flags, data, results folder)
before any training, then drives a keras-tuner tuner whose project directory is
`<results_dir>/<study>/`. Beside keras-tuner's own files (oracle.json,
trial_*/trial.json, checkpoints) the folder holds `study.json` (resolved
configuration, data fingerprint, scoring protocol, package versions), a copy of
the space file, and per trial `evaluations.json` and sample grids.
Running the same search again resumes it; `overwrite` starts afresh.
"""


import logging
import shutil
import time
from dataclasses import replace
from pathlib import Path

from tuner.common import interruption
from tuner.common.config import (
    ClusterConfig,
    SearchConfig,
    parse_duration,
)
from tuner.common.errors import UsageError
from tuner.common.lock import LOCK_FILES, StudyLock
from tuner.common.progress import Progress
from tuner.distributed.chief import serve
from tuner.distributed.cluster import (
    ChiefEnded,
    ChiefWatch,
    Heartbeat,
    LauncherWatch,
    join_chief,
    keras_tuner_environment,
    present_secret,
)
from tuner.results.decisions import EQUAL, SEEDS
from tuner.results.runs import failure_reason, read_json_or_none
from tuner.results.snapshot import STUDY_FILE
from tuner.study.inputs import describe_data, resolve, validate
from tuner.study.record import check_resumable, study_record, with_study_network, write_study_file
from tuner.study.repair import check_study
from tuner.study.run_queue import Claims, planned_looks

log = logging.getLogger(__name__)
# Tuners whose next configuration depends on the scores so far: their trials train every run of
# a configuration, so the score they learn from is the mean over its seeds.
SCORE_GUIDED = ("bayesian", "hyperband")


def run_search(config: SearchConfig, on_validated=None, role=None):
    """Run (or resume) the study `config` describes; return its folder.

    Args:
        config: the search.
        on_validated: called once every input has been checked, before
            TensorFlow is imported (the CLI quiets TF's start-up there).
        role: this process' part (`common.config.ClusterConfig`): a search of its own
            (the default), the chief that serves the study's oracle to
            workers and trains nothing, or a worker that runs the chief's trials.

    Raises:
        UsageError: any bad flag, space file, data source or results folder,
            a worker whose chief is not there or whose study differs, always
            before training starts.
    """
    role = role or ClusterConfig()
    with LauncherWatch():  # a child of `--workers` stops with its launcher
        if role.role == "worker":
            return _run_worker(config, role, on_validated)
        return _run_study(config, role, on_validated)


def _run_study(config, role, on_validated):
    """A search of one process, or the chief of several."""
    inputs = validate(config)
    study_dir = prepare_folder(config)
    if on_validated:
        on_validated()
    with StudyLock(study_dir):
        config = with_study_network(config, study_dir)
        if config.overwrite:
            _empty_folder(study_dir)
        else:
            check_study(study_dir, config.repair, inputs.tuner_name)
        describe_data(inputs)

        inputs = replace(inputs, settings=study_settings(study_dir, inputs))
        with keras_tuner_environment(role):
            tuner = _make_tuner(config, inputs, study_dir)
        write_study_file(study_dir, study_record(config, inputs, tuner.hypermodel.scorer,
                                                  inputs.tuner_name, inputs.max_trials,
                                                  oracle_seed=tuner.oracle.seed))
        if role.role == "chief":
            _serve(tuner, study_dir, role, config)
        else:
            _search(tuner, config)
            claims = Claims(study_dir, "search")
            claims.clear()  # we hold the study's lock: a claim left is a dead process'
            _race(tuner.hypermodel, study_dir, config, claims)
    return study_dir


def study_settings(study_dir, inputs):
    """The settings with the study's spending of its 5%: by seeds for a new study (any later
    looks, a race or more --repeats, keep the 5%), or, for a study from before that spending,
    the looks it plans in equal shares, counting those it took before.

    Raises:
        UsageError: more seeds asked of a Hyperband study (its trials continue each other).
    """
    recorded = (read_json_or_none(Path(study_dir) / STUDY_FILE) or {}).get("train") or {}
    settings = inputs.settings
    if inputs.tuner_name == "hyperband" and recorded and \
            settings.repeats > (recorded.get("repeats") or 1):
        raise UsageError(f"--repeats {settings.repeats}: {study_dir} is a Hyperband study, whose "
                         f"trials continue each other's runs, so they cannot take new seeds; "
                         f"give it its first --repeats ({recorded.get('repeats') or 1}), or "
                         f"search anew with --study NAME")
    if recorded and recorded.get("spending") != SEEDS:  # an older study keeps equal shares
        return replace(settings, looks=planned_looks(recorded, settings), spending=EQUAL)
    return replace(settings, looks=1, spending=SEEDS)  # each n of seeds spends its own share


def _run_worker(config, role, on_validated):
    """A worker: check the chief is there and runs this very study, then train its trials, then
    the runs the study still wants. A chief that has ended (every trial done) leaves the runs;
    a chief that dies is named in one line and the worker ends."""
    if config.overwrite:
        raise UsageError("--overwrite belongs to the chief (it owns the study folder); "
                         "give it there, not to a worker")
    resolve(config)  # the flags first, then the chief (in seconds), then the data
    study_dir = study_folder(config)
    try:
        secret = join_chief(role, study_dir)
    except ChiefEnded as ended:
        log.info("worker %s: %s; it trains the runs the study still wants", role.worker_id, ended)
        secret = None
    inputs = validate(config)
    config = with_study_network(config, study_dir)
    if not (study_dir / STUDY_FILE).is_file():
        raise UsageError(
            f"{study_dir} holds no {STUDY_FILE}: a worker runs in the chief's study folder; give "
            f"the --results-dir and --study the chief uses (on a filesystem both machines share)")
    if on_validated:
        on_validated()
    describe_data(inputs)
    with keras_tuner_environment(role if secret else ClusterConfig()):
        tuner = _make_tuner(config, inputs, study_dir, required=True,
                            hint="a worker needs the very data, space file and scoring options "
                                 "of its chief; give it the same options")
        with Heartbeat(study_dir, role.worker_id):
            if secret:
                _search_for_chief(tuner, config, role, study_dir, secret)
            _race(tuner.hypermodel, study_dir, config,
                  Claims(study_dir, role.worker_id, role.worker_timeout), role.worker_id)
    return study_dir


def _search_for_chief(tuner, config, role, study_dir, secret):
    """Run the chief's trials until it has none left. A chief that ends meanwhile (seen from
    its chief.json) ends the calls under way; one that dies also stops training at the next
    step: the worker never waits on it.

    Raises:
        SearchStopped: the chief died.
    """
    channel = present_secret(tuner, role, secret)
    log.info("worker %s: running trials of %s for the chief at %s:%d", role.worker_id,
             study_dir, role.host, role.port)
    stop = _StopWhenGone(channel)
    with ChiefWatch(study_dir, role, stop) as watch:
        stop.watch = watch
        try:
            _search(tuner, config)
        except KeyboardInterrupt:
            if not stop.requested:
                raise  # the user's Ctrl-C or SIGTERM
        except Exception:  # a call cut short because the chief is gone: said below
            interruption.check()
            if not watch.gone:
                raise
    if stop.requested:
        interruption.clear()
    interruption.check()
    if watch.gone and watch.gone != "ended":
        raise SearchStopped(f"worker {role.worker_id}: the chief at {role.host}:{role.port} is "
                            f"dead ({watch.gone}); start it again with the same command, then "
                            f"its workers")


class _StopWhenGone:
    """What a worker does once its chief is gone: end the calls to it; if it died, stop
    training at the next step too."""

    def __init__(self, channel):
        self.channel, self.watch, self.requested = channel, None, False

    def __call__(self):
        if self.watch is not None and self.watch.gone != "ended":
            self.requested = interruption.request()
        self.channel.close()


def _race(hypermodel, study_dir, config, claims, worker=None):
    """Train the runs the study still wants (seeds added, and --settle's race).

    Raises:
        SearchStopped: --max-consecutive-failures added runs in a row failed.
    """
    from tuner.study.racing import Racing, RunsFailed  # keras-tuner and TF: only once searching

    try:
        Racing(hypermodel, study_dir, config, claims, worker).run()
    except RunsFailed as err:
        raise SearchStopped(
            f"search stopped: {config.max_consecutive_failures} runs in a row failed "
            f"(--max-consecutive-failures); last reason: {err.reason}") from None


def _serve(tuner, study_dir, role, config):
    serve(tuner, study_dir, role)
    if tuner.oracle.failures:
        raise SearchStopped(
            f"search stopped: {config.max_consecutive_failures} trials in a row failed "
            f"(--max-consecutive-failures); last reason: {failure_reason(tuner.oracle.failures)}")


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
    from tuner.study.hypermodel import make_hypermodel  # keras-tuner and TF: only after validation
    from tuner.study.tensorboard import board_dir, write_hparams_config
    from tuner.study.tuners import make_tuner

    settings = inputs.settings
    # Hyperband's trial count follows from its budget and its results, not from max_trials.
    planned = None if inputs.tuner_name == "hyperband" else inputs.max_trials
    # A tuner that does not learn from scores gets a configuration's first run per trial; the
    # other runs are then units of work of their own, which several workers share (`_race`).
    runs = None if inputs.tuner_name in SCORE_GUIDED else 1
    progress = Progress(planned, log_every=max(1, settings.epochs // 20),
                        repeats=runs or settings.repeats)
    hypermodel = make_hypermodel(config, inputs, progress)
    hypermodel.runs_per_trial = runs
    check_resumable(study_dir, inputs, hypermodel.scorer,
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
    from tuner.study.tuners import Budget  # keras-tuner and TF: only when a budget is set

    if config.time_budget is None and config.max_epochs_total is None:
        return None

    def epochs_per_trial(values):
        trained = values.get("tuner/epochs", settings.epochs) - values.get("tuner/initial_epoch", 0)
        return trained * settings.repeats

    return Budget(seconds=None if config.time_budget is None else parse_duration(config.time_budget),
                  epochs=config.max_epochs_total, epochs_per_trial=epochs_per_trial,
                  started=time.monotonic())


def _search(tuner, config):
    """Run the tuner; too many failed trials in a row (errors, not divergence) end the search.

    Raises:
        SearchStopped: `--max-consecutive-failures` trials in a row failed.
    """
    from tuner.study.tuners import TooManyFailures  # keras-tuner and TF: only once searching

    try:
        tuner.search(verbose=0)
    except TooManyFailures as err:
        raise SearchStopped(
            f"search stopped: {config.max_consecutive_failures} trials in a row failed "
            f"(--max-consecutive-failures); last reason: {err.reason}") from None


class SearchStopped(Exception):
    """The search ended before its trials were done, for a reason the user must see."""
