"""Sample-quality metrics on feature vectors: FD, KID, density and coverage.

Everything here is pure numpy/scipy in float64 and works on two 2-D arrays of
features (rows are samples, columns are feature dimensions), e.g. embeddings
of real and generated images.

* Frechet distance (Heusel et al. 2017), with means ``mu`` and covariances
  ``S`` (``N - 1`` normalisation, as ``np.cov``)::

      FD = ||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2))

* Kernel distance, KID (Binkowski et al. 2018): the unbiased estimate of
  MMD^2 with the kernel ``k(x, y) = (x . y / d + 1)^3``. By default the
  U-statistic over all samples at once (n rows x, m rows y)::

      MMD^2_u = sum_{i != j} k(x_i, x_j) / (n (n - 1))
              + sum_{i != j} k(y_i, y_j) / (m (m - 1))
              - 2 sum_{i, j} k(x_i, y_j) / (n m)

  with its two-sample jackknife standard error; or, as the reference code
  does, the mean of the same estimate over random equal-size subsets (same
  expectation, higher variance, more kernel evaluations).

* Density and coverage (Naeem et al. 2020), with ``r_i`` the distance of real
  point ``X_i`` to its k-th nearest real neighbour::

      density  = 1 / (k M) sum_j sum_i 1[||Y_j - X_i|| <= r_i]
      coverage = 1 / N sum_i 1[exists j: ||Y_j - X_i|| <= r_i]
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import cdist

__all__ = ["frechet_distance", "kernel_distance", "kernel_row_sums", "all_pairs_kid",
           "density_coverage"]

# Rows of a kernel matrix computed at once: 256 x 20000 float64 is 40 MB (full LFW with
# mirrors has 26466 reference rows).
_KERNEL_CHUNK = 256
# Relative slack for a negative Frechet distance: rounding in the trace terms
# can push an exact 0 slightly below zero, anything larger is a real bug.
_FD_NEGATIVE_RTOL = 1e-6


def _as_features(values, name: str, min_rows: int) -> np.ndarray:
    """Return ``values`` as a finite float64 (rows, dim) array or raise ValueError."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array (samples, features), got shape {array.shape}"
        )
    if array.shape[0] < min_rows:
        raise ValueError(
            f"{name} needs at least {min_rows} rows, got shape {array.shape}"
        )
    if array.shape[1] < 1:
        raise ValueError(f"{name} needs at least 1 feature column, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values (shape {array.shape})")
    return array


def _as_feature_pair(a, b, names: tuple[str, str], min_rows: int):
    """Validate two feature arrays that must share the feature dimension."""
    first = _as_features(a, names[0], min_rows)
    second = _as_features(b, names[1], min_rows)
    if first.shape[1] != second.shape[1]:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same feature dimension, "
            f"got shapes {first.shape} and {second.shape}"
        )
    return first, second


def _row_space_factor(centered: np.ndarray) -> np.ndarray:
    """Return R with ``centered = Q R`` (orthonormal Q) when that makes it smaller.

    Singular values of ``X Y^T`` do not change when X is replaced by R, so for
    N > d the (N, d) matrix shrinks to (d, d) and ``X Y^T`` never gets N x N.
    """
    rows, dim = centered.shape
    if rows <= dim:
        return centered
    return np.linalg.qr(centered, mode="r")


def _trace_sqrt_product(centered_a: np.ndarray, centered_b: np.ndarray) -> float:
    """Tr((S_a S_b)^(1/2)) from the centered feature matrices A (Na, d), B (Nb, d).

    With ``S_a = A^T A / (Na - 1)`` and ``S_b = B^T B / (Nb - 1)`` the non-zero
    eigenvalues of ``S_a S_b`` are the squared singular values of ``A B^T``
    divided by ``(Na - 1)(Nb - 1)``, so::

        Tr((S_a S_b)^(1/2)) = ||A B^T||_* / sqrt((Na - 1)(Nb - 1))

    This is exact for rank-deficient covariances (N < d), real, and
    symmetric in a and b because ``A B^T`` and ``B A^T`` share singular values.
    """
    factor_a = _row_space_factor(centered_a)
    factor_b = _row_space_factor(centered_b)
    singular_values = np.linalg.svd(factor_a @ factor_b.T, compute_uv=False)
    scale = np.sqrt((centered_a.shape[0] - 1) * (centered_b.shape[0] - 1))
    return float(singular_values.sum() / scale)


