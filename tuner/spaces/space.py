"""Search spaces: TOML files (stdlib `tomllib`) -> a validated `Space` -> keras-tuner hp calls.

A space file has four tables:

    description = "..."
    [search]   tuner = "grid" | "one-at-a-time" | "random" | "bayesian" | "hyperband",
               max_trials = N, repeats = K, holdout = fraction,
               rank_by = "final" | "best" | "last-N",
               baseline = {NAME = value, ...}   (one-at-a-time: the configuration varied from)
               settle = true, max_repeats = N   (add seeds until the study's questions settle)
               margin = share   (the difference that matters, a share of #1's score)
    [train]    epochs, batch_size, eval_every, latent_dim, precision, retrain_epochs
    [hyperparameters.NAME]   one of: value = X | values = [...] | min, max [, step] [, sampling]

    [[claims]]  statements the study's numbers are checked against (`tuner.spaces.claims`)

NAME is one of `learning_rate`, `beta_1`, `image_size`, `subset_fraction`; one
that is left out is fixed at the lab's value. Everything is checked before any
training starts and each problem is one line naming the file and the key.
"""

import math
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from tuner.common.config import (
    LAB_HYPERPARAMETERS,
    PRECISIONS,
    SEARCH_DEFAULTS,
    TRAIN_DEFAULTS,
    TUNERS,
    check_holdout,
    check_image_size,
    check_margin,
    check_rank_by,
)
from tuner.common.errors import UsageError
from tuner.common.names import HYPERPARAMETERS
from tuner.spaces.claims import parse_claims

SPACES_DIR = Path(__file__).resolve().parents[2] / "search_spaces"
INSTALLED_SPACES_DIR = Path(sys.prefix) / "share" / "dcgan-tuner" / "search_spaces"
TOP_KEYS = {"description", "search", "train", "hyperparameters", "claims"}
SEARCH_KEYS = {"tuner": str, "max_trials": int, "hyperband_factor": int, "repeats": int,
               "holdout": (int, float), "rank_by": str, "baseline": dict, "settle": bool,
               "max_repeats": int, "margin": (int, float)}
TRAIN_KEYS = {"epochs": int, "batch_size": int, "eval_every": int, "latent_dim": int,
              "precision": str, "retrain_epochs": int}
PARAM_KEYS = {"value", "values", "min", "max", "step", "sampling"}


@dataclass(frozen=True)
class Param:
    """One hyperparameter's range: a fixed value, a list of values, or [min, max]."""

    name: str
    values: tuple = ()
    min: float | None = None
    max: float | None = None
    step: float | None = None
    sampling: str = "linear"

    @property
    def is_continuous(self):
        return self.min is not None

    def declare(self, hp):
        """Register this range with keras-tuner and return the trial's value."""
        if self.is_continuous:
            return hp.Float(self.name, self.min, self.max, step=self.step, sampling=self.sampling)
        if len(self.values) == 1:
            return hp.Fixed(self.name, self.values[0])
        return hp.Choice(self.name, list(self.values))


