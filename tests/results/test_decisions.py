"""tuner.results.decisions: the paired intervals against scipy, the Bonferroni levels over
pairs and looks, equivalence (TOST), the power advice against a brute-force search, and the
rounding tolerance."""

import math

import numpy as np
import pytest
from scipy import stats

from tuner.common.config import MAX_REPEATS
from tuner.results import decisions as d

A = np.array([0.0286, 0.0291, 0.0333, 0.0301])
B = np.array([0.0341, 0.0362, 0.0302, 0.0390])


def test_paired_numbers_skip_seeds_either_side_lacks():
    x = np.array([1.0, 2.0, np.nan, 4.0, 5.0])
    y = np.array([2.0, 2.5, 3.0, np.nan, 7.0])
    p = d.paired(x, y)
    assert (int(p.n), float(p.diff)) == (3, pytest.approx(3.5 / 3))
    assert float(p.sd) == pytest.approx(np.std([1.0, 0.5, 2.0], ddof=1))
    assert float(p.scale) == 7.0
    none = d.paired(np.array([1.0, np.nan]), np.array([np.nan, 2.0]))
    assert int(none.n) == 0 and np.isnan(none.diff) and np.isnan(none.sd)


@pytest.mark.parametrize("g", [0.05, 0.05 / 21, 0.05 / 168])
def test_the_interval_is_scipys_paired_t_interval(g):
    iv = d.interval(d.paired(A, B), g)
    expected = stats.ttest_rel(B, A).confidence_interval(1 - g)
    assert (float(iv.low), float(iv.high)) == pytest.approx((expected.low, expected.high),
                                                            abs=1e-12)
    assert float(iv.level) == 1 - g


def test_fewer_than_three_seeds_give_no_interval():
    iv = d.interval(d.paired(A[:2], B[:2]), 0.05)
    assert np.isnan(iv.low) and np.isnan(iv.high)
    _, _, settled = d.leaderboard(np.stack([A[:2], B[:2] + 1.0]))
    assert not settled.any()


def test_the_leaderboard_is_bonferroni_over_every_pair_and_the_looks():
    rng = np.random.default_rng(1)
    values = 0.02 + 0.004 * rng.standard_normal((7, 5))
    best, iv, settled = d.leaderboard(values, looks=8)
    assert best == np.argmin(values.mean(axis=1))
    g = 0.05 / 8 / 21
    for i in range(7):
        if i == best:
            assert float(iv.p.n[i]) == 5 and float(iv.p.diff[i]) == 0 and not settled[i]
            continue
        expected = stats.ttest_rel(values[i], values[best]).confidence_interval(1 - g)
        assert (iv.low[i], iv.high[i]) == pytest.approx((expected.low, expected.high),
                                                         abs=1e-12)
        assert settled[i] == (expected.low > 0)
    assert d.look_alpha(8) == 0.05 / 8 and d.pairs(7) == 21


def test_a_rounding_difference_is_never_settled_and_a_constant_one_is():
    """sd 0: within TOLERANCE x max(1, |score|) the interval holds 0, beyond it is the point."""
    level = np.full(3, 0.3)
    rounding = np.full(3, 0.1 + 0.2)  # 0.30000000000000004
    _, iv, settled = d.leaderboard(np.stack([level, rounding]))
    assert not settled.any() and iv.low[1] < 0 < iv.high[1]
    _, iv, settled = d.leaderboard(np.stack([level, level + 1e-6]))
    assert settled[1]
    assert (iv.low[1], iv.high[1]) == pytest.approx((1e-6 - 1e-9, 1e-6 + 1e-9), abs=1e-12)
    big = np.full(3, 1000.0)  # FD-like: the tolerance scales with the score
    _, _, settled = d.leaderboard(np.stack([big, big + 5e-7]))
    assert not settled.any()


def test_better_is_one_two_sided_interval_per_look():
    code, iv = d.decide_better(A, B, looks=2)
    expected = stats.ttest_rel(B, A).confidence_interval(1 - 0.025)
    assert (float(iv.low[0]), float(iv.high[0])) == pytest.approx((expected.low, expected.high))
    assert code == (d.SUPPORTED if expected.low > 0 else d.OPEN)
    code, _ = d.decide_better(B, A)
    assert code == (d.CONTRADICTED if expected.low > 0 else d.OPEN)


def test_best_supported_needs_every_interval_at_its_own_level_contradicted_any_at_bonferroni():
    claimed = np.array([0.020, 0.021, 0.019, 0.020])
    worse = claimed + np.array([0.010, 0.011, 0.009, 0.0105])
    slightly_better = claimed - np.array([0.0030, 0.0010, 0.0028, 0.0015])
    code, iv = d.decide_best(np.stack([claimed, worse, worse + 0.001]), 0)
    assert code == d.SUPPORTED and (iv.level == 0.95).all()
    # a value better than the claimed one: its interval below 0 at 1 - 0.05/2 (2 others)
    code, iv = d.decide_best(np.stack([claimed, worse, slightly_better]), 0)
    family = stats.ttest_rel(slightly_better, claimed).confidence_interval(1 - 0.025)
    assert float(iv.level[1]) == 1 - 0.025 and float(iv.high[1]) == pytest.approx(family.high)
    assert code == (d.CONTRADICTED if family.high < 0 else d.OPEN)
    assert family.high < 0


