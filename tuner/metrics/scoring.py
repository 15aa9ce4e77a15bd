"""The scoring protocol: how a generator becomes FD and KID numbers that rank fairly.

    latents (fixed per study) -> generator -> uint8 -> resize to the evaluation size
    (PIL bicubic, the same resizer as the real images) -> frozen network -> features
    -> FD and KID (the unbiased MMD^2 over all samples at once, shared kernel
       sums per evaluation) against the cached features of the REFERENCE: all real images,
       plus their mirror images when the study trains with flips (the training
       distribution), and against the study's held-out split when it has one
    -> and, without any network, the multi-scale SWD (`tuner.metrics.swd`) of the
       resized pixels against the same reference images

Everything that changes a number is part of the `Protocol` (network, weights,
preprocessing, sample counts, evaluation size, resize, latent seed, KID subsets,
data fingerprint, mirror images in the reference, held-out split, SWD settings);
scores with different protocols are never ranked together.
"""

import hashlib
import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from tuner.common.config import DEFAULT_RANK_BY, ScoringConfig, default_cache_dir
from tuner.common.files import write_bytes
from tuner.data.face_sets import load_faces
from tuner.data.images import from_uint8, resize_uint8, to_uint8
from tuner.data.sources import load_image_folder
from tuner.metrics import distances, swd
from tuner.metrics.features import get_extractor

log = logging.getLogger(__name__)

RESIZE = "pil-bicubic"
CACHE_VERSION = 2  # 2: the key covers mirror images in the reference
_KEPT_KERNEL_SUMS = 8  # the reference and held-out sets and a few subset trials' training sets


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
    kid_subsets: int | None      # None: KID over all samples at once (the U-statistic)
    kid_subset_size: int | None
    data_fingerprint: str
    reference_flips: bool
    holdout: float
    holdout_seed: int
    swd_descriptors: int
    swd_projections: int
    swd_seed: int
    swd_patch: int
    swd_min_resolution: int
    rank_by: str  # which evaluations make a run's score: final, best or last-N

    def as_dict(self):
        return asdict(self)

    def key(self):
        """A short hash: equal keys mean scores that may be ranked together."""
        return _digest(self.as_dict())


def _digest(obj):
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


