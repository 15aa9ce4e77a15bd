"""Tables of trial rows: aligned text for an 80-column terminal, markdown, CSV, JSON. No TF.

`render(rankings, format)` is the leaderboard (see `tuner.results.Ranking`), and
the table `python -m tuner.search` ends with.
"""

import csv
import io
import json
import math
import textwrap
from dataclasses import dataclass
from typing import Callable

from tuner.results import HYPERPARAMETERS

FORMATS = ("table", "markdown", "csv", "json")
GAPS = ("  ", " ")  # column separators, the narrow one only when the wide one does not fit
STATUS_WORDS = {"COMPLETED": "done", "RUNNING": "running", "IDLE": "waiting",
                "INTERRUPTED": "interrupted", "FAILED": "failed", "INVALID": "invalid",
                "STOPPED": "stopped"}
# The JSON/CSV schema, in order (README: "Leaderboard and report").
FIELDS = ("rank", "group", "study", "trial_id", "status", "hyperparameters", "objective",
          "kid", "kid_std", "fd", "density", "coverage", "kid_train", "kid_heldout",
          "best_epoch", "epochs", "seconds_per_epoch", "features", "eval_size", "protocol_key",
          "message", "folder", "retrain")

# ---------------------------------------------------------------- the leaderboard


def render(rankings, fmt="table", top=None, width=80):
    """The leaderboard of `rankings` (from `results.load_rankings`) as one string.

    Args:
        rankings: groups of trials ranked together; later groups carry a note
            saying why they are apart.
        fmt: one of FORMATS.
        top: show only the best `top` completed trials of each ranking.
        width: the terminal width the "table" format must fit.
    """
    if fmt == "json":
        return json.dumps(records(rankings, top), indent=2)
    if fmt == "csv":
        return format_csv(records(rankings, top))
    if fmt == "markdown":
        return "\n\n".join(format_markdown(r, top) for r in rankings)
    return "\n\n".join(format_text(r, top, width) for r in rankings)


def shown(rows, top):
    """The rows a leaderboard shows: all, or the `top` best completed ones."""
    return rows if top is None else [row for row in rows if row.get("rank")][:top]


def _finite(value):
    return None if isinstance(value, float) and not math.isfinite(value) else value


def records(rankings, top=None):
    """One dict per shown trial, keys in FIELDS order: the JSON view."""
    out = []
    for group, ranking in enumerate(rankings, start=1):
        for row in shown(ranking.rows, top):
            extra = {"group": group, "objective": ranking.objective}
            out.append({k: _finite(extra[k] if k in extra else row.get(k)) for k in FIELDS})
    return out


RETRAIN_CSV = ("kid", "kid_seed_std", "fd", "seeds", "epochs")


def format_csv(recs):
    """The records as CSV: the same columns as JSON, hyperparameters and the retrain
    summary spread into their own (`retrain_kid`, ...)."""
    names = list(HYPERPARAMETERS)
    names += sorted({k for r in recs for k in r["hyperparameters"]} - set(names))
    header = [f for f in FIELDS if f not in ("hyperparameters", "retrain")]
    at = header.index("status") + 1
    header[at:at] = names
    header += [f"retrain_{k}" for k in RETRAIN_CSV]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for rec in recs:
        retrain = {f"retrain_{k}": (rec.get("retrain") or {}).get(k) for k in RETRAIN_CSV}
        flat = {**rec, **rec["hyperparameters"], **retrain}
        writer.writerow(["" if flat.get(k) is None else flat[k] for k in header])
    return buffer.getvalue().rstrip("\n")


@dataclass(frozen=True)
class Column:
    """A leaderboard column: its header, a row -> text function and, if it may be
    folded into the caption when it is the same on every row, its caption label."""

    header: str
    cell: Callable
    fold_as: str | None = None
    align: str = "right"


def _number(fmt):
    return lambda value: "-" if value is None else fmt.format(value)


def seconds(value):
    """Seconds per epoch with the digits that matter: 0.129, 2.00, 12.34, 123."""
    if value is None:
        return "-"
    return f"{value:.3f}" if value < 1 else f"{value:.2f}" if value < 100 else f"{value:.0f}"


