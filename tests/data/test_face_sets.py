"""Tests of tuner.data.face_sets: loading a face set, crops, sizes, subsets and splits."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tests.helpers.images import save_faces
from tuner.common.errors import UsageError
from tuner.data.face_sets import MIN_IMAGES, load_faces
from tuner.data.images import to_uint8

# ---------------------------------------------------------------- crop and sizes


def test_crop_keeps_the_centre_square(lfw_tree):
    whole = load_faces(str(lfw_tree.root), person=lfw_tree.person)
    half = load_faces(str(lfw_tree.root), person=lfw_tree.person, crop=0.5)
    assert half.images[0].shape == (32, 32) and half.crop == 0.5
    np.testing.assert_array_equal(half.images[0], whole.images[0][16:48, 16:48])
    assert half.fingerprint != whole.fingerprint


@pytest.mark.parametrize("crop", [0, 1.5, -0.2])
def test_crop_out_of_range(crop):
    with pytest.raises(UsageError, match=r"--crop must be in \(0, 1\]"):
        load_faces(crop=crop)


def test_non_square_images_become_centre_squares(tmp_path):
    folder = tmp_path / "wide"
    folder.mkdir()
    for i in range(MIN_IMAGES):
        pixels = np.zeros((20, 40), dtype=np.uint8)
        pixels[:, 10:30] = 100 + i
        Image.fromarray(pixels).save(folder / f"w{i}.png")
    faces = load_faces(str(folder))
    assert faces.images[3].shape == (20, 20) and faces.images[3].min() == 103


def test_at_size_is_cached_and_read_only(face_folder):
    faces = load_faces(str(face_folder))
    batch = faces.at_size(16)
    assert faces.at_size(16) is batch
    assert batch.shape == (10, 16, 16, 1) and not batch.flags.writeable
    np.testing.assert_array_equal(to_uint8(faces.at_size(32)[..., 0]), np.stack(faces.images))


def test_subset_indices(face_folder):
    faces = load_faces(str(face_folder))
    half = faces.subset_indices(0.5, seed=3)
    assert half.tolist() == faces.subset_indices(0.5, seed=3).tolist()
    assert len(half) == 5 and half.tolist() == sorted(set(half.tolist()))
    assert 0 <= half.min() and half.max() < 10
    assert faces.subset_indices(1.0, seed=3).tolist() == list(range(10))
    assert len(faces.subset_indices(0.01, seed=0)) == 1
    with pytest.raises(UsageError, match=r"fraction must be in \(0, 1\]"):
        faces.subset_indices(1.5, seed=0)


def test_training_images_appends_mirrors(face_folder):
    faces = load_faces(str(face_folder))
    batch = faces.training_images(16, fraction=0.5, seed=1)
    plain = faces.training_images(16, fraction=0.5, seed=1, flip=False)
    assert batch.shape == (10, 16, 16, 1) and plain.shape == (5, 16, 16, 1)
    np.testing.assert_array_equal(batch[:5], plain)
    np.testing.assert_array_equal(batch[5:], plain[:, :, ::-1, :])


def _faces_of(count, tmp_path, face_factory):
    return load_faces(str(save_faces(tmp_path / f"n{count}", face_factory, count, size=8)))


def test_subsets_are_nested_across_fractions(tmp_path, face_factory):
    faces = _faces_of(40, tmp_path, face_factory)
    for seed in range(5):
        sizes, previous = [], set()
        for fraction in (0.1, 0.25, 0.5, 0.75, 1.0):
            chosen = set(faces.subset_indices(fraction, seed=seed).tolist())
            assert previous <= chosen
            sizes.append(len(chosen))
            previous = chosen
        assert sizes == [4, 10, 20, 30, 40]
    assert faces.subset_indices(0.5, 0).tolist() != faces.subset_indices(0.5, 1).tolist()


def test_split_draws_a_disjoint_heldout_once_per_seed(tmp_path, face_factory):
    faces = _faces_of(40, tmp_path, face_factory)
    pool, heldout = faces.split(0.2, seed=7)
    assert len(heldout) == 8 and len(pool) == 32
    assert sorted(pool.tolist() + heldout.tolist()) == list(range(40))
    assert pool.dtype == heldout.dtype == np.int64
    assert pool.tolist() == sorted(pool.tolist()) and heldout.tolist() == sorted(heldout.tolist())
    again = faces.split(0.2, seed=7)
    assert again[1].tolist() == heldout.tolist()
    assert faces.split(0.2, seed=8)[1].tolist() != heldout.tolist()
    none_pool, none_held = faces.split(0.0, seed=7)
    assert none_pool.tolist() == list(range(40)) and none_held.tolist() == []


def test_subsets_of_the_pool_are_nested_and_never_touch_the_heldout(tmp_path, face_factory):
    faces = _faces_of(40, tmp_path, face_factory)
    pool, heldout = faces.split(0.25, seed=0)
    half = faces.subset_indices(0.5, seed=3, pool=pool)
    full = faces.subset_indices(1.0, seed=3, pool=pool)
    assert len(half) == 15 and full.tolist() == pool.tolist()
    assert set(half.tolist()) <= set(full.tolist())
    assert not set(half.tolist()) & set(heldout.tolist())
    batch = faces.training_images(8, fraction=0.5, seed=3, flip=False, pool=pool)
    np.testing.assert_array_equal(batch, faces.at_size(8)[half])


@pytest.mark.parametrize("holdout, message", [
    (1.0, r"--holdout must be in \[0, 1\), got 1.0"),
    (-0.1, r"--holdout must be in \[0, 1\)"),
    (0.01, "--holdout 0.01 holds out 0 of 40 images; both the held-out and the training side"),
    (0.99, "holds out 40 of 40 images"),
])
def test_split_refuses_bad_holdouts(holdout, message, tmp_path, face_factory):
    with pytest.raises(UsageError, match=message):
        _faces_of(40, tmp_path, face_factory).split(holdout, seed=0)


# ---------------------------------------------------------------- module hygiene


def test_module_imports_no_framework_and_no_skimage():
    code = (
        "import sys, tuner.data.face_sets, tuner.data.sources, tuner.data.images; "
        "print([m for m in ('tensorflow', 'keras', 'skimage') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
