"""Files the tool writes: always atomically (temporary file, then rename).

A crash, Ctrl-C or `kill -9` therefore never leaves a half-written JSON or PNG
behind for the leaderboard to trip over. No TensorFlow here.
"""

import json
import math
import os
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

# mkstemp makes owner-only files; results are meant to be read by everyone, like the
# files of any other tool (rw-r--r--, folders rwxr-xr-x).
FILE_MODE = 0o644
DIR_MODE = 0o755


def write_bytes(path, data, mode=FILE_MODE):
    """Write `data` to `path` atomically (same-folder temp file + os.replace), with permissions
    `mode` (a secret: 0o600, readable by its owner alone, from its first byte on)."""
    path = Path(path)
    path.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.chmod(tmp, mode)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path, obj):
    """Write `obj` as indented JSON atomically; NaN/inf become null (JSON has neither)."""
    write_bytes(path, (json.dumps(_finite(obj), indent=2, sort_keys=False) + "\n").encode())


def read_json(path):
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
