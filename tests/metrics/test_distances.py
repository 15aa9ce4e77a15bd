"""Tests for tuner.metrics.distances: FD, KID, density and coverage on known cases."""

import itertools
import warnings

import numpy as np
import pytest
import scipy.linalg

from tuner.metrics import distances
from tuner.metrics.distances import (
    all_pairs_kid,
    density_coverage,
    frechet_distance,
    kernel_distance,
    kernel_row_sums,
)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def _sqrtm_reference(a, b):
    """FD the textbook way, with scipy.linalg.sqrtm on S_a S_b."""
    mean_a, mean_b = a.mean(axis=0), b.mean(axis=0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    with warnings.catch_warnings():
        # sqrtm warns about singular products in the rank-deficient case.
        warnings.simplefilter("ignore")
        root = scipy.linalg.sqrtm(cov_a @ cov_b)
    trace_root = np.trace(root).real
    mean_term = np.sum((mean_a - mean_b) ** 2)
    return float(mean_term + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_root)


def _correlated(rng, n, d, scale=1.0):
    mixing = rng.normal(size=(d, d)) * scale
    return rng.normal(size=(n, d)) @ mixing


# ---------------------------------------------------------------- Frechet


def test_fd_identical_sets_is_zero(rng):
    a = _correlated(rng, 300, 8)
    trace = np.trace(np.cov(a, rowvar=False))
    assert abs(frechet_distance(a, a)) <= 1e-9 * trace


def test_fd_identical_rank_deficient_sets_is_zero(rng):
    a = rng.normal(size=(50, 256))
    trace = np.trace(np.cov(a, rowvar=False))
    assert abs(frechet_distance(a, a)) <= 1e-9 * trace


@pytest.mark.parametrize("n, d", [(400, 6), (50, 256)])
def test_fd_of_shifted_sample_is_squared_shift(rng, n, d):
    a = _correlated(rng, n, d)
    shift = rng.normal(size=d) * 3.0
    expected = float(shift @ shift)
    assert frechet_distance(a, a + shift) == pytest.approx(expected, rel=1e-9)


def test_fd_unit_gaussians_converge_to_squared_mean_difference(rng):
    d = 4
    a = rng.normal(size=(200_000, d))
    b = rng.normal(size=(200_000, d)) + 1.0
    assert frechet_distance(a, b) == pytest.approx(float(d), rel=0.02)


def test_fd_one_dimensional_by_hand():
    a = np.array([[1.0], [2.0], [4.0], [7.0]])
    b = np.array([[0.0], [3.0], [3.5]])
    mean_a, mean_b = a.mean(), b.mean()
    std_a, std_b = a.std(ddof=1), b.std(ddof=1)
    expected = (mean_a - mean_b) ** 2 + (std_a - std_b) ** 2
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-12)


def test_fd_matches_sqrtm_reference_full_rank(rng):
    a = _correlated(rng, 2000, 5) + 1.0
    b = _correlated(rng, 1500, 5, scale=0.7)
    assert frechet_distance(a, b) == pytest.approx(_sqrtm_reference(a, b), rel=1e-6)


def test_fd_rank_deficient_is_finite_symmetric_and_matches_reference(rng):
    a = rng.normal(size=(50, 256))
    b = rng.normal(size=(60, 256)) * 1.3 + 0.2
    forward, backward = frechet_distance(a, b), frechet_distance(b, a)
    assert type(forward) is float
    assert np.isfinite(forward) and forward >= 0.0
    assert forward == pytest.approx(backward, rel=1e-8)
    assert forward == pytest.approx(_sqrtm_reference(a, b), rel=1e-4)


def test_fd_accepts_lists_and_integers():
    a = [[0, 0], [2, 0], [0, 2]]
    b = [[1, 1], [3, 1], [1, 3]]
    assert frechet_distance(a, b) == pytest.approx(2.0, rel=1e-12)


def test_fd_negative_beyond_rounding_raises(rng, monkeypatch):
    a, b = rng.normal(size=(20, 3)), rng.normal(size=(20, 3))
    monkeypatch.setattr(distances, "_trace_sqrt_product", lambda *_: 1e6)
    with pytest.raises(ArithmeticError, match="negative beyond rounding"):
        frechet_distance(a, b)


