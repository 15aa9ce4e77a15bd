"""Racing seeds: train the runs a study still wants, where they decide something.

After the tuner's trials, `Racing.run()` trains, one run at a time, what
`study.run_queue` says the study wants: the runs missing below `repeats`, then
(with `settle`) the next seed of every configuration an open decision names,
looking at the decisions again after each run. It stops when nothing is wanted,
at `max_repeats`, or at the search's budget. Several processes race one study
together: each run is claimed by the process that trains it.
"""


import logging
import time

from tuner.common import interruption
from tuner.common.config import IDLE_POLL, parse_duration
from tuner.common.progress import duration
from tuner.results.race import open_decisions
from tuner.results.runs import mean_run_seconds, run_entries
from tuner.study.run_queue import (
    completed_trials,
    configuration,
    missing_runs,
    race_runs,
)

log = logging.getLogger(__name__)


class RunsFailed(Exception):
    """`limit` added runs in a row failed; `reason` is the last one's."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


class Racing:
    """Trains a study's wanted runs with `hypermodel` until none is wanted or the budget ends.

    Args:
        hypermodel: the study's DCGANHyperModel (its `train_run` trains one run).
        study_dir: the study folder.
        config: the SearchConfig (budgets, failures in a row).
        claims: the study's `run_queue.Claims` as this process makes them.
        worker: this process' worker id, recorded with each run it trains (None: a search of
            one process).
    """

    def __init__(self, hypermodel, study_dir, config, claims, worker=None, started=None):
        self.hypermodel, self.study_dir, self.config = hypermodel, study_dir, config
        self.settings = hypermodel.settings
        self.claims, self.worker = claims, worker
        self.started = time.monotonic() if started is None else started
        self.failures, self.shown = 0, None

    def run(self):
        """Train runs until none is wanted; returns why it stopped ("" when none is wanted)."""
        while True:
            interruption.check()
            trials = completed_trials(self.study_dir)
            wanted, decisions = self._wanted(trials)
            self._show(decisions)
            left = self._left(trials, decisions) if decisions else len(wanted)
            run = next((r for r in wanted if self.claims.take(r)), None)
            if run is None:
                if not self.claims.busy(trials):
                    return ""
                time.sleep(IDLE_POLL)  # others train runs that may open or settle decisions
                continue
            refusal = self._refusal(trials)
            if refusal:
                self.claims.release(run)
                log.info("%s: no new run starts", refusal)
                return refusal
            try:
                self._train(run, left)
            finally:
                self.claims.release(run)

    def _wanted(self, trials):
        missing = missing_runs(trials, self.settings)
        if missing or not self.settings.settle:
            return missing, ()
        decisions = open_decisions(self.study_dir)
        return race_runs(trials, self.settings, decisions, self.claims.busy(trials)), decisions

    def _show(self, decisions):
        """Log the open decisions whenever they change."""
        labels = tuple(d.label for d in decisions)
        if labels == self.shown or not self.settings.settle:
            return
        self.shown = labels
        if decisions:  # the labels alone: the end of the search gives each one's numbers
            log.info("open decisions (%d): %s", len(decisions),
                     "; ".join(d.label.split(": ")[0] for d in decisions))

    def _left(self, trials, decisions):
        """The most runs the race may still train: its open configurations up to the cap
        (finished runs count; a killed one is trained again)."""
        named = {str(t) for d in decisions for t in d.trial_ids}
        return sum(max(0, self.settings.max_repeats - len(t.finished)) for t in trials
                   if t.trial_id in named)

    def _train(self, run, left):
        seconds = self._run_seconds()
        bound = "up to " if self.settings.settle else ""
        eta = f"; {bound}{left} run(s) left" + (f", ETA {bound}{duration(left * seconds)}"
                                                 if seconds else "")
        log.info("run %d (seed %d) of trial %s (%s): %s%s", run.repeat + 1, run.seed,
                 run.trial_id, configuration(run.values), run.why, eta)
        from keras_tuner.errors import FailedTrialError  # keras-tuner: only once training runs

        try:
            done = self.hypermodel.train_run(run.folder, run.values, run.seed, self.worker)
        except FailedTrialError as err:
            self._failed(run, str(err))
            return
        self.failures = 0
        score = done.history[-1].get(self.settings.objective) if done.history else None
        state = done.as_run()["status"]
        log.info("run %d of trial %s %s%s", run.repeat + 1, run.trial_id, state,
                 f", {self.settings.objective} {score:.5g}" if score is not None else "")

    def _failed(self, run, reason):
        self.failures += 1
        log.warning("run %d of trial %s failed: %s", run.repeat + 1, run.trial_id, reason)
        if self.failures >= self.config.max_consecutive_failures:
            raise RunsFailed(reason)

    def _run_seconds(self):
        return mean_run_seconds(t.folder for t in completed_trials(self.study_dir))

    def _refusal(self, trials):
        """Why no further run may start (--time-budget, --max-epochs-total), or ""."""
        if self.config.max_epochs_total is not None:
            spent = sum(r.get("epochs") or 0 for t in trials for r in run_entries(t.folder))
            if spent + self.settings.epochs > self.config.max_epochs_total:
                return (f"epoch budget reached: {spent} of --max-epochs-total "
                        f"{self.config.max_epochs_total} epochs trained; the next run would "
                        f"take {self.settings.epochs}")
        seconds = self._run_seconds()
        if self.config.time_budget is not None and seconds:
            budget, elapsed = parse_duration(self.config.time_budget), \
                time.monotonic() - self.started
            if elapsed + seconds > budget:
                return (f"time budget reached: {elapsed:.0f} s of --time-budget {budget:.0f} s "
                        f"spent; a run takes ~{seconds:.0f} s")
        return ""

