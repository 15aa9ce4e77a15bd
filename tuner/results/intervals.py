"""Is one configuration's lead over another beyond training noise? Paired over seeds. No TF.

Repeats of every configuration train with the same seeds (seed, seed+1, ...),
so two configurations are compared seed by seed: the paired differences
d_s = score_other(s) - score_best(s) cancel what the seed does to both (its
initial weights and batch order) and leave the hyperparameters' effect plus noise.
"""


import math

import numpy as np

from tuner.common.names import DECIMALS

LEVEL = 0.95
METHOD = "paired t, 95%"


def paired_t_interval(differences, level=LEVEL):
    """Mean of the paired differences and its two-sided t interval.

        mean ± t_{(1+level)/2, n-1} · s / sqrt(n),   s = sample sd of d_1..d_n (ddof 1)

    Returns (mean, low, high); low and high are None with fewer than 2 differences.
    """
    d = np.asarray(differences, dtype=np.float64)
    if d.size == 0:
        return None, None, None
    mean = float(d.mean())
    if d.size < 2:
        return mean, None, None
    from scipy import stats  # 0.5-1 s to import: only when there is an interval to compute

    half = stats.t.ppf((1 + level) / 2, d.size - 1) * d.std(ddof=1) / math.sqrt(d.size)
    return mean, float(mean - half), float(mean + half)


def compare(best, other):
    """`other` against the best configuration over their shared seeds.

    Args:
        best, other: {seed: score} of each configuration's runs.

    Returns:
        {"diff", "low", "high", "n", "settled", "method"}: the mean paired
        difference (other - best), its 95% interval, the number of shared seeds,
        and whether the interval lies above 0 (the best's lead is beyond noise).
    """
    shared = sorted(set(best) & set(other), key=str)
    diff, low, high = paired_t_interval([other[s] - best[s] for s in shared])
    return {"diff": diff, "low": low, "high": high, "n": len(shared),
            "settled": low is not None and low > 0, "method": METHOD}


def standard_error(values):
    """Standard error of the mean of `values`: s / sqrt(K), s the sample sd (ddof 1).

    None with fewer than 2 values."""
    x = np.asarray(values, dtype=np.float64)
    return float(x.std(ddof=1) / math.sqrt(x.size)) if x.size >= 2 else None


def interval_phrase(comparison, name):
    """A paired difference in score `name`'s digits: "+0.0012, 95% interval -0.0010 to
    +0.0034 over 3 seeds" (`comparison`: diff, low, high, n, as `intervals.compare` gives)."""
    if comparison["n"] == 0:
        return "no seed in common, so no paired comparison"
    diff, low, high = (None if v is None else f"{v:+.{DECIMALS.get(name, 4)}f}"
                       for v in (comparison["diff"], comparison["low"], comparison["high"]))
    if low is None:
        return f"{diff} over one shared seed, too few for an interval"
    return f"{diff}, 95% interval {low} to {high} over {comparison['n']} seeds"
