"""Decisions over paired seeds whose error rates hold: the leaderboard's "settled" and the
claims' verdicts, each family-wise at 5% across the study's planned looks. No TensorFlow.

Every configuration trains with the same seeds, so two configurations are compared seed by
seed: d_s = y_s - x_s over the n seeds both scored, with mean d, sample sd s (ddof 1) and the
two-sided paired t interval at level 1 - g

    d ± t_{1-g/2, n-1} · s / sqrt(n).

Looks. A study may be looked at several times as seeds are added (a racing search decides
after every round of seeds). Each planned look spends an equal share alpha/looks of
alpha = 0.05 (alpha spending with equal shares): by the union bound (Bonferroni over looks)
the chance that any look shows a false decision is at most alpha, whatever the looks do.
`looks` is study.json's train.looks (1 when absent).

Families, per look (a' = alpha/looks):

    leaderboard   all m = k(k-1)/2 pairs of the k ranked configurations, each at g = a'/m;
                  a row is settled worse than #1 iff its interval against #1 lies above 0.
                  Under equal means a false "settled" needs some pair's interval to miss its
                  true difference, which has chance <= a' (Bonferroni), even though #1 was
                  picked from the same numbers (the maximum over pairs covers that choice).
    better        one comparison, g = a': supported iff it lies above 0, contradicted iff
                  below.
    best          supported iff every other value's interval against the claimed one lies
                  above 0, each at g = a' (an intersection-union test needs no correction);
                  contradicted iff some other value's interval lies below 0, each at
                  g = a'/(k-1) (Bonferroni over the k-1 comparisons).
    increases     the same over the k-1 steps (each next value minus the previous).
    similar       equivalence within +-margin, margin = check.margin x the mean of the
                  compared configurations' means (the mean, not the minimum: the minimum of
                  sample means is biased low by selecting it). Supported iff every pair's
                  interval at g = 2a' lies inside +-margin: two one-sided tests at a' each
                  (TOST), intersection-union over the pairs; contradicted iff some pair's
                  interval at g = a'/m (Bonferroni over the m = k(k-1)/2 pairs) lies wholly
                  beyond the margin.
    plateau       the improvement (value at the epoch - value at the end) at g = a':
                  supported iff its interval lies below the margin (check.margin x the value
                  at the epoch), contradicted iff above it.

Each verdict's error is then at most alpha across the planned looks: a false "supported"
when the claim is false, a false "contradicted" when it holds (for `similar` both are
counted at a true difference exactly at the margin, the worst case of each).

Fewer than 3 seeds decide nothing (MIN_SEEDS). An interval of 1 degree of freedom is valid
under normal noise, but at these levels it is useless (t_{1-0.05/42, 1} = 535: the interval
is a thousand standard errors wide) and it rests on the normality of two numbers; a rule
that never decides at n < 3 keeps every error rate and loses no real power.

Zero variance. The half-width of every interval is at least TOLERANCE x max(1, |score
level|) (the level: the largest |value| compared), so a difference within that rounding
tolerance is never settled, while a difference larger than it with s = 0 gives an interval
that is the point +- the tolerance (settled).

Power advice. If the measured difference d and sd s held, the seeds that decide a
comparison with 80% power are the smallest n >= max(now + 1, MIN_SEEDS) with

    gap · sqrt(n) / s >= t_{1-e, n-1} + t_{0.8, n-1},

gap = |d - boundary| (boundary 0, or the margin the test is against) and e = g/2 the
one-sided error of the interval the decision reads. A comparison needing more than
tuner.common.config.MAX_REPEATS seeds is "hardly by repeats"; the search stops at
SEARCH_LIMIT and says "more than" that.
"""

import math
from dataclasses import dataclass

import numpy as np

from tuner.common.config import MAX_REPEATS

ALPHA = 0.05
MIN_SEEDS = 3
POWER = 0.8
TOLERANCE = 1e-9   # relative: differences within 1e-9 x max(1, |score|) are rounding, not signal
SEARCH_LIMIT = 100  # seeds per configuration beyond which the advice says "more than"
SUPPORTED, OPEN, CONTRADICTED = 1, 0, -1  # verdict codes of the array functions


