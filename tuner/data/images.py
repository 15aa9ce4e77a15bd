"""Images as arrays: decoding a file to gray, uint8 <-> [-1, 1], resizing.
"""


from __future__ import annotations

import logging
import struct
import warnings
from pathlib import PurePath, PurePosixPath

import numpy as np
from PIL import Image, ImageOps

log = logging.getLogger(__name__)
IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm"}
)

# Native images are reduced on decode until their shorter side is below twice
# this: no model here uses more than a few hundred pixels, and a 3000x3000
# photo would otherwise cost 9 MB of RAM per image for nothing.
_MAX_SIDE = 1024
# Full scale of the high-bit modes: 65535 / 257 == 255 exactly.
_FULL_SCALE = {"I;16": 65535, "I;16B": 65535, "I;16L": 65535, "I;16N": 65535, "I": 65535, "F": 1.0}
# Transparent pixels are composited on white, as image viewers show them.
_BACKGROUND = (255, 255, 255, 255)
# PIL raises these (besides OSError/ValueError) on some malformed files.
_DECODE_ERRORS = (EOFError, SyntaxError, struct.error, IndexError, Image.DecompressionBombError)


# --------------------------------------------------------------------------
# Pixel conversions


def to_uint8(images: np.ndarray) -> np.ndarray:
    """Converts model-space images to 8-bit pixels.

    Args:
        images: floats in [-1, 1], any shape; values outside are clipped.

    Returns:
        uint8 array of the same shape: ``clip(round((x + 1) * 127.5), 0, 255)``.
    """
    scaled = np.round((np.asarray(images) + 1.0) * 127.5)
    return np.clip(scaled, 0, 255).astype(np.uint8)


def from_uint8(images: np.ndarray) -> np.ndarray:
    """Converts 8-bit pixels to model space.

    Args:
        images: uint8 array, any shape.

    Returns:
        float32 array in [-1, 1]: ``x / 127.5 - 1``.
    """
    return np.asarray(images).astype(np.float32) / np.float32(127.5) - np.float32(1.0)


def resize_uint8(images: np.ndarray, size: int) -> np.ndarray:
    """Resizes a batch of gray images with PIL bicubic (antialiased).

    The one resizer of the project: data, scoring and feature networks all use
    it, so real and generated images go through identical interpolation.
    Non-square images are centre-cropped to a square first (never squashed).

    Args:
        images: uint8 array of shape (N, H, W) or (N, H, W, 1).
        size: target side in pixels.

    Returns:
        uint8 array (N, size, size); the (squeezed) input itself if it already
        has that size.

    Raises:
        ValueError: wrong dtype or shape, or a non-positive size.
    """
    batch = _as_gray_batch(images)
    if size < 1:
        raise ValueError(f"resize_uint8: size must be >= 1, got {size}")
    if batch.shape[1:] == (size, size):
        return batch
    out = np.empty((len(batch), size, size), dtype=np.uint8)
    for i, image in enumerate(batch):
        out[i] = _resize_one(image, size)
    return out


def _as_gray_batch(images: np.ndarray) -> np.ndarray:
    """Returns images as (N, H, W) uint8, or raises ValueError."""
    batch = np.asarray(images)
    if batch.ndim == 4 and batch.shape[-1] == 1:
        batch = batch[..., 0]
    if batch.ndim != 3 or batch.dtype != np.uint8:
        raise ValueError(
            f"resize_uint8: expected uint8 (N,H,W) or (N,H,W,1), got {batch.dtype} {batch.shape}"
        )
    return batch


def _resize_one(image: np.ndarray, size: int) -> np.ndarray:
    """Centre-squares one 2-D uint8 image and resizes it bicubically."""
    square = np.ascontiguousarray(centre_square(image, 1.0))
    resized = Image.fromarray(square).resize((size, size), Image.Resampling.BICUBIC)
    return np.asarray(resized)


def centre_square(image: np.ndarray, crop: float) -> np.ndarray:
    """Cuts the centred square whose side is ``crop`` times the shorter side."""
    height, width = image.shape
    side = max(1, int(round(crop * min(height, width))))
    top, left = (height - side) // 2, (width - side) // 2
    return image[top : top + side, left : left + side]


