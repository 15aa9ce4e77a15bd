"""Retraining: one trial of a study trained properly, from scratch, on several seeds.

A search ranks configurations on short, noisy runs. `run_retrain(config)` takes
the best trial (or a chosen one), trains its hyperparameters for the space's
retrain length on the same data, subset and preprocessing, scores every
`eval_every` epochs under exactly the study's protocol, and writes
`<study>/retrain/trial_<id>/`:

    retrain.json                 hyperparameters, per seed best and final scores,
                                 mean and std over seeds, the search-time score
    seed_<s>/generator.keras     the generator after the last finished epoch
    seed_<s>/generator_best.keras  the generator at its best evaluation
    seed_<s>/evaluations.json    every evaluation (the score curve's numbers)
    seed_<s>/curve.png           the score curve
    seed_<s>/samples/epoch_NNNNN.png  the sample grid at each evaluation
    seed_<s>/checkpoint.npz      everything a resume needs (weights, optimizer
                                 and noise-generator state, epochs done, history)

Seeds follow the search's own: a search with R runs per configuration used
seeds `study seed + 0..R-1`, so retraining seed k of K is `study seed + R - 1 + k`,
never one of the search's draws, and the estimate does not inherit the luck of the
runs the search selected on. A seed whose run diverges is a result: it is scored
where it stopped and counted in the mean.
Rerunning resumes each seed from its last checkpoint, and the resumed run is
the uninterrupted one, batch for batch; a finished seed is not rerun; raising
`epochs` extends finished seeds. No TensorFlow is imported until training starts.
"""


import logging
import math
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from tuner.common import files
from tuner.common.config import (
    LAB_HYPERPARAMETERS,
    TRAIN_DEFAULTS,
    DataConfig,
    RetrainConfig,
    ScoringConfig,
    TrainSettings,
)
from tuner.common.errors import UsageError
from tuner.common.interruption import stop_on_interrupt
from tuner.common.names import HYPERPARAMETERS
from tuner.common.progress import duration
from tuner.data.face_sets import load_faces
from tuner.metrics.scoring import Scorer
from tuner.results.snapshot import (
    find_study,
    latest_study,
    load_study,
    load_trials,
    objective_of,
    train_setting,
)
from tuner.study.checkpoint import CHECKPOINT_FILE, Checkpointer, read_checkpoint_state, restore_checkpoint

log = logging.getLogger(__name__)

RETRAIN_DIR = "retrain"
SUMMARY_FILE = "retrain.json"
FAILED_FILE = "failed.json"
SCORE_KEYS = ("epoch", "kid", "kid_std", "fd", "density", "coverage", "kid_train", "kid_heldout",
              "fd_heldout", "swd")
EPOCH_LINES = 50  # about this many epoch lines per seed, however long the run


@dataclass(frozen=True)
class Plan:
    """What a retrain will do, resolved from the config and the study folder (no TF)."""

    study_dir: Path
    study: dict
    trial: dict           # the trial's row from `load_trials`
    hyperparameters: dict
    train: dict           # the study's fixed settings: batch_size, eval_every, latent_dim,
                          # precision, flip, data_seed (the search's subset), objective
    epochs: int
    seeds: tuple
    out: Path

    def identity(self):
        """What a checkpoint must share with this plan to be resumed (epochs may grow)."""
        return {"protocol_key": self.study.get("protocol_key"), "trial_id": self.trial["trial_id"],
                "hyperparameters": self.hyperparameters, "train": self.train}


