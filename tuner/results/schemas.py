"""The documented shape of every JSON file of a study folder, and its check. No TensorFlow.

Each file the tool reads has a JSON Schema here (`SCHEMAS`, by file name), checked with
jsonschema: a file that parses but has the wrong shape (a string where a number belongs,
a trial.json without hyperparameters, an evaluations.json without its evaluations) is
damaged, named with the field at fault (`shape_problem`), never read half-way. The
schemas ask only what the readers use, and allow what older versions wrote (keys added
later are optional). No file the tool writes holds a number that is not finite (it
writes NaN and infinities as null), so Infinity anywhere is damage too.

`describe()` renders the schemas as the format reference of the documentation.
"""

import math
import stat
from pathlib import Path

import jsonschema

from tuner.common.names import SCORES

_INT = {"type": "integer"}
_COUNT = {"type": "integer", "minimum": 1}
_NUMBER_OR_NULL = {"type": ["number", "null"]}
_STR_OR_NULL = {"type": ["string", "null"]}
_IDS = {"type": "array", "items": {"type": ["string", "integer"]}}

TRAIN = {
    "type": "object",
    "description": "the fixed settings every trial trained and was ranked with",
    "properties": {
        "epochs": {**_COUNT, "description": "epochs per run"},
        "batch_size": _COUNT, "eval_every": _COUNT, "latent_dim": _COUNT,
        "precision": {"type": "string"}, "flip": {"type": "boolean"},
        "seed": {**_INT, "description": "run k of a configuration trains with seed + k"},
        "objective": {"type": "string", "description": "the score ranked by: kid, fd, ..."},
        "rank_by": {"type": "string", "description": "final, best or last-N"},
        "repeats": {**_COUNT, "description": "runs per configuration"},
        "retrain_epochs": _COUNT, "settle": {"type": "boolean"},
        "max_repeats": {**_COUNT, "description": "the race's cap of runs per configuration"},
        "looks": {**_COUNT, "description": "looks at the decisions the study planned"},
    },
}

STUDY = {
    "title": "study.json",
    "description": "what a study searched, on which data, scored how (written by the search)",
    "type": "object",
    "properties": {
        "study": {"type": "string", "description": "the study's name (its folder's)"},
        "created": {"type": "string"}, "command": {"type": "string"},
        "config": {"type": "object", "description": "the search's options as given"},
        "space": {"type": "object", "description": "the space file: name, path, text",
                  "properties": {"name": _STR_OR_NULL, "path": _STR_OR_NULL,
                                 "text": {"type": "string"},
                                 "description": _STR_OR_NULL}},
        "tuner": _STR_OR_NULL,
        "max_trials": {"type": ["integer", "null"], "minimum": 1},
        "oracle_seed": {"type": ["integer", "null"]},
        "holdout": _NUMBER_OR_NULL,
        "train": TRAIN,
        "data": {"type": "object", "description": "the face set: source, images, fingerprint",
                 "properties": {"images": {"type": ["integer", "null"]},
                                "fingerprint": _STR_OR_NULL}},
        "protocol": {"type": ["object", "null"], "description": "the scoring protocol"},
        "protocol_key": _STR_OR_NULL,
        "versions": {"type": "object"},
        # studies written before each setting was kept once, in `train`, held these here
        "objective": {"type": "string"}, "rank_by": {"type": "string"}, "repeats": _COUNT,
    },
}

TRIAL = {
    "title": "trial.json",
    "description": "keras-tuner's record of one trial: its configuration and status",
    "type": "object",
    "required": ["hyperparameters", "status"],
    "properties": {
        "trial_id": {"type": ["string", "integer"]},
        "hyperparameters": {
            "type": "object", "required": ["values"],
            "properties": {"space": {"type": "array"},
                           "values": {"type": "object",
                                      "description": "the configuration: name -> value"}}},
        "status": {"type": "string",
                   "description": "RUNNING, IDLE, COMPLETED, FAILED, INVALID or STOPPED"},
        "metrics": {"type": "object"},
        "score": _NUMBER_OR_NULL,
        "best_step": {"type": ["integer", "null"]},
        "message": _STR_OR_NULL,
    },
}

