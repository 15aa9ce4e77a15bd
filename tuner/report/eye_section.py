"""The report's section on the eye: blind judgements (python -m tuner.eye) set against the
scores. No TF."""

from tuner.common.names import HEADERS
from tuner.report.page import escape
from tuner.report.tables import score_text
from tuner.results.eye_file import read_eye, read_rescores
from tuner.results.eye_scores import agreement_table


def _pct(rate, low, high):
    return "-" if rate is None else f"{rate:.0%} ({low:.0%}-{high:.0%})"


def _hp_text(row):
    hp = row.get("hyperparameters") or {}
    return ", ".join(f"{k}={hp[k]:g}" if isinstance(hp[k], float) else f"{k}={hp[k]}"
                     for k in ("learning_rate", "beta_1", "image_size", "subset_fraction")
                     if hp.get(k) is not None)


def eye_section(study):
    """The section's HTML: each configuration's preference and fooled rate, how often each
    metric agrees with the eye, and how the numbers are made; "" when nobody judged."""
    eye = study.eye
    if not eye:
        return ""
    rows = [row for row in study.rows if row.get("eye_detail")]
    body = []
    for row in rows:
        detail = row["eye_detail"]
        fooled = detail.get("fooled") or {}
        preference = "-" if "score" not in detail else \
            f"{detail['score']:+.2f} ({detail['low']:+.2f} to {detail['high']:+.2f})"
        faces = fooled.get("faces", 0)
        body.append(
            f"<tr><td>{escape(row['trial_id'])}</td><td class=\"left\">{escape(_hp_text(row))}"
            f"</td>" + "".join(f"<td>{score_text(m, row.get(m))}</td>" for m in ("kid", "fd", "swd"))
            + f"<td>{preference}</td><td>{detail.get('choices', 0)}</td>"
            f"<td>{_pct(fooled.get('fooled'), fooled.get('low'), fooled.get('high'))}</td>"
            f"<td>{faces}</td></tr>")
    head = "".join(f"<th>{escape(h)}</th>" for h in (
        "trial", "configuration", "KID", "FD", "SWD", "eye preference (95%)", "choices",
        "fooled rate (95%)", "faces"))
    agreement = "".join(
        f"<li>{escape(HEADERS.get(a['metric'], a['metric'].upper()))}: agrees with the eye on "
        f"{a['agree']} of {a['decided']} decided choices"
        + (f", {_pct(a['rate'], a['low'], a['high'])}" if a["decided"] else "") + "</li>"
        for a in eye["agreement"])
    real = eye["fooled"].get(None)
    real_text = (f"<p>Real faces judged real: {_pct(real['fooled'], real['low'], real['high'])} "
                 f"of {real['faces']}.</p>") if real else ""
    judges = ", ".join(eye["judges"]) or "unnamed"
    return (
        '<section id="eye"><h2>The eye</h2>'
        f"<p>{eye['pairs']} blind pairwise choices ({eye['ties']} \"can't tell\") and "
        f"{eye['faces']} real-or-generated answers, by {escape(judges)} "
        "(<code>python -m tuner.eye</code>). Which configuration each grid came from, and "
        "whether a face was real, was hidden from the judge.</p>"
        f'<div class="wide"><table class="board eye"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
        f"<h3>Do the scores agree with the eye?</h3><ul>{agreement}</ul>{real_text}"
        f"{_network_agreement(study.path)}"
        '<p class="note">Eye preference: Bradley-Terry log-strength from the pairwise choices '
        "(MM algorithm, \"can't tell\" counted as half a win to each, one virtual tie with "
        "the average configuration to keep clean sweeps finite), 0 = the average "
        "configuration, higher = preferred; its 95% interval from the observed information. "
        "Fooled rate: the share of the configuration's generated faces judged real, Wilson "
        "95% interval; 50% means the eye cannot tell them from real faces. Agreement: of the "
        "choices where the judge picked a side, the share where the metric (lower is better) "
        "ranks the chosen configuration first; 50% is chance.</p></section>")


# --- each network's agreement with the eye (python -m tuner.eye STUDY --agreement) ---------

METRIC_NAMES = {"kid": "KID", "fd": "FD", "swd": "SWD"}


