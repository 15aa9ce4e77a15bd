"""`DCGANHyperModel`: keras-tuner's view of the lab's DCGAN.

`build(hp)` reads `learning_rate`, `beta_1`, `image_size` and returns the
compiled DCGAN; `fit(hp, model, ...)` reads `image_size` and `subset_fraction`,
trains with keras-tuner's callbacks passed on, scores the generator every
`eval_every` epochs and at the end, and returns the best evaluation's metrics.
Hyperparameters are read here and nowhere else.
"""

import logging
import math
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import keras_tuner as kt
import numpy as np

from tuner import data, files
from tuner.board import TrialBoard, board_dir
from tuner.dcgan import build_dcgan
from tuner.interruption import stop_on_interrupt

log = logging.getLogger(__name__)

GRID_SAMPLES = 64
# The lab's lr 2e-2: the discriminator wins, the generator's loss explodes to
# ~1e3-1e4 and no later epoch recovers. The losses stay finite (d_loss flickers
# between 0 and large values), so this is checked apart from NaN. A healthy
# run's g_loss stays in single digits.
EXPLODED_G_LOSS = 100.0
EXPLODED_PATIENCE = 5
# Per-pixel spread across samples below this (in [-1, 1] units): one image for every z.
COLLAPSE_STD = 0.005


@dataclass(frozen=True)
class TrainSettings:
    """The fixed (not searched) settings of every trial in a study."""

    epochs: int
    batch_size: int
    eval_every: int
    latent_dim: int = 100
    precision: str = "float32"
    flip: bool = True
    seed: int = 0
    objective: str = "kid"


class DCGANHyperModel(kt.HyperModel):
    """Builds and trains one trial's DCGAN; scores it with the study's `Scorer`."""

    def __init__(self, space, faces, scorer, settings, progress=None):
        super().__init__(name="dcgan")
        self.space = space
        self.faces = faces
        self.scorer = scorer
        self.settings = settings
        self.progress = progress

    def declare_hyperparameters(self, hp):
        self.space.declare(hp)

    def build(self, hp):
        keras.utils.set_random_seed(self.settings.seed)  # every trial starts from the same draw
        return build_dcgan(self.space.value(hp, "image_size"),
                           learning_rate=self.space.value(hp, "learning_rate"),
                           beta_1=self.space.value(hp, "beta_1"),
                           latent_dim=self.settings.latent_dim,
                           precision=self.settings.precision, seed=self.settings.seed)

    def fit(self, hp, model, *args, callbacks=(), epochs=None, initial_epoch=0,
            trial_dir=None, **kwargs):
        size = self.space.value(hp, "image_size")
        fraction = self.space.value(hp, "subset_fraction")
        epochs = epochs or self.settings.epochs
        train_indices = self.faces.subset_indices(fraction, self.settings.seed)
        trial_dir = Path(trial_dir or ".")
        _clear_previous_attempt(trial_dir)
        board = TrialBoard(board_dir(trial_dir.parent) / trial_dir.name)
        board.hparams(hp.values)
        evaluation = Evaluation(self.scorer, self.settings, trial_dir, epochs,
                                train_indices if fraction < 1 else None, self.progress, board)
        dataset = self._dataset(self.faces.training_images(size, fraction, self.settings.seed,
                                                           self.settings.flip))
        try:
            model.fit(dataset, epochs=epochs, initial_epoch=initial_epoch, verbose=0,
                      shuffle=False, callbacks=[evaluation, stop_on_interrupt(), *callbacks])
            result = evaluation.result()
            board.result(result, step=result["epochs"])
            return result
        except Exception as err:
            raise _as_failed_trial(err) from err
        finally:
            board.close()

    def _dataset(self, images):
        import tensorflow as tf

        return (tf.data.Dataset.from_tensor_slices(images).cache()
                .shuffle(len(images), seed=self.settings.seed, reshuffle_each_iteration=True)
                .batch(self.settings.batch_size).prefetch(tf.data.AUTOTUNE))


def _clear_previous_attempt(trial_dir):
    """A trial rerun after a crash starts clean: no grids or scores from the dead attempt."""
    import shutil

    shutil.rmtree(trial_dir / "samples", ignore_errors=True)
    (trial_dir / "evaluations.json").unlink(missing_ok=True)


def _as_failed_trial(err):
    """Trial-local errors become keras-tuner's FailedTrialError, so the search goes on."""
    import tensorflow as tf

    if isinstance(err, kt.errors.FailedTrialError):
        return err
    if isinstance(err, (tf.errors.ResourceExhaustedError, MemoryError)):
        return kt.errors.FailedTrialError(f"out of memory: {str(err).splitlines()[0][:200]}")
    return err


