"""Error rates of the decisions on simulated studies (no training): with every configuration
equal (for `similar` and `plateau`: a true difference exactly at the margin) a false
"settled" / "supported" / "contradicted" happens at most 5% of the time, for k = 2, 4, 8 and
24 configurations, at fixed seeds and when racing seeds up to MAX_REPEATS.

Each case simulates STUDIES studies whose runs score 0.02 + noise of sd 0.004 per run
(independent, or half of the variance a seed effect every configuration shares: correlation
0.5) and asserts rate <= 0.05 + 3 binomial standard errors (the Monte Carlo tolerance),
with fixed RNG seeds, so the tests are deterministic. `better` compares two configurations and
`plateau` one configuration at two epochs whatever the study's size."""

import math

import numpy as np
import pytest

from tuner.common.config import DEFAULT_MARGIN, MAX_REPEATS
from tuner.results import decisions, race

STUDIES = 4000
LEVEL, SD, FRACTION = 0.02, 0.004, 0.2
BOUND = 0.05 + 3 * math.sqrt(0.05 * 0.95 / STUDIES)  # 0.0603
# Cases whose rate is 5% exactly by construction (one two-sided comparison) sit on the bound:
# they simulate more studies, so that the Monte Carlo tolerance is not all that passes them.
MANY = 20000
KS = (2, 4, 8, 24)


def bound(studies):
    return 0.05 + 3 * math.sqrt(0.05 * 0.95 / studies)


def runs(seed, k, n, means=None, correlation=0.0, studies=STUDIES):
    """(studies, k, n) scores: `means` (k,) (default LEVEL) + noise of sd SD, a share
    `correlation` of its variance a per-seed effect common to every configuration."""
    rng = np.random.default_rng(seed)
    means = np.full(k, LEVEL) if means is None else np.asarray(means)
    shared = rng.standard_normal((studies, 1, n)) * math.sqrt(correlation)
    own = rng.standard_normal((studies, k, n)) * math.sqrt(1 - correlation)
    return means[None, :, None] + SD * (shared + own)


@pytest.mark.parametrize("correlation", [0.0, 0.5])
@pytest.mark.parametrize("n", [3, 10])
@pytest.mark.parametrize("k", KS)
def test_the_leaderboard_rarely_settles_equal_configurations(k, n, correlation):
    studies = MANY if k == 2 else STUDIES
    values = runs(100 + k + n, k, n, correlation=correlation, studies=studies)
    _, _, settled = decisions.leaderboard(values)
    assert settled.any(axis=-1).mean() <= bound(studies)


@pytest.mark.parametrize("looks", [1, 8])
def test_looks_are_paid_for_at_every_look(looks):
    """Looking `looks` times at growing seeds: any look's false "settled" counts."""
    values = runs(7, 8, 3 + looks - 1)
    false = np.zeros(STUDIES, dtype=bool)
    for n in range(3, 3 + looks):
        false |= decisions.leaderboard(values[..., :n], looks)[2].any(axis=-1)
    assert false.mean() <= BOUND


@pytest.mark.parametrize("n", [3, 5, 10])
def test_better_between_equal_configurations(n):
    values = runs(200 + n, 2, n, studies=MANY)
    verdict, _ = decisions.decide_better(values[:, 0], values[:, 1])
    assert (verdict != decisions.OPEN).mean() <= bound(MANY)


@pytest.mark.parametrize("correlation", [0.0, 0.5])
@pytest.mark.parametrize("k", KS)
def test_best_of_equal_configurations(k, correlation):
    for n in (3, 10):
        verdict, _ = decisions.decide_best(runs(300 + k + n, k, n, correlation=correlation), 0)
        assert (verdict != decisions.OPEN).mean() <= BOUND


@pytest.mark.parametrize("k", KS)
def test_increases_over_equal_configurations(k):
    for n in (3, 10):
        verdict, _ = decisions.decide_increases(runs(400 + k + n, k, n))
        assert (verdict != decisions.OPEN).mean() <= BOUND


@pytest.mark.parametrize("k", KS)
def test_similar_at_the_margin_edge(k):
    """Two configurations differ by exactly the margin (0.2 x the mean of the true means), the
    others lie between them: "supported" and "contradicted" are each wrong there."""
    delta = FRACTION * LEVEL
    means = np.full(k, LEVEL)
    means[0], means[1] = LEVEL - delta / 2, LEVEL + delta / 2
    for n in (3, 10):
        verdict, _, _ = decisions.decide_similar(runs(500 + k + n, k, n, means), FRACTION)
        assert (verdict == decisions.SUPPORTED).mean() <= BOUND
        assert (verdict == decisions.CONTRADICTED).mean() <= BOUND


