"""What a trial costs on this machine: the measurements behind `python -m tuner.bench`.

`run_benchmark(config)` returns a `Report` of plain dataclasses:

* the machine (CPU, cores, TF version, thread settings, load average);
* the dense matrix-multiply rate (float32, bfloat16): the hardware's practical limit;
* seconds per epoch of the lab's setting (530 images plus flips, batch 256) at each
  size and precision, for the tool's `DCGAN.fit` over its own tf.data pipeline and
  for the lab's loop (the TF DCGAN tutorial's `@tf.function` step with two tapes over
  `shuffle(N).batch(B)`), timed in alternation so both see the same machine load;
* the arithmetic rate those epochs reach, from FLOPs counted on the layer shapes;
* seconds to score one trial (generation, features, FD/KID) and the share of a
  quick-space trial that scoring takes, from a real (shortened) quick-space trial;
* resident memory and train-step traces over a sequence of trials run the way
  keras-tuner runs them;
* optionally: fast paths tried (XLA, array slicing, steps_per_execution) and the
  quick space's best setting trained in both precisions (score quality).

Every timing is the median over several epochs or calls after a warm-up.

FLOP rule: forward multiply-adds per sample are counted from layer shapes (Dense
in*out; Conv2D H_out*W_out*k*k*C_in*C_out; Conv2DTranspose H_in*W_in*k*k*C_in*C_out;
normalisation and activations are ignored). A training step costs 3x the forward
pass of every differentiated network pass (forward, gradient w.r.t. activations,
gradient w.r.t. weights): the generator once and the discriminator twice (real and
fake batch), so 2 FLOPs x 3 x (G + 2 D) per image. The generator update's second
backward pass through the discriminator is not counted: the rate is a lower bound.
"""

import functools
import gc
import logging
import math
import os
import platform
import resource
import statistics
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

log = logging.getLogger(__name__)

# The lab's own report: seconds per epoch of its 530-image set at batch 256.
LAB_SECONDS_PER_EPOCH = {32: 0.129, 64: 0.200, 128: 1.046}
# The quick space's best trial in the search this benchmark supports.
QUICK_BEST = {"learning_rate": 5e-4, "image_size": 32}
MATMUL_SIZE = 2048
MATMUL_REPEATS = 7
ENV_VARS = ("OPENBLAS_CORETYPE", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
            "TF_NUM_INTEROP_THREADS", "TF_ENABLE_ONEDNN_OPTS", "ONEDNN_MAX_CPU_ISA",
            "DNNL_MAX_CPU_ISA", "TF_XLA_FLAGS", "KMP_AFFINITY", "KMP_BLOCKTIME")
# Goals of issue 7, with the tolerance a noisy shared machine needs.
FIT_TOLERANCE = 1.05          # fit may be 5% slower than the lab loop: within epoch-to-epoch noise
MIXED_SPEEDUP_GOAL = 1.5
SCORING_SHARE_GOAL = 0.10
MEMORY_GROWTH_MB = 50.0       # RSS growth allowed from the second trial to the last


@dataclass(frozen=True)
class BenchConfig:
    """One benchmark run; the defaults are the full run, `QUICK` the smoke test."""

    sizes: tuple = (32, 64, 128)
    precisions: tuple = ("float32", "mixed")
    images: int = 530             # the lab's training set, before flips
    batch_size: int = 256         # the TF DCGAN tutorial's, which the lab follows
    epochs: int = 3               # timed epochs per measurement, after one warm-up epoch
    learning_rate: float = 2e-4
    samples: int = 2000           # generated images per evaluation (the tool's default)
    score_repeats: int = 3        # timed scorings after a cold one
    trial_epochs: int = 6         # length of the shortened quick-space trial
    memory_trials: int = 5
    memory_epochs: int = 2
    experiments: bool = True      # XLA, array slicing, steps_per_execution
    experiment_size: int = 32     # where per-step overheads weigh most
    inception: bool = True        # time Inception scoring when its weights are present
    quality: bool = False         # train the quick space's best setting in both precisions
    quality_seeds: int = 2
    seed: int = 0


QUICK = BenchConfig(sizes=(32,), images=64, batch_size=48, epochs=1, samples=200,
                    score_repeats=1, trial_epochs=2, memory_trials=2, memory_epochs=1,
                    experiments=False, inception=False)


@dataclass
class Machine:
    cpu: str
    cores: int
    bf16: str
    python: str
    tensorflow: str
    keras: str
    intra_op_threads: int
    inter_op_threads: int
    env: dict
    load_before: tuple
    load_after: tuple = ()