def test_increases_is_read_step_by_step():
    steps = np.stack([A, A + 0.01, A + 0.005])  # up, then down
    code, iv = d.decide_increases(steps)
    assert code == d.CONTRADICTED
    assert float(iv.level[0]) == 0.95 and float(iv.level[1]) == 1 - 0.025
    assert float(iv.high[1]) == pytest.approx(-0.005, abs=1e-9)  # sd 0: the point


def test_similar_is_two_one_sided_tests_within_the_mean_based_margin():
    rng = np.random.default_rng(3)
    base = 0.02 + 0.002 * rng.standard_normal(6)
    values = np.stack([base, base + 0.001 + 0.0002 * rng.standard_normal(6), base + 0.0005])
    code, iv, margin = d.decide_similar(values, 0.2, looks=1)
    assert float(margin) == pytest.approx(0.2 * values.mean(axis=1).mean())
    # pair (0, 1): TOST at 5% per side on the contrasts d_s -+ 0.2 m_s (m_s the seed's mean
    # over the 3): the quoted interval is d -+ the wider contrast's 90% half-width
    m = 0.2 * values.mean(axis=0)
    upper = stats.ttest_rel(values[1] - m, values[0]).confidence_interval(0.90)
    lower = stats.ttest_rel(values[1] + m, values[0]).confidence_interval(0.90)
    half = max(upper.high - upper.low, lower.high - lower.low) / 2
    diff = (values[1] - values[0]).mean()
    assert (float(iv.low[0]), float(iv.high[0])) == pytest.approx((diff - half, diff + half))
    assert upper.high < 0 < lower.low and code == d.SUPPORTED
    far = np.stack([base, base + 0.02, base + 0.0005])
    code, iv, margin = d.decide_similar(far, 0.2)
    assert code == d.CONTRADICTED
    assert float(iv.level[0]) == pytest.approx(1 - 0.05 / 3)  # Bonferroni over 3 pairs
    assert float(margin) == pytest.approx(0.2 * far.mean(axis=1).mean())


def test_a_plateau_reads_the_improvement_against_its_margin():
    at = np.array([0.030, 0.031, 0.029, 0.030])
    code, iv, margin = d.decide_plateau(at, at - 0.0001, 0.2)
    assert code == d.SUPPORTED and float(margin) == pytest.approx(0.2 * at.mean())
    code, _, _ = d.decide_plateau(at, at * 0.5, 0.2)
    assert code == d.CONTRADICTED


def brute_force(gap, sd, now, e, limit=d.SEARCH_LIMIT):
    for n in range(max(now + 1, 3), limit + 1):
        if gap * math.sqrt(n) / sd >= stats.t.ppf(1 - e, n - 1) + stats.t.ppf(0.8, n - 1):
            return n
    return math.inf


@pytest.mark.parametrize("gap, sd, now, e", [
    (0.004, 0.005, 3, 0.025), (0.004, 0.005, 3, 0.025 / 21), (0.001, 0.006, 5, 0.0125),
    (0.01, 0.001, 3, 0.025), (0.0001, 0.01, 3, 0.025), (0.003, 0.004, 9, 0.025 / 168)])
def test_the_power_formula_is_the_brute_force_search(gap, sd, now, e):
    assert d.seeds_for_power(gap, sd, now, e) == brute_force(gap, sd, now, e)


def test_advice_in_words_never_absurd():
    assert d.advice(0.0, 0.01, 0, 0.95).text == d.NO_SEED
    assert d.advice(0.001, None, 1, 0.95) == d.Advice(3, "needs 3 seeds (now 1): --repeats 3")
    nil = d.advice(1e-17, 0.0, 3, 0.95, tolerance=1e-9)
    assert nil == d.Advice(None, "hardly by repeats: the difference is nil to rounding")
    tiny = d.advice(1e-9, 0.02, 3, 0.95)
    assert tiny == d.Advice(None, "hardly by repeats: more than 100 seeds (now 3) for 80% "
                                  "power if the difference held")
    n = brute_force(0.002, 0.004, 3, 0.025)
    assert n > MAX_REPEATS
    assert d.advice(0.002, 0.004, 3, 0.95).text == (
        f"hardly by repeats: about {n} seeds (now 3) for 80% power if the difference held, "
        f"more than {MAX_REPEATS}")
    seeds = brute_force(0.008, 0.004, 3, 0.025)
    assert d.advice(0.008, 0.004, 3, 0.95) == d.Advice(
        seeds, f"about {seeds} seeds (now 3) for 80% power if the difference held")
    # a spending by seeds: the error at each future n is its own
    shares = d.Spending(by_seeds=True)
    tip = d.advice(0.008, 0.004, 3, 0.99, error=lambda n: d.look_alpha(shares, 0.05, n))
    assert tip.seeds == next(n for n in range(4, 101) if 0.008 * math.sqrt(n) / 0.004 >= stats.t.ppf(
        1 - 0.05 * d.seed_share(n), n - 1) + stats.t.ppf(0.8, n - 1))
    # equivalence: the gap is the distance to the margin, not to 0
    assert d.advice(0.001, 0.002, 4, 0.90, boundary=0.004).seeds == \
        brute_force(0.003, 0.002, 4, 0.05)