def frechet_distance(features_a, features_b) -> float:
    """Frechet distance between Gaussians fitted to two feature sets.

    ``FD = ||mu_a - mu_b||^2 + Tr(S_a) + Tr(S_b) - 2 Tr((S_a S_b)^(1/2))``
    with sample means ``mu`` and covariances ``S`` normalised by ``N - 1``.
    The trace of the matrix square root is the nuclear norm of ``A B^T``
    (A, B the centered features) divided by ``sqrt((Na - 1)(Nb - 1))``, which
    stays exact, real and symmetric when N is smaller than the feature
    dimension and the covariances are singular.

    Rounding can make an exact 0 come out slightly negative: a result in
    ``[-1e-6 * (1 + scale), 0)`` is returned as 0.0, where
    ``scale = ||mu_a - mu_b||^2 + Tr(S_a) + Tr(S_b)``. A result below that
    raises ArithmeticError instead of being clamped.

    Args:
        features_a: Array-like of shape (Na, d), Na >= 2.
        features_b: Array-like of shape (Nb, d), Nb >= 2.

    Returns:
        The Frechet distance as a non-negative Python float.

    Raises:
        ValueError: If an input is not 2-D, has fewer than 2 rows, is not
            finite, or the feature dimensions differ; the message names the
            shapes received.
        ArithmeticError: If the result is negative beyond rounding.
    """
    a, b = _as_feature_pair(features_a, features_b, ("features_a", "features_b"), 2)
    mean_a, mean_b = a.mean(axis=0), b.mean(axis=0)
    centered_a, centered_b = a - mean_a, b - mean_b
    mean_term = float(np.sum((mean_a - mean_b) ** 2))
    trace_a = float(np.sum(centered_a**2) / (a.shape[0] - 1))
    trace_b = float(np.sum(centered_b**2) / (b.shape[0] - 1))
    trace_sqrt = _trace_sqrt_product(centered_a, centered_b)
    distance = mean_term + trace_a + trace_b - 2.0 * trace_sqrt
    return _checked_non_negative(distance, mean_term + trace_a + trace_b)


def _checked_non_negative(distance: float, scale: float) -> float:
    """Map rounding-sized negatives to 0.0 and refuse larger ones."""
    if not np.isfinite(distance):
        raise ArithmeticError(f"Frechet distance is not finite: {distance!r}")
    if distance >= 0.0:
        return float(distance)
    tolerance = _FD_NEGATIVE_RTOL * (1.0 + scale)
    if distance < -tolerance:
        raise ArithmeticError(
            f"Frechet distance is negative beyond rounding: {distance!r} "
            f"(tolerance {tolerance!r}, scale {scale!r})"
        )
    return 0.0


