"""The tuners: keras-tuner's four, taught to hand each trial its folder and report progress."""

import contextlib
import io
import logging

import keras_tuner as kt

from tuner.errors import UsageError

TUNER_CLASSES = {
    "grid": kt.GridSearch,
    "random": kt.RandomSearch,
    "bayesian": kt.BayesianOptimization,
    "hyperband": kt.Hyperband,
}


class StudyTunerMixin:
    """Passes `trial_dir` to `HyperModel.fit` and reports trial progress."""

    progress = None

    def run_trial(self, trial, *args, **kwargs):
        kwargs["trial_dir"] = self.get_trial_dir(trial.trial_id)
        return super().run_trial(trial, *args, **kwargs)

    def on_trial_begin(self, trial):
        super().on_trial_begin(trial)
        if self.progress:
            self.progress.trial_begin(trial.trial_id, trial.hyperparameters.values)

    def on_trial_end(self, trial):
        super().on_trial_end(trial)
        if self.progress:
            objective = trial.score if trial.status == "COMPLETED" else None
            self.progress.trial_end(trial.trial_id, trial.status, objective)


def make_tuner(name, hypermodel, objective, max_trials, max_epochs, hyperband_factor,
               directory, project_name, seed, max_consecutive_failures, progress=None):
    """A keras-tuner tuner of kind `name` over `hypermodel`, resuming `directory/project_name`."""
    if name not in TUNER_CLASSES:
        raise UsageError(f"--tuner must be one of {', '.join(TUNER_CLASSES)}, got {name!r}")
    base = TUNER_CLASSES[name]
    cls = type(f"Study{base.__name__}", (StudyTunerMixin, base), {"progress": progress})
    budget = ({"max_epochs": max_epochs, "factor": hyperband_factor,
               "max_consecutive_failed_trials": max_consecutive_failures}
              if name == "hyperband" else
              {"max_trials": max_trials, "max_consecutive_failed_trials": max_consecutive_failures})
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):  # keras-tuner prints "Reloading Tuner from ..."
        tuner = cls(hypermodel=hypermodel, objective=kt.Objective(objective, "min"), seed=seed,
                    directory=str(directory), project_name=project_name, overwrite=False, **budget)
    if printed.getvalue().strip():
        logging.getLogger(__name__).info(printed.getvalue().strip())
    return tuner
