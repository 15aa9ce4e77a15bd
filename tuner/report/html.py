"""The HTML report of a study: one self-contained page a person opens in a browser.

    claims (each verdict with its numbers and figure, when the space file has
    claims) -> leaderboard (mean ± se over training runs, settled or not against #1) -> the
    eye (blind judgements set against the scores, when judged) -> score against each
    hyperparameter -> seconds per epoch per image size (beside the lab's) -> every
    trial's score curves (one per run) and sample grids over epochs -> provenance (data,
    scoring protocol, versions, command line)

Every image is a PNG embedded as a data URI, so the page is one file that can be
mailed or archived; every text from the study folder is HTML-escaped. A tiny
script records on load how many images failed to decode (`data-broken-images`
on <body>), which the browser test reads. No TensorFlow.
"""


import io
import math
import statistics
import time
from pathlib import Path

from PIL import Image

from tuner.common import files
from tuner.common.errors import UsageError
from tuner.common.names import DECIMALS, HYPERPARAMETERS, LABELS
from tuner.report import plots
from tuner.report.eye_section import eye_section
from tuner.report.page import GUTTER, escape, img_tag, page, thumbnail
from tuner.report.tables import (
    answer_lines,
    best_cell,
    caption,
    comparison_notes,
    damage_notes,
    divergence_notes,
    leaderboard_columns,
    repeated,
    runs_cell,
    score_cell,
    score_phrase,
    score_text,
    seconds,
    status_counts,
    status_word,
)
from tuner.report.verdict_text import looks_text
from tuner.results.decisions import MIN_SEEDS, level_text
from tuner.results.rankings import Ranking
from tuner.results.runs import load_evaluations
from tuner.results.snapshot import sample_grids, spending_text
from tuner.results.verdicts import study_claims, weigh

REPORT_FILE = "report.html"
# The lab's measured training time per epoch, by image size (its report's epoch-time table).
LAB_SECONDS_PER_EPOCH = {32: 0.129, 64: 0.200, 128: 1.046}
WINNERS = 3          # the best trials also show their best grid whole...
WHOLE_MIN = 300      # ...at least this wide
GRID_ACROSS = 8      # faces per row of a sample grid (64 samples)
FAILED = plots.FAILED


def write_report(study, path=None):
    """Write the report of `study` (a StudySnapshot) to `path` or <study>/report.html; return it."""
    path = Path(path) if path else Path(study.path) / REPORT_FILE
    files.write_bytes(path, render_report(study).encode("utf-8"))
    return path


def render_report(study):
    """The report page of `study` as an HTML string."""
    sections = [_summary(study), _claims(study), _leaderboard(study), eye_section(study),
                _comparisons(study),
                _epoch_times(study), _trials(study), _provenance(study)]
    return page(f"{study.name}: DCGAN tuner report", "\n".join(sections))


def _hp_text(row):
    hp = row["hyperparameters"]
    return ", ".join(f"{name} {escape(_short(hp.get(name)))}" for name in HYPERPARAMETERS)


def _short(value):
    return "-" if value is None else f"{value:.2g}" if isinstance(value, float) else str(value)


def _score_text(row, name):
    return score_cell(row, name).replace("±", " ± ")


# ---------------------------------------------------------------- sections


def _summary(study):
    rows = study.rows
    meta = study.meta
    ranking = _ranking(study)
    lines = [f"<h1>{escape(study.name)}</h1>",
             f'<p class="lead">{escape(meta.get("space", {}).get("description", ""))}</p>',
             f"<p>{len(rows)} trial{'s' * (len(rows) != 1)} "
             f"({escape(status_counts(rows)) or 'none yet'}), ranked by "
             f"<b>{escape(score_phrase(ranking))}</b> (lower is better). "
             f"Report written {escape(time.strftime('%Y-%m-%d %H:%M'))} from "
             f"<code>{escape(study.path)}</code>.</p>"]
    if spent := spending_text(study):
        lines.append(f"<p>{escape(spent)}.</p>")
    ranked = [row for row in rows if row.get("rank")]
    if ranked:
        lines.append(f'<p class="winner">{_winner_text(ranked, ranking)}</p>')
        lines += [f"<p><b>{escape(line[0].upper() + line[1:])}.</b></p>"
                  for line in answer_lines(ranking)]
    return "<header>" + "\n".join(lines) + "</header>"


