"""What a configuration's training runs amount to: one score per run, then their mean.

A run is scored every `eval_every` epochs. Its score by the study's rank-by rule:

    final    the last evaluation's value (as the lab judged: at a fixed epoch)
    best     the lowest evaluation's value (optimistic: selected on the numbers it reports)
    last-N   the mean of the last N evaluations (less noisy than one evaluation)

and a configuration's score is the mean over its runs, with the standard error
s / sqrt(K) of K runs (s the sample standard deviation). Pure Python, no TF.
"""

import math
import statistics


def run_score(evaluations, metric, rank_by="final"):
    """One run's score: its evaluations (oldest first) reduced by `rank_by`; None if unscored."""
    values = [e[metric] for e in evaluations if _is_number(e.get(metric))]
    if not values:
        return None
    if rank_by == "best":
        return min(values)
    if rank_by == "final":
        return values[-1]
    last = int(rank_by.removeprefix("last-"))
    return statistics.fmean(values[-last:])


def mean_and_se(values):
    """(mean, standard error) of the runs' scores; se is None for fewer than two runs."""
    values = [v for v in values if v is not None]
    if not values:
        return None, None
    if len(values) < 2:
        return values[0], None
    return statistics.fmean(values), statistics.stdev(values) / math.sqrt(len(values))


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
