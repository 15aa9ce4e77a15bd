"""The lab's DCGAN, adapted to any power-of-two image size, as one `keras.Model`.

At 64x64 the networks are exactly the lab's (the TensorFlow DCGAN tutorial's):

    generator      z(100) -> Dense(8*8*256, no bias) -> BN -> LeakyReLU -> (8, 8, 256)
                   -> Deconv 128 5x5 /1 -> BN -> LeakyReLU
                   -> Deconv  64 5x5 /2 -> BN -> LeakyReLU       (16x16)
                   -> Deconv  32 5x5 /2 -> BN -> LeakyReLU       (32x32)
                   -> Deconv   1 5x5 /2, tanh                    (64x64)
    discriminator  x -> Conv 64 5x5 /2 -> LeakyReLU -> Dropout 0.3
                   -> Conv 128 5x5 /2 -> LeakyReLU -> Dropout 0.3 -> Flatten -> Dense(1)

Each doubling of the size adds one stride-2 block, halving the channels (32x32:
128 -> 64 -> 1; 128x128: 128 -> 64 -> 32 -> 16 -> 1). Losses are binary
cross-entropy on logits, both networks updated on every batch, as in the lab.
This module has no I/O and knows nothing of keras-tuner.
"""

import math

import keras
import tensorflow as tf  # train_step is backend-specific; TF is our backend
from keras import layers, ops

from tuner.common.config import LAB_HYPERPARAMETERS, LATENT_DIM, check_image_size
from tuner.gan.devices import mixed_policy_name

BASE_SIZE = 8
BASE_CHANNELS = 256
FIRST_DECONV_CHANNELS = 128
KERNEL = (5, 5)
DROPOUT = 0.3