def _polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """KID kernel matrix ``k(x, y) = (x . y / d + 1)^3`` for all row pairs."""
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def _unbiased_mmd2(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 between two equal-size samples (m >= 2) under the KID kernel."""
    m = x.shape[0]
    k_xx = _polynomial_kernel(x, x)
    k_yy = _polynomial_kernel(y, y)
    k_xy = _polynomial_kernel(x, y)
    within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
    return float(within - 2.0 * k_xy.mean())


def kernel_row_sums(features) -> np.ndarray:
    """``r_i = sum_{j != i} k(x_i, x_j)``: the off-diagonal row sums of a set's KID kernel.

    What `all_pairs_kid` needs of a set against itself; computed once for a
    set that is compared with many others (a reference, or the generated
    samples of one evaluation against several references). Rows are computed
    in chunks, so no n x n matrix is ever held.

    Args:
        features: Array-like (n, d), n >= 2.

    Returns:
        float64 array (n,).
    """
    x = _as_features(features, "features", 2)
    sums = np.empty(len(x))
    for start in range(0, len(x), _KERNEL_CHUNK):
        block = _polynomial_kernel(x[start:start + _KERNEL_CHUNK], x)
        rows = np.arange(len(block))
        sums[start:start + len(block)] = block.sum(axis=1) - block[rows, start + rows]
    return sums


def _cross_sums(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row and column sums of the cross kernel ``k(x_i, y_j)``, in chunks of x's rows."""
    by_x, by_y = np.empty(len(x)), np.zeros(len(y))
    for start in range(0, len(x), _KERNEL_CHUNK):
        block = _polynomial_kernel(x[start:start + _KERNEL_CHUNK], y)
        by_x[start:start + len(block)] = block.sum(axis=1)
        by_y += block.sum(axis=0)
    return by_x, by_y


def all_pairs_kid(features_a, features_b, rows_a=None, rows_b=None) -> tuple[float, float]:
    """KID as the unbiased MMD^2 U-statistic over all samples, and its jackknife standard error.

    With n rows x (features_a), m rows y (features_b), the kernel
    ``k(u, v) = (u . v / d + 1)^3``, ``r_i = sum_{j != i} k(x_i, x_j)``,
    ``s_j = sum_{l != j} k(y_j, y_l)``, ``c_i = sum_j k(x_i, y_j)``,
    ``e_j = sum_i k(x_i, y_j)`` and their totals R, S, C::

        U = R / (n (n - 1)) + S / (m (m - 1)) - 2 C / (n m)

    Every subset estimate of `kernel_distance` has the same expectation, so
    this is the same KID, with the smallest variance of them all. Its
    standard error is the two-sample jackknife (Arvesen 1969): with
    ``U_(-x_i)`` the estimate without x_i and ``U_(-y_j)`` without y_j::

        U_(-x_i) = (R - 2 r_i) / ((n - 1)(n - 2)) + S / (m (m - 1)) - 2 (C - c_i) / ((n - 1) m)
        U_(-y_j) = R / (n (n - 1)) + (S - 2 s_j) / ((m - 1)(m - 2)) - 2 (C - e_j) / (n (m - 1))
        se^2 = (n - 1) / n sum_i (U_(-x_i) - mean U_(-x))^2
             + (m - 1) / m sum_j (U_(-y_j) - mean U_(-y))^2

    computed from the deviations ``-2 (r_i - mean r) / ((n - 1)(n - 2)) +
    2 (c_i - mean c) / ((n - 1) m)`` (and alike for y), which are exact and
    free of cancellation. A set of fewer than 3 rows adds no term (its
    leave-one-out estimate is undefined). Rows are taken as independent: the
    mirror images of a reference make its share of ``se`` an underestimate.

    Args:
        features_a: Array-like (n, d), n >= 2, e.g. the reference's features.
        features_b: Array-like (m, d), m >= 2, e.g. the generated samples'.
        rows_a, rows_b: `kernel_row_sums` of each set when already known
            (a set compared with several others); computed if None.

    Returns:
        ``(kid, se)`` as Python floats; kid may be slightly negative for
        samples of the same distribution (the estimate is unbiased).

    Raises:
        ValueError: Inputs not 2-D finite arrays of one feature dimension with
            at least 2 rows each, or row sums of the wrong length.
    """
    x, y = _as_feature_pair(features_a, features_b, ("features_a", "features_b"), 2)
    rows_x = _row_sums(x, rows_a, "rows_a")
    rows_y = _row_sums(y, rows_b, "rows_b")
    cross_x, cross_y = _cross_sums(x, y)
    n, m = len(x), len(y)
    kid = rows_x.sum() / (n * (n - 1)) + rows_y.sum() / (m * (m - 1)) - 2 * cross_x.sum() / (n * m)
    variance = 0.0
    if n >= 3:
        deviations = (-2 * (rows_x - rows_x.mean()) / ((n - 1) * (n - 2))
                      + 2 * (cross_x - cross_x.mean()) / ((n - 1) * m))
        variance += (n - 1) / n * np.sum(deviations**2)
    if m >= 3:
        deviations = (-2 * (rows_y - rows_y.mean()) / ((m - 1) * (m - 2))
                      + 2 * (cross_y - cross_y.mean()) / (n * (m - 1)))
        variance += (m - 1) / m * np.sum(deviations**2)
    return float(kid), float(np.sqrt(variance))


def _row_sums(x: np.ndarray, given, name: str) -> np.ndarray:
    if given is None:
        return kernel_row_sums(x)
    sums = np.asarray(given, dtype=np.float64)
    if sums.shape != (len(x),):
        raise ValueError(f"{name} must hold one row sum per row of its set ({len(x)}), "
                         f"got shape {sums.shape}")
    return sums


def kernel_distance(
    features_a, features_b, subsets: int | None = None, subset_size: int | None = None,
    seed: int = 0
) -> tuple[float, float]:
    """Kernel Inception Distance (KID): unbiased MMD^2, polynomial kernel.

    With ``subsets=None`` (the default): `all_pairs_kid`, the U-statistic
    over all rows of both sets, and its jackknife standard error.

    With ``subsets`` a number, the reference code's estimator: with
    ``k(x, y) = (x . y / d + 1)^3`` and ``m = min(subset_size, Na, Nb)``
    (subset_size 1000 if None), each of ``subsets`` rounds draws m rows of
    each set without replacement
    (``np.random.default_rng(seed).choice(n, m, replace=False)``, first from
    a then from b) and computes::

        MMD^2 = sum_{i != j} k(x_i, x_j) / (m (m - 1))
              + sum_{i != j} k(y_i, y_j) / (m (m - 1))
              - 2 sum_{i, j} k(x_i, y_j) / m^2

    Both are unbiased with the same expectation, so either can be slightly
    negative for samples of the same distribution.

    Args:
        features_a: Array-like of shape (Na, d).
        features_b: Array-like of shape (Nb, d).
        subsets: None for all rows at once, else the number of random subsets, >= 1.
        subset_size: Largest subset size; cut to the smaller sample size.
        seed: Seed of the generator that draws the subsets; the same inputs
            and seed give the same numbers.

    Returns:
        ``(mean, spread)``: for all rows, the estimate and its standard
        error; for subsets, the mean and standard deviation (``ddof=1``,
        0.0 for a single subset) of the subset estimates.

    Raises:
        ValueError: If inputs are not 2-D finite arrays with the same feature
            dimension, if ``m < 2``, or if ``subsets < 1``; the message names
            the shapes or values received.
    """
    if subsets is None:
        return all_pairs_kid(features_a, features_b)
    subset_size = 1000 if subset_size is None else subset_size
    if subsets < 1:
        raise ValueError(f"subsets must be >= 1, got {subsets}")
    if subset_size < 2:
        raise ValueError(f"subset_size must be >= 2, got {subset_size}")
    a, b = _as_feature_pair(features_a, features_b, ("features_a", "features_b"), 2)
    m = min(subset_size, a.shape[0], b.shape[0])
    rng = np.random.default_rng(seed)
    estimates = np.empty(subsets, dtype=np.float64)
    for index in range(subsets):
        rows_a = rng.choice(a.shape[0], m, replace=False)
        rows_b = rng.choice(b.shape[0], m, replace=False)
        estimates[index] = _unbiased_mmd2(a[rows_a], b[rows_b])
    spread = float(np.std(estimates, ddof=1)) if subsets > 1 else 0.0
    return float(estimates.mean()), spread


def density_coverage(real, fake, k: int = 5) -> dict[str, float]:
    """Density and coverage of fake samples relative to real ones (Naeem et al. 2020).

    ``r_i`` is the Euclidean distance of real point ``X_i`` to its k-th
    nearest other real point. With N real and M fake points::

        density  = 1 / (k M) sum_j sum_i 1[||Y_j - X_i|| <= r_i]
        coverage = 1 / N sum_i 1[exists j: ||Y_j - X_i|| <= r_i]

    Points on the sphere of radius ``r_i`` count as inside (``<=``; the
    reference code uses ``<``, which only differs on exact ties).

    Args:
        real: Array-like of shape (N, d) with N > k.
        fake: Array-like of shape (M, d) with M >= 1.
        k: Neighbour rank defining the radii, >= 1.

    Returns:
        ``{"density": float, "coverage": float}``; density lies in [0, N/k],
        coverage in [0, 1].

    Raises:
        ValueError: If inputs are not 2-D finite arrays with the same feature
            dimension, if ``len(real) <= k`` or if ``k < 1``.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    real_x, fake_y = _as_feature_pair(real, fake, ("real", "fake"), 1)
    if real_x.shape[0] <= k:
        raise ValueError(
            f"real needs more than k={k} rows to define k-th neighbour radii, "
            f"got shape {real_x.shape}"
        )
    radii = _kth_neighbour_radii(real_x, k)
    inside = cdist(real_x, fake_y, metric="euclidean") <= radii[:, None]
    density = inside.sum() / (k * fake_y.shape[0])
    coverage = inside.any(axis=1).mean()
    return {"density": float(density), "coverage": float(coverage)}


def _kth_neighbour_radii(points: np.ndarray, k: int) -> np.ndarray:
    """Distance of each point to its k-th nearest other point.

    Index k of each sorted distance row skips the point itself at index 0;
    exact duplicates of a point count as neighbours at distance 0.
    """
    distances = cdist(points, points, metric="euclidean")
    return np.partition(distances, k, axis=1)[:, k]
