"""`DCGANHyperModel`: keras-tuner's view of the lab's DCGAN.

`build(hp)` reads `learning_rate`, `beta_1`, `image_size` and returns the
compiled DCGAN. `fit(hp, model, ...)` reads `image_size` and `subset_fraction`
and trains the configuration `repeats` times, run k with seed `seed + k` (the
same seeds for every configuration, so configurations compare run for run),
keras-tuner's callbacks passed on. Each run is scored every `eval_every` epochs
and at its end; a run that diverges or collapses stops early and is scored where
it stopped: a result, not a failure. The trial's objective is the mean over runs
of each run's score by the study's rank-by rule (final, best or last-N evaluations;
`results.runs.summarise_runs`, the leaderboard's own reading).

`DCGANHyperModel.from_space(space, **options)` makes one from the search CLI's
words for any keras-tuner tuner; `fit` then finds the trial's folder through
keras-tuner's callbacks when the tuner does not pass `trial_dir` (the study's
tuners do), and writes the study's study.json into the tuner's project folder.

    trial_<id>/evaluations.json   the protocol, every run's state, every evaluation
    trial_<id>/samples/           run 0's sample grid per evaluation
    trial_<id>/samples/repeat_<k>/  run k's
"""


import logging
import math
import os
import shutil
import statistics
from pathlib import Path

import keras
import keras_tuner as kt
import numpy as np
import tensorflow as tf

from tuner.common import files
from tuner.common.config import (
    DEFAULT_SPACE,
    SEARCH_OPTIONS,
    check_option,
    search_config,
)
from tuner.common.errors import UsageError
from tuner.common.interruption import stop_on_interrupt
from tuner.gan.dcgan import build_dcgan
from tuner.gan.devices import describe_precision
from tuner.metrics.scoring import Scorer
from tuner.results.runs import failure_reason, summarise_runs
from tuner.spaces.space import Space, not_a_space
from tuner.study.evaluation import EVALUATIONS_FILE, Evaluation, TrialRecord, forget_run
from tuner.study.inputs import describe_data, validate
from tuner.study.record import StudyFile
from tuner.study.tensorboard import TrialBoard, board_dir

log = logging.getLogger(__name__)
# Search options that belong to the keras-tuner tuner a user builds around `from_space`'s hypermodel.
TUNER_OPTIONS = {
    "space": "the space is from_space's first argument",
    "tuner": "choose the keras-tuner tuner class yourself, e.g. kt.RandomSearch or kt.Hyperband",
    "max_trials": "give it to the tuner: kt.RandomSearch(hm, objective=hm.objective, max_trials=...)",
    "results_dir": "give the tuner directory=...",
    "study": "give the tuner project_name=...",
    "overwrite": "give the tuner overwrite=True",
    "max_consecutive_failures": "give the tuner max_consecutive_failed_trials=...",
    "time_budget": "budgets belong to the study's own search: tuner.search_study(..., "
                   "time_budget='2h')",
    "max_epochs_total": "budgets belong to the study's own search: tuner.search_study(..., "
                        "max_epochs_total=...)",
    "settle": "racing seeds belongs to the study's own search: tuner.search_study(..., "
              "settle=True)",
    "max_repeats": "racing seeds belongs to the study's own search: tuner.search_study(..., "
                   "settle=True, max_repeats=...)",
    "repair": "setting damaged files aside belongs to the study's own search: "
              "tuner.search_study(..., repair=True)",
}
HYPERMODEL_OPTIONS = tuple(name for name in SEARCH_OPTIONS if name not in TUNER_OPTIONS)


class StudyFolderError(UsageError, kt.errors.FatalError):
    """A tuner's folder or settings this study cannot use: the search stops at once.

    A UsageError for the user, and fatal to keras-tuner, which would otherwise
    count it as a failed trial and try the next one.
    """


