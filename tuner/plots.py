"""The report's figures as PNG bytes: score curves and score-against-hyperparameter plots.

Figures are drawn on matplotlib's Agg canvas directly (no pyplot), so nothing
needs a display and no global figure state leaks between calls. No TensorFlow.
"""

import io

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, MaxNLocator, NullFormatter, NullLocator

DPI = 100
FAILED_COLOR = "#c0392b"
SIZE_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf")
LABELS = {"learning_rate": "learning rate", "beta_1": "beta_1", "image_size": "image size (px)",
          "subset_fraction": "subset fraction", "kid": "KID", "fd": "FD"}
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


def score_curve(evaluations, best_epoch=None):
    """KID (with its std as a band), FD and the two losses at each evaluation epoch."""
    figure = Figure(figsize=(9.6, 2.5), layout="constrained")
    kid_ax, fd_ax, loss_ax = figure.subplots(1, 3)
    epochs, kid = _series(evaluations, "kid")
    kid_ax.plot(epochs, kid, "o-", color=SIZE_COLORS[0], markersize=3)
    stds = [e.get("kid_std") or 0.0 for e in evaluations if e.get("kid") is not None]
    kid_ax.fill_between(epochs, [k - s for k, s in zip(kid, stds)],
                        [k + s for k, s in zip(kid, stds)], color=SIZE_COLORS[0], alpha=0.2)
    fd_ax.plot(*_series(evaluations, "fd"), "o-", color=SIZE_COLORS[1], markersize=3)
    for name, color in (("g_loss", "#444444"), ("d_loss", "#2ca02c")):
        loss_ax.plot(*_series(evaluations, name), "o-", color=color, markersize=3, label=name)
    loss_ax.legend(fontsize=8)
    for ax, title in ((kid_ax, "KID ± std"), (fd_ax, "FD"), (loss_ax, "losses")):
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("epoch", fontsize=9)
        ax.tick_params(labelsize=8)
        if len(epochs) <= 8:  # few evaluations: tick exactly the epochs scored
            ax.xaxis.set_major_locator(FixedLocator(epochs))
        else:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if best_epoch is not None and ax is not loss_ax:
            ax.axvline(best_epoch, color="#888888", linestyle=":", linewidth=1)
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


def comparison(rows, name, objective="kid"):
    """The objective of every trial against hyperparameter `name`, coloured by image size.

    Completed trials are filled dots (KID with its std as an error bar), trials
    in progress hollow dots at their best score so far, failed trials red
    crosses along the top edge (they have no score).
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
        if row["status"] in FAILED:
            continue
        if y is None:
            continue
        color = SIZE_COLORS[sizes.index(row["hyperparameters"]["image_size"]) % len(SIZE_COLORS)] \
            if row["hyperparameters"].get("image_size") in sizes else "#333333"
        done = row["status"] == "COMPLETED"
        err = row.get("kid_std") if objective == "kid" else None
        ax.errorbar([x], [y], yerr=[err] if err else None, fmt="o", color=color, markersize=6,
                    markerfacecolor=color if done else "white", capsize=2)
        ax.annotate(str(row["trial_id"]), (x, y), xytext=(4, 3), textcoords="offset points",
                    fontsize=7, color="#555555")
    failed = [row["hyperparameters"][name] for row in rows
              if row["status"] in FAILED and row["hyperparameters"].get(name) is not None]
    if failed:
        ax.scatter(failed, [0.95] * len(failed), transform=ax.get_xaxis_transform(), marker="x",
                   color=FAILED_COLOR, s=40, zorder=3)
    _legend(ax, sizes, bool(failed), any(r["status"] in IN_PROGRESS for r in rows))
    _axis(ax, name, xs_all)
    if not xs_all:
        ax.text(0.5, 0.5, "no trials yet", transform=ax.transAxes, ha="center", color="#888888")
    ax.set_xlabel(LABELS.get(name, name), fontsize=9)
    ax.set_ylabel(f"{LABELS.get(objective, objective)} (lower is better)", fontsize=9)
    ax.set_title(f"{LABELS.get(objective, objective)} against {LABELS.get(name, name)}",
                 fontsize=10)
    ax.tick_params(labelsize=8)
    return _png(figure)


def _legend(ax, sizes, any_failed, any_running):
    """Proxy artists only: one legend entry per image size and per marker kind."""
    handles = [ax.plot([], [], "o", color=SIZE_COLORS[i % len(SIZE_COLORS)], label=f"{s} px")[0]
               for i, s in enumerate(sizes)]
    if any_running:
        handles.append(ax.plot([], [], "o", color="#333333", markerfacecolor="white",
                               label="running (so far)")[0])
    if any_failed:
        handles.append(ax.scatter([], [], marker="x", color=FAILED_COLOR, label="failed"))
    if handles:
        ax.legend(handles=handles, fontsize=7, loc="best")

