"""Face images: from disk (or the embedded LFW subset) to model-ready arrays.

The pipeline is the lab's: decode -> 8-bit grayscale -> centre crop -> resize
with PIL bicubic (antialiased when downsampling) -> float32 in [-1, 1] with
shape (N, S, S, 1).

Images are always cut to a centred square before resizing: ``crop`` is the
fraction of the *shorter* side that is kept, so ``crop=1.0`` on a non-square
photo keeps the largest centred square. Faces are therefore never squashed.

Sources accepted by :func:`load_faces` (the ``--data`` flag):

* ``"lfw-subset"``: the 100 face images of ``skimage.data.lfw_subset()``;
* a flat folder of images;
* an LFW-style folder ``<root>/<Person_Name>/<Person_Name>_0001.jpg``, one
  person chosen with ``--person``;
* an LFW ``.tgz`` archive, read as a stream without unpacking it;
* ``"lfw"``, ``"lfw-funneled"`` or ``"lfw-deepfunneled"``: that LFW archive, downloaded once
  into the user cache and verified (`tuner.download`), then read as any ``.tgz``; a file or
  folder of that name in the current folder is used instead when there is one.

This module must stay free of tensorflow/keras so the CLIs can validate data
before paying for the framework import.
"""

from __future__ import annotations

import difflib
import hashlib
import io
import logging
import numbers
import struct
import tarfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image, ImageOps

from tuner import download
from tuner.config import LFW_ARCHIVES
from tuner.errors import UsageError

logger = logging.getLogger(__name__)

MIN_IMAGES = 8
IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm"}
)
EMBEDDED = "lfw-subset"
# The held-out split draws from its own stream of the seed, so a study using
# one seed for both does not correlate the split with its training subsets.
_HOLDOUT_STREAM = 1

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
_ARCHIVE_ERRORS = (tarfile.TarError, EOFError, zlib.error, OSError)


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
    square = np.ascontiguousarray(_centre_square(image, 1.0))
    resized = Image.fromarray(square).resize((size, size), Image.Resampling.BICUBIC)
    return np.asarray(resized)


def _centre_square(image: np.ndarray, crop: float) -> np.ndarray:
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
        with Image.open(path_or_fileobj) as image:
            # JPEG only (no-op otherwise): decode at 1/2..1/8 scale, cheaply.
            image.draft(None, (_MAX_SIDE, _MAX_SIDE))
            gray = _to_gray(ImageOps.exif_transpose(image))
    except _DECODE_ERRORS as exc:
        raise ValueError(f"cannot decode image: {exc!r}") from exc
    return _shrink(gray)


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
# The face set


