"""Claims: plain-language statements about a study, each with checks its numbers can decide.

A space file may carry any number of claims:

    [[claims]]
    id = "1"                      # optional; default: the claim's position, 1, 2, ...
    text = "The full training set gives clearly better faces than half of it."
    kind = "better"               # a claim with one check may give it inline ...
    a = { subset_fraction = 1.0 }
    b = { subset_fraction = 0.5 }
    where = { learning_rate = 2e-4 }

    [[claims]]
    text = "2e-4 is best; 2e-4, 5e-4 and 2e-3 do not differ much."
    where = { image_size = 32 }   # ... or several, as [[claims.checks]]; `where` is inherited
    [[claims.checks]]
    kind = "best"
    param = "learning_rate"
    value = 2e-4
    [[claims.checks]]
    kind = "similar"
    param = "learning_rate"
    values = [2e-4, 5e-4, 2e-3]

The checks (lower scores are better; `metric` defaults to the study's objective; `metric =
"eye"`, for better and best, reads the eye's preference from blind judgements, where higher is
better):

    better     a, b [, where, metric]          configuration a scores better than b
    best       param, value [, where, metric]  value is the best of param's values
    similar    param, values [, where, metric, margin]
                                               the values' scores differ by less than
                                               margin x their mean score (default: the
                                               study's margin, 10% unless --margin)
    diverges   where                           every run of that configuration diverges
    plateau    after_epoch [, where, metric, margin]
                                               the score improves by less than margin x
                                               its value at that epoch after it (default
                                               0.2)
    increases  param, quantity [, where]       quantity (seconds_per_epoch or a score)
                                               grows with param

`where` fixes hyperparameters; the ones a check leaves free are paired, not
pooled: each comparison is made between configurations that agree on them,
then averaged. How the study's numbers decide each check is `tuner.results.verdicts`.

A check that could only compare a configuration with itself is refused when the file is
read, in one line naming the file, the claim and the fix: `better` whose a and b differ in no
hyperparameter they both name (a = b, or a and b naming different hyperparameters, which one
configuration can match both); a `where` (the claim's or the check's) that fixes a
hyperparameter to another value than a, b or value give, or that fixes the `param` a `best`,
`similar` or `increases` check varies; `similar` values with a value twice; a check's `where`
that contradicts its claim's; a claim that states the same check twice.
"""

import math
from dataclasses import dataclass, field

from tuner.common.config import LAB_HYPERPARAMETERS
from tuner.common.errors import UsageError
from tuner.common.names import CLAIM_METRICS, RECORD_METRICS, objective_metric

KINDS = {
    "better": ({"a", "b"}, {"where", "metric"}),
    "best": ({"param", "value"}, {"where", "metric"}),
    "similar": ({"param", "values"}, {"where", "metric", "margin"}),
    "diverges": (set(), {"where"}),
    "plateau": ({"after_epoch"}, {"where", "metric", "margin"}),
    "increases": ({"param", "quantity"}, {"where"}),
}
QUANTITIES = CLAIM_METRICS + RECORD_METRICS
# The eye's preference (python -m tuner.eye): higher is better, and it compares configurations,
# so it can back the checks that order them.
EYE, EYE_KINDS = "eye", ("better", "best")
CLAIM_KEYS = {"id", "text", "checks", "where"}


@dataclass(frozen=True)
class Check:
    """One machine-checkable statement (see the module docstring for the kinds)."""

    kind: str
    where: dict = field(default_factory=dict)
    metric: str | None = None      # None: the study's objective
    a: dict = field(default_factory=dict)
    b: dict = field(default_factory=dict)
    param: str | None = None
    value: float | int | None = None
    values: tuple = ()
    margin: float | None = None    # None: the study's margin (similar), CLAIM_MARGIN (plateau)
    after_epoch: int | None = None
    quantity: str | None = None


@dataclass(frozen=True)
class Claim:
    """A statement in words and the checks that decide it (all must hold)."""

    id: str
    text: str
    checks: tuple