def run_retrain(config: RetrainConfig):
    """Retrain one trial of a study on `config.seeds` seeds; return the retrain.json contents.

    Raises:
        UsageError: no such study or trial, a bad count, data or scoring that
            changed since the search, or an output folder from another
            retrain, always before training starts.
    """
    study_dir = (find_study(config.study, config.results_dir) if config.study
                 else latest_study(config.results_dir))
    plan = make_plan(config, study_dir)
    states = {seed: _checked_state(plan, seed) for seed in plan.seeds}
    faces, scorer = rebuild_scoring(plan.study)
    progress = RetrainProgress(plan, states)
    log.info("retraining trial %s of %s (%s) for %d epochs on %d seed(s) into %s",
             plan.trial["trial_id"], plan.study_dir, describe(plan.hyperparameters),
             plan.epochs, len(plan.seeds), plan.out)
    runs = []
    for seed in plan.seeds:
        runs.append(_run_seed(plan, faces, scorer, seed, states[seed], progress))
        summary = make_summary(plan, runs, config.command)
        files.write_json(plan.out / SUMMARY_FILE, summary)
    return summary


# --------------------------------------------------------------------------
# Planning: the study, the trial, the settings (files only, no TF)


def make_plan(config, study_dir):
    """Resolve the trial, epochs, seeds and output folder; raise UsageError on bad input."""
    _check_positive("--seeds", config.seeds)
    if config.epochs is not None:
        _check_positive("--epochs", config.epochs)
    study = load_study(study_dir)
    missing = [key for key in ("config", "train", "protocol") if key not in study]
    if missing:
        raise UsageError(f"{study_dir}/study.json lacks {', '.join(missing)}: not a study of "
                         f"this version of tuner.search; search again to retrain")
    row = pick_trial(study_dir, config.trial)
    first_seed = study["config"].get("seed", 0) + (train_setting(study, "repeats") or 1) - 1
    out = Path(config.out) if config.out else study_dir / RETRAIN_DIR / f"trial_{row['trial_id']}"
    return Plan(study_dir=Path(study_dir), study=study, trial=row,
                hyperparameters=_hyperparameters(row),
                train=_fixed_settings(study),
                epochs=config.epochs or study["train"].get("retrain_epochs",
                                                           TRAIN_DEFAULTS["retrain_epochs"]),
                seeds=tuple(first_seed + k for k in range(1, config.seeds + 1)), out=out)


def _hyperparameters(row):
    """The trial's four hyperparameters; one its space left out is at the lab's value."""
    values = row["hyperparameters"]
    return {k: LAB_HYPERPARAMETERS[k] if values.get(k) is None else values[k]
            for k in HYPERPARAMETERS}


def _fixed_settings(study):
    """The study's settings that every retrain seed shares with the search."""
    fixed = study["train"]
    return {"batch_size": fixed["batch_size"], "eval_every": fixed["eval_every"],
            "latent_dim": fixed["latent_dim"], "precision": fixed["precision"],
            "flip": study["config"]["data"]["flip"],
            "data_seed": study["config"].get("seed", 0),  # the search's training subset
            "holdout": study.get("holdout", 0.0),          # and the images it never trained on
            "objective": objective_of(study)}


def _check_positive(flag, value):
    if value <= 0:
        raise UsageError(f"{flag} must be a positive integer, got {value}")


def pick_trial(study_dir, trial=None):
    """The best completed trial's row, or the completed trial `trial` (an id, "3" matches "03")."""
    completed = [row for row in load_trials(study_dir) if row["status"] == "COMPLETED"]
    if not completed:
        raise UsageError(f"{study_dir} has no completed trial yet; let the search finish one, "
                         f"then retrain")
    if trial is None:
        return completed[0]
    for row in completed:
        if row["trial_id"] == trial or (trial.isdigit() and row["trial_id"].isdigit()
                                        and int(row["trial_id"]) == int(trial)):
            return row
    raise UsageError(f"--trial {trial}: no completed trial with that id in {study_dir}; "
                     f"choose one of {', '.join(row['trial_id'] for row in completed)}")


