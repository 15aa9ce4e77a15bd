"""The tool's defaults and settings, in frozen dataclasses: flags -> these -> explicit arguments.

Field names equal flag names (`--image-size` <-> `image_size`). Settings a space
file may fix (epochs, batch size, repeats, ...) are `None` in the flag
dataclasses, meaning "take the space file's value"; a flag given by the user
overrides the file. The lab's own values (its network, optimiser and data) are
here too, so every module takes them from one place, and so is each CLI's run: one frozen
dataclass beside the defaults it draws on.
"""

import difflib
import numbers
import os
import re
import types
from dataclasses import dataclass, fields
from pathlib import Path

from tuner.common.errors import UsageError

DEFAULT_SPACE = "quick"
DEFAULT_RESULTS_DIR = "results"
# A run's score: its final evaluation, its best, or the mean of its last N (N >= 1).
RANK_BY = re.compile(r"^(final|best|last-([1-9]\d*))$")
DEFAULT_RANK_BY = "final"
# The lab's setting: what a hyperparameter a space leaves out is fixed at.
LAB_HYPERPARAMETERS = {"learning_rate": 2e-4, "beta_1": 0.5, "image_size": 64,
                       "subset_fraction": 1.0}
LATENT_DIM = 100
# The lab's training set (before flips) and batch size (the TF DCGAN tutorial's, which it follows).
LAB_IMAGES, LAB_BATCH_SIZE = 530, 256
# A space file's [train] and [search] settings when it leaves them out.
TRAIN_DEFAULTS = {"epochs": 100, "batch_size": 16, "eval_every": 25, "latent_dim": LATENT_DIM,
                  "precision": "float32", "retrain_epochs": 1000}
SEARCH_DEFAULTS = {"tuner": "random", "max_trials": 10, "hyperband_factor": 3, "repeats": 1,
                   "holdout": 0.0, "rank_by": DEFAULT_RANK_BY, "settle": False,
                   "max_repeats": None, "margin": None}
# The cap of --settle's racing when neither flag nor space file sets one. Racing to ten seeds
# decides a comparison of two configurations whose lead is two between-seed sds 84% of the time
# (benchmarks/calibration.py): the leads the lab's questions turn on. A smaller lead needs tens
# of seeds, which is a finding ("hardly by repeats" in the advice), not a budget to spend on a
# laptop. At lab-mini's speed ten seeds of seven configurations are about an hour.
MAX_REPEATS = 10
# The smallest difference in the objective that matters, as a share of #1's score: a row
# within it of the best is a tie, not a loss. One between-seed sd of a single run: lab-mini's
# KID varies by about 15% of its mean from one seed to the next, so a smaller difference is
# less than what training the same configuration again changes. It is also about the least a
# race to MAX_REPEATS seeds can show: two equal configurations at a between-seed sd of 15% are
# settled as a tie by 10 seeds in 21% of simulated races (independent seeds) or 57% (half the
# variance a shared seed effect), against 7% / 16% at a margin of 0.10 and 46% / 90% at 0.20.
DEFAULT_MARGIN = 0.15
# "mixed" picks the fastest mixed policy of this machine; the explicit names force one.
PRECISIONS = ("float32", "mixed", "mixed_bfloat16", "mixed_float16")
# "one-at-a-time": the baseline, then each hyperparameter's other values alone (the lab's design).
TUNERS = ("grid", "one-at-a-time", "random", "bayesian", "hyperband")
# A claim that values "do not differ much" allows differences under this share of their mean score.
CLAIM_MARGIN = 0.2
MIN_IMAGE_SIZE = 16
MAX_IMAGE_SIZE = 256
CACHE_NAME = "dcgan-tuner"
# The frozen networks scores are computed on (--features), and the one a new study uses when
# --features is not given. A resumed study keeps the network its study.json records, so
# changing the default never makes an old study unresumable.
FEATURE_NETWORKS = ("onet", "fer", "inception")
DEFAULT_FEATURES = "onet"


