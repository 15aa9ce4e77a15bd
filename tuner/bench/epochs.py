"""Seconds per epoch: the tool's `DCGAN.fit` against the lab's own training loop.

The lab's loop is the TensorFlow DCGAN tutorial's: a `@tf.function` step with
two tapes over `shuffle(N).batch(B)`, on the same networks. Both are timed in
alternation, with a matmul of the same precision, so all three see the same
machine load; the epoch's arithmetic rate is then set against the matmul's.

FLOP rule: forward multiply-adds per sample are counted from layer shapes (Dense
in*out; Conv2D H_out*W_out*k*k*C_in*C_out; Conv2DTranspose H_in*W_in*k*k*C_in*C_out;
normalisation and activations are ignored). A training step costs 3x the forward
pass of every differentiated network pass (forward, gradient w.r.t. activations,
gradient w.r.t. weights): the generator once and the discriminator twice (real and
fake batch), so 2 FLOPs x 3 x (G + 2 D) per image. The generator update's second
backward pass through the discriminator is not counted: the rate is a lower bound.
"""

import functools
import logging
import math
import statistics
import time
from dataclasses import dataclass

from tuner.bench.machine import matmul_gflops, matmul_probe
from tuner.common.config import LAB_BATCH_SIZE, LAB_HYPERPARAMETERS, LAB_IMAGES, LATENT_DIM
from tuner.gan.devices import mixed_policy_name
from tuner.study.retraining import training_dataset

log = logging.getLogger(__name__)

# The lab's own report: seconds per epoch of its 530-image set at batch 256.
LAB_SECONDS_PER_EPOCH = {32: 0.129, 64: 0.200, 128: 1.046}


@dataclass
class EpochTiming:
    """Seconds per epoch of one size and precision, tool vs lab loop."""

    size: int
    precision: str
    images: int
    batch_size: int
    fit_seconds: float
    lab_seconds: float
    fit_call_overhead: float      # seconds a fit() call spends outside its epochs (once per trial)
    fit_traces: int
    lab_traces: int
    train_flops: float            # per epoch
    gflops: float                 # achieved by fit
    matmul_gflops: float          # the same precision's matmul, in the same rounds
    lab_reported: float | None

    @property
    def peak_fraction(self):
        return self.gflops / self.matmul_gflops


def time_epochs(config, size, precision):
    """Median seconds per epoch of `DCGAN.fit` and of the lab's loop, in alternation."""
    import keras  # TF: only once a measurement starts

    keras.backend.clear_session()
    images = lab_images(config.images, size, config.seed)
    fit = FitRunner(tool_gan(size, precision, config), images, config.batch_size, config.seed)
    lab = LabLoop(images, size, precision, config.batch_size, config.learning_rate, config.seed)
    seconds = interleave({"fit": fit.epoch, "lab": lab.epoch,
                          "matmul": matmul_probe(matmul_dtype(precision))}, config.epochs)
    flops = train_flops_per_image(fit.gan.generator, fit.gan.discriminator) * len(images)
    timing = EpochTiming(
        size=size, precision=precision, images=len(images), batch_size=config.batch_size,
        fit_seconds=seconds["fit"], lab_seconds=seconds["lab"],
        fit_call_overhead=statistics.median(fit.call_overheads), fit_traces=fit.gan.traces,
        lab_traces=len(lab.traced_batches), train_flops=flops, gflops=flops / seconds["fit"] / 1e9,
        matmul_gflops=matmul_gflops(seconds["matmul"]),
        lab_reported=LAB_SECONDS_PER_EPOCH.get(size) if is_lab_setting(config) else None)
    log.info("%dx%d %s: fit %.3f s/epoch, lab loop %.3f s/epoch; traces: fit %d, lab loop %d",
             size, size, precision, timing.fit_seconds, timing.lab_seconds, timing.fit_traces,
             timing.lab_traces)
    return timing