def _t(p, df):
    """t_{p, df} elementwise (broadcast); NaN where df < 1."""
    from scipy import stats  # 0.5-1 s to import: only when something is decided

    p, df = np.broadcast_arrays(np.asarray(p, dtype=np.float64), np.asarray(df, dtype=np.float64))
    out = np.full(p.shape, np.nan)
    ok = df >= 1
    out[ok] = stats.t.ppf(p[ok], df[ok])
    return out


def look_alpha(looks, alpha=ALPHA):
    """The error one look may spend: alpha / looks (equal shares; union bound over looks)."""
    return alpha / max(1, int(looks))


def pairs(k):
    """m = k(k-1)/2: the pairs among k configurations."""
    return k * (k - 1) // 2


@dataclass(frozen=True)
class Paired:
    """Paired differences y - x over the seeds both have, as arrays of shape (...)."""

    n: np.ndarray     # shared seeds
    diff: np.ndarray  # mean difference (NaN with no shared seed)
    sd: np.ndarray    # sample sd, ddof 1 (NaN below 2 seeds)
    scale: np.ndarray  # max(1, largest |value| compared): the tolerance's unit


def paired(x, y):
    """The paired differences of y - x along the last axis (seeds; NaN: not scored).

        n = #{s: both finite},  d = sum(d_s)/n,  s = sqrt(sum((d_s - d)^2)/(n - 1))
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    d = y - x
    ok = np.isfinite(d)
    n = ok.sum(axis=-1)
    safe = np.where(ok, d, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, safe.sum(axis=-1) / np.maximum(n, 1), np.nan)
        var = np.where(ok, (d - mean[..., None]) ** 2, 0.0).sum(axis=-1) / (n - 1)
    sd = np.where(n >= 2, np.sqrt(np.where(n >= 2, var, 0.0)), np.nan)
    level = np.maximum(np.where(ok, np.abs(x), 0.0).max(axis=-1, initial=0.0),
                       np.where(ok, np.abs(y), 0.0).max(axis=-1, initial=0.0))
    return Paired(n, mean, sd, np.maximum(1.0, level))


def half_width(p, g):
    """The half-width of the two-sided interval at level 1 - g: t_{1-g/2, n-1} s / sqrt(n),
    at least the tolerance; NaN below MIN_SEEDS."""
    q = _t(1 - np.asarray(g, dtype=np.float64) / 2, p.n - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        half = q * p.sd / np.sqrt(p.n)
    half = np.maximum(half, TOLERANCE * p.scale)
    return np.where(p.n >= MIN_SEEDS, half, np.nan)


@dataclass(frozen=True)
class Intervals:
    """Comparisons as arrays (..., c): the paired numbers and the interval a decision reads
    (`level` = 1 - g), with the boundary it is read against (0 or +-margin)."""

    p: Paired
    low: np.ndarray
    high: np.ndarray
    level: np.ndarray
    boundary: np.ndarray


def interval(p, g, boundary=0.0):
    half = half_width(p, g)
    level = np.broadcast_to(1 - np.asarray(g, dtype=np.float64), p.diff.shape)
    return Intervals(p, p.diff - half, p.diff + half, level,
                     np.broadcast_to(np.asarray(boundary, dtype=np.float64), p.diff.shape))


def _pick(condition, a, b):
    """Intervals taking a's numbers where `condition`, else b's (the same comparisons)."""
    return Intervals(a.p, *(np.where(condition, getattr(a, f), getattr(b, f))
                            for f in ("low", "high", "level", "boundary")))


# ---------------------------------------------------------------- the leaderboard


def versus_best(values, best, looks=1, alpha=ALPHA):
    """Every configuration against #1, Bonferroni over all k(k-1)/2 pairs and the looks.

    Args:
        values: (..., k, N) each configuration's score per seed (NaN: none).
        best: (...) the index of #1 in each study.
    Returns:
        (Intervals of shape (..., k) at level 1 - alpha/(looks m), settled (..., k): low > 0;
        #1's own entry is never settled).
    """
    values = np.asarray(values, dtype=np.float64)
    k = values.shape[-2]
    g = look_alpha(looks, alpha) / max(1, pairs(k))
    best = np.asarray(best)
    top = np.take_along_axis(values, best[..., None, None], axis=-2)
    iv = interval(paired(top, values), g)
    settled = np.nan_to_num(iv.low, nan=-np.inf) > 0
    return iv, settled


def leaderboard(values, looks=1, alpha=ALPHA):
    """#1 (the lowest mean over its own seeds) and `versus_best` of every configuration."""
    values = np.asarray(values, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        means = np.nanmean(values, axis=-1)
    best = np.nanargmin(np.where(np.isnan(means), np.inf, means), axis=-1)
    return (best, *versus_best(values, best, looks, alpha))


# ---------------------------------------------------------------- claims


def _verdict(supported, contradicted):
    return np.where(contradicted, CONTRADICTED, np.where(supported, SUPPORTED, OPEN))


def _above(x, bound):
    return np.nan_to_num(x, nan=-np.inf) > bound


def _below(x, bound):
    return np.nan_to_num(x, nan=np.inf) < bound


def decide_better(a, b, looks=1, alpha=ALPHA):
    """"a scores lower than b": d = b - a, g = alpha/looks; supported iff low > 0,
    contradicted iff high < 0. a, b: (..., N). Returns (verdict (...), Intervals (..., 1))."""
    iv = interval(paired(np.asarray(a)[..., None, :], np.asarray(b)[..., None, :]),
                  look_alpha(looks, alpha))
    return _verdict(_above(iv.low, 0).all(-1), _below(iv.high, 0).any(-1)), iv


def _one_sided_family(p, looks, alpha, c):
    """Per comparison: the interval a claim's side reads (g = a'), the other side's
    Bonferroni one (g = a'/c), and which to quote: the claim's where d >= 0."""
    own = interval(p, look_alpha(looks, alpha))
    family = interval(p, look_alpha(looks, alpha) / max(1, c))
    supported = _above(own.low, 0).all(-1)
    contradicted = _below(family.high, 0).any(-1)
    quoted = _pick(np.nan_to_num(p.diff, nan=0.0) >= 0, own, family)
    return _verdict(supported, contradicted), quoted


def decide_best(values, claimed, looks=1, alpha=ALPHA):
    """"configuration `claimed` scores lowest": d_j = values_j - values_claimed for every
    other j. values: (..., k, N). Returns (verdict (...), Intervals (..., k-1))."""
    values = np.asarray(values, dtype=np.float64)
    k = values.shape[-2]
    others = [j for j in range(k) if j != claimed]
    p = paired(values[..., [claimed], :], values[..., others, :])
    return _one_sided_family(p, looks, alpha, k - 1)


def decide_increases(values, looks=1, alpha=ALPHA):
    """"the quantity grows from each configuration to the next": d_j = values_{j+1} -
    values_j. values: (..., k, N). Returns (verdict (...), Intervals (..., k-1))."""
    values = np.asarray(values, dtype=np.float64)
    k = values.shape[-2]
    p = paired(values[..., :-1, :], values[..., 1:, :])
    return _one_sided_family(p, looks, alpha, k - 1)


def pair_indices(k):
    """(i, j), i < j, of every pair among k configurations, in order."""
    return [(i, j) for i in range(k) for j in range(i + 1, k)]


def similar_margin(values, fraction):
    """fraction x |the mean over configurations of each configuration's mean|. values:
    (..., k, N) -> (...)."""
    with np.errstate(invalid="ignore"):
        return fraction * np.abs(np.nanmean(np.nanmean(values, axis=-1), axis=-1))


def decide_similar(values, fraction, looks=1, alpha=ALPHA):
    """"no two configurations differ by more than the margin" (`similar_margin`): TOST per
    pair at a' (interval at g = 2a'), Bonferroni over the pairs for "beyond".

    values: (..., k, N). Returns (verdict (...), Intervals (..., m), margin (...))."""
    values = np.asarray(values, dtype=np.float64)
    k = values.shape[-2]
    index = pair_indices(k)
    first, second = [i for i, _ in index], [j for _, j in index]
    p = paired(values[..., first, :], values[..., second, :])
    margin = similar_margin(values, fraction)
    m = margin[..., None]
    a = look_alpha(looks, alpha)
    tost = interval(p, 2 * a)
    family = interval(p, a / max(1, len(index)))
    inside = _above(tost.low, -m) & _below(tost.high, m)
    beyond = _above(family.low, m) | _below(family.high, -m)
    supported = inside.all(-1)
    contradicted = beyond.any(-1)
    diff = np.nan_to_num(np.abs(p.diff), nan=0.0)
    # quote the TOST interval for a pair that is (or points) inside, else the family one;
    # each is read against the margin edge on the difference's side
    edge = np.where(np.nan_to_num(p.diff, nan=0.0) >= 0, m, -m)
    quoted = _pick(diff <= m, Intervals(p, tost.low, tost.high, tost.level, edge),
                   Intervals(p, family.low, family.high, family.level, edge))
    return _verdict(supported, contradicted), quoted, margin


def decide_plateau(at, end, fraction, looks=1, alpha=ALPHA):
    """"the score improves by less than fraction x its value at the epoch": d = at - end,
    margin = fraction x |mean at|; g = alpha/looks; supported iff high <= margin,
    contradicted iff low > margin. at, end: (..., N). Returns (verdict, Intervals (..., 1),
    margin)."""
    at, end = np.asarray(at, dtype=np.float64), np.asarray(end, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        margin = fraction * np.abs(np.nanmean(at, axis=-1))
    p = paired(end[..., None, :], at[..., None, :])
    iv = interval(p, look_alpha(looks, alpha), margin[..., None])
    supported = (np.nan_to_num(iv.high, nan=np.inf) <= margin[..., None]).all(-1)
    contradicted = _above(iv.low, margin[..., None]).any(-1)
    return _verdict(supported, contradicted), iv, margin


# ---------------------------------------------------------------- advice


def seeds_for_power(gap, sd, now, one_sided_error, power=POWER, limit=SEARCH_LIMIT):
    """The smallest n in [max(now + 1, MIN_SEEDS), limit] with

        gap · sqrt(n) / sd >= t_{1-e, n-1} + t_{power, n-1};

    math.inf if none up to `limit` (or if gap is 0: the difference would never decide).
    sd = 0 with a gap: the next n (already decided as soon as the interval exists)."""
    start = max(int(now) + 1, MIN_SEEDS)
    if not gap > 0 or not math.isfinite(gap):
        return math.inf
    if start > limit:
        return math.inf
    if not sd > 0:
        return start
    n = np.arange(start, limit + 1, dtype=np.float64)
    ok = gap * np.sqrt(n) / sd >= _t(1 - one_sided_error, n - 1) + _t(power, n - 1)
    return int(n[ok.argmax()]) if ok.any() else math.inf


@dataclass(frozen=True)
class Advice:
    """What would decide an open comparison: `seeds` per configuration for 80% power
    (None when more than MAX_REPEATS would be needed) and the words."""

    seeds: int | None
    text: str


NO_SEED = ("no seed in common: run the same seeds (--repeats K trains seeds seed..seed+K-1 "
           "for every configuration)")


def advice(diff, sd, n, level, boundary=0.0, tolerance=0.0):
    """Advice for one open comparison with mean difference `diff`, sd `sd` over `n` shared
    seeds, read at interval level `level` against `boundary` (see `seeds_for_power`)."""
    if n == 0:
        return Advice(None, NO_SEED)
    if n < 2 or sd is None or not math.isfinite(sd):
        return Advice(MIN_SEEDS, f"needs {MIN_SEEDS} seeds (now {n}): --repeats {MIN_SEEDS}")
    gap = abs(diff - boundary)
    if gap <= tolerance:
        what = "the difference" if boundary == 0 else "the difference from the margin"
        return Advice(None, f"hardly by repeats: {what} is nil to rounding")
    seeds = seeds_for_power(gap, sd, n, (1 - level) / 2)
    if not math.isfinite(seeds):
        return Advice(None, f"hardly by repeats: more than {SEARCH_LIMIT} seeds (now {n}) "
                            f"for 80% power if the difference held")
    if seeds > MAX_REPEATS:
        return Advice(None, f"hardly by repeats: about {seeds} seeds (now {n}) for 80% power "
                            f"if the difference held, more than {MAX_REPEATS}")
    return Advice(seeds, f"about {seeds} seeds (now {n}) for 80% power if the difference "
                         f"held")


def level_text(level):
    """A confidence level in the digits that tell it from 100%: 95%, 99.76%, 99.998%."""
    miss = 100 * (1 - level)
    if miss <= 0:
        return "100%"
    digits = max(0, math.ceil(-math.log10(miss)) + 1)
    return f"{100 * level:.{digits}f}".rstrip("0").rstrip(".") + "%"