def default_cache_dir():
    """The user's cache, shared by every study: $XDG_CACHE_HOME/dcgan-tuner, else ~/.cache/dcgan-tuner.

    Reference features and downloaded data live there; the environment is read at each call.
    """
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / CACHE_NAME


@dataclass(frozen=True)
class RemoteArchive:
    """An LFW archive `--data NAME` downloads on request (see tuner.data.download)."""

    file: str       # its name in the cache
    url: str        # where it is downloaded from (DCGAN_TUNER_<NAME>_URL or --data-url override it)
    checksum: str   # "algorithm:hex" of the whole file, as published by the source cited beside it


# What `--data lfw`, `lfw-funneled` and `lfw-deepfunneled` download. The UMass site
# (http://vis-www.cs.umass.edu/lfw/) is often down, so scikit-learn's figshare mirrors are used
# where one exists; their SHA-256s are scikit-learn's (sklearn/datasets/_lfw.py, ARCHIVE and
# FUNNELED_ARCHIVE), and tensorflow-datasets records the same SHA-256 and size (180566744) for
# UMass' own lfw.tgz (tensorflow_datasets/datasets/lfw/checksums.tsv), so the two are one file.
# The deep-funneled archive has no known mirror and no published SHA-256: its checksum is the MD5
# the LFW site publishes for it, which torchvision also checks (torchvision/datasets/lfw.py).
LFW_ARCHIVES = {
    "lfw": RemoteArchive(
        "lfw.tgz", "https://ndownloader.figshare.com/files/5976018",
        "sha256:055f7d9c632d7370e6fb4afc7468d40f970c34a80d4c6f50ffec63f5a8d536c0"),
    "lfw-funneled": RemoteArchive(
        "lfw-funneled.tgz", "https://ndownloader.figshare.com/files/5976015",
        "sha256:b47c8422c8cded889dc5a13418c4bc2abbda121092b3533a83306f90d900100a"),
    "lfw-deepfunneled": RemoteArchive(
        "lfw-deepfunneled.tgz", "http://vis-www.cs.umass.edu/lfw/lfw-deepfunneled.tgz",
        "md5:68331da3eb755a505a502b5aacb3c201"),
}
# Environment variables overriding an archive's URL and checksum: DCGAN_TUNER_LFW_DEEPFUNNELED_URL,
# DCGAN_TUNER_LFW_DEEPFUNNELED_SHA256 (the name in capitals, "-" as "_").
ENV_PREFIX = "DCGAN_TUNER_"
# Seconds a download waits for the server (to connect, and for each read): offline fails fast.
DOWNLOAD_TIMEOUT = 15.0
# Seconds between two progress lines of a download (the first and last are always reported).
DOWNLOAD_PROGRESS_EVERY = 5.0
# Times a download that breaks off after making progress is resumed before giving up.
DOWNLOAD_RESUMES = 5


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

    data: str = "lfw-subset"    # "lfw-subset", an LFW name to download (LFW_ARCHIVES), an LFW-style
                                # folder, a flat folder or the LFW .tgz
    person: str | None = None   # the LFW person folder to train on
    crop: float = 1.0           # centre crop, fraction of the side kept (1.0: whole image, as the lab)
    flip: bool = True           # add horizontally flipped copies to the training set (and reference)
    holdout: float | None = None  # share of the images no trial trains on; None: the space's (0)
    data_url: str | None = None     # a mirror of the downloaded archive; None: the env's, else built-in
    data_sha256: str | None = None  # the mirror's SHA-256; None: the env's, else the built-in checksum