def is_lab_setting(config):
    return config.images == LAB_IMAGES and config.batch_size == LAB_BATCH_SIZE


def matmul_dtype(precision):
    return "float32" if precision == "float32" else "bfloat16"


def mixed_speedups(timings):
    """Size -> float32 seconds / mixed seconds per epoch of fit."""
    by_key = {(t.size, t.precision): t.fit_seconds for t in timings}
    return {size: by_key[size, "float32"] / by_key[size, "mixed"] for size, precision in by_key
            if precision == "mixed" and (size, "float32") in by_key}


def lab_images(images, size, seed=0):
    """`images` random images in [-1, 1] plus their mirror images, like the lab's flipped set."""
    import numpy as np

    noise = np.random.default_rng(seed).uniform(-1, 1, (images, size, size, 1)).astype("float32")
    return np.concatenate([noise, noise[:, :, ::-1, :]])


def interleave(epoch_functions, epochs):
    """Median seconds of each function over `epochs` rounds, after one warm-up round.

    The functions take turns epoch by epoch, so a change in the machine's load
    falls on all of them alike rather than on whichever ran last.
    """
    seconds = {name: [] for name in epoch_functions}
    for round_number in range(epochs + 1):
        for name, epoch in epoch_functions.items():
            elapsed = epoch()
            if round_number:  # round 0 traces the step functions and warms the caches
                seconds[name].append(elapsed)
    return {name: statistics.median(values) for name, values in seconds.items()}


# ---------------------------------------------------------------------------
# FLOPs


def forward_macs(model):
    """Multiply-adds of one sample's forward pass through `model`'s dense and conv layers."""
    return sum(_layer_macs(layer) for layer in model.layers)


def _layer_macs(layer):
    from keras import layers

    # Conv2DTranspose is tested first: each input pixel scatters a k x k x C_out kernel.
    if isinstance(layer, layers.Conv2DTranspose):
        _, height, width, channels = layer.input.shape
        return height * width * math.prod(layer.kernel_size) * channels * layer.filters
    if isinstance(layer, layers.Conv2D):
        _, height, width, _ = layer.output.shape
        return (height * width * math.prod(layer.kernel_size) * layer.input.shape[-1]
                * layer.filters)
    if isinstance(layer, layers.Dense):
        return layer.input.shape[-1] * layer.units
    return 0  # normalisation, activations, dropout: elementwise, negligible here


def train_flops_per_image(generator, discriminator):
    """FLOPs of one image's share of a training step (the rule in the module docstring)."""
    return 2 * 3 * (forward_macs(generator) + 2 * forward_macs(discriminator))


# ---------------------------------------------------------------------------
# The tool's fit


@functools.cache
def traced_dcgan_class():
    """`DCGAN` counting the traces of its train step (defined on first use: no TF at import)."""
    from tuner.gan.dcgan import DCGAN  # TF: only once a measurement starts

    class TracedDCGAN(DCGAN):
        """The tool's DCGAN; `traces` counts how often `fit` traced `train_step`.

        `fit` runs the step inside a tf.function, so its Python body runs once
        per trace and never during execution.
        """

        traces = 0

        def train_step(self, real_images):
            self.traces += 1
            return super().train_step(real_images)

    return TracedDCGAN


def tool_gan(size, precision, config, **compile_kwargs):
    """The tool's compiled model (`build_dcgan`'s networks and optimizers), counting traces."""
    import keras  # TF: only once a measurement starts

    from tuner.gan.dcgan import build_dcgan  # TF: only once a measurement starts

    keras.utils.set_random_seed(config.seed)
    built = build_dcgan(size, config.learning_rate, precision=precision, seed=config.seed)
    gan = traced_dcgan_class()(built.generator, built.discriminator, seed=config.seed)
    gan.compile(g_optimizer=built.g_optimizer, d_optimizer=built.d_optimizer, **compile_kwargs)
    return gan