def _hp(name, fmt):
    return lambda row: _number(fmt)(row["hyperparameters"].get(name))


def score_cell(row, name):
    value = row.get(name)
    if value is None:
        return "-"
    if name == "kid":
        spread = f"±{row['kid_std']:.4f}" if row.get("kid_std") is not None else ""
        return f"{value:.4f}{spread}"
    return f"{value:.2f}"


def _epochs(row):
    if row.get("epochs") is None:
        return "-"
    best = row["best_epoch"] if row.get("best_epoch") is not None else "-"
    return f"{best}/{row['epochs']}"


def _trial_label(several_studies):
    if several_studies:
        return lambda row: f"{row['study']}/{row['trial_id']}"
    return lambda row: row["trial_id"]


def leaderboard_columns(objective, several_studies=False, rows=()):
    """rank, trial, status, the four hyperparameters, objective (±std), the other score,
    best epoch / epochs trained, seconds per epoch, feature network, and the retrained
    score when any of `rows` was retrained."""
    scores = [Column("KID±std", lambda r: score_cell(r, "kid")),
              Column("FD", lambda r: score_cell(r, "fd"))]
    if objective == "fd":
        scores.reverse()
    return [
        Column("rank", lambda r: "-" if r.get("rank") is None else str(r["rank"])),
        Column("trial", _trial_label(several_studies), align="left"),
        Column("status", lambda r: STATUS_WORDS.get(r["status"], str(r["status"]).lower()),
               align="left"),
        Column("lr", _hp("learning_rate", "{:.2g}"), fold_as="lr"),
        Column("beta1", _hp("beta_1", "{:.2g}"), fold_as="beta1"),
        Column("size", _hp("image_size", "{}"), fold_as="size"),
        Column("frac", _hp("subset_fraction", "{:.2g}"), fold_as="frac"),
        *scores,
        Column("best/ep", _epochs),
        Column("s/ep", lambda r: seconds(r.get("seconds_per_epoch"))),
        Column("features", lambda r: r.get("features") or "-", fold_as="features", align="left"),
        *([Column("retrained", retrained_cell)] if any(r.get("retrain") for r in rows) else []),
    ]


def retrained_cell(row):
    """Retrained final KID, mean ± std over seeds, then seeds x epochs: 0.0412±0.0030 2x300."""
    retrain = row.get("retrain")
    if not retrain:
        return "-"
    spread = f"±{retrain['kid_seed_std']:.4f}" if retrain["kid_seed_std"] is not None else ""
    return f"{retrain['kid']:.4f}{spread} {retrain['seeds']}x{retrain['epochs']}"


def _lines(columns, cells, gap):
    """Header and body lines of `columns` (cells[i] is column i's texts), aligned."""
    widths = [max([len(c.header), *map(len, texts)]) for c, texts in zip(columns, cells)]

    def line(texts):
        return gap.join(t.ljust(w) if c.align == "left" else t.rjust(w)
                        for c, t, w in zip(columns, texts, widths)).rstrip()

    return [line([c.header for c in columns]), *(line(row) for row in zip(*cells))]


def _fit(columns, rows, width):
    """Lines of the table that fit `width`, and the caption of folded columns.

    Wider than the terminal? Columns that are the same on every row are stated
    once above the table; then the gaps narrow; last, the columns that still do
    not fit continue in a second table under the first, keyed by rank and trial.
    """
    cells = [[c.cell(row) for row in rows] for c in columns]
    folded = []
    if rows and max(map(len, _lines(columns, cells, GAPS[0]))) > width:
        keep = [i for i, c in enumerate(columns) if not (c.fold_as and len(set(cells[i])) == 1)]
        folded = [f"{columns[i].fold_as} {cells[i][0]}" for i in range(len(columns))
                  if i not in keep]
        columns, cells = [columns[i] for i in keep], [cells[i] for i in keep]
    for gap in GAPS:
        lines = _lines(columns, cells, gap)
        if max(map(len, lines)) <= width:
            return lines, folded
    return _wrap(columns, cells, width), folded