@dataclass(frozen=True)
class ScoringConfig:
    """How a generator is scored; a study fixes it once so every trial is comparable."""

    # frozen network, one of FEATURE_NETWORKS; None: a resumed study's recorded network,
    # else DEFAULT_FEATURES
    features: str | None = None
    features_weights: str | None = None  # local weights file for "inception"
    # generated images per evaluation: measured on lab-mini's baseline (5 seeds), the scores'
    # own noise at 1000 is under a sixth of the seed-to-seed spread, which it leaves unchanged
    samples: int = 1000
    eval_size: int | None = None        # evaluation resolution; None: largest image_size in the space
    latent_seed: int = 1234             # the one latent batch every trial is judged on
    # KID: None, None is the unbiased MMD^2 over all samples at once (cheapest, least noisy);
    # N, M the reference code's mean over N random subsets of M (studies before the U-statistic)
    kid_subsets: int | None = None
    kid_subset_size: int | None = None
    # reference-feature cache; None: $XDG_CACHE_HOME/dcgan-tuner, else ~/.cache/dcgan-tuner
    cache_dir: str | None = None
    swd_descriptors: int = 4096         # 7x7 patches per pyramid level and image set (SWD)
    swd_projections: int = 512          # random directions of the sliced Wasserstein distance
    swd_seed: int = 0                   # the SWD's patch draws and directions


@dataclass(frozen=True)
class TrainOverrides:
    """Fixed training settings given as flags; None keeps the space file's value."""

    epochs: int | None = None
    batch_size: int | None = None
    eval_every: int | None = None
    latent_dim: int | None = None
    precision: str | None = None
    repeats: int | None = None        # training runs per configuration
    rank_by: str | None = None        # final | best | last-N


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
    repair: bool = False                # set a damaged study's unreadable files aside (nothing is
                                        # deleted) and rerun just those trials
    max_consecutive_failures: int = 3
    time_budget: str | float | None = None  # "2h", "90m", "600s" or seconds: no trial starts
                                            # that would end after it (see parse_duration)
    max_epochs_total: int | None = None  # no trial starts that would take the epochs trained
                                         # by all trials and runs above it
    settle: bool | None = None          # race: add seeds where a decision is open; None: the space's
    max_repeats: int | None = None      # --settle's cap of runs per configuration; None: the
                                        # space's, else MAX_REPEATS
    margin: float | None = None         # the difference that matters, a share of #1's score;
                                        # None: the space's, else DEFAULT_MARGIN
    command: str = ""                   # the command line, recorded in study.json


# The search CLI's flags in snake_case (`--eval-size` -> eval_size), each with the SearchConfig
# part and field it sets: the words of `python -m tuner.search` and of the Python API alike.
# `no_flip` sets DataConfig.flip to its negation; every other option is its field's name.
SEARCH_OPTIONS = {
    **{name: ("data", name) for name in ("data", "person", "crop", "holdout", "data_url",
                                         "data_sha256")},
    "no_flip": ("data", "flip"),
    **{name: ("scoring", name) for name in ("features", "features_weights", "samples", "eval_size")},
    **{f.name: ("train", f.name) for f in fields(TrainOverrides)},
    **{name: ("search", name) for name in ("space", "tuner", "max_trials", "objective", "results_dir",
                                           "study", "seed", "overwrite", "repair",
                                           "max_consecutive_failures",
                                           "time_budget", "max_epochs_total", "settle",
                                           "max_repeats", "margin")},
}
_PARTS = {"data": DataConfig, "scoring": ScoringConfig, "train": TrainOverrides,
          "search": SearchConfig}


def search_config(command="", **options):
    """The SearchConfig that the search CLI's flags, in snake_case, describe.

    An option left out takes its dataclass default, exactly as a flag left out
    does. Values are only checked for their type here (`tuner.study.inputs` checks
    their ranges, for the CLI and the Python API alike).

    Raises:
        UsageError: an unknown option (naming the valid ones) or a value of the wrong type.
    """
    parts = {part: {} for part in _PARTS}
    for name, value in options.items():
        check_option(name, SEARCH_OPTIONS)
        part, field = SEARCH_OPTIONS[name]
        value = _typed(name, value, _field_type(_PARTS[part], field))
        parts[part][field] = (not value) if name == "no_flip" else value
    return SearchConfig(data=DataConfig(**parts["data"]), scoring=ScoringConfig(**parts["scoring"]),
                        train=TrainOverrides(**parts["train"]), command=command, **parts["search"])


