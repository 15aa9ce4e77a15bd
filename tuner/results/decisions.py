"""Decisions over paired seeds whose error rates hold: the leaderboard's "settled", which
configurations may be the best and which are within the margin of it, and the claims'
verdicts, each family-wise at 5% across the study's looks. No TensorFlow.

Every configuration trains with the same seeds, so two configurations are compared seed by
seed: d_s = y_s - x_s over the n seeds both scored, with mean d, sample sd s (ddof 1) and the
two-sided paired t interval at level 1 - g

    d ± t_{1-g/2, n-1} · s / sqrt(n).

Looks. A study may be looked at several times as seeds are added (a racing search decides
after every new seed). The 5% error (alpha) is spread over the looks by the union bound
(Bonferroni over looks): the chance that any look shows a false decision is at most the sum
of the shares the looks spend. Two spendings (`Spending`):

    by seeds      (studies written since the margin existed: study.json train.spending
                  "seeds") a comparison over n shared seeds spends alpha x SEED_SHARES(n),
                  whoever looks and however often: n = 3: 20%, 5: 10%, 10: 40%, 4 and 6-9:
                  4% each, n > 10: 1/(n(n-1)) (summing to 10%). The shares sum to 1 over all
                  n, so any sequence of looks keeps alpha: a plain 3-seed search followed by
                  `--settle`, `--repeats 3 -> 5 -> 10` by hand, a race raised to
                  `--max-repeats 20`. Data at the same n are the same seeds, so looking again
                  at them spends nothing more. Most goes to 10 seeds (MAX_REPEATS, the race's
                  cap, where close comparisons are decided) and to 3 and 5 (plain searches);
                  the seeds between, which a race passes through, decide only clear
                  differences (an O'Brien-Fleming-like shape: equal shares over 8 looks
                  spent 0.625% at the cap).
    equal         (older studies) each of study.json's train.looks planned looks spends
                  alpha/looks.

Families, per look (a' = the look's share of alpha, at each comparison's n):

    leaderboard   all m = k(k-1)/2 pairs of the k ranked configurations, each at g = a'/m;
                  a row is settled worse than #1 iff its interval against #1 lies above 0.
                  Under equal means a false "settled" needs some pair's interval to miss its
                  true difference, which has chance <= a' (Bonferroni), even though #1 was
                  picked from the same numbers (the maximum over pairs covers that choice).
    selection     (`selection`) which may be the best, and which are within the margin of
                  it: Hsu's multiple comparisons with the best (MCB), k-1 one-sided
                  comparisons at g = a'/(k-1). A row may be the best unless its one-sided
                  bound against #1 lies above 0,
                      d_i1 - t_{1-g, n-1} s_i1 / sqrt(n) > 0;
                  G is the set of rows that may be. A row is within the margin delta of the
                  best (`equivalent`) iff
                      U_i = max_{j in G, j != i} (d_ij + t_{1-g, n-1} s_ij / sqrt(n)) < delta,
                  delta = margin x |#1's mean|. Let b be a best configuration (any, if tied)
                  and E the event that each of its k-1 one-sided bounds holds
                  (mu_j - mu_b < d_jb + t s_jb / sqrt(n) for all j != b), P(E) >= 1 - a'.
                  Under E, b is in G (so "not the best" only ever says that another
                  configuration is at least as good, never wrong when all are equal), and
                  every U_i bounds mu_i - mu_b: a row called equivalent is within delta of
                  the best, and when every row but #1 is out of G or equivalent (the
                  selection is settled) #1 is within delta of the best (U_#1 <= max U_j).
    better        one comparison, g = a': supported iff it lies above 0, contradicted iff
                  the interval at g = a'/C lies below (C: the claim's checks, which share the
                  error of "contradicted": a claim is contradicted if any check is).
    best          supported iff every other value's interval against the claimed one lies
                  above 0, each at g = a' (an intersection-union test needs no correction);
                  contradicted iff some other value's interval lies below 0, each at
                  g = a'/((k-1) C) (Bonferroni over the k-1 comparisons and the checks).
    tied          (better and best, with a margin fraction f) the claimed configuration x
                  is within the margin of each other y, mu_x <= (1 + f) mu_y, shown by the
                  per-seed contrast e_s = (1 + f) y_s - x_s: its interval at g = 2a'
                  (one-sided a') above 0; and each y is settled worse than x or within the
                  margin of it, mu_y <= (1 + f) mu_x (the mirror contrast), for every other
                  (intersection-union); tied iff that holds and neither supported nor
                  contradicted does (`Tie`). Supported also
                  needs it, so "supported or tied" when x is worse than some y by more than
                  the margin errs at most a'. The margin is a share of the other's (the
                  better one's) score, tested seed by seed, never a number computed from
                  the same data and then treated as fixed.
    increases     the same as best over the k-1 steps (each next value minus the previous).
    similar       equivalence within +-margin, margin = f x the mean of the compared
                  configurations' scores (the mean, not the minimum: the minimum of sample
                  means is biased low by selecting it), tested on the per-seed contrasts
                  d_s -+ f m_s (m_s the mean over the configurations at seed s), so that a
                  seed effect shared by all moves the margin with the difference. Supported
                  iff for every pair both contrasts' intervals at g = 2a' lie on the inside
                  (TOST, one-sided a' each; intersection-union over the pairs); contradicted
                  iff some pair's interval at g = a'/(m C) (Bonferroni over the m =
                  k(k-1)/2 pairs and the checks) lies wholly beyond.
    plateau       the improvement (value at the epoch - value at the end): supported iff
                  its interval at g = a' lies below the margin (f x the value at the epoch),
                  contradicted iff its interval at g = a'/C lies above it.

A configuration that diverged in some run is never the winner of a comparison (`prone`):
it is not supported or tied as better or best, and it does not contradict as better.

Each verdict's error is then at most alpha across the planned looks: a false "supported"
(or "supported or tied") when the claim is false, a false "contradicted" when it holds, for
the claim as a whole (for `similar` both are counted at a true difference exactly at the
margin, the worst case of each). Measured on simulated studies: tests/results/
test_claim_calibration.py and benchmarks/claim_calibration.py.

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
one-sided error of the interval the decision reads (spending by seeds: e at each n). A
leaderboard row is advised toward the nearer of its decisions: "worse" (boundary 0, at the
MCB level) when d is past half the margin, else "within the margin" (boundary delta).
Measured, such advice after 3 seeds settles fewer than 80% when followed (the difference was
shown because it looked large): see tuner.results.next_step.ADVICE_CAVEAT.

Out of reach. A row still open whose conditional power at the cap (`decision_chances`) is
below FUTILITY for both its decisions stops drawing seeds (`out_of_reach`); so does a claim's
check against 0 (`tuner.results.verdicts.check_out_of_reach`). That only forgoes decisions, so
no error rate grows. A comparison needing more than
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
TIED = 2  # a claim's check: within the margin of every other, not separated from some


def _t(p, df):
    """t_{p, df} elementwise (broadcast); NaN where df < 1."""
    from scipy import stats  # 0.5-1 s to import: only when something is decided

    p, df = np.broadcast_arrays(np.asarray(p, dtype=np.float64), np.asarray(df, dtype=np.float64))
    out = np.full(p.shape, np.nan)
    ok = df >= 1
    # few distinct (p, df) pairs among many comparisons: the quantile once per pair
    keys, where = np.unique(p[ok] + 1j * df[ok], return_inverse=True)
    out[ok] = stats.t.ppf(keys.real, keys.imag)[where.reshape(-1)]
    return out


# Shares of alpha by the shared seeds n of a comparison (see "Looks" above); beyond
# MAX_REPEATS the share is 1/(n(n-1)), whose sum over n > 10 is 1/10.
SEED_SHARES = {3: 0.20, 4: 0.04, 5: 0.10, 6: 0.04, 7: 0.04, 8: 0.04, 9: 0.04, 10: 0.40}
SEEDS, EQUAL = "seeds", "equal"  # study.json train.spending


def seed_share(n):
    """SEED_SHARES elementwise over n (0 below MIN_SEEDS; 1/(n(n-1)) above 10)."""
    n = np.asarray(n, dtype=np.float64)
    out = np.zeros(n.shape)
    for seeds, share in SEED_SHARES.items():
        out[n == seeds] = share
    tail = n > max(SEED_SHARES)
    out[tail] = 1.0 / (n[tail] * (n[tail] - 1))
    return out


@dataclass(frozen=True)
class Spending:
    """How a study spreads alpha over its looks: by seeds (SEED_SHARES), or in equal shares
    over `looks` planned looks (older studies). Several studies ranked together each look at
    the ranking's numbers: `looks` then counts them too (each share is divided by it)."""

    looks: int = 1
    by_seeds: bool = False

    @property
    def name(self):
        return SEEDS if self.by_seeds else EQUAL

    def share(self, n):
        """The share of alpha one look at comparisons over `n` shared seeds spends."""
        # below MIN_SEEDS nothing is decided: the level shown is the first decision's
        base = seed_share(np.maximum(n, MIN_SEEDS)) if self.by_seeds else np.ones(np.shape(n))
        return base / max(1, int(self.looks))