class Evaluation(keras.callbacks.Callback):
    """Scores the generator every `eval_every` epochs and at the last one.

    Adds the scores to the epoch's logs before keras-tuner's checkpoint callback
    sees them. Between evaluations the last score is carried forward, so the
    checkpoint (saved only on improvement) holds the best evaluation's weights.
    Also stops a trial as soon as its losses diverge.
    """

    def __init__(self, scorer, settings, trial_dir, epochs, train_indices, progress, board=None):
        super().__init__()
        self.scorer, self.settings, self.trial_dir = scorer, settings, trial_dir
        self.epochs, self.train_indices, self.progress = epochs, train_indices, progress
        self.board = board
        self.history, self.epoch_seconds, self.last_scores = [], [], {}
        self._exploded_epochs = 0
        self._epoch_start = self._fit_start = time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        self.epoch_seconds.append(time.perf_counter() - self._epoch_start)
        if self.board:  # before the loss check: a diverging epoch shows in TensorBoard too
            self.board.epoch(epoch + 1, logs)
        self._check_losses(epoch + 1, logs)
        if (epoch + 1) % self.settings.eval_every == 0 or epoch + 1 == self.epochs:
            self._evaluate(epoch + 1, logs)
        logs.update(self.last_scores)
        if self.progress:
            self.progress.epoch(epoch + 1, self.epochs, logs, self.epoch_seconds[-1])

    def _check_losses(self, epoch, logs):
        g_loss, d_loss = float(logs.get("g_loss", 0.0)), float(logs.get("d_loss", 0.0))
        self.final_losses = {"g_loss": g_loss, "d_loss": d_loss}
        if not (math.isfinite(g_loss) and math.isfinite(d_loss)):
            raise kt.errors.FailedTrialError(
                f"diverged at epoch {epoch}: g_loss {g_loss}, d_loss {d_loss} (not finite)")
        self._exploded_epochs = self._exploded_epochs + 1 if g_loss > EXPLODED_G_LOSS else 0
        if self._exploded_epochs >= EXPLODED_PATIENCE:
            raise kt.errors.FailedTrialError(
                f"diverged at epoch {epoch}: the discriminator won, g_loss above "
                f"{EXPLODED_G_LOSS:g} for {EXPLODED_PATIENCE} epochs (now {g_loss:.3g}, "
                f"d_loss {d_loss:.2g}); the generator has collapsed")

    def _evaluate(self, epoch, logs):
        start = time.perf_counter()
        scores, images = self.scorer.score_generator(self.model.generator, self.train_indices)
        spread = float(np.std(images, axis=0).mean())
        grid = files.grid_image(data.to_uint8(images[:GRID_SAMPLES, ..., 0]))
        files.write_png(self.trial_dir / "samples" / f"epoch_{epoch:05d}.png", grid)
        if spread < COLLAPSE_STD:
            raise kt.errors.FailedTrialError(
                f"mode collapse at epoch {epoch}: every sample is the same image "
                f"(per-pixel std across samples {spread:.3g})")
        row = {"epoch": epoch, **scores, "sample_std": spread,
               "g_loss": float(logs.get("g_loss", 0.0)), "d_loss": float(logs.get("d_loss", 0.0)),
               "seconds": time.perf_counter() - start}
        self.history.append(row)
        self.last_scores = {k: scores[k] for k in ("kid", "kid_std", "fd")}
        files.write_json(self.trial_dir / "evaluations.json",
                         {"protocol": self.scorer.protocol.as_dict(), "evaluations": self.history})
        if self.board:
            self.board.evaluation(epoch, row, grid)
        if self.progress:
            self.progress.evaluation(row)

    def best(self):
        objective = self.settings.objective
        return min(self.history, key=lambda row: row[objective])

    def result(self):
        """The dict keras-tuner records: the best evaluation's scores plus run facts."""
        best = self.best()
        last = self.history[-1]
        metrics = {k: v for k, v in best.items() if k not in ("epoch", "seconds")}
        metrics.update({
            "best_epoch": best["epoch"], "epochs": last["epoch"],
            "final_kid": last["kid"], "final_fd": last["fd"],
            "seconds_per_epoch": statistics.median(self.epoch_seconds),
            "eval_seconds": statistics.mean(row["seconds"] for row in self.history),
            "train_seconds": time.perf_counter() - self._fit_start,
            **self.final_losses})
        return metrics