def check_option(name, valid, where=""):
    """UsageError naming `name`, a close match and every valid option, unless `name` is valid."""
    if name in valid:
        return
    close = difflib.get_close_matches(name, list(valid), n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    raise UsageError(f"{where + ': ' if where else ''}unknown option {name!r}{hint}; "
                     f"the options are {', '.join(valid)}")


def _field_type(cls, name):
    return next(f.type for f in fields(cls) if f.name == name)


def _typed(name, value, kind):
    """`value` as option `name`'s field type (`int | None`, `float`, `str`, `bool`, ...).

    Any integer (a numpy one too) is taken for an int, any real number for a
    float, a path for a string; anything else is a UsageError naming the flag.
    """
    kinds = kind.__args__ if isinstance(kind, types.UnionType) else (kind,)
    if value is None and type(None) in kinds:
        return None
    if bool in kinds and isinstance(value, bool):
        return value
    if not isinstance(value, bool):
        if int in kinds and isinstance(value, numbers.Integral):
            return int(value)
        if float in kinds and isinstance(value, numbers.Real):
            return float(value)
        if str in kinds and isinstance(value, (str, os.PathLike)):
            return os.fspath(value)
    words = {int: "an integer", float: "a number", str: "a string", bool: "True or False"}
    expected = " or ".join(words[k] for k in kinds if k in words)
    expected += " or None" if type(None) in kinds else ""
    raise UsageError(f"--{name.replace('_', '-')} must be {expected}, got {value!r}")


DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([smh]?)\s*$")
DURATION_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600}


def parse_duration(value, flag="--time-budget"):
    """Seconds of a duration: a number of seconds, or text such as 90s, 45m, 2h, 1.5h.

    Raises:
        UsageError: not a positive duration (naming `flag` and the accepted forms).
    """
    seconds = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and (match := DURATION.match(value.lower())):
        seconds = float(match.group(1)) * DURATION_UNITS[match.group(2)]
    if seconds is None or not seconds > 0:
        raise UsageError(f"{flag} must be a positive duration in seconds, minutes or hours, "
                         f"e.g. 90s, 45m or 2h; got {value!r}")
    return seconds


# ---------------------------------------------------------------- several workers
# The chief listens here unless told otherwise: its traffic (the secret too) is not encrypted.
CHIEF_HOST = "127.0.0.1"
# Seconds a worker waits for its chief to answer (--chief-timeout): long, so that a chief and
# its workers can start in any order, as cluster launchers start them (a chief loads the data
# and the reference features before it listens).
CHIEF_TIMEOUT = 600.0
# Seconds between two log lines of a worker waiting for its chief.
CHIEF_WAIT_LOG_EVERY = 60.0
# Seconds between two heartbeats of a worker (a file in <study>/workers/).
WORKER_HEARTBEAT = 2.0
# A worker whose heartbeat has not changed for this long is dead: its trial is handed out again.
# A worker on the chief's own machine whose process has exited is dead at once.
WORKER_TIMEOUT = 60.0
# Seconds a worker waits before asking again when the chief has no trial for it yet.
IDLE_POLL = 1.0
# Seconds a child of `--workers` that has lost its launcher takes to stop after its current
# step before it exits at once.
ORPHAN_GRACE = 10.0
# Environment variables that cap a local worker's threads (read by TensorFlow and OpenMP at import).
THREAD_VARIABLES = ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")


@dataclass(frozen=True)
class ClusterConfig:
    """This process' part in a search by several processes (`--chief`, `--worker`, `--workers`).

    The default is a search by this one process.
    """

    role: str = "local"                 # "local", "chief" or "worker"
    host: str = CHIEF_HOST              # the chief's address: where it listens or is reached
    port: int = 0                       # 0 for a chief: any free port (written to chief.json)
    worker_id: str | None = None        # a worker's name in the oracle; None: worker-<host>-<pid>
    worker_timeout: float = WORKER_TIMEOUT
    chief_timeout: float = CHIEF_TIMEOUT  # a worker: seconds it waits for its chief to answer