# --------------------------------------------------------------------------
# Decoding one file


def read_image(path_or_fileobj) -> np.ndarray:
    """Decodes one image file to 8-bit grayscale.

    Handles RGB(A), LA, palette (with transparency), 16/32-bit integer and
    float images (scaled, not clipped), CMYK JPEGs and 1-bit images; honours
    the EXIF orientation; transparent pixels become white. Very large images
    are decoded at reduced scale (JPEG draft) or reduced right after decoding.

    Args:
        path_or_fileobj: a path or a binary file object.

    Returns:
        2-D uint8 array.

    Raises:
        OSError or ValueError: the file is not a decodable image.
    """
    try:
        with warnings.catch_warnings():
            # PIL would print its own warning raw, mid-output: said below as a log line instead.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path_or_fileobj) as image:
                # JPEG only (no-op otherwise): decode at 1/2..1/8 scale, cheaply.
                image.draft(None, (_MAX_SIDE, _MAX_SIDE))
                gray = _to_gray(ImageOps.exif_transpose(image))
                width, height = image.size
    except _DECODE_ERRORS as exc:
        raise ValueError(f"cannot decode image: {exc!r}") from exc
    if Image.MAX_IMAGE_PIXELS and width * height > Image.MAX_IMAGE_PIXELS:
        log.warning("%s: a very large image (%dx%d, %d pixels, above PIL's limit of %d) was "
                    "decoded; such files can be decompression bombs, check where it comes from",
                    _name_of(path_or_fileobj), width, height, width * height, Image.MAX_IMAGE_PIXELS)
    return _shrink(gray)


def _name_of(path_or_fileobj) -> str:
    """A file's name for a message: its path, a file object's name, else "an image"."""
    if isinstance(path_or_fileobj, (str, PurePath)):
        return str(path_or_fileobj)
    return str(getattr(path_or_fileobj, "name", "an image"))


def image_size(path_or_fileobj) -> tuple[int, int]:
    """(width, height) of an image file, from its header (no pixels decoded).

    Raises:
        ValueError: the file is not an image PIL can open.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # no pixels decoded
            with Image.open(path_or_fileobj) as image:
                return image.size
    except (OSError, *_DECODE_ERRORS) as exc:
        raise ValueError(f"cannot read image header: {exc!r}") from exc


def _to_gray(image: Image.Image) -> np.ndarray:
    """Converts a loaded PIL image of any mode to a 2-D uint8 array."""
    if image.mode in _FULL_SCALE:
        return _high_bit_to_uint8(np.asarray(image), _FULL_SCALE[image.mode])
    if image.has_transparency_data:
        background = Image.new("RGBA", image.size, _BACKGROUND)
        image = Image.alpha_composite(background, image.convert("RGBA"))
    return np.asarray(image.convert("L"))


def _high_bit_to_uint8(pixels: np.ndarray, full_scale: float) -> np.ndarray:
    """Scales 16-bit/32-bit/float pixels to 0..255.

    Values within [0, full_scale] are scaled linearly (so 65535 -> 255);
    anything else has no known range and is stretched from min to max.
    """
    values = pixels.astype(np.float64)
    low, high = float(values.min()), float(values.max())
    if low < 0 or high > full_scale:
        full_scale = max(high - low, 1e-12)
        values = values - low
    return np.clip(np.round(values * (255.0 / full_scale)), 0, 255).astype(np.uint8)


def _shrink(gray: np.ndarray) -> np.ndarray:
    """Box-reduces an image whose shorter side is at least twice _MAX_SIDE."""
    factor = min(gray.shape) // _MAX_SIDE
    if factor < 2:
        return gray
    return np.asarray(Image.fromarray(gray).reduce(factor))


# --------------------------------------------------------------------------
# Image file names


def is_image_name(name: str) -> bool:
    """True for visible files with an image extension (skips ._* macOS forks)."""
    return not name.startswith(".") and PurePosixPath(name).suffix.lower() in IMAGE_EXTENSIONS
