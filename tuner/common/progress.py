"""Progress of a search, reported through logging: trial n of N, epochs, losses, ETA."""

import logging
import time

log = logging.getLogger(__name__)


def duration(seconds):
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    return f"{minutes // 60}h{minutes % 60:02d}m"


class Progress:
    """Collects timings to estimate what is left; every message goes to the logger."""

    def __init__(self, max_trials, log_every=1, repeats=1):
        self.max_trials = max_trials  # None: not known in advance (Hyperband)
        self.log_every = log_every
        self.repeats = repeats
        self.run = 0  # the training run of the current unit of work (a trial, or one added run)
        self.unit_runs = repeats  # the runs of the current unit of work
        self.started = time.perf_counter()
        self.trial_number = 0
        self.trial_started = self.started
        self.finished_trial_seconds = []

    def trial_begin(self, trial_id, hyperparameters):
        self.trial_number += 1
        self.trial_started = time.perf_counter()
        self.run, self.unit_runs = -1, self.repeats
        values = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                           for k, v in hyperparameters.items() if not k.startswith("tuner/"))
        of = f" of {self.max_trials}" if self.max_trials else ""
        log.info("trial %d%s (id %s): %s", self.trial_number, of, trial_id, values)

    def trial_end(self, trial_id, status, objective=None, reason=""):
        seconds = time.perf_counter() - self.trial_started
        self.finished_trial_seconds.append(seconds)
        left = self.max_trials - self.trial_number if self.max_trials else 0
        eta = f", search ETA {duration(left * self._mean_trial())}" if left > 0 else ""
        score = f", objective {objective:.5g}" if objective is not None else ""
        score += f": {reason}" if reason else ""
        log.info("trial %s %s in %s%s (elapsed %s%s)", trial_id, status.lower(),
                 duration(seconds), score, duration(time.perf_counter() - self.started), eta)

    def _mean_trial(self):
        return sum(self.finished_trial_seconds) / len(self.finished_trial_seconds)

    def added_run(self):
        """A run added to a finished trial starts: a unit of work of its own (it says itself
        which run it is)."""
        self.trial_started = time.perf_counter()
        self.run, self.unit_runs = -1, 1

    def run_begin(self, repeat, seed):
        """Run `repeat` (0-based) of the trial's training runs starts, with `seed`."""
        self.run += 1
        if self.unit_runs > 1:
            log.info("  run %d of %d (seed %d)", repeat + 1, self.unit_runs, seed)

    def epoch(self, epoch, epochs, logs, seconds):
        if epoch % self.log_every and epoch != epochs:
            return
        elapsed = time.perf_counter() - self.trial_started
        done = self.run * epochs + epoch
        eta = elapsed / done * (self.unit_runs * epochs - done)
        log.info("  epoch %d/%d  g_loss %.3f  d_loss %.3f  %.2fs/epoch  trial ETA %s",
                 epoch, epochs, logs.get("g_loss", float("nan")), logs.get("d_loss", float("nan")),
                 seconds, duration(eta))

    def evaluation(self, row):
        swd = f"  SWD {row['swd']:.2f}" if row.get("swd") is not None else ""
        log.info("  epoch %d: KID %.4f +- %.4f  FD %.2f%s  (scored in %.2fs)",
                 row["epoch"], row["kid"], row["kid_std"], row["fd"], swd, row["seconds"])