class DCGANHyperModel(kt.HyperModel):
    """Builds and trains one configuration's DCGANs; scores them with the study's `Scorer`.

    Args:
        space: the study's `spaces.space.Space`.
        faces: the real images (`FaceSet`).
        scorer: the study's `metrics.scoring.Scorer`.
        settings: the study's `common.config.TrainSettings`.
        progress: a `common.progress.Progress` to report epochs and evaluations to, or None.
        pool: indices of the images trials may train on (the rest is the study's
            held-out split); None: all.
    """

    study_file = None  # a study.StudyFile, set by from_space: it writes the folder's study.json
    runs_per_trial = None  # the runs a trial trains (the first seeds); None: all `repeats`

    def __init__(self, space, faces, scorer, settings, progress=None, pool=None):
        super().__init__(name="dcgan")
        self.space = space
        self.faces = faces
        self.scorer = scorer
        self.settings = settings
        self.progress = progress
        self.pool = pool
        self._adopted = set()  # project folders whose study.json has been written or checked

    @classmethod
    def from_space(cls, space=DEFAULT_SPACE, **options):
        """A hypermodel for any keras-tuner tuner, from the words of `python -m tuner.search`.

        Args:
            space: a shipped space's name ("quick", "lab", "lab-mini", "wide"), the
                path of a space TOML file, or a `Space` (`tuner.load_space`).
            **options: the search CLI's flags in snake_case, with its defaults:
                data, data_url, data_sha256, person, crop, no_flip, holdout, epochs, eval_every,
                batch_size, latent_dim, precision, repeats, rank_by, objective,
                features, features_weights, samples, eval_size, seed.

        Returns:
            The hypermodel; `hm.objective` is the keras-tuner Objective to tune,
            e.g. `kt.RandomSearch(hm, objective=hm.objective, max_trials=4,
            directory="results", project_name="mine")`, then its `search()`.

        Raises:
            UsageError: an unknown option, a bad value, space file or data
                source (the CLI's one-line messages), before any training.
        """
        for name in options:
            if name in TUNER_OPTIONS:
                raise UsageError(f"{name} is not an option of DCGANHyperModel.from_space but "
                                 f"the tuner's: {TUNER_OPTIONS[name]}")
            check_option(name, HYPERMODEL_OPTIONS, "DCGANHyperModel.from_space")
        if isinstance(space, Space):
            return hypermodel_from(search_config(space=space.path, **options), space, cls)
        if not isinstance(space, (str, os.PathLike)):
            raise not_a_space(space)
        return hypermodel_from(search_config(space=os.fspath(space), **options), cls=cls)

    @property
    def objective(self):
        """The keras-tuner Objective trials are ranked by: the study's score, lower is better."""
        return kt.Objective(self.settings.objective, "min")

    def declare_hyperparameters(self, hp):
        self.space.declare(hp)

    def build(self, hp):
        return self._build_run(hp, self.settings.seed)

    def _build_run(self, hp, seed):
        keras.utils.set_random_seed(seed)  # every configuration's run k starts from one draw
        return build_dcgan(self.space.value(hp, "image_size"),
                           learning_rate=self.space.value(hp, "learning_rate"),
                           beta_1=self.space.value(hp, "beta_1"),
                           latent_dim=self.settings.latent_dim,
                           precision=self.settings.precision, seed=seed)

    def fit(self, hp, model, *args, callbacks=(), epochs=None, initial_epoch=0,
            trial_dir=None, worker=None, **kwargs):
        trial_dir, tuner = _trial_folder(trial_dir, callbacks)
        _check_tuner(tuner)
        self._adopt(trial_dir.parent, tuner)
        _clear_previous_attempt(trial_dir)
        record = TrialRecord(trial_dir / EVALUATIONS_FILE, self.scorer.protocol.as_dict(),
                             worker=worker)
        board = TrialBoard(board_dir(trial_dir.parent) / trial_dir.name)
        board.hparams(hp.values)
        runs = []
        try:
            for repeat, seed in enumerate(self.settings.seeds()[:self.runs_per_trial]):
                run_model = model if repeat == 0 else self._build_run(hp, seed)
                runs.append(self._fit_run(hp, run_model, repeat, seed, record, board,
                                          _run_callbacks(callbacks, repeat),
                                          epochs or self.settings.epochs, initial_epoch,
                                          trial_dir))
            result = self._result(runs)
            board.result(result, step=int(result["epochs"]))
            return result
        except Exception as err:
            failed = _as_failed_trial(err)
            if failed is err:
                raise
            raise failed from err
        finally:
            board.close()

    def train_run(self, trial_dir, values, seed, worker=None):
        """Train and score one more run of a completed trial, with `seed` (run `seed - study
        seed`); the trial's other runs stay as they are. Returns its Evaluation.

        Args:
            trial_dir: the trial's folder.
            values: the trial's hyperparameter values (as in its trial.json).
            worker: the worker training it, recorded with the run.
        """
        trial_dir, repeat = Path(trial_dir), seed - self.settings.seed
        path = trial_dir / EVALUATIONS_FILE
        forget_run(path, repeat)  # what a killed process left of this run
        shutil.rmtree(trial_dir / "samples" / f"repeat_{repeat}", ignore_errors=True)
        hp = kt.HyperParameters()
        self.declare_hyperparameters(hp)
        hp.values.update(values)
        record = TrialRecord(path, self.scorer.protocol.as_dict(), worker=worker)
        log_dir = board_dir(trial_dir.parent) / trial_dir.name
        board = TrialBoard(log_dir) if repeat == 0 else _BoardFolder(log_dir)
        if self.progress:
            self.progress.added_run()
        try:
            return self._fit_run(hp, self._build_run(hp, seed), repeat, seed, record, board, [],
                                 self.settings.epochs, 0, trial_dir)
        except Exception as err:
            failed = _as_failed_trial(err)
            record.run(repeat, seed, status="failed", reason=failure_reason(str(failed)))
            raise failed from err
        finally:
            board.close()

    def _adopt(self, folder, tuner):
        """Write (or check) the project folder's study.json before its first trial here.

        Checked again when the file has gone: a tuner made with overwrite=True
        empties the folder.
        """
        if self.study_file is None or (folder in self._adopted
                                       and (folder / self.study_file.NAME).is_file()):
            return
        try:
            self.study_file.adopt(folder, tuner)
        except UsageError as err:
            raise StudyFolderError(str(err)) from None
        self._adopted.add(folder)

    def _fit_run(self, hp, model, repeat, seed, record, board, callbacks, epochs,
                 initial_epoch, trial_dir):
        """Train and score run `repeat` of this configuration; return its Evaluation."""
        size = self.space.value(hp, "image_size")
        fraction = self.space.value(hp, "subset_fraction")
        train_indices = self.faces.subset_indices(fraction, self.settings.seed, pool=self.pool)
        samples = trial_dir / "samples" / (f"repeat_{repeat}" if repeat else "")
        run_board = board if repeat == 0 else TrialBoard(board.log_dir / f"repeat_{repeat}")
        if self.progress:
            self.progress.run_begin(repeat, seed)
        evaluation = Evaluation(self.scorer, self.settings, samples, epochs,
                                _scored_subset(train_indices, self.pool, len(self.faces)),
                                self.progress, run_board, record, repeat, seed)
        if repeat and initial_epoch:  # Hyperband continues run 0 through keras-tuner's checkpoint
            model.load_weights(_continued_weights(hp, trial_dir, repeat))
        images = self.faces.training_images(size, fraction, self.settings.seed,
                                            self.settings.flip, pool=self.pool)
        try:
            model.fit(self._dataset(images, seed), epochs=epochs, initial_epoch=initial_epoch,
                      verbose=0, shuffle=False,
                      callbacks=[evaluation, stop_on_interrupt(), *callbacks])
        finally:
            if run_board is not board:
                run_board.close()
        if repeat and "tuner/epochs" in hp.values:  # a later Hyperband round continues this run
            save_weights(model, trial_dir / _weights_name(repeat))
        return evaluation

    def _dataset(self, images, seed):
        return (tf.data.Dataset.from_tensor_slices(images).cache()
                .shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
                .batch(self.settings.batch_size).prefetch(tf.data.AUTOTUNE))

    def _result(self, runs):
        """The dict keras-tuner records: every score as a mean over runs, and run facts.

        The scores are what the leaderboard shows (`results.runs.summarise_runs`), so
        Bayesian search and Hyperband see the very number the trial is ranked by.
        """
        summary = summarise_runs([run.as_run() for run in runs], self.settings.rank_by,
                                 self.settings.objective)
        if summary.get(self.settings.objective) is None:  # e.g. kid_heldout without a split
            raise kt.errors.FailedTrialError(f"no {self.settings.objective} was recorded")
        metrics = {k: float(v) for k, v in summary.items()
                   if isinstance(v, (int, float)) and not isinstance(v, bool)}
        # seconds_per_epoch is summarise_runs' too: the mean over runs of each run's
        # 10th-percentile epoch time, the number the leaderboard and the claims read
        metrics.update(eval_seconds=statistics.mean(r["seconds"] for run in runs
                                                    for r in run.history))
        return metrics


