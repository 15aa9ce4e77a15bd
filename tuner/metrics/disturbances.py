"""Seeded disturbances of real images, to check that a feature space and its metrics work.

In the spirit of the disturbance study of the TTUR paper (Heusel et al. 2017,
appendix A1): a good sample-quality metric must grow steadily as real images
are disturbed more. Every function takes a batch of gray images ``(N, H, W)``
uint8 and a strength ``level`` in [0, 1], and returns a new uint8 batch of the
same shape; level 0 returns an unchanged copy.

Randomness comes from ``seed`` (an int or a ``numpy.random.Generator``), and it
is drawn the same way at every level: with one seed, the noise field, the
rectangle centres, the salt-and-pepper draws and the contaminated images are
shared across levels and only the strength changes, so a study over levels
measures strength rather than luck.

Level -> parameter of each family (S = the image side). The top level clearly
destroys faces while every pixel stays in [0, 255]; the middle levels are close
to the TTUR paper's values for 64x64 CelebA:

=============  ==============================================================
noise          mix with Gaussian noise, ``(1 - a) x + a n``, ``a = level``,
               ``n ~ N(127.5, 64^2)`` clipped to [0, 255]; level 1 is pure noise
blur           Gaussian blur, ``sigma = level * S / 10`` pixels (6.4 at S=64)
rectangles     5 black squares of side ``level * S / 2`` at random centres
               (clipped at the border); about 3/4 of a face black at level 1
swirl          ``skimage.transform.swirl`` about the centre, ``strength =
               6 * level``, ``radius = S``
salt_pepper    a fraction ``p = 0.5 * level`` of the pixels set to 0 or 255
               (TTUR used 0.1, 0.2, 0.3)
contamination  a fraction ``level`` of the images replaced by random square
               crops of non-face pictures from ``skimage.data``, resized with
               ``tuner.data.images.resize_uint8``; level 1 has no face left
downsample     resized to side ``round(S * (8 / S) ** level)`` and back to S
               (PIL bicubic, as ``tuner.data.images.resize_uint8``): at S=128 the
               levels go through 64, 32, 16 and 8 pixels. Detail is lost while
               the layout stays: what a generator trained at a low resolution
               and upsampled looks like
=============  ==============================================================

Pure numpy, scipy and scikit-image: no TensorFlow.
"""

from __future__ import annotations

import functools
from typing import Callable

import numpy as np
import skimage.data
import skimage.transform
from PIL import Image
from scipy import ndimage

from tuner.data.images import resize_uint8

__all__ = [
    "FAMILIES", "LEVELS", "black_rectangles", "contamination", "gaussian_blur",
    "downsample", "gaussian_noise", "salt_and_pepper", "swirl",
]

LEVELS = (0.0, 0.25, 0.5, 0.75, 1.0)

NOISE_MEAN, NOISE_STD = 127.5, 64.0
BLUR_SIGMA_PER_SIDE = 1 / 10
RECTANGLES = 5
RECTANGLE_SIDE_PER_SIDE = 1 / 2
SWIRL_STRENGTH = 6.0
SALT_PEPPER_MAX_FRACTION = 0.5
DOWNSAMPLE_MIN_SIDE = 8
# Non-face pictures shipped inside scikit-image (no download); the astronaut
# photo contributes only its face-free left (flag) and right (shuttle) strips.
_CONTAMINATION_SOURCES = (
    "camera", "coffee", "chelsea", "brick", "grass", "gravel", "rocket", "moon",
    "page", "text", "coins", "clock", "hubble_deep_field", "immunohistochemistry",
    "cell",
)
# The astronaut's face spans columns ~150-310 of 512: only the sides are used.
_ASTRONAUT_COLUMNS = (slice(None, 140), slice(330, None))