def parse_claims(entries, path, check_assignment):
    """The `[[claims]]` of space file `path` as Claims; UsageError naming the file and entry.

    Args:
        entries: the parsed TOML array (a list of tables).
        path: the space file, for messages.
        check_assignment: (table, path, where) -> {hyperparameter: value}, the space
            file's own check of hyperparameter names and values.
    """
    if not isinstance(entries, list):
        raise UsageError(f"{path}: claims must be an array of tables ([[claims]]), got {_shown(entries)}")
    claims = [_claim(entry, number, path, check_assignment)
              for number, entry in enumerate(entries, start=1)]
    ids = [claim.id for claim in claims]
    duplicate = next((i for i in ids if ids.count(i) > 1), None)
    if duplicate is not None:
        raise UsageError(f"{path}: two claims have id {_shown(duplicate)}; give each its own id")
    return tuple(claims)


def _claim(entry, number, path, check_assignment):
    where = f"[[claims]] #{number}"
    if not isinstance(entry, dict):
        raise UsageError(f"{path}: {where} must be a table, got {_shown(entry)}")
    if "id" in entry:
        where = f"[[claims]] id {_shown(entry['id'])}"
    text = entry.get("text")
    if not isinstance(text, str) or not text.strip():
        raise UsageError(f"{path}: {where} needs `text = \"...\"`, the claim in words")
    inline = {k: v for k, v in entry.items() if k not in CLAIM_KEYS}
    if "checks" in entry and inline:
        raise UsageError(f"{path}: {where} gives both [[claims.checks]] and an inline check "
                         f"({', '.join(sorted(inline))}); use one or the other")
    tables = entry.get("checks") if "checks" in entry else [{**inline}] if inline else []
    if not isinstance(tables, list) or not tables:
        raise UsageError(f"{path}: {where} has no check: give `kind = ...` and its keys, or "
                         f"[[claims.checks]] tables")
    shared = check_assignment(entry.get("where", {}), path, f"{where} where")
    checks = tuple(_check(table, shared, path, f"{where} check {k}", check_assignment)
                   for k, table in enumerate(tables, start=1))
    for k, one in enumerate(checks, start=1):
        first = checks.index(one) + 1
        if first != k:
            raise UsageError(f"{path}: {where} check {k} repeats check {first}; state each check "
                             f"once")
    return Claim(id=str(entry.get("id", number)), text=text.strip(), checks=checks)


def _check(table, shared, path, where, check_assignment):
    if not isinstance(table, dict):
        raise UsageError(f"{path}: {where} must be a table, got {_shown(table)}")
    kind = table.get("kind")
    if not isinstance(kind, str) or kind not in KINDS:  # a list would not even hash
        raise UsageError(f"{path}: {where} kind must be one of {', '.join(KINDS)}, got {_shown(kind)}")
    required, optional = KINDS[kind]
    given = set(table) - {"kind"}
    for key in sorted(given - required - optional):
        raise UsageError(f"{path}: {where} ({kind}) unknown key {_shown(key)}; expected "
                         f"{', '.join(sorted(required | optional))}")
    for key in sorted(required - given):
        raise UsageError(f"{path}: {where} ({kind}) needs {_shown(key)}")
    own = check_assignment(table.get("where", {}), path, f"{where} where")
    _agree(shared, own, path, f"{where} where", "the claim's where")
    fields = {"kind": kind, "where": {**shared, **own}}
    if kind == "diverges" and not fields["where"]:
        raise UsageError(f"{path}: {where} (diverges) needs `where = {{...}}`: the configuration "
                         f"that diverges")
    for key in ("a", "b"):
        if key in table:
            fields[key] = check_assignment(table[key], path, f"{where} {key}")
            if not fields[key]:
                raise UsageError(f"{path}: {where} {key} must name at least one hyperparameter")
    if "param" in table:
        fields["param"] = _param(table["param"], path, where)
    if "value" in table:
        fields["value"] = _value(fields["param"], table["value"], path, f"{where} value",
                                 check_assignment)
    if "values" in table:
        fields["values"] = _values(fields["param"], table["values"], path, where, check_assignment)
    if "metric" in table:
        fields["metric"] = _choice(table["metric"], CLAIM_METRICS + (EYE,), path,
                                   f"{where} metric")
        if fields["metric"] == EYE and fields.get("kind") not in EYE_KINDS:
            raise UsageError(f"{path}: {where} metric \"eye\" (blind pairwise judgements) "
                             f"works with kind {' or '.join(EYE_KINDS)} only; use kid, fd or swd")
    if "quantity" in table:
        fields["quantity"] = _choice(table["quantity"], QUANTITIES, path, f"{where} quantity")
    if "margin" in table:
        fields["margin"] = _margin(table["margin"], path, where)
    if "after_epoch" in table:
        fields["after_epoch"] = _epoch(table["after_epoch"], path, where)
    _refuse_degenerate(fields, path, f"{where} ({kind})")
    return Check(**fields)