def _checked_state(plan, seed):
    """A seed's saved state (None if it has not started), checked against the plan."""
    seed_dir = plan.out / f"seed_{seed}"
    if (seed_dir / FAILED_FILE).is_file():
        return {"failed": files.read_json(seed_dir / FAILED_FILE)}
    if not (seed_dir / CHECKPOINT_FILE).is_file():
        return None
    state = read_checkpoint_state(seed_dir / CHECKPOINT_FILE)
    if state is None:  # damaged: set aside, the seed starts afresh
        return None
    if state["identity"] != plan.identity():
        raise UsageError(f"{seed_dir} holds a retrain of another trial or with other settings; "
                         f"use another --out or delete that folder")
    if state["epochs"] > plan.epochs:
        raise UsageError(f"{seed_dir} has already trained {state['epochs']} epochs, more than "
                         f"--epochs {plan.epochs}; give --epochs {state['epochs']} or more, "
                         f"or another --out")
    return state


def rebuild_scoring(study):
    """The study's faces and a Scorer whose protocol is checked equal to the study's."""
    source = DataConfig(**study["config"]["data"])
    try:
        faces = load_faces(source.data, source.person, source.crop, url=source.data_url,
                           sha256=source.data_sha256)
    except UsageError as err:
        raise UsageError(f"{err} (the data named in study.json; run from the folder the search "
                         f"ran in)") from None
    protocol = study["protocol"]
    scorer = Scorer(faces, ScoringConfig(**study["config"]["scoring"]),
                    eval_size=protocol["eval_size"],
                    flip=protocol.get("reference_flips", study["config"]["data"]["flip"]),
                    holdout_fraction=protocol.get("holdout", 0.0),
                    holdout_seed=protocol.get("holdout_seed", 0),
                    rank_by=protocol.get("rank_by", "best"))
    missing = sorted(set(scorer.protocol.as_dict()) - set(protocol))
    if missing:
        raise UsageError(f"the study was scored by an older version of this tool (its protocol "
                         f"lacks {', '.join(missing)}), so retrained scores would not be on its "
                         f"scale; search again to retrain")
    changed = sorted(k for k, v in scorer.protocol.as_dict().items() if protocol.get(k) != v)
    if changed:
        raise UsageError(f"the scoring protocol differs from the study's in {', '.join(changed)}: "
                         f"the data or the feature network changed since the search, so "
                         f"retrained scores would not be on the search's scale; restore them, "
                         f"or search again")
    return faces, scorer


def describe(hyperparameters):
    """`learning_rate=0.0002, beta_1=0.5, ...` for logs and summaries."""
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                     for k, v in hyperparameters.items())


# --------------------------------------------------------------------------
# Training one seed


def _run_seed(plan, faces, scorer, seed, state, progress):
    """Train (or resume, or just report) one seed; return its record for retrain.json."""
    seed_dir = plan.out / f"seed_{seed}"
    if state and "failed" in state:
        status = state["failed"].get("status", "FAILED")
        log.warning("seed %d %s earlier (%s); delete %s to try it again",
                    seed, status.lower(), state["failed"]["message"], seed_dir)
        return _seed_record(plan, seed, status, state["failed"].get("history", []),
                            state["failed"]["message"])
    done = state["epochs"] if state else 0
    if done == plan.epochs:
        log.info("seed %d: finished (%d epochs), not rerun", seed, done)
        return _seed_record(plan, seed, "COMPLETED", state["history"])
    return _train_seed(plan, faces, scorer, seed, state, progress)