@dataclass(frozen=True)
class Space:
    """A validated search space plus the fixed training settings it names."""

    name: str
    path: str
    text: str
    description: str
    tuner: str
    max_trials: int
    hyperband_factor: int
    train: dict
    params: dict = field(default_factory=dict)
    repeats: int = SEARCH_DEFAULTS["repeats"]
    holdout: float = SEARCH_DEFAULTS["holdout"]
    rank_by: str = SEARCH_DEFAULTS["rank_by"]
    baseline: dict = field(default_factory=dict)  # one-at-a-time's centre, every hyperparameter
    settle: bool = SEARCH_DEFAULTS["settle"]       # race seeds until the study's questions settle
    max_repeats: int | None = SEARCH_DEFAULTS["max_repeats"]  # the race's cap; None: MAX_REPEATS
    margin: float | None = SEARCH_DEFAULTS["margin"]  # the difference that matters; None: default
    claims: tuple = ()                              # `spaces.claims.Claim`s, checked by `tuner.claims`

    def value(self, hp, name):
        """The value of hyperparameter `name` in this trial (registers it with `hp`)."""
        return self.params[name].declare(hp)

    def declare(self, hp):
        for name in HYPERPARAMETERS:
            self.value(hp, name)

    def image_sizes(self):
        return sorted(self.params["image_size"].values)

    def configurations(self):
        """The one-at-a-time design: the baseline, then each hyperparameter's other values
        with the rest at the baseline, in the order of HYPERPARAMETERS."""
        designs = [dict(self.baseline)]
        for name in HYPERPARAMETERS:
            for value in self.params[name].values:
                if value != self.baseline[name]:
                    designs.append({**self.baseline, name: value})
        return designs

    def check_tuner(self, tuner):
        """Raise UsageError if `tuner` cannot search this space (a grid needs finite values)."""
        for param in self.params.values():
            if tuner == "grid" and param.is_continuous and param.step is None:
                raise UsageError(
                    f"{self.path}: [hyperparameters.{param.name}] the grid tuner needs a list of "
                    f"values or a step, got the continuous range {param.min}..{param.max}; "
                    f"add `values = [...]` or `step = ...`, or use --tuner random|bayesian|hyperband")
            if tuner == "one-at-a-time" and param.is_continuous:
                raise UsageError(
                    f"{self.path}: [hyperparameters.{param.name}] the one-at-a-time tuner needs a "
                    f"list of values, got the range {param.min}..{param.max}; add `values = [...]`")


def resolve_path(space, flag="--space"):
    """`quick` -> search_spaces/quick.toml (checkout or installed copy); a path is taken as is.

    `flag` is the option that named the space, for messages.
    """
    if space.endswith(".toml") or len(Path(space).parts) > 1:  # a path on any OS
        return Path(space).expanduser()
    for folder in (SPACES_DIR, INSTALLED_SPACES_DIR):
        if (folder / f"{space}.toml").is_file():
            return folder / f"{space}.toml"
    raise UsageError(f"{flag} {space}: no such space; choose one of {', '.join(available())} "
                     f"or give the path of a .toml file")


def space_file(space, flag="--space"):
    """The path of an existing space file named by `flag` (a shipped space's name or a path)."""
    path = resolve_path(space, flag)
    if path.is_dir():
        raise UsageError(f"{flag} {path}: a folder, not a file; give a space file (.toml)")
    if not path.is_file():
        raise UsageError(f"{flag} {path}: file not found")
    return path


def not_a_space(value):
    """The error for a `space` argument that is neither a name, a path nor a Space."""
    return UsageError(f"space must be a space's name ({', '.join(available())}), the path of a "
                      f".toml file or a Space, got {value!r}")


def available():
    """Names of the spaces shipped with the tool."""
    names = {p.stem for folder in (SPACES_DIR, INSTALLED_SPACES_DIR) if folder.is_dir()
             for p in folder.glob("*.toml")}
    return sorted(names)


def load_space(space, flag="--space"):
    """Read and validate a space by name or path; raises UsageError naming the file and key
    (and `flag`, the option that named it, when it cannot be read)."""
    path = resolve_path(space, flag)
    text = _read_text(path, flag)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise UsageError(f"{path}: malformed TOML: {err}") from None
    except RecursionError:  # tomllib recurses per nested table or array
        doc = None
    if doc is None or _depth(doc) > MAX_NESTING:
        raise UsageError(f"{path}: tables or arrays nested more than {MAX_NESTING} deep; a space "
                         f"file needs at most 4 (e.g. [[claims.checks]] where = {{...}})")
    return _parse(doc, path, text)


def _depth(doc):
    """How deep tables and arrays nest in a parsed TOML document (without recursion)."""
    deepest, stack = 0, [(doc, 1)]
    while stack:
        value, depth = stack.pop()
        deepest = max(deepest, depth)
        children = value.values() if isinstance(value, dict) else value
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


MAX_NESTING = 16  # tables and arrays in tables: a space file needs 4; tomllib fails near 300


