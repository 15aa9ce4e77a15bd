"""Tests of tuner.data: decoding, loading, preprocessing and their errors."""

from __future__ import annotations

import io
import logging
import shutil
import subprocess
import sys
import tarfile

import numpy as np
import pytest
from PIL import Image

from tuner import data
from tuner.data import (
    MIN_IMAGES,
    from_uint8,
    load_faces,
    load_image_folder,
    read_image,
    resize_uint8,
    to_uint8,
)
from tuner.errors import UsageError


def _encoded(image: Image.Image, fmt: str, **options) -> io.BytesIO:
    """The image saved to an in-memory file of the given format."""
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    buffer.seek(0)
    return buffer


def _save_faces(folder, face_factory, count, size=32, fmt="png"):
    """Writes ``count`` synthetic faces into ``folder`` and returns it."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        Image.fromarray(face_factory(size)).save(folder / f"img_{i:02d}.{fmt}")
    return folder


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
    folder = _save_faces(tmp_path / "few", face_factory, 5)
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
    folder = _save_faces(tmp_path / "tiny", face_factory, MIN_IMAGES, size=5)
    batch = load_faces(str(folder)).at_size(16)
    assert batch.shape == (MIN_IMAGES, 16, 16, 1)


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
    return load_faces(str(_save_faces(tmp_path / f"n{count}", face_factory, count, size=8)))


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


# ---------------------------------------------------------------- module hygiene


def test_module_imports_no_framework_and_no_skimage():
    code = (
        "import sys, tuner.data; "
        "print([m for m in ('tensorflow', 'keras', 'skimage') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_public_constants():
    assert {".jpg", ".png", ".tiff", ".webp", ".pgm"} <= data.IMAGE_EXTENSIONS
    assert all(ext == ext.lower() and ext.startswith(".") for ext in data.IMAGE_EXTENSIONS)