def _shown(value, limit=60):
    """A value as the file gave it, cut short: a message stays one readable line."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def same(a, b):
    """Two hyperparameter values are one (floats to rounding, as the study's values are read)."""
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=0.0)


def _agree(fixed, given, path, where, what):
    """UsageError if `given` sets a hyperparameter `fixed` holds at another value."""
    for name, value in given.items():
        if name in fixed and not same(fixed[name], value):
            raise UsageError(f"{path}: {where} sets {name} = {value:g} but {what} fixes it at "
                             f"{fixed[name]:g}, so nothing can match both; drop one of them")


def _refuse_degenerate(fields, path, where):
    """UsageError for a check that would compare a configuration with itself (see the
    module docstring)."""
    scope = fields["where"]
    for side in ("a", "b"):
        if side in fields:
            _agree(scope, fields[side], path, f"{where} {side}", "where")
    if fields["kind"] == "better":
        a, b = fields["a"], fields["b"]
        if not any(name in b and not same(a[name], b[name]) for name in a):
            raise UsageError(f"{path}: {where} a and b must differ in a hyperparameter they "
                             f"both name (now one configuration can match both, and it would be "
                             f"compared with itself); e.g. a = {{learning_rate = 2e-4}}, "
                             f"b = {{learning_rate = 5e-4}}")
    param = fields.get("param")
    if param is not None and param in scope:
        raise UsageError(f"{path}: {where} where fixes {param}, the hyperparameter the check "
                         f"compares, so it has one value to compare; drop {param} from where")
    values = fields.get("values", ())
    twice = next((v for i, v in enumerate(values) if any(same(v, w) for w in values[:i])), None)
    if twice is not None:
        raise UsageError(f"{path}: {where} values list {param} = {twice:g} twice; list each "
                         f"value once (at least two distinct values)")


def _param(name, path, where):
    if not isinstance(name, str) or name not in LAB_HYPERPARAMETERS:
        raise UsageError(f"{path}: {where} param must be one of {', '.join(LAB_HYPERPARAMETERS)}, "
                         f"got {_shown(name)}")
    return name


def _value(param, value, path, where, check_assignment):
    return check_assignment({param: value}, path, where)[param]


def _values(param, values, path, where, check_assignment):
    if not isinstance(values, list) or len(values) < 2:
        raise UsageError(f"{path}: {where} values must list at least two values of {param}, "
                         f"got {_shown(values)}")
    return tuple(_value(param, v, path, f"{where} values", check_assignment) for v in values)


def _choice(value, choices, path, where):
    name = objective_metric(value) if isinstance(value, str) else value
    if name not in choices:
        raise UsageError(f"{path}: {where} must be one of {', '.join(choices)}, got {_shown(value)}")
    return name


def _margin(value, path, where):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise UsageError(f"{path}: {where} margin must be a fraction between 0 and 1 (0.2: "
                         f"differences under 20% count as none), got {_shown(value)}")
    return float(value)


def _epoch(value, path, where):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError(f"{path}: {where} after_epoch must be a positive whole number of epochs, "
                         f"got {_shown(value)}")
    return value