def gaussian_noise(images: np.ndarray, level: float, seed=0) -> np.ndarray:
    """Blend images with Gaussian noise: ``(1 - level) x + level n``.

    Args:
        images: (N, H, W) uint8 gray images.
        level: Strength in [0, 1]; 1 is pure noise.
        seed: int or numpy Generator.

    Returns:
        Disturbed (N, H, W) uint8 images.
    """
    images = _checked(images, level)
    noise = np.clip(_rng(seed).normal(NOISE_MEAN, NOISE_STD, images.shape), 0, 255)
    if level == 0:
        return images.copy()
    return _to_uint8((1 - level) * images + level * noise)


def gaussian_blur(images: np.ndarray, level: float, seed=0) -> np.ndarray:
    """Blur each image with a Gaussian of ``sigma = level * side / 10`` pixels.

    Args:
        images: (N, H, W) uint8 gray images.
        level: Strength in [0, 1].
        seed: Unused (blur is deterministic); kept for a uniform signature.

    Returns:
        Disturbed (N, H, W) uint8 images.
    """
    images = _checked(images, level)
    if level == 0:
        return images.copy()
    sigma = level * min(images.shape[1:]) * BLUR_SIGMA_PER_SIDE
    # sigma 0 on the batch axis: images must not bleed into each other.
    blurred = ndimage.gaussian_filter(images.astype(np.float64), (0, sigma, sigma),
                                      mode="reflect")
    return _to_uint8(blurred)


def black_rectangles(images: np.ndarray, level: float, seed=0) -> np.ndarray:
    """Paint 5 black squares of side ``level * side / 2`` at random centres.

    Args:
        images: (N, H, W) uint8 gray images.
        level: Strength in [0, 1].
        seed: int or numpy Generator; the centres do not depend on level, so
            squares of a higher level contain those of a lower one.

    Returns:
        Disturbed (N, H, W) uint8 images.
    """
    images = _checked(images, level)
    n, height, width = images.shape
    centres = _rng(seed).uniform(0, 1, (n, RECTANGLES, 2)) * (height, width)
    out = images.copy()
    half = level * min(height, width) * RECTANGLE_SIDE_PER_SIDE / 2
    if half == 0:
        return out
    top_left = np.clip(np.round(centres - half), 0, None).astype(int)
    bottom_right = np.round(centres + half).astype(int)
    for index in range(n):
        for (top, left), (bottom, right) in zip(top_left[index], bottom_right[index]):
            out[index, top:bottom, left:right] = 0
    return out


def swirl(images: np.ndarray, level: float, seed=0) -> np.ndarray:
    """Swirl each image about its centre, ``strength = 6 * level``, ``radius = side``.

    Args:
        images: (N, H, W) uint8 gray images.
        level: Strength in [0, 1].
        seed: Unused (swirl is deterministic); kept for a uniform signature.

    Returns:
        Disturbed (N, H, W) uint8 images.
    """
    images = _checked(images, level)
    if level == 0:
        return images.copy()
    side = min(images.shape[1:])
    swirled = [
        skimage.transform.swirl(image, strength=SWIRL_STRENGTH * level, radius=side,
                                order=1, mode="reflect", preserve_range=True)
        for image in images.astype(np.float64)
    ]
    return _to_uint8(np.stack(swirled))


def salt_and_pepper(images: np.ndarray, level: float, seed=0) -> np.ndarray:
    """Set a fraction ``0.5 * level`` of the pixels to black or white (half each).

    Args:
        images: (N, H, W) uint8 gray images.
        level: Strength in [0, 1].
        seed: int or numpy Generator; the pixels hit at a lower level are also
            hit at a higher one.

    Returns:
        Disturbed (N, H, W) uint8 images.
    """
    images = _checked(images, level)
    rng = _rng(seed)
    hit = rng.uniform(0, 1, images.shape) < level * SALT_PEPPER_MAX_FRACTION
    white = rng.uniform(0, 1, images.shape) < 0.5
    out = images.copy()
    out[hit & white] = 255
    out[hit & ~white] = 0
    return out


