"""Verdicts on a study's claims as text: an aligned report, markdown, or JSON. No TF.

The JSON form (README: "Claims") is

    {"study", "folder", "objective", "rank_by", "repeats", "protocol",
     "claims": [{"id", "text", "verdict", "checks": [{"kind", "statement", "quantity",
                 "verdict", "why", "settle", "sides": [{"label", "by_seed", "mean", "se",
                 "n", "scores", "grids", "trials", "runs", "diverged", "diverged_up_to"}],
                 "comparisons": [{"label", "diff", "low", "high", "n", "level"
                 [, "tie_low", "tie_high", "margin_low", "margin_high"]}],
                 "curves": [{"trial", "seed", "epochs", "values"}],
                 "seeds_needed"}]}],
     "looks", "damaged": ["trial_3/evaluations.json: ...", ...]}

A verdict is "supported", "tied", "contradicted", "not settled", "out of reach" or "not measured"
(`tuner.results.verdicts`); `tie_low` and `tie_high` (better and best) are the one-sided
bounds on the difference the tie reads against -`margin_low` and `margin_high`.
"""

import html
import json
import textwrap

from tuner.report.tables import finite, score_text, seconds
from tuner.results.decisions import ALPHA, SEEDS

FORMATS = ("table", "markdown", "json")
ERROR = f"{ALPHA:.0%}"
MARKS = {"supported": "SUPPORTED", "tied": "TIED", "contradicted": "CONTRADICTED",
         "not settled": "NOT SETTLED", "out of reach": "OUT OF REACH",
         "not measured": "NOT MEASURED"}


def document(study, verdicts):
    """The JSON form: the study's scoring facts and every verdict (`Verdict.as_dict`)."""
    protocol = study.protocol
    return {"study": study.name, "folder": str(study.path), "objective": study.objective,
            "rank_by": study.rank_by, "repeats": study.repeats,
            "protocol": {k: protocol.get(k) for k in ("features", "eval_size", "n_real",
                                                        "n_fake", "holdout", "resize")},
            "claims": [v.as_dict() if hasattr(v, "as_dict") else v for v in verdicts],
            "looks": study.looks, "spending": study.spending.name,
            "damaged": [row["damaged"] for row in study.rows if row.get("damaged")]}


def damage_text(doc):
    """"skipped, damaged: trial_3/evaluations.json: ..." (files that cannot be read), or ""."""
    damaged = doc.get("damaged") or []
    return f"skipped, damaged: {'; '.join(damaged)} (rerun them: `python -m tuner.search` " \
           f"with the study's options and --repair)" if damaged else ""


def render(study, verdicts, fmt="table", width=80):
    """`verdicts` (from `tuner.results.verdicts.weigh`) on `study` in format `fmt`."""
    doc = document(study, verdicts)
    if fmt == "json":
        return json.dumps(finite(doc), indent=2, allow_nan=False)
    if fmt == "markdown":
        return format_markdown(doc)
    return format_text(doc, width)


def value_text(quantity, value):
    if quantity == "seconds_per_epoch":
        return f"{seconds(value)} s"
    if quantity == "runs":  # a divergence check's sides hold the share of runs that diverged
        return "-" if value is None else f"{value:.0%} diverged"
    return score_text(quantity, value)


def side_text(side, quantity):
    """`label: 0.0180 ± 0.0007 (3 runs)`."""
    mean, se = side["mean"], side["se"]
    spread = f" ± {value_text(quantity, se)}" if se is not None and quantity != "runs" else ""
    unit = "choice" if quantity == "eye" else "run"  # the eye's sides count judgements
    runs = f" ({side['n']} {unit}{'s' * (side['n'] != 1)})"
    return f"{side['label']}: {value_text(quantity, mean)}{spread}{runs}"


def others_text(side, quantity):
    """The other scores of a side, for the reader: `kid 0.018, swd 108`."""
    return ", ".join(f"{name} {score_text(name, value)}" for name, value in side["scores"].items()
                     if value is not None and name != quantity)


