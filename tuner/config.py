"""Every default of the tool, in frozen dataclasses: flags -> these -> explicit arguments.

Field names equal flag names (`--image-size` <-> `image_size`). Settings a space
file may fix (epochs, batch size, ...) are `None` here, meaning "take the space
file's value"; a flag given by the user overrides the file.
"""

from dataclasses import dataclass

from tuner.errors import UsageError

DEFAULT_SPACE = "quick"
DEFAULT_RESULTS_DIR = "results"
OBJECTIVES = ("kid", "fd")
# "mixed" picks mixed_bfloat16 on CPU and mixed_float16 on a GPU; the explicit names force one.
PRECISIONS = ("float32", "mixed", "mixed_bfloat16", "mixed_float16")
TUNERS = ("grid", "random", "bayesian", "hyperband")
MIN_IMAGE_SIZE = 16
MAX_IMAGE_SIZE = 256


def check_image_size(size):
    """Return `size` if it is a power of two in [16, 256]; raise UsageError otherwise."""
    if isinstance(size, bool) or not isinstance(size, int) or size < MIN_IMAGE_SIZE \
            or size > MAX_IMAGE_SIZE or size & (size - 1):
        raise UsageError(
            f"image_size must be a power of two from {MIN_IMAGE_SIZE} to {MAX_IMAGE_SIZE} "
            f"(16, 32, 64, 128, 256); got {size!r}")
    return size


@dataclass(frozen=True)
class DataConfig:
    """Where the real faces come from and how they are prepared (the lab's preprocessing)."""

    data: str = "lfw-subset"    # "lfw-subset", an LFW-style folder, a flat folder or the LFW .tgz
    person: str | None = None   # the LFW person folder to train on
    crop: float = 1.0           # centre crop, fraction of the side kept (1.0: whole image, as the lab)
    flip: bool = True           # add horizontally flipped copies to the training set


@dataclass(frozen=True)
class ScoringConfig:
    """How a generator is scored; a study fixes it once so every trial is comparable."""

    features: str = "onet"              # frozen network: "onet" (offline) or "inception"
    features_weights: str | None = None  # local weights file for "inception"
    samples: int = 2000                 # generated images per evaluation
    eval_size: int | None = None        # evaluation resolution; None: largest image_size in the space
    latent_seed: int = 1234             # the one latent batch every trial is judged on
    kid_subsets: int = 100
    kid_subset_size: int = 1000
    cache_dir: str | None = None        # reference-feature cache; None: <results_dir>/.cache


@dataclass(frozen=True)
class TrainOverrides:
    """Fixed training settings given as flags; None keeps the space file's value."""

    epochs: int | None = None
    batch_size: int | None = None
    eval_every: int | None = None
    latent_dim: int | None = None
    precision: str | None = None


@dataclass(frozen=True)
class SearchConfig:
    """One `python -m tuner.search` run."""

    data: DataConfig = DataConfig()
    scoring: ScoringConfig = ScoringConfig()
    train: TrainOverrides = TrainOverrides()
    space: str = DEFAULT_SPACE          # a name in search_spaces/ or a path to a .toml file
    tuner: str | None = None            # None: the space file's default tuner
    max_trials: int | None = None       # None: the space file's value
    objective: str = "kid"
    results_dir: str = DEFAULT_RESULTS_DIR
    study: str | None = None            # None: the space's name
    seed: int = 0
    overwrite: bool = False
    max_consecutive_failures: int = 3
    command: str = ""                   # the command line, recorded in study.json
