"""Tests of tuner.data.sources: the embedded faces, LFW trees and archives, flat folders."""

from __future__ import annotations

import logging
import shutil
import tarfile

import numpy as np
import pytest
from PIL import Image

from tests.helpers.images import save_faces
from tuner.common.errors import UsageError
from tuner.data.face_sets import MIN_IMAGES, load_faces
from tuner.data.sources import load_image_folder

# ---------------------------------------------------------------- embedded set


def test_embedded_subset_is_100_faces_of_25_pixels():
    faces = load_faces()
    assert faces.name == "lfw-subset" and len(faces) == 100
    assert faces.images[0].shape == (25, 25) and faces.images[0].dtype == np.uint8
    batch = faces.at_size(16)
    assert batch.shape == (100, 16, 16, 1) and batch.dtype == np.float32
    assert -1.0 <= batch.min() < batch.max() <= 1.0
    assert len(faces.fingerprint) == 16 and int(faces.fingerprint, 16) >= 0


def test_embedded_subset_rejects_person():
    with pytest.raises(UsageError, match="--person"):
        load_faces("lfw-subset", person="Ada_Lovelace")


# ---------------------------------------------------------------- LFW tree and archive


def test_folder_and_archive_of_the_same_person_are_identical(lfw_tree):
    folder = load_faces(str(lfw_tree.root), person=lfw_tree.person)
    archive = load_faces(str(lfw_tree.tgz), person=lfw_tree.person)
    assert folder.name == "lfw-mini:Ada_Lovelace" and archive.name == "lfw-mini.tgz:Ada_Lovelace"
    assert len(folder) == 12 and folder.files[0] == "Ada_Lovelace_0001.jpg"
    assert folder.files == archive.files
    assert folder.fingerprint == archive.fingerprint
    np.testing.assert_array_equal(folder.at_size(32), archive.at_size(32))


@pytest.mark.parametrize("kind", ["root", "tgz"])
def test_lfw_without_person_lists_the_people(lfw_tree, kind):
    listing = r"3 people; choose one with --person.*Ada_Lovelace \(12\), Alan_Turing \(10\)"
    with pytest.raises(UsageError, match=listing):
        load_faces(str(getattr(lfw_tree, kind)))


@pytest.mark.parametrize("kind", ["root", "tgz"])
def test_unknown_person_suggests_close_names(lfw_tree, kind):
    message = r"--person Ada_Lovelac not found.*closest names: Ada_Lovelace"
    with pytest.raises(UsageError, match=message):
        load_faces(str(getattr(lfw_tree, kind)), person="Ada_Lovelac")


@pytest.mark.parametrize("kind", ["root", "tgz"])
def test_person_with_too_few_images(lfw_tree, kind):
    assert MIN_IMAGES == 8
    with pytest.raises(UsageError, match=r"Grace_Hopper: found 3 images, need at least 8"):
        load_faces(str(getattr(lfw_tree, kind)), person="Grace_Hopper")


def test_corrupted_archive_names_the_file(lfw_tree, tmp_path):
    truncated = tmp_path / "broken.tgz"
    truncated.write_bytes(lfw_tree.tgz.read_bytes()[: lfw_tree.tgz.stat().st_size // 2])
    with pytest.raises(UsageError, match=r"broken\.tgz is not a readable"):
        load_faces(str(truncated), person=lfw_tree.person)


def test_non_archive_file_names_the_file(tmp_path):
    junk = tmp_path / "notes.txt"
    junk.write_text("hello")
    with pytest.raises(UsageError, match=r"notes\.txt is not a readable"):
        load_faces(str(junk))


def test_archive_of_a_flat_folder_needs_no_person(face_folder, tmp_path):
    tgz = tmp_path / "faces.tgz"
    with tarfile.open(tgz, "w:gz") as archive:
        archive.add(face_folder, arcname="faces")
    assert load_faces(str(tgz)).fingerprint == load_faces(str(face_folder)).fingerprint


# ---------------------------------------------------------------- flat folders and errors


def test_flat_folder_loads_in_name_order(face_folder):
    (face_folder / "notes.txt").write_text("ignored")
    (face_folder / "face_99.PNG").write_bytes((face_folder / "face_00.png").read_bytes())
    faces = load_faces(str(face_folder))
    assert faces.name == "faces" and len(faces) == 11
    assert list(faces.files) == sorted(faces.files) and "face_99.PNG" in faces.files
    assert faces.images[0].shape == (32, 32)


def test_missing_path(tmp_path):
    with pytest.raises(UsageError, match=r"--data .*nowhere does not exist"):
        load_faces(str(tmp_path / "nowhere"))


def test_empty_folder(tmp_path):
    with pytest.raises(UsageError, match="empty folder"):
        load_faces(str(tmp_path))


def test_folder_without_images(tmp_path):
    (tmp_path / "readme.md").write_text("no faces here")
    with pytest.raises(UsageError, match=r"contains no images \(.*\.jpg"):
        load_faces(str(tmp_path))


def test_too_few_images_in_a_flat_folder(tmp_path, face_factory):
    folder = save_faces(tmp_path / "few", face_factory, 5)
    with pytest.raises(UsageError, match="found 5 images, need at least 8"):
        load_faces(str(folder))


def test_corrupted_image_is_skipped_with_one_warning(face_folder, caplog):
    (face_folder / "face_05b.png").write_bytes(b"\x89PNG truncated")
    with caplog.at_level(logging.WARNING, logger="tuner.data"):
        faces = load_faces(str(face_folder))
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(faces) == 10 and "face_05b.png" not in faces.files
    assert len(warnings) == 1
    assert "skipped 1 unreadable" in warnings[0].getMessage()
    assert "face_05b.png" in warnings[0].getMessage()


def test_all_images_corrupted(tmp_path):
    for i in range(3):
        (tmp_path / f"bad_{i}.jpg").write_bytes(b"garbage")
    with pytest.raises(UsageError, match="none of the 3 image files could be decoded"):
        load_faces(str(tmp_path))


def test_tiny_images_are_usable(tmp_path, face_factory):
    folder = save_faces(tmp_path / "tiny", face_factory, MIN_IMAGES, size=5)
    batch = load_faces(str(folder)).at_size(16)
    assert batch.shape == (MIN_IMAGES, 16, 16, 1)


# ---------------------------------------------------------------- load_image_folder


def test_load_image_folder(face_folder):
    images = load_image_folder(face_folder)
    assert images.shape == (10, 32, 32) and images.dtype == np.uint8


def test_load_image_folder_rejects_mixed_sizes(face_folder, face_factory):
    Image.fromarray(face_factory(16)).save(face_folder / "small.png")
    with pytest.raises(UsageError, match=r"faces: images have different sizes \(16x16, 32x32\)"):
        load_image_folder(face_folder)


def test_load_image_folder_errors(tmp_path, face_folder):
    with pytest.raises(UsageError, match="does not exist"):
        load_image_folder(tmp_path / "missing")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UsageError, match="empty folder"):
        load_image_folder(empty)
    single = tmp_path / "single"
    single.mkdir()
    shutil.copy(face_folder / "face_00.png", single)
    with pytest.raises(UsageError, match="need at least 2"):
        load_image_folder(single)
