"""Plain-text tables of trial rows, aligned for an 80-column terminal. No TensorFlow."""

COLUMNS = (
    ("rank", "rank", "{}"),
    ("trial", "trial_id", "{}"),
    ("status", "status", "{}"),
    ("lr", "learning_rate", "{:.2g}"),
    ("beta1", "beta_1", "{:.2g}"),
    ("size", "image_size", "{}"),
    ("frac", "subset_fraction", "{:.2g}"),
)


def _cell(row, key, fmt):
    value = row.get(key, row.get("hyperparameters", {}).get(key))
    if value is None:
        return "-"
    return fmt.format(value)


def _objective_cell(row, objective):
    if row.get(objective) is None:
        return "-"
    if objective == "kid":
        return f"{row['kid']:.4f}±{row['kid_std']:.4f}"
    return f"{row[objective]:.2f}"


def format_table(rows, objective="kid"):
    """Rank, trial, status, the four hyperparameters and the objective; failures last with reasons."""
    header = [name for name, _, _ in COLUMNS] + [objective.upper()]
    body = [[_cell(row, key, fmt) for _, key, fmt in COLUMNS] + [_objective_cell(row, objective)]
            for row in rows]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(cell.rjust(w) for cell, w in zip(line, widths)) for line in [header, *body]]
    reasons = [f"  trial {row['trial_id']}: {row['message']}" for row in rows if row.get("message")]
    return "\n".join(lines + (["failed:", *reasons] if reasons else []))