def caption(doc):
    protocol = doc["protocol"]
    return (f"{doc['study']}: {len(doc['claims'])} claims; runs scored by their {doc['rank_by']} "
            f"evaluation, {protocol.get('features')} features at {protocol.get('eval_size')}x"
            f"{protocol.get('eval_size')}, {protocol.get('n_fake')} generated images; "
            f"intervals are paired t over seeds, at levels that keep each check's "
            f"verdict within 5% error over {looks_text(doc['looks'], doc.get('spending'))}")


def looks_text(looks, spending=None):
    """"the 1 planned look" / "the 8 planned looks (5%/8 each)" / "every look (each number of
    seeds spends its share)"."""
    if spending == SEEDS:
        return "every look (each number of seeds spends its share)"
    return "the 1 planned look" if looks == 1 else \
        f"the {looks} planned looks ({ERROR}/{looks} each)"


def summary_line(claim):
    return f"claim {claim['id']}: {MARKS[claim['verdict']]}"


def format_text(doc, width=80):
    lines = textwrap.wrap(caption(doc), width, subsequent_indent="  ")
    lines += textwrap.wrap(damage_text(doc), width, subsequent_indent="  ")
    for claim in doc["claims"]:
        lines += [""] + textwrap.wrap(f"{summary_line(claim)}  {claim['text']}", width,
                                      subsequent_indent="    ")
        for check in claim["checks"]:
            lines += _check_lines(check, width)
    lines += ["", "verdicts: " + ", ".join(f"{c['id']} {c['verdict']}" for c in doc["claims"])]
    return "\n".join(lines)


def _check_lines(check, width):
    out = textwrap.wrap(f"{check['kind']} ({check['verdict']}): {check['statement']}", width,
                        initial_indent="  ", subsequent_indent="      ")
    for side in check["sides"]:
        extra = others_text(side, check["quantity"])
        out += textwrap.wrap(side_text(side, check["quantity"]) + (f"  [{extra}]" if extra else ""),
                             width, initial_indent="    ", subsequent_indent="        ")
    out += textwrap.wrap(check["why"], width, initial_indent="    ", subsequent_indent="      ")
    if check["settle"]:
        out += textwrap.wrap(f"to settle: {check['settle']}", width, initial_indent="    ",
                             subsequent_indent="      ")
    return out


def _md(text):
    """`text` as a markdown table cell or line: its HTML escaped (a study name or claim text
    is the user's; rendered markdown passes HTML through), its pipes too."""
    return html.escape(str(text), quote=False).replace("|", "\\|")


def format_markdown(doc):
    """A summary table (claim, verdict, its check's numbers or its checks' verdicts), then each
    check's numbers."""
    lines = [_md(caption(doc)), *([_md(damage_text(doc))] if damage_text(doc) else []), "",
             "| claim | verdict | numbers |", "|:---|:---|:---|"]
    for claim in doc["claims"]:
        checks = claim["checks"]
        numbers = checks[0]["why"] if len(checks) == 1 else "; ".join(
            f"{check['kind']}: {check['verdict']}" for check in checks)
        lines.append(f"| {_md(claim['id'])}. {_md(claim['text'])} | **{claim['verdict']}** | "
                     f"{_md(numbers)} |")
    for claim in doc["claims"]:
        lines += ["", f"**Claim {_md(claim['id'])}: {claim['verdict']}.** {_md(claim['text'])}", ""]
        for check in claim["checks"]:
            lines.append(f"- {check['kind']} ({check['verdict']}): {_md(check['statement'])}")
            lines += [f"  - {_md(side_text(side, check['quantity']))}" for side in check["sides"]]
            lines.append(f"  - {_md(check['why'])}")
            if check["settle"]:
                lines.append(f"  - to settle: {_md(check['settle'])}")
    return "\n".join(lines)