@dataclass(frozen=True, eq=False)
class FaceSet:
    """Decoded face images at native resolution, with per-size arrays cached.

    Compare sets by ``fingerprint``, not with ``==`` (identity only).

    Attributes:
        name: "lfw-subset", "<folder>", "<folder>:<person>" or "<file.tgz>:<person>"
            (base names, not full paths).
        images: 2-D uint8 read-only gray arrays, already cut to the centred
            square selected by ``crop``.
        files: the file name of each image, for messages.
        crop: the fraction of the shorter side that was kept.
        fingerprint: 16 hex chars identifying ``crop`` and the pixels, wherever
            they were loaded from.
    """

    name: str
    images: tuple
    files: tuple
    crop: float
    fingerprint: str
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

    def __len__(self) -> int:
        return len(self.images)

    def at_size(self, size: int) -> np.ndarray:
        """All images resized to ``size`` in model space.

        Args:
            size: target side in pixels.

        Returns:
            Read-only float32 array (N, size, size, 1) in [-1, 1]; the same
            object on every call with the same size (cached).
        """
        if size not in self._cache:
            batch = np.stack([resize_uint8(image[None], size)[0] for image in self.images])
            array = from_uint8(batch)[..., None]
            array.setflags(write=False)  # shared by every caller: no in-place edits
            self._cache[size] = array
        return self._cache[size]

    def split(self, holdout: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """A study's held-out split: images no trial trains on, drawn once from ``seed``.

        Args:
            holdout: share of the images held out, in [0, 1); 0 holds out none.
            seed: random seed; the split depends only on (N, holdout, seed).

        Returns:
            ``(pool, heldout)``: sorted int64 indices; ``heldout`` holds
            ``round(holdout * N)`` images (the first of a seeded permutation),
            ``pool`` the rest (all images when holdout is 0).

        Raises:
            UsageError: holdout outside [0, 1), or fewer than 2 images on either side.
        """
        if not 0 <= holdout < 1:
            raise UsageError(f"--holdout must be in [0, 1), got {holdout}; use e.g. 0.2 "
                             "to hold a fifth of the images out of training")
        count = int(round(holdout * len(self)))
        if holdout > 0 and (count < 2 or len(self) - count < 2):
            raise UsageError(f"--holdout {holdout} holds out {count} of {len(self)} images; "
                             "both the held-out and the training side need at least 2")
        order = np.random.default_rng([seed, _HOLDOUT_STREAM]).permutation(len(self))
        return np.sort(order[count:]).astype(np.int64), np.sort(order[:count]).astype(np.int64)

    def subset_indices(self, fraction: float, seed: int, pool=None) -> np.ndarray:
        """Sorted indices of a seeded random subset of ``pool``, nested across fractions.

        The subset is the first ``round(fraction * len(pool))`` images of one
        seeded permutation of ``pool``, so for one seed (and pool) the half set
        lies inside the three-quarter set, which lies inside the full set.

        Args:
            fraction: share of the pool to keep, in (0, 1]; at least one
                image is kept.
            seed: random seed; the result depends only on (pool, fraction, seed).
            pool: the indices to draw from (e.g. the pool of ``split``); all
                images if None.

        Returns:
            Sorted int64 indices, ``round(fraction * len(pool))`` of them (the
            whole pool for 1.0).

        Raises:
            UsageError: fraction outside (0, 1].
        """
        if not 0 < fraction <= 1:
            raise UsageError(
                f"data fraction must be in (0, 1], got {fraction}; use e.g. 0.5 for half the images"
            )
        pool = np.arange(len(self)) if pool is None else np.asarray(pool, dtype=np.int64)
        count = max(1, int(round(fraction * len(pool))))
        order = np.random.default_rng(seed).permutation(pool)
        return np.sort(order[:count]).astype(np.int64)

    def training_images(
        self, size: int, fraction: float = 1.0, seed: int = 0, flip: bool = True, pool=None
    ) -> np.ndarray:
        """Training batch: a subset at ``size``, plus mirrored copies.

        Args:
            size: target side in pixels.
            fraction: share of the pool used (see ``subset_indices``).
            seed: seed of the subset.
            flip: append the horizontally mirrored images after the originals.
            pool: the indices a study may train on (see ``split``); all if None.

        Returns:
            float32 array (M, size, size, 1) in [-1, 1], M = 2 * subset if flip.
        """
        images = self.at_size(size)[self.subset_indices(fraction, seed, pool)]
        if not flip:
            return images
        return np.concatenate([images, images[:, :, ::-1, :]])


def _fingerprint(images: tuple, crop: float) -> str:
    """sha256 over crop and each image's shape and pixels, cut to 16 hex chars."""
    digest = hashlib.sha256(repr(float(crop)).encode())
    for image in images:
        digest.update(f"{image.shape[0]}x{image.shape[1]};".encode())
        digest.update(np.ascontiguousarray(image).tobytes())
    return digest.hexdigest()[:16]


def _make_faceset(name: str, images: list, files: list, crop: float) -> FaceSet:
    """Applies the crop, freezes the arrays and fingerprints them."""
    cropped = []
    for image in images:
        square = _centre_square(image, crop).copy()  # copy: drop the uncropped pixels
        square.setflags(write=False)
        cropped.append(square)
    cropped = tuple(cropped)
    return FaceSet(name, cropped, tuple(files), float(crop), _fingerprint(cropped, crop))


# --------------------------------------------------------------------------
# Loading


def load_faces(source: str = EMBEDDED, person: str | None = None, crop: float = 1.0,
               url: str | None = None, sha256: str | None = None) -> FaceSet:
    """Loads a face set from the embedded subset, a folder or an LFW archive (downloaded or not).

    Args:
        source: "lfw-subset", a flat image folder, an LFW-style folder of person
            folders, an LFW ``.tgz`` archive, or the name of an LFW archive to
            download ("lfw", "lfw-funneled", "lfw-deepfunneled") (the ``--data`` flag).
        person: the person folder to use in an LFW folder or archive (``--person``).
        crop: fraction of the shorter side kept as a centred square, in (0, 1].
        url: for an archive to download, a mirror's URL (``--data-url``); see
            `tuner.download.archive_path` for the environment and built-in defaults.
        sha256: for an archive to download, the file's SHA-256 (``--data-sha256``).

    Returns:
        The decoded FaceSet, with at least MIN_IMAGES images.

    Raises:
        UsageError: bad flag values, missing/empty/unreadable data, too few images,
            a download that failed or did not match its checksum.
    """
    _check_crop(crop)
    _check_download_options(source, url, sha256)
    if source == EMBEDDED:
        name, images, files = _load_embedded(person)
    else:
        name, sources = _path_sources(_source_path(source, person, url, sha256), person)
        images, files = _decode_sources(sources, name)
    _check_count(name, len(images))
    faces = _make_faceset(name, images, files, crop)
    logger.info(
        "loaded %d images from %s (crop %s, fingerprint %s)", len(faces), name, crop, faces.fingerprint
    )
    return faces


def load_image_folder(path) -> np.ndarray:
    """Loads a flat folder of same-size images, e.g. generated samples.

    Unreadable files are skipped with a warning. No crop or resize is applied.

    Args:
        path: the folder.

    Returns:
        uint8 array (N, H, W), files in name order.

    Raises:
        UsageError: missing, empty or image-less folder, fewer than 2 images,
            or images of different sizes.
    """
    folder = Path(path)
    _check_folder(folder, label=str(folder))
    sources = [(file.name, file) for file in _image_files(folder)]
    images, _ = _decode_sources(sources, str(folder))
    if len(images) < 2:
        raise UsageError(
            f"{folder}: found {len(images)} readable image, need at least 2; add more images"
        )
    _check_same_size(folder, images)
    return np.stack(images)


def _check_crop(crop: float) -> None:
    """Raises UsageError unless 0 < crop <= 1."""
    if not isinstance(crop, numbers.Real) or not 0 < crop <= 1:
        raise UsageError(
            f"--crop must be in (0, 1] (fraction of the shorter side kept), got {crop!r}; "
            "use e.g. --crop 0.8"
        )


def _check_count(name: str, count: int) -> None:
    """Raises UsageError if a face set is too small to train on."""
    if count < MIN_IMAGES:
        raise UsageError(
            f"{name}: found {count} images, need at least {MIN_IMAGES}; "
            "choose a person with more images (--person) or add images to --data"
        )


def _check_same_size(folder: Path, images: list) -> None:
    """Raises UsageError if the images of a folder differ in size."""
    sizes = sorted({image.shape for image in images})
    if len(sizes) > 1:
        shown = ", ".join(f"{w}x{h}" for h, w in sizes[:5])
        raise UsageError(
            f"{folder}: images have different sizes ({shown}); save all of them at one size"
        )


def is_download(source: str) -> bool:
    """True if ``--data source`` names an LFW archive to download (no local path has its name)."""
    return source in LFW_ARCHIVES and not Path(source).exists()


def _check_download_options(source: str, url: str | None, sha256: str | None) -> None:
    """Raises UsageError for --data-url/--data-sha256 given with data that is not downloaded."""
    if (url is not None or sha256 is not None) and not is_download(source):
        local = " (a local path of that name exists here)" if source in LFW_ARCHIVES else ""
        raise UsageError(
            f"--data-url and --data-sha256 only apply to an archive to download "
            f"(--data {', '.join(download.names())}), not --data {source}{local}; drop them"
        )


def _source_path(source: str, person: str | None, url: str | None, sha256: str | None) -> Path:
    """The path ``--data source`` stands for: itself, or the verified download it names."""
    if not is_download(source):
        if source in LFW_ARCHIVES:
            logger.info("--data %s: using the local %s, not the download", source, Path(source).resolve())
        return Path(source)
    _check_person_name(person)  # before a long download, not after
    return download.archive_path(source, url=url, sha256=sha256)


def _check_person_name(person: str | None) -> None:
    """Raises UsageError unless ``person`` is None or a bare folder name."""
    if person is not None and (not person or Path(person).name != person):
        raise UsageError(f"--person must be a person folder name like Ada_Lovelace, got {person!r}")


def _load_embedded(person: str | None) -> tuple[str, list, list]:
    """The 100 faces of skimage's LFW subset as uint8 (skimage imported lazily)."""
    if person is not None:
        raise UsageError(
            f"--person {person} needs an LFW folder or .tgz in --data, not {EMBEDDED}; drop --person"
        )
    from skimage.data import lfw_subset  # lazy: slow import, only needed here

    faces = np.round(lfw_subset()[:100] * 255).astype(np.uint8)  # the first 100 are faces
    return EMBEDDED, list(faces), [f"lfw_subset_{i:03d}" for i in range(len(faces))]


def _path_sources(path: Path, person: str | None) -> tuple[str, list]:
    """Dispatches a --data path to the folder or the archive reader."""
    if not path.exists():
        raise UsageError(
            f"--data {path} does not exist; "
            f"pass a folder of images, an LFW folder or .tgz, {EMBEDDED}, "
            f"or an LFW archive to download ({', '.join(download.names())})"
        )
    _check_person_name(person)
    if path.is_dir():
        return _folder_sources(path, person)
    return _archive_sources(path, person)


def _decode_sources(sources: list, where: str) -> tuple[list, list]:
    """Decodes (name, path-or-fileobj) pairs in name order, skipping broken files.

    Raises:
        UsageError: no sources, or none of them decodes.
    """
    if not sources:
        raise _no_images_error(where)
    images, files, broken = [], [], []
    for name, source in sorted(sources, key=lambda item: item[0]):
        try:
            images.append(read_image(source))
            files.append(name)
        except (OSError, ValueError):
            broken.append(name)
    _report_broken(broken, len(sources), where)
    return images, files


def _report_broken(broken: list, total: int, where: str) -> None:
    """Logs one warning for skipped files, or raises if nothing was readable."""
    if not broken:
        return
    shown = ", ".join(broken[:3]) + (", ..." if len(broken) > 3 else "")
    if len(broken) == total:
        raise UsageError(
            f"{where}: none of the {total} image files could be decoded ({shown}); "
            "check they are real images"
        )
    logger.warning("%s: skipped %d unreadable image file(s): %s", where, len(broken), shown)


def _no_images_error(where: str) -> UsageError:
    """The error for a place that holds no image files."""
    extensions = " ".join(sorted(IMAGE_EXTENSIONS))
    return UsageError(
        f"{where} contains no images ({extensions}); "
        "point it at a folder of images or an LFW folder/.tgz"
    )


# --------------------------------------------------------------------------
# Folders


def _is_image_name(name: str) -> bool:
    """True for visible files with an image extension (skips ._* macOS forks)."""
    return not name.startswith(".") and PurePosixPath(name).suffix.lower() in IMAGE_EXTENSIONS


def _image_files(folder: Path) -> list[Path]:
    """The image files directly inside a folder, sorted by name."""
    files = [p for p in folder.iterdir() if p.is_file() and _is_image_name(p.name)]
    return sorted(files, key=lambda p: p.name)


def _check_folder(folder: Path, label: str) -> None:
    """Raises UsageError for a missing, non-folder or empty path."""
    if not folder.exists():
        raise UsageError(f"{label} does not exist; check the path")
    if not folder.is_dir():
        raise UsageError(f"{label} is not a folder; pass a folder of images")
    if not any(not entry.name.startswith(".") for entry in folder.iterdir()):
        raise UsageError(f"{label} is an empty folder; put images in it or pass another folder")


def _person_counts(root: Path) -> Counter:
    """Number of images in each person subfolder (subfolders without images omitted)."""
    counts = Counter()
    for sub in root.iterdir():
        if sub.is_dir() and not sub.name.startswith("."):
            count = len(_image_files(sub))
            if count:
                counts[sub.name] = count
    return counts


def _folder_sources(root: Path, person: str | None) -> tuple[str, list]:
    """(name, sources) of a flat folder, or of one person of an LFW-style folder."""
    _check_folder(root, label=f"--data {root}")
    if person is not None:
        if not (root / person).is_dir():
            raise _unknown_person_error(f"--data {root}", person, _person_counts(root))
        return f"{root.name}:{person}", [(f.name, f) for f in _image_files(root / person)]
    files = _image_files(root)
    if files:
        return root.name, [(f.name, f) for f in files]
    people = _person_counts(root)
    if people:
        raise _choose_person_error(f"--data {root}", people)
    raise _no_images_error(f"--data {root}")


# --------------------------------------------------------------------------
# Person selection messages


def _top_people(counts: Counter) -> str:
    """The 5 people with most images, as 'Name (count), ...'."""
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:5]
    return ", ".join(f"{name} ({count})" for name, count in ranked)


