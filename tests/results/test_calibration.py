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

from tuner.common.config import MAX_REPEATS
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


@pytest.mark.parametrize("first", [2, 3])
@pytest.mark.parametrize("k", KS)
def test_racing_seeds_to_the_cap_keeps_the_leaderboard_honest(k, first):
    """The racing loop: one more seed to every open configuration after each look, from
    `first` seeds to MAX_REPEATS; a false "settled" at any look counts."""
    result = race.race(runs(700 + k + first, k, MAX_REPEATS), first)
    false = np.zeros(STUDIES, dtype=bool)
    for settled, _ in result.outcomes:
        false |= settled.any(axis=-1)
    assert false.mean() <= BOUND
    assert first <= result.seeds.min() and result.seeds.max() == MAX_REPEATS


def test_racing_with_a_shared_seed_effect():
    result = race.race(runs(800, 8, MAX_REPEATS, correlation=0.5), 3)
    false = np.zeros(STUDIES, dtype=bool)
    for settled, _ in result.outcomes:
        false |= settled.any(axis=-1)
    assert false.mean() <= BOUND


def test_racing_stops_giving_seeds_to_a_configuration_settled_worse():
    """One configuration far worse (10 sds) is settled within the first two looks in most
    studies, and gets no seed after it; the equal ones race on to the cap."""
    means = np.array([LEVEL, LEVEL, LEVEL + 10 * SD])
    result = race.race(runs(900, 3, MAX_REPEATS, means), 3)
    assert (result.seeds[:, 2] <= 4).mean() > 0.8 and result.seeds[:, 2].max() < MAX_REPEATS
    assert result.seeds[:, :2].mean() > 9


def test_the_plain_data_rule_is_the_arrays_rule():
    scores = {"a": {0: 0.020, 1: 0.021, 2: 0.019}, "b": {0: 0.060, 1: 0.061, 2: 0.062},
              "c": {0: 0.021, 1: 0.020, 2: 0.022}}
    assert race.open_configurations(scores) == ["a", "c"]
    scores["c"] = {0: 0.060, 1: 0.062, 2: 0.061}
    assert race.open_configurations(scores) == []
