"""Generation: a saved generator file -> PNG faces, a grid and a latent interpolation.

`generate(config)` loads a `.keras` generator (as written by `tuner.retrain`:
z of shape (N, latent_dim), standard normal -> images (N, S, S, 1) in [-1, 1])
and writes:

    <out>/0000.png ...                 N 8-bit grayscale S x S images
    <grid file>                        optionally, all of them tiled (8 per row)
    <out>/interpolation/strip.png      with `interpolate` K: K frames in one row,
    <out>/interpolation/frame_00.png   and each frame on its own

`<out>` holds only the N same-size samples, so it is a valid FAKE folder of
`tuner.score` (which reads the files directly inside a folder, not subfolders).
The samples are `latent_batch(N, latent_dim, seed)`; the interpolation runs
on a straight line from sample 0's latent point to sample 1's, so its ends
are images 0000 and 0001. (The line's middle has a smaller norm than the
generator ever saw, ~0.71x at the midpoint; a smooth strip despite that is
the sign of a learned manifold, a sudden jump or a copy of one training face
the sign of memorising.) No TensorFlow is imported until a model is loaded.
"""


import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tuner.common import files
from tuner.common.config import GenerateConfig
from tuner.common.errors import UsageError
from tuner.data.images import to_uint8

log = logging.getLogger(__name__)

INTERPOLATION_DIR = "interpolation"
SAMPLE_NAME = re.compile(r"^\d{4,}\.png$")


@dataclass(frozen=True)
class Generated:
    """What `generate` wrote."""

    out: Path
    images: int
    size: int
    grid: Path | None = None
    interpolation: Path | None = None


def generate(config: GenerateConfig):
    """Write the images `config` asks for; return what was written.

    Raises:
        UsageError: a bad count, a --grid inside --out, a missing or unreadable
            model, or a model that is not an image generator.
    """
    from tuner.gan.dcgan import latent_batch  # dcgan imports keras: not at module import

    _check(config)
    generator = load_generator(config.model)
    latent_dim, size = generator.input_shape[-1], generator.output_shape[1]
    out = Path(config.out)
    images = predict_uint8(generator, latent_batch(config.n, latent_dim, config.seed))
    write_images(images, out)
    grid = interpolation = None
    if config.grid:
        grid = Path(config.grid)
        files.write_png(grid, files.grid_image(images))
    if config.interpolate:
        interpolation = write_interpolation(
            predict_uint8(generator, line_latents(latent_dim, config.interpolate, config.seed)),
            out / INTERPOLATION_DIR)
    return Generated(out=out, images=config.n, size=size, grid=grid, interpolation=interpolation)


def _check(config):
    if config.n < 1:
        raise UsageError(f"--n must be a positive integer, got {config.n}")
    if config.interpolate is not None and config.interpolate < 2:
        raise UsageError(f"--interpolate needs at least 2 frames, got {config.interpolate}")
    out = Path(config.out)
    blocker = next((p for p in (out, *out.parents) if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise UsageError(f"--out {config.out}: {blocker} is a file, and --out is a folder of "
                         f"images; give a folder (new or existing)")
    if config.grid and Path(config.grid).resolve().parent == Path(config.out).resolve():
        raise UsageError(f"--grid {config.grid} is inside --out {config.out}: a grid there would "
                         f"make --out unusable as a FAKE folder of tuner.score; write it elsewhere")


def load_generator(path):
    """A keras Model mapping (N, latent_dim) to (N, S, S, 1); UsageError for anything else."""
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"MODEL {path} is a folder; give a generator .keras file, e.g. "
                         f"results/<study>/retrain/trial_<id>/seed_<s>/generator.keras")
    if not path.is_file():
        raise UsageError(f"MODEL {path} does not exist; give a generator .keras file, e.g. "
                         f"results/<study>/retrain/trial_<id>/seed_<s>/generator.keras")
    import keras  # keras loads TF: only when a generator is read

    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as err:  # keras raises ValueError, OSError, zipfile errors... for bad files
        raise UsageError(f"MODEL {path}: not a readable Keras model "
                         f"({str(err).splitlines()[0][:160]}); give a .keras file written by "
                         f"tuner.retrain") from None
    _check_generator(path, model)
    return model


def _check_generator(path, model):
    inputs, outputs = model.input_shape, model.output_shape
    if not (isinstance(inputs, tuple) and len(inputs) == 2 and isinstance(outputs, tuple)
            and len(outputs) == 4 and outputs[3] == 1 and outputs[1] == outputs[2]):
        raise UsageError(f"MODEL {path}: expected a generator mapping (N, latent_dim) to "
                         f"(N, S, S, 1), got {inputs} -> {outputs}")


def predict_uint8(generator, latents):
    """The generator's images for `latents` as (N, S, S) 8-bit gray pixels."""
    images = generator.predict(latents, batch_size=500, verbose=0)
    return to_uint8(np.asarray(images, np.float32)[..., 0])


def line_latents(latent_dim, k, seed=0):
    """`k` evenly spaced points on the straight line from latent point 0 to point 1 of `seed`."""
    from tuner.gan.dcgan import latent_batch  # dcgan imports keras: not at module import

    start, end = latent_batch(2, latent_dim, seed)
    steps = np.linspace(0.0, 1.0, k, dtype=np.float32)[:, None]
    return (1 - steps) * start + steps * end


def write_images(images, out):
    """`out/0000.png`, ... one file per image; older numbered PNGs beyond them are removed,
    so the folder never mixes two runs."""
    width = max(4, len(str(len(images) - 1)))
    names = {f"{i:0{width}d}.png" for i in range(len(images))}
    if out.is_dir():
        stale = [p for p in out.iterdir() if SAMPLE_NAME.match(p.name) and p.name not in names]
        for path in stale:
            path.unlink()
        if stale:
            log.info("removed %d older numbered images from %s", len(stale), out)
    for i, image in enumerate(images):
        files.write_png(out / f"{i:0{width}d}.png", image)


def write_interpolation(frames, folder):
    """The frames in one row (`strip.png`) and one by one; return the strip's path."""
    strip = folder / "strip.png"
    files.write_png(strip, files.grid_image(frames, columns=len(frames)))
    width = max(2, len(str(len(frames) - 1)))
    for i, frame in enumerate(frames):
        files.write_png(folder / f"frame_{i:0{width}d}.png", frame)
    return strip