@dataclass
class MatmulRate:
    size: int
    gflops: dict                  # dtype name -> GFLOP/s


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


@dataclass
class ScoringTiming:
    features: str
    samples: int = 0
    eval_size: int = 0
    seconds: float = 0.0          # one warm scoring, median
    cold_seconds: float = 0.0     # the first scoring of a generator (traces its predict function)
    generation: float = 0.0
    feature_seconds: float = 0.0
    metrics: float = 0.0
    reference_seconds: float = 0.0
    reference_cached_seconds: float = 0.0
    skipped: str = ""


@dataclass
class TrialShare:
    """A quick-space trial's time, from a shortened real trial scaled to the space's epochs."""

    epochs: int
    eval_every: int
    evaluations: int
    batch_size: int
    precision: str
    images: int
    seconds_per_epoch: float
    eval_cold: float
    eval_warm: float
    measured_epochs: int
    traces: int

    @property
    def scoring_seconds(self):
        return self.eval_cold + (self.evaluations - 1) * self.eval_warm

    @property
    def trial_seconds(self):
        return self.epochs * self.seconds_per_epoch + self.scoring_seconds

    @property
    def share(self):
        return self.scoring_seconds / self.trial_seconds


@dataclass
class MemoryTrace:
    """Memory after each trial of a sequence, as the tool is and with the proposed fix."""

    rss_mb: list = field(default_factory=list)        # VmRSS after each trial
    peak_mb: list = field(default_factory=list)       # ru_maxrss after each trial
    traces: list = field(default_factory=list)        # train_step traces in each trial
    reference_computations: int = 0
    fixed_rss_mb: list = field(default_factory=list)  # VmRSS, with apply_across_replicas
    fixed_traces: list = field(default_factory=list)

    @property
    def growth_mb(self):
        return rss_growth(self.rss_mb)

    @property
    def fixed_growth_mb(self):
        return rss_growth(self.fixed_rss_mb)


def rss_growth(rss_mb):
    """RSS growth from the second trial to the last (the first pays one-time costs), MB."""
    return rss_mb[-1] - rss_mb[1] if len(rss_mb) > 2 else 0.0


@dataclass
class Experiment:
    setting: str
    variant: str
    seconds: float
    baseline: float
    traces: int
    call_overhead: float          # median seconds a fit() call spends outside its epoch

    @property
    def speedup(self):
        return self.baseline / self.seconds


@dataclass
class QualityRun:
    precision: str
    seed: int
    kid: float
    kid_std: float
    best_epoch: int
    final_kid: float
    seconds_per_epoch: float


@dataclass
class Report:
    config: BenchConfig
    machine: Machine
    matmul: MatmulRate | None = None
    epochs: list = field(default_factory=list)
    scoring: list = field(default_factory=list)
    trial: TrialShare | None = None
    memory: MemoryTrace | None = None
    experiments: list = field(default_factory=list)
    quality: list = field(default_factory=list)
    seconds: float = 0.0


def run_benchmark(config=BenchConfig()):
    """Measure everything `config` asks for on this machine; return the `Report`."""
    start = time.perf_counter()
    report = Report(config, describe_machine())
    report.matmul = matmul_rate()
    with tempfile.TemporaryDirectory(prefix="tuner-bench-") as scratch:
        faces = _embedded_faces()
        # First, while the process is fresh: its peak RSS then belongs to the trials alone.
        report.memory = trace_memory(config, faces, Path(scratch))
        report.epochs = [time_epochs(config, size, precision)
                         for size in config.sizes for precision in config.precisions]
        report.scoring = time_scoring(config, faces, Path(scratch))
        report.trial = time_quick_trial(config, faces, Path(scratch))
        if config.experiments:
            report.experiments = try_fast_paths(config, faces)
        if config.quality:
            report.quality = compare_precisions(config, faces, Path(scratch))
    report.machine.load_after = os.getloadavg()
    report.seconds = time.perf_counter() - start
    return report


# ---------------------------------------------------------------------------
# The machine


def describe_machine():
    import keras
    import tensorflow as tf

    cpuinfo = _read("/proc/cpuinfo")
    return Machine(
        cpu=_cpu_name(cpuinfo),
        cores=os.cpu_count() or 0, bf16=_bf16_support(cpuinfo),
        python=platform.python_version(), tensorflow=tf.__version__, keras=keras.__version__,
        intra_op_threads=tf.config.threading.get_intra_op_parallelism_threads(),
        inter_op_threads=tf.config.threading.get_inter_op_parallelism_threads(),
        env={name: os.environ[name] for name in ENV_VARS if name in os.environ},
        load_before=os.getloadavg())


