"""Multi-scale sliced Wasserstein distance (SWD) on Laplacian-pyramid patches; no network.

Karras et al. 2018, "Progressive growing of GANs", section 5 and appendix D. For
gray images of side S in [-1, 1]:

1. Pyramid. ``G_0`` = the images, ``G_{l+1} = down(G_l)``: the 5-tap binomial
   filter ``[1, 4, 6, 4, 1] / 16`` along both axes (border "mirror", i.e.
   reflect-101 as ``cv2.pyrDown``), then every second pixel. Laplacian levels
   ``L_l = G_l - up(G_{l+1})``, ``up`` = zero insertion and the same filter
   times 4; the coarsest level is ``G`` itself. Levels run from S down to 16
   (S, S/2, ..., >= 16: 128, 64, 32, 16 at S=128); a set smaller than 16 has
   the one level S.
2. Descriptors. At each level, ``count`` 7x7 neighbourhoods lying wholly
   inside the level: image index and centre drawn uniformly WITH replacement
   from ``numpy.random.default_rng(seed)`` (one fresh generator per set and
   level l: ``default_rng([seed, l])``). Equal counts for both sets, whatever
   their sizes: the real sets hold only ~100-530 images, so patches repeat.
   The same images and seed give the same patches, so a set against itself
   scores exactly 0, and ``swd(a, b) == swd(b, a)`` exactly.
3. Normalisation. Per level, every descriptor entry of BOTH sets is divided
   by the standard deviation ``s`` of all entries of the two sets pooled (gray
   images have one channel). The official code instead standardises each set
   by its own mean and std; pooling keeps the difference in fine-scale energy
   (a blurred set has a flat finest level), which per-set scaling would erase.
   A pooled mean cancels in the differences below, so none is subtracted.
4. Slicing. ``P`` random unit directions ``w`` in R^49 (``default_rng(seed)``,
   Gaussian then normalised; the official code's 4 repeats x 128 directions
   average to the same mean over 512)::

       SWD_l = 1e3 * mean_w mean_i |sort(A_l w)_i - sort(B_l w)_i| / s_l

   The factor 1e3 is the official code's (values are in units of 10^-3).
   ``swd`` is the mean of ``SWD_l`` over levels.

Pure numpy/scipy in float64.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

__all__ = ["PATCH", "MIN_RESOLUTION", "SCALE", "resolutions", "laplacian_pyramid",
           "directions", "SetSlices", "set_slices", "distance",
           "sliced_wasserstein"]

PATCH = 7
MIN_RESOLUTION = 16
SCALE = 1e3
_BINOMIAL = np.array([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0
# Images per pyramid batch: 256 images of 128x128 in float64 are 32 MB per level.
_CHUNK = 256


def resolutions(size: int) -> list[int]:
    """Level sides, finest first: size, size // 2, ... while >= 16 (at least [size])."""
    if size < PATCH:
        raise ValueError(f"swd needs images of at least {PATCH}x{PATCH}, got {size}x{size}")
    levels = [size]
    while levels[-1] // 2 >= MIN_RESOLUTION:
        levels.append(levels[-1] // 2)
    return levels


def _along(axis: int, piece) -> tuple:
    """An index selecting `piece` (a slice) along `axis` of an (N, H, W) array."""
    return (slice(None),) * axis + (piece,)


def _down_axis(x: np.ndarray, axis: int) -> np.ndarray:
    """Filter by [1, 4, 6, 4, 1] / 16 along `axis` (reflect-101 borders), keep even samples."""
    filtered = ndimage.correlate1d(x, _BINOMIAL, axis=axis, mode="mirror")
    return filtered[_along(axis, slice(0, None, 2))]


def _pad_coarse(x: np.ndarray, axis: int) -> np.ndarray:
    """Coarse samples c padded as ``[c[1], c, c[h-1]]`` along `axis` (see `_up_valid`)."""
    h = x.shape[axis]
    first = x[_along(axis, slice(1, 2) if h > 1 else slice(0, 1))]
    return np.concatenate([first, x, x[_along(axis, slice(h - 1, h))]], axis=axis)


def _up_valid(padded: np.ndarray, axis: int) -> np.ndarray:
    """Zero insertion then [1, 4, 6, 4, 1] / 8 along `axis`, from padded coarse samples.

    With ``p`` the padded samples (length h + 2), the 2h outputs split by parity::

        out[2i] = (p[i] + 6 p[i+1] + p[i+2]) / 8,   out[2i+1] = (p[i+1] + p[i+2]) / 2

    which, with the padding of `_pad_coarse`, is exactly reflect-101 filtering
    of the zero-inserted signal (``cv2.pyrUp``).
    """
    h = padded.shape[axis] - 2
    before, centre, after = (padded[_along(axis, slice(k, k + h))] for k in range(3))
    shape = list(padded.shape)
    shape[axis] = 2 * h
    out = np.empty(shape)
    out[_along(axis, slice(0, None, 2))] = (before + 6 * centre + after) / 8
    out[_along(axis, slice(1, None, 2))] = (centre + after) / 2
    return out


def _down(images: np.ndarray) -> np.ndarray:
    """cv2.pyrDown: the 5x5 binomial filter (separable), every second row and column."""
    return _down_axis(_down_axis(images, 1), 2)


def _up(images: np.ndarray, shape: tuple) -> np.ndarray:
    """cv2.pyrUp cut to the finer level's shape: zero insertion and the filter x 4."""
    rows = _up_valid(_pad_coarse(images, 1), 1)[:, :shape[1]]
    return _up_valid(_pad_coarse(rows, 2), 2)[:, :, :shape[2]]


def laplacian_pyramid(images: np.ndarray, levels: int) -> list[np.ndarray]:
    """[L_0, ..., L_{levels-1}] of (N, H, W) float images; the last level is Gaussian."""
    gaussian = _gaussian_pyramid(images, levels)
    laplacian = [fine - _up(coarse, fine.shape) for fine, coarse in zip(gaussian, gaussian[1:])]
    return laplacian + [gaussian[-1]]


def _as_gray(images) -> np.ndarray:
    """(N, S, S) or (N, S, S, 1) -> (N, S, S) float64, or ValueError."""
    array = np.asarray(images, dtype=np.float64)
    if array.ndim == 4 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim != 3 or array.shape[1] != array.shape[2] or len(array) < 1:
        raise ValueError(f"swd expects gray images (N, S, S) or (N, S, S, 1), got {array.shape}")
    return array


def _draws(n: int, side: int, count: int, seed: int, level: int) -> np.ndarray:
    """(count, 3) rows (image, top, left) of 7x7 patches inside a side x side level."""
    rng = np.random.default_rng([seed, level])
    image = rng.integers(0, n, count)
    corner = rng.integers(0, side - PATCH + 1, (count, 2))
    return np.column_stack([image, corner])


def _patches(level: np.ndarray, draws: np.ndarray, side: int = PATCH) -> np.ndarray:
    """(len(draws), side * side) neighbourhoods (image, top, left) of one level of a batch."""
    offsets = np.arange(side)
    rows = draws[:, 1, None, None] + offsets[None, :, None]
    cols = draws[:, 2, None, None] + offsets[None, None, :]
    return level[draws[:, 0, None, None], rows, cols].reshape(len(draws), -1)


def _gaussian_pyramid(images: np.ndarray, levels: int) -> list[np.ndarray]:
    gaussian = [np.asarray(images, dtype=np.float64)]
    for _ in range(1, levels):
        gaussian.append(_down(gaussian[-1]))
    return gaussian


def _laplacian_patches(fine: np.ndarray, coarse: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """Patches of ``fine - up(coarse)``, upsampling only a 6x6 coarse window per patch.

    Identical to `_patches` of the full Laplacian level, at a fraction of the
    cost: a 7x7 patch at (top, left) needs coarse samples top // 2 .. + 5.
    """
    padded = _pad_coarse(_pad_coarse(coarse, 1), 2)
    windows = _patches(padded, draws // [1, 2, 2], side=PATCH - 1)
    upsampled = _up_valid(_up_valid(windows.reshape(-1, 6, 6), 1), 2)  # (count, 8, 8)
    shifts = np.column_stack([np.arange(len(draws)), draws[:, 1:] % 2])
    return _patches(fine, draws) - _patches(upsampled, shifts)


def _descriptors(images: np.ndarray, count: int, seed: int) -> list[np.ndarray]:
    """Per level, `count` raw (unnormalised) 7x7 Laplacian descriptors, in image chunks."""
    sides = resolutions(images.shape[1])
    draws = [_draws(len(images), side, count, seed, level) for level, side in enumerate(sides)]
    out = [np.empty((count, PATCH * PATCH)) for _ in sides]
    for start in range(0, len(images), _CHUNK):
        gaussian = _gaussian_pyramid(images[start:start + _CHUNK], len(sides))
        for level, rows in enumerate(draws):
            mine = (rows[:, 0] >= start) & (rows[:, 0] < start + _CHUNK)
            local = rows[mine] - [start, 0, 0]
            out[level][mine] = (_laplacian_patches(gaussian[level], gaussian[level + 1], local)
                                if level + 1 < len(sides) else _patches(gaussian[level], local))
    return out


def directions(projections: int, seed: int) -> np.ndarray:
    """(49, projections) random unit vectors: Gaussian draws, each column normalised."""
    dirs = np.random.default_rng(seed).standard_normal((PATCH * PATCH, projections))
    return dirs / np.linalg.norm(dirs, axis=0, keepdims=True)


@dataclass(frozen=True)
class SetSlices:
    """One image set, ready to compare: per level the sorted projections and moments.

    Attributes:
        sides: level resolutions, finest first.
        sorted_projections: per level (projections, count), each row sorted.
        sums: per level (sum of entries, sum of squared entries, number of entries),
            for the pooled standard deviation.
    """

    sides: tuple
    sorted_projections: tuple
    sums: tuple


def set_slices(images, count: int = 4096, projections: int = 512, seed: int = 0) -> SetSlices:
    """Descriptors of one set, projected on the seeded directions and sorted.

    Computed once for a reference set and reused against every generator
    (sorting commutes with the pooled rescaling applied in `distance`).

    Args:
        images: gray (N, S, S) or (N, S, S, 1), in [-1, 1] (any scale works).
        count: descriptors per level (with replacement), equal for every set.
        projections: number of random directions.
        seed: seed of the patch draws and of the directions.
    """
    gray = _as_gray(images)
    dirs = directions(projections, seed)
    levels = _descriptors(gray, count, seed)
    projected = tuple(np.sort(dirs.T @ level.T, axis=1) for level in levels)
    sums = tuple((level.sum(), np.square(level).sum(), level.size) for level in levels)
    return SetSlices(tuple(resolutions(gray.shape[1])), projected, sums)


def _pooled_std(first: tuple, second: tuple) -> float:
    """Standard deviation of all descriptor entries of two sets together."""
    total, squares, n = (a + b for a, b in zip(first, second))
    return float(np.sqrt(max(squares / n - (total / n) ** 2, 0.0)))


def distance(a: SetSlices, b: SetSlices) -> dict:
    """SWD between two prepared sets (same size, count, projections and seed).

    Returns:
        {"swd": mean over levels, "swd_levels": {"128": v, "64": v, ...}},
        finest level first, values x 1e3.
    """
    if a.sides != b.sides or a.sorted_projections[0].shape != b.sorted_projections[0].shape:
        raise ValueError(f"swd sets differ in levels {a.sides} vs {b.sides} or in "
                         "descriptor count/projections: prepare both with the same settings")
    levels = {}
    for side, proj_a, proj_b, sums_a, sums_b in zip(a.sides, a.sorted_projections,
                                                      b.sorted_projections, a.sums, b.sums):
        spread = _pooled_std(sums_a, sums_b)
        gap = float(np.abs(proj_a - proj_b).mean())
        levels[str(side)] = SCALE * gap / spread if spread > 0 else 0.0
    return {"swd": float(np.mean(list(levels.values()))), "swd_levels": levels}


def sliced_wasserstein(images_a, images_b, count: int = 4096, projections: int = 512,
                       seed: int = 0) -> dict:
    """Multi-scale SWD between two gray image sets of one size (see the module docstring).

    Args:
        images_a, images_b: gray (N, S, S) or (N, S, S, 1) in [-1, 1], same S.
        count: descriptors per level and set (drawn with replacement).
        projections: random unit directions.
        seed: seed of the patch draws and directions; same inputs, same result.

    Returns:
        {"swd": float, "swd_levels": {str(side): float, ...}}, in units of 1e-3.

    Raises:
        ValueError: images not gray squares, of different sizes, or under 7x7.
    """
    return distance(set_slices(images_a, count, projections, seed),
                    set_slices(images_b, count, projections, seed))
