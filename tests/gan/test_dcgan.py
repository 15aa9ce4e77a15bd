"""Tests of tuner.gan.dcgan: the lab's networks at every size, the DCGAN model and its training step."""

from __future__ import annotations

import warnings

import keras
import numpy as np
import pytest
from keras import layers

from tuner.common.errors import UsageError
from tuner.gan.dcgan import (
    DCGAN,
    build_dcgan,
    build_discriminator,
    build_generator,
    latent_batch,
    upsampling_channels,
)

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
    gan = build_dcgan(32, precision="mixed_bfloat16")
    policies = {layer.dtype_policy.name for layer in _layers(gan.generator)[:-1]}
    assert policies == {"mixed_bfloat16"}
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


@pytest.mark.parametrize("precision, optimizer", [
    ("float32", "Adam"), ("mixed_bfloat16", "Adam"), ("mixed_float16", "LossScaleOptimizer")])
def test_each_precision_can_be_forced_and_trains(precision, optimizer):
    gan = build_dcgan(16, precision=precision)
    conv = next(layer for layer in gan.discriminator.layers if isinstance(layer, layers.Conv2D))
    assert conv.dtype_policy.name == precision
    assert type(gan.g_optimizer).__name__ == type(gan.d_optimizer).__name__ == optimizer
    g_before = _copy(gan.generator.trainable_weights)
    history = gan.fit(_real_images(size=16), batch_size=8, epochs=1, verbose=0)
    assert all(np.isfinite(history.history[key][0]) for key in ("g_loss", "d_loss"))
    assert _all_differ(g_before, gan.generator.trainable_weights)
    images = gan.generate(4, seed=0)
    assert images.dtype == np.float32 and images.min() >= -1 and images.max() <= 1


def test_loss_scaling_done_across_replicas_matches_keras_own():
    """Same steps, same weights, scale and counter as LossScaleOptimizer.apply: growth after
    2 finite steps, an overflowing step skipped and the scale halved."""
    import tensorflow as tf

    from tuner.gan.dcgan import apply_unreduced

    def make():
        weight = keras.Variable(np.array([1.0, -2.0], "float32"))
        optimizer = keras.optimizers.LossScaleOptimizer(
            keras.optimizers.Adam(0.1), initial_scale=8.0, dynamic_growth_steps=2)
        optimizer.build([weight])
        return weight, optimizer

    ours, theirs = make(), make()
    for grad in ([8.0, 4.0], [16.0, -8.0], [np.inf, 1.0], [4.0, 4.0], [2.0, 1.0]):
        grads = [tf.constant(grad, "float32")]
        tf.distribute.get_replica_context().merge_call(
            lambda _, grads=grads: apply_unreduced(ours[1], grads, [ours[0]]))
        theirs[1].apply(grads, [theirs[0]])
        for mine, keras_own in zip((ours[0], ours[1].dynamic_scale, ours[1].step_counter),
                                   (theirs[0], theirs[1].dynamic_scale, theirs[1].step_counter)):
            np.testing.assert_array_equal(np.asarray(mine), np.asarray(keras_own))
    assert float(ours[1].dynamic_scale) == 16.0  # 8 -> 16 (growth) -> 8 (inf) -> 16 (growth)
    assert int(ours[1].iterations) == 4  # the overflowing step was skipped


def test_a_mixed_float16_search_completes_and_its_generator_loads_as_float32(
        tiny_search, tmp_path, monkeypatch):
    import contextlib
    import io

    from tuner import retrain

    result = tiny_search(tmp_path, epochs=1, precision="mixed_float16").result
    assert result.returncode == 0, result.stderr[-2000:]
    study = tmp_path / "out" / "tiny"
    statuses = [json_status(path) for path in sorted(study.glob("trial_*/trial.json"))]
    assert statuses == ["COMPLETED", "COMPLETED"]
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # the search's reference cache
    with contextlib.redirect_stdout(io.StringIO()):
        assert retrain.main([str(study), "--epochs", "1", "--out", str(tmp_path / "winner")]) == 0
    generator = keras.models.load_model(tmp_path / "winner" / "seed_1" / "generator.keras")
    assert generator.get_layer(index=1).dtype_policy.name == "mixed_float16"
    images = np.asarray(generator(latent_batch(5)))
    assert images.shape == (5, 16, 16, 1) and images.dtype == np.float32
    assert images.min() >= -1 and images.max() <= 1 and images.std() > 0


def json_status(trial_json):
    import json

    return json.loads(trial_json.read_text())["status"]
