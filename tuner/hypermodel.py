"""`DCGANHyperModel`: keras-tuner's view of the lab's DCGAN.

`build(hp)` reads `learning_rate`, `beta_1`, `image_size` and returns the
compiled DCGAN. `fit(hp, model, ...)` reads `image_size` and `subset_fraction`
and trains the configuration `repeats` times, run k with seed `seed + k` (the
same seeds for every configuration, so configurations compare run for run),
keras-tuner's callbacks passed on. Each run is scored every `eval_every` epochs
and at its end; a run that diverges or collapses stops early and is scored where
it stopped: a result, not a failure. The trial's objective is the mean over runs
of each run's score by the study's rank-by rule (final, best or last-N evaluations;
`results.summarise_runs`, the leaderboard's own reading).

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
import statistics
import time
from pathlib import Path

import keras
import keras_tuner as kt
import numpy as np

from tuner import data, files
from tuner.board import TrialBoard, board_dir
from tuner.config import DEFAULT_SPACE, SEARCH_OPTIONS, check_option, search_config
from tuner.dcgan import build_dcgan
from tuner.errors import UsageError
from tuner.interruption import stop_on_interrupt
from tuner.results import summarise_runs

log = logging.getLogger(__name__)

GRID_SAMPLES = 64
EVALUATIONS_FILE = "evaluations.json"
# The lab's lr 2e-2: the discriminator wins, the generator's loss explodes to
# ~1e3-1e4 and no later epoch recovers. The losses stay finite (d_loss flickers
# between 0 and large values), so this is checked apart from NaN. A healthy
# run's g_loss stays in single digits.
EXPLODED_G_LOSS = 100.0
EXPLODED_PATIENCE = 5
# Per-pixel spread across samples below this (in [-1, 1] units): one image for every z.
COLLAPSE_STD = 0.005
# An untrained generator also draws one image for every z; a run has collapsed only
# if it had learned variety (a spread this large at an earlier evaluation) and lost it.
LEARNED_STD = 10 * COLLAPSE_STD
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
        space: the study's `spaces.Space`.
        faces: the real images (`data.FaceSet`).
        scorer: the study's `scoring.Scorer`.
        settings: the study's `config.TrainSettings`.
        progress: a `progress.Progress` to report epochs and evaluations to, or None.
        pool: indices of the images trials may train on (the rest is the study's
            held-out split); None: all.
    """

    study_file = None  # a study.StudyFile, set by from_space: it writes the folder's study.json

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
        from tuner.spaces import Space, not_a_space
        from tuner.study import hypermodel_from  # the study assembles its hypermodel

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
            for repeat, seed in enumerate(self.settings.seeds()):
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
            model.save_weights(trial_dir / _weights_name(repeat))
        return evaluation

    def _dataset(self, images, seed):
        import tensorflow as tf

        return (tf.data.Dataset.from_tensor_slices(images).cache()
                .shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
                .batch(self.settings.batch_size).prefetch(tf.data.AUTOTUNE))

    def _result(self, runs):
        """The dict keras-tuner records: every score as a mean over runs, and run facts.

        The scores are what the leaderboard shows (`results.summarise_runs`), so
        Bayesian search and Hyperband see the very number the trial is ranked by.
        """
        summary = summarise_runs([run.as_run() for run in runs], self.settings.rank_by,
                                 self.settings.objective)
        if summary.get(self.settings.objective) is None:  # e.g. kid_heldout without a split
            raise kt.errors.FailedTrialError(f"no {self.settings.objective} was recorded")
        metrics = {k: float(v) for k, v in summary.items()
                   if isinstance(v, (int, float)) and not isinstance(v, bool)}
        metrics.update(
            seconds_per_epoch=statistics.median(s for run in runs for s in run.epoch_seconds),
            eval_seconds=statistics.mean(r["seconds"] for run in runs for r in run.history))
        return metrics


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
    """Runs a keras-tuner checkpoint callback once, when training ends."""

    def __init__(self, checkpoint):
        super().__init__()
        self.checkpoint = checkpoint

    def set_model(self, model):
        super().set_model(model)
        self.checkpoint.set_model(model)

    def on_train_end(self, logs=None):
        self.checkpoint.on_epoch_end(0, {})  # without the objective in logs it always saves


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
    import shutil

    shutil.rmtree(trial_dir / "samples", ignore_errors=True)
    (trial_dir / EVALUATIONS_FILE).unlink(missing_ok=True)