def _claims(study):
    """The space file's claims, each with its verdict, its numbers and the figure behind it."""
    try:
        claims = study_claims(study.path)
    except UsageError as err:
        return f'<section><h2>Claims</h2><p class="reason">{escape(err)}</p></section>'
    if not claims:
        return ""
    parts = ["<section><h2>Claims</h2><p>Each statement of the space file, checked against "
             "the numbers: intervals are paired t over the seeds the configurations share, at "
             "levels that keep each check's verdict within 5% error over "
             f"{escape(looks_text(study.looks, study.spending.name))}.</p>"]
    for verdict in weigh(study.path, claims):
        claim = verdict.as_dict()
        css = claim["verdict"].replace(" ", "-")
        parts.append(f'<div class="claim"><h3>Claim {escape(claim["id"])} <span class="verdict '
                     f'{css}">{escape(claim["verdict"])}</span></h3><p>{escape(claim["text"])}</p>')
        for check, source in zip(claim["checks"], next(c for c in claims if c.id == verdict.id)
                                 .checks, strict=True):
            parts.append(_claim_check(check, source))
        parts.append("</div>")
    return "\n".join(parts) + "</section>"


def _claim_check(check, source):
    lines = [f'<p><b>{escape(check["kind"])}</b> ({escape(check["verdict"])}): '
             f'{escape(check["statement"])}.<br>{escape(check["why"])}']
    if check["settle"]:
        lines.append(f'<br><span class="note">to settle: {escape(check["settle"])}</span>')
    lines.append("</p>")
    if check["kind"] == "plateau" and check["curves"]:
        lines.append(img_tag(plots.claim_curves(check, source.after_epoch),
                          "score against epochs", "plot"))
    elif check["sides"] and check["kind"] != "diverges":
        lines.append(img_tag(plots.claim_sides(check), f"{check['quantity']} by configuration",
                          "plot"))
    grids = [(side["label"], side["grids"][0]) for side in check["sides"] if side["grids"]]
    if grids and check["kind"] != "increases":
        lines.append('<div class="grids">' + "".join(
            _side_grid(Path(path), label) for label, path in grids) + "</div>")
    return "\n".join(lines)


def _side_grid(path, label):
    """The first faces of a configuration's last sample grid (run 0), captioned with it."""
    try:
        with Image.open(path) as image:
            face = (image.width + GUTTER) // GRID_ACROSS - GUTTER
        png, width = thumbnail(path, face)
    except OSError:
        return f'<figure><p class="note">{escape(label)}: unreadable</p></figure>'
    return (f'<figure>{img_tag(png, label, "grid", width)}<figcaption>{escape(label)}</figcaption>'
            f"</figure>")


def _objective_text(row, ranking):
    """The objective as the leaderboard states it: mean ± se (K runs), or one run's ± std."""
    if repeated(ranking):
        return runs_cell(row, ranking.objective).replace("±", " ± ").replace(
            ")", " runs)")
    return _score_text(row, ranking.objective)


def _margin_text(second, best, objective):
    """How far #2 is behind #1, and whether that is beyond training noise (paired numbers)."""
    if second.get("out"):
        return f": out of the comparison, {second['out']}"
    vs = second.get("vs_best") or {"diff": None, "low": None, "n": 0}
    diff = vs["diff"] if vs["diff"] is not None else second[objective] - best[objective]
    digits = DECIMALS.get(objective, 4)
    text = f" by {diff:.{digits}f}"
    if vs["low"] is None:
        if vs["n"] >= 2:
            return text + f": not settled, {vs['n']} shared seeds (needs {MIN_SEEDS})"
        return text + ": not settled, one training run each, so the order ignores training noise"
    word = "settled" if vs["settled"] else "within the margin of it (a tie)" \
        if vs.get("equivalent") else "not settled, within training noise"
    looks = "every look, each number of seeds spending its share" \
        if vs.get("spending") == "seeds" else _count(vs["looks"], "planned look")
    return (text + f": {word} (paired over {vs['n']} seeds, {level_text(vs['level'])} "
            f"interval {vs['low']:.{digits}f} to {vs['high']:.{digits}f}: 95% simultaneous "
            f"over {_count(vs['pairs'], 'pair')} and {looks}, Bonferroni)")