class _BoardFolder:
    """Where a trial's TensorBoard runs live, for a run added to it later: each run writes its
    own `repeat_<k>` log, so the trial's first log is left as it is."""

    def __init__(self, log_dir):
        self.log_dir = Path(log_dir)

    def close(self):
        pass


def _trial_folder(trial_dir, callbacks):
    """The trial's folder, and the keras-tuner tuner running it (None when unknown).

    The study's tuners pass `trial_dir`. Any other keras-tuner tuner passes its
    callbacks to `fit`: `TunerCallback` holds the tuner and the trial,
    `SaveBestEpoch` the checkpoint path inside the trial's folder.
    """
    from keras_tuner.src.engine.tuner_utils import SaveBestEpoch, TunerCallback

    tuner = next((c.tuner for c in callbacks if isinstance(c, TunerCallback)), None)
    if trial_dir is not None:
        return Path(trial_dir), tuner
    if tuner is not None:
        trial = next(c.trial for c in callbacks if isinstance(c, TunerCallback))
        return Path(tuner.get_trial_dir(trial.trial_id)), tuner
    checkpoint = next((c.filepath for c in callbacks if isinstance(c, SaveBestEpoch)), None)
    if checkpoint is not None:
        return Path(checkpoint).parent, None
    raise StudyFolderError(
        "DCGANHyperModel.fit cannot tell the trial's folder: pass keras-tuner's callbacks on "
        "(super().run_trial does) or call fit(..., trial_dir=self.get_trial_dir(trial.trial_id))")


