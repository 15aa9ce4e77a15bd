"""Tests of tuner.dcgan: the lab's networks at every size, the DCGAN model and its training step."""

from __future__ import annotations

import warnings

import keras
import numpy as np
import pytest
from keras import layers

from tuner.dcgan import (
    DCGAN,
    build_dcgan,
    build_discriminator,
    build_generator,
    latent_batch,
    upsampling_channels,
)
from tuner.errors import UsageError

SIZES = (16, 32, 64, 128, 256)


def _layers(model):
    """The model's layers without its InputLayer."""
    return [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]


def _deconv_channels(generator):
    return [layer.filters for layer in generator.layers if isinstance(layer, layers.Conv2DTranspose)]


def _real_images(n=32, size=32, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (n, size, size, 1)).astype("float32")


def _copy(weights):
    return [np.array(w) for w in weights]


def _all_differ(before, after):
    return all(not np.array_equal(b, np.array(a)) for b, a in zip(before, after, strict=True))


# ---------------------------------------------------------------- the lab's reference networks


def _lab_generator():
    """The lab's generator, verbatim (TensorFlow DCGAN tutorial at 64x64)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Keras 3 prefers keras.Input to input_shape
        model = keras.Sequential([
            layers.Dense(8 * 8 * 256, use_bias=False, input_shape=(100,)),
            layers.BatchNormalization(),
            layers.LeakyReLU(),
            layers.Reshape((8, 8, 256)),
            layers.Conv2DTranspose(128, (5, 5), strides=(1, 1), padding="same", use_bias=False),
            layers.BatchNormalization(),
            layers.LeakyReLU(),
            layers.Conv2DTranspose(64, (5, 5), strides=(2, 2), padding="same", use_bias=False),
            layers.BatchNormalization(),
            layers.LeakyReLU(),
            layers.Conv2DTranspose(32, (5, 5), strides=(2, 2), padding="same", use_bias=False),
            layers.BatchNormalization(),
            layers.LeakyReLU(),
            layers.Conv2DTranspose(1, (5, 5), strides=(2, 2), padding="same", use_bias=False,
                                   activation="tanh"),
        ])
    return model


def _lab_discriminator():
    """The lab's discriminator, verbatim."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model = keras.Sequential([
            layers.Conv2D(64, (5, 5), strides=(2, 2), padding="same", input_shape=[64, 64, 1]),
            layers.LeakyReLU(),
            layers.Dropout(0.3),
            layers.Conv2D(128, (5, 5), strides=(2, 2), padding="same"),
            layers.LeakyReLU(),
            layers.Dropout(0.3),
            layers.Flatten(),
            layers.Dense(1),
        ])
    return model


# ---------------------------------------------------------------- architecture


@pytest.mark.parametrize("size", SIZES)
def test_generator_output_shape(size):
    generator = build_generator(size)
    assert generator.input_shape == (None, 100)
    assert generator.output_shape == (None, size, size, 1)


@pytest.mark.parametrize("size", SIZES)
def test_discriminator_takes_the_size_and_gives_one_logit(size):
    discriminator = build_discriminator(size)
    assert discriminator.input_shape == (None, size, size, 1)
    assert discriminator.output_shape == (None, 1)


def test_generator_latent_dim_is_its_input():
    assert build_generator(32, latent_dim=64).input_shape == (None, 64)


def test_generator_64_is_the_labs_layer_sequence():
    def describe(layer):
        if isinstance(layer, layers.Dense):
            return ("Dense", layer.units, layer.use_bias)
        if isinstance(layer, layers.Reshape):
            return ("Reshape", tuple(layer.target_shape))
        if isinstance(layer, layers.Conv2DTranspose):
            return ("Deconv", layer.filters, tuple(layer.kernel_size), tuple(layer.strides),
                    layer.padding, layer.use_bias)
        if isinstance(layer, layers.LeakyReLU):
            return ("LeakyReLU", pytest.approx(0.3))
        if isinstance(layer, layers.Activation):
            return ("Activation", layer.activation.__name__)
        return (type(layer).__name__,)

    bn, act = ("BatchNormalization",), ("LeakyReLU", pytest.approx(0.3))
    expected = [
        ("Dense", 16384, False), bn, act, ("Reshape", (8, 8, 256)),
        ("Deconv", 128, (5, 5), (1, 1), "same", False), bn, act,
        ("Deconv", 64, (5, 5), (2, 2), "same", False), bn, act,
        ("Deconv", 32, (5, 5), (2, 2), "same", False), bn, act,
        ("Deconv", 1, (5, 5), (2, 2), "same", False), ("Activation", "tanh"),
    ]
    assert [describe(layer) for layer in _layers(build_generator(64))] == expected