def _count(n, noun):
    return f"{n} {noun}{'s' * (n != 1)}"


def _winner_text(ranked, ranking):
    """Who won and by how much: the margin to the runner-up, and whether it is settled."""
    best, objective = ranked[0], ranking.objective
    label = LABELS.get(objective, objective.upper())
    text = (f"Best: <a href=\"#trial-{escape(best['trial_id'])}\">trial {escape(best['trial_id'])}</a> "
            f"({_hp_text(best)}): {escape(label)} {escape(_objective_text(best, ranking))}")
    if len(ranked) > 1:
        second = ranked[1]
        text += (f", ahead of #2 (trial {escape(second['trial_id'])}, "
                 f"{escape(_objective_text(second, ranking))})"
                 f"{escape(_margin_text(second, best, objective))}")
    return text + "."


def _board_row(row, columns):
    """One leaderboard row; the trial id links to the trial's section further down."""
    cls = "best" if row.get("rank") == 1 else "failed" if row["status"] in FAILED else ""
    cells = []
    for c in columns:
        text = escape(c.cell(row))
        if c.header == "trial":
            text = f'<a href="#trial-{escape(row["trial_id"])}">{text}</a>'
        cells.append(f'<td class="{c.align}">{text}</td>')
    return f'<tr class="{cls}">{"".join(cells)}</tr>'


def _leaderboard(study):
    ranking = _ranking(study)
    columns = leaderboard_columns(ranking)
    head = "".join(f'<th class="{c.align}">{escape(c.header)}</th>' for c in columns)
    body = "".join(_board_row(row, columns) for row in study.rows)
    scoring = "".join(f"{escape(line)}<br>" for line in caption(ranking)[1:])
    notes = comparison_notes(ranking, study.rows) + divergence_notes(study.rows) \
        + damage_notes(study.rows)
    notes = "".join(f"{escape(line)}<br>" for line in notes)
    failures = "".join(f"<li>trial {escape(r['trial_id'])}: {escape(r['message'])}</li>"
                       for r in study.rows if r.get("message"))
    if failures:
        failures = f'<h3>Failed trials</h3><ul class="failures">{failures}</ul>'
    return (f"<section><h2>Leaderboard</h2>{scoring}<div class=\"wide\"><table class=\"board\">"
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
            f'<p class="note">{notes}</p>{failures}</section>')


def _ranking(study):
    return Ranking((study,), study.rows, study.objective, study.protocol)


def _comparisons(study):
    figures = [img_tag(plots.comparison(study.rows, name, study.objective),
                    f"{study.objective} against {name}, one point per trial")
               for name in HYPERPARAMETERS]
    return ("<section><h2>Score against each hyperparameter</h2>"
            f"<p>Each point is a trial ({escape(score_phrase(_ranking(study)))}), coloured "
            "by image size; the bar is the standard error over the trial's training runs (one "
            "run: KID's standard deviation over subsets); diamonds are trials with diverged "
            "runs, plotted with the score they had when they stopped; hollow points are trials "
            "still running; red crosses along the top are failed trials.</p>"
            f'<div class="plots">{"".join(figures)}</div></section>')


def epoch_times(rows):
    """Seconds per epoch of the completed trials, by image size: {size: [seconds, ...]}."""
    by_size = {}
    for row in rows:
        size, seconds = row["hyperparameters"].get("image_size"), row.get("seconds_per_epoch")
        if size is not None and seconds is not None:
            by_size.setdefault(size, []).append(seconds)
    return by_size


def _time_row(size, measured):
    lab = LAB_SECONDS_PER_EPOCH.get(size)
    cells = [f"{size}x{size}", "–" if lab is None else f"{lab:.3f}"]
    if measured:
        cells += [seconds(statistics.median(measured)),
                  f"{seconds(min(measured))} – {seconds(max(measured))}",
                  len(measured)]
    else:
        cells += ["–", "–", 0]
    return "<tr>" + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>"