def _read(path):
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _cpuinfo_field(cpuinfo, name):
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == name:
            return value.strip()
    return ""


def _cpu_name(cpuinfo):
    """Model name plus family/model numbers: a VM often shows only "AMD EPYC"."""
    name = _cpuinfo_field(cpuinfo, "model name") or platform.processor() or "unknown"
    family, model = _cpuinfo_field(cpuinfo, "cpu family"), _cpuinfo_field(cpuinfo, "model")
    return f"{name} (family {family}, model {model})" if family else name


def _bf16_support(cpuinfo):
    """Which bfloat16 matrix hardware the CPU has: AMX tiles, AVX512-BF16 dot products, or none."""
    flags = set(_cpuinfo_field(cpuinfo, "flags").split())
    found = [name for name in ("amx_bf16", "avx512_bf16") if name in flags]
    return ", ".join(found) if found else "none (bfloat16 is emulated)"


def matmul_rate(size=MATMUL_SIZE, repeats=MATMUL_REPEATS):
    """GFLOP/s of a dense size x size matmul in float32 and bfloat16 (median after a warm-up)."""
    rates = {}
    for dtype in ("float32", "bfloat16"):
        seconds = _median_call(matmul_probe(dtype, size), repeats)
        rates[dtype] = matmul_gflops(seconds, size)
    log.info("matmul %dx%d: %s GFLOP/s", size, size,
             ", ".join(f"{k} {v:.0f}" for k, v in rates.items()))
    return MatmulRate(size, rates)


def matmul_probe(dtype, size=MATMUL_SIZE):
    """A function that multiplies two size x size matrices of `dtype`; returns its seconds."""
    import tensorflow as tf

    a = tf.cast(tf.random.normal((size, size), seed=1), dtype)
    b = tf.cast(tf.random.normal((size, size), seed=2), dtype)

    def probe():
        start = time.perf_counter()
        tf.linalg.matmul(a, b).numpy()
        return time.perf_counter() - start

    return probe


def matmul_gflops(seconds, size=MATMUL_SIZE):
    return 2 * size ** 3 / seconds / 1e9


def _median_call(function, repeats):
    """Median seconds of `function()` over `repeats` calls after one untimed warm-up call."""
    function()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


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
# Seconds per epoch: the tool's fit against the lab's loop


def lab_images(images, size, seed=0):
    """`images` random images in [-1, 1] plus their mirror images, like the lab's flipped set."""
    import numpy as np

    noise = np.random.default_rng(seed).uniform(-1, 1, (images, size, size, 1)).astype("float32")
    return np.concatenate([noise, noise[:, :, ::-1, :]])


def time_epochs(config, size, precision):
    """Median seconds per epoch of `DCGAN.fit` and of the lab's loop, in alternation.

    A matmul of the same precision takes its turn in every round too, so the
    fraction of the hardware's rate is taken under the same machine load.
    """
    import keras

    keras.backend.clear_session()
    images = lab_images(config.images, size, config.seed)
    fit = FitRunner(_tool_gan(size, precision, config), images, config.batch_size, config.seed)
    lab = LabLoop(images, size, precision, config.batch_size, config.learning_rate, config.seed)
    seconds = interleave({"fit": fit.epoch, "lab": lab.epoch,
                          "matmul": matmul_probe(_matmul_dtype(precision))}, config.epochs)
    flops = train_flops_per_image(fit.gan.generator, fit.gan.discriminator) * len(images)
    timing = EpochTiming(
        size=size, precision=precision, images=len(images), batch_size=config.batch_size,
        fit_seconds=seconds["fit"], lab_seconds=seconds["lab"],
        fit_call_overhead=statistics.median(fit.call_overheads), fit_traces=fit.traces(),
        lab_traces=len(lab.traced_batches), train_flops=flops, gflops=flops / seconds["fit"] / 1e9,
        matmul_gflops=matmul_gflops(seconds["matmul"]),
        lab_reported=LAB_SECONDS_PER_EPOCH.get(size) if _is_lab_setting(config) else None)
    log.info("%dx%d %s: fit %.3f s/epoch, lab loop %.3f s/epoch; traces: fit %d, lab loop %d "
             "(batches %s)", size, size, precision, timing.fit_seconds, timing.lab_seconds,
             timing.fit_traces, timing.lab_traces, lab.traced_batches)
    return timing