def _read_text(path, flag):
    if path.is_dir():
        raise UsageError(f"{flag} {path}: a folder, not a file; give a space file (.toml)")
    if path.exists() and not path.is_file():  # a FIFO or a device would block the read
        raise UsageError(f"{flag} {path}: not a regular file; give a space file (.toml)")
    try:
        # utf-8-sig: a byte-order mark some Windows editors put first is not TOML, but harmless.
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UsageError(f"{flag} {path}: file not found") from None
    except (OSError, UnicodeDecodeError) as err:
        raise UsageError(f"{flag} {path}: cannot read it ({err})") from None


def _parse(doc, path, text):
    _check_keys(doc, TOP_KEYS, path, "")
    search = {**SEARCH_DEFAULTS, **_typed_table(doc, "search", SEARCH_KEYS, path)}
    train = {**TRAIN_DEFAULTS, **_typed_table(doc, "train", TRAIN_KEYS, path)}
    _check_search(search, path)
    _check_train(train, path)
    hyper = doc.get("hyperparameters", {})
    _check_table(hyper, path, "hyperparameters")
    _check_keys(hyper, set(HYPERPARAMETERS), path, "hyperparameters")
    params = {name: _param(name, hyper.get(name, {"value": LAB_HYPERPARAMETERS[name]}), path)
              for name in HYPERPARAMETERS}
    return Space(name=path.stem, path=str(path), text=text,
                 description=str(doc.get("description", "")),
                 tuner=search["tuner"], max_trials=search["max_trials"],
                 hyperband_factor=search["hyperband_factor"], train=train, params=params,
                 repeats=search["repeats"], holdout=float(search["holdout"]),
                 rank_by=search["rank_by"], baseline=_baseline(search.get("baseline"), params, path),
                 settle=search["settle"], max_repeats=search["max_repeats"],
                 margin=search["margin"],
                 claims=parse_claims(doc.get("claims", []), path, _check_assignment))


def _baseline(table, params, path):
    """Every hyperparameter's baseline: the file's, else the lab's value if the space has it,
    else the first value. A baseline value must be one of the hyperparameter's values."""
    given = _check_assignment(table or {}, path, "[search] baseline")
    baseline = {}
    for name, param in params.items():
        lab = LAB_HYPERPARAMETERS[name]
        default = lab if lab in param.values or not param.values else param.values[0]
        baseline[name] = given.get(name, default)
        if name in given and param.values and given[name] not in param.values:
            raise UsageError(f"{path}: [search] baseline {name} = {given[name]!r} is not one of "
                             f"[hyperparameters.{name}] values {list(param.values)}")
    return baseline


def _check_assignment(table, path, where):
    """{hyperparameter: value} with known names and valid values (floats as float)."""
    if not isinstance(table, dict):
        raise UsageError(f"{path}: {where} must be a table like {{learning_rate = 2e-4}}, "
                         f"got {table!r}")
    for name in table:
        if name not in HYPERPARAMETERS:
            raise UsageError(f"{path}: {where} unknown hyperparameter {name!r}; expected one of "
                             f"{', '.join(HYPERPARAMETERS)}")
    return {name: check_value(name, value, f"{path}: {where}") for name, value in table.items()}


def _check_keys(table, allowed, path, where):
    for key in table:
        if key not in allowed:
            prefix = f"[{where}] " if where else ""
            raise UsageError(f"{path}: {prefix}unknown key {key!r}; "
                             f"expected one of {', '.join(sorted(allowed))}")


def _check_table(value, path, where):
    if not isinstance(value, dict):
        raise UsageError(f"{path}: [{where}] must be a table, got {type(value).__name__}")


def _typed_table(doc, where, types, path):
    table = doc.get(where, {})
    _check_table(table, path, where)
    _check_keys(table, set(types), path, where)
    for key, value in table.items():
        if not isinstance(value, types[key]) or (isinstance(value, bool) and types[key] is not bool):
            kind = "number" if isinstance(types[key], tuple) else types[key].__name__
            raise UsageError(f"{path}: [{where}] {key} must be {kind}, got {value!r}")
    return table