def _time_note(study):
    """What the measured times depend on, so nobody compares them with the lab's blindly."""
    data, train = study.meta.get("data", {}), study.meta.get("train", {})
    per_epoch = data.get("images", 0) * (2 if data.get("flip") else 1)
    mirrored = " and their mirror images" if data.get("flip") else ""
    return (f'<p class="note">This study: batch size {escape(train.get("batch_size", "?"))}, '
            f"{escape(per_epoch)} training images per epoch at subset fraction 1 "
            f"({escape(data.get('images', '?'))} faces{mirrored}), "
            f"precision {escape(train.get('precision', '?'))}. Each trial's time is the median "
            "over its epochs, scoring excluded. The lab's times come from its own machine and "
            "data, so compare the growth with image size rather than the numbers.</p>")


def _epoch_times(study):
    by_size = epoch_times(study.rows)
    rows = [_time_row(size, by_size.get(size, []))
            for size in sorted(set(LAB_SECONDS_PER_EPOCH) | set(by_size))]
    return ("<section><h2>Seconds per epoch by image size</h2>"
            '<table class="times"><thead><tr><th>image size</th><th>the lab</th>'
            "<th>this study (median)</th><th>range</th><th>trials</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>" + _time_note(study) + "</section>")


def _trials(study):
    parts = ["<section><h2>Trials</h2><p>The first 16 samples at each evaluation, from the "
             "same latent vectors every time: a face at one place in the grid is one latent "
             "vector evolving over epochs. The best evaluation is framed in green; the best "
             f"{WINNERS} trials also show all their samples at their best epoch.</p>"]
    planned = study.meta.get("train", {}).get("epochs")
    parts += [_trial(row, bool(row.get("rank")) and row["rank"] <= WINNERS, study, planned)
              for row in study.rows]
    return "\n".join(parts) + "</section>"


def _runs_text(row, objective):
    """The objective over a trial's runs: "0.0291 ± 0.0012 over 3 runs (seed 0: 0.0286, ...)"."""
    runs = row.get("repeat_scores") or []
    if len(runs) < 2:
        return _score_text(row, objective)
    each = ", ".join(f"seed {r['seed']}: {score_text(objective, r['score'])}" for r in runs)
    return (f"{score_text(objective, row[objective])} ± "
            f"{score_text(objective, row['score_se'])} over {len(runs)} runs ({each})")


def _scores_text(row, objective):
    """The objective first (over runs when repeated), then every other score recorded."""
    label = LABELS.get(objective, objective.upper())
    texts = [f"{label} {_runs_text(row, objective)}"]
    texts += [f"{LABELS[name]} {_score_text(row, name)}"
              for name in ("kid", "fd", "swd", "kid_heldout", "fd_heldout")
              if name != objective and row.get(name) is not None]
    return ", ".join(texts)


def _epoch_facts(row, study, planned_epochs):
    """Where the trial's best evaluation was (optimistic, unless it is the ranking rule)."""
    if row.get("epochs") is None:
        return []
    if study.rank_by == "best":
        best = f"best epoch {row.get('best_epoch')}"
    else:
        best = f"best (optimistic) {best_cell(row, study.objective)}".replace(
            "@", " at epoch ")
    if row["status"] == "COMPLETED":
        return [f"{best} of {row['epochs']}"]
    return [f"so far: {best}, last scored epoch {row['epochs']} of {planned_epochs or '?'}"]


def _trial_facts(row, study, planned_epochs):
    facts = [_hp_text(row)]
    if row.get(study.objective) is not None:
        facts.append(escape(_scores_text(row, study.objective)))
    facts += [escape(fact) for fact in _epoch_facts(row, study, planned_epochs)]
    if row.get("seconds_per_epoch") is not None:
        facts.append(f"{escape(seconds(row['seconds_per_epoch']))} s/epoch")
    if row.get("worker"):
        facts.append(f"run by worker {escape(row['worker'])}")
    return f'<p class="facts">{" · ".join(facts)}</p>'


def _diverged_epochs(row):
    return [r["diverged_at_epoch"] for r in row.get("repeat_scores") or []
            if r.get("diverged_at_epoch") is not None]


