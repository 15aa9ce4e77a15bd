"""The claims' array decisions on hand-made numbers: the tie, divergence-prone sides, a
claim's checks sharing "contradicted", the Clopper-Pearson bound."""

import numpy as np
import pytest
from scipy import stats

from tuner.results import decisions as d

X = np.array([0.020, 0.022, 0.018, 0.021])


def test_the_tie_reads_two_contrasts_seed_by_seed():
    """y = 1.05 x at every seed: the contrasts (1.1) y - x and (1.1) x - y have sd > 0; their
    90% paired-t intervals give the bounds on d = y - x."""
    y = 1.05 * X
    t = d.tie(X[None, :], y[None, :], 0.1)
    within = stats.ttest_1samp(1.1 * y - X, 0).confidence_interval(0.90)
    close = stats.ttest_1samp(1.1 * X - y, 0).confidence_interval(0.90)
    assert bool(t.within[0]) == (within.low > 0) and bool(t.close[0]) == (close.low > 0)
    assert float(t.margin_low[0]) == pytest.approx(0.1 * y.mean())
    assert float(t.margin_high[0]) == pytest.approx(0.1 * X.mean())
    assert float(t.low[0]) == pytest.approx(within.low - 0.1 * y.mean())
    assert float(t.high[0]) == pytest.approx(0.1 * X.mean() - close.low)
    assert t.tied[0]


def test_tied_needs_both_sides_and_supported_needs_the_tie():
    code, _ = d.decide_better(X, 1.05 * X, margin=0.1)  # b 5% worse at every seed, sd 0
    assert code == d.SUPPORTED
    code, _ = d.decide_better(X, X + np.array([0.0004, -0.0004, 0.0003, -0.0003]), margin=0.1)
    assert code == d.TIED
    far = X + np.array([0.010, 0.0, 0.012, -0.001])  # b worse by about 0.005, not separated
    code, _ = d.decide_better(X, far, margin=0.1)
    assert code == d.OPEN
    code, _ = d.decide_better(X, X + np.array([0.0004, -0.0004, 0.0003, -0.0003]))
    assert code == d.OPEN  # no margin, no tie


def test_a_side_that_diverged_is_never_the_winner():
    code, _ = d.decide_better(X, 1.05 * X, margin=0.1, prone=[True, False])
    assert code == d.OPEN
    code, _ = d.decide_better(1.5 * X, X, margin=0.1, prone=[False, True])
    assert code == d.OPEN  # b is better, but b diverged in a run: it does not contradict
    code, _ = d.decide_better(1.5 * X, X, margin=0.1)
    assert code == d.CONTRADICTED
    code, _ = d.decide_best(np.stack([X, 1.05 * X, 1.1 * X]), 0, margin=0.1,
                            prone=[False, False, True])
    assert code == d.SUPPORTED


def test_the_checks_of_a_claim_share_contradicted():
    b = X - np.array([0.0010, 0.0030, 0.0012, 0.0020])
    _, iv = d.decide_better(X, b, checks=3)
    expected = stats.ttest_rel(b, X).confidence_interval(1 - 0.05 / 3)
    assert float(iv.level[0]) == pytest.approx(1 - 0.05 / 3)
    assert float(iv.high[0]) == pytest.approx(expected.high)


def test_clopper_pearson_upper_bound():
    assert float(d.clopper_pearson_upper(0, 3)) == pytest.approx(1 - 0.05 ** (1 / 3))
    assert float(d.clopper_pearson_upper(0, 3)) == pytest.approx(0.632, abs=1e-3)
    assert float(d.clopper_pearson_upper(1, 4)) == pytest.approx(stats.beta.ppf(0.95, 2, 3))
    assert float(d.clopper_pearson_upper(3, 3)) == 1.0
