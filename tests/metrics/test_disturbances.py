"""Tests of tuner.metrics.disturbances: seeded, graded disturbances of real images (no TF)."""

import numpy as np
import pytest

from tuner.metrics.disturbances import FAMILIES, LEVELS

# Families that draw random numbers (blur and swirl are deterministic).
RANDOM_FAMILIES = ("noise", "rectangles", "salt_pepper", "contamination")


def test_registry():
    assert set(FAMILIES) == {"noise", "blur", "rectangles", "swirl", "salt_pepper", "contamination",
                             "downsample"}
    assert LEVELS == (0.0, 0.25, 0.5, 0.75, 1.0)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_shape_dtype_and_level_zero(family, pixels):
    for level in LEVELS:
        out = FAMILIES[family](pixels, level, seed=0)
        assert out.shape == pixels.shape and out.dtype == np.uint8
    unchanged = FAMILIES[family](pixels, 0.0, seed=0)
    np.testing.assert_array_equal(unchanged, pixels)
    assert unchanged is not pixels


@pytest.mark.parametrize("family", list(FAMILIES))
def test_seeded(family, pixels):
    first = FAMILIES[family](pixels, 0.5, seed=3)
    np.testing.assert_array_equal(first, FAMILIES[family](pixels, 0.5, seed=3))
    generator = FAMILIES[family](pixels, 0.5, seed=np.random.default_rng(3))
    np.testing.assert_array_equal(first, generator)
    if family in RANDOM_FAMILIES:
        assert not np.array_equal(first, FAMILIES[family](pixels, 0.5, seed=4))


@pytest.mark.parametrize("family", list(FAMILIES))
def test_stronger_levels_change_images_more(family, pixels):
    reference = pixels.astype(np.float64)
    changes = [np.abs(FAMILIES[family](pixels, level, seed=0) - reference).mean()
               for level in LEVELS]
    assert changes[0] == 0
    assert all(after > before for before, after in zip(changes, changes[1:])), changes


def test_contamination_replaces_a_fraction_of_images(pixels):
    for level in LEVELS:
        out = FAMILIES["contamination"](pixels, level, seed=0)
        replaced = np.any(out != pixels, axis=(1, 2)).sum()
        assert replaced == round(level * len(pixels))


@pytest.mark.parametrize("bad", [-0.1, 1.5])
def test_level_out_of_range(bad, pixels):
    with pytest.raises(ValueError, match="level"):
        FAMILIES["noise"](pixels, bad)


def test_float_images_are_refused():
    with pytest.raises(ValueError, match="uint8"):
        FAMILIES["blur"](np.zeros((2, 8, 8)), 0.5)


def test_downsample_goes_through_halved_sides_at_128():
    from tuner.data.images import resize_uint8
    from tuner.metrics.disturbances import downsample

    images = np.random.default_rng(0).integers(0, 256, (3, 128, 128), dtype=np.uint8)
    for level, side in zip(LEVELS[1:], (64, 32, 16, 8)):
        np.testing.assert_array_equal(downsample(images, level),
                                      resize_uint8(resize_uint8(images, side), 128))