def test_discriminator_64_is_the_labs_layer_sequence():
    def describe(layer):
        if isinstance(layer, layers.Conv2D):
            return ("Conv", layer.filters, tuple(layer.kernel_size), tuple(layer.strides),
                    layer.padding, layer.use_bias)
        if isinstance(layer, layers.Dropout):
            return ("Dropout", layer.rate)
        if isinstance(layer, layers.Dense):
            return ("Dense", layer.units, layer.use_bias, layer.activation.__name__)
        return (type(layer).__name__,)

    expected = [
        ("Conv", 64, (5, 5), (2, 2), "same", True), ("LeakyReLU",), ("Dropout", 0.3),
        ("Conv", 128, (5, 5), (2, 2), "same", True), ("LeakyReLU",), ("Dropout", 0.3),
        ("Flatten",), ("Dense", 1, True, "linear"),
    ]
    assert [describe(layer) for layer in _layers(build_discriminator(64))] == expected


def test_generator_64_has_the_labs_parameter_count():
    ours, lab = build_generator(64), _lab_generator()
    assert lab.output_shape == ours.output_shape == (None, 64, 64, 1)
    assert ours.count_params() == lab.count_params()
    dense, norms = 100 * 8 * 8 * 256, 4 * (8 * 8 * 256 + 128 + 64 + 32)  # BN: 4 weights a channel
    deconvs = 25 * (256 * 128 + 128 * 64 + 64 * 32 + 32 * 1)
    assert ours.count_params() == dense + norms + deconvs == 2_780_832
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in lab.weights]


def test_discriminator_64_has_the_labs_parameter_count():
    ours, lab = build_discriminator(64), _lab_discriminator()
    assert ours.count_params() == lab.count_params()
    assert ours.count_params() == 64 * 25 + 64 + 128 * 64 * 25 + 128 + 16 * 16 * 128 + 1
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in lab.weights]


@pytest.mark.parametrize("size, hidden, deconvs", [
    (16, [], [128, 1]),
    (32, [64], [128, 64, 1]),
    (64, [64, 32], [128, 64, 32, 1]),
    (128, [64, 32, 16], [128, 64, 32, 16, 1]),
    (256, [64, 32, 16, 8], [128, 64, 32, 16, 8, 1]),
])
def test_channels_halve_with_each_doubling(size, hidden, deconvs):
    assert upsampling_channels(size) == hidden
    assert _deconv_channels(build_generator(size)) == deconvs


def test_each_size_keeps_the_labs_8x8x256_start():
    for size in (32, 128):
        reshape = next(layer for layer in build_generator(size).layers
                       if isinstance(layer, layers.Reshape))
        assert tuple(reshape.target_shape) == (8, 8, 256)


@pytest.mark.parametrize("size", [48, 8, 512, "64", True, 64.0, 0, -64])
@pytest.mark.parametrize("build", [build_generator, build_discriminator, upsampling_channels])
def test_invalid_sizes_are_refused(build, size):
    with pytest.raises(UsageError, match=rf"^image_size must be a power of two from 16 to 256 "
                                         rf"\(16, 32, 64, 128, 256\); got {size!r}$"):
        build(size)


# ---------------------------------------------------------------- latent vectors


def test_latent_batch_shape_dtype_and_seed():
    z = latent_batch(7, 12, seed=3)
    assert z.shape == (7, 12) and z.dtype == np.float32
    np.testing.assert_array_equal(z, latent_batch(7, 12, seed=3))
    assert not np.array_equal(z, latent_batch(7, 12, seed=4))
    np.testing.assert_array_equal(
        z, np.random.default_rng(3).standard_normal((7, 12)).astype("float32"))
    assert latent_batch(2).shape == (2, 100)


# ---------------------------------------------------------------- the DCGAN model


@pytest.fixture(scope="module")
def trained():
    """A float32 32x32 DCGAN with its weights before and after one epoch on 32 random images."""
    keras.utils.set_random_seed(0)
    gan = build_dcgan(32, learning_rate=1e-3, beta_1=0.7)
    before = (_copy(gan.generator.trainable_weights), _copy(gan.discriminator.trainable_weights))
    history = gan.fit(_real_images(), batch_size=16, epochs=1, verbose=0)
    return gan, before, history