def upsampling_channels(image_size):
    """Channels of the stride-2 deconvolutions before the last one, e.g. 64 -> [64, 32]."""
    hidden_blocks = int(math.log2(check_image_size(image_size) // BASE_SIZE)) - 1
    return [FIRST_DECONV_CHANNELS // 2 ** (i + 1) for i in range(hidden_blocks)]


def build_generator(image_size, latent_dim=LATENT_DIM, dtype=None):
    """The lab's generator for `image_size` (a power of two, 16..256).

    Args:
        image_size: side of the square output image.
        latent_dim: length of the latent vector z.
        dtype: a Keras dtype policy name ("float32", "mixed_bfloat16", ...);
            the tanh output is always float32.
    """
    z = keras.Input((latent_dim,), name="z")
    x = layers.Dense(BASE_SIZE * BASE_SIZE * BASE_CHANNELS, use_bias=False, dtype=dtype)(z)
    x = _norm_act(x, dtype)
    x = layers.Reshape((BASE_SIZE, BASE_SIZE, BASE_CHANNELS), dtype=dtype)(x)
    x = _deconv_block(x, FIRST_DECONV_CHANNELS, 1, dtype)
    for channels in upsampling_channels(image_size):
        x = _deconv_block(x, channels, 2, dtype)
    x = layers.Conv2DTranspose(1, KERNEL, strides=2, padding="same", use_bias=False, dtype=dtype)(x)
    images = layers.Activation("tanh", dtype="float32", name="images")(x)
    return keras.Model(z, images, name=f"generator_{image_size}")


def build_discriminator(image_size, dtype=None):
    """The lab's discriminator for `image_size` x `image_size` x 1 images; outputs a logit."""
    images = keras.Input((check_image_size(image_size), image_size, 1), name="images")
    x = images
    for channels in (64, 128):
        x = layers.Conv2D(channels, KERNEL, strides=2, padding="same", dtype=dtype)(x)
        x = layers.LeakyReLU(dtype=dtype)(x)
        x = layers.Dropout(DROPOUT, dtype=dtype)(x)
    x = layers.Flatten(dtype=dtype)(x)
    logit = layers.Dense(1, dtype="float32", name="logit")(x)
    return keras.Model(images, logit, name=f"discriminator_{image_size}")


def _norm_act(x, dtype):
    x = layers.BatchNormalization(dtype=dtype)(x)
    return layers.LeakyReLU(dtype=dtype)(x)


def _deconv_block(x, channels, stride, dtype):
    x = layers.Conv2DTranspose(channels, KERNEL, strides=stride, padding="same", use_bias=False,
                               dtype=dtype)(x)
    return _norm_act(x, dtype)


class DCGAN(keras.Model):
    """Generator and discriminator trained together by `fit` (the keras.io pattern).

    `fit(x)` takes a dataset of real images in [-1, 1]; `call(z)` returns images.
    """

    def __init__(self, generator, discriminator, seed=0, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = generator.input_shape[-1]
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.built = True  # both networks are built functional models: nothing left to infer

    def compile(self, g_optimizer, d_optimizer, **kwargs):
        super().compile(**kwargs)
        self.g_optimizer = g_optimizer
        self.d_optimizer = d_optimizer
        self.bce = keras.losses.BinaryCrossentropy(from_logits=True)

    @property
    def metrics(self):
        return [self.g_loss_tracker, self.d_loss_tracker]

    def call(self, z, training=False):
        return self.generator(z, training=training)

    def train_step(self, real_images):
        batch_size = ops.shape(real_images)[0]
        z = keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake_images = self.generator(z, training=True)
            real_logits = self.discriminator(real_images, training=True)
            fake_logits = self.discriminator(fake_images, training=True)
            g_loss = self.bce(ops.ones_like(fake_logits), fake_logits)
            d_loss = (self.bce(ops.ones_like(real_logits), real_logits)
                      + self.bce(ops.zeros_like(fake_logits), fake_logits))
            # Loss scaling matters only under mixed_float16; otherwise scale_loss is identity.
            g_scaled = self.g_optimizer.scale_loss(g_loss)
            d_scaled = self.d_optimizer.scale_loss(d_loss)
        self._apply(self.g_optimizer, g_tape.gradient(g_scaled, self.generator.trainable_weights),
                    self.generator.trainable_weights)
        self._apply(self.d_optimizer, d_tape.gradient(d_scaled, self.discriminator.trainable_weights),
                    self.discriminator.trainable_weights)
        self.g_loss_tracker.update_state(g_loss)
        self.d_loss_tracker.update_state(d_loss)
        return {m.name: m.result() for m in self.metrics}

    @staticmethod
    def _apply(optimizer, grads, weights):
        # Update in cross-replica context: in fit's replica context Keras' TF optimizer
        # all-reduces the gradients (the identity with one replica), and TF's all_reduce
        # registers a custom gradient in a global registry on every trace, which keeps each
        # trial's graph, weights and Adam slots alive until the process ends (tuner.bench:
        # +86 MB over 4 trials before, -1 MB after; weights bit-identical).
        tf.distribute.get_replica_context().merge_call(
            lambda _: apply_unreduced(optimizer, grads, weights))

    def generate(self, n, seed=0, batch_size=500):
        """`n` images (n, S, S, 1) as a float32 numpy array in [-1, 1], from seeded normal z."""
        return self.generator.predict(latent_batch(n, self.latent_dim, seed),
                                      batch_size=batch_size, verbose=0)

    def get_config(self):
        return {"generator": keras.saving.serialize_keras_object(self.generator),
                "discriminator": keras.saving.serialize_keras_object(self.discriminator)}

    @classmethod
    def from_config(cls, config):
        return cls(keras.saving.deserialize_keras_object(config["generator"]),
                   keras.saving.deserialize_keras_object(config["discriminator"]))


def apply_unreduced(optimizer, grads, weights):
    """One optimizer step from cross-replica context, where no gradient is all-reduced.

    Keras' LossScaleOptimizer refuses to run there ("apply() must be called in
    a replica context"), so its dynamic loss scaling is done here, through its
    public state, exactly as it would do it itself.
    """
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        ops.cond(optimizer.check_finite(grads),
                 lambda: _apply_unscaled(optimizer, grads, weights),
                 lambda: _shrink_loss_scale(optimizer))
    else:
        optimizer.apply(grads, weights)


def _apply_unscaled(optimizer, grads, weights):
    """Finite gradients: unscale and step; every `dynamic_growth_steps` steps, double the scale."""
    optimizer.inner_optimizer.apply([g / optimizer.dynamic_scale for g in grads], weights)
    grow = ops.equal(optimizer.step_counter, optimizer.dynamic_growth_steps - 1)
    optimizer.step_counter.assign(ops.where(grow, 0, optimizer.step_counter + 1))
    optimizer.dynamic_scale.assign(ops.where(grow, optimizer.dynamic_scale * 2.0,
                                             optimizer.dynamic_scale))


def _shrink_loss_scale(optimizer):
    """Overflowed (inf/nan) gradients: skip the step, halve the scale."""
    optimizer.step_counter.assign(0)
    optimizer.dynamic_scale.assign(optimizer.dynamic_scale * 0.5)


def latent_batch(n, latent_dim=LATENT_DIM, seed=0):
    """The standard-normal latent vectors (n, latent_dim) float32 drawn from `seed`."""
    import numpy as np

    return np.random.default_rng(seed).standard_normal((n, latent_dim)).astype("float32")


def build_dcgan(image_size, learning_rate=LAB_HYPERPARAMETERS["learning_rate"],
                beta_1=LAB_HYPERPARAMETERS["beta_1"], latent_dim=LATENT_DIM,
                precision="float32", seed=0):
    """A compiled DCGAN: the lab's networks, one Adam setting for both networks.

    `precision` is a Keras dtype policy name ("float32", "mixed_bfloat16",
    "mixed_float16") or "mixed", the one this machine runs fastest.
    """
    dtype = mixed_policy_name() if precision == "mixed" else precision
    gan = DCGAN(build_generator(image_size, latent_dim, dtype),
                build_discriminator(image_size, dtype), seed=seed)
    gan.compile(g_optimizer=_adam(learning_rate, beta_1, dtype),
                d_optimizer=_adam(learning_rate, beta_1, dtype))
    # Built optimizers have their slots now, so a checkpoint (Hyperband's
    # continued trials, a resumed retrain) restores Adam's state too.
    gan.g_optimizer.build(gan.generator.trainable_variables)
    gan.d_optimizer.build(gan.discriminator.trainable_variables)
    return gan


def _adam(learning_rate, beta_1, dtype):
    optimizer = keras.optimizers.Adam(learning_rate, beta_1=beta_1)
    if dtype == "mixed_float16":  # float16 gradients underflow without loss scaling
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer
