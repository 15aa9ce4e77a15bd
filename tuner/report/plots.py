"""The report's figures as PNG bytes: score curves and score-against-hyperparameter plots.

Figures are drawn on matplotlib's Agg canvas directly (no pyplot), so nothing
needs a display and no global figure state leaks between calls. No TensorFlow.
"""

import io

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, MaxNLocator, NullFormatter, NullLocator

from tuner.common.names import LABELS

DPI = 100
FAILED_COLOR = "#c0392b"
DIVERGED_COLOR = "#8e44ad"
DIVERGED_MARKER = "D"
SIZE_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf")
METRIC_COLORS = {"kid": SIZE_COLORS[0], "fd": SIZE_COLORS[1], "swd": SIZE_COLORS[3]}
IN_PROGRESS = ("RUNNING", "IDLE", "INTERRUPTED")
FAILED = ("FAILED", "INVALID", "STOPPED")


def _png(figure):
    buffer = io.BytesIO()
    FigureCanvasAgg(figure)
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _series(evaluations, name):
    points = [(e["epoch"], e[name]) for e in evaluations if e.get(name) is not None]
    return [p[0] for p in points], [p[1] for p in points]


def _runs(evaluations):
    """{repeat: its evaluations}, by repeat (evaluations written before repeats: repeat 0)."""
    runs = {}
    for e in sorted(evaluations, key=lambda e: e["epoch"]):
        runs.setdefault(e.get("repeat", 0), []).append(e)
    return dict(sorted(runs.items()))


def _score_panel(ax, runs, name, color):
    """One line per run (a single run in the score's colour, with KID's std as a band)."""
    for i, (repeat, evaluations) in enumerate(runs.items()):
        epochs, values = _series(evaluations, name)
        run_color = color if len(runs) == 1 else SIZE_COLORS[i % len(SIZE_COLORS)]
        seed = next((e["seed"] for e in evaluations if "seed" in e), repeat)
        ax.plot(epochs, values, "o-", color=run_color, markersize=3, label=f"seed {seed}")
        if name == "kid" and len(runs) == 1:
            stds = [e.get("kid_std") or 0.0 for e in evaluations if e.get("kid") is not None]
            ax.fill_between(epochs, [k - s for k, s in zip(values, stds)],
                            [k + s for k, s in zip(values, stds)], color=run_color, alpha=0.2)
    if len(runs) > 1:
        ax.legend(fontsize=7)


def _loss_panel(ax, runs):
    for i, evaluations in enumerate(runs.values()):
        alpha = 1.0 if i == 0 else 0.5
        for name, color, style in (("g_loss", "#444444", "o-"), ("d_loss", "#2ca02c", "o--")):
            ax.plot(*_series(evaluations, name), style, color=color, markersize=3, alpha=alpha,
                    label=name if i == 0 else None)
    ax.legend(fontsize=8)


def _epoch_axis(ax, epochs, marks):
    """Ticks at the epochs scored when there are few; vertical lines at `marks`."""
    ax.set_xlabel("epoch", fontsize=9)
    ax.tick_params(labelsize=8)
    if len(epochs) <= 8:  # few evaluations: tick exactly the epochs scored
        ax.xaxis.set_major_locator(FixedLocator(epochs))
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    for epoch, color, style in marks:
        ax.axvline(epoch, color=color, linestyle=style, linewidth=1)


def score_curve(evaluations, best_epoch=None, diverged_epochs=()):
    """KID (a single run: with its std as a band), FD, SWD where recorded, and the two
    losses at each evaluation epoch, one line per training run; a dotted grey line at
    `best_epoch`, dashed purple lines where runs diverged."""
    runs = _runs(evaluations)
    names = ["kid", "fd"] + (["swd"] if any(e.get("swd") is not None for e in evaluations)
                             else [])
    figure = Figure(figsize=(3.2 * (len(names) + 1), 2.5), layout="constrained")
    axes = figure.subplots(1, len(names) + 1)
    for ax, name in zip(axes, names):
        _score_panel(ax, runs, name, METRIC_COLORS[name])
        ax.set_title("KID ± std" if name == "kid" and len(runs) == 1 else LABELS[name],
                     fontsize=10)
    _loss_panel(axes[-1], runs)
    axes[-1].set_title("losses", fontsize=10)
    epochs = sorted({e["epoch"] for e in evaluations})
    marks = [(epoch, DIVERGED_COLOR, "--") for epoch in diverged_epochs]
    for ax in axes:
        best = [(best_epoch, "#888888", ":")] if best_epoch is not None and ax is not axes[-1] \
            else []
        _epoch_axis(ax, epochs, best + marks)
    return _png(figure)


def _axis(ax, name, values):
    """Log axes where the values are spread by factors (learning rate, image size); limits
    set from every trial's value, failed ones included (their crosses do not autoscale)."""
    if not values:
        return
    low, high = min(values), max(values)
    if name in ("learning_rate", "image_size") and low > 0:
        ax.set_xscale("log", base=2 if name == "image_size" else 10)
        ax.xaxis.set_minor_formatter(NullFormatter())  # minor labels collide on short ranges
        if len(set(values)) <= 6:  # a grid: label the values tried
            ax.xaxis.set_major_locator(FixedLocator(sorted(set(values))))
            ax.xaxis.set_major_formatter("{x:.2g}" if name == "learning_rate" else "{x:.0f}")
        if name == "image_size":
            ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xlim(low / 1.4, high * 1.4)
    else:
        margin = (high - low) * 0.08 or 0.5  # a fixed hyperparameter: give its column room
        ax.set_xlim(low - margin, high + margin)


def error_bar(row, objective):
    """The standard error over the trial's runs; for a single run, KID's std over subsets."""
    if row.get("score_se") is not None:
        return row["score_se"]
    return row.get("kid_std") if objective == "kid" else None


def marker(row):
    """A diamond for a trial with diverged runs (it has a score, unlike a failed trial's x)."""
    return DIVERGED_MARKER if row.get("diverged") else "o"


def _point(ax, row, x, y, color, objective):
    """One trial: filled when completed, hollow in progress, a diamond if any run diverged."""
    done = row["status"] == "COMPLETED"
    err = error_bar(row, objective)
    ax.errorbar([x], [y], yerr=[err] if err else None, color=color, markersize=6,
                fmt=marker(row), markerfacecolor=color if done else "white", capsize=2)
    ax.annotate(str(row["trial_id"]), (x, y), xytext=(4, 3), textcoords="offset points",
                fontsize=7, color="#555555")


def comparison(rows, name, objective="kid"):
    """The objective of every trial against hyperparameter `name`, coloured by image size.

    Completed trials are filled dots with the standard error over their runs
    (a single run: KID's std) as an error bar, trials with diverged runs
    diamonds at their score, trials in progress hollow at their score so far,
    failed trials red crosses along the top edge (they have no score).
    """
    figure = Figure(figsize=(4.8, 3.3), layout="constrained")
    ax = figure.subplots()
    xs_all = []
    sizes = sorted({r["hyperparameters"].get("image_size") for r in rows} - {None})
    for row in rows:
        x, y = row["hyperparameters"].get(name), row.get(objective)
        if x is None:
            continue
        xs_all.append(x)
        if row["status"] in FAILED or y is None:
            continue
        color = SIZE_COLORS[sizes.index(row["hyperparameters"]["image_size"]) % len(SIZE_COLORS)] \
            if row["hyperparameters"].get("image_size") in sizes else "#333333"
        _point(ax, row, x, y, color, objective)
    failed = [row["hyperparameters"][name] for row in rows
              if row["status"] in FAILED and row["hyperparameters"].get(name) is not None]
    if failed:
        ax.scatter(failed, [0.95] * len(failed), transform=ax.get_xaxis_transform(), marker="x",
                   color=FAILED_COLOR, s=40, zorder=3)
    _legend(ax, sizes, bool(failed), any(r["status"] in IN_PROGRESS for r in rows),
            any(r.get("diverged") and r["status"] not in FAILED for r in rows))
    _axis(ax, name, xs_all)
    if not xs_all:
        ax.text(0.5, 0.5, "no trials yet", transform=ax.transAxes, ha="center", color="#888888")
    ax.set_xlabel(LABELS.get(name, name), fontsize=9)
    ax.set_ylabel(f"{LABELS.get(objective, objective)} (lower is better)", fontsize=9)
    ax.set_title(f"{LABELS.get(objective, objective)} against {LABELS.get(name, name)}",
                 fontsize=10)
    ax.tick_params(labelsize=8)
    return _png(figure)


def _legend(ax, sizes, any_failed, any_running, any_diverged=False):
    """Proxy artists only: one legend entry per image size and per marker kind."""
    handles = [ax.plot([], [], "o", color=SIZE_COLORS[i % len(SIZE_COLORS)], label=f"{s} px")[0]
               for i, s in enumerate(sizes)]
    if any_running:
        handles.append(ax.plot([], [], "o", color="#333333", markerfacecolor="white",
                               label="running (so far)")[0])
    if any_diverged:
        handles.append(ax.plot([], [], DIVERGED_MARKER, color="#333333",
                               label="run(s) diverged")[0])
    if any_failed:
        handles.append(ax.scatter([], [], marker="x", color=FAILED_COLOR, label="failed"))
    if handles:
        ax.legend(handles=handles, fontsize=7, loc="best")


def claim_sides(check):
    """A check's configurations side by side: each run's value as a dot, runs of one seed
    joined by a grey line (the pairing the verdict rests on), mean ± se as a bar."""
    sides = check["sides"]
    figure = Figure(figsize=(2.4 + 0.9 * len(sides), 3.0), layout="constrained")
    ax = figure.subplots()
    seeds = sorted({seed for side in sides for seed in side["by_seed"]}, key=str)
    for seed in seeds:
        points = [(i, side["by_seed"][seed]) for i, side in enumerate(sides)
                  if seed in side["by_seed"]]
        ax.plot([p[0] for p in points], [p[1] for p in points], "o-", color="#bbbbbb",
                markersize=4, linewidth=0.8, zorder=1)
    for i, side in enumerate(sides):
        if side["mean"] is not None:
            ax.errorbar([i], [side["mean"]], yerr=[side["se"]] if side["se"] else None,
                        fmt="s", color=SIZE_COLORS[0], capsize=4, markersize=7, zorder=2)
    ax.set_xticks(range(len(sides)), [side["label"].replace("=", "\n") for side in sides],
                  fontsize=8)
    ax.set_xlim(-0.5, len(sides) - 0.5)
    lower = {"seconds_per_epoch": "", "eye": " (higher is better)"}.get(check["quantity"],
                                                                         " (lower is better)")
    ax.set_ylabel(LABELS.get(check["quantity"], check["quantity"]) + lower, fontsize=9)
    ax.tick_params(axis="y", labelsize=8)
    return _png(figure)


def claim_curves(check, after_epoch):
    """A plateau check: every run's score against epochs, a dashed line at `after_epoch`."""
    figure = Figure(figsize=(4.8, 3.0), layout="constrained")
    ax = figure.subplots()
    for i, curve in enumerate(check["curves"]):
        ax.plot(curve["epochs"], curve["values"], "o-", markersize=3,
                color=SIZE_COLORS[i % len(SIZE_COLORS)], label=f"seed {curve['seed']}")
    epochs = sorted({e for curve in check["curves"] for e in curve["epochs"]})
    _epoch_axis(ax, epochs, [(after_epoch, "#888888", "--")])
    ax.set_ylabel(f"{LABELS.get(check['quantity'], check['quantity'])} (lower is better)",
                  fontsize=9)
    if 0 < len(check["curves"]) <= len(SIZE_COLORS):  # beyond that a legend hides the curves
        ax.legend(fontsize=7)
    return _png(figure)
