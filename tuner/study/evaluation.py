"""The evaluation of a trial's runs: scores every few epochs, divergence, sample grids, evaluations.json.

Each run's entry in evaluations.json records its training time apart from its
scoring: ``epoch_seconds``, every epoch's seconds (ms), and ``seconds_per_epoch``,
their load-robust summary `epoch_time`.
"""


import io
import logging
import math
import time
from pathlib import Path

import keras
import numpy as np
from filelock import FileLock

from tuner.common import files
from tuner.common.errors import UsageError
from tuner.data.images import to_uint8

log = logging.getLogger(__name__)

GRID_SAMPLES = 64
EVALUATIONS_FILE = "evaluations.json"
# A run's last scored samples (uint8, at the training size), beside its sample grids: what
# any other feature network needs to rescore the run without training it again. About
# 0.4 / 1 / 3 MB per run at 16 / 32 / 64 px with 1000 samples (npz, compressed).
FINAL_SAMPLES_FILE = "final_samples.npz"
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
# A run's seconds per epoch is this percentile of its epoch times: on a shared machine other
# jobs only ever slow an epoch down, so a low percentile is the machine's own speed.
EPOCH_TIME_PERCENTILE = 10


def epoch_time(epoch_seconds):
    """A run's seconds per epoch, robust to a shared machine: the 10th percentile of its epochs.

    The first epoch is left out (it traces the training step); of the rest,
    ``numpy.percentile(later, 10)``: linear interpolation at position
    ``0.1 (k - 1)`` of the k sorted times. A run of one epoch gives that
    epoch, a run of none None.
    """
    if not epoch_seconds:
        return None
    later = list(epoch_seconds[1:]) or list(epoch_seconds)
    return float(np.percentile(later, EPOCH_TIME_PERCENTILE))


class TrialRecord:
    """evaluations.json of one trial: the protocol, each run's state and every evaluation.

    Rewritten (atomically) after every evaluation, so a reader sees a running
    trial's scores so far. A record owns the runs it trains and merges them into
    the file under the trial's lock: runs of one trial trained by other processes
    (seeds added later, several workers) are kept as they are. Each run names
    the `worker` that trained it, in a search by several workers.
    """

    def __init__(self, path, protocol, worker=None):
        self.path, self.protocol, self.worker = Path(path), protocol, worker
        self.runs, self.evaluations = {}, []  # this record's runs: repeat -> entry; their rows
        self._started = {}

    def run(self, repeat, seed, **state):
        """Set run `repeat`'s state: status, diverged_at_epoch, reason, epochs; once it has
        ended, its wall time in seconds (training and scoring: what another run would cost)."""
        self._started.setdefault(repeat, time.monotonic())
        if state.get("status", "running") != "running":
            state["seconds"] = round(time.monotonic() - self._started[repeat], 1)
        entry = self.runs.setdefault(repeat, {
            "repeat": repeat, "seed": None, "status": "running", "diverged_at_epoch": None,
            "reason": "", "epochs": 0, **({"worker": self.worker} if self.worker else {})})
        entry.update(seed=seed, **state)
        self.write()

    def add(self, row):
        self.evaluations.append(row)
        self.write()

    def write(self):
        with FileLock(self.path.with_name(self.path.name + ".lock")):
            doc = _read_record(self.path)
            mine = set(self.runs)
            runs = [r for r in doc["repeats"] if r.get("repeat") not in mine]
            runs = sorted(runs + list(self.runs.values()), key=lambda r: r["repeat"])
            rows = [e for e in doc["evaluations"] if e.get("repeat", 0) not in mine]
            worker = doc.get("worker") or self.worker
            files.write_json(self.path, {"protocol": self.protocol,
                                         **({"worker": worker} if worker else {}),
                                         "repeats": runs, "evaluations": rows + self.evaluations})


def _read_record(path):
    """The runs and evaluations already in `path` ({} while there is none); a file from before
    repeats holds one finished run."""
    try:
        doc = files.read_json(path) if path.is_file() else {}
    except (OSError, ValueError) as err:
        raise UsageError(f"{path}: cannot be read ({err}); run the search again with --repair "
                         f"to set it aside and rerun the trial") from None
    if not isinstance(doc, dict):
        raise UsageError(f"{path}: not a JSON object; run the search again with --repair to set "
                         f"it aside and rerun the trial")
    rows = list(doc.get("evaluations") or [])
    if "repeats" not in doc and rows:
        return {**doc, "repeats": [{"repeat": 0, "status": "completed"}], "evaluations": rows}
    return {**doc, "repeats": list(doc.get("repeats") or []), "evaluations": rows}


def _npz(samples_uint8):
    """`samples_uint8` as the bytes of a compressed .npz holding one array, ``samples``."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, samples=samples_uint8)
    return buffer.getvalue()


def forget_run(path, repeat):
    """Take an unfinished run `repeat` (a killed process') out of evaluations.json, so it can be
    trained again from its start; the trial's other runs stay as they are."""
    with FileLock(path.with_name(path.name + ".lock")):
        doc = _read_record(path)
        doc["repeats"] = [r for r in doc["repeats"] if r.get("repeat") != repeat]
        doc["evaluations"] = [e for e in doc["evaluations"] if e.get("repeat", 0) != repeat]
        files.write_json(path, doc)


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
        self._last_samples = None  # uint8 (N, H, W) of the latest evaluation

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
        if self._last_samples is not None:
            files.write_bytes(self.samples_dir / FINAL_SAMPLES_FILE, _npz(self._last_samples))
        if self.record:
            self.record.run(self.repeat, self.seed, **self._end_state(),
                            epochs=self.history[-1]["epoch"] if self.history else 0)

    def as_run(self):
        """This run as `results.runs.summarise_runs` reads one from evaluations.json."""
        return {"repeat": self.repeat, "seed": self.seed, **self._end_state(),
                "evaluations": self.history}

    def recorded_epoch_seconds(self):
        """Each epoch's training time (scoring excluded), rounded to ms as evaluations.json holds it."""
        return [round(seconds, 3) for seconds in self.epoch_seconds]

    def seconds_per_epoch(self):
        """`epoch_time` of the recorded epoch times: what a reader of the file recomputes."""
        return epoch_time(self.recorded_epoch_seconds())

    def _end_state(self):
        """How the run ended: completed, or diverged (when and why), and its epoch times."""
        diverged = self.diverged or {}
        return {"status": "diverged" if self.diverged else "completed",
                "diverged_at_epoch": diverged.get("epoch"), "reason": diverged.get("reason", ""),
                "epoch_seconds": self.recorded_epoch_seconds(),
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
        self._last_samples = to_uint8(images[..., 0])
        grid = files.grid_image(self._last_samples[:GRID_SAMPLES])
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
        return np.nan_to_num(self.scorer.generate(self.model.generator), nan=0.0)

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
