"""The scoring protocol: how a generator becomes FD and KID numbers that rank fairly.

    latents (fixed per study) -> generator -> uint8 -> resize to the evaluation size
    (PIL bicubic, the same resizer as the real images) -> frozen network -> features
    -> FD and KID against the cached features of ALL real images (no flipped copies)

Everything that changes a number is part of the `Protocol` (network, weights,
preprocessing, sample counts, evaluation size, resize, latent seed, KID subsets,
data fingerprint); scores with different protocols are never ranked together.
"""

import hashlib
import json
import logging
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from tuner import data, metrics
from tuner.config import ScoringConfig

log = logging.getLogger(__name__)

RESIZE = "pil-bicubic"
CACHE_VERSION = 1


@dataclass(frozen=True)
class Protocol:
    """Everything that determines a score's value besides the generator itself."""

    features: str
    features_preprocessing: str
    features_weights: str
    eval_size: int
    n_real: int
    n_fake: int
    resize: str
    latent_seed: int
    kid_subsets: int
    kid_subset_size: int
    data_fingerprint: str

    def as_dict(self):
        return asdict(self)

    def key(self):
        """A short hash: equal keys mean scores that may be ranked together."""
        return _digest(self.as_dict())


def _digest(obj):
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


def default_cache_dir():
    """Reference features live beside other caches, shared by every study of this user."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "dcgan-tuner"


class Scorer:
    """Scores generators of one study against one real face set, under one protocol."""

    def __init__(self, faces, config=ScoringConfig(), eval_size=64, extractor=None):
        from tuner.features import get_extractor  # TF import, only once scoring is wanted

        self.faces = faces
        self.config = config
        self.eval_size = eval_size
        self.extractor = extractor or get_extractor(config.features, config.features_weights)
        self.real_features = reference_features(faces, eval_size, self.extractor,
                                                Path(config.cache_dir or default_cache_dir()))
        self.protocol = Protocol(
            features=self.extractor.name, features_preprocessing=self.extractor.preprocessing,
            features_weights=str(self.extractor.weights), eval_size=eval_size,
            n_real=len(faces), n_fake=config.samples, resize=RESIZE,
            latent_seed=config.latent_seed, kid_subsets=config.kid_subsets,
            kid_subset_size=config.kid_subset_size, data_fingerprint=faces.fingerprint)

    def latents(self, latent_dim):
        """The study's fixed latent batch: every trial is judged on the same noise."""
        from tuner.dcgan import latent_batch

        return latent_batch(self.config.samples, latent_dim, self.config.latent_seed)

    def score_generator(self, generator, train_indices=None, batch_size=500):
        """Generate the study's samples with `generator` (a keras Model) and score them.

        Returns:
            (scores, images): the score dict (see `score_images`) and the
            generated images (N, S, S, 1) in [-1, 1].
        """
        latent = self.latents(generator.input_shape[-1])
        images = generator.predict(latent, batch_size=batch_size, verbose=0)
        return self.score_images(images, train_indices), images

    def score_images(self, images, train_indices=None):
        """FD, KID (mean, std), density and coverage of `images` against all real faces.

        With `train_indices` (a trial trained on a subset), also KID against the
        training subset and against the held-out rest: memorising shows as a gap.
        """
        fake = self.features(images)
        scores = {"fd": metrics.frechet_distance(self.real_features, fake)}
        scores["kid"], scores["kid_std"] = self._kid(self.real_features, fake)
        scores.update(metrics.density_coverage(self.real_features, fake))
        if train_indices is not None and 2 <= len(train_indices) <= len(self.faces) - 2:
            held_out = np.setdiff1d(np.arange(len(self.faces)), train_indices)
            scores["kid_train"], scores["kid_train_std"] = self._kid(
                self.real_features[train_indices], fake)
            scores["kid_heldout"], scores["kid_heldout_std"] = self._kid(
                self.real_features[held_out], fake)
        return {k: float(v) for k, v in scores.items()}

    def features(self, images):
        """Features of images in [-1, 1] of any size, after resizing to the evaluation size."""
        pixels = data.resize_uint8(data.to_uint8(images), self.eval_size)
        return self.extractor(data.from_uint8(pixels)[..., None])

    def _kid(self, real, fake):
        return metrics.kernel_distance(real, fake, subsets=self.config.kid_subsets,
                                       subset_size=self.config.kid_subset_size,
                                       seed=self.config.latent_seed)


def reference_features(faces, eval_size, extractor, cache_dir):
    """Features of all real images at `eval_size`, computed once and cached on disk.

    The cache key covers the data fingerprint, evaluation size, network,
    weights and preprocessing, so a stale entry can never be read.
    """
    key = _digest({"data": faces.fingerprint, "size": eval_size, "features": extractor.name,
                   "weights": str(extractor.weights), "pre": extractor.preprocessing,
                   "resize": RESIZE, "version": CACHE_VERSION})
    path = Path(cache_dir) / f"reference-{key}.npy"
    if path.is_file():
        log.info("reference features: cache hit %s", path)
        return np.load(path)
    start = time.perf_counter()
    features = extractor(faces.at_size(eval_size))
    _save_npy(path, features)
    log.info("reference features: %d images at %dx%d with %s in %.2f s, cached at %s",
             len(faces), eval_size, eval_size, extractor.name, time.perf_counter() - start, path)
    return features


def _save_npy(path, array):
    import io

    from tuner.files import write_bytes

    buffer = io.BytesIO()
    np.save(buffer, array)
    try:
        write_bytes(path, buffer.getvalue())
    except OSError as err:  # a read-only cache costs time, not correctness
        log.warning("could not cache reference features at %s: %s", path, err)


def score_folders(real, fakes, config=ScoringConfig(), size=None):
    """Score each folder of generated images against the real faces `real` (a DataConfig).

    Yields one dict per folder: fake, fd, kid, kid_std, n_real, n_fake, features,
    plus the rest of the protocol. All folders are scored at one evaluation size
    (`size`, else the largest image size among the folders) so they rank together.
    """
    from dataclasses import replace

    faces = data.load_faces(real.data, real.person, real.crop)
    folders = [(fake, data.load_image_folder(fake)) for fake in fakes]
    eval_size = size or max(images.shape[1] for _, images in folders)
    for fake, images in folders:
        scorer = Scorer(faces, replace(config, samples=len(images)), eval_size)
        scores = scorer.score_images(data.from_uint8(images)[..., None])
        yield {"fake": str(fake), "fd": scores["fd"], "kid": scores["kid"],
               "kid_std": scores["kid_std"], "n_real": len(faces), "n_fake": len(images),
               "features": scorer.protocol.features, "eval_size": eval_size,
               "resize": RESIZE, "density": scores["density"], "coverage": scores["coverage"]}