def test_build_dcgan_is_a_compiled_dcgan():
    gan = build_dcgan(32)
    assert isinstance(gan, DCGAN)
    assert gan.compiled
    assert gan.latent_dim == 100
    assert gan.generator.output_shape == (None, 32, 32, 1)
    assert gan.discriminator.input_shape == (None, 32, 32, 1)
    assert [m.name for m in gan.metrics] == ["g_loss", "d_loss"]


def test_one_optimizer_setting_for_both_networks():
    gan = build_dcgan(32, learning_rate=2e-3, beta_1=0.25)
    assert gan.g_optimizer is not gan.d_optimizer  # two Adam states, one setting
    for optimizer in (gan.g_optimizer, gan.d_optimizer):
        assert isinstance(optimizer, keras.optimizers.Adam)
        assert float(optimizer.learning_rate) == pytest.approx(2e-3)
        assert optimizer.beta_1 == 0.25


def test_default_optimizer_is_the_labs_adam():
    gan = build_dcgan(32)
    for optimizer in (gan.g_optimizer, gan.d_optimizer):
        assert float(optimizer.learning_rate) == pytest.approx(2e-4)
        assert optimizer.beta_1 == 0.5


def test_one_epoch_gives_finite_losses(trained):
    gan, _, history = trained
    assert set(history.history) == {"g_loss", "d_loss"}
    for key in ("g_loss", "d_loss"):
        (value,) = history.history[key]
        assert np.isfinite(value) and value > 0
    # untrained: D near chance (2 ln 2 summed over real and fake), G near ln 2
    assert history.history["d_loss"][0] == pytest.approx(2 * np.log(2), abs=0.5)
    assert history.history["g_loss"][0] == pytest.approx(np.log(2), abs=0.5)


def test_train_step_updates_both_networks(trained):
    gan, (g_before, d_before), _ = trained
    assert _all_differ(g_before, gan.generator.trainable_weights)
    assert _all_differ(d_before, gan.discriminator.trainable_weights)
    assert gan.g_optimizer.iterations.numpy() == 2  # 32 images / batch 16
    assert gan.d_optimizer.iterations.numpy() == 2


def test_call_gives_images_in_tanh_range(trained):
    gan, _, _ = trained
    images = np.asarray(gan(latent_batch(5, seed=1)))
    assert images.shape == (5, 32, 32, 1)
    assert images.dtype == np.float32
    assert images.min() >= -1.0 and images.max() <= 1.0
    assert images.std() > 0


def test_generate_is_deterministic_per_seed(trained):
    gan, _, _ = trained
    first = gan.generate(6, seed=11)
    assert first.shape == (6, 32, 32, 1) and first.dtype == np.float32
    assert first.min() >= -1.0 and first.max() <= 1.0
    np.testing.assert_array_equal(first, gan.generate(6, seed=11))
    assert not np.allclose(first, gan.generate(6, seed=12))
    # it is the generator in inference mode on latent_batch(n, latent_dim, seed)
    np.testing.assert_allclose(first, np.asarray(gan(latent_batch(6, 100, 11))), atol=1e-5)


def test_mixed_precision_keeps_float32_outputs_and_trains():
    gan = build_dcgan(32, precision="mixed")
    policies = {layer.dtype_policy.name for layer in _layers(gan.generator)[:-1]}
    assert policies == {"mixed_bfloat16"}  # no GPU on the test machine
    conv = next(layer for layer in gan.discriminator.layers if isinstance(layer, layers.Conv2D))
    assert conv.dtype_policy.name == "mixed_bfloat16"
    assert conv.compute_dtype == "bfloat16" and conv.kernel.dtype == "float32"
    assert gan.generator.get_layer("images").dtype_policy.name == "float32"
    assert gan.discriminator.get_layer("logit").dtype_policy.name == "float32"

    images = gan(latent_batch(3))
    assert images.dtype == "float32" and tuple(images.shape) == (3, 32, 32, 1)
    assert gan.discriminator(images).dtype == "float32"

    d_before = _copy(gan.discriminator.trainable_weights)
    history = gan.fit(_real_images(), batch_size=16, epochs=1, verbose=0)
    assert all(np.isfinite(history.history[key][0]) for key in ("g_loss", "d_loss"))
    assert _all_differ(d_before, gan.discriminator.trainable_weights)
    assert gan.generate(2, seed=0).dtype == np.float32