def _train_seed(plan, faces, scorer, seed, state, progress):
    import keras  # keras-tuner and TF: only once training starts
    import keras_tuner as kt

    seed_dir = plan.out / f"seed_{seed}"
    model = _build(plan, seed)
    done = restore_checkpoint(seed_dir / CHECKPOINT_FILE, model) if state else 0
    progress.seed_begin(seed, done)
    evaluation = _evaluation(plan, faces, scorer, seed, state, progress)
    checkpointer = Checkpointer(model, evaluation, seed_dir, plan.identity(),
                                plan.train["objective"])
    dataset, steps = training_dataset(_training_images(plan, faces), plan.train["batch_size"],
                                      seed, skip_epochs=done)
    callbacks = [evaluation, keras.callbacks.LambdaCallback(on_epoch_end=checkpointer.epoch_end),
                 stop_on_interrupt()]
    try:
        model.fit(dataset, steps_per_epoch=steps, epochs=plan.epochs, initial_epoch=done,
                  callbacks=callbacks, verbose=0, shuffle=False)
    except kt.errors.FailedTrialError as err:
        return _seed_failed(plan, seed, seed_dir, evaluation.history, str(err))
    if evaluation.diverged:
        return _seed_failed(plan, seed, seed_dir, evaluation.history,
                            evaluation.diverged["reason"], status="DIVERGED")
    return _seed_record(plan, seed, "COMPLETED", evaluation.history)


def _evaluation(plan, faces, scorer, seed, state, progress):
    """The search's Evaluation callback, carrying on the history of a resumed seed."""
    from tuner.study.evaluation import Evaluation  # TF: only once training starts

    settings = TrainSettings.from_dict({**plan.train, "epochs": plan.epochs, "seed": seed})
    evaluation = Evaluation(scorer, settings, plan.out / f"seed_{seed}" / "samples", plan.epochs,
                            _train_indices(plan, faces), progress)
    evaluation.history = list(state["history"]) if state else []
    evaluation.epoch_seconds = list(state["epoch_seconds"]) if state else []
    return evaluation


def _build(plan, seed):
    import keras  # TF: only once training starts

    from tuner.gan.dcgan import build_dcgan

    keras.utils.set_random_seed(seed)  # initial weights and dropout noise: this seed's draw
    return build_dcgan(plan.hyperparameters["image_size"],
                       learning_rate=plan.hyperparameters["learning_rate"],
                       beta_1=plan.hyperparameters["beta_1"],
                       latent_dim=plan.train["latent_dim"], precision=plan.train["precision"],
                       seed=seed)


def _train_indices(plan, faces):
    """The search's subset (the study's seed), so held-out KID means what it meant there."""
    fraction = plan.hyperparameters["subset_fraction"]
    return (faces.subset_indices(fraction, plan.train["data_seed"], pool=_pool(plan, faces))
            if fraction < 1 else None)


def _pool(plan, faces):
    """The images the search's trials could train on: all but the study's held-out split."""
    return faces.split(plan.train["holdout"], plan.train["data_seed"])[0]


def _training_images(plan, faces):
    return faces.training_images(plan.hyperparameters["image_size"],
                                 plan.hyperparameters["subset_fraction"],
                                 plan.train["data_seed"], plan.train["flip"],
                                 pool=_pool(plan, faces))


def training_dataset(images, batch_size, seed, skip_epochs=0):
    """An endless stream of shuffled batches, and the steps that make one epoch.

    The search's pipeline (DCGANHyperModel._dataset) restarts its shuffle order
    with each `fit`, so a resumed run would replay epoch 1's order. Here the
    indices are shuffled (reshuffled every epoch, seeded) and `skip_epochs`
    epochs of them are skipped, which is cheap because only integers are
    skipped: a resumed run sees exactly the batches an uninterrupted one would.
    """
    import tensorflow as tf  # TF: only once training starts

    steps = math.ceil(len(images) / batch_size)
    pixels = tf.constant(images)
    order = (tf.data.Dataset.range(len(images))
             .shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
             .batch(batch_size).repeat().skip(skip_epochs * steps))
    return order.map(lambda index: tf.gather(pixels, index)).prefetch(tf.data.AUTOTUNE), steps


def _seed_failed(plan, seed, seed_dir, history, message, status="FAILED"):
    """A seed that ended early: FAILED (an error) or DIVERGED (a result, scored); not rerun."""
    log.warning("seed %d %s: %s", seed, status.lower(), message)
    files.write_json(seed_dir / FAILED_FILE, {"seed": seed, "message": message,
                                              "history": history, "status": status})
    return _seed_record(plan, seed, status, history, message)


