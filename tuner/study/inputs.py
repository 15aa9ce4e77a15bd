"""A study's inputs: the space, flags and face set of a search, checked before any training.
"""


import logging
from dataclasses import asdict, dataclass

from tuner.common.config import (
    DEFAULT_MARGIN,
    MAX_REPEATS,
    PRECISIONS,
    TrainSettings,
    check_holdout,
    check_image_size,
    check_margin,
    check_rank_by,
    check_study_name,
    parse_duration,
)
from tuner.common.errors import UsageError
from tuner.common.names import OBJECTIVES, objective_metric
from tuner.data.face_sets import load_faces
from tuner.spaces.space import load_space

log = logging.getLogger(__name__)
MAX_SEED = 2**31 - 1  # numpy takes seeds below 2**32; run k of a configuration uses seed + k


@dataclass(frozen=True)
class Inputs:
    """A study's validated inputs: what `validate` makes of a SearchConfig, before any training."""

    space: object       # spaces.Space
    settings: TrainSettings
    tuner_name: str
    max_trials: int
    holdout: float      # the share of the images held out from training
    eval_size: int
    faces: object       # data.FaceSet
    pool: object        # indices trials may train on
    heldout: object     # indices no trial trains on


def validate(config, space=None):
    """Check every input of `config` and load its faces; UsageError on the first bad one.

    `space` is the loaded `spaces.space.Space` when the caller has one (the Python API);
    otherwise `config.space` is read.
    """
    space, settings, tuner_name, max_trials = resolve(config, space)
    holdout = _holdout(config, space)
    eval_size = _eval_size(config, space)
    faces = load_faces(config.data.data, config.data.person, config.data.crop,
                       url=config.data.data_url, sha256=config.data.data_sha256)
    pool, heldout = faces.split(holdout, config.seed)
    _check_objective(settings, heldout)
    return Inputs(space, settings, tuner_name, max_trials, holdout, eval_size, faces, pool,
                  heldout)


def describe_data(inputs):
    faces, heldout = inputs.faces, inputs.heldout
    log.info("data: %s, %d images (fingerprint %s)%s", faces.name, len(faces),
             faces.fingerprint, f"; {len(heldout)} held out from training" if len(heldout)
             else "")
    _warn_resolution(faces, inputs.space)


def resolve(config, space=None):
    """The space, the study's `TrainSettings` after flags, the tuner and the trial count."""
    if config.study is not None:
        check_study_name(config.study)
    space = space or load_space(config.space)
    settings = train_settings(space, config)
    tuner_name = config.tuner or space.tuner
    space.check_tuner(tuner_name)
    if settings.settle and tuner_name == "hyperband":
        raise UsageError("--settle races seeds of finished configurations; Hyperband's "
                         "configurations continue each other's training and cannot take new "
                         "seeds: use --tuner grid, random, bayesian or one-at-a-time")
    max_trials = config.max_trials if config.max_trials is not None else space.max_trials
    _check_positive("--max-trials", max_trials)
    if tuner_name == "one-at-a-time":  # the design is finite: never promise more trials than it has
        max_trials = min(max_trials, len(space.configurations()))
    _check_seed(config.seed)
    _check_positive("--samples", config.scoring.samples)
    _check_positive("--max-consecutive-failures", config.max_consecutive_failures)
    if config.time_budget is not None:
        parse_duration(config.time_budget)
    if config.max_epochs_total is not None:
        _check_positive("--max-epochs-total", config.max_epochs_total)
    return space, settings, tuner_name, max_trials


def train_settings(space, config):
    """The one place a study's fixed settings are made: the space file's, then the flags'."""
    overrides = {k: v for k, v in asdict(config.train).items() if v is not None}
    for key, value in overrides.items():
        if key == "precision":
            if value not in PRECISIONS:
                raise UsageError(f"--precision must be one of {', '.join(PRECISIONS)}, got {value!r}")
        elif key == "rank_by":
            check_rank_by(value)
        else:
            _check_positive(f"--{key.replace('_', '-')}", value)
    if config.objective not in OBJECTIVES:
        raise UsageError(f"--objective must be one of {', '.join(OBJECTIVES)}, got {config.objective!r}")
    chosen = {"repeats": space.repeats, "rank_by": space.rank_by, **space.train, **overrides,
              **_race(space, config, overrides.get("repeats", space.repeats))}
    return TrainSettings.from_dict({**chosen, "flip": config.data.flip, "seed": config.seed,
                                    "objective": objective_metric(config.objective)})


def _race(space, config, repeats):
    """--settle and its cap (flags over the space file's); a race starts from 2 runs at least."""
    settle = space.settle if config.settle is None else bool(config.settle)
    cap = next((v for v in (config.max_repeats, space.max_repeats) if v is not None), MAX_REPEATS)
    if config.max_repeats is not None:
        _check_positive("--max-repeats", config.max_repeats)
    if settle and cap < max(2, repeats):
        raise UsageError(f"--max-repeats {cap} is below the {max(2, repeats)} runs per "
                         f"configuration a race starts from (--repeats {repeats}, and at least 2); "
                         f"raise --max-repeats")
    margin = next((v for v in (config.margin, space.margin) if v is not None), DEFAULT_MARGIN)
    check_margin(margin, "--margin" if config.margin is not None else
                 f"{space.path}: [search] margin")
    return {"settle": settle, "max_repeats": cap, "margin": float(margin),
            **({"repeats": max(2, repeats)} if settle else {})}


def _holdout(config, space):
    if config.data.holdout is None:
        return space.holdout
    return check_holdout(config.data.holdout)


def _check_objective(settings, heldout):
    if settings.objective == "kid_heldout" and not len(heldout):
        raise UsageError("--objective kid-heldout needs a held-out split: give --holdout "
                         "(e.g. --holdout 0.2) or set holdout in the space file's [search]")


def _warn_resolution(faces, space):
    """Say once which trained sizes exceed the source images: they learn from upsampled blur."""
    sides = sorted(min(image.shape[:2]) for image in faces.images)
    source, typical = sides[0], sides[(len(sides) - 1) // 2]  # the median would hide a few
    upsampled = [size for size in space.image_sizes() if size > source]
    if not upsampled:
        return
    if source == typical:
        log.warning("the source images are %dx%d: trials at %s train on upsampled images, so "
                    "they cannot learn finer detail than %d px", source, source,
                    "/".join(map(str, upsampled)), source)
        return
    height, width = next(image.shape[:2] for image in faces.images
                         if min(image.shape[:2]) == source)
    log.warning("%d of the %d source images are smaller than most (%d px), the smallest %dx%d: "
                "trials at %s train on them upsampled; leave images that are not faces out of "
                "the data", sum(side < typical for side in sides), len(sides), typical, width,
                height, "/".join(map(str, upsampled)))


def _eval_size(config, space):
    """The study's one evaluation resolution: --eval-size, else the largest trained size."""
    try:
        return check_image_size(config.scoring.eval_size or max(space.image_sizes()))
    except UsageError as err:
        raise UsageError(f"--eval-size: {err}") from None


def _check_seed(seed):
    """A seed numpy, TensorFlow and keras-tuner all take, with room for a run per repeat."""
    if not 0 <= seed <= MAX_SEED:
        raise UsageError(f"--seed must be a whole number from 0 to {MAX_SEED}, got {seed}")


def _check_positive(flag, value):
    if value <= 0:
        raise UsageError(f"{flag} must be a positive integer, got {value}")