def test_fd_rounding_sized_negative_returns_zero(rng, monkeypatch):
    a = rng.normal(size=(20, 3))
    exact = distances._trace_sqrt_product(a - a.mean(axis=0), a - a.mean(axis=0))
    monkeypatch.setattr(distances, "_trace_sqrt_product", lambda *_: exact * (1 + 1e-9))
    assert frechet_distance(a, a) == 0.0


@pytest.mark.parametrize(
    "a_shape, b_shape, pattern",
    [
        ((10,), (10, 3), r"features_a must be a 2-D.*\(10,\)"),
        ((10, 3), (1, 3), r"features_b needs at least 2 rows.*\(1, 3\)"),
        ((10, 3), (10, 4), r"same feature dimension.*\(10, 3\) and \(10, 4\)"),
    ],
)
def test_fd_bad_shapes_raise_value_error(a_shape, b_shape, pattern):
    with pytest.raises(ValueError, match=pattern):
        frechet_distance(np.zeros(a_shape), np.zeros(b_shape))


def test_fd_non_finite_input_raises_value_error():
    a = np.zeros((5, 2))
    a[1, 1] = np.nan
    with pytest.raises(ValueError, match=r"NaN.*\(5, 2\)"):
        frechet_distance(a, np.zeros((5, 2)))


# ---------------------------------------------------------------- KID


def _brute_force_mmd2(x, y):
    d = x.shape[1]

    def kernel(u, v):
        return (float(np.dot(u, v)) / d + 1.0) ** 3

    m = len(x)
    xx = sum(kernel(x[i], x[j]) for i, j in itertools.permutations(range(m), 2))
    yy = sum(kernel(y[i], y[j]) for i, j in itertools.permutations(range(m), 2))
    xy = sum(kernel(x[i], y[j]) for i in range(m) for j in range(m))
    return xx / (m * (m - 1)) + yy / (m * (m - 1)) - 2 * xy / m**2


def test_kid_matches_brute_force_on_full_sets(rng):
    x = rng.normal(size=(20, 3))
    y = rng.normal(size=(20, 3)) * 1.5 + 0.5
    mean, std = kernel_distance(x, y, subsets=1, subset_size=50)
    assert mean == pytest.approx(_brute_force_mmd2(x, y), rel=1e-12)
    assert std == 0.0


def test_kid_same_distribution_is_near_zero(rng):
    x, y = rng.normal(size=(600, 8)), rng.normal(size=(600, 8))
    mean, std = kernel_distance(x, y, subsets=20, subset_size=200)
    assert abs(mean) < max(3 * std, 1e-3)


def test_kid_different_distributions_is_positive(rng):
    x, y = rng.normal(size=(600, 8)), rng.normal(size=(600, 8)) + 1.0
    mean, std = kernel_distance(x, y, subsets=20, subset_size=200)
    assert mean > 0.1
    assert mean > 10 * std


def test_kid_is_seeded(rng):
    x, y = rng.normal(size=(100, 4)), rng.normal(size=(100, 4)) + 0.3
    first = kernel_distance(x, y, subsets=5, subset_size=30, seed=7)
    assert kernel_distance(x, y, subsets=5, subset_size=30, seed=7) == first
    assert kernel_distance(x, y, subsets=5, subset_size=30, seed=8) != first


def test_kid_subset_size_is_cut_to_smaller_sample(rng):
    x, y = rng.normal(size=(30, 4)), rng.normal(size=(1000, 4))
    capped = kernel_distance(x, y, subsets=3, subset_size=1000, seed=1)
    explicit = kernel_distance(x, y, subsets=3, subset_size=30, seed=1)
    assert capped == explicit


