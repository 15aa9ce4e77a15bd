"""The report's section on the eye: blind judgements (python -m tuner.eye) set against the
scores. No TF."""

from tuner.common.names import HEADERS
from tuner.report.page import escape
from tuner.report.tables import score_text


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
        '<p class="note">Eye preference: Bradley-Terry log-strength from the pairwise choices '
        "(MM algorithm, \"can't tell\" counted as half a win to each, one virtual tie with "
        "the average configuration to keep clean sweeps finite), 0 = the average "
        "configuration, higher = preferred; its 95% interval from the observed information. "
        "Fooled rate: the share of the configuration's generated faces judged real, Wilson "
        "95% interval; 50% means the eye cannot tell them from real faces. Agreement: of the "
        "choices where the judge picked a side, the share where the metric (lower is better) "
        "ranks the chosen configuration first; 50% is chance.</p></section>")