def _as_failed_trial(err):
    """Trial-local errors become keras-tuner's FailedTrialError, so the search goes on."""
    import tensorflow as tf

    if isinstance(err, (tf.errors.ResourceExhaustedError, MemoryError)):
        return kt.errors.FailedTrialError(f"out of memory: {str(err).splitlines()[0][:200]}")
    return err


class TrialRecord:
    """evaluations.json of one trial: the protocol, each run's state and every evaluation.

    Rewritten (atomically) after every evaluation, so a reader sees a running
    trial's scores so far. In a search by several workers, `worker` names the
    one that ran the trial.
    """

    def __init__(self, path, protocol, worker=None):
        self.path, self.protocol, self.worker = Path(path), protocol, worker
        self.repeats, self.evaluations = [], []

    def run(self, repeat, seed, **state):
        """Set run `repeat`'s state: status, diverged_at_epoch, reason, epochs."""
        while len(self.repeats) <= repeat:
            self.repeats.append({"repeat": len(self.repeats), "seed": None, "status": "running",
                                 "diverged_at_epoch": None, "reason": "", "epochs": 0})
        self.repeats[repeat].update(seed=seed, **state)
        self.write()

    def add(self, row):
        self.evaluations.append(row)
        self.write()

    def write(self):
        worker = {"worker": self.worker} if self.worker else {}
        files.write_json(self.path, {"protocol": self.protocol, **worker, "repeats": self.repeats,
                                     "evaluations": self.evaluations})


