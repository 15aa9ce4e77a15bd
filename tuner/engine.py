"""The tuners: keras-tuner's four, taught to hand each trial its folder and report progress."""

import contextlib
import functools
import io
import json
import logging
import os
import traceback

import keras_tuner as kt
from keras_tuner.src.tuners import gridsearch

from tuner import files, interruption
from tuner.config import TUNERS
from tuner.errors import UsageError
from tuner.results import failure_reason


def write_state(path, stateful):
    """keras-tuner's `Stateful.save`, atomically: a crash never leaves half a trial.json."""
    files.write_bytes(path, json.dumps(stateful.get_state()).encode())


class AtomicSavesMixin:
    """An oracle that writes oracle.json and every trial.json atomically.

    keras-tuner writes them in place, so a kill -9 during a write would leave a
    file the resumed search cannot reload.
    """

    def save(self):
        write_state(self._get_oracle_fname(), self)

    def _save_trial(self, trial):
        write_state(os.path.join(self._get_trial_dir(trial.trial_id), "trial.json"), trial)


class OwnOracleMixin:
    """A keras-tuner tuner built around `oracle_class` rather than the oracle it builds itself.

    keras-tuner's RandomSearch, BayesianOptimization and Hyperband do nothing in
    `__init__` but build their oracle from the budget arguments; this builds the
    atomic one from the same arguments instead.
    """

    oracle_class = None

    def __init__(self, hypermodel=None, directory=None, project_name=None, overwrite=False,
                 **budget):
        self.seed = budget.get("seed")
        kt.Tuner.__init__(self, oracle=self.oracle_class(**budget), hypermodel=hypermodel,
                          directory=directory, project_name=project_name, overwrite=overwrite)


class RandomSearchOracle(AtomicSavesMixin, kt.oracles.RandomSearchOracle):
    pass


class BayesianOptimizationOracle(AtomicSavesMixin, kt.oracles.BayesianOptimizationOracle):
    pass


class HyperbandOracle(AtomicSavesMixin, kt.oracles.HyperbandOracle):
    pass


class RandomSearch(OwnOracleMixin, kt.RandomSearch):
    oracle_class = RandomSearchOracle


class BayesianOptimization(OwnOracleMixin, kt.BayesianOptimization):
    oracle_class = BayesianOptimizationOracle


class Hyperband(OwnOracleMixin, kt.Hyperband):
    oracle_class = HyperbandOracle


TUNER_CLASSES = {
    "grid": kt.GridSearch,
    "random": RandomSearch,
    "bayesian": BayesianOptimization,
    "hyperband": Hyperband,
}


class ResumableGridSearchOracle(AtomicSavesMixin, kt.oracles.GridSearchOracle):
    """GridSearchOracle that can resume: keras-tuner 1.4 does not save the grid's position.

    Its linked list of tried combinations and its queue of trials to extend are
    in memory only, so a reloaded grid search either stops early or fails with
    KeyError. Both are rebuilt here from the trials on disk.
    """

    def set_state(self, state):
        super().set_state(state)
        order = functools.cmp_to_key(lambda a, b: self._compare(
            self.trials[a].hyperparameters.values, self.trials[b].hyperparameters.values))
        self._ordered_ids = gridsearch.LinkedList()
        for trial_id in sorted(self.start_order, key=order):
            self._ordered_ids.insert(trial_id)
        self._populate_next = list(self.end_order)


class OneAtATimeOracle(AtomicSavesMixin, kt.Oracle):
    """Hands out listed configurations in order: the lab's one-factor-at-a-time design.

    What is still to run is worked out from the trials on disk, so a resumed
    search goes on where it stopped.
    """

    def __init__(self, configurations, **kwargs):
        kwargs["max_trials"] = min(kwargs.get("max_trials") or len(configurations),
                                   len(configurations))
        super().__init__(**kwargs)
        self.configurations = [dict(c) for c in configurations]

    def populate_space(self, trial_id):
        tried = [t.hyperparameters.values for t in self.trials.values()]
        for values in self.configurations:
            if not any(_same_values(values, other) for other in tried):
                return {"status": "RUNNING", "values": values}
        return {"status": "STOPPED", "values": None}


