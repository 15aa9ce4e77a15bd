"""The tuners: keras-tuner's four, taught to hand each trial its folder and report progress."""

import contextlib
import functools
import inspect
import io
import json
import logging
import math
import os
import random
import statistics
import time
import traceback
import types
from dataclasses import dataclass

import keras_tuner as kt
from keras_tuner.src.distribute import oracle_client
from keras_tuner.src.engine import trial as trial_module
from keras_tuner.src.engine.oracle import synchronized
from keras_tuner.src.tuners import gridsearch

from tuner.common import files, interruption
from tuner.common.config import IDLE_POLL, TUNERS
from tuner.common.errors import UsageError
from tuner.results.runs import failure_reason
from tuner.study.hypermodel import _check_tuner

log = logging.getLogger(__name__)
RUNNING, STOPPED, IDLE = (trial_module.TrialStatus.RUNNING, trial_module.TrialStatus.STOPPED,
                          trial_module.TrialStatus.IDLE)


def write_state(path, stateful):
    """keras-tuner's `Stateful.save`, atomically: a crash never leaves half a trial.json."""
    files.write_bytes(path, json.dumps(stateful.get_state()).encode())


@dataclass
class Budget:
    """What a search may spend: seconds of this run, epochs of the whole study (None: no limit).

    `epochs_per_trial(values)` gives the epochs a trial with those hyperparameter
    values trains, over all its runs.
    """

    seconds: float | None = None
    epochs: int | None = None
    epochs_per_trial: object = None
    started: float = 0.0  # time.monotonic() when this run began

    def refusal(self, oracle, durations):
        """Why no new trial may start now ("" if one may)."""
        if self.epochs is not None:
            spent = sum(self.epochs_per_trial(t.hyperparameters.values)
                        for t in oracle.trials.values())
            running = [t.hyperparameters.values for t in oracle.trials.values()]
            next_epochs = (statistics.mean(map(self.epochs_per_trial, running)) if running
                           and "tuner/epochs" in running[-1] else self.epochs_per_trial({}))
            if spent + next_epochs > self.epochs:
                return (f"epoch budget reached: {spent} of --max-epochs-total {self.epochs} "
                        f"epochs trained or under way; the next trial would take ~{next_epochs:.0f}")
        if self.seconds is not None and durations:
            elapsed, expected = time.monotonic() - self.started, statistics.mean(durations)
            if elapsed + expected > self.seconds:
                return (f"time budget reached: {elapsed:.0f} s of --time-budget "
                        f"{self.seconds:.0f} s spent; a trial takes ~{expected:.0f} s")
        return ""


