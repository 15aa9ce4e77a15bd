"""Where face images come from: the embedded faces, a folder, an LFW folder or archive, a download.

`read_source` turns the ``--data`` flag into decoded gray images; `load_image_folder` reads a
folder of same-size images (generated faces, for scoring).
"""


from __future__ import annotations

import difflib
import io
import logging
import tarfile
import zlib
from collections import Counter
from pathlib import Path, PurePosixPath

import numpy as np

from tuner.common.config import LFW_ARCHIVES, is_folder_name
from tuner.common.errors import UsageError
from tuner.data import download
from tuner.data.images import IMAGE_EXTENSIONS, image_size, is_image_name, read_image

logger = logging.getLogger(__name__)
EMBEDDED = "lfw-subset"
_ARCHIVE_ERRORS = (tarfile.TarError, EOFError, zlib.error, OSError)


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


def image_folder_size(path) -> tuple[int, int]:
    """(height, width) of a flat folder's first image, read from its header only (cheap).

    Raises:
        UsageError: missing, empty or image-less folder, or no image header readable.
    """
    folder = Path(path)
    _check_folder(folder, label=str(folder))
    files = _image_files(folder)
    if not files:
        raise _no_images_error(str(folder))
    for file in files:
        try:
            width, height = image_size(file)
            return height, width
        except (OSError, ValueError):
            continue  # a broken file: load_image_folder skips it too
    raise UsageError(f"{folder}: none of the {len(files)} image files could be decoded; "
                     "check they are real images")


def _check_same_size(folder: Path, images: list) -> None:
    """Raises UsageError if the images of a folder differ in size."""
    sizes = sorted({image.shape for image in images})
    if len(sizes) > 1:
        shown = ", ".join(f"{w}x{h}" for h, w in sizes[:5])
        raise UsageError(
            f"{folder}: images have different sizes ({shown}); save all of them at one size"
        )


def read_source(source: str, person: str | None, url: str | None,
                sha256: str | None) -> tuple[str, list, list]:
    """The decoded gray images of `source` (the ``--data`` flag: the embedded subset, a folder,
    an LFW folder or archive, or an LFW archive to download) as (name, images, file names)."""
    _check_download_options(source, url, sha256)
    if source == EMBEDDED:
        return _load_embedded(person)
    name, sources = _path_sources(_source_path(source, person, url, sha256), person)
    return (name, *_decode_sources(sources, name))


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
    """Raises UsageError unless ``person`` is None or a bare folder name (not "." nor "..",
    which would leave the LFW folder)."""
    if person is not None and not is_folder_name(person):
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


def _image_files(folder: Path) -> list[Path]:
    """The image files directly inside a folder, sorted by name."""
    files = [p for p in folder.iterdir() if p.is_file() and is_image_name(p.name)]
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
                if not (member.isfile() and is_image_name(member_path.name)):
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