def look_alpha(looks, alpha=ALPHA, n=None):
    """The error one look may spend: alpha / looks (equal shares over `looks`, an int), or
    alpha x `looks.share(n)` (a `Spending`) at comparisons over n shared seeds (an array)."""
    if isinstance(looks, Spending):
        return alpha * looks.share(MIN_SEEDS if n is None else n)
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
    best = np.asarray(best)
    top = np.take_along_axis(values, best[..., None, None], axis=-2)
    p = paired(top, values)
    iv = interval(p, look_alpha(looks, alpha, p.n) / max(1, pairs(k)))
    settled = np.nan_to_num(iv.low, nan=-np.inf) > 0
    return iv, settled


def leaderboard(values, looks=1, alpha=ALPHA):
    """#1 (the lowest mean over its own seeds) and `versus_best` of every configuration."""
    values = np.asarray(values, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        means = np.nanmean(values, axis=-1)
    best = np.nanargmin(np.where(np.isnan(means), np.inf, means), axis=-1)
    return (best, *versus_best(values, best, looks, alpha))


@dataclass(frozen=True)
class Selection:
    """Which configuration is best, within a margin (see "selection" above); arrays over
    studies (...) and configurations k."""

    best: np.ndarray         # (...) #1's index
    versus: Intervals        # (..., k) each against #1, the leaderboard's level (all pairs)
    settled: np.ndarray      # (..., k) settled worse than #1 (the all-pairs family)
    bound: np.ndarray        # (..., k) the one-sided lower bound against #1, d - t s/sqrt(n)
    may_be_best: np.ndarray  # (..., k) in G: not eliminated by MCB (#1 always)
    upper: np.ndarray        # (..., k) U_i (-inf when G holds no other configuration)
    delta: np.ndarray        # (...) the margin in score units: margin x |#1's mean|
    equivalent: np.ndarray   # (..., k) U_i < delta, never #1
    g: np.ndarray            # (..., k) the one-sided error of each comparison with #1

    @property
    def is_best(self):
        return np.arange(self.may_be_best.shape[-1]) == self.best[..., None]

    @property
    def decided(self):
        """(..., k): the rows whose part in the selection is settled (#1 counts as decided)."""
        return self.is_best | ~self.may_be_best | self.equivalent

    @property
    def settled_selection(self):
        """(...): every row but #1 cannot be the best or is within the margin of it."""
        return self.decided.all(axis=-1)


def _along(a, index):
    """a[..., i, index[...]] for every i: (..., k, k) -> (..., k)."""
    index = np.broadcast_to(np.asarray(index)[..., None, None], a.shape[:-1] + (1,))
    return np.take_along_axis(a, index, axis=-1)[..., 0]


def selection(values, margin, looks=1, alpha=ALPHA):
    """The leaderboard with MCB and the margin (see "selection" in the module docstring).

    Args:
        values: (..., k, N) each configuration's score per seed (NaN: none).
        margin: the share of #1's |mean| within which a difference does not matter.
        looks: the study's spending (an int: equal shares; or a `Spending`).
    """
    values = np.asarray(values, dtype=np.float64)
    k = values.shape[-2]
    best, versus, settled = leaderboard(values, looks, alpha)
    p = paired(values[..., None, :, :], values[..., :, None, :])  # d_ij = x_i - x_j
    g = np.broadcast_to(look_alpha(looks, alpha, p.n) / max(1, k - 1), p.n.shape)
    half = half_width(p, 2 * g)  # the two-sided interval at 2g: one-sided g on each side
    bound = _along(p.diff - half, best)
    may = ~_above(bound, 0)
    others = may[..., None, :] & ~np.eye(k, dtype=bool)
    high = np.nan_to_num(p.diff + half, nan=np.inf)
    upper = np.where(others, high, -np.inf).max(axis=-1)
    with np.errstate(invalid="ignore"):
        top = np.take_along_axis(np.nanmean(values, axis=-1), best[..., None], axis=-1)[..., 0]
    delta = margin * np.abs(top)
    is_best = np.arange(k) == best[..., None]
    equivalent = (upper < delta[..., None]) & ~is_best
    return Selection(best, versus, settled, bound, may | is_best, upper, delta, equivalent,
                     _along(g, best))


# ---------------------------------------------------------------- reach (futility)

# A comparison whose chance of deciding by the cap is below FUTILITY stops racing, once it has
# FUTILITY_SEEDS (an sd from 3 seeds is too rough to give up on). Measured on simulated races
# (the best 2 sds ahead, margin 0.15): 10% from 3 seeds cut the settled selections from 77%
# (no futility) to 64% at k = 4 and from 36% to 21% at k = 8; 5% from 5 seeds keeps 72% and
# 34%, and still stops two equal configurations at 6.6 seeds on average instead of the cap.
FUTILITY, FUTILITY_SEEDS = 0.05, 5


def _phi(x):
    from scipy import stats

    return stats.norm.cdf(x)


def decision_chances(diff, sd, n, cap, delta, one_sided_error):
    """The chance that a row's comparison with #1 decides by `cap` seeds if it goes on as
    it went (conditional power under the current trend): the mean at the cap is
    N(d, s^2 (N - n) / N^2), and it decides

        worse       when d_N - h_N > 0,
        equivalent  when d_N + h_N < delta,   h_N = t_{1-e_N, N-1} s / sqrt(N).

    Arrays broadcast; `one_sided_error` is e_N. Returns (chance worse, chance equivalent);
    both 1 at n >= cap where they are already what they are (nothing left to draw)."""
    diff, sd, n = (np.asarray(x, dtype=np.float64) for x in (diff, sd, n))
    h = _t(1 - np.asarray(one_sided_error, dtype=np.float64), cap - 1) * sd / math.sqrt(cap)
    spread = sd * np.sqrt(np.maximum(cap - n, 0)) / cap
    with np.errstate(invalid="ignore", divide="ignore"):
        worse = _phi((diff - h) / spread)
        equal = _phi((delta - h - diff) / spread)
    done = (n >= cap) | ~np.isfinite(sd)
    return np.where(done, 1.0, worse), np.where(done, 1.0, equal)


def out_of_reach(diff, sd, n, cap, delta, one_sided_error, threshold=FUTILITY):
    """Rows whose comparison with #1 is unlikely to decide by the cap (both chances of
    `decision_chances` below `threshold`, from FUTILITY_SEEDS seeds on). Stopping them never
    adds a false decision: it only gives up chances to decide."""
    worse, equal = decision_chances(diff, sd, n, cap, delta, one_sided_error)
    return (np.maximum(np.nan_to_num(worse, nan=1.0), np.nan_to_num(equal, nan=1.0))
            < threshold) & (np.asarray(n) >= FUTILITY_SEEDS) & (np.asarray(n) < cap)


# ---------------------------------------------------------------- claims


def _verdict(supported, contradicted):
    return np.where(contradicted, CONTRADICTED, np.where(supported, SUPPORTED, OPEN))


def _above(x, bound):
    return np.nan_to_num(x, nan=-np.inf) > bound


def _below(x, bound):
    return np.nan_to_num(x, nan=np.inf) < bound


def _share(looks, alpha, checks=1, n=None):
    """The error a claim's check may spend on "contradicted": a look's share (`look_alpha` at
    n shared seeds) split over the claim's `checks` (Bonferroni over the checks: a claim is
    contradicted if any check is)."""
    return look_alpha(looks, alpha, n) / max(1, int(checks))


def _side(prone, index):
    """Whether configuration `index` (an int or a list) diverged in a run: (...) bool."""
    if prone is None:
        return np.False_
    return np.asarray(prone, dtype=bool)[..., index]


@dataclass(frozen=True)
class Tie:
    """Each comparison's tie reading (..., c), x the claimed configuration, y the other, d =
    y - x, one-sided a' each (intervals at g = 2a'):

        within   x is not worse than y by more than the margin: mu_x <= (1 + f) mu_y, the
                 interval of (1 + f) y_s - x_s above 0; as a bound on d, low > -margin_low
        close    y is not worse than x by more than it: mu_y <= (1 + f) mu_x, the interval
                 of (1 + f) x_s - y_s above 0; as a bound on d, high < margin_high
        settled  y settled worse than x (the strict reading, g = a')

    and tied = within and (settled or close): x is within the margin of the best, and each
    other is settled worse or within the margin of x. margin_low = f x y's mean, margin_high
    = f x x's mean over the shared seeds."""

    low: np.ndarray
    high: np.ndarray
    margin_low: np.ndarray
    margin_high: np.ndarray
    within: np.ndarray
    close: np.ndarray
    settled: np.ndarray
    contrasts: tuple = ()  # the Paired numbers of within's and close's contrasts

    @property
    def tied(self):
        return self.within & (self.settled | self.close)


def _mean_where(ok, y):
    with np.errstate(invalid="ignore"):
        return np.where(ok, y, 0.0).sum(axis=-1) / np.maximum(ok.sum(axis=-1), 1)


def tie(x, y, fraction, looks=1, alpha=ALPHA):
    """`Tie` of the claimed x (..., 1, N) against others y (..., c, N) at margin `fraction`:
    a share of the better one's score, tested seed by seed on linear contrasts (never a
    random quantity computed from the same data and then taken as fixed)."""
    x, y = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = np.where(ok, x, np.nan), np.where(ok, y, np.nan)
    strict_p = paired(x, y)
    g = 2 * look_alpha(looks, alpha, strict_p.n)
    within = interval(paired(x, (1 + fraction) * y), g)
    close = interval(paired(y, (1 + fraction) * x), g)
    strict = interval(strict_p, look_alpha(looks, alpha, strict_p.n))
    m_low, m_high = fraction * _mean_where(ok, y), fraction * _mean_where(ok, x)
    return Tie(within.low - m_low, m_high - close.low, m_low, m_high, _above(within.low, 0),
               _above(close.low, 0), _above(strict.low, 0), (within.p, close.p))


def tie_advice(tie, looks=1, alpha=ALPHA):
    """The seeds per configuration that would show the tie with 80% power if its contrasts'
    means and sds held (`seeds_for_power`, one-sided error a', the most over the contrasts
    not yet shown), as an Advice; no seeds if some contrast is out of reach."""
    needed, now = [], []
    for shown, p in ((tie.within, tie.contrasts[0]), (tie.close | tie.settled, tie.contrasts[1])):
        for i in np.flatnonzero(~np.asarray(shown).reshape(-1)):
            n, sd = int(p.n.reshape(-1)[i]), float(p.sd.reshape(-1)[i])
            needed.append(seeds_for_power(float(p.diff.reshape(-1)[i]), sd, n,
                                          lambda seeds: look_alpha(looks, alpha, seeds))
                          if n >= 2 and math.isfinite(sd) else MIN_SEEDS)
            now.append(n)
    seeds = max(needed, default=math.inf)
    if not math.isfinite(seeds) or seeds > MAX_REPEATS:
        return Advice(None, "")
    return Advice(seeds, f"about {seeds} seeds (now {min(now)}) for 80% power to show the tie, "
                         f"if the differences held")


def _strict(values, claimed, prone, looks, alpha, checks, c):
    """The one-sided family of the claimed configuration against c others (see
    `_one_sided_family`), with divergence-prone sides unable to win."""
    p = paired(values[..., [claimed], :], values[..., [j for j in range(values.shape[-2])
                                                       if j != claimed], :])
    return _one_sided_family(p, looks, alpha, c, checks, _side(prone, claimed),
                             _side(prone, [j for j in range(values.shape[-2]) if j != claimed]))


def _with_tie(strict, quoted, contradicted, tied_all, claimed_prone):
    """The verdict with the tie: supported needs the tie too (so that "supported or tied"
    errs no more than the tie alone), tied when every other is within the margin but some
    is not separated; a configuration that diverged in a run is never tied or best."""
    supported = strict & tied_all & ~claimed_prone
    tied = tied_all & ~supported & ~contradicted & ~claimed_prone
    return np.where(contradicted, CONTRADICTED,
                    np.where(supported, SUPPORTED, np.where(tied, TIED, OPEN))), quoted


def decide_better(a, b, looks=1, alpha=ALPHA, margin=None, checks=1, prone=None):
    """"a scores lower than b": d = b - a. a, b: (..., N).

    supported iff the interval at g = a' lies above 0 (and, with a margin, a is tied with
    b: `tie`); contradicted iff the interval at g = a'/checks lies below 0; tied (with a
    `margin` fraction) iff a and b are within the margin of each other (`Tie.tied`) and
    neither of those holds. `prone`
    (..., 2): whether a, b diverged in some run: such a side is never called better.
    Returns (verdict (...), Intervals (..., 1))."""
    values = np.stack(np.broadcast_arrays(np.asarray(a, dtype=np.float64),
                                          np.asarray(b, dtype=np.float64)), axis=-2)
    code, iv = _strict(values, 0, prone, looks, alpha, checks, 1)
    if margin is None:
        return code, iv
    t = tie(values[..., :1, :], values[..., 1:, :], margin, looks, alpha)
    return _with_tie(code == SUPPORTED, iv, code == CONTRADICTED, t.tied.all(-1),
                     _side(prone, 0))


def _one_sided_family(p, looks, alpha, c, checks=1, prone_claimed=False, prone_others=False):
    """Per comparison: the interval a claim's side reads (g = a'), the other side's
    Bonferroni one (g = a'/(c checks)), and which to quote: the claim's where d >= 0. A
    claimed configuration that diverged in a run is never supported; another that did never
    contradicts it."""
    own = interval(p, look_alpha(looks, alpha, p.n))
    family = interval(p, _share(looks, alpha, checks, p.n) / max(1, c))
    supported = _above(own.low, 0).all(-1) & ~np.asarray(prone_claimed)
    contradicted = (_below(family.high, 0) & ~np.asarray(prone_others)).any(-1)
    quoted = _pick(np.nan_to_num(p.diff, nan=0.0) >= 0, own, family)
    return _verdict(supported, contradicted), quoted


def decide_best(values, claimed, looks=1, alpha=ALPHA, margin=None, checks=1, prone=None):
    """"configuration `claimed` scores lowest": d_j = values_j - values_claimed for every
    other j. values: (..., k, N); prone: (..., k) bool, the configurations that diverged in
    some run (never best, never better than the claimed one).

    supported iff every d_j's interval at g = a' lies above 0 (and, with a margin, the tie
    holds); contradicted iff some d_j's interval at g = a'/((k-1) checks) lies below 0; tied
    (with a `margin` fraction) iff `Tie.tied` holds against every other (one-sided a' each:
    intersection-union) and neither of those does.
    Returns (verdict (...), Intervals (..., k-1))."""
    values = np.asarray(values, dtype=np.float64)
    k = values.shape[-2]
    code, iv = _strict(values, claimed, prone, looks, alpha, checks, k - 1)
    if margin is None:
        return code, iv
    others = [j for j in range(k) if j != claimed]
    t = tie(values[..., [claimed], :], values[..., others, :], margin, looks, alpha)
    return _with_tie(code == SUPPORTED, iv, code == CONTRADICTED, t.tied.all(-1),
                     _side(prone, claimed))


def decide_increases(values, looks=1, alpha=ALPHA, checks=1):
    """"the quantity grows from each configuration to the next": d_j = values_{j+1} -
    values_j. values: (..., k, N). Returns (verdict (...), Intervals (..., k-1))."""
    values = np.asarray(values, dtype=np.float64)
    k = values.shape[-2]
    p = paired(values[..., :-1, :], values[..., 1:, :])
    return _one_sided_family(p, looks, alpha, k - 1, checks)


def pair_indices(k):
    """(i, j), i < j, of every pair among k configurations, in order."""
    return [(i, j) for i in range(k) for j in range(i + 1, k)]


def similar_margin(values, fraction):
    """fraction x |the mean over configurations of each configuration's mean|. values:
    (..., k, N) -> (...)."""
    with np.errstate(invalid="ignore"):
        return fraction * np.abs(np.nanmean(np.nanmean(values, axis=-1), axis=-1))


def decide_similar(values, fraction, looks=1, alpha=ALPHA, checks=1):
    """"no two configurations differ by more than the margin": per pair (i, j) and seed s,
    with m_s = the mean over the k configurations at seed s, the contrasts

        upper_s = (y_js - y_is) - f m_s,    lower_s = (y_js - y_is) + f m_s,

    whose means are d - margin and d + margin (margin = f x the mean of the means) with
    the margin's own seed-to-seed variation inside: a shared seed effect moves the margin
    and the difference together. Supported iff every pair has upper's interval at g = 2a'
    below 0 and lower's above 0 (TOST, one-sided a' each; intersection-union over pairs);
    contradicted iff some pair has upper's interval at g = a'/(m checks) above 0 or lower's
    below 0 (Bonferroni over the m = k(k-1)/2 pairs and the claim's checks).

    values: (..., k, N). Returns (verdict (...), Intervals (..., m): the difference's
    interval as the decision reads it (d - the upper contrast's half-width to d + ...),
    margin (...): f x the mean of the compared configurations' means, for the reader)."""
    values = np.asarray(values, dtype=np.float64)
    k = values.shape[-2]
    index = pair_indices(k)
    first, second = [i for i, _ in index], [j for _, j in index]
    with np.errstate(invalid="ignore"):
        level = fraction * np.abs(values.mean(axis=-2, keepdims=True))  # NaN unless all scored
    x, y = values[..., first, :], values[..., second, :]
    upper, lower = paired(x, y - level), paired(x, y + level)
    a = look_alpha(looks, alpha, upper.n)
    g_family = _share(looks, alpha, checks, upper.n) / max(1, len(index))
    inside = _below(interval(upper, 2 * a).high, 0) & _above(interval(lower, 2 * a).low, 0)
    beyond = _above(interval(upper, g_family).low, 0) | _below(interval(lower, g_family).high, 0)
    margin = similar_margin(values, fraction)
    d = paired(np.where(np.isfinite(level), x, np.nan), y)  # the pairs' own seeds
    with np.errstate(invalid="ignore"):
        m = (upper.diff - lower.diff) / -2  # f x the mean of m_s over each pair's seeds
    toward = np.nan_to_num(np.abs(d.diff), nan=0.0) <= np.nan_to_num(m, nan=0.0)
    g = np.where(toward, 2 * a, g_family)
    half = np.maximum(half_width(upper, g), half_width(lower, g))
    shown = Paired(d.n, d.diff, np.fmax(upper.sd, lower.sd), d.scale)
    edge = np.where(np.nan_to_num(d.diff, nan=0.0) >= 0, m, -m)
    quoted = Intervals(shown, d.diff - half, d.diff + half,
                       np.broadcast_to(1 - g, d.diff.shape), edge)
    return _verdict(inside.all(-1), beyond.any(-1)), quoted, margin


def decide_plateau(at, end, fraction, looks=1, alpha=ALPHA, checks=1):
    """"the score improves by less than fraction x its value at the epoch": d = at - end,
    margin = fraction x |mean at|; supported iff the interval at g = a' has high <= margin,
    contradicted iff the interval at g = a'/checks has low > margin. at, end: (..., N).
    Returns (verdict, Intervals (..., 1), margin)."""
    at, end = np.asarray(at, dtype=np.float64), np.asarray(end, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        margin = fraction * np.abs(np.nanmean(at, axis=-1))
    p = paired(end[..., None, :], at[..., None, :])
    iv = interval(p, look_alpha(looks, alpha, p.n), margin[..., None])
    family = interval(p, _share(looks, alpha, checks, p.n), margin[..., None])
    supported = (np.nan_to_num(iv.high, nan=np.inf) <= margin[..., None]).all(-1)
    contradicted = _above(family.low, margin[..., None]).any(-1)
    quoted = _pick(np.nan_to_num(p.diff, nan=0.0) > margin[..., None], family, iv)
    return _verdict(supported, contradicted), quoted, margin


def clopper_pearson_upper(events, trials, level=1 - ALPHA):
    """The one-sided upper confidence bound of a rate from `events` of `trials` (Clopper-
    Pearson): the p with P(Binomial(trials, p) <= events) = 1 - level; 1 if events = trials.
    0 of 3 gives 1 - 0.05^(1/3) = 0.632."""
    from scipy import stats

    events, trials = np.asarray(events), np.asarray(trials)
    with np.errstate(invalid="ignore"):
        bound = stats.beta.ppf(level, events + 1, np.maximum(trials - events, 1))
    return np.where(events >= trials, 1.0, bound)


# ---------------------------------------------------------------- advice


def seeds_for_power(gap, sd, now, one_sided_error, power=POWER, limit=SEARCH_LIMIT):
    """The smallest n in [max(now + 1, MIN_SEEDS), limit] with

        gap · sqrt(n) / sd >= t_{1-e, n-1} + t_{power, n-1};

    e = `one_sided_error`, a number or a function of n (a spending by seeds);
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
    e = one_sided_error(n) if callable(one_sided_error) else one_sided_error
    ok = gap * np.sqrt(n) / sd >= _t(1 - e, n - 1) + _t(power, n - 1)
    return int(n[ok.argmax()]) if ok.any() else math.inf


@dataclass(frozen=True)
class Advice:
    """What would decide an open comparison: `seeds` per configuration for 80% power
    (None when more than MAX_REPEATS would be needed) and the words."""

    seeds: int | None
    text: str


NO_SEED = ("no seed in common: run the same seeds (--repeats K trains seeds seed..seed+K-1 "
           "for every configuration)")


def advice(diff, sd, n, level, boundary=0.0, tolerance=0.0, error=None):
    """Advice for one open comparison with mean difference `diff`, sd `sd` over `n` shared
    seeds, read at interval level `level` against `boundary` (see `seeds_for_power`);
    `error`: the one-sided error at a future n (a function of n), else (1 - level) / 2."""
    if n == 0:
        return Advice(None, NO_SEED)
    if n < 2 or sd is None or not math.isfinite(sd):
        return Advice(MIN_SEEDS, f"needs {MIN_SEEDS} seeds (now {n}): --repeats {MIN_SEEDS}")
    gap = abs(diff - boundary)
    if gap <= tolerance:
        what = "the difference" if boundary == 0 else "the difference from the margin"
        return Advice(None, f"hardly by repeats: {what} is nil to rounding")
    error = (1 - level) / 2 if error is None else error
    seeds = seeds_for_power(gap, sd, n, error)
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