def _check_tuner(tuner):
    """A tuner's own repetition would overwrite each execution's evaluations: use repeats."""
    executions = getattr(tuner, "executions_per_trial", 1)
    if executions > 1:
        raise StudyFolderError(
            f"executions_per_trial={executions}: every execution would replace the last one's "
            f"evaluations; give the tuner executions_per_trial=1 and DCGANHyperModel.from_space "
            f"repeats={executions} (the same seeds for every configuration, scored as the mean)")


def _run_callbacks(callbacks, repeat):
    """keras-tuner's callbacks for run `repeat`: its checkpoint holds run 0's final weights.

    keras-tuner saves the checkpoint whenever the objective in the epoch's logs
    improves, or every epoch when it is absent. The objective here is known only
    after every run (a mean over runs), so it is kept out of the logs, and the
    checkpoint is written once, when run 0 ends: the weights `get_best_models`
    and a continuing Hyperband round load.
    """
    from keras_tuner.src.engine.tuner_utils import SaveBestEpoch

    if repeat:
        return [c for c in callbacks if not isinstance(c, SaveBestEpoch)]
    return [SaveAtEnd(c) if isinstance(c, SaveBestEpoch) else c for c in callbacks]


class SaveAtEnd(keras.callbacks.Callback):
    """Saves a keras-tuner checkpoint once, when training ends, where keras-tuner reads it.

    Before training it checks the disk has room for the trial (`trial_room`),
    and it writes the weights under a temporary name renamed when complete: a
    full disk stops the search in one line and never leaves a truncated file.
    """

    def __init__(self, checkpoint):
        super().__init__()
        self.checkpoint = checkpoint

    def on_train_begin(self, logs=None):
        trial_dir = Path(self.checkpoint.filepath).parent
        files.ensure_room(trial_dir, trial_room(trial_dir, self.model), "a trial")

    def on_train_end(self, logs=None):
        save_weights(self.model, self.checkpoint.filepath)