def _is_lab_setting(config):
    return config.images == 530 and config.batch_size == 256


def _matmul_dtype(precision):
    return "bfloat16" if precision == "mixed" else "float32"


def _tool_gan(size, precision, config, **compile_kwargs):
    """The tool's model (`build_dcgan`), recompiled only when a variant asks for it."""
    import keras

    from tuner.dcgan import build_dcgan

    keras.utils.set_random_seed(config.seed)
    gan = build_dcgan(size, config.learning_rate, precision=precision, seed=config.seed)
    if compile_kwargs:  # fresh optimizers: the variant's compile must not share Adam state
        gan.compile(g_optimizer=_adam(config.learning_rate),
                    d_optimizer=_adam(config.learning_rate), **compile_kwargs)
    return gan


def _adam(learning_rate):
    import keras

    return keras.optimizers.Adam(learning_rate, beta_1=0.5)


def tool_dataset(images, batch_size, seed, autotune=True):
    """The very pipeline trials train on (DCGANHyperModel._dataset), so the bench measures it.

    `autotune=False` is the proposed change: tf.data's autotuner off.
    """
    import tensorflow as tf

    from tuner.hypermodel import DCGANHyperModel, TrainSettings

    settings = TrainSettings(epochs=1, batch_size=batch_size, eval_every=1, seed=seed)
    dataset = DCGANHyperModel(None, None, None, settings)._dataset(images)
    if autotune:
        return dataset
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.with_options(options)


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


@functools.cache
def epoch_clock_class():
    """A Keras callback class recording the seconds of every epoch (defined on first use:
    this module imports no TensorFlow until a measurement starts)."""
    import keras

    class EpochClock(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds = []

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self._start)

    return EpochClock


def count_traces(model):
    """Count the traces of `model.train_step` from now on; returns a list whose length is the count.

    `fit` traces `self.train_step` inside its tf.function, so the Python body
    runs once per trace and never during execution.
    """
    traces = []
    step = model.train_step

    def counted_step(data):
        traces.append(1)
        return step(data)

    model.train_step = counted_step
    return traces


class FitRunner:
    """Epochs of `gan.fit` over the tool's pipeline, or over the array itself (`array=True`).

    An epoch is one `fit(epochs=1)` call, timed from `on_epoch_begin` to
    `on_epoch_end`: as in a multi-epoch fit, that span ends by dropping the
    epoch's dataset iterator and making the next one. What the call spends
    outside it (set-up, and dropping that spare iterator) is paid once per fit
    call, so once per trial, and is kept apart in `call_overheads`.
    """

    def __init__(self, gan, images, batch_size, seed, array=False, autotune=True):
        self.gan, self.batch_size, self.array = gan, batch_size, array
        self.data = images if array else tool_dataset(images, batch_size, seed, autotune)
        self.call_overheads = []
        self._traces = count_traces(gan)

    def epoch(self):
        clock = epoch_clock_class()()
        start = time.perf_counter()
        if self.array:  # Keras slices one in-memory tensor with a shuffled index per batch
            self.gan.fit(self.data, batch_size=self.batch_size, shuffle=True, epochs=1, verbose=0,
                         callbacks=[clock])
        else:
            self.gan.fit(self.data, epochs=1, verbose=0, shuffle=False, callbacks=[clock])
        self.call_overheads.append(time.perf_counter() - start - clock.seconds[0])
        return clock.seconds[0]

    def traces(self):
        return len(self._traces)


