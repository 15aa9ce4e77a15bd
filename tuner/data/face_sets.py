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
  into the user cache and verified (`tuner.data.download`), then read as any ``.tgz``; a file or
  folder of that name in the current folder is used instead when there is one.

This module must stay free of tensorflow/keras so the CLIs can validate data
before paying for the framework import.
"""


from __future__ import annotations

import hashlib
import logging
import numbers
from dataclasses import dataclass, field

import numpy as np

from tuner.common.errors import UsageError
from tuner.data.images import centre_square, from_uint8, resize_uint8
from tuner.data.sources import EMBEDDED, read_source

logger = logging.getLogger(__name__)

MIN_IMAGES = 8
# The held-out split draws from its own stream of the seed, so a study using
# one seed for both does not correlate the split with its training subsets.
_HOLDOUT_STREAM = 1


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
        square = centre_square(image, crop).copy()  # copy: drop the uncropped pixels
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
            `tuner.data.download.archive_path` for the environment and built-in defaults.
        sha256: for an archive to download, the file's SHA-256 (``--data-sha256``).

    Returns:
        The decoded FaceSet, with at least MIN_IMAGES images.

    Raises:
        UsageError: bad flag values, missing/empty/unreadable data, too few images,
            a download that failed or did not match its checksum.
    """
    _check_crop(crop)
    name, images, files = read_source(source, person, url, sha256)
    _check_count(name, len(images))
    faces = _make_faceset(name, images, files, crop)
    logger.info(
        "loaded %d images from %s (crop %s, fingerprint %s)", len(faces), name, crop, faces.fingerprint
    )
    return faces


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