def contamination(images: np.ndarray, level: float, seed=0) -> np.ndarray:
    """Replace a fraction ``level`` of the images by random crops of non-face pictures.

    Crops are squares of random side (a quarter to all of the picture's
    shorter side) at random positions of a random ``skimage.data`` picture,
    converted to gray and resized with ``tuner.data.images.resize_uint8``.

    Args:
        images: (N, S, S) uint8 gray images (square).
        level: Fraction of images replaced, in [0, 1]; ``round(level * N)``.
        seed: int or numpy Generator; the images replaced at a lower level are
            replaced, by the same crops, at a higher one.

    Returns:
        Disturbed (N, S, S) uint8 images.
    """
    images = _checked(images, level)
    n, height, width = images.shape
    if height != width:
        raise ValueError(f"contamination needs square images, got shape {images.shape}")
    rng = _rng(seed)
    order = rng.permutation(n)
    out = images.copy()
    for index in order[:int(round(level * n))]:
        out[index] = _random_crop(rng, height)
    return out


def downsample(images: np.ndarray, level: float, seed=0) -> np.ndarray:
    """Resize to side ``round(S * (8 / S) ** level)`` and back to S, bicubic.

    Args:
        images: (N, S, S) uint8 gray images (square).
        level: Strength in [0, 1]; 1 goes through 8x8 pixels.
        seed: Unused (resizing is deterministic); kept for a uniform signature.

    Returns:
        Disturbed (N, S, S) uint8 images.
    """
    images = _checked(images, level)
    side = images.shape[1]
    if images.shape[2] != side:
        raise ValueError(f"downsample needs square images, got shape {images.shape}")
    small = int(round(side * (min(DOWNSAMPLE_MIN_SIDE, side) / side) ** level))
    if small >= side:
        return images.copy()
    return resize_uint8(resize_uint8(images, small), side)


FAMILIES: dict[str, Callable[..., np.ndarray]] = {
    "noise": gaussian_noise,
    "blur": gaussian_blur,
    "rectangles": black_rectangles,
    "swirl": swirl,
    "salt_pepper": salt_and_pepper,
    "contamination": contamination,
    "downsample": downsample,
}


def _rng(seed) -> np.random.Generator:
    """A Generator from an int seed, or the Generator itself."""
    return np.random.default_rng(seed)


def _checked(images, level) -> np.ndarray:
    """Validate the (N, H, W) uint8 batch and the level; return the batch."""
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 3:
        raise ValueError(
            f"images must be a (N, H, W) uint8 array, got {images.dtype} {images.shape}")
    if not 0.0 <= float(level) <= 1.0:
        raise ValueError(f"level must be in [0, 1], got {level!r}")
    return images


def _to_uint8(values: np.ndarray) -> np.ndarray:
    return np.clip(np.round(values), 0, 255).astype(np.uint8)


def _random_crop(rng: np.random.Generator, size: int) -> np.ndarray:
    """One (size, size) uint8 crop of a random non-face picture."""
    sources = _sources()
    picture = sources[rng.integers(len(sources))]
    shorter = min(picture.shape)
    side = int(rng.integers(max(min(size, shorter), shorter // 4), shorter + 1))
    top = int(rng.integers(0, picture.shape[0] - side + 1))
    left = int(rng.integers(0, picture.shape[1] - side + 1))
    return resize_uint8(picture[np.newaxis, top:top + side, left:left + side], size)[0]


@functools.lru_cache(maxsize=1)
def _sources() -> tuple[np.ndarray, ...]:
    """Gray uint8 non-face pictures, loaded once (they ship with scikit-image)."""
    pictures = [_gray(getattr(skimage.data, name)()) for name in _CONTAMINATION_SOURCES]
    astronaut = _gray(skimage.data.astronaut())
    pictures += [astronaut[:, columns] for columns in _ASTRONAUT_COLUMNS]
    return tuple(pictures)


def _gray(picture: np.ndarray) -> np.ndarray:
    """uint8 gray version of a gray or RGB picture (PIL's ITU-R 601 luma)."""
    if picture.ndim == 2:
        return np.ascontiguousarray(picture, dtype=np.uint8)
    return np.asarray(Image.fromarray(picture[..., :3]).convert("L"))