@pytest.mark.parametrize("n", [3, 5, 10])
def test_plateau_improving_by_exactly_the_margin(n):
    rng = np.random.default_rng(600 + n)
    at = LEVEL + SD * rng.standard_normal((STUDIES, n))
    end = at - FRACTION * LEVEL + SD * rng.standard_normal((STUDIES, n))
    verdict, _, _ = decisions.decide_plateau(at, end, FRACTION)
    assert (verdict == decisions.SUPPORTED).mean() <= BOUND
    assert (verdict == decisions.CONTRADICTED).mean() <= BOUND


# ---------------------------------------------------------------- the race: ranking and selection
# The race looks after every new seed (3 to MAX_REPEATS) and spends by seeds
# (`decisions.Spending(by_seeds=True)`); a false decision at any look counts. Studies are
# raced in chunks (the selection compares every pair: (studies, k, k, seeds) arrays).
# Fewer studies at k = 24 (each look compares 276 pairs): the tolerance is then wider, and
# stated with each bound.
RACED = {2: 4000, 4: 4000, 8: 2000, 24: 600}
BY_SEEDS = decisions.Spending(by_seeds=True)


def noisy(seed, k, n, means=None, noise="independent", studies=STUDIES):
    """`runs`, or with heavy tails: t-distributed noise with 3 degrees of freedom scaled to
    sd SD (its kurtosis is infinite: single runs far off, as a diverging GAN gives)."""
    if noise == "independent":
        return runs(seed, k, n, means, 0.0, studies)
    if noise == "shared":
        return runs(seed, k, n, means, 0.5, studies)
    rng = np.random.default_rng(seed)
    means = np.full(k, LEVEL) if means is None else np.asarray(means)
    return means[None, :, None] + SD * rng.standard_t(3, (studies, k, n)) / math.sqrt(3)


def raced(values, score, chunk=200, **rule):
    """Race `values` in chunks; `score(race.Race)` gives a per-study array; concatenated."""
    return np.concatenate([
        score(race.race(values[i:i + chunk], 3, race.selection_rule(**rule)))
        for i in range(0, len(values), chunk)])


def any_look(check):
    """A score: whether `check(selection, far)` is true at any look of a study."""
    def score(result):
        return np.any([check(*outcome) for outcome in result.outcomes], axis=0)
    return score


@pytest.mark.parametrize("noise", ["independent", "shared", "heavy"])
@pytest.mark.parametrize("k", KS)
def test_racing_equal_configurations_settles_none_worse(k, noise):
    """(a) All equal: a row called "settled worse" at any look of the race <= 5%."""
    studies = RACED[k]
    values = noisy(1000 + k, k, MAX_REPEATS, noise=noise, studies=studies)
    false = raced(values, any_look(lambda chosen, far: chosen.settled.any(axis=-1)))
    assert false.mean() <= bound(studies)


def edge_means(k, margin=DEFAULT_MARGIN):
    """The best configuration (0) and k - 1 others worse than it by exactly the margin (a
    share of the best's true score): each a hair from being truly within it."""
    means = np.full(k, LEVEL * (1 + margin))
    means[0] = LEVEL
    return means


def wrongly_chosen(chosen, far):
    """Wrong at the margin's edge: a worse configuration called equivalent, or called the
    best (#1 of a settled selection), or the best one called "cannot be the best"."""
    equivalent = (chosen.equivalent & (np.arange(chosen.equivalent.shape[-1]) != 0)).any(-1)
    best_wrong = chosen.settled_selection & (chosen.best != 0)
    return equivalent | best_wrong | ~chosen.may_be_best[..., 0]


@pytest.mark.parametrize("noise", ["independent", "shared", "heavy"])
@pytest.mark.parametrize("k", KS)
def test_racing_never_calls_a_configuration_worse_by_the_margin_best_or_equivalent(k, noise):
    """(b) Worse than the best by exactly the margin: called equivalent, or best, or the
    best eliminated, at any look <= 5%."""
    studies = RACED[k]
    values = noisy(1100 + k, k, MAX_REPEATS, edge_means(k), noise, studies)
    assert raced(values, any_look(wrongly_chosen)).mean() <= bound(studies)