def test_kid_bad_inputs_raise_value_error():
    with pytest.raises(ValueError, match=r"same feature dimension.*\(5, 2\) and \(5, 3\)"):
        kernel_distance(np.zeros((5, 2)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match=r"features_b needs at least 2 rows.*\(1, 2\)"):
        kernel_distance(np.zeros((5, 2)), np.zeros((1, 2)))
    with pytest.raises(ValueError, match="subsets must be >= 1"):
        kernel_distance(np.zeros((5, 2)), np.zeros((5, 2)), subsets=0)


def _kernel(u, v):
    return (float(np.dot(u, v)) / len(u) + 1.0) ** 3


def _brute_force_u_statistic(x, y):
    """The MMD^2 U-statistic of sets of any sizes, pair by pair."""
    n, m = len(x), len(y)
    xx = sum(_kernel(x[i], x[j]) for i, j in itertools.permutations(range(n), 2))
    yy = sum(_kernel(y[i], y[j]) for i, j in itertools.permutations(range(m), 2))
    xy = sum(_kernel(u, v) for u in x for v in y)
    return xx / (n * (n - 1)) + yy / (m * (m - 1)) - 2 * xy / (n * m)


def test_all_pairs_kid_by_hand():
    # d = 1, k(u, v) = (u v + 1)^3: k(0, 1) = k(0, 2) = 1, k(0, 0) = 1, k(1, 2) = 27, so
    # U = 2 / 2 + 2 / 2 - 2 (1 + 1 + 1 + 27) / 4 = -13
    kid, _ = all_pairs_kid([[0.0], [1.0]], [[0.0], [2.0]])
    assert kid == -13.0


def test_all_pairs_kid_matches_brute_force_on_sets_of_different_sizes(rng):
    x = rng.normal(size=(9, 3))
    y = rng.normal(size=(14, 3)) * 1.5 + 0.5
    kid, _ = all_pairs_kid(x, y)
    assert kid == pytest.approx(_brute_force_u_statistic(x, y), rel=1e-12)
    assert kernel_distance(x, y) == all_pairs_kid(x, y)  # the default estimator


def test_all_pairs_kid_is_the_mean_of_every_subset_estimate(rng):
    """The subset estimator's expectation: averaged over ALL subset pairs it is the U-statistic."""
    x, y = rng.normal(size=(5, 2)), rng.normal(size=(6, 2)) + 0.4
    estimates = [_brute_force_mmd2(x[list(a)], y[list(b)])
                 for a in itertools.combinations(range(5), 3)
                 for b in itertools.combinations(range(6), 3)]
    assert all_pairs_kid(x, y)[0] == pytest.approx(np.mean(estimates), rel=1e-12)


def test_all_pairs_kid_of_a_set_against_itself_in_closed_form(rng):
    # Against itself the cross sum adds the diagonal: U = 2R / (n (n - 1)) - 2 (R + D) / n^2
    x = rng.normal(size=(8, 4))
    kernel = (x @ x.T / 4 + 1.0) ** 3
    diagonal, off = np.trace(kernel), kernel.sum() - np.trace(kernel)
    expected = 2 * off / (8 * 7) - 2 * (off + diagonal) / 64
    assert all_pairs_kid(x, x)[0] == pytest.approx(expected, rel=1e-12)


def test_all_pairs_kid_standard_error_is_the_two_sample_jackknife(rng):
    x, y = rng.normal(size=(7, 3)), rng.normal(size=(10, 3)) + 0.3
    without_x = np.array([_brute_force_u_statistic(np.delete(x, i, 0), y) for i in range(7)])
    without_y = np.array([_brute_force_u_statistic(x, np.delete(y, j, 0)) for j in range(10)])
    variance = (6 / 7 * np.sum((without_x - without_x.mean()) ** 2)
                + 9 / 10 * np.sum((without_y - without_y.mean()) ** 2))
    assert all_pairs_kid(x, y)[1] == pytest.approx(np.sqrt(variance), rel=1e-9)


def test_all_pairs_kid_a_two_row_set_adds_no_jackknife_term(rng):
    x, y = rng.normal(size=(2, 3)), rng.normal(size=(6, 3))
    without_y = np.array([_brute_force_u_statistic(x, np.delete(y, j, 0)) for j in range(6)])
    expected = np.sqrt(5 / 6 * np.sum((without_y - without_y.mean()) ** 2))
    assert all_pairs_kid(x, y)[1] == pytest.approx(expected, rel=1e-9)


def test_kernel_row_sums_are_off_diagonal_row_sums_in_any_chunking(rng, monkeypatch):
    x = rng.normal(size=(7, 3))
    expected = [sum(_kernel(x[i], x[j]) for j in range(7) if j != i) for i in range(7)]
    np.testing.assert_allclose(kernel_row_sums(x), expected, rtol=1e-12)
    monkeypatch.setattr(distances, "_KERNEL_CHUNK", 3)
    np.testing.assert_allclose(kernel_row_sums(x), expected, rtol=1e-12)
    y = rng.normal(size=(5, 3))
    assert all_pairs_kid(x, y) == pytest.approx(all_pairs_kid(x, y, kernel_row_sums(x)), rel=1e-12)


def test_all_pairs_kid_given_row_sums_are_used_and_checked(rng):
    x, y = rng.normal(size=(6, 2)), rng.normal(size=(5, 2))
    assert all_pairs_kid(x, y, rows_a=kernel_row_sums(x), rows_b=kernel_row_sums(y)) == \
        all_pairs_kid(x, y)
    shifted = all_pairs_kid(x, y, rows_a=kernel_row_sums(x) + 30.0)[0]
    assert shifted == pytest.approx(all_pairs_kid(x, y)[0] + 6 * 30.0 / (6 * 5), rel=1e-12)
    with pytest.raises(ValueError, match=r"rows_b must hold one row sum per row of its set \(5\)"):
        all_pairs_kid(x, y, rows_b=np.zeros(4))


# ---------------------------------------------------------------- density / coverage


def test_density_coverage_fake_equal_real_covers_everything(rng):
    real = rng.normal(size=(200, 5))
    scores = density_coverage(real, real.copy(), k=5)
    assert scores["coverage"] == 1.0
    # Without ties each ball holds its centre and its k nearest neighbours,
    # so the double sum counts exactly N (k + 1) pairs.
    assert scores["density"] == pytest.approx((1 + 5) / 5, rel=1e-12)


def test_density_coverage_far_fake_scores_zero(rng):
    real = rng.normal(size=(100, 3))
    fake = rng.normal(size=(80, 3)) + 1000.0
    assert density_coverage(real, fake, k=3) == {"density": 0.0, "coverage": 0.0}


def test_density_coverage_one_dimensional_by_hand():
    # Real points 0, 1, 3, 7 with k=1: radii are 1, 1, 2, 4.
    # Balls: [-1, 1], [0, 2], [1, 5], [3, 11].
    real = np.array([[0.0], [1.0], [3.0], [7.0]])
    # 0.5 -> balls of 0, 1; 4 -> balls of 3, 7; 20 -> none.
    fake = np.array([[0.5], [4.0], [20.0]])
    scores = density_coverage(real, fake, k=1)
    assert scores["density"] == pytest.approx(4 / (1 * 3))
    assert scores["coverage"] == pytest.approx(4 / 4)


def test_density_coverage_two_dimensional_by_hand_with_boundary():
    # Unit square corners with k=2: every radius is 1 (two adjacent corners).
    real = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    # (2, 0) is exactly on the sphere of (1, 0) only; (0.5, 0.5) is inside all four.
    fake = np.array([[2.0, 0.0], [0.5, 0.5]])
    scores = density_coverage(real, fake, k=2)
    assert scores["density"] == pytest.approx((1 + 4) / (2 * 2))
    assert scores["coverage"] == 1.0


def test_density_coverage_bad_inputs_raise_value_error():
    with pytest.raises(ValueError, match=r"more than k=5 rows.*\(5, 2\)"):
        density_coverage(np.zeros((5, 2)), np.zeros((5, 2)), k=5)
    with pytest.raises(ValueError, match=r"same feature dimension.*\(10, 2\) and \(4, 3\)"):
        density_coverage(np.zeros((10, 2)), np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"fake must be a 2-D.*\(4,\)"):
        density_coverage(np.zeros((10, 2)), np.zeros(4))
