"""Tests of tuner.metrics.disturbances: seeded, graded disturbances of real images (no TF)."""

import numpy as np
import pytest

from tuner.metrics import disturbances
from tuner.metrics.disturbances import FACE_LIKE, FAILURES, FAMILIES, LEVELS, MILD_LEVELS

# Families that draw random numbers (the others are deterministic).
RANDOM_FAMILIES = ("noise", "rectangles", "salt_pepper", "contamination", "checkerboard",
                   "binary_noise", "blotches", "gray", "collapse", "partial_collapse")


def test_registry():
    assert set(FAMILIES) == {"noise", "blur", "rectangles", "swirl", "salt_pepper", "contamination",
                             "downsample", "oversmooth", "saturation", "checkerboard",
                             "binary_noise", "blotches", "gray", "collapse", "partial_collapse"}
    assert LEVELS == (0.0, 0.25, 0.5, 0.75, 1.0) and MILD_LEVELS == (0.25, 0.5)
    assert set(FAILURES) == {"noise", "contamination", "checkerboard", "binary_noise", "blotches",
                             "gray", "collapse", "partial_collapse"}
    assert set(FACE_LIKE) == {"blur", "downsample", "oversmooth", "saturation"}


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


# --- the ways a GAN fails ---


def test_checkerboard_alternates_black_and_white_in_blocks_of_random_phase(pixels):
    out = disturbances.checkerboard(pixels, 1.0, seed=0)
    assert set(np.unique(out)) == {0, 255}
    block = disturbances.CHECKER_BLOCK
    for image in out[:3]:
        for top in range(0, image.shape[0], block):
            for left in range(0, image.shape[1], block):
                cell = image[top:top + block, left:left + block].astype(int)
                assert np.all(cell[:, 1:] != cell[:, :-1]) and np.all(cell[1:] != cell[:-1])
    phases = out[:, ::block, ::block]  # the first pixel of each block: its phase
    assert 0.4 < (phases == 255).mean() < 0.6
    half = disturbances.checkerboard(pixels, 0.5, seed=0)
    np.testing.assert_array_equal(half, np.round(0.5 * pixels + 0.5 * out.astype(float)))


def test_binary_noise_is_black_or_white_half_each(pixels):
    out = disturbances.binary_noise(pixels, 1.0, seed=0)
    assert set(np.unique(out)) == {0, 255} and abs((out == 255).mean() - 0.5) < 0.02


def test_blotches_are_black_white_and_checkered_thirds(pixels):
    out = disturbances.blotches(pixels, 1.0, seed=0)
    assert set(np.unique(out)) == {0, 255}
    # black: the lowest third and half the checkered middle third
    assert np.allclose((out == 0).mean(axis=(1, 2)), 0.5, atol=0.02)
    # blotches, not pixel noise: most pixels share their right neighbour's colour
    assert (out[:, :, 1:] == out[:, :, :-1]).mean() > 0.6


@pytest.mark.parametrize("level", LEVELS)
def test_gray_replaces_a_fraction_of_the_images_by_flat_mid_gray(pixels, level):
    out = disturbances.flat_gray(pixels, level, seed=0)
    flat = np.all(out == disturbances.GRAY, axis=(1, 2))
    assert flat.sum() == round(level * len(pixels))
    np.testing.assert_array_equal(out[~flat], pixels[~flat])


@pytest.mark.parametrize("level", LEVELS)
def test_collapse_repeats_one_face(pixels, level):
    out = disturbances.collapse(pixels, level, seed=0)
    distinct, counts = np.unique(out.reshape(len(out), -1), axis=0, return_counts=True)
    assert len(distinct) == len(pixels) - round(level * (len(pixels) - 1))
    assert counts.max() == 1 + round(level * (len(pixels) - 1))
    assert all(any(np.array_equal(face, image) for image in pixels) for face in out)


@pytest.mark.parametrize("level", LEVELS)
def test_partial_collapse_keeps_a_few_faces_in_place(pixels, level):
    n = len(pixels)
    out = disturbances.partial_collapse(pixels, level, seed=0)
    kept = round(n * (disturbances.COLLAPSE_FEW / n) ** level)
    assert len(np.unique(out.reshape(n, -1), axis=0)) == kept  # the 40 faces are distinct
    assert np.all(out == pixels, axis=(1, 2)).sum() == kept  # the kept faces stay where they are
    counts = np.unique(out.reshape(n, -1), axis=0, return_counts=True)[1]
    assert counts.max() - counts.min() <= 1  # repeated in turn


def test_saturation_multiplies_the_contrast_about_mid_gray(pixels):
    ramp = np.arange(256, dtype=np.uint8).reshape(1, 16, 16)
    out = disturbances.saturation(ramp, 1.0).astype(float)
    expected = np.clip(np.round(127.5 + 16 * (np.arange(256) - 127.5)), 0, 255).reshape(1, 16, 16)
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(disturbances.saturation(ramp, 0.0), ramp)


def test_oversmoothing_flattens_while_blur_spreads_edges():
    step = np.zeros((1, 32, 32), np.uint8)
    step[:, :, 16:] = 200
    step[:, 10:12, 4:6] = 120  # a speck of detail
    smooth = disturbances.oversmooth(step, 1.0).astype(int)
    assert abs(smooth[0, 20, 15] - smooth[0, 20, 16]) > 150  # the edge survives
    assert abs(smooth[0, 10, 4] - smooth[0, 20, 4]) < 40  # the speck is flattened away