def check_rank_by(text, where="--rank-by"):
    """`final`, `best` or `last-N` (N >= 1); returned unchanged, UsageError otherwise."""
    if isinstance(text, str) and RANK_BY.match(text):
        return text
    raise UsageError(f"{where} must be final, best or last-N (N evaluations averaged, e.g. "
                     f"last-3), got {text!r}")


def is_folder_name(name):
    """Whether `name` names one folder inside another: not empty, ".", ".." nor a path."""
    return (isinstance(name, str) and name not in ("", ".", "..") and "/" not in name
            and "\\" not in name and "\0" not in name and os.path.basename(name) == name)


def check_study_name(name, where="--study"):
    """A study's name, one folder inside --results-dir; returned unchanged, UsageError otherwise."""
    if not is_folder_name(name):
        raise UsageError(f"{where} must be a folder name inside --results-dir, without / or .. "
                         f"(e.g. lab-2), got {name!r}")
    return name


def check_margin(value, where="--margin"):
    """A margin that matters, a share of #1's score in [0, 1); returned as float, UsageError
    otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise UsageError(f"{where} must be a share of the best score from 0 to below 1 (the "
                         f"smallest difference that matters), got {value!r}; use e.g. "
                         f"{DEFAULT_MARGIN}")
    return float(value)


def check_holdout(value, where="--holdout"):
    """A held-out share of the images in [0, 0.9]; returned as float, UsageError otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 0.9:
        raise UsageError(f"{where} must be a fraction from 0 to 0.9 of the images held out "
                         f"from training, got {value!r}; use e.g. 0.2")
    return float(value)


@dataclass(frozen=True)
class TrainSettings:
    """The fixed (not searched) settings every trial of a study trains and is ranked with.

    Built once per study (`tuner.study.inputs.train_settings`) and recorded in study.json
    ("train"), from which retraining rebuilds it (`from_dict`).
    """

    epochs: int
    batch_size: int
    eval_every: int
    latent_dim: int = LATENT_DIM
    precision: str = "float32"
    flip: bool = True
    seed: int = 0                   # run k of a configuration trains with seed + k
    objective: str = "kid"          # the evaluation key ranked by (see objective_metric)
    rank_by: str = DEFAULT_RANK_BY  # final | best | last-N: which evaluations make a run's score
    repeats: int = 1                # training runs per configuration, paired seeds
    retrain_epochs: int = TRAIN_DEFAULTS["retrain_epochs"]
    settle: bool = False            # race: add seeds while a decision is open, up to max_repeats
    max_repeats: int = MAX_REPEATS  # the race's cap of runs per configuration
    looks: int = 1                  # the planned looks at the study's decisions (each spends
                                    # an equal share of the 5%; see results.decisions)
    spending: str = "equal"         # "seeds": each number of seeds spends its share of the 5%
                                    # (new studies); "equal": shares over `looks` (older ones)
    margin: float = DEFAULT_MARGIN  # the difference in the objective that matters, a share of
                                    # #1's score: a row within it of the best is a tie

    @classmethod
    def from_dict(cls, values):
        """Settings from a dict (study.json's "train"); unknown keys are ignored."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})

    def seeds(self):
        """The seeds of a configuration's runs: the same for every configuration (paired)."""
        return [self.seed + k for k in range(self.repeats)]


@dataclass(frozen=True)
class RetrainConfig:
    """One `python -m tuner.retrain` run."""

    study: str | None = None            # a study name under results_dir or a path; None: the newest
    results_dir: str = DEFAULT_RESULTS_DIR
    trial: str | None = None            # None: the study's best completed trial
    epochs: int | None = None           # None: the space's retrain_epochs
    seeds: int = 1                      # trainings from scratch, seeds study_seed+1 .. study_seed+K
    out: str | None = None              # None: <study>/retrain/trial_<id>
    command: str = ""                   # the command line, recorded in retrain.json


@dataclass(frozen=True)
class ScoreConfig:
    """One `python -m tuner.score` run."""

    real: DataConfig
    fakes: tuple
    scoring: ScoringConfig
    size: int | None = None   # evaluation size; None: the fake images' size (64 with --validate)
    validate: bool = False
    format: str = "table"     # --validate's study: "table" or "json"