def _check_search(search, path):
    if search["tuner"] not in TUNERS:
        raise UsageError(f"{path}: [search] tuner must be one of {', '.join(TUNERS)}, "
                         f"got {search['tuner']!r}")
    for key, minimum in (("max_trials", 1), ("hyperband_factor", 2), ("repeats", 1)):
        if search[key] < minimum:
            raise UsageError(f"{path}: [search] {key} must be at least {minimum}, got {search[key]}")
    if search["max_repeats"] is not None and search["max_repeats"] < max(2, search["repeats"]):
        raise UsageError(f"{path}: [search] max_repeats must be at least repeats "
                         f"({search['repeats']}) and 2, got {search['max_repeats']}")
    check_holdout(search["holdout"], f"{path}: [search] holdout")
    if search["margin"] is not None:
        check_margin(search["margin"], f"{path}: [search] margin")
    check_rank_by(search["rank_by"], f"{path}: [search] rank_by")


def _check_train(train, path):
    for key, value in train.items():
        if key != "precision" and value <= 0:
            raise UsageError(f"{path}: [train] {key} must be a positive integer, got {value}")
    if train["precision"] not in PRECISIONS:
        raise UsageError(f"{path}: [train] precision must be one of {', '.join(PRECISIONS)}, "
                         f"got {train['precision']!r}")


def _param(name, table, path):
    where = f"hyperparameters.{name}"
    _check_table(table, path, where)
    _check_keys(table, PARAM_KEYS, path, where)
    forms = [k for k in ("value", "values", "min") if k in table]
    if len(forms) != 1 or ("min" in table) != ("max" in table):
        raise UsageError(f"{path}: [{where}] give exactly one of `value = X`, `values = [...]` "
                         f"or `min` and `max`")
    if "min" in table:
        return _range_param(name, table, path, where)
    values = table["values"] if "values" in table else [table["value"]]
    if not isinstance(values, list) or not values:
        raise UsageError(f"{path}: [{where}] values must be a non-empty list, got {values!r}")
    return Param(name, values=tuple(check_value(name, v, f"{path}: [{where}]") for v in values))


def _range_param(name, table, path, where):
    if name == "image_size":
        raise UsageError(f"{path}: [{where}] image_size takes a list of sizes "
                         f"(`values = [32, 64]`), not a range")
    low, high = (check_value(name, table[k], f"{path}: [{where}] {k}") for k in ("min", "max"))
    if low > high:
        raise UsageError(f"{path}: [{where}] min ({low}) is greater than max ({high})")
    sampling = table.get("sampling", "linear")
    if sampling not in ("linear", "log"):
        raise UsageError(f"{path}: [{where}] sampling must be 'linear' or 'log', got {sampling!r}")
    step = table.get("step")
    if step is not None and (not _is_number(step) or step <= 0):
        raise UsageError(f"{path}: [{where}] step must be a positive number, got {step!r}")
    if sampling == "log":
        _check_log_range(low, step, path, where)
    return Param(name, min=float(low), max=float(high), step=step, sampling=sampling)


def _check_log_range(low, step, path, where):
    """keras-tuner's log sampling needs a positive range and, with a step, a factor above 1."""
    if low <= 0:
        raise UsageError(f"{path}: [{where}] sampling = 'log' needs min > 0 (a logarithm of "
                         f"{low!r} has no value); give a positive min, or sampling = 'linear'")
    if step is not None and step <= 1:
        raise UsageError(f"{path}: [{where}] with sampling = 'log' the step multiplies (each value "
                         f"is the last times step), so it must be greater than 1, got {step!r}; "
                         f"e.g. step = 2 for min, 2 x min, 4 x min, ...")


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def check_value(name, value, where):
    """Check one hyperparameter value against its valid range; return it (floats as float)."""
    if name == "image_size":
        try:
            return check_image_size(value)
        except UsageError as err:
            raise UsageError(f"{where} {err}") from None
    if not _is_number(value):
        raise UsageError(f"{where} {name} must be a number, got {value!r}")
    ok = {"learning_rate": value > 0, "beta_1": 0 <= value < 1,
          "subset_fraction": 0 < value <= 1}[name]
    if not ok:
        valid = {"learning_rate": "> 0", "beta_1": "in [0, 1)", "subset_fraction": "in (0, 1]"}
        raise UsageError(f"{where} {name} must be {valid[name]}, got {value!r}")
    return float(value)