class Scorer:
    """Scores generators of one study against one real face set, under one protocol.

    Args:
        faces: the real FaceSet.
        config: the ScoringConfig (network, samples, KID and SWD settings, cache).
        eval_size: the evaluation resolution.
        extractor: a feature extractor; the config's network if None.
        flip: the reference holds the mirror images too (the training
            distribution of a study that trains with flips).
        holdout: the study's held-out indices, or None; they must be
            ``faces.split(holdout_fraction, holdout_seed)[1]``, which is also
            what None gives (empty when ``holdout_fraction`` is 0).
        holdout_fraction, holdout_seed: how the held-out split was drawn
            (recorded in the protocol as ``holdout`` and ``holdout_seed``).
        rank_by: the study's rule for a run's score (final, best, last-N),
            recorded in the protocol: scores reduced differently never rank together.

    Raises:
        ValueError: `holdout` is not the split of (holdout_fraction, holdout_seed).
    """

    def __init__(self, faces, config=ScoringConfig(), eval_size=64, extractor=None, flip=True,
                 holdout=None, holdout_fraction=0.0, holdout_seed=0, rank_by=DEFAULT_RANK_BY):

        self.faces = faces
        self.config = config
        self.eval_size = eval_size
        self.flip = flip
        self.heldout = _heldout_indices(faces, holdout, holdout_fraction, holdout_seed)
        self.extractor = extractor or get_extractor(config.features, config.features_weights)
        self.real_features = reference_features(faces, eval_size, self.extractor,
                                                Path(config.cache_dir or default_cache_dir()),
                                                flip=flip)
        self._kernel_sums = {}  # reference rows (None: all) -> their KID kernel row sums
        self.real_slices = self._slices(_with_mirrors(faces.at_size(eval_size), flip))
        self.protocol = Protocol(
            features=self.extractor.name, features_preprocessing=self.extractor.preprocessing,
            features_weights=str(self.extractor.weights), eval_size=eval_size,
            n_real=len(faces), n_fake=config.samples, resize=RESIZE,
            latent_seed=config.latent_seed, kid_subsets=config.kid_subsets,
            kid_subset_size=config.kid_subset_size, data_fingerprint=faces.fingerprint,
            reference_flips=bool(flip), holdout=float(holdout_fraction),
            holdout_seed=int(holdout_seed), swd_descriptors=config.swd_descriptors,
            swd_projections=config.swd_projections, swd_seed=config.swd_seed,
            swd_patch=swd.PATCH, swd_min_resolution=swd.MIN_RESOLUTION, rank_by=rank_by)

    def latents(self, latent_dim):
        """The study's fixed latent batch: every trial is judged on the same noise."""
        from tuner.gan.dcgan import latent_batch  # dcgan imports keras: only when a generator is scored

        return latent_batch(self.config.samples, latent_dim, self.config.latent_seed)

    def generate(self, generator, batch_size=500):
        """The study's latent batch through `generator` (a keras Model): (N, S, S, 1) in [-1, 1].

        The generator is called batch by batch: `predict` would trace a function
        for every new model (once per training run) and run each call through a
        dataset and callbacks, which cost more than the generator's few layers;
        the images are the same.
        """
        import keras  # keras: only when a generator is scored

        latent = self.latents(generator.input_shape[-1])
        return np.concatenate([
            keras.ops.convert_to_numpy(generator(latent[start:start + batch_size], training=False))
            for start in range(0, len(latent), batch_size)])

    def score_generator(self, generator, train_indices=None, batch_size=500):
        """Generate the study's samples with `generator` (a keras Model) and score them.

        Returns:
            (scores, images): the score dict (see `score_images`) and the
            generated images (N, S, S, 1) in [-1, 1].
        """
        images = self.generate(generator, batch_size)
        return self.score_images(images, train_indices), images

    def score_images(self, images, train_indices=None):
        """Scores of `images` (any size, resized to the evaluation size) against the reference.

        Returns floats ``fd``, ``kid``, ``kid_std``, ``density``, ``coverage``
        (against all real images, plus mirrors when ``flip``), ``swd`` and
        ``swd_levels`` (a dict ``{"128": v, ...}``, finest first); with a study
        holdout, ``kid_heldout``, ``kid_heldout_std`` and ``fd_heldout`` against
        it. With `train_indices` (a trial trained on a subset), also
        ``kid_train``/``kid_train_std`` against that subset and, without a
        study holdout, ``kid_heldout``/``kid_heldout_std`` against the rest:
        memorising shows as a gap. Mirrors join every reference when ``flip``.
        """
        pixels = self._pixels(images)
        fake = self.extractor(from_uint8(pixels)[..., None])
        with single_threaded_blas():
            kid = self._kid_of(fake)
            scores = self._against(None, fake, kid, fd="fd", kid_name="kid")
            scores.update(distances.density_coverage(self.real_features, fake))
            if len(self.heldout):
                scores.update(self._against(self.heldout, fake, kid, fd="fd_heldout",
                                            kid_name="kid_heldout"))
            scores.update(self._per_trial(kid, train_indices))
            scores = {k: float(v) for k, v in scores.items()}
            scores.update(swd.distance(self.real_slices, self._slices(from_uint8(pixels))))
        return scores

    def features(self, images):
        """Features of images in [-1, 1] of any size, after resizing to the evaluation size."""
        return self.extractor(from_uint8(self._pixels(images))[..., None])

    def _pixels(self, images):
        return resize_uint8(to_uint8(images), self.eval_size)

    def _slices(self, images):
        return swd.set_slices(images, self.config.swd_descriptors, self.config.swd_projections,
                              self.config.swd_seed)

    def _rows(self, indices):
        """Reference features of images `indices` (None: all), with their mirrors' when flipping."""
        if indices is None:
            return self.real_features
        indices = np.asarray(indices, dtype=np.int64)
        if self.flip:
            indices = np.concatenate([indices, indices + len(self.faces)])
        return self.real_features[indices]

    def _against(self, indices, fake, kid, fd, kid_name):
        scores = {fd: distances.frechet_distance(self._rows(indices), fake)}
        scores[kid_name], scores[kid_name + "_std"] = kid(indices)
        return scores

    def _per_trial(self, kid, train_indices):
        """KID against a subset trial's training images, and its held-out rest if no study split."""
        if train_indices is None or not 2 <= len(train_indices) <= len(self.faces) - 2:
            return {}
        scores = {}
        scores["kid_train"], scores["kid_train_std"] = kid(train_indices)
        if not len(self.heldout):
            rest = np.setdiff1d(np.arange(len(self.faces)), train_indices)
            scores["kid_heldout"], scores["kid_heldout_std"] = kid(rest)
        return scores

    def _kid_of(self, fake):
        """``kid(indices) -> (kid, spread)`` of `fake` against the reference images `indices`.

        The generated set's kernel row sums are computed once for all the
        references it is scored against, each reference's once per scorer.
        """
        config = self.config
        if config.kid_subsets is not None:
            return lambda indices: distances.kernel_distance(
                self._rows(indices), fake, subsets=config.kid_subsets,
                subset_size=config.kid_subset_size, seed=config.latent_seed)
        fake_sums = distances.kernel_row_sums(fake)
        return lambda indices: distances.all_pairs_kid(
            self._rows(indices), fake, self._reference_sums(indices), fake_sums)

    def _reference_sums(self, indices):
        """`distances.kernel_row_sums` of the reference rows of `indices`, kept per scorer."""
        key = None if indices is None else np.asarray(indices, dtype=np.int64).tobytes()
        if key not in self._kernel_sums:
            if len(self._kernel_sums) >= _KEPT_KERNEL_SUMS:  # a few subsets per study: bounded
                self._kernel_sums.pop(next(iter(self._kernel_sums)))
            self._kernel_sums[key] = distances.kernel_row_sums(self._rows(indices))
        return self._kernel_sums[key]