@dataclass(frozen=True)
class ClaimsConfig:
    """One `python -m tuner.claims` run."""

    study: str | None = None            # a name under results_dir or a folder; None: the latest
    results_dir: str = DEFAULT_RESULTS_DIR
    format: str = "table"               # table | markdown | json
    claims: str | None = None           # a space file whose [[claims]] to check; None: the study's
    width: int = 80


@dataclass(frozen=True)
class LeaderboardConfig:
    """One `python -m tuner.leaderboard` run."""

    studies: tuple = ()                 # names under results_dir or paths; () = the most recent
    results_dir: str = DEFAULT_RESULTS_DIR
    top: int | None = None              # only the best N completed trials
    format: str = "table"               # table | markdown | csv | json
    html: str | None = None             # None: no report; "": <study>/report.html; or a path
    width: int = 80                     # the table fits this many columns


# The eye's session: pairs of sample grids, single faces (half real), and the face's exposure.
EYE_PAIRS, EYE_FACES = 20, 20
# HYPE (Zhou et al. 2019) shows each face for 100-1000 ms; 0 leaves it up until answered.
EYE_EXPOSURE_MS = 0


@dataclass(frozen=True)
class EyeConfig:
    """One `python -m tuner.eye` run."""

    study: str | None = None            # a name under results_dir or a path; None = most recent
    results_dir: str = DEFAULT_RESULTS_DIR
    port: int = 0                       # 0: a free port
    judge: str | None = None            # None: the page asks once
    browser: bool = True                # open the page in the default browser
    exposure_ms: int = EYE_EXPOSURE_MS  # a face shows this long, then a mask (0: no limit)
    pairs: int = EYE_PAIRS              # pair judgements planned in a new session
    faces: int = EYE_FACES              # face judgements planned in a new session
    export_pairs: str | None = None     # write the judge's pairs as numbered PNGs here
    same_pairs_as: str | None = None    # a new session shows this judge's pairs (new order)
    import_answers: str | None = None   # record the judge's answers to exported pairs
    agreement: bool = False             # print each network's agreement with the eye
    networks: tuple | None = None       # networks for agreement (None: every one offline)
    format: str = "table"               # agreement as a table or json


@dataclass(frozen=True)
class GenerateConfig:
    """One `python -m tuner.generate` run."""

    model: str                      # a generator .keras file
    n: int = 64                     # images to write
    seed: int = 0                   # seed of the latent points
    out: str = "generated"          # folder of the images (a FAKE folder for tuner.score)
    grid: str | None = None         # also tile the images into this PNG file
    interpolate: int | None = None  # also K frames between latent points 0 and 1


@dataclass(frozen=True)
class BenchConfig:
    """One `python -m tuner.bench` run; the defaults are the full run, `QUICK_BENCH` the smoke test."""

    sizes: tuple = (32, 64, 128)
    precisions: tuple = ("float32", "mixed")
    images: int = LAB_IMAGES          # the lab's training set, before flips
    batch_size: int = LAB_BATCH_SIZE  # the TF DCGAN tutorial's, which the lab follows
    epochs: int = 3               # timed epochs per measurement, after one warm-up epoch
    learning_rate: float = LAB_HYPERPARAMETERS["learning_rate"]
    samples: int = ScoringConfig.samples  # generated images per evaluation (the tool's default)
    score_repeats: int = 3        # timed scorings after a cold one
    trial_epochs: int = 6         # length of the shortened quick-space trial
    memory_trials: int = 5
    memory_epochs: int = 2
    inception: bool = True        # time Inception scoring when its weights are present
    quality: bool = False         # train the quick space's best setting in both precisions
    quality_seeds: int = 2
    seed: int = 0


QUICK_BENCH = BenchConfig(sizes=(32,), images=64, batch_size=48, epochs=1, samples=200,
                          score_repeats=1, trial_epochs=2, memory_trials=2, memory_epochs=1,
                          inception=False)