def _interval(row):
    return "-" if row["rate"] is None else f"{row['low']:.0%}-{row['high']:.0%}"


def _share(row, total="decided"):
    return f"{row['agree']}/{row[total]}", "-" if row["rate"] is None else f"{row['rate']:.0%}"


def agreement_rows(result, judge=None):
    """(network, metric, agreed/decided, %, interval) per network and metric, for `judge`
    (None: all judges pooled)."""
    return [(r["network"], METRIC_NAMES.get(r["metric"], r["metric"]), *_share(r), _interval(r))
            for r in result["rows"] if r["judge"] == judge]


def agreement_text(result):
    """The agreement table as text lines: pooled, the judges' ceiling, per judge, and what
    was left out."""
    ceiling = result["judges_agree"]
    head = ("network", "metric", "agreed/decided", "%", "95% interval")
    rows = agreement_rows(result)
    rows.append(("judges", "each other", *_share(ceiling, "compared"), _interval(ceiling)))
    judges = sorted({r["judge"] for r in result["rows"] if r["judge"] is not None})
    lines = [f"Agreement with the eye at the run level (each score of the very run whose grid "
             f"was judged; lower preferred): {result['decided']} decided of "
             f"{result['choices']} choices on {result['runs']} runs"]
    lines += _aligned([head, *rows])
    lines.append(f"judges/each other: two judges' first decided answers to the same two "
                 f"{ceiling['level']} (either order), one comparison per pair and two judges: "
                 f"the ceiling a score can reach" if ceiling["compared"] else
                 "judges/each other: no two judges decided the same pair yet, so no ceiling")
    for judge in judges:
        lines.append(f"judge {judge}:")
        lines += ["  " + line for line in _aligned([head, *agreement_rows(result, judge)])]
    lines += _notes(result)
    return lines


def _aligned(rows):
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(str(v).rjust(w) if i >= 2 else str(v).ljust(w)
                      for i, (v, w) in enumerate(zip(row, widths))).rstrip() for row in rows]


def _notes(result):
    notes = []
    if result.get("missing"):
        notes.append(f"{result['missing']} judged runs have no final_samples.npz (trained "
                     f"before runs kept their final samples): left out, with the "
                     f"{result.get('decided_without_samples', 0)} decided choices that showed "
                     f"them")
    for name, why in (result.get("skipped") or {}).items():
        notes.append(f"network {name} left out: {why}")
    check = result.get("reproduced") or {}
    if check.get("checked"):
        notes.append(f"rescored with the study's own network ({result.get('own')}), "
                     f"{check['equal']} of {check['checked']} runs reproduce their recorded "
                     f"final KID and FD exactly")
    return notes


def _network_agreement(study_dir):
    """`agreement_html` from the study's cached rescores; "" until they were made."""
    rescores = read_rescores(study_dir)
    if not rescores or not rescores["runs"]:
        return ""
    result = agreement_table(read_eye(study_dir)["judgements"], rescores)
    return agreement_html(result) if result["decided"] else ""


def agreement_html(result):
    """The agreement table as an HTML fragment (pooled, and the judges' ceiling)."""
    ceiling = result["judges_agree"]
    rows = agreement_rows(result) + [("judges", "each other", *_share(ceiling, "compared"),
                                      _interval(ceiling))]
    body = "".join("<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in row) + "</tr>"
                   for row in rows)
    head = "".join(f"<th>{h}</th>" for h in ("network", "metric", "agreed/decided", "%",
                                              "95% interval"))
    notes = "".join(f"<li>{escape(n)}</li>" for n in _notes(result))
    return ("<h3>Which feature network agrees with the eye?</h3>"
            f'<table class="board"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
            f'<p class="note">Run level: each judged pair of grids set against the scores of '
            f"the two runs that made them (rescored from their final samples, "
            f"<code>python -m tuner.eye STUDY --agreement</code>); {result['decided']} decided "
            f"choices. The last row: two judges' first decided answers to the same two "
            f"{ceiling['level']}, the ceiling. Wilson 95% intervals.</p>"
            + (f"<ul>{notes}</ul>" if notes else ""))
