"""Trials: seconds to score one, the share of a quick-space trial that scoring takes,
memory over a sequence of trials, and the score quality of each precision.

Trials run as keras-tuner runs them: clear the session, `build`, `fit` (which
scores), through the tool's public `DCGANHyperModel`.
"""

import gc
import logging
import math
import os
import statistics
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from tuner.bench.epochs import epoch_clock_class
from tuner.bench.machine import median_call, peak_rss_mb, rss_mb
from tuner.common import files
from tuner.common.config import ScoringConfig, SearchConfig
from tuner.data.face_sets import load_faces
from tuner.metrics.features import INCEPTION_WEIGHTS_FILE, get_extractor
from tuner.metrics.scoring import Scorer, reference_features
from tuner.spaces.space import load_space
from tuner.study.inputs import train_settings

log = logging.getLogger(__name__)

# The quick space's best trial in the search this benchmark supports.
QUICK_BEST = {"learning_rate": 5e-4, "image_size": 32}


@dataclass
class ScoringTiming:
    features: str
    samples: int = 0
    eval_size: int = 0
    seconds: float = 0.0          # one warm scoring, median
    cold_seconds: float = 0.0     # the first scoring of a generator (traces its predict function)
    generation: float = 0.0
    feature_seconds: float = 0.0
    metrics: float = 0.0
    reference_seconds: float = 0.0
    reference_cached_seconds: float = 0.0
    skipped: str = ""


@dataclass
class TrialShare:
    """A quick-space trial's time, from a shortened real trial scaled to the space's epochs."""

    epochs: int
    eval_every: int
    evaluations: int
    batch_size: int
    precision: str
    images: int
    seconds_per_epoch: float
    eval_cold: float
    eval_warm: float
    measured_epochs: int

    @property
    def scoring_seconds(self):
        return self.eval_cold + (self.evaluations - 1) * self.eval_warm

    @property
    def trial_seconds(self):
        return self.epochs * self.seconds_per_epoch + self.scoring_seconds

    @property
    def share(self):
        return self.scoring_seconds / self.trial_seconds


@dataclass
class MemoryTrace:
    """Memory after each trial of a sequence, MB; None where the platform cannot tell."""

    rss_mb: list = field(default_factory=list)        # resident memory after each trial
    peak_mb: list = field(default_factory=list)       # the process's peak so far
    reference_computations: int = 0

    @property
    def growth_mb(self):
        """RSS growth from the second trial to the last (the first pays one-time costs)."""
        if len(self.rss_mb) < 3 or None in self.rss_mb:
            return None
        return self.rss_mb[-1] - self.rss_mb[1]


@dataclass
class QualityRun:
    precision: str
    seed: int
    kid: float
    kid_std: float
    best_epoch: int
    final_kid: float
    seconds_per_epoch: float


def embedded_faces():
    return load_faces("lfw-subset")


# ---------------------------------------------------------------------------
# Scoring


def time_scoring(config, faces, scratch):
    """Seconds to score one generator with `onet` and, if its weights are here, `inception`."""
    timings = [_time_scorer(config, faces, "onet", None, scratch)]
    weights = inception_weights()
    if not config.inception:
        timings.append(ScoringTiming("inception", skipped="skipped: not in --quick"))
    elif weights is None:
        timings.append(ScoringTiming("inception", skipped="skipped: weights not present"))
    else:
        timings.append(_time_scorer(config, faces, "inception", str(weights), scratch))
    return timings


def inception_weights():
    """InceptionV3's no-top ImageNet weights in Keras' cache, or None (never downloaded here)."""
    home = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras")
    path = home / "models" / INCEPTION_WEIGHTS_FILE
    return path if path.is_file() else None


def _time_scorer(config, faces, features, weights, scratch):
    import keras  # TF: only once a measurement starts

    from tuner.gan.dcgan import build_generator  # TF: only once a measurement starts

    size = QUICK_BEST["image_size"]
    extractor = get_extractor(features, weights)
    cache = scratch / f"cache-{features}"
    reference = _timed(lambda: reference_features(faces, size, extractor, cache))
    cached = _timed(lambda: reference_features(faces, size, extractor, cache))
    scorer = Scorer(faces, ScoringConfig(features=features, features_weights=weights,
                                         samples=config.samples, cache_dir=str(cache)), size,
                    extractor=extractor)
    keras.utils.set_random_seed(config.seed)
    generator = build_generator(size)
    cold = _timed(lambda: scorer.score_generator(generator))
    latent = scorer.latents(generator.input_shape[-1])
    images = generator.predict(latent, batch_size=500, verbose=0)
    repeats = config.score_repeats
    features_only = median_call(lambda: scorer.features(images), repeats)
    timing = ScoringTiming(
        features=extractor.name, samples=config.samples, eval_size=size,
        seconds=median_call(lambda: scorer.score_generator(generator), repeats),
        cold_seconds=cold,
        generation=median_call(lambda: generator.predict(latent, batch_size=500, verbose=0),
                               repeats),
        feature_seconds=features_only,
        metrics=median_call(lambda: scorer.score_images(images), repeats) - features_only,
        reference_seconds=reference, reference_cached_seconds=cached)
    log.info("scoring with %s: %.2f s (cold %.2f s)", timing.features, timing.seconds, cold)
    return timing