class LabLoop:
    """The lab's training loop, as in the TensorFlow DCGAN tutorial it follows.

    A `@tf.function` step with two GradientTapes over
    `Dataset.from_tensor_slices(x).shuffle(N).batch(B)`, the same networks and
    Adam(lr, beta_1=0.5). One change: the noise batch follows the image batch
    (the tutorial draws a full BATCH_SIZE even for the last, partial batch), so
    both loops do the same arithmetic per epoch.
    """

    def __init__(self, images, size, precision, batch_size, learning_rate, seed, latent_dim=100):
        import keras
        import tensorflow as tf

        from tuner.dcgan import build_discriminator, build_generator, mixed_policy_name

        dtype = mixed_policy_name() if precision == "mixed" else "float32"
        keras.utils.set_random_seed(seed)
        self.generator = build_generator(size, latent_dim, dtype)
        self.discriminator = build_discriminator(size, dtype)
        self.g_optimizer, self.d_optimizer = _adam(learning_rate), _adam(learning_rate)
        self.cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True)
        self.latent_dim = latent_dim
        self.dataset = tf.data.Dataset.from_tensor_slices(images).shuffle(len(images)).batch(
            batch_size)
        self.traced_batches = []
        self.step = tf.function(self._step)

    def _step(self, images):
        import tensorflow as tf

        self.traced_batches.append(images.shape[0])  # Python runs only while tracing
        noise = tf.random.normal([tf.shape(images)[0], self.latent_dim])
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = self.generator(noise, training=True)
            real_logits = self.discriminator(images, training=True)
            fake_logits = self.discriminator(fake, training=True)
            g_loss = self.cross_entropy(tf.ones_like(fake_logits), fake_logits)
            d_loss = (self.cross_entropy(tf.ones_like(real_logits), real_logits)
                      + self.cross_entropy(tf.zeros_like(fake_logits), fake_logits))
        self._apply(self.g_optimizer, g_tape, g_loss, self.generator)
        self._apply(self.d_optimizer, d_tape, d_loss, self.discriminator)
        return g_loss, d_loss

    @staticmethod
    def _apply(optimizer, tape, loss, network):
        weights = network.trainable_variables
        optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights))

    def epoch(self):
        start = time.perf_counter()
        for batch in self.dataset:
            losses = self.step(batch)
        float(losses[0])  # wait for the last step, as Keras does when it reads the logs
        return time.perf_counter() - start


# ---------------------------------------------------------------------------
# Scoring


def _embedded_faces():
    from tuner.data import load_faces

    return load_faces("lfw-subset")


def time_scoring(config, faces, scratch):
    """Seconds to score one generator with `onet` and, if its weights are here, `inception`."""
    timings = [_time_scorer(config, faces, "onet", None, scratch)]
    weights = inception_weights()
    if not config.inception:
        timings.append(ScoringTiming("inception", skipped="skipped: not in --quick"))
    elif weights is None:
        timings.append(ScoringTiming("inception", skipped="skipped: weights not present"))
    else:
        timings.append(_time_scorer(config, faces, "inception", str(weights), scratch))
    return timings


def inception_weights():
    """InceptionV3's no-top ImageNet weights in Keras' cache, or None (never downloaded here)."""
    from tuner.features import INCEPTION_WEIGHTS_FILE

    home = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras")
    path = home / "models" / INCEPTION_WEIGHTS_FILE
    return path if path.is_file() else None


def _time_scorer(config, faces, features, weights, scratch):
    import keras

    from tuner.config import ScoringConfig
    from tuner.dcgan import build_generator
    from tuner.features import get_extractor
    from tuner.scoring import Scorer, reference_features

    size = QUICK_BEST["image_size"]
    extractor = get_extractor(features, weights)
    cache = scratch / f"cache-{features}"
    reference = _timed(lambda: reference_features(faces, size, extractor, cache))
    cached = _timed(lambda: reference_features(faces, size, extractor, cache))
    scorer = Scorer(faces, ScoringConfig(features=features, features_weights=weights,
                                         samples=config.samples, cache_dir=str(cache)), size,
                    extractor=extractor)
    keras.utils.set_random_seed(config.seed)
    generator = build_generator(size)
    cold = _timed(lambda: scorer.score_generator(generator))
    latent = scorer.latents(generator.input_shape[-1])
    images = generator.predict(latent, batch_size=500, verbose=0)
    features_only = _median_call(lambda: scorer.features(images), config.score_repeats)
    timing = ScoringTiming(
        features=extractor.name, samples=config.samples, eval_size=size,
        seconds=_median_call(lambda: scorer.score_generator(generator), config.score_repeats),
        cold_seconds=cold,
        generation=_median_call(lambda: generator.predict(latent, batch_size=500, verbose=0),
                                config.score_repeats),
        feature_seconds=features_only,
        metrics=_median_call(lambda: scorer.score_images(images), config.score_repeats)
        - features_only,
        reference_seconds=reference, reference_cached_seconds=cached)
    log.info("scoring with %s: %.2f s (cold %.2f s)", timing.features, timing.seconds, cold)
    return timing


