"""Tables of trial rows: aligned text for an 80-column terminal, markdown, CSV, JSON. No TF.

`render(rankings, format)` is the leaderboard (see `tuner.results.rankings.Ranking`), and
the table `python -m tuner.search` ends with.
"""


import csv
import html
import io
import json
import math
import textwrap
from dataclasses import dataclass
from typing import Callable

from tuner.common.names import DECIMALS, HEADERS, HYPERPARAMETERS, LABELS
from tuner.results.decisions import MIN_SEEDS, level_text, look_alpha, pairs
from tuner.results.intervals import interval_phrase
from tuner.results.runs import parse_rank_by
from tuner.results.snapshot import (
    EQUIVALENT,
    NOT_BEST,
    OPEN,
    OUT_OF_REACH,
    WORSE,
    spending_text,
)

FORMATS = ("table", "markdown", "csv", "json")
GAPS = ("  ", " ")  # column separators, the narrow one only when the wide one does not fit
STATUS_WORDS = {"COMPLETED": "done", "RUNNING": "running", "IDLE": "waiting",
                "INTERRUPTED": "interrupted", "FAILED": "failed", "INVALID": "invalid",
                "STOPPED": "stopped", "DAMAGED": "damaged"}
# The JSON/CSV schema, in order (README: "Leaderboard and report").
FIELDS = ("rank", "group", "study", "trial_id", "status", "hyperparameters", "objective",
          "rank_by", "repeats", "score_se", "vs_best", "may_be_best", "repeat_scores",
          "kid", "kid_std", "fd", "swd", "density", "coverage", "kid_train", "kid_heldout",
          "fd_heldout", "best", "best_epoch", "epochs", "diverged", "diverged_at_epoch",
          "diverged_reason", "seconds_per_epoch", "features", "eval_size", "protocol_key",
          "message", "folder", "retrain", "worker", "out", "unscored", "damaged", "eye")
VS_BEST = ("diff", "low", "high", "n", "settled", "method", "level", "pairs", "looks",
           "spending", "status", "equivalent", "upper", "margin", "margin_share", "mcb_level",
           "seeds_needed", "advice")
SETTLED, NOT_SETTLED, OUT = "settled", "?", "out"
# the `vs #1` word of each row's part in the selection (snapshot's statuses)
STATUS_CELL = {WORSE: SETTLED, NOT_BEST: "not best", EQUIVALENT: "tie", OPEN: NOT_SETTLED,
               OUT_OF_REACH: NOT_SETTLED}
ONE_RUN = ("one training run per configuration: the ranking ignores training noise "
           "(use --repeats)")

# ---------------------------------------------------------------- the leaderboard


def render(rankings, fmt="table", top=None, width=80):
    """The leaderboard of `rankings` (from `results.rankings.load_rankings`) as one string.

    Args:
        rankings: groups of trials ranked together; later groups carry a note
            saying why they are apart.
        fmt: one of FORMATS.
        top: show only the best `top` completed trials of each ranking.
        width: the terminal width the "table" format must fit.
    """
    if fmt == "json":
        return json.dumps(records(rankings, top), indent=2, allow_nan=False)
    if fmt == "csv":
        return format_csv(records(rankings, top))
    if fmt == "markdown":
        return "\n\n".join(format_markdown(r, top) for r in rankings)
    return "\n\n".join(format_text(r, top, width) for r in rankings)


def shown(rows, top):
    """The rows a leaderboard shows: all, or the `top` best completed ones."""
    return rows if top is None else [row for row in rows if row.get("rank")][:top]


