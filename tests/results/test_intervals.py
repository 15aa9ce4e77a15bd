"""The leaderboard's paired comparisons with #1 over the seeds two configurations share, on a
hand-made study whose trials train three runs each (tests/helpers/repeated_study.py)."""

import math

import pytest
from scipy import stats

from tests.helpers.repeated_study import FINAL_KIDS, row_of
from tuner.common.config import DEFAULT_MARGIN
from tuner.results.intervals import interval_phrase, standard_error

# ---------------------------------------------------------------- paired comparisons


def test_the_interval_is_scipys_at_the_bonferroni_level_over_every_pair(repeated_study):
    """5 compared configurations: 10 pairs, one planned look -> each interval at 1 - 0.05/10."""
    best, third = row_of(repeated_study, "0"), row_of(repeated_study, "2")
    expected = stats.ttest_rel(FINAL_KIDS["2"][1], FINAL_KIDS["0"][1]).confidence_interval(0.995)
    vs = third["vs_best"]
    assert (vs["n"], vs["method"], vs["settled"]) == (3, "paired t, Bonferroni", False)
    assert (vs["level"], vs["pairs"], vs["looks"]) == (pytest.approx(0.995), 10, 1)
    assert vs["diff"] == pytest.approx((0.0146 + 0.0099 + 0.0030) / 3, abs=1e-12)
    assert (vs["low"], vs["high"]) == pytest.approx((expected.low, expected.high), abs=1e-12)
    assert best["rank"] == 1 and best["vs_best"] is None


def test_settled_only_when_the_simultaneous_interval_lies_above_zero(repeated_study):
    ranks = {row["trial_id"]: (row["rank"], row["vs_best"] and row["vs_best"]["settled"])
             for row in repeated_study.rows}
    assert ranks == {"0": (1, None), "1": (2, False), "2": (3, False), "3": (4, True),
                     "4": (5, True)}
    assert row_of(repeated_study, "3")["vs_best"]["low"] > 0


def test_an_unsettled_row_says_how_many_seeds_would_settle_it(repeated_study):
    """Trial 2 against #1 is past half the margin (DEFAULT_MARGIN x 0.0303), so the nearer decision is
    "worse": the smallest n >= 4 with |d| sqrt(n)/s >= t_{1-e, n-1} + t_{0.8, n-1}, e the
    one-sided error of multiple comparisons with the best, 0.05/4 over the 4 others (an old
    study: one planned look), found here by brute force."""
    vs = row_of(repeated_study, "2")["vs_best"]
    d = [a - b for a, b in zip(FINAL_KIDS["2"][1], FINAL_KIDS["0"][1], strict=True)]
    mean, sd = sum(d) / 3, stats.tstd(d)
    n = next(n for n in range(4, 101)
             if abs(mean) * math.sqrt(n) / sd >= stats.t.ppf(1 - 0.05 / 4, n - 1)
             + stats.t.ppf(0.8, n - 1))
    assert vs["seeds_needed"] == n == 7
    assert vs["advice"] == "about 7 seeds (now 3) for 80% power if the difference held"
    assert (vs["status"], vs["equivalent"], vs["mcb_level"]) == ("open", False, 1 - 0.05 / 4)
    assert vs["margin"] == pytest.approx(DEFAULT_MARGIN * sum(FINAL_KIDS["0"][1]) / 3, abs=1e-12)


def test_standard_error_and_the_phrase_of_an_interval():
    assert standard_error([1.0]) is None
    assert standard_error([1.0, 3.0, 5.0]) == pytest.approx(2 / math.sqrt(3))
    comparison = {"diff": 0.0012, "low": -0.001, "high": 0.0034, "n": 3, "level": 1 - 0.05 / 21}
    assert interval_phrase(comparison, "kid") == \
        "+0.0012, 99.76% interval -0.0010 to +0.0034 over 3 seeds"
    assert interval_phrase({**comparison, "low": None, "high": None, "n": 2}, "fd") == \
        "+0.00 over 2 shared seeds, too few for an interval (needs 3)"
    assert interval_phrase({**comparison, "n": 0}, "kid") == \
        "no seed in common, so no paired comparison"
