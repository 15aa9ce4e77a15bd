"""Tests of tuner.metrics.swd: the Laplacian pyramid, the descriptors and the sliced Wasserstein distance."""

import numpy as np
import pytest
from scipy import ndimage

from tuner.data.images import from_uint8, resize_uint8
from tuner.metrics import swd

# The official code's filters (metrics/sliced_wasserstein.py of ProGAN), as definitions.
BINOMIAL_5X5 = np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1]) / 256.0


def official_down(images):
    return ndimage.convolve(images, BINOMIAL_5X5[None], mode="mirror")[:, ::2, ::2]


def official_up(images):
    n, h, w = images.shape
    sparse = np.zeros((n, 2 * h, 2 * w))
    sparse[:, ::2, ::2] = images
    return ndimage.convolve(sparse, 4 * BINOMIAL_5X5[None], mode="mirror")


@pytest.fixture
def faces(draw_face):
    """`faces(seed, count, size)`: `count` synthetic faces (uint8) drawn from `seed`."""
    def draw(seed, count, size):
        rng = np.random.default_rng(seed)
        return np.stack([draw_face(rng, size) for _ in range(count)])

    return draw


@pytest.mark.parametrize("size, levels", [(128, [128, 64, 32, 16]), (64, [64, 32, 16]),
                                          (32, [32, 16]), (16, [16]), (8, [8]), (48, [48, 24])])
def test_levels_run_from_the_size_down_to_16(size, levels):
    assert swd.resolutions(size) == levels


def test_images_smaller_than_a_patch_are_refused():
    with pytest.raises(ValueError, match="at least 7x7, got 6x6"):
        swd.sliced_wasserstein(np.zeros((4, 6, 6)), np.zeros((4, 6, 6)))


@pytest.mark.parametrize("shape", [(3, 16, 16), (2, 32, 32), (2, 8, 8)])
def test_down_and_up_are_the_official_filters(shape, rng):
    images = rng.standard_normal(shape)
    coarse = swd._down(images)
    np.testing.assert_allclose(coarse, official_down(images), atol=1e-12)
    np.testing.assert_allclose(swd._up(coarse, shape), official_up(coarse), atol=1e-12)


def test_the_pyramid_reconstructs_the_images_exactly(rng):
    images = rng.standard_normal((3, 32, 32))
    pyramid = swd.laplacian_pyramid(images, 3)
    assert [level.shape[1] for level in pyramid] == [32, 16, 8]
    rebuilt = pyramid[-1]
    for level in pyramid[-2::-1]:
        rebuilt = level + swd._up(rebuilt, level.shape)
    np.testing.assert_allclose(rebuilt, images, atol=1e-12)


@pytest.mark.parametrize("size", [32, 64])
def test_descriptors_are_7x7_patches_of_the_laplacian_levels(size, rng):
    images = rng.standard_normal((5, size, size))
    sides = swd.resolutions(size)
    pyramid = swd.laplacian_pyramid(images, len(sides))
    descriptors = swd._descriptors(images, 200, seed=3)
    for level, side in enumerate(sides):
        draws = swd._draws(5, side, 200, 3, level)
        assert draws[:, 1:].min() >= 0 and draws[:, 1:].max() <= side - 7  # wholly inside
        np.testing.assert_allclose(descriptors[level], swd._patches(pyramid[level], draws),
                                   atol=1e-12)


def test_a_set_against_itself_is_exactly_zero_at_every_level(faces):
    images = from_uint8(faces(0, 20, 64))
    assert swd.sliced_wasserstein(images, images.copy()) == {
        "swd": 0.0, "swd_levels": {"64": 0.0, "32": 0.0, "16": 0.0}}


def test_symmetric_and_seeded(faces):
    a, b = from_uint8(faces(0, 20, 32)), from_uint8(faces(1, 30, 32))
    first = swd.sliced_wasserstein(a, b, count=1024, seed=5)
    assert swd.sliced_wasserstein(b, a, count=1024, seed=5) == first
    assert swd.sliced_wasserstein(a, b, count=1024, seed=5) == first
    assert swd.sliced_wasserstein(a, b, count=1024, seed=6) != first
    assert list(first["swd_levels"]) == ["32", "16"]
    assert first["swd"] == pytest.approx(np.mean(list(first["swd_levels"].values())))


def test_gray_images_with_a_channel_axis_score_the_same(faces):
    a, b = from_uint8(faces(0, 10, 32)), from_uint8(faces(1, 10, 32))
    assert swd.sliced_wasserstein(a[..., None], b[..., None]) == swd.sliced_wasserstein(a, b)


def test_sets_of_different_sizes_are_refused():
    with pytest.raises(ValueError, match="levels"):
        swd.sliced_wasserstein(np.zeros((4, 32, 32)), np.zeros((4, 16, 16)))
    with pytest.raises(ValueError, match=r"gray images .* got \(4, 32, 16\)"):
        swd.sliced_wasserstein(np.zeros((4, 32, 16)), np.zeros((4, 32, 16)))


def test_a_brightness_shift_moves_only_the_coarsest_level(faces):
    # Laplacian levels of x + c equal those of x (the filters keep constants): only the
    # Gaussian top level differs, and the pooled normalisation is the same per level.
    images = from_uint8(faces(0, 20, 64)).astype(np.float64)
    result = swd.sliced_wasserstein(images, images + 0.25)
    assert result["swd_levels"]["64"] == pytest.approx(0.0, abs=1e-6)
    assert result["swd_levels"]["32"] == pytest.approx(0.0, abs=1e-6)
    assert result["swd_levels"]["16"] > 100


def test_swd_grows_with_blur(faces):
    images = faces(0, 30, 32).astype(np.float64)
    values = [swd.sliced_wasserstein(images, ndimage.gaussian_filter(images, (0, s, s)),
                                     count=2048)["swd"] for s in (0.5, 1.0, 2.0)]
    assert 0 < values[0] < values[1] < values[2]


def test_swd_grows_with_a_pixel_shift_of_half_the_images(faces):
    # Shifting every image is invisible to patch statistics; shifting the eye and mouth
    # band of half the faces down by k pixels is not, and the more so the larger k.
    images = faces(0, 40, 32).astype(np.float64)

    def shifted(k):
        out = images.copy()
        out[::2, 8:24] = np.roll(images[::2, 8:24], k, axis=2)
        return out

    values = [swd.sliced_wasserstein(images, shifted(k), count=2048)["swd"] for k in (1, 3, 6)]
    assert 0 < values[0] < values[1] < values[2]


def test_faces_upsampled_from_32_score_far_worse_at_the_finest_levels(faces):
    # Two independent draws of 128x128 faces against the second draw squeezed to 32x32 and
    # back (bicubic): same faces, missing detail. 48-pixel networks cannot see this.
    real, other = faces(0, 100, 128), faces(1, 100, 128)
    upsampled = resize_uint8(resize_uint8(other, 32), 128)
    honest = swd.sliced_wasserstein(from_uint8(real), from_uint8(other))["swd_levels"]
    blurry = swd.sliced_wasserstein(from_uint8(real), from_uint8(upsampled))["swd_levels"]
    assert blurry["128"] > 5 * honest["128"]
    assert blurry["64"] > 3 * honest["64"]
    assert blurry["16"] < 2 * honest["16"]  # the coarse shape is the same