def finite(value):
    """`value` with every float that is not finite (at any depth) as None: JSON has no
    Infinity (a score of 1e300 overflows its spread)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def records(rankings, top=None):
    """One dict per shown trial, keys in FIELDS order: the JSON view."""
    out = []
    for group, ranking in enumerate(rankings, start=1):
        for row in shown(ranking.rows, top):
            extra = {"group": group, "objective": ranking.objective, "rank_by": ranking.rank_by}
            out.append({k: finite(extra[k] if k in extra else row.get(k)) for k in FIELDS})
    return out


RETRAIN_CSV = ("kid", "kid_seed_std", "fd", "seeds", "epochs")
NESTED = ("hyperparameters", "retrain", "vs_best", "repeat_scores")


def _csv_header(recs):
    """FIELDS with the nested ones spread out: hyperparameters after `status`, `vs_best_*`
    and `repeat_seeds`/`repeat_scores` where they stand, `retrain_*` at the end."""
    names = list(HYPERPARAMETERS)
    names += sorted({k for r in recs for k in r["hyperparameters"]} - set(names))
    header = []
    for field in FIELDS:
        header += {"status": ["status", *names], "vs_best": [f"vs_best_{k}" for k in VS_BEST],
                   "repeat_scores": ["repeat_seeds", "repeat_scores"]}.get(
            field, [] if field in NESTED else [field])
    return header + [f"retrain_{k}" for k in RETRAIN_CSV]


def _csv_flat(rec):
    """One record as a flat dict: nested values spread out, the runs joined by ";"."""
    runs = rec.get("repeat_scores") or []
    return {**rec, **rec["hyperparameters"],
            **{f"vs_best_{k}": (rec.get("vs_best") or {}).get(k) for k in VS_BEST},
            "repeat_seeds": ";".join(str(r["seed"]) for r in runs),
            "repeat_scores": ";".join(repr(r["score"]) for r in runs),
            **{f"retrain_{k}": (rec.get("retrain") or {}).get(k) for k in RETRAIN_CSV}}


def flat_records(recs):
    """The CSV's columns and its rows as dicts (None where a cell is empty): the JSON records
    with nested values spread out (`learning_rate`, `vs_best_diff`, `retrain_kid`, ...)."""
    header = _csv_header(recs)
    return header, [{k: _csv_flat(rec).get(k) for k in header} for rec in recs]


def format_csv(recs):
    """The records as CSV: the JSON columns, nested ones spread into their own (`learning_rate`,
    `vs_best_diff`, `retrain_kid`, ...; the runs' seeds and scores joined by ";")."""
    header, rows = flat_records(recs)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for flat in rows:
        writer.writerow(["" if flat[k] is None else flat[k] for k in header])
    return buffer.getvalue().rstrip("\n")


@dataclass(frozen=True)
class Column:
    """A leaderboard column: its header, a row -> text function, if it may be folded into
    the caption when it is the same on every row its caption label, and whether a narrow
    terminal may leave it out (scores other than the objective; markdown keeps them)."""

    header: str
    cell: Callable
    fold_as: str | None = None
    align: str = "right"
    optional: bool = False


def _number(fmt):
    return lambda value: "-" if value is None else fmt.format(value)


def seconds(value):
    """Seconds per epoch with the digits that matter: 0.129, 2.00, 12.34, 123."""
    if value is None:
        return "-"
    return f"{value:.3f}" if value < 1 else f"{value:.2f}" if value < 100 else f"{value:.0f}"


def _hp(name, fmt):
    return lambda row: _number(fmt)(row["hyperparameters"].get(name))


def score_text(name, value):
    """A score with the digits that matter: KIDs to 4 decimals, FD and SWD to 2."""
    if value is None:
        return "-"
    return f"{value:.{DECIMALS[name]}f}" if name in DECIMALS else f"{value:.4g}"


def score_cell(row, name):
    """A score as one run shows it: KID with its spread over subsets (0.0291±0.0013)."""
    value = row.get(name)
    if value is None:
        return "-"
    if name == "kid" and row.get("kid_std") is not None:
        return f"{score_text(name, value)}±{score_text(name, row['kid_std'])}"
    return score_text(name, value)


def runs_cell(row, name):
    """The mean over runs ± its standard error, and the number of runs: 0.0291±0.0012 (3)."""
    if row.get(name) is None:
        return "-"
    spread = f"±{score_text(name, row['score_se'])}" if row.get("score_se") is not None else ""
    scored = len(row.get("repeat_scores") or [])
    runs = f"{scored} of {scored + row['unscored']}" if row.get("unscored") else str(scored)
    return f"{score_text(name, row[name])}{spread} ({runs})"


def vs_best_cell(row, name):
    """The mean paired difference from #1 and whether it is beyond noise: +0.0051 settled;
    "out" for a trial whose every run diverged."""
    if row.get("out"):
        return OUT
    vs = row.get("vs_best")
    if not vs or vs["diff"] is None:
        return "-" if not vs else NOT_SETTLED
    word = STATUS_CELL.get(vs.get("status")) or (SETTLED if vs["settled"] else NOT_SETTLED)
    return f"{'+' if vs['diff'] >= 0 else '-'}{score_text(name, abs(vs['diff']))} {word}"


def best_cell(row, name):
    """The optimistic best (each run's best evaluation, averaged) @ its epoch: 0.0280@75."""
    if row.get("best") is None:
        return "-"
    return f"{score_text(name, row['best'])}@{row.get('best_epoch', '-')}"


def _epochs(row):
    if row.get("epochs") is None:
        return "-"
    best = row["best_epoch"] if row.get("best_epoch") is not None else "-"
    return f"{best}/{row['epochs']}"


def status_word(row):
    """done, running, failed, ...; a completed trial whose runs all diverged: diverged;
    some of them: done*."""
    if row["status"] == "COMPLETED" and row.get("diverged"):
        return "diverged" if row["diverged"] >= (row.get("repeats") or 1) else "done*"
    return STATUS_WORDS.get(row["status"], str(row["status"]).lower())


def _trial_label(several_studies):
    if several_studies:
        return lambda row: f"{row['study']}/{row['trial_id']}"
    return lambda row: row["trial_id"]


def repeated(ranking):
    """Whether the ranking's studies train each configuration more than once."""
    return ranking.repeats > 1


def _score_columns(ranking, rows):
    """The objective (mean ± se (runs) when repeated), its comparison with #1, then the other
    scores (SWD only where recorded), which a narrow terminal may leave out."""
    objective = ranking.objective
    if repeated(ranking):
        first = [Column(f"{HEADERS.get(objective, objective)}±se (K)",
                        lambda r: runs_cell(r, objective)),
                 Column("vs #1", lambda r: vs_best_cell(r, objective))]
    else:
        header = "KID±std" if objective == "kid" else HEADERS.get(objective, objective)
        first = [Column(header, lambda r: score_cell(r, objective))]
    others = [name for name in ("kid", "fd", "swd") if name != objective
              and (name != "swd" or any(r.get("swd") is not None for r in rows))]
    return first + [Column("KID±std" if name == "kid" else HEADERS[name],
                           lambda r, name=name: score_cell(r, name), optional=True)
                     for name in others]


def leaderboard_columns(ranking, rows=None):
    """rank, trial, status, the four hyperparameters, the objective and its comparison with
    #1, the other scores, the optimistic best (or, ranked by the best evaluation, best epoch /
    epochs trained), seconds per epoch, feature network, and the retrained score when any of
    `rows` (default: the ranking's) was retrained."""
    rows = ranking.rows if rows is None else rows
    if parse_rank_by(ranking.rank_by)[0] == "best":
        best = Column("best/ep", _epochs)
    else:
        best = Column("best(opt)", lambda r: best_cell(r, ranking.objective))
    return [
        Column("rank", lambda r: "-" if r.get("rank") is None else str(r["rank"])),
        Column("trial", _trial_label(len(ranking.studies) > 1), align="left"),
        Column("status", status_word, align="left"),
        Column("lr", _hp("learning_rate", "{:.2g}"), fold_as="lr"),
        Column("beta1", _hp("beta_1", "{:.2g}"), fold_as="beta1"),
        Column("size", _hp("image_size", "{}"), fold_as="size"),
        Column("frac", _hp("subset_fraction", "{:.2g}"), fold_as="frac"),
        *_score_columns(ranking, rows),
        best,
        Column("s/ep", lambda r: seconds(r.get("seconds_per_epoch"))),
        Column("features", lambda r: r.get("features") or "-", fold_as="features", align="left"),
        *([Column("retrained", retrained_cell)] if any(r.get("retrain") for r in rows) else []),
        *([Column("eye", eye_cell)] if any(r.get("eye") is not None for r in rows) else []),
        *([Column("worker", lambda r: r.get("worker") or "-", align="left", optional=True)]
          if any(r.get("worker") for r in rows) else []),
    ]


def retrained_cell(row):
    """Retrained final KID, mean ± std over seeds, then seeds x epochs: 0.0412±0.0030 2x300."""
    retrain = row.get("retrain")
    if not retrain:
        return "-"
    spread = f"±{retrain['kid_seed_std']:.4f}" if retrain["kid_seed_std"] is not None else ""
    return f"{retrain['kid']:.4f}{spread} {retrain['seeds']}x{retrain['epochs']}"


def eye_cell(row):
    """The eye's Bradley-Terry preference score ± the half-width of its 95% interval: +0.52±0.61
    (higher: preferred by the eye; 0 is the average configuration)."""
    detail = row.get("eye_detail") or {}
    if row.get("eye") is None:
        return "-"
    return f"{row['eye']:+.2f}±{(detail['high'] - detail['low']) / 2:.2f}"


def eye_notes(rows):
    """What the eye column is, under a table that shows it."""
    if not any(row.get("eye") is not None for row in rows):
        return []
    return ["eye: preference by blind pairwise judgements (python -m tuner.eye), Bradley-Terry "
            "log-strength, 0 = the average configuration, higher = preferred, ± its 95% "
            "interval (observed information)"]


def _lines(columns, cells, gap):
    """Header and body lines of `columns` (cells[i] is column i's texts), aligned."""
    widths = [max([len(c.header), *map(len, texts)]) for c, texts in zip(columns, cells)]

    def line(texts):
        return gap.join(t.ljust(w) if c.align == "left" else t.rjust(w)
                        for c, t, w in zip(columns, texts, widths)).rstrip()

    return [line([c.header for c in columns]), *(line(row) for row in zip(*cells))]


def _fit(columns, rows, width):
    """Lines of the table that fit `width`, the caption of folded columns, and the headers of
    the columns left out.

    Wider than the terminal? Columns that are the same on every row are stated
    once above the table; then the gaps narrow; then the optional columns (scores
    other than the objective) are left out, last first; last, every column is
    kept and those that do not fit continue in a second table under the first,
    keyed by rank and trial.
    """
    cells = [[c.cell(row) for row in rows] for c in columns]
    folded = []
    if rows and max(map(len, _lines(columns, cells, GAPS[0]))) > width:
        keep = [i for i, c in enumerate(columns) if not (c.fold_as and len(set(cells[i])) == 1)]
        folded = [f"{columns[i].fold_as} {cells[i][0]}" for i in range(len(columns))
                  if i not in keep]
        columns, cells = _pick(columns, cells, keep)
    optional = [i for i, c in enumerate(columns) if c.optional]
    for n_out in range(len(optional) + 1):
        out = optional[len(optional) - n_out:]
        kept = _pick(columns, cells, [i for i in range(len(columns)) if i not in out])
        for gap in GAPS:
            lines = _lines(*kept, gap)
            if max(map(len, lines)) <= width:
                return lines, folded, [columns[i].header for i in out]
    return _wrap(columns, cells, width), folded, []


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
        word = status_word(row)
        counts[word] = counts.get(word, 0) + 1
    return ", ".join(f"{n} {word}" for word, n in counts.items())


def _seeds_text(seeds):
    """seeds 0-2, or seeds 0, 1, 5 when they are not consecutive."""
    seeds = sorted(seeds)
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"seeds {seeds[0]}-{seeds[-1]}"
    return f"seed{'s' * (len(seeds) != 1)} {', '.join(map(str, seeds))}"


def score_phrase(ranking):
    """What the ranking's score is: "final KID, mean over 3 runs (seeds 0-2)"."""
    label = LABELS.get(ranking.objective, ranking.objective.upper())
    rule, n = parse_rank_by(ranking.rank_by)
    phrase = {"final": f"final {label}", "best": f"best {label} (optimistic)",
              "last": f"{label}, mean of the last {n} evaluations"}[rule]
    if repeated(ranking):
        seeds = {s["seed"] for r in ranking.rows for s in r.get("repeat_scores") or []
                 if isinstance(s.get("seed"), int)}
        phrase += f"; mean over {_runs_text(ranking)}" + (f" ({_seeds_text(seeds)})"
                                                          if seeds else "")
    return phrase


def _runs_text(ranking):
    """The runs the configurations have: "3 runs", or "3-5 runs each" after a race."""
    counts = {len(r.get("repeat_scores") or []) for r in ranking.rows if r["status"] == "COMPLETED"}
    counts.discard(0)
    if not counts:
        return f"{ranking.repeats} runs"
    low, high = min(counts), max(counts)
    return f"{low} run{'s' * (low != 1)}" if low == high else f"{low}-{high} runs each"


def caption(ranking):
    """What a reader needs above the table: whose trials, ranked how, scored how."""
    p = ranking.protocol
    n = len(ranking.rows)
    trials = f"{n} trial{'s' * (n != 1)} ({status_counts(ranking.rows)})" if n else "no trials yet"
    lines = [f"{', '.join(ranking.names)}: {trials}; ranked by {score_phrase(ranking)}, "
             f"lower is better"]
    if p:
        mirrors = " and their mirror images" if p.get("reference_flips") else ""
        lines.append(f"scored with {p.get('features')} features at {p.get('eval_size')}x"
                     f"{p.get('eval_size')}, {p.get('n_fake')} generated vs {p.get('n_real')} "
                     f"real images{mirrors}")
    if len(ranking.studies) == 1 and (spent := spending_text(ranking.studies[0])):
        lines.append(spent)
    return lines


def _interval_text(row, name):
    """One not-settled pair, its numbers and what would settle it, e.g. "trial 2: +0.0012,
    99.5% interval -0.0010 to +0.0034 over 3 seeds; about 7 seeds (now 3) for 80% power if
    the difference held"."""
    vs = row["vs_best"]
    head = f"trial {row['trial_id']}: "
    if vs["n"] == 0:
        return head + "no seed in common with #1, so no paired comparison; " + vs["advice"]
    return head + interval_phrase(vs, name) + (f"; {vs['advice']}" if vs.get("advice") else "")


def family_text(ranking, rows=None):
    """How the table's intervals hold together: "99.5% paired-t interval (95% simultaneous,
    Bonferroni over the 10 pairs and 1 planned look)", or, spending by seeds, "paired-t
    interval (95% simultaneous over the 10 pairs and every look: each number of seeds
    spends its share of the 5%)"."""
    compared = [row for row in (ranking.rows if rows is None else rows)
                if row.get("rank") and not row.get("out")]
    k, spending = len(compared), _spending(ranking)
    m = pairs(k)
    if spending.by_seeds:
        return (f"paired-t interval (95% simultaneous over the {m} pair{'s' * (m != 1)} of "
                f"the {k} compared trials and every look: each number of seeds spends its "
                f"share of the 5%)")
    looks = spending.looks
    level = 1 - look_alpha(looks) / max(1, m)
    return (f"{level_text(level)} paired-t interval (95% simultaneous, Bonferroni over the "
            f"{m} pair{'s' * (m != 1)} of the {k} compared trials and {looks} planned "
            f"look{'s' * (looks != 1)})")


def _spending(ranking):
    from tuner.results.decisions import Spending

    return getattr(ranking, "spending", None) or Spending(ranking.looks)


def _trials(rows):
    ids = [row["trial_id"] for row in rows]
    return f"trial{'s' * (len(ids) != 1)} " + (", ".join(ids[:-1]) + " and " + ids[-1]
                                               if len(ids) > 1 else ids[0])


def answer_lines(ranking, rows=None):
    """The leaderboard's answer to "which is best", in words: #1 and the rows within the
    margin of it, settled worse, not the best, still open or out of reach (see
    `results.decisions.selection`); [] for a ranking of single runs or of one trial."""
    ranked = [row for row in (ranking.rows if rows is None else rows)
              if row.get("rank") and not row.get("out")]
    if len(ranked) < 2 or not repeated(ranking):
        return []
    by = {status: [r for r in ranked[1:] if (r.get("vs_best") or {}).get("status") == status]
          for status in (WORSE, NOT_BEST, EQUIVALENT, OPEN, OUT_OF_REACH)}
    margin = ranked[1]["vs_best"].get("margin_share")
    if margin is None:
        return []
    parts = [f"best: trial {ranked[0]['trial_id']}"]
    if by[EQUIVALENT]:
        parts.append(f"{_trials(by[EQUIVALENT])} within the {margin:.0%} margin of it "
                     f"(settled)")
    if by[WORSE] or by[NOT_BEST]:
        gone = by[WORSE] + by[NOT_BEST]
        rest = "the rest" if len(gone) == len(ranked) - 1 - len(by[EQUIVALENT]) and \
            not by[OPEN] and not by[OUT_OF_REACH] else _trials(gone)
        parts.append(f"{rest} settled worse" if not by[NOT_BEST] else
                     f"{rest} cannot be the best")
    if by[OPEN]:
        parts.append(f"{_trials(by[OPEN])} still open (may be the best)")
    if by[OUT_OF_REACH]:
        parts.append(f"{_trials(by[OUT_OF_REACH])} out of reach within "
                     f"{getattr(ranking, 'cap', None) or '?'} seeds (may be the best)")
    settled = not by[OPEN] and not by[OUT_OF_REACH]
    head = "the selection is settled: " if settled else "the selection is not settled: "
    return [head + "; ".join(parts)]


def comparison_notes(ranking, rows):
    """Under the table: how to read `vs #1`, then each not-settled pair with its numbers; or,
    for a single-run ranking, that the order ignores training noise."""
    ranked = [row for row in rows if row.get("rank")]
    if not repeated(ranking):
        return [ONE_RUN] if len(ranked) > 1 else []
    out = f"; {OUT}: every run diverged, compared with none" if any(
        row.get("out") for row in ranked) else ""
    lines = [f"vs #1: mean paired difference from #1 over the seeds both ran; {SETTLED}: its "
             f"{family_text(ranking)} lies above 0; {STATUS_CELL[NOT_BEST]}: another trial "
             f"is at least as good (multiple comparisons with the best, 95%); "
             f"{STATUS_CELL[EQUIVALENT]}: within the margin of the best (95%); "
             f"{NOT_SETTLED}: not settled, within training noise (fewer than {MIN_SEEDS} "
             f"shared seeds decide nothing){out}"]
    open_pairs = [row for row in ranked if row.get("vs_best")
                  and row["vs_best"].get("status", OPEN) in (OPEN, OUT_OF_REACH)
                  and not row["vs_best"]["settled"]]
    if open_pairs:
        lines += [f"not settled against #1 (trial {ranked[0]['trial_id']}):"]
        lines += ["  " + _interval_text(row, ranking.objective) for row in open_pairs]
    unscored = [row for row in rows if row.get("unscored")]
    if unscored:
        lines += ["runs without a score (compared on the scored ones, ranked after the trials "
                  "with every run scored):"]
        lines += [f"  trial {row['trial_id']}: {len(row.get('repeat_scores') or [])} of "
                  f"{len(row.get('repeat_scores') or []) + row['unscored']} runs scored"
                  for row in unscored]
    return lines


def divergence_notes(rows):
    """One line per trial with diverged runs: "trial 3: 2 of 3 runs diverged (epochs 5, 7):
    reason"; such trials are ranked with the score they had when they stopped."""
    lines = []
    for row in (r for r in rows if r.get("diverged")):
        epochs = [s["diverged_at_epoch"] for s in row.get("repeat_scores") or []
                  if s.get("diverged_at_epoch") is not None]
        if row.get("out") and (row.get("repeats") or 1) > 1:
            what = f"out, {row['out']}" + (
                f" (epoch{'s' * (len(epochs) > 1)} {', '.join(map(str, epochs))})" * bool(epochs))
        elif (row.get("repeats") or 1) == 1:
            what = f"diverged at epoch {epochs[0]}" if epochs else "diverged"
        else:
            where = f" (epoch{'s' * (len(epochs) > 1)} {', '.join(map(str, epochs))})"
            what = f"{row['diverged']} of {row['repeats']} runs diverged" + (where * bool(epochs))
        reason = f": {row['diverged_reason']}" if row.get("diverged_reason") else ""
        lines.append(f"  trial {row['trial_id']}: {what}{reason}")
    last = "; a trial whose every run diverged after the rest" if any(
        row.get("out") for row in rows) else ""
    return [f"diverged (ranked with the score at the point they stopped{last}):", *lines] \
        if lines else []


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


def damage_notes(rows):
    """Each damaged trial's file and what could not be read in it, and the way on."""
    lines = [f"  trial {row['trial_id']}: {row['damaged']}" for row in rows if row.get("damaged")]
    return ["damaged (files that cannot be read; not ranked: `python -m tuner.search` with the "
            "study's options and --repair sets them aside and reruns those trials):",
            *lines] if lines else []


def timing_notes(rows):
    """What `s/ep` is, under a table that shows it: a load-robust figure, so say which."""
    if not any(row.get("seconds_per_epoch") is not None for row in rows):
        return []
    return ["s/ep: seconds per training epoch, scoring excluded: each run's 10th-percentile "
            "epoch after the first (robust to a busy machine), mean over runs"]


def _wrapped(lines, width):
    """Lines wrapped to `width`; continuation lines indented two more than the line's own."""
    return [part for line in lines for part in textwrap.wrap(
        line, width, subsequent_indent=" " * (len(line) - len(line.lstrip()) + 2),
        break_on_hyphens=False)]


def format_text(ranking, top=None, width=80):
    """The ranking as an aligned text table no wider than `width` (captions wrapped too)."""
    rows = shown(ranking.rows, top)
    columns = leaderboard_columns(ranking, rows)
    table, folded, dropped = _fit(columns, rows, width)
    head = answer_lines(ranking, rows) + ([ranking.note] if ranking.note else []) \
        + caption(ranking)
    if folded:
        head.append(f"same for every trial: {', '.join(folded)}")
    if dropped:
        head.append(f"not shown at this width: {', '.join(dropped)} (see --format markdown)")
    notes = comparison_notes(ranking, rows) + divergence_notes(rows) + damage_notes(rows) \
        + timing_notes(rows) + eye_notes(rows)
    return "\n".join(_wrapped(head, width) + table + _not_shown(ranking.rows, top)
                     + _wrapped(notes, width) + _failures(rows, width))


def _md(text):
    """`text` as a markdown table cell or line: its HTML escaped (a study name or claim text
    is the user's; rendered markdown passes HTML through), its pipes too."""
    return html.escape(str(text), quote=False).replace("|", "\\|")


def format_markdown(ranking, top=None):
    """The ranking as a GitHub-flavoured markdown table with its caption, notes and failures."""
    rows = shown(ranking.rows, top)
    columns = leaderboard_columns(ranking, rows)
    head = [f"**{_md(line)}**  " for line in answer_lines(ranking, rows)] + \
        ([f"*{_md(ranking.note)}*", ""] if ranking.note else []) + \
        [_md(line) + "  " for line in caption(ranking)]
    header = "| " + " | ".join(_md(c.header) for c in columns) + " |"
    rule = "|" + "|".join("---:" if c.align == "right" else ":---" for c in columns) + "|"
    body = ["| " + " | ".join(_md(c.cell(row)) for c in columns) + " |" for row in rows]
    notes = [_md(line) + "  " for line in comparison_notes(ranking, rows) + divergence_notes(rows)
             + damage_notes(rows) + timing_notes(rows) + eye_notes(rows)]
    failures = [f"- trial {_md(row['trial_id'])} ({row['status'].lower()}): {_md(row['message'])}"
                for row in rows if row.get("message")]
    tail = [""] + _not_shown(ranking.rows, top) if _not_shown(ranking.rows, top) else []
    notes = [""] + notes if notes else []
    failures = [""] + failures if failures else []
    return "\n".join(head + ["", header, rule, *body] + tail + notes + failures)