def _trial_pictures(row, winner):
    """The score curves (one line per run), the row of grids over epochs and, for a winner,
    its best grid whole."""
    folder = Path(row["folder"])
    evaluations, grids = load_evaluations(folder), sample_grids(folder)
    if not evaluations and not grids:
        return ['<p class="note">No evaluation.</p>']
    pictures = []
    if evaluations:
        one_run = len(row.get("repeat_scores") or []) <= 1
        curve = plots.score_curve(evaluations, row.get("best_epoch") if one_run else None,
                                  _diverged_epochs(row))
        pictures.append(img_tag(curve, f"scores and losses of trial {row['trial_id']} over epochs, "
                                    f"one line per training run", "curve"))
    size, best = row["hyperparameters"].get("image_size"), row.get("best_epoch")
    if grids:
        pictures.append('<div class="grids">' + "".join(
            _grid_figure(path, epoch, size, epoch == best) for epoch, path in grids) + "</div>")
    if winner and best in dict(grids):
        pictures.append(_whole_grid(dict(grids)[best], best))
    return pictures


def _trial(row, winner, study, planned_epochs=None):
    rank = f"#{row['rank']} · " if row.get("rank") else ""
    status = status_word(row)
    css = "diverged" if row.get("diverged") and row["status"] == "COMPLETED" else status
    body = [f'<section class="trial" id="trial-{escape(row["trial_id"])}">',
            f'<h3>{rank}trial {escape(row["trial_id"])} <span class="status {escape(css)}">'
            f"{escape(status)}</span></h3>", _trial_facts(row, study, planned_epochs)]
    if row.get("message"):
        body.append(f'<p class="reason">{escape(row["message"])}</p>')
    body += [f'<p class="note">{escape(line)}</p>' for line in divergence_notes([row])[1:]]
    return "\n".join(body + _trial_pictures(row, winner)) + "</section>"


def _grid_figure(path, epoch, size, best):
    try:
        png, width = thumbnail(path, size)
    except OSError:  # being written right now, or damaged: say so rather than fail the report
        return f'<figure><p class="note">epoch {epoch}: unreadable</p></figure>'
    caption = f"epoch {epoch}" + (" (best)" if best else "")
    return (f'<figure class="{"best" if best else ""}">{img_tag(png, caption, "grid", width)}'
            f"<figcaption>{escape(caption)}</figcaption></figure>")


def _whole_grid(path, epoch):
    """A winner's best grid, every sample, enlarged (pixelated) when its faces are small."""
    try:
        png = path.read_bytes()
        with Image.open(io.BytesIO(png)) as image:
            width = image.width * max(1, math.ceil(WHOLE_MIN / image.width))
    except OSError:
        return ""
    return (f'<figure class="whole">{img_tag(png, f"all samples at epoch {epoch}", "grid", width)}'
            f"<figcaption>all samples at the best epoch ({escape(epoch)})</figcaption></figure>")


def _definitions(title, mapping):
    items = "".join(f"<dt>{escape(k)}</dt><dd>{escape('–' if v is None else v)}</dd>"
                    for k, v in mapping.items())
    return f"<div><h3>{escape(title)}</h3><dl>{items}</dl></div>"


def _provenance(study):
    meta = study.meta
    space = meta.get("space", {})
    run = {"study": study.name, "created": meta.get("created"), "tuner": meta.get("tuner"),
           "max trials": meta.get("max_trials"), "objective": study.objective,
           "space": f"{space.get('name')} ({space.get('path')})"}
    return ("<section><h2>Provenance</h2>"
            f"<p>Command line: <code>{escape(meta.get('command') or '(not recorded)')}</code></p>"
            '<div class="prov">'
            + _definitions("Study", run)
            + _definitions("Training (fixed for every trial)", meta.get("train", {}))
            + _definitions("Data", meta.get("data", {}))
            + _definitions("Scoring protocol", {**study.protocol,
                                                "protocol key": meta.get("protocol_key")})
            + _definitions("Package versions", meta.get("versions", {}))
            + "</div>"
            + f"<h3>Space file</h3><pre>{escape(space.get('text', ''))}</pre></section>")
