"""Paired comparisons with #1 over the seeds two configurations share, on a hand-made study
whose trials train three runs each (tests/helpers/repeated_study.py)."""

import math

import pytest
from scipy import stats

from tests.helpers.repeated_study import FINAL_KIDS, row_of
from tuner.results.intervals import compare, paired_t_interval, standard_error

# ---------------------------------------------------------------- paired comparisons


def test_the_paired_t_interval_is_scipys(repeated_study):
    best, third = row_of(repeated_study, "0"), row_of(repeated_study, "2")
    expected = stats.ttest_rel(FINAL_KIDS["2"][1], FINAL_KIDS["0"][1]).confidence_interval(0.95)
    vs = third["vs_best"]
    assert vs["n"] == 3 and vs["method"] == "paired t, 95%" and vs["settled"] is False
    assert vs["diff"] == pytest.approx((0.0146 + 0.0099 + 0.0030) / 3, abs=1e-12)
    assert (vs["low"], vs["high"]) == pytest.approx((expected.low, expected.high), abs=1e-12)
    assert best["rank"] == 1 and best["vs_best"] is None


def test_settled_only_when_the_interval_lies_above_zero(repeated_study):
    ranks = {row["trial_id"]: (row["rank"], row["vs_best"] and row["vs_best"]["settled"])
             for row in repeated_study.rows}
    assert ranks == {"0": (1, None), "1": (2, False), "2": (3, False), "3": (4, True),
                     "4": (5, True)}
    assert row_of(repeated_study, "3")["vs_best"]["low"] > 0


def test_paired_t_interval_closed_forms():
    assert paired_t_interval([]) == (None, None, None)
    assert paired_t_interval([0.5]) == (0.5, None, None)
    mean, low, high = paired_t_interval([1.0, 3.0])  # sd sqrt(2), se 1, t(0.975, 1)
    assert (mean, high - mean) == (2.0, pytest.approx(12.706204736174703))
    assert paired_t_interval([2.0, 2.0, 2.0]) == (2.0, 2.0, 2.0)
    assert standard_error([1.0]) is None
    assert standard_error([1.0, 3.0, 5.0]) == pytest.approx(2 / math.sqrt(3))
    one = compare({0: 0.1}, {0: 0.3, 1: 0.2})
    assert (one["n"], one["diff"], one["low"], one["settled"]) == (1, pytest.approx(0.2), None,
                                                                  False)