class AtomicSavesMixin:
    """The study's oracle: atomic files, budgets, and what a chief serving workers needs.

    keras-tuner writes oracle.json and trial.json in place, so a kill -9 during a
    write would leave a file the resumed search cannot reload; here both are
    written atomically. No trial starts past the `budget`. With several
    workers (tuner ids), a worker that finds no new trial while others still
    run theirs waits (IDLE) rather than leaves, so it can take over a trial
    `release`d by a dead worker; a trial ended twice (its worker was thought
    dead) is not handed out again.
    """

    spending = None         # a Budget, or None
    stopped_reason = ""     # why no trial is handed out any more (a budget, too many failures)
    serving = False         # a chief: too many failures stop handing out trials, never raise
    failures = ""           # the consecutive-failure message that stopped a serving oracle

    def save(self):
        write_state(self._get_oracle_fname(), self)

    def _save_trial(self, trial):
        write_state(os.path.join(self._get_trial_dir(trial.trial_id), "trial.json"), trial)

    @synchronized
    def create_trial(self, tuner_id):
        if tuner_id in self.ongoing_trials:  # a worker back under the same name: its trial again
            return super().create_trial(tuner_id)
        if not self.stopped_reason and self.spending and not self._retry_queue:
            self.stopped_reason = self.spending.refusal(self, self._durations())
            if self.stopped_reason:
                log.info("%s: no new trial starts", self.stopped_reason)
        if self.stopped_reason:
            self.tuner_ids.discard(tuner_id)
            return trial_module.Trial(self.hyperparameters.copy(), status=STOPPED)
        trial = super().create_trial(tuner_id)
        if trial.status == RUNNING:
            self._started()[trial.trial_id] = time.monotonic()
            if self.serving:
                log.info("trial %s -> %s", trial.trial_id, tuner_id)
        elif trial.status == STOPPED and self.ongoing_trials:
            self.tuner_ids.add(tuner_id)  # others still train: wait, one may need taking over
            return trial_module.Trial(self.hyperparameters.copy(), status=IDLE)
        return trial

    @synchronized
    def end_trial(self, trial):
        if trial.trial_id in self._retry_queue:  # its worker was thought dead but finished it
            self._retry_queue.remove(trial.trial_id)
        started = self._started().pop(trial.trial_id, None)
        super().end_trial(trial)
        if started is not None and self.trials[trial.trial_id].status == "COMPLETED":
            self._durations().append(time.monotonic() - started)

    @synchronized
    def release(self, tuner_id):
        """Forget worker `tuner_id`; its trial, if any, goes back to be handed out again."""
        self.tuner_ids.discard(tuner_id)
        trial = self.ongoing_trials.pop(tuner_id, None)
        if trial is not None:
            self._started().pop(trial.trial_id, None)
            if trial.trial_id not in self._retry_queue:
                self._retry_queue.append(trial.trial_id)
            self.save()
        return trial

    @synchronized
    def finished(self):
        """Whether a serving oracle is done: no trial running, waiting or to be retried."""
        return not self.ongoing_trials and not self.tuner_ids and (
            not self._retry_queue or bool(self.stopped_reason))

    def _check_consecutive_failures(self):
        try:
            super()._check_consecutive_failures()
        except RuntimeError as err:
            if not self.serving:
                raise
            self.failures = self.failures or str(err)
            self.stopped_reason = self.stopped_reason or "too many trials in a row failed"

    def _started(self):
        return self.__dict__.setdefault("_trial_started", {})

    def _durations(self):
        return self.__dict__.setdefault("_trial_durations", [])


class OwnOracleMixin:
    """A keras-tuner tuner built around `oracle_class` rather than the oracle it builds itself.

    keras-tuner's RandomSearch, BayesianOptimization and Hyperband do nothing in
    `__init__` but build their oracle from the budget arguments; this builds the
    atomic one from the same arguments instead. The keywords the oracle does not
    take are keras-tuner's own tuner options (`max_model_size`, `executions_per_trial`,
    `tuner_id`, ...) and go to `kt.Tuner`, as keras-tuner's tuners pass them on.
    """

    oracle_class = None

    def __init__(self, hypermodel=None, directory=None, project_name=None, overwrite=False,
                 **options):
        accepted = _oracle_parameters(self.oracle_class)
        budget = {k: v for k, v in options.items() if k in accepted}
        tuner_options = {k: v for k, v in options.items() if k not in accepted}
        check_executions(tuner_options.get("executions_per_trial", 1))
        self.seed = budget.get("seed")
        kt.Tuner.__init__(self, oracle=self.oracle_class(**budget), hypermodel=hypermodel,
                          directory=directory, project_name=project_name, overwrite=overwrite,
                          **tuner_options)


def _oracle_parameters(oracle_class):
    """The keyword arguments `oracle_class.__init__` takes: those of the first class that has one."""
    init = next(c.__dict__["__init__"] for c in oracle_class.__mro__ if "__init__" in c.__dict__)
    return set(inspect.signature(init).parameters) - {"self"}


def check_executions(executions):
    """keras-tuner's `executions_per_trial` above 1 would overwrite each execution's evaluations.

    The message is the study hypermodel's own (`hypermodel._check_tuner`), said here before
    anything is built.
    """
    _check_tuner(types.SimpleNamespace(executions_per_trial=executions))