def test_level_text_keeps_the_digits_that_tell_it_from_certainty():
    assert [d.level_text(x) for x in (0.95, 0.995, 1 - 0.05 / 21, 1 - 0.05 / 168, 0.9)] == \
        ["95%", "99.5%", "99.76%", "99.97%", "90%"]


def test_spending_by_seeds_shares_sum_to_one_over_every_number_of_seeds():
    """20% at 3, 10% at 5, 40% at 10, 4% at 4 and 6-9, 1/(n(n-1)) beyond 10 (summing to
    1/10): any sequence of looks spends at most alpha."""
    n = np.arange(1, 200001)
    shares = d.seed_share(n)
    assert shares[:2].sum() == 0 and shares[2] == 0.2 and shares[4] == 0.1 and shares[9] == 0.4
    assert shares.sum() == pytest.approx(1 - 1 / 200000, abs=1e-12)  # the tail's telescoping sum
    spending = d.Spending(by_seeds=True)
    assert d.look_alpha(spending, 0.05, np.array([3, 10, 11])).tolist() == pytest.approx(
        [0.01, 0.02, 0.05 / 110])
    assert d.look_alpha(d.Spending(looks=2, by_seeds=True), 0.05, 3) == pytest.approx(0.005)
    assert d.look_alpha(d.Spending(looks=8), 0.05, np.array([3, 10])).tolist() == [0.05 / 8] * 2
    code, iv = d.decide_better(A[:3], B[:3], looks=spending)  # 3 seeds: 1% two-sided
    expected = stats.ttest_rel(B[:3], A[:3]).confidence_interval(0.99)
    assert (float(iv.low[0]), float(iv.high[0])) == pytest.approx((expected.low, expected.high))


def test_selection_is_mcb_against_the_best_and_equivalence_within_the_margin():
    """k = 3 over 5 seeds, one planned look: each one-sided bound at g = 0.05/2 (k - 1 = 2
    comparisons with the best), U_i the largest upper bound against the others that may be
    best, equivalent iff U_i < margin x |#1's mean|."""
    values = np.array([[0.020, 0.021, 0.019, 0.022, 0.020],
                       [0.0205, 0.0212, 0.0196, 0.0221, 0.0204],
                       [0.030, 0.029, 0.033, 0.031, 0.030]])
    chosen = d.selection(values, 0.15)
    t = stats.t.ppf(1 - 0.025, 4)

    def bounds(i, j):  # d_ij -+ t s_ij / sqrt(n)
        diff = values[i] - values[j]
        half = t * diff.std(ddof=1) / math.sqrt(5)
        return diff.mean() - half, diff.mean() + half

    assert chosen.best == 0 and chosen.g[1] == pytest.approx(0.025)
    assert chosen.bound[1] == pytest.approx(bounds(1, 0)[0]) and chosen.bound[1] > 0
    assert chosen.may_be_best.tolist() == [True, False, False]  # 1 is worse, if only a little
    assert chosen.upper[1] == pytest.approx(bounds(1, 0)[1])    # G = {0}: U_1 against 0 alone
    assert chosen.delta == pytest.approx(0.15 * values[0].mean())
    assert chosen.equivalent.tolist() == [False, True, False]
    assert chosen.settled_selection
    # a margin below the upper bound leaves 1 "not the best" but not a tie: still settled
    tight = d.selection(values, 0.01)
    assert tight.equivalent.tolist() == [False, False, False] and tight.settled_selection


def test_out_of_reach_is_conditional_power_below_five_percent_from_five_seeds():
    """The mean at the cap N ~ N(d, s^2 (N - n) / N^2): chances of d_N - h_N > 0 and of
    d_N + h_N < delta, h_N = t_{1-e, N-1} s / sqrt(N)."""
    worse, equal = d.decision_chances(0.001, 0.006, 5, 10, 0.003, 0.02)
    h = stats.t.ppf(0.98, 9) * 0.006 / math.sqrt(10)
    spread = 0.006 * math.sqrt(5) / 10
    assert float(worse) == pytest.approx(stats.norm.cdf((0.001 - h) / spread))
    assert float(equal) == pytest.approx(stats.norm.cdf((0.003 - h - 0.001) / spread))
    assert d.out_of_reach(0.001, 0.006, 5, 10, 0.003, 0.02)
    assert not d.out_of_reach(0.001, 0.006, 4, 10, 0.003, 0.02)   # too few seeds to give up
    assert not d.out_of_reach(0.001, 0.006, 10, 10, 0.003, 0.02)  # at the cap: nothing to stop
    assert not d.out_of_reach(0.008, 0.006, 5, 10, 0.003, 0.02)   # worse is within reach
