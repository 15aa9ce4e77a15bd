"""Spread over runs and paired differences in words. No TF.

Repeats of every configuration train with the same seeds (seed, seed+1, ...),
so two configurations are compared seed by seed: the paired differences
d_s = score_other(s) - score_best(s) cancel what the seed does to both (its
initial weights and batch order) and leave the hyperparameters' effect plus noise.
How they are decided is `tuner.results.decisions`.
"""


import math

import numpy as np

from tuner.common.names import DECIMALS
from tuner.results.decisions import MIN_SEEDS, level_text


def standard_error(values):
    """Standard error of the mean of `values`: s / sqrt(K), s the sample sd (ddof 1).

    None with fewer than 2 values."""
    x = np.asarray(values, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):  # a score of 1e300: inf, shown as null
        return float(x.std(ddof=1) / math.sqrt(x.size)) if x.size >= 2 else None


def interval_phrase(comparison, name):
    """A paired difference in score `name`'s digits: "+0.0012, 99.76% interval -0.0010 to
    +0.0034 over 3 seeds" (`comparison`: diff, low, high, n and the interval's level, as
    `tuner.results.decisions` gives them; no interval below its minimum of seeds)."""
    n = comparison["n"]
    if n == 0:
        return "no seed in common, so no paired comparison"
    diff, low, high = (None if v is None else f"{v:+.{DECIMALS.get(name, 4)}f}"
                       for v in (comparison["diff"], comparison["low"], comparison["high"]))
    if low is None:
        return (f"{diff} over {n} shared seed{'s' * (n != 1)}, too few for an interval "
                f"(needs {MIN_SEEDS})")
    return f"{diff}, {level_text(comparison['level'])} interval {low} to {high} over {n} seeds"