@functools.cache
def epoch_clock_class():
    """A Keras callback class recording the seconds of every epoch (defined on first use)."""
    import keras  # TF: only once a measurement starts

    class EpochClock(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds = []

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self._start)

    return EpochClock


class FitRunner:
    """Epochs of `gan.fit` over the tool's shuffled, batched image stream.

    An epoch is one `fit(epochs=1)` call, timed from `on_epoch_begin` to
    `on_epoch_end`. What the call spends outside that span (set-up, the data
    iterator) is paid once per fit call, so once per trial, and is kept apart
    in `call_overheads`.
    """

    def __init__(self, gan, images, batch_size, seed):
        self.gan, self.images, self.batch_size = gan, images, batch_size
        self.dataset, self.steps = training_dataset(images, batch_size, seed)
        self.call_overheads = []

    def epoch(self):
        clock = epoch_clock_class()()
        start = time.perf_counter()
        self.fit(clock)
        self.call_overheads.append(time.perf_counter() - start - clock.seconds[0])
        return clock.seconds[0]

    def fit(self, clock):
        self.gan.fit(self.dataset, epochs=1, steps_per_epoch=self.steps, shuffle=False,
                     verbose=0, callbacks=[clock])


# ---------------------------------------------------------------------------
# The lab's loop


class LabLoop:
    """The lab's training loop, as in the TensorFlow DCGAN tutorial it follows.

    A `@tf.function` step with two GradientTapes over
    `Dataset.from_tensor_slices(x).shuffle(N).batch(B)`, the same networks and
    Adam(lr, beta_1=0.5). One change: the noise batch follows the image batch
    (the tutorial draws a full BATCH_SIZE even for the last, partial batch), so
    both loops do the same arithmetic per epoch.
    """

    def __init__(self, images, size, precision, batch_size, learning_rate, seed,
                 latent_dim=LATENT_DIM):
        import keras  # TF: only once a measurement starts
        import tensorflow as tf

        from tuner.gan.dcgan import build_discriminator, build_generator  # TF: only once a measurement starts

        dtype = mixed_policy_name() if precision == "mixed" else precision
        keras.utils.set_random_seed(seed)
        self.generator = build_generator(size, latent_dim, dtype)
        self.discriminator = build_discriminator(size, dtype)
        beta_1 = LAB_HYPERPARAMETERS["beta_1"]
        self.g_optimizer = keras.optimizers.Adam(learning_rate, beta_1=beta_1)
        self.d_optimizer = keras.optimizers.Adam(learning_rate, beta_1=beta_1)
        self.cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True)
        self.latent_dim = latent_dim
        self.dataset = tf.data.Dataset.from_tensor_slices(images).shuffle(len(images)).batch(
            batch_size)
        self.traced_batches = []
        self.step = tf.function(self._step)

    def _step(self, images):
        import tensorflow as tf  # TF: only once a measurement starts

        self.traced_batches.append(images.shape[0])  # Python runs only while tracing
        noise = tf.random.normal([tf.shape(images)[0], self.latent_dim])
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = self.generator(noise, training=True)
            real_logits = self.discriminator(images, training=True)
            fake_logits = self.discriminator(fake, training=True)
            g_loss = self.cross_entropy(tf.ones_like(fake_logits), fake_logits)
            d_loss = (self.cross_entropy(tf.ones_like(real_logits), real_logits)
                      + self.cross_entropy(tf.zeros_like(fake_logits), fake_logits))
        self._update(self.g_optimizer, g_tape, g_loss, self.generator)
        self._update(self.d_optimizer, d_tape, d_loss, self.discriminator)
        return g_loss, d_loss

    @staticmethod
    def _update(optimizer, tape, loss, network):
        weights = network.trainable_variables
        optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights))

    def epoch(self):
        start = time.perf_counter()
        for batch in self.dataset:
            losses = self.step(batch)
        float(losses[0])  # wait for the last step, as Keras does when it reads the logs
        return time.perf_counter() - start
