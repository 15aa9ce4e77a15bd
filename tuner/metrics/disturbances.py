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

The image damage (the TTUR paper's families, and downsampling):

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
oversmooth     total-variation smoothing (Chambolle), ``weight = 0.25 *
               level`` on [0, 1] pixels: flat, waxy patches with the edges kept
saturation     contrast about mid-gray multiplied by ``16 ** level``, clipped:
               tanh outputs stuck at black and white
=============  ==============================================================

The ways a GAN fails; the top level of each holds no face, or too few faces to
be a generator of faces (``FAILURES``, with ``noise`` and ``contamination``):

================  ===========================================================
checkerboard      mix with checkerboard noise, ``(1 - a) x + a c``: black and
                  white pixels in alternation whose phase flips at random in
                  4x4 blocks (a diverged DCGAN's transposed-convolution look)
binary_noise      mix with independent black or white pixels (half each)
blotches          mix with what a DCGAN diverged by a too-high learning rate
                  makes (the lab's lr 2e-2): Gaussian noise smoothed with
                  ``sigma = S / 16``, black in its lowest third, white in its
                  highest, a pixel checkerboard between
gray              a fraction ``level`` of the images replaced by flat mid-gray
                  (a dead generator, whose output no longer depends on its input)
collapse          a fraction ``level`` of the images replaced by copies of one
                  face: level 1 is a generator that makes one face only
partial_collapse  the set made of ``k = round(N * (4 / N) ** level)`` distinct
                  faces, each repeated: level 1 has 4 faces
================  ===========================================================

Pure numpy, scipy and scikit-image: no TensorFlow.
"""

from __future__ import annotations

import functools
from typing import Callable

import numpy as np
import skimage.data
import skimage.restoration
import skimage.transform
from PIL import Image
from scipy import ndimage

from tuner.data.images import resize_uint8

__all__ = [
    "FACE_LIKE", "FAILURES", "FAMILIES", "LEVELS", "MILD_LEVELS", "binary_noise",
    "black_rectangles", "blotches", "checkerboard", "collapse", "contamination",
    "downsample", "flat_gray", "gaussian_blur", "gaussian_noise", "oversmooth",
    "partial_collapse", "salt_and_pepper", "saturation", "swirl",
]

LEVELS = (0.0, 0.25, 0.5, 0.75, 1.0)

NOISE_MEAN, NOISE_STD = 127.5, 64.0
BLUR_SIGMA_PER_SIDE = 1 / 10
RECTANGLES = 5
RECTANGLE_SIDE_PER_SIDE = 1 / 2
SWIRL_STRENGTH = 6.0
SALT_PEPPER_MAX_FRACTION = 0.5
DOWNSAMPLE_MIN_SIDE = 8
TV_MAX_WEIGHT = 0.25
SATURATION_MAX_GAIN = 16.0
CHECKER_BLOCK = 4
BLOTCH_SIGMA_PER_SIDE = 1 / 16
COLLAPSE_FEW = 4
GRAY = 128
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


def oversmooth(images: np.ndarray, level: float, seed=0) -> np.ndarray:
    """Total-variation smoothing (Chambolle) of weight ``0.25 * level`` on [0, 1] pixels.

    Args:
        images: (N, H, W) uint8 gray images.
        level: Strength in [0, 1].
        seed: Unused (smoothing is deterministic); kept for a uniform signature.

    Returns:
        Disturbed (N, H, W) uint8 images: flat patches, edges kept.
    """
    images = _checked(images, level)
    if level == 0:
        return images.copy()
    smooth = skimage.restoration.denoise_tv_chambolle(
        images / 255.0, weight=TV_MAX_WEIGHT * level, channel_axis=0)  # each image alone
    return _to_uint8(smooth * 255)


def saturation(images: np.ndarray, level: float, seed=0) -> np.ndarray:
    """Contrast about mid-gray multiplied by ``16 ** level``, clipped to [0, 255].

    Args:
        images: (N, H, W) uint8 gray images.
        level: Strength in [0, 1]; at 1 most pixels are black or white.
        seed: Unused (deterministic); kept for a uniform signature.

    Returns:
        Disturbed (N, H, W) uint8 images.
    """
    images = _checked(images, level)
    gain = SATURATION_MAX_GAIN ** level
    return _to_uint8(127.5 + gain * (images - 127.5))


def checkerboard(images: np.ndarray, level: float, seed=0) -> np.ndarray:
    """Mix with checkerboard noise: ``(1 - level) x + level c``.

    ``c`` alternates black and white pixels; in each 4x4 block its phase is
    flipped or not at random (per image).

    Args:
        images: (N, H, W) uint8 gray images.
        level: Strength in [0, 1]; 1 is pure checkerboard noise.
        seed: int or numpy Generator; the pattern does not depend on level.

    Returns:
        Disturbed (N, H, W) uint8 images.
    """
    images = _checked(images, level)
    n, height, width = images.shape
    rows, cols = np.indices((height, width))
    blocks = _rng(seed).integers(0, 2, (n, -(-height // CHECKER_BLOCK), -(-width // CHECKER_BLOCK)))
    phase = blocks[:, rows // CHECKER_BLOCK, cols // CHECKER_BLOCK]
    return _mixed(images, level, 255.0 * ((rows + cols + phase) % 2))


def binary_noise(images: np.ndarray, level: float, seed=0) -> np.ndarray:
    """Mix with independent black or white pixels (half each): ``(1 - level) x + level b``.

    Args:
        images: (N, H, W) uint8 gray images.
        level: Strength in [0, 1]; 1 is pure binary noise.
        seed: int or numpy Generator; the pixels do not depend on level.

    Returns:
        Disturbed (N, H, W) uint8 images.
    """
    images = _checked(images, level)
    return _mixed(images, level, 255.0 * _rng(seed).integers(0, 2, images.shape))


def blotches(images: np.ndarray, level: float, seed=0) -> np.ndarray:
    """Mix with a diverged generator's blotches: ``(1 - level) x + level b``.

    ``b`` is Gaussian noise smoothed with ``sigma = side / 16`` pixels, black
    below its lower tercile, white above its upper one and a pixel
    checkerboard between (per image): large black and white blotches with
    checkered borders, as a DCGAN diverged at learning rate 2e-2 draws.

    Args:
        images: (N, H, W) uint8 gray images.
        level: Strength in [0, 1]; 1 is pure blotches.
        seed: int or numpy Generator; the blotches do not depend on level.

    Returns:
        Disturbed (N, H, W) uint8 images.
    """
    images = _checked(images, level)
    sigma = min(images.shape[1:]) * BLOTCH_SIGMA_PER_SIDE
    field = ndimage.gaussian_filter(_rng(seed).normal(size=images.shape), (0, sigma, sigma))
    low, high = np.quantile(field, (1 / 3, 2 / 3), axis=(1, 2), keepdims=True)
    rows, cols = np.indices(images.shape[1:])
    pattern = np.where(field < low, 0.0, np.where(field > high, 255.0, 255.0 * ((rows + cols) % 2)))
    return _mixed(images, level, pattern)


def flat_gray(images: np.ndarray, level: float, seed=0) -> np.ndarray:
    """Replace a fraction ``level`` of the images by flat mid-gray (128).

    Args:
        images: (N, H, W) uint8 gray images.
        level: Fraction of images replaced, in [0, 1]; ``round(level * N)``.
        seed: int or numpy Generator; the images replaced at a lower level are
            replaced at a higher one too.

    Returns:
        Disturbed (N, H, W) uint8 images.
    """
    images = _checked(images, level)
    out = images.copy()
    out[_replaced(images, level, seed)] = GRAY
    return out


def collapse(images: np.ndarray, level: float, seed=0) -> np.ndarray:
    """Replace a fraction ``level`` of the images by copies of one of them.

    Args:
        images: (N, H, W) uint8 gray images.
        level: Fraction of images replaced, in [0, 1]; at 1 all N are one face.
        seed: int or numpy Generator: which face, and which images it replaces
            (those replaced at a lower level are replaced at a higher one too).

    Returns:
        Disturbed (N, H, W) uint8 images.
    """
    images = _checked(images, level)
    rng = _rng(seed)
    order = rng.permutation(len(images))
    out = images.copy()
    out[order[1:1 + int(round(level * (len(images) - 1)))]] = images[order[0]]
    return out


def partial_collapse(images: np.ndarray, level: float, seed=0) -> np.ndarray:
    """The set made of ``k = round(N * (4 / N) ** level)`` of its faces, each repeated.

    Args:
        images: (N, H, W) uint8 gray images.
        level: Strength in [0, 1]; level 0 keeps all N faces, level 1 keeps 4.
        seed: int or numpy Generator: which faces are kept (the faces kept at
            a higher level are kept at a lower one too).

    Returns:
        Disturbed (N, H, W) uint8 images; the k kept faces stay where they are
        and the others are replaced by them in turn.
    """
    images = _checked(images, level)
    n = len(images)
    kept = max(1, int(round(n * (min(COLLAPSE_FEW, n) / n) ** level)))
    order = _rng(seed).permutation(n)
    out = images.copy()
    out[order] = images[order[np.arange(n) % kept]]
    return out


FAMILIES: dict[str, Callable[..., np.ndarray]] = {
    "noise": gaussian_noise,
    "blur": gaussian_blur,
    "rectangles": black_rectangles,
    "swirl": swirl,
    "salt_pepper": salt_and_pepper,
    "contamination": contamination,
    "downsample": downsample,
    "oversmooth": oversmooth,
    "saturation": saturation,
    "checkerboard": checkerboard,
    "binary_noise": binary_noise,
    "blotches": blotches,
    "gray": flat_gray,
    "collapse": collapse,
    "partial_collapse": partial_collapse,
}
# Families whose top level is what a failed generator makes: no face (noise of every kind,
# non-face pictures, flat gray) or too few faces (collapse). A metric fit to replace the eye
# scores each of them worse than every face-like sample.
FAILURES = ("noise", "contamination", "checkerboard", "binary_noise", "blotches", "gray",
            "collapse", "partial_collapse")
# Damage that leaves every face where it is and recognisable at its mild levels: blurry,
# coarse, waxy or contrasty faces, the samples of a weak but working generator. Grainy faces
# (noise, salt_pepper) are not among them: half their pixels are noise, so they would test
# noise against noise; their order is the per-family one.
FACE_LIKE = ("blur", "downsample", "oversmooth", "saturation")
MILD_LEVELS = (0.25, 0.5)


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


def _mixed(images: np.ndarray, level: float, pattern: np.ndarray) -> np.ndarray:
    """``(1 - level) x + level pattern`` in uint8 (level 0: an unchanged copy)."""
    if level == 0:
        return images.copy()
    return _to_uint8((1 - level) * images + level * pattern)


def _replaced(images: np.ndarray, level: float, seed) -> np.ndarray:
    """Indices of the ``round(level * N)`` images a fraction `level` replaces (nested in level)."""
    order = _rng(seed).permutation(len(images))
    return order[:int(round(level * len(images)))]


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