def save_weights(model, path):
    """`model.save_weights(path)`, atomically and only with room for it (files.DiskFull if not)."""
    with files.staged(path, weights_bytes(model)) as staged:
        model.save_weights(staged)


def weights_bytes(model):
    """Bytes of what `model.save_weights` writes: the model's variables and its optimizers'
    (Adam keeps two per weight), about the size of its `.weights.h5`."""
    optimizers = {id(o): o for o in (getattr(model, "optimizer", None), *vars(model).values())
                  if isinstance(o, keras.optimizers.Optimizer)}
    variables = [*model.variables, *(v for o in optimizers.values() for v in o.variables)]
    return sum(math.prod(v.shape) * np.dtype(v.dtype).itemsize for v in variables)


def trial_room(trial_dir, model):
    """Bytes a trial needs: the most any other trial of the study took (its folder and its
    TensorBoard run), and at least its checkpoint's."""
    study = Path(trial_dir).parent
    others = [files.folder_bytes(t) + files.folder_bytes(board_dir(study) / t.name)
              for t in study.glob("trial_*") if t.name != Path(trial_dir).name]
    return max([weights_bytes(model), *others])


def _weights_name(repeat):
    return f"repeat_{repeat}.weights.h5"


def _continued_weights(hp, trial_dir, repeat):
    """Run `repeat`'s weights at the end of the Hyperband trial this one continues."""
    return trial_dir.parent / f"trial_{hp.values['tuner/trial_id']}" / _weights_name(repeat)


def _scored_subset(train_indices, pool, n_images):
    """The trial's training indices when it trained on fewer images than it could."""
    available = n_images if pool is None else len(pool)
    return train_indices if len(train_indices) < available else None


def _clear_previous_attempt(trial_dir):
    """A trial rerun after a crash starts clean: no grids or scores from the dead attempt."""
    shutil.rmtree(trial_dir / "samples", ignore_errors=True)
    (trial_dir / EVALUATIONS_FILE).unlink(missing_ok=True)


def _as_failed_trial(err):
    """Trial-local errors become keras-tuner's FailedTrialError, so the search goes on."""
    if isinstance(err, (tf.errors.ResourceExhaustedError, MemoryError)):
        return kt.errors.FailedTrialError(f"out of memory: {str(err).splitlines()[0][:200]}")
    return err


def make_hypermodel(config, inputs, progress=None, cls=None):
    """The study's `DCGANHyperModel` (or `cls`, a subclass) with its `Scorer`: one recipe for
    the search and for `DCGANHyperModel.from_space`."""
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
    describe_data(inputs)
    hypermodel = make_hypermodel(config, inputs, cls=cls)
    hypermodel.study_file = StudyFile(config, inputs, hypermodel.scorer)
    return hypermodel


def _warn_network(scorer, eval_size):
    """Say once when the evaluation size exceeds what the feature network sees."""
    network = getattr(scorer.extractor, "input_size", None)
    if network and eval_size > network:
        log.warning("evaluating at %dx%d, but %s sees %dx%d: KID and FD cannot see detail "
                    "finer than that; only the network-free SWD (--objective swd) can",
                    eval_size, eval_size, scorer.protocol.features, network, network)