def _timed(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


# ---------------------------------------------------------------------------
# Trials as keras-tuner runs them


def quick_settings(**overrides):
    """The quick space's fixed training settings (epochs, batch size, precision...), overridden."""
    from tuner.hypermodel import TrainSettings
    from tuner.spaces import load_space

    train = load_space("quick").train
    settings = TrainSettings(epochs=train["epochs"], batch_size=train["batch_size"],
                             eval_every=train["eval_every"], latent_dim=train["latent_dim"],
                             precision=train["precision"])
    return replace(settings, **overrides)


def _quick_hypermodel(faces, scorer, settings):
    from tuner.hypermodel import DCGANHyperModel
    from tuner.spaces import load_space

    return DCGANHyperModel(load_space("quick"), faces, scorer, settings)


def _best_hyperparameters(hypermodel):
    import keras_tuner as kt

    hp = kt.HyperParameters()
    hypermodel.declare_hyperparameters(hp)
    hp.values.update(QUICK_BEST)
    return hp


def _scorer(config, faces, scratch, extractor=None):
    from tuner.config import ScoringConfig
    from tuner.scoring import Scorer

    return Scorer(faces, ScoringConfig(samples=config.samples, cache_dir=str(scratch / "cache")),
                  QUICK_BEST["image_size"], extractor=extractor)


def run_trial(hypermodel, hp, trial_dir, callbacks=(), prepare=None):
    """One trial as keras-tuner runs it: clear the session, build, fit (which scores).

    `prepare(model)`, if given, changes the built model before it trains.

    Returns:
        (result, evaluations, traces): `fit`'s result dict, the rows of the
        trial's evaluations.json and the number of train-step traces.
    """
    import keras

    from tuner import files

    keras.backend.clear_session()
    gc.collect()
    model = hypermodel.build(hp)
    if prepare:
        prepare(model)
    traces = count_traces(model)
    result = hypermodel.fit(hp, model, callbacks=list(callbacks), trial_dir=str(trial_dir))
    evaluations = files.read_json(Path(trial_dir) / "evaluations.json")["evaluations"]
    return result, evaluations, len(traces)


def time_quick_trial(config, faces, scratch):
    """A shortened quick-space trial (two evaluations), scaled to the space's epochs."""
    full = quick_settings()
    short = replace(full, epochs=config.trial_epochs, eval_every=max(1, config.trial_epochs // 2))
    hypermodel = _quick_hypermodel(faces, _scorer(config, faces, scratch), short)
    clock = epoch_clock_class()()
    _, evaluations, traces = run_trial(hypermodel, _best_hyperparameters(hypermodel),
                                       scratch / "trial_share", callbacks=[clock])
    seconds = [row["seconds"] for row in evaluations]
    share = TrialShare(
        epochs=full.epochs, eval_every=full.eval_every,
        evaluations=math.ceil(full.epochs / full.eval_every), batch_size=full.batch_size,
        precision=full.precision, images=2 * len(faces),
        seconds_per_epoch=_training_seconds(clock.seconds, evaluations),
        eval_cold=seconds[0],
        eval_warm=statistics.median(seconds[1:] or seconds), measured_epochs=config.trial_epochs,
        traces=traces)
    log.info("quick-space trial: %.3f s/epoch, scoring %.1f%% of %.0f s", share.seconds_per_epoch,
             100 * share.share, share.trial_seconds)
    return share


def _training_seconds(epoch_seconds, evaluations):
    """Median seconds per epoch of training alone, the first (tracing) epoch left out.

    The clock's epochs include the evaluation that ran at their end (the
    trial's own callback runs first), so each evaluation's seconds come off.
    """
    scoring = {row["epoch"]: row["seconds"] for row in evaluations}
    training = [seconds - scoring.get(epoch, 0.0)
                for epoch, seconds in enumerate(epoch_seconds, start=1)]
    return statistics.median(training[1:] or training)


class CountingExtractor:
    """Wraps a feature extractor and counts how often the real faces go through it."""

    def __init__(self, extractor, reference):
        self._extractor, self._reference = extractor, reference
        self.reference_calls = 0

    def __getattr__(self, name):
        return getattr(self._extractor, name)

    def __call__(self, images):
        if images is self._reference:
            self.reference_calls += 1
        return self._extractor(images)


def trace_memory(config, faces, scratch):
    """Resident memory and train-step traces after each of a sequence of short trials."""
    from tuner.features import get_extractor

    size = QUICK_BEST["image_size"]
    extractor = CountingExtractor(get_extractor("onet"), faces.at_size(size))
    # An empty cache of its own: the one reference computation of the study is counted.
    settings = quick_settings(epochs=config.memory_epochs, eval_every=config.memory_epochs)
    hypermodel = _quick_hypermodel(faces, _scorer(config, faces, scratch / "memory", extractor),
                                   settings)
    hp = _best_hyperparameters(hypermodel)
    trace = MemoryTrace()
    for number in range(config.memory_trials):
        _, _, traces = run_trial(hypermodel, hp, scratch / "memory" / f"trial_{number:02d}")
        trace.traces.append(traces)
        trace.rss_mb.append(_rss_mb())
        trace.peak_mb.append(_peak_rss_mb())
        log.info("trial %d: RSS %.0f MB, peak %.0f MB, %d trace(s)", number + 1,
                 trace.rss_mb[-1], trace.peak_mb[-1], traces)
    trace.reference_computations = extractor.reference_calls
    for number in range(config.memory_trials):
        _, _, traces = run_trial(hypermodel, hp, scratch / "memory" / f"fixed_{number:02d}",
                                 prepare=apply_across_replicas)
        trace.fixed_traces.append(traces)
        trace.fixed_rss_mb.append(_rss_mb())
        log.info("trial %d, proposed fix: RSS %.0f MB", number + 1, trace.fixed_rss_mb[-1])
    return trace


def apply_across_replicas(model):
    """The fix proposed for `DCGAN._apply`, applied to one model.

    Keras' TF optimizer all-reduces the gradients when it is called in a
    replica context, as `fit` calls `train_step`. TF's all_reduce registers a
    custom gradient in TF's global gradient registry on every trace, and that
    entry keeps the traced graph, hence the trial's variables and Adam slots,
    alive for the rest of the process: tens of MB per trial. Applying the
    update through `merge_call` (cross-replica context) skips the all-reduce,
    which with one replica is the identity anyway.
    """
    import tensorflow as tf

    def apply(optimizer, grads, weights):
        tf.distribute.get_replica_context().merge_call(
            lambda strategy: optimizer.apply_gradients(zip(grads, weights)))

    model._apply = apply  # the instance attribute shadows DCGAN._apply for this model only


def _rss_mb():
    for line in _read("/proc/self/status").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return _peak_rss_mb()


def _peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


# ---------------------------------------------------------------------------
# Fast paths tried


def try_fast_paths(config, faces):
    """Seconds per epoch of each candidate fast path against the tool's fit, in alternation."""
    lab_setting = ("lab", config.experiment_size, lab_images(config.images, config.experiment_size,
                                                            config.seed), config.batch_size)
    quick_images = faces.training_images(QUICK_BEST["image_size"])
    quick_setting = ("quick", QUICK_BEST["image_size"], quick_images, 16)
    experiments = []
    for name, size, images, batch_size in (lab_setting, quick_setting):
        for precision in config.precisions:
            experiments += _try_variants(config, f"{name} {size}px b{batch_size} {precision}",
                                         size, images, batch_size, precision)
    return experiments


def _try_variants(config, setting, size, images, batch_size, precision):
    import keras

    keras.backend.clear_session()
    steps = math.ceil(len(images) / batch_size)
    runners = {
        "fit (tool)": FitRunner(_tool_gan(size, precision, config), images, batch_size,
                                config.seed),
        "jit_compile=True": FitRunner(_tool_gan(size, precision, config, jit_compile=True),
                                      images, batch_size, config.seed),
        "array slicing": FitRunner(_tool_gan(size, precision, config), images, batch_size,
                                   config.seed, array=True),
        "tf.data autotune off": FitRunner(_tool_gan(size, precision, config), images, batch_size,
                                          config.seed, autotune=False),
        f"steps_per_execution={steps}": FitRunner(
            _tool_gan(size, precision, config, steps_per_execution=steps), images, batch_size,
            config.seed),
    }
    seconds = interleave({name: runner.epoch for name, runner in runners.items()}, config.epochs)
    baseline = seconds["fit (tool)"]
    for name, value in seconds.items():
        log.info("%s, %s: %.3f s/epoch (x%.2f)", setting, name, value, baseline / value)
    return [Experiment(setting, name, value, baseline, runners[name].traces(),
                       statistics.median(runners[name].call_overheads))
            for name, value in seconds.items()]


# ---------------------------------------------------------------------------
# Score quality: mixed against float32


def compare_precisions(config, faces, scratch):
    """The quick space's best setting, full length, in each precision and seed."""
    scorer = _scorer(config, faces, scratch)
    runs = []
    for precision in config.precisions:
        for seed in range(config.quality_seeds):
            hypermodel = _quick_hypermodel(faces, scorer,
                                           quick_settings(precision=precision, seed=seed))
            result, _, _ = run_trial(hypermodel, _best_hyperparameters(hypermodel),
                                     scratch / f"quality_{precision}_{seed}")
            runs.append(QualityRun(precision, seed, result["kid"], result["kid_std"],
                                   int(result["best_epoch"]), result["final_kid"],
                                   result["seconds_per_epoch"]))
            log.info("quality %s seed %d: KID %.4f (best, epoch %d), final %.4f", precision, seed,
                     runs[-1].kid, runs[-1].best_epoch, runs[-1].final_kid)
    return runs


# ---------------------------------------------------------------------------
# Goals of issue 7


@dataclass
class Goal:
    name: str
    measured: str
    met: bool | None              # None: not measured in this run


def goals(report):
    """Each goal of issue 7: what was measured and whether it is met."""
    return [_fit_goal(report), _mixed_goal(report), _scoring_goal(report),
            _reference_goal(report), _tracing_goal(report), _memory_goal(report),
            _quality_goal(report)]


def _fit_goal(report):
    ratios = [t.fit_seconds / t.lab_seconds for t in report.epochs]
    return Goal(f"fit at least as fast as the lab loop (fit/lab <= {FIT_TOLERANCE})",
                "fit/lab " + " ".join(f"{t.size}{_short(t.precision)}:{r:.2f}"
                                      for t, r in zip(report.epochs, ratios)),
                all(r <= FIT_TOLERANCE for r in ratios))


def _short(precision):
    return "m" if precision == "mixed" else "f"


def mixed_speedups(report):
    """Size -> float32 seconds / mixed seconds per epoch of fit."""
    by_key = {(t.size, t.precision): t.fit_seconds for t in report.epochs}
    return {size: by_key[size, "float32"] / by_key[size, "mixed"] for size, precision in by_key
            if precision == "mixed" and (size, "float32") in by_key}


def _mixed_goal(report):
    speedups = mixed_speedups(report)
    if not speedups:
        return Goal(f"mixed >= {MIXED_SPEEDUP_GOAL}x float32", "not measured", None)
    return Goal(f"mixed >= {MIXED_SPEEDUP_GOAL}x float32 per epoch",
                " ".join(f"{size}:x{value:.2f}" for size, value in speedups.items()),
                all(value >= MIXED_SPEEDUP_GOAL for value in speedups.values()))


def _scoring_goal(report):
    trial = report.trial
    return Goal(f"scoring < {SCORING_SHARE_GOAL:.0%} of a quick-space trial",
                f"{trial.share:.1%} ({trial.scoring_seconds:.1f} s of {trial.trial_seconds:.0f} s)",
                trial.share < SCORING_SHARE_GOAL)


def _reference_goal(report):
    memory = report.memory
    return Goal("reference features computed once per study",
                f"{memory.reference_computations} computation(s) over {len(memory.traces)} trials",
                memory.reference_computations == 1)


def _tracing_goal(report):
    counts = ([t.fit_traces for t in report.epochs] + report.memory.traces
              + report.memory.fixed_traces + [report.trial.traces])
    return Goal("train step traced once per trial",
                f"traces per model: {sorted(set(counts))}", set(counts) == {1})


def _memory_goal(report):
    memory = report.memory
    trials = len(memory.rss_mb)
    return Goal(f"RSS flat over trials (growth < {MEMORY_GROWTH_MB:.0f} MB, trial 2 to {trials})",
                f"{memory.growth_mb:+.0f} MB as is, {memory.fixed_growth_mb:+.0f} MB with the "
                f"proposed DCGAN._apply fix", memory.growth_mb < MEMORY_GROWTH_MB
                if trials > 2 else None)


def _quality_goal(report):
    name = "mixed KID no worse than float32 beyond seed noise (2 standard errors)"
    kid = {p: [r.kid for r in report.quality if r.precision == p] for p in ("float32", "mixed")}
    if min(len(values) for values in kid.values()) < 2:
        return Goal(name, "not measured (run with --quality, 2 seeds or more)", None)
    difference = statistics.mean(kid["mixed"]) - statistics.mean(kid["float32"])
    error = math.sqrt(sum(statistics.variance(v) / len(v) for v in kid.values()))
    return Goal(name, f"best KID mixed {statistics.mean(kid['mixed']):.4f} vs float32 "
                      f"{statistics.mean(kid['float32']):.4f}: {difference:+.4f} = "
                      f"{difference / error:.1f} SE over {len(kid['mixed'])} seeds",
                difference <= 2 * error)