def _choose_person_error(where: str, counts: Counter) -> UsageError:
    """The error for an LFW tree given without --person."""
    return UsageError(
        f"{where} holds {len(counts)} people; choose one with --person, "
        f"e.g. those with most images: {_top_people(counts)}"
    )


def _unknown_person_error(where: str, person: str, counts: Counter) -> UsageError:
    """The error for a --person that is not in the tree, with the closest names."""
    if not counts:
        return UsageError(
            f"--person {person}: {where} has no person folders; drop --person to use its images"
        )
    close = difflib.get_close_matches(person, list(counts), n=5)
    if close:
        hint = f"closest names: {', '.join(close)}"
    else:
        hint = f"people with most images: {_top_people(counts)}"
    return UsageError(f"--person {person} not found in {where}; {hint} (names are case-sensitive)")


# --------------------------------------------------------------------------
# Archives


def _archive_sources(path: Path, person: str | None) -> tuple[str, list]:
    """(name, sources) of one person of an LFW archive, or of a one-folder archive.

    People are the parent folders of the image members. Without --person, an
    archive whose images all sit in one folder (a tarred flat folder) is used
    whole; otherwise the user must choose.
    """
    counts, sources = _scan_archive(path, person)
    if not counts:
        raise _no_images_error(f"--data {path}")
    if person is not None:
        if person not in counts:
            raise _unknown_person_error(f"--data {path}", person, counts)
        return f"{path.name}:{person}", sources
    if len(counts) > 1:
        raise _choose_person_error(f"--data {path}", counts)
    _, sources = _scan_archive(path, next(iter(counts)))  # second pass reads the pixels
    return path.name, sources


def _scan_archive(path: Path, wanted: str | None) -> tuple[Counter, list]:
    """Streams a tar archive once: counts images per folder, reads ``wanted``'s bytes.

    Streaming (mode "r|*") reads a .tgz sequentially: random access would
    re-decompress from the start on every seek, and nothing touches the disk.

    Raises:
        UsageError: the file is not a readable (or is a truncated) tar archive.
    """
    counts, sources = Counter(), []
    try:
        with tarfile.open(path, mode="r|*") as archive:
            for member in archive:
                member_path = PurePosixPath(member.name)
                if not (member.isfile() and _is_image_name(member_path.name)):
                    continue
                counts[member_path.parent.name] += 1
                if member_path.parent.name == wanted:
                    sources.append((member_path.name, io.BytesIO(archive.extractfile(member).read())))
    except _ARCHIVE_ERRORS as exc:
        raise UsageError(
            f"--data {path} is not a readable .tgz/.tar archive or folder ({exc}); "
            "re-download it, or unpack it and pass the folder"
        ) from exc
    return counts, sources