def _same_values(values, other):
    return all(other.get(name) == value for name, value in values.items())


class TooManyFailures(Exception):
    """`max_consecutive_failures` trials in a row failed; `reason` is the last one's."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


class StudyTunerMixin:
    """Passes `trial_dir` to `HyperModel.fit`, reports trial progress, records every end."""

    progress = None

    def save(self):
        self.oracle.save()
        write_state(self._get_tuner_fname(), self)

    def _try_run_and_update_trial(self, trial, *fit_args, **fit_kwargs):
        """keras-tuner's, without printing the traceback of every failed trial.

        The reason is logged in one line instead (`on_trial_end`) and the
        traceback stays in trial.json, as keras-tuner records it.
        """
        try:
            self._run_and_update_trial(trial, *fit_args, **fit_kwargs)
            trial.status = "COMPLETED"
        except kt.errors.FatalError:
            raise
        except Exception as error:
            failed = isinstance(error, kt.errors.FailedTrialError)
            trial.status = "FAILED" if failed else "INVALID"
            trial.message = traceback.format_exc()

    def run_trial(self, trial, *args, **kwargs):
        kwargs["trial_dir"] = self.get_trial_dir(trial.trial_id)
        return super().run_trial(trial, *args, **kwargs)

    def pre_create_trial(self):
        interruption.check()  # Ctrl-C between trials: start no new trial
        super().pre_create_trial()

    def on_trial_begin(self, trial):
        super().on_trial_begin(trial)
        if self.progress:
            self.progress.trial_begin(trial.trial_id, trial.hyperparameters.values)

    def on_trial_end(self, trial):
        try:
            super().on_trial_end(trial)
        except RuntimeError as err:
            if "consecutive failures" not in str(err):
                raise
            # keras-tuner raises before it writes the trial: record it as failed, not running.
            self.oracle._save_trial(self.oracle.trials[trial.trial_id])
            self.oracle.save()
            self.save()
            self._report_end(trial)
            raise TooManyFailures(failure_reason(trial.message)) from None
        self._report_end(trial)

    def _report_end(self, trial):
        if self.progress:
            objective = trial.score if trial.status == "COMPLETED" else None
            self.progress.trial_end(trial.trial_id, trial.status, objective,
                                    failure_reason(trial.message))


def make_tuner(name, hypermodel, settings, max_trials, hyperband_factor, directory,
               project_name, max_consecutive_failures, progress=None):
    """A keras-tuner tuner of kind `name` over `hypermodel`, resuming `directory/project_name`.

    `settings` (the study's TrainSettings) gives the objective, the epochs
    (Hyperband's largest budget) and the seed; one-at-a-time takes its
    configurations from `hypermodel.space`.
    """
    if name not in TUNER_CLASSES and name != "one-at-a-time":
        raise UsageError(f"--tuner must be one of {', '.join(TUNERS)}, got {name!r}")
    objective = kt.Objective(settings.objective, "min")
    budget = ({"max_epochs": settings.epochs, "factor": hyperband_factor}
              if name == "hyperband" else {"max_trials": max_trials})
    budget.update(objective=objective, seed=settings.seed,
                  max_consecutive_failed_trials=max_consecutive_failures)
    if name == "grid":
        base, arguments = kt.Tuner, {"oracle": ResumableGridSearchOracle(**budget)}
    elif name == "one-at-a-time":
        oracle = OneAtATimeOracle(hypermodel.space.configurations(), **budget)
        base, arguments = kt.Tuner, {"oracle": oracle}
    else:
        base, arguments = TUNER_CLASSES[name], budget
    cls = type(f"Study{base.__name__}", (StudyTunerMixin, base), {"progress": progress})
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):  # keras-tuner prints "Reloading Tuner from ..."
        tuner = cls(hypermodel=hypermodel, directory=str(directory), project_name=project_name,
                    overwrite=False, **arguments)
    if printed.getvalue().strip():
        logging.getLogger(__name__).info(printed.getvalue().strip())
    return tuner
