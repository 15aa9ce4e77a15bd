"""Tests of tuner.data.images: conversions, resizing and decoding one image file."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from tuner.data.images import IMAGE_EXTENSIONS, from_uint8, read_image, resize_uint8, to_uint8


def _encoded(image: Image.Image, fmt: str, **options) -> io.BytesIO:
    """The image saved to an in-memory file of the given format."""
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    buffer.seek(0)
    return buffer


# ---------------------------------------------------------------- conversions


def test_to_uint8_pins_the_ends_and_the_middle():
    values = to_uint8(np.array([-1.0, 0.0, 1.0, -3.0, 3.0]))
    assert values.dtype == np.uint8
    assert values.tolist() == [0, 128, 255, 0, 255]


def test_uint8_round_trip_is_exact_on_every_value():
    pixels = np.arange(256, dtype=np.uint8).reshape(16, 16, 1)
    model = from_uint8(pixels)
    assert model.dtype == np.float32 and model.shape == (16, 16, 1)
    assert model.min() == -1.0 and model.max() == 1.0
    np.testing.assert_array_equal(to_uint8(model), pixels)


def test_resize_uint8_matches_pil_bicubic_and_accepts_a_channel_axis(face_factory):
    faces = np.stack([face_factory(64) for _ in range(3)])
    resized = resize_uint8(faces[..., None], 16)
    expected = np.asarray(Image.fromarray(faces[1]).resize((16, 16), Image.Resampling.BICUBIC))
    assert resized.shape == (3, 16, 16) and resized.dtype == np.uint8
    np.testing.assert_array_equal(resized[1], expected)


def test_resize_uint8_returns_the_input_at_its_own_size(face_factory):
    faces = np.stack([face_factory(16) for _ in range(2)])
    assert resize_uint8(faces, 16) is faces


def test_resize_uint8_centre_crops_non_square_images():
    wide = np.zeros((1, 20, 40), dtype=np.uint8)
    wide[:, :, 10:30] = 200  # the centred 20x20 square is uniformly 200
    assert resize_uint8(wide, 8).tolist() == np.full((1, 8, 8), 200).tolist()


def test_resize_uint8_rejects_floats():
    with pytest.raises(ValueError, match="uint8"):
        resize_uint8(np.zeros((1, 8, 8), dtype=np.float32), 4)


# ---------------------------------------------------------------- read_image


def _rgba() -> Image.Image:
    image = Image.new("RGBA", (4, 4), (255, 0, 0, 255))  # opaque red: luma 76
    image.putpixel((0, 0), (0, 0, 0, 0))  # transparent: shown on white
    return image


def _palette() -> Image.Image:
    image = Image.new("P", (4, 4), 1)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0, 0, 0] * 254)  # index 1 is red
    image.putpixel((0, 0), 0)
    return image


def _one_bit() -> Image.Image:
    image = Image.new("1", (4, 4), 1)
    image.putpixel((0, 0), 0)
    return image


@pytest.mark.parametrize(
    ("make", "fmt", "corner", "rest"),
    [
        (_rgba, "PNG", 255, 76),
        (lambda: Image.new("LA", (4, 4), (90, 255)), "PNG", 90, 90),
        (_palette, "PNG", 0, 76),
        (_palette, "GIF", 0, 76),
        (_one_bit, "PNG", 0, 255),
        (_one_bit, "BMP", 0, 255),
        (lambda: Image.fromarray(np.full((4, 4), 65535, np.uint16)), "PNG", 255, 255),
        (lambda: Image.fromarray(np.full((4, 4), 257 * 100, np.uint16)), "TIFF", 100, 100),
        (lambda: Image.new("I", (4, 4), 257 * 40), "TIFF", 40, 40),
        (lambda: Image.new("F", (4, 4), 0.5), "TIFF", 128, 128),
        (lambda: Image.new("CMYK", (4, 4), (0, 0, 0, 0)), "JPEG", 255, 255),
        (lambda: Image.new("CMYK", (4, 4), (0, 0, 0, 255)), "JPEG", 0, 0),
        (lambda: Image.new("L", (5, 5), 33), "PPM", 33, 33),
    ],
)
def test_read_image_converts_odd_modes_to_gray(make, fmt, corner, rest):
    gray = read_image(_encoded(make(), fmt))
    assert gray.dtype == np.uint8 and gray.ndim == 2 and gray.shape[0] in (4, 5)
    assert abs(int(gray[0, 0]) - corner) <= 1
    assert abs(int(gray[-1, -1]) - rest) <= 1


def test_read_image_honours_exif_orientation():
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90 degrees: width and height swap
    gray = read_image(_encoded(Image.new("RGB", (20, 10)), "JPEG", exif=exif))
    assert gray.shape == (20, 10)


def test_read_image_reduces_huge_images():
    jpeg = read_image(_encoded(Image.new("RGB", (3000, 3000), (0, 200, 0)), "JPEG"))
    png = read_image(_encoded(Image.new("L", (2100, 2100), 50), "PNG"))
    assert jpeg.shape == (1500, 1500) and abs(int(jpeg.mean()) - 117) <= 2
    assert png.shape == (1050, 1050) and png.max() == 50


def test_read_image_raises_on_garbage():
    with pytest.raises((OSError, ValueError)):
        read_image(io.BytesIO(b"not an image at all"))


def test_public_constants():
    assert {".jpg", ".png", ".tiff", ".webp", ".pgm"} <= IMAGE_EXTENSIONS
    assert all(ext == ext.lower() and ext.startswith(".") for ext in IMAGE_EXTENSIONS)


def test_a_very_large_image_is_a_log_line_not_pils_raw_warning(tmp_path, monkeypatch, caplog):
    """PIL warns (DecompressionBombWarning) above MAX_IMAGE_PIXELS; here a 12x12 image is
    'very large' under a limit of 100 pixels."""
    import logging
    import warnings

    from PIL import Image

    from tuner.data.images import read_image

    path = tmp_path / "big.png"
    Image.new("L", (12, 12), 80).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning left to print fails the test
        with caplog.at_level(logging.WARNING, logger="tuner.data.images"):
            assert read_image(path).shape == (12, 12)
    assert [r.getMessage() for r in caplog.records] == [
        f"{path}: a very large image (12x12, 144 pixels, above PIL's limit of 100) was decoded; "
        f"such files can be decompression bombs, check where it comes from"]