def _timed(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


# ---------------------------------------------------------------------------
# Trials as keras-tuner runs them


def quick_settings(**overrides):
    """The quick space's fixed training settings (epochs, batch size, precision...), overridden."""
    return replace(train_settings(load_space("quick"), SearchConfig()), **overrides)


def quick_hypermodel(faces, scorer, settings):
    from tuner.study.hypermodel import DCGANHyperModel  # TF: only once a measurement starts

    return DCGANHyperModel(load_space("quick"), faces, scorer, settings)


def best_hyperparameters(hypermodel):
    """The hypermodel's hyperparameters at the quick space's best values."""
    import keras_tuner as kt  # TF: only once a measurement starts

    hp = kt.HyperParameters()
    hypermodel.declare_hyperparameters(hp)
    hp.values.update(QUICK_BEST)
    return hp


def quick_scorer(config, faces, scratch, extractor=None):
    return Scorer(faces, ScoringConfig(samples=config.samples, cache_dir=str(scratch / "cache")),
                  QUICK_BEST["image_size"], extractor=extractor)


def run_trial(hypermodel, hp, trial_dir, callbacks=()):
    """One trial as keras-tuner runs it: clear the session, build, fit (which scores).

    Returns:
        (result, evaluations): `fit`'s result dict and the rows of the trial's
        evaluations.json.
    """
    import keras  # TF: only once a measurement starts

    keras.backend.clear_session()
    gc.collect()
    model = hypermodel.build(hp)
    result = hypermodel.fit(hp, model, callbacks=list(callbacks), trial_dir=str(trial_dir))
    evaluations = files.read_json(Path(trial_dir) / "evaluations.json")["evaluations"]
    return result, evaluations


def time_quick_trial(config, faces, scratch):
    """A shortened quick-space trial (two evaluations), scaled to the space's epochs."""
    full = quick_settings()
    short = replace(full, epochs=config.trial_epochs, eval_every=max(1, config.trial_epochs // 2))
    hypermodel = quick_hypermodel(faces, quick_scorer(config, faces, scratch), short)
    clock = epoch_clock_class()()
    _, evaluations = run_trial(hypermodel, best_hyperparameters(hypermodel),
                               scratch / "trial_share", callbacks=[clock])
    seconds = [row["seconds"] for row in evaluations]
    share = TrialShare(
        epochs=full.epochs, eval_every=full.eval_every,
        evaluations=math.ceil(full.epochs / full.eval_every), batch_size=full.batch_size,
        precision=full.precision, images=2 * len(faces),
        seconds_per_epoch=training_seconds(clock.seconds, evaluations),
        eval_cold=seconds[0], eval_warm=statistics.median(seconds[1:] or seconds),
        measured_epochs=config.trial_epochs)
    log.info("quick-space trial: %.3f s/epoch, scoring %.1f%% of %.0f s", share.seconds_per_epoch,
             100 * share.share, share.trial_seconds)
    return share


def training_seconds(epoch_seconds, evaluations):
    """Median seconds per epoch of training alone, the first (tracing) epoch left out.

    The clock's epochs include the evaluation that ran at their end (the
    trial's own callback runs first), so each evaluation's seconds come off.
    """
    scoring = {row["epoch"]: row["seconds"] for row in evaluations}
    training = [seconds - scoring.get(epoch, 0.0)
                for epoch, seconds in enumerate(epoch_seconds, start=1)]
    return statistics.median(training[1:] or training)


class CountingExtractor:
    """Wraps a feature extractor and counts how often the real faces go through it."""

    def __init__(self, extractor, reference):
        self._extractor, self._reference = extractor, reference
        self.reference_calls = 0

    def __getattr__(self, name):
        return getattr(self._extractor, name)

    def __call__(self, images):
        if images is self._reference:
            self.reference_calls += 1
        return self._extractor(images)


def trace_memory(config, faces, scratch):
    """Resident memory after each of a sequence of short trials in this process."""
    extractor = CountingExtractor(get_extractor("onet"), faces.at_size(QUICK_BEST["image_size"]))
    # An empty cache of its own: the one reference computation of the study is counted.
    settings = quick_settings(epochs=config.memory_epochs, eval_every=config.memory_epochs)
    hypermodel = quick_hypermodel(faces, quick_scorer(config, faces, scratch / "memory",
                                                      extractor), settings)
    hp = best_hyperparameters(hypermodel)
    trace = MemoryTrace()
    for number in range(config.memory_trials):
        run_trial(hypermodel, hp, scratch / "memory" / f"trial_{number:02d}")
        trace.rss_mb.append(rss_mb())
        trace.peak_mb.append(peak_rss_mb())
        log.info("trial %d: RSS %s MB, peak %s MB", number + 1, trace.rss_mb[-1],
                 trace.peak_mb[-1])
    trace.reference_computations = extractor.reference_calls
    return trace


# ---------------------------------------------------------------------------
# Score quality: mixed against float32


def compare_precisions(config, faces, scratch):
    """The quick space's best setting, full length, in each precision and seed."""
    scorer = quick_scorer(config, faces, scratch)
    runs = []
    for precision in config.precisions:
        for seed in range(config.quality_seeds):
            runs.append(_quality_run(faces, scorer, precision, seed, scratch))
    return runs


def _quality_run(faces, scorer, precision, seed, scratch):
    hypermodel = quick_hypermodel(faces, scorer, quick_settings(precision=precision, seed=seed))
    result, _ = run_trial(hypermodel, best_hyperparameters(hypermodel),
                          scratch / f"quality_{precision}_{seed}")
    run = QualityRun(precision, seed, result["kid"], result["kid_std"], int(result["best_epoch"]),
                     result["final_kid"], result["seconds_per_epoch"])
    log.info("quality %s seed %d: KID %.4f (best, epoch %d), final %.4f", precision, seed,
             run.kid, run.best_epoch, run.final_kid)
    return run