# --------------------------------------------------------------------------
# Progress and the summary


class RetrainProgress:
    """Epochs, the latest score and an ETA over every seed still to train, via logging."""

    def __init__(self, plan, states):
        self.epochs = plan.epochs
        self.seeds = plan.seeds
        self.left = sum(plan.epochs - state["epochs"] if state else plan.epochs
                        for state in states.values() if not (state and "failed" in state))
        self.log_every = max(1, plan.epochs // EPOCH_LINES)
        self.trained = 0
        self.started = time.perf_counter()
        self.seed, self.latest = None, ""

    def seed_begin(self, seed, done):
        self.seed = seed
        self.latest = ""
        where = f"resuming from the checkpoint at epoch {done}" if done else "from scratch"
        log.info("seed %d (%d of %d): %s, %d epochs to go", seed, self.seeds.index(seed) + 1,
                 len(self.seeds), where, self.epochs - done)

    def epoch(self, epoch, epochs, logs, seconds):
        self.trained += 1
        if epoch % self.log_every and epoch != epochs:
            return
        eta = (time.perf_counter() - self.started) / self.trained * (self.left - self.trained)
        log.info("  seed %d epoch %d/%d  g_loss %.3f  d_loss %.3f  %s %.2fs/epoch  ETA %s",
                 self.seed, epoch, epochs, logs.get("g_loss", math.nan),
                 logs.get("d_loss", math.nan), self.latest, seconds, duration(eta))

    def evaluation(self, row):
        self.latest = f"KID {row['kid']:.4f} (epoch {row['epoch']}) "
        log.info("  seed %d epoch %d: KID %.4f +- %.4f  FD %.2f  (scored in %.2fs)",
                 self.seed, row["epoch"], row["kid"], row["kid_std"], row["fd"], row["seconds"])


def _seed_record(plan, seed, status, history, message=""):
    objective = plan.train["objective"]
    record = {"seed": seed, "status": status, "folder": f"seed_{seed}",
              "epochs": history[-1]["epoch"] if history else 0,
              "best": None, "final": None, "message": message}
    if history:
        record["best"] = _scores(min(history, key=lambda row: row[objective]))
        record["final"] = _scores(history[-1])
    return record


def _scores(row):
    return {k: row[k] for k in SCORE_KEYS if k in row}


def make_summary(plan, runs, command=""):
    """The contents of retrain.json: settings, every seed, mean and std, the search's score."""
    completed = [run for run in runs if run["status"] in ("COMPLETED", "DIVERGED")]
    return {
        "study": plan.study_dir.name, "trial_id": plan.trial["trial_id"], "folder": str(plan.out),
        "hyperparameters": plan.hyperparameters, "epochs": plan.epochs, "train": plan.train,
        "objective": plan.train["objective"], "command": command,
        "protocol": plan.study["protocol"], "protocol_key": plan.study.get("protocol_key"),
        "search": {k: plan.trial.get(k) for k in ("kid", "kid_std", "fd", plan.train["objective"],
                                                   "score_se", "repeats", "rank_by", "best",
                                                   "best_epoch", "epochs")},
        "seeds": runs,
        "complete": len(completed) == len(plan.seeds),
        "n_completed": len(completed),
        "final": _spread(completed, "final", plan.train["objective"]),
        "best": _spread(completed, "best", plan.train["objective"]),
    }


def _spread(runs, which, objective):
    """Mean and sample std over seeds of the `which` ("final"/"best") KID, FD and the
    study's objective (SWD, say, for a study ranked by it)."""
    spread = {}
    for key in dict.fromkeys(("kid", "fd", objective)):
        values = [run[which][key] for run in runs if run[which].get(key) is not None]
        spread[key] = {"mean": statistics.mean(values) if values else None,
                       "std": statistics.stdev(values) if len(values) > 1 else None}
    return spread