def _wrap(columns, cells, width):
    """The table split into stacked parts that each fit, rank and trial repeated in each."""
    key, rest = 2, list(range(2, len(columns)))
    parts = []
    while rest:
        take = [rest.pop(0)]
        while rest and max(map(len, _lines(*_pick(columns, cells, [0, 1, *take, rest[0]]),
                                           GAPS[1]))) <= width:
            take.append(rest.pop(0))
        parts.append(_lines(*_pick(columns, cells, [*range(key), *take]), GAPS[1]))
    return [line for i, part in enumerate(parts) for line in ([""] if i else []) + part]


def _pick(columns, cells, indices):
    return [columns[i] for i in indices], [cells[i] for i in indices]


def status_counts(rows):
    counts = {}
    for row in rows:
        word = STATUS_WORDS.get(row["status"], str(row["status"]).lower())
        counts[word] = counts.get(word, 0) + 1
    return ", ".join(f"{n} {word}" for word, n in counts.items())


def caption(ranking):
    """What a reader needs above the table: whose trials, ranked how, scored how."""
    p = ranking.protocol
    n = len(ranking.rows)
    trials = f"{n} trial{'s' * (n != 1)} ({status_counts(ranking.rows)})" if n else "no trials yet"
    lines = [f"{', '.join(ranking.names)}: {trials}; ranked by {ranking.objective.upper()}, "
             f"lower is better"]
    if p:
        lines.append(f"scored with {p.get('features')} features at {p.get('eval_size')}x"
                     f"{p.get('eval_size')}, {p.get('n_fake')} generated vs {p.get('n_real')} "
                     f"real images")
    return lines


def _not_shown(rows, top):
    visible = {id(row) for row in shown(rows, top)}
    hidden = [row for row in rows if id(row) not in visible]
    if top is None or not hidden:
        return []
    return [f"top {top} shown; not shown: {status_counts(hidden)}"]


def _failures(rows, width, indent="  "):
    """Why each failed trial failed, wrapped to `width` under its trial label."""
    lines = []
    for row in rows:
        if row.get("message"):
            label = f"{indent}trial {row['trial_id']}: "
            lines += textwrap.wrap(row["message"], width, initial_indent=label,
                                   subsequent_indent=" " * len(label), break_on_hyphens=False)
    return ["failed:", *lines] if lines else []


def format_text(ranking, top=None, width=80):
    """The ranking as an aligned text table no wider than `width` (captions wrapped too)."""
    rows = shown(ranking.rows, top)
    columns = leaderboard_columns(ranking.objective, len(ranking.studies) > 1, rows)
    table, folded = _fit(columns, rows, width)
    head = ([ranking.note] if ranking.note else []) + caption(ranking)
    if folded:
        head.append(f"same for every trial: {', '.join(folded)}")
    wrapped = [part for line in head for part in textwrap.wrap(line, width, subsequent_indent="  ")]
    return "\n".join(wrapped + table + _not_shown(ranking.rows, top) + _failures(rows, width))


def _md(text):
    return str(text).replace("|", "\\|")


def format_markdown(ranking, top=None):
    """The ranking as a GitHub-flavoured markdown table with its caption and failures."""
    rows = shown(ranking.rows, top)
    columns = leaderboard_columns(ranking.objective, len(ranking.studies) > 1, rows)
    head = ([f"*{_md(ranking.note)}*", ""] if ranking.note else []) + \
        [_md(line) + "  " for line in caption(ranking)]
    header = "| " + " | ".join(_md(c.header) for c in columns) + " |"
    rule = "|" + "|".join("---:" if c.align == "right" else ":---" for c in columns) + "|"
    body = ["| " + " | ".join(_md(c.cell(row)) for c in columns) + " |" for row in rows]
    failures = [f"- trial {_md(row['trial_id'])} ({row['status'].lower()}): {_md(row['message'])}"
                for row in rows if row.get("message")]
    tail = [""] + _not_shown(ranking.rows, top) if _not_shown(ranking.rows, top) else []
    failures = [""] + failures if failures else []
    return "\n".join(head + ["", header, rule, *body] + tail + failures)