RUN = {
    "type": "object",
    "description": "one training run of the trial's configuration",
    "required": ["repeat"],
    "properties": {
        "repeat": {"type": "integer", "minimum": 0, "description": "the run's number k"},
        "seed": {"type": ["integer", "null"], "description": "its seed: the study's seed + k"},
        "status": {"enum": ["running", "completed", "diverged", "failed"],
                   "description": "a run counts once completed or diverged"},
        "diverged_at_epoch": {"type": ["integer", "null"]},
        "reason": _STR_OR_NULL,
        "epochs": {"type": ["integer", "null"], "minimum": 0},
        "epoch_seconds": {"type": ["array", "null"], "items": {"type": "number"}},
        "seconds_per_epoch": _NUMBER_OR_NULL,
        "seconds": _NUMBER_OR_NULL,
        "worker": _STR_OR_NULL,
    },
}

EVALUATION = {
    "type": "object",
    "description": "one evaluation of one run: its scores at one epoch",
    "required": ["epoch"],
    "properties": {
        "epoch": {"type": "integer", "minimum": 0},
        "repeat": {"type": "integer", "minimum": 0},
        "seed": {"type": ["integer", "null"]},
        **{name: {**_NUMBER_OR_NULL, "description": "a score (null: not measured)"}
           for name in SCORES},
        "swd_levels": {"type": "object"},
        "sample_std": _NUMBER_OR_NULL, "g_loss": _NUMBER_OR_NULL, "d_loss": _NUMBER_OR_NULL,
        "seconds": _NUMBER_OR_NULL,
    },
}

EVALUATIONS = {
    "title": "evaluations.json",
    "description": "a trial's runs and every evaluation of them (rewritten after each one)",
    "type": "object",
    "required": ["evaluations"],
    "properties": {
        "protocol": {"type": ["object", "null"]},
        "worker": _STR_OR_NULL,
        "repeats": {"type": "array", "items": RUN,
                    "description": "the runs (absent in studies from before repeats: one run)"},
        "evaluations": {"type": "array", "items": EVALUATION},
    },
}

ORACLE = {
    "title": "oracle.json",
    "description": "keras-tuner's oracle: which trials started, ended, are to run again",
    "type": "object",
    "properties": {
        "ongoing_trials": {"type": "object"},
        "hyperparameters": {"type": "object"},
        "start_order": _IDS, "end_order": _IDS, "retry_queue": _IDS,
        "run_times": {"type": "object"},
        "seed": {"type": ["integer", "null"]}, "seed_state": {"type": ["integer", "null"]},
        "tried_so_far": {"type": "array", "items": {"type": "string"}},
        "id_to_hash": {"type": "object", "additionalProperties": {"type": ["string", "null"]}},
    },
}

TUNER = {
    "title": "tuner0.json",
    "description": "keras-tuner's state of the tuner (an empty object here)",
    "type": "object",
}

EYE = {
    "title": "eye.json",
    "description": "the study's judgements by eye and the sessions that planned them",
    "type": "object",
    "required": ["sessions", "judgements"],
    "properties": {
        "format": {"type": "integer"},
        "sessions": {"type": "array", "items": {
            "type": "object", "required": ["id", "items"],
            "properties": {"id": {"type": "string"}, "judge": _STR_OR_NULL,
                           "started": _STR_OR_NULL, "settings": {"type": "object"},
                           "items": {"type": "array", "items": {
                               "type": "object", "required": ["task"],
                               "properties": {"task": {"enum": ["pair", "face"]}}}}}}},
        "judgements": {"type": "array", "items": {
            "type": "object", "required": ["task", "answer"],
            "properties": {"session": {"type": "string"}, "item": {"type": "integer"},
                           "task": {"enum": ["pair", "face"]}, "answer": {},
                           "judge": _STR_OR_NULL, "time": _STR_OR_NULL,
                           "left": {"type": ["string", "integer"]},
                           "right": {"type": ["string", "integer"]},
                           "runs": {"type": "array"}},
            # a pair names the two trials shown and is answered left, right or tie; a face
            # real or generated
            "if": {"properties": {"task": {"const": "pair"}}},
            "then": {"required": ["left", "right"],
                     "properties": {"answer": {"enum": ["left", "right", "tie"]},
                                    "left": {"type": "string"}, "right": {"type": "string"}}},
            "else": {"properties": {"answer": {"enum": ["real", "generated"]}}}}},
    },
}