@pytest.mark.parametrize("k", [2, 8])
def test_the_advised_continuations_keep_five_percent(k):
    """A plain 3-seed search, then the race its end prints (looks at 3, then 4..10), and
    --repeats 3 -> 5 -> 10 by hand: spending by seeds, each number of seeds spends its own
    share, so any sequence of looks keeps 5% (equal shares gave 6.2-7.8% here)."""
    studies = RACED[k]
    equal = noisy(1200 + k, k, MAX_REPEATS, studies=studies)
    edge = noisy(1300 + k, k, MAX_REPEATS, edge_means(k), studies=studies)
    by_hand = [decisions.selection(equal[..., :n], DEFAULT_MARGIN, BY_SEEDS) for n in (3, 5, 10)]
    assert np.any([c.settled.any(-1) for c in by_hand], axis=0).mean() <= bound(studies)
    by_hand = [decisions.selection(edge[..., :n], DEFAULT_MARGIN, BY_SEEDS) for n in (3, 5, 10)]
    assert np.any([wrongly_chosen(c, None) for c in by_hand], axis=0).mean() <= bound(studies)
    plain = decisions.selection(equal[..., :3], DEFAULT_MARGIN, BY_SEEDS).settled.any(-1)
    then = raced(equal, any_look(lambda chosen, far: chosen.settled.any(-1)))
    assert (plain | then).mean() <= bound(studies)


def test_racing_stops_giving_seeds_to_a_configuration_settled_worse():
    """One configuration far worse (10 sds) is settled within the first looks in most
    studies and gets no seed after it; the race goes on for the two equal ones only while
    their comparison can still be decided."""
    means = np.array([LEVEL, LEVEL, LEVEL + 10 * SD])
    result = race.race(runs(900, 3, MAX_REPEATS, means), 3)
    assert (result.seeds[:, 2] <= 4).mean() > 0.8 and result.seeds[:, 2].max() < MAX_REPEATS
    assert result.seeds[:, :2].max() == MAX_REPEATS


def test_the_race_stops_when_the_selection_is_settled():
    """The best leads the 7 others by 4 sds: the selection settles before the cap in most
    studies, and the race stops there, #1 right."""
    means = np.full(8, LEVEL + 4 * SD)
    means[0] = LEVEL
    result = race.race(runs(901, 8, MAX_REPEATS, means, studies=1000), 3)
    chosen, _ = result.outcomes[-1]
    early = chosen.settled_selection & (result.seeds.max(axis=-1) < MAX_REPEATS)
    assert early.mean() > 0.5 and (chosen.best[chosen.settled_selection] == 0).all()


def test_a_comparison_out_of_reach_stops_drawing_seeds():
    """Two equal configurations with independent noise, at the default margin: within 10
    seeds neither "worse" nor "within the margin" can be shown (the interval's half-width at
    10 seeds exceeds the margin), so most races stop before the cap with the row out of
    reach, and hardly any decides anything false (<= 5%)."""
    result = race.race(runs(902, 2, MAX_REPEATS, studies=1000), 3)
    chosen, far = result.outcomes[-1]
    stopped = result.seeds[:, 1] < MAX_REPEATS
    assert stopped.mean() > 0.75 and result.seeds.mean() < 7
    assert (far[stopped, 1] | chosen.decided[stopped, 1]).all()
    assert np.any([c.settled.any(-1) for c, _ in result.outcomes], axis=0).mean() <= bound(1000)


def test_the_plain_data_rule_is_the_arrays_rule():
    scores = {"a": {0: 0.020, 1: 0.021, 2: 0.019}, "b": {0: 0.060, 1: 0.061, 2: 0.062},
              "c": {0: 0.024, 1: 0.021, 2: 0.026}}
    assert race.open_configurations(scores) == ["a", "c"]
    # c 0.001 above a with an sd of 0.004 over 5 seeds: by 10 seeds it would be neither
    # settled worse nor within the 10% margin (0.002); at 3 seeds it would still race (too
    # few to give up on)
    scores = {"a": dict(enumerate([0.020, 0.021, 0.019, 0.020, 0.021])), "b": scores["b"],
              "c": dict(enumerate([0.025, 0.018, 0.023, 0.016, 0.024]))}
    assert race.open_configurations(scores, margin=0.1) == []
    first = {name: {s: v for s, v in runs.items() if s < 3} for name, runs in scores.items()}
    assert race.open_configurations(first, margin=0.1) == ["a", "c"]
    scores["c"] = {0: 0.060, 1: 0.062, 2: 0.061}
    assert race.open_configurations(scores) == []
