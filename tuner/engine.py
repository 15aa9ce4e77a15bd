"""The tuners: keras-tuner's four, taught to hand each trial its folder and report progress."""

import contextlib
import functools
import io
import json
import logging

import keras_tuner as kt
from keras_tuner.src import config as kt_config
from keras_tuner.src import utils as kt_utils
from keras_tuner.src.tuners import gridsearch

from tuner import files, interruption
from tuner.results import failure_reason
from tuner.errors import UsageError

TUNER_CLASSES = {
    "grid": kt.GridSearch,
    "random": kt.RandomSearch,
    "bayesian": kt.BayesianOptimization,
    "hyperband": kt.Hyperband,
}


def _save_json_atomically(path, obj):
    """keras-tuner's own save_json, but a crash can no longer leave half a trial.json."""
    text = json.dumps(obj)
    files.write_bytes(path, text.encode())
    return text


# keras-tuner writes oracle.json and every trial.json through this one function.
kt_utils.save_json = _save_json_atomically
# Otherwise keras-tuner prints each failed trial's traceback; the reason is logged
# in one line instead, and the traceback stays in trial.json.
kt_config.DEBUG = False


class ResumableGridSearchOracle(kt.oracles.GridSearchOracle):
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


class StudyTunerMixin:
    """Passes `trial_dir` to `HyperModel.fit` and reports trial progress."""

    progress = None

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
        super().on_trial_end(trial)
        if self.progress:
            objective = trial.score if trial.status == "COMPLETED" else None
            self.progress.trial_end(trial.trial_id, trial.status, objective,
                                    failure_reason(trial.message))


def make_tuner(name, hypermodel, objective, max_trials, max_epochs, hyperband_factor,
               directory, project_name, seed, max_consecutive_failures, progress=None):
    """A keras-tuner tuner of kind `name` over `hypermodel`, resuming `directory/project_name`."""
    if name not in TUNER_CLASSES:
        raise UsageError(f"--tuner must be one of {', '.join(TUNER_CLASSES)}, got {name!r}")
    objective = kt.Objective(objective, "min")
    budget = ({"max_epochs": max_epochs, "factor": hyperband_factor}
              if name == "hyperband" else {"max_trials": max_trials})
    budget.update(objective=objective, seed=seed,
                  max_consecutive_failed_trials=max_consecutive_failures)
    if name == "grid":
        base, arguments = kt.Tuner, {"oracle": ResumableGridSearchOracle(**budget)}
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
