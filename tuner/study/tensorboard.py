"""TensorBoard logs of a study: every trial's losses, scores and sample grids, and the HParams view.

    results/<study>/tensorboard/                 the study's hparams config (written once)
    results/<study>/tensorboard/trial_<id>/      one run per trial (its first training run)
    results/<study>/tensorboard/trial_<id>/repeat_<k>/   the trial's further training runs

`tensorboard --logdir results/<study>/tensorboard` then shows every trial's
curves side by side and, in the HParams dashboard, the four hyperparameters
against KID and FD. Used only while training, so TensorFlow is imported here.
"""

import shutil
from pathlib import Path

import numpy as np
import tensorflow as tf
from tensorboard.plugins.hparams import api as hp_api

from tuner.common.names import HYPERPARAMETERS, SCORES

LOSSES = ("g_loss", "d_loss")
EVALUATION_SCALARS = SCORES + ("sample_std",)
# The HParams dashboard shows, per trial, the last value logged under each metric tag; the
# trial's score (as keras-tuner ranks it: the mean over its runs of each run's score by the
# study's rank-by rule) is logged under these tags at the end of the trial, apart from the
# per-evaluation curves.
SCORE_TAGS = {"kid": "score/kid", "fd": "score/fd", "swd": "score/swd",
              "kid_heldout": "score/kid_heldout", "score_se": "score/se",
              "repeats": "score/repeats", "diverged": "score/diverged_runs"}
SCORE_NAMES = {"kid": "KID (mean over runs)", "fd": "FD (mean over runs)",
               "swd": "SWD (mean over runs)", "kid_heldout": "held-out KID (mean over runs)",
               "score_se": "standard error of the objective over runs",
               "repeats": "training runs", "diverged": "diverged runs"}


def board_dir(study_dir):
    """The study's TensorBoard folder: `tensorboard --logdir` this."""
    return Path(study_dir) / "tensorboard"


def _domain(param):
    """An HParams domain for a spaces.Param: an interval, or the discrete values tried."""
    if param.is_continuous:
        return hp_api.RealInterval(float(param.min), float(param.max))
    values = list(param.values)
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return hp_api.Discrete(values)
    return hp_api.Discrete([float(v) for v in values])  # one dtype: TOML's 1 beside 0.5


def write_hparams_config(log_dir, params):
    """Declare the study's four hyperparameters and its two scores to the HParams dashboard.

    Args:
        log_dir: the study's TensorBoard folder (results/<study>/tensorboard).
        params: {name: spaces.Param} for the four hyperparameters (`Space.params`).

    Written once: a resumed study (same space, or it would not resume) keeps its config.
    """
    log_dir = Path(log_dir)
    if any(log_dir.glob("events.out.tfevents.*")):
        return
    hparams = [hp_api.HParam(name, _domain(params[name])) for name in HYPERPARAMETERS
               if name in params]
    metrics = [hp_api.Metric(tag, display_name=SCORE_NAMES[name])
               for name, tag in SCORE_TAGS.items()]
    writer = tf.summary.create_file_writer(str(log_dir))
    with writer.as_default():
        hp_api.hparams_config(hparams=hparams, metrics=metrics)
    writer.close()


class TrialBoard:
    """One trial's TensorBoard run: losses per epoch, scores and sample grids per evaluation.

    A trial rerun after a crash starts a fresh log, so its curves never mix with
    the dead attempt's.
    """

    def __init__(self, log_dir):
        self.log_dir = Path(log_dir)
        shutil.rmtree(self.log_dir, ignore_errors=True)
        self.writer = tf.summary.create_file_writer(str(self.log_dir))

    def hparams(self, values):
        """Record the trial's hyperparameters (call once, when the trial starts)."""
        with self.writer.as_default():
            hp_api.hparams({k: values[k] for k in HYPERPARAMETERS if k in values},
                           trial_id=self.log_dir.name)

    def epoch(self, epoch, logs):
        """The epoch's generator and discriminator losses."""
        with self.writer.as_default(step=epoch):
            for name in LOSSES:
                if logs.get(name) is not None:
                    tf.summary.scalar(name, float(logs[name]))

    def evaluation(self, epoch, row, grid_uint8):
        """One evaluation's scores (an evaluations.json row) and its sample grid (2-D uint8)."""
        with self.writer.as_default(step=epoch):
            for name in EVALUATION_SCALARS:
                if row.get(name) is not None:
                    tf.summary.scalar(name, float(row[name]))
            grid = np.asarray(grid_uint8, np.uint8)
            tf.summary.image("samples", grid[None, :, :, None])
        self.writer.flush()  # a running trial's grids show up in TensorBoard right away

    def result(self, metrics, step):
        """The trial's scores (means over its runs, their standard error) for HParams."""
        with self.writer.as_default(step=step):
            for name, tag in SCORE_TAGS.items():
                if metrics.get(name) is not None:
                    tf.summary.scalar(tag, float(metrics[name]))

    def close(self):
        self.writer.flush()
        self.writer.close()