def oracle_seed(seed):
    """The seed keras-tuner's oracle is given for a study seeded `seed` (>= 0): seed + 1.

    keras-tuner reads a seed of 0 as none at all and draws a random one
    (`self.seed = seed or random.randint(1, 10000)` in its Oracle), so a study
    seeded 0, the default, would draw other configurations on every run. seed + 1
    is never 0 and differs for every study seed, so every seed is reproducible.
    """
    return seed + 1


class RandomSearchOracle(AtomicSavesMixin, kt.oracles.RandomSearchOracle):
    pass


class BayesianOptimizationOracle(AtomicSavesMixin, kt.oracles.BayesianOptimizationOracle):
    pass


class HyperbandOracle(AtomicSavesMixin, kt.oracles.HyperbandOracle):
    """keras-tuner's Hyperband, whose every bracket runs to `max_epochs` on a finite space.

    keras-tuner sizes a bracket's first round from the epoch budget alone (833
    configurations for 1000 epochs and factor 3), draws them at random, and gives
    up after 20 draws in a row of configurations tried before, in any bracket: on
    a space of few configurations the first round never fills, nothing is
    promoted, and the search ends after a round of short trials. Here a round is
    no larger than the space allows (the rounds after it shrink by `factor` as
    usual), and on a finite space a first round draws from the space's
    enumeration, in an order fixed by the seed: configurations no bracket has
    tried first, then ones an earlier bracket tried, never one twice in a
    bracket. So successive halving runs to `max_epochs` in every bracket, for
    every seed. A space with a continuous range keeps keras-tuner's random draws.
    """

    def _get_size(self, bracket_num, round_num):
        size = super()._get_size(bracket_num, round_num)
        distinct = space_size(self.hyperparameters)
        if distinct is None:
            return size
        return min(size, math.ceil(distinct / self.factor ** round_num))

    def _random_trial(self, trial_id, bracket):
        values = self._first_round_values(bracket)
        if values is None:  # keras-tuner's own ending of an exhausted (continuous) space
            return super()._random_trial(trial_id, bracket)
        bracket_num = bracket["bracket_num"]
        values.update({"tuner/epochs": self._get_epochs(bracket_num, 0), "tuner/initial_epoch": 0,
                       "tuner/bracket": self._current_bracket, "tuner/round": 0})
        bracket["rounds"][0].append({"past_id": None, "id": trial_id})
        return {"status": "RUNNING", "values": values}

    def _first_round_values(self, bracket):
        """A configuration for `bracket`'s first round not yet in it; None: keras-tuner draws."""
        everything = self._enumeration()
        if everything is None:
            return None
        in_bracket = {self._compute_values_hash(self.trials[info["id"]].hyperparameters.values)
                      for info in bracket["rounds"][0] if info["id"] in self.trials}
        order = list(range(len(everything)))
        random.Random(f"{self.seed}/{bracket['bracket_num']}").shuffle(order)
        fresh = [everything[i] for i in order if everything[i][0] not in in_bracket]
        untried = [entry for entry in fresh if entry[0] not in self._tried_so_far]
        return dict((untried or fresh)[0][1]) if fresh else None

    def _enumeration(self):
        """(hash, values) of every configuration of the space, or None (see space_configurations);
        worked out once per space (the hypermodel may still add hyperparameters to it)."""
        known = self.__dict__.get("_configurations")
        if known is None or known[0] != len(self.hyperparameters.space):
            everything = space_configurations(self.hyperparameters)
            known = (len(self.hyperparameters.space), None if everything is None else
                     [(self._compute_values_hash(values), values) for values in everything])
            self.__dict__["_configurations"] = known
        return known[1]


# Spaces with more configurations than this are not enumerated: their first rounds are drawn
# at random, as keras-tuner does, where a run of 20 repeated draws is unlikely past any round size.
ENUMERATION_LIMIT = 20_000


def space_size(hyperparameters):
    """The number of distinct configurations of a keras-tuner space; None if unbounded.

    A conditional hyperparameter counts only where its conditions hold: a space
    `model in {a, b}` with `units in {1, 2, 3}` under `model == a` has 3 + 1 = 4
    configurations, not 2 x 3.
    """
    return _count(list(hyperparameters.space), {})