class Evaluation(keras.callbacks.Callback):
    """Scores one run's generator every `eval_every` epochs and at the last one.

    Also watches for divergence: non-finite losses, an exploded generator loss,
    or a collapse to one image after the run had learned variety. A diverged run
    stops training at once and is scored where it stopped (`diverged` says when
    and why). Scores are recorded in `history` and, with a `record`, in the
    trial's evaluations.json; without one (retraining), in `<out>/evaluations.json`.
    """

    def __init__(self, scorer, settings, samples_dir, epochs, train_indices, progress,
                 board=None, record=None, repeat=0, seed=None):
        super().__init__()
        self.scorer, self.settings, self.samples_dir = scorer, settings, Path(samples_dir)
        self.epochs, self.train_indices, self.progress = epochs, train_indices, progress
        self.board, self.record = board, record
        self.repeat, self.seed = repeat, settings.seed if seed is None else seed
        self.history, self.epoch_seconds = [], []
        self.diverged = None  # {"epoch", "reason"} once the run has diverged
        self.final_losses = {}
        self._exploded_epochs = 0
        self._peak_spread = 0.0
        self._epoch_start = time.perf_counter()

    def on_train_begin(self, logs=None):
        if self.record:
            self.record.run(self.repeat, self.seed, status="running")

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        self.epoch_seconds.append(time.perf_counter() - self._epoch_start)
        if self.board:  # before the loss check: a diverging epoch shows in TensorBoard too
            self.board.epoch(epoch + 1, logs)
        self._check_losses(epoch + 1, logs)
        if self.diverged or (epoch + 1) % self.settings.eval_every == 0 or epoch + 1 == self.epochs:
            self._evaluate(epoch + 1, logs)
        if self.progress:
            self.progress.epoch(epoch + 1, self.epochs, logs, self.epoch_seconds[-1])

    def on_train_end(self, logs=None):
        if self.record:
            self.record.run(self.repeat, self.seed, **self._end_state(),
                            epochs=self.history[-1]["epoch"] if self.history else 0)

    def as_run(self):
        """This run as `results.summarise_runs` reads one from evaluations.json."""
        return {"repeat": self.repeat, "seed": self.seed, **self._end_state(),
                "evaluations": self.history}

    def seconds_per_epoch(self):
        """The median epoch's training time (the first epoch also traces the step)."""
        return statistics.median(self.epoch_seconds) if self.epoch_seconds else None

    def _end_state(self):
        """How the run ended: completed, or diverged (when and why), and its epoch time."""
        diverged = self.diverged or {}
        return {"status": "diverged" if self.diverged else "completed",
                "diverged_at_epoch": diverged.get("epoch"), "reason": diverged.get("reason", ""),
                "seconds_per_epoch": self.seconds_per_epoch()}

    def _check_losses(self, epoch, logs):
        g_loss, d_loss = float(logs.get("g_loss", 0.0)), float(logs.get("d_loss", 0.0))
        self.final_losses = {"g_loss": g_loss, "d_loss": d_loss}
        if not (math.isfinite(g_loss) and math.isfinite(d_loss)):
            self._diverge(epoch, f"g_loss {g_loss}, d_loss {d_loss} (not finite)")
        self._exploded_epochs = self._exploded_epochs + 1 if g_loss > EXPLODED_G_LOSS else 0
        if self._exploded_epochs >= EXPLODED_PATIENCE:
            self._diverge(epoch, f"the discriminator won, g_loss above {EXPLODED_G_LOSS:g} for "
                                 f"{EXPLODED_PATIENCE} epochs (now {g_loss:.3g}, d_loss "
                                 f"{d_loss:.2g}); the generator has collapsed")

    def _diverge(self, epoch, reason):
        if self.diverged is None:
            self.diverged = {"epoch": epoch, "reason": f"diverged at epoch {epoch}: {reason}"}
            log.warning("  run %d (seed %d) %s; scored where it stopped", self.repeat, self.seed,
                        self.diverged["reason"])
        self.model.stop_training = True

    def _evaluate(self, epoch, logs):
        start = time.perf_counter()
        images = self._samples()
        scores = self.scorer.score_images(images, self.train_indices)
        spread = float(np.std(images, axis=0).mean())
        grid = files.grid_image(data.to_uint8(images[:GRID_SAMPLES, ..., 0]))
        files.write_png(self.samples_dir / f"epoch_{epoch:05d}.png", grid)
        self._check_collapse(epoch, spread)
        row = {"repeat": self.repeat, "seed": self.seed, "epoch": epoch, **scores,
               "sample_std": spread, "g_loss": float(logs.get("g_loss", 0.0)),
               "d_loss": float(logs.get("d_loss", 0.0)), "seconds": time.perf_counter() - start}
        self.history.append(row)
        self._write(row)
        if self.board:
            self.board.evaluation(epoch, row, grid)
        if self.progress:
            self.progress.evaluation(row)

    def _samples(self):
        """The study's latent batch through the generator; a diverged (NaN) one draws gray."""
        generator = self.model.generator
        images = generator.predict(self.scorer.latents(generator.input_shape[-1]),
                                   batch_size=500, verbose=0)
        return np.nan_to_num(images, nan=0.0)

    def _check_collapse(self, epoch, spread):
        self._peak_spread = max(self._peak_spread, spread)
        if spread < COLLAPSE_STD and self._peak_spread >= LEARNED_STD:
            self._diverge(epoch, f"mode collapse: every sample is the same image (per-pixel "
                                 f"std across samples {spread:.3g}, was {self._peak_spread:.3g})")

    def _write(self, row):
        if self.record:
            self.record.add(row)
        else:
            files.write_json(self.samples_dir.parent / EVALUATIONS_FILE,
                             {"protocol": self.scorer.protocol.as_dict(),
                              "evaluations": self.history})
