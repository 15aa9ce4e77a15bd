"""One-off experiment: fast paths for `DCGAN.fit` on a CPU, against the tool's own fit.

    python benchmarks/fast_paths.py [--size 32] [--epochs 3]

Times, in alternation (so every variant sees the same machine load), seconds
per epoch of the tool's fit and of four variants, at the lab's setting (530
random images plus flips, batch 256) and at the quick space's (the 100
embedded faces plus flips, batch 16), in float32 and mixed precision:

* `jit_compile=True` (XLA);
* array slicing: `fit(x=array, batch_size=B, shuffle=True)` instead of tf.data;
* tf.data's autotuner off (`options.autotune.enabled = False`);
* `steps_per_execution` = one epoch's steps (one call runs the whole epoch).

What it showed on a 2-core AMD EPYC (Zen 4, AVX512-BF16), TF 2.21, so the tool
keeps its plain `fit` over tf.data:
* XLA is 1.3-2.6x slower at every size and precision: not used.
* `steps_per_execution` retraces the step and saved nothing measurable.
* Array slicing matched tf.data within noise.
* Autotune off removed an occasional 0-17 s stall per fit call (once per
  trial, outside the epochs); not adopted until measured on more machines.

This script is not installed with the tool; run it from a checkout.
"""

import argparse
import math
import time

from tuner.bench.epochs import FitRunner, interleave, lab_images, tool_gan
from tuner.bench.trials import QUICK_BEST, embedded_faces


class ArrayFitRunner(FitRunner):
    """Keras slices one in-memory array with a shuffled index per batch: no tf.data."""

    def fit(self, clock):
        self.gan.fit(self.images, batch_size=self.batch_size, shuffle=True, epochs=1, verbose=0,
                     callbacks=[clock])


class NoAutotuneFitRunner(FitRunner):
    """The tool's stream with tf.data's autotuner switched off."""

    def __init__(self, gan, images, batch_size, seed):
        import tensorflow as tf

        super().__init__(gan, images, batch_size, seed)
        options = tf.data.Options()
        options.autotune.enabled = False
        self.dataset = self.dataset.with_options(options)


def variants(config, size, images, batch_size, precision):
    """Name -> runner: the tool's fit and each fast path, each on a freshly built model."""
    steps = math.ceil(len(images) / batch_size)

    def gan(**compile_kwargs):
        return tool_gan(size, precision, config, **compile_kwargs)

    return {
        "fit (tool)": FitRunner(gan(), images, batch_size, config.seed),
        "jit_compile=True": FitRunner(gan(jit_compile=True), images, batch_size, config.seed),
        "array slicing": ArrayFitRunner(gan(), images, batch_size, config.seed),
        "tf.data autotune off": NoAutotuneFitRunner(gan(), images, batch_size, config.seed),
        f"steps_per_execution={steps}": FitRunner(gan(steps_per_execution=steps), images,
                                                  batch_size, config.seed),
    }


def try_setting(config, name, size, images, batch_size, precision):
    import keras

    keras.backend.clear_session()
    runners = variants(config, size, images, batch_size, precision)
    seconds = interleave({label: runner.epoch for label, runner in runners.items()},
                         config.epochs)
    baseline = seconds["fit (tool)"]
    for label, value in seconds.items():
        print(f"{name:<28}  {label:<26}  {value:>7.3f} s/epoch  x{baseline / value:.2f}  "
              f"traces {runners[label].gan.traces}", flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, default=32, help="image size of the lab setting (32)")
    p.add_argument("--epochs", type=int, default=3, help="timed epochs after a warm-up (3)")
    args = p.parse_args()
    config = argparse.Namespace(seed=0, learning_rate=2e-4, epochs=args.epochs)
    quick_size = QUICK_BEST["image_size"]
    settings = [("lab", args.size, lab_images(530, args.size), 256),
                ("quick", quick_size, embedded_faces().training_images(quick_size), 16)]
    start = time.perf_counter()
    for name, size, images, batch_size in settings:
        for precision in ("float32", "mixed"):
            try_setting(config, f"{name} {size}px b{batch_size} {precision}", size, images,
                        batch_size, precision)
    print(f"took {(time.perf_counter() - start) / 60:.1f} min")


if __name__ == "__main__":
    main()