def _count(space, values):
    """Configurations of `space` (in declaration order, parents first) given `values` so far."""
    for position, hp in enumerate(space):
        if not all(condition.is_active(values) for condition in hp.conditions):
            continue
        ladder = _ladder(hp)
        if ladder is None:
            return None
        if not _is_parent(hp, space[position + 1:]):
            rest = _count(space[position + 1:], values)
            return None if rest is None else len(ladder) * rest
        counts = [_count(space[position + 1:], {**values, hp.name: v}) for v in ladder]
        return None if None in counts else sum(counts)
    return 1


def _is_parent(hp, later):
    """Whether any hyperparameter in `later` is conditioned on `hp`'s value."""
    return any(getattr(c, "name", None) == hp.name for other in later for c in other.conditions)


def space_configurations(hyperparameters):
    """Every configuration of a finite keras-tuner space (active values only), in a fixed
    order; None if the space has a continuous range or more than ENUMERATION_LIMIT of them."""
    size = space_size(hyperparameters)
    if size is None or size > ENUMERATION_LIMIT:
        return None
    combos = [{}]
    for hp in hyperparameters.space:
        ladder = _ladder(hp)
        combos = [grown for values in combos for grown in (
            [{**values, hp.name: v} for v in ladder]
            if all(c.is_active(values) for c in hp.conditions) else [values])]
    return combos


def _ladder(hp):
    """The values a keras-tuner hyperparameter takes, as a list; None if it is continuous."""
    if isinstance(hp, kt.engine.hyperparameters.Fixed):
        return [hp.value]
    if isinstance(hp, kt.engine.hyperparameters.Choice):
        return list(hp.values)
    if isinstance(hp, kt.engine.hyperparameters.Boolean):
        return [False, True]
    if getattr(hp, "step", None):  # Int, or Float with a step: a finite ladder
        return list(hp.values)
    if isinstance(hp, kt.engine.hyperparameters.Int):
        return list(range(hp.min_value, hp.max_value + 1))
    return None


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
        if not self._is_worker():  # a worker's oracle is the chief's
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
            if files.is_disk_full(error):  # the disk's fault, not the trial's: stop, resumable
                raise files.as_disk_full(error, self.get_trial_dir(trial.trial_id),
                                         f"trial {trial.trial_id}") from None
            failed = isinstance(error, kt.errors.FailedTrialError)
            trial.status = "FAILED" if failed else "INVALID"
            trial.message = traceback.format_exc()

    def run_trial(self, trial, *args, **kwargs):
        kwargs["trial_dir"] = self.get_trial_dir(trial.trial_id)
        if self._is_worker():
            kwargs["worker"] = self.tuner_id
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
            if trial.status == "COMPLETED" and trial.score is None and self._is_worker():
                trial = self.oracle.get_trial(trial.trial_id)  # the chief scored it
            objective = trial.score if trial.status == "COMPLETED" else None
            self.progress.trial_end(trial.trial_id, trial.status, objective,
                                    failure_reason(trial.message))


class WorkerOracleClient(oracle_client.OracleClient):
    """keras-tuner's client of the chief's oracle, pausing when the chief has no trial yet.

    keras-tuner's worker asks again at once on IDLE, flooding the chief.
    """

    def create_trial(self, tuner_id):
        trial = super().create_trial(tuner_id)
        if trial.status == IDLE:
            time.sleep(IDLE_POLL)  # polling the chief, nothing to wait on locally
        return trial


def make_tuner(name, hypermodel, settings, max_trials, hyperband_factor, directory,
               project_name, max_consecutive_failures, progress=None, spending=None):
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
    budget.update(objective=objective, seed=oracle_seed(settings.seed),
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
        log.info(printed.getvalue().strip())
    if isinstance(tuner.oracle, oracle_client.OracleClient):
        tuner.oracle = WorkerOracleClient(tuner.oracle._oracle)
    else:
        tuner.oracle.spending = spending
    return tuner