CHIEF = {
    "title": "chief.json",
    "description": "where the chief of a search by several workers listens, and whether it lives",
    "type": "object",
    "required": ["address", "pid"],
    "properties": {"address": {"type": "string"}, "host": {"type": "string"},
                   "pid": {"type": "integer"}, "started": {"type": "string"},
                   "beat": {"type": "integer", "description": "rewritten every 2 s"},
                   "ended": {"type": "number", "description": "when every trial had ended"}},
}

RETRAIN = {
    "title": "retrain.json",
    "description": "a trial retrained on several seeds: each seed's scores, mean and spread",
    "type": "object",
    "required": ["epochs", "n_completed", "complete", "final"],
    "properties": {"epochs": {"type": ["integer", "null"]},
                   "n_completed": {"type": "integer", "minimum": 0},
                   "complete": {"type": "boolean"},
                   "final": {"type": "object", "description": "per score: mean and std over "
                                                              "the seeds",
                             "required": ["kid", "fd"],
                             "additionalProperties": {
                                 "type": "object", "required": ["mean", "std"],
                                 "properties": {"mean": _NUMBER_OR_NULL,
                                                "std": _NUMBER_OR_NULL}}}},
}

SCHEMAS = {schema["title"]: schema for schema in (STUDY, TRIAL, EVALUATIONS, ORACLE, TUNER, EYE,
                                                  CHIEF, RETRAIN)}
_VALIDATORS = {name: jsonschema.Draft202012Validator(schema) for name, schema in SCHEMAS.items()}


def schema_for(path):
    """The schema of a study file by its name (trial_3/trial.json -> TRIAL), or None."""
    return SCHEMAS.get(Path(path).name)


def not_regular(path):
    """Why `path` cannot be read as a file without blocking ("not a regular file (a FIFO)"),
    or None for a regular file or none at all: a reader never opens a FIFO or a device."""
    try:
        mode = Path(path).stat().st_mode
    except OSError:
        return None
    if stat.S_ISREG(mode):
        return None
    kind = ("a folder" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a socket")
    return f"not a regular file ({kind})"


def shape_problem(doc, name):
    """What is wrong with the shape of `doc`, read from a file called `name`: the field at
    fault and why ("`evaluations[2].epoch`: None is not of type 'integer'"), or None."""
    if (where := _non_finite(doc)) is not None:
        return f"`{where[0]}`: {where[1]} is not a finite number"
    validator = _VALIDATORS.get(Path(name).name)
    if validator is None:
        return None
    errors = sorted(validator.iter_errors(doc), key=lambda e: (len(e.path), list(map(str, e.path))))
    if not errors:
        return None
    error = errors[0]
    field = _field(error.absolute_path)
    return f"`{field}`: {error.message}" if field else error.message


def _field(path):
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _non_finite(doc, path=()):
    """(the field, its value) of the first number in `doc` that is not finite, or None."""
    if isinstance(doc, float) and not math.isfinite(doc):
        return _field(path), doc
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) \
        if isinstance(doc, list) else ()
    for key, value in items:
        if (found := _non_finite(value, (*path, key))) is not None:
            return found
    return None


def describe():
    """The schemas as a format reference (markdown): per file, each field, its type and
    meaning, required fields marked."""
    lines = []
    for name, schema in SCHEMAS.items():
        text = schema["description"]
        lines += [f"### {name}", "", text[0].upper() + text[1:] + ".", ""]
        lines += _fields(schema, "")
        lines.append("")
    return "\n".join(lines)


def _fields(schema, prefix):
    lines = []
    required = set(schema.get("required") or ())
    for key, sub in (schema.get("properties") or {}).items():
        field = f"{prefix}{key}"
        kind = sub.get("type") or ("one of " + ", ".join(map(str, sub["enum"])) if "enum" in sub
                                   else "any")
        kind = " or ".join(kind) if isinstance(kind, list) else kind
        note = f": {sub['description']}" if sub.get("description") else ""
        lines.append(f"- `{field}` ({kind}{', required' if key in required else ''}){note}")
        if "properties" in sub:
            lines += _fields(sub, f"{field}.")
        if isinstance(sub.get("items"), dict) and "properties" in sub["items"]:
            lines += _fields(sub["items"], f"{field}[].")
    return lines
