"""Files the tool writes: always atomically (temporary file, then rename), and room to write them.

A crash, Ctrl-C, `kill -9` or a full disk therefore never leaves a half-written
JSON, PNG or checkpoint behind for the leaderboard or a resumed run to trip
over. A full disk is `DiskFull`: one line naming the folder, the space free and
the space needed. No TensorFlow here.
"""

import contextlib
import errno
import json
import math
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from tuner.common.errors import DiskFull, Unwritable

# mkstemp makes owner-only files; results are meant to be read by everyone, like the
# files of any other tool (rw-r--r--, folders rwxr-xr-x).
FILE_MODE = 0o644
DIR_MODE = 0o755


# Room kept free beyond a write's own size: the small files written beside it (trial.json,
# evaluations, sample grids) and the filesystem's own blocks.
ROOM_MARGIN = 2_000_000
NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


# Errors that say the place itself cannot take the file: read-only, forbidden, a folder where
# the file goes, a file where a folder goes.
UNWRITABLE = (errno.EACCES, errno.EPERM, errno.EROFS, errno.EISDIR, errno.ENOTDIR, errno.EEXIST,
              errno.ENOTEMPTY)


def unwritable(path, err):
    """The one-line Unwritable for `path`, saying what to do about `err`."""
    path = Path(path)
    if path.is_dir():
        return Unwritable(f"cannot write {path}: it is a folder; give a file name (or a path "
                          f"that does not exist yet)")
    blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        return Unwritable(f"cannot write {path}: {blocker} is a file, not a folder; choose "
                          f"another place")
    return Unwritable(f"cannot write {path} ({err.strerror or err}): its folder is not "
                      f"writable (read-only?); make it writable or choose another place")


def write_bytes(path, data, mode=FILE_MODE):
    """Write `data` to `path` atomically (same-folder temp file + os.replace), with permissions
    `mode` (a secret: 0o600, readable by its owner alone, from its first byte on).

    Raises:
        DiskFull: no room for `data`; `path` is left as it was.
    """
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.chmod(tmp, mode)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if is_disk_full(err):
            raise disk_full(path.parent, len(data), path.name) from None
        if isinstance(err, OSError) and err.errno in UNWRITABLE:
            raise unwritable(path, err) from None
        raise


@contextlib.contextmanager
def staged(path, needed):
    """Within: a temporary path beside `path` for a writer that takes a path (Keras' weights);
    renamed to `path` when the block ends, removed if it fails.

    Checks first that `needed` bytes (and ROOM_MARGIN) are free: HDF5 may drop a
    failed write silently, leave a truncated file and crash the process later.
    The temporary name ends with `path`'s name, so writers that go by the
    suffix (`.weights.h5`) accept it.

    Raises:
        DiskFull: too little room, or the writer ran out of it; `path` is left as it was.
    """
    path = Path(path)
    ensure_room(path.parent, needed, path.name)
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    try:
        yield tmp
        if free_bytes(path.parent) == 0:  # the writer may have been cut short without a word
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        os.replace(tmp, path)
    except BaseException as err:
        tmp.unlink(missing_ok=True)
        if is_disk_full(err):
            raise disk_full(path.parent, needed, path.name) from None
        raise


def ensure_room(folder, needed, what):
    """Return if `folder` has `needed` bytes free and ROOM_MARGIN more; DiskFull otherwise."""
    if free_bytes(folder) < needed + ROOM_MARGIN:
        raise disk_full(folder, needed + ROOM_MARGIN, what)


def free_bytes(folder):
    """Bytes this user may still write on `folder`'s filesystem (its nearest existing parent's)."""
    folder = Path(folder).absolute()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return shutil.disk_usage(folder).free


def folder_bytes(folder):
    """Bytes the files under `folder` take (0 if it does not exist)."""
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())


def is_disk_full(error):
    """Whether `error` (or an error it came from) is a full disk or an exhausted quota.

    HDF5 and TensorFlow report it in words, not as an OSError's errno.
    """
    seen = 0
    while error is not None and seen < 5:
        if isinstance(error, DiskFull) or (isinstance(error, OSError) and error.errno in NO_SPACE):
            return True
        if any(text in str(error) for text in ("No space left on device", "Disk quota exceeded",
                                                "errno = 28")):
            return True
        error, seen = error.__cause__ or error.__context__, seen + 1
    return False


def disk_full(folder, needed, what):
    """The DiskFull error for `what` needing `needed` bytes in `folder` (None: more than is free)."""
    free = human_bytes(free_bytes(folder))
    need = f"{what} needs {human_bytes(needed)}" if needed is not None else \
        f"that is too little for {what}"
    error = DiskFull(f"disk full: {folder} has {free} free and {need}; free some space there "
                     f"(or choose another folder), then run the same command again to resume")
    error.errno = errno.ENOSPC
    return error


def as_disk_full(error, folder, what):
    """`error` (a full disk, as `is_disk_full` tells) as a DiskFull naming `folder` and `what`."""
    return error if isinstance(error, DiskFull) else disk_full(folder, None, what)


def human_bytes(count):
    """`count` bytes in decimal units: 950 B, 12.3 kB, 4.5 MB, 1.2 GB."""
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= size:
            return f"{count / size:.1f} {unit}"
    return f"{count} B"


def write_json(path, obj):
    """Write `obj` as indented JSON atomically; NaN/inf become null (JSON has neither)."""
    write_bytes(path, (json.dumps(_finite(obj), indent=2, sort_keys=False) + "\n").encode())


def read_json(path):
    """A JSON file's content. OSError for a path that exists but is not a regular file: a FIFO
    or a device would block the reader for ever."""
    if Path(path).exists() and not Path(path).is_file():
        raise OSError(errno.EINVAL, "not a regular file", str(path))
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _finite(obj):
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    if isinstance(obj, np.generic):
        return _finite(obj.item())
    return obj


def grid_image(images_uint8, columns=8):
    """Tile (N, S, S) uint8 images into one (rows*S, columns*S) image, 2-pixel gutters."""
    n, size = len(images_uint8), images_uint8.shape[1]
    columns = min(columns, n)
    rows = math.ceil(n / columns)
    gutter = 2
    canvas = np.full((rows * (size + gutter) - gutter, columns * (size + gutter) - gutter),
                     255, np.uint8)
    for i, image in enumerate(images_uint8):
        r, c = divmod(i, columns)
        canvas[r * (size + gutter):r * (size + gutter) + size,
               c * (size + gutter):c * (size + gutter) + size] = image
    return canvas


def write_png(path, image_uint8):
    """Save a 2-D uint8 array as a grayscale PNG, atomically."""
    import io

    buffer = io.BytesIO()
    Image.fromarray(np.asarray(image_uint8, np.uint8), mode="L").save(buffer, format="PNG")
    write_bytes(path, buffer.getvalue())