def single_threaded_blas():
    """A context in which numpy's and scipy's BLAS/LAPACK run on one thread.

    The metrics' matrices are small (a few thousand rows of 256), and on a
    machine shared with other jobs OpenBLAS's worker threads spin waiting for
    a core: measured on 2 cores under a load average of 6, FD took 0.4-1.3 s
    on two threads and 0.12-0.14 s on one, and all the metrics of one
    evaluation 0.5-3.5 s against 0.3-0.9 s. Idle, one thread adds at most the
    second core's share of the largest product (2000 x 2000 x 256, 2 GFLOP):
    a few hundredths of a second.
    """
    from threadpoolctl import threadpool_limits  # scikit-learn's, which keras-tuner needs

    return threadpool_limits(limits=1, user_api="blas")


def _with_mirrors(images, flip):
    """The images, then their horizontal mirrors when `flip` ((N, S, S, 1) arrays)."""
    return np.concatenate([images, images[:, :, ::-1]]) if flip else images


def _heldout_indices(faces, holdout, fraction, seed):
    """The study's held-out indices, checked to be the split that (fraction, seed) draws."""
    expected = faces.split(fraction, seed)[1] if fraction else np.zeros(0, np.int64)
    if holdout is None:
        return expected
    given = np.sort(np.asarray(holdout, dtype=np.int64))
    if not np.array_equal(given, expected):
        raise ValueError(f"Scorer: the {len(given)} held-out indices are not the split drawn by "
                         f"holdout_fraction={fraction}, holdout_seed={seed}; pass the fraction "
                         "and seed that drew them")
    return given


def reference_features(faces, eval_size, extractor, cache_dir, flip=False):
    """Features of all real images at `eval_size`, computed once and cached on disk.

    With `flip`, rows N..2N-1 are the features of the mirror images of rows
    0..N-1 (a mirror is ``[:, :, ::-1]`` of the resized image). The cache key
    covers the data fingerprint, evaluation size, network, weights,
    preprocessing and mirrors, so a stale entry can never be read.
    """
    key = _digest({"data": faces.fingerprint, "size": eval_size, "features": extractor.name,
                   "weights": str(extractor.weights), "pre": extractor.preprocessing,
                   "resize": RESIZE, "flips": bool(flip), "version": CACHE_VERSION})
    path = Path(cache_dir) / f"reference-{key}.npy"
    if path.is_file():
        log.info("reference features: cache hit %s", path)
        return np.load(path)
    start = time.perf_counter()
    images = _with_mirrors(faces.at_size(eval_size), flip)
    features = extractor(images)
    _save_npy(path, features)
    log.info("reference features: %d images at %dx%d with %s in %.2f s, cached at %s",
             len(images), eval_size, eval_size, extractor.name, time.perf_counter() - start, path)
    return features


def _save_npy(path, array):
    import io


    buffer = io.BytesIO()
    np.save(buffer, array)
    try:
        write_bytes(path, buffer.getvalue())
    except OSError as err:  # a read-only cache costs time, not correctness
        log.warning("could not cache reference features at %s: %s", path, err)


def score_folders(real, fakes, config=ScoringConfig(), size=None, flip=True):
    """Score each folder of generated images against the real faces `real` (a DataConfig).

    Yields one dict per folder: fake, fd, kid, kid_std, density, coverage, swd,
    swd_levels, n_real, n_fake, features, eval_size, resize, reference_flips.
    All folders are scored at one evaluation size (`size`, else the largest
    image size among the folders) so they rank together; with `flip` (the
    search's default) the reference holds the mirror images too.
    """
    from dataclasses import replace

    faces = load_faces(real.data, real.person, real.crop)
    folders = [(fake, load_image_folder(fake)) for fake in fakes]
    eval_size = size or max(images.shape[1] for _, images in folders)
    for fake, images in folders:
        scorer = Scorer(faces, replace(config, samples=len(images)), eval_size, flip=flip)
        scores = scorer.score_images(from_uint8(images)[..., None])
        yield {"fake": str(fake), "fd": scores["fd"], "kid": scores["kid"],
               "kid_std": scores["kid_std"], "n_real": len(faces), "n_fake": len(images),
               "features": scorer.protocol.features, "eval_size": eval_size,
               "resize": RESIZE, "density": scores["density"], "coverage": scores["coverage"],
               "swd": scores["swd"], "swd_levels": scores["swd_levels"],
               "reference_flips": bool(flip)}
