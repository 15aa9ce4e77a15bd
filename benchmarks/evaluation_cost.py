"""What one evaluation costs, stage by stage, at the lab-mini space's settings; and its share of a run.

    python benchmarks/evaluation_cost.py [--sizes 16 32 64] [--epochs 12] [--repeats 5]
                                         [--features onet|fer|inception]
    python benchmarks/evaluation_cost.py --noise 5 --features onet fer --variants default

For each image size the lab-mini space trains (embedded faces, 20% held out, flips,
batch 16, its precision; scored at its evaluation size 64 with the default
`ScoringConfig`), one DCGAN trains `--epochs` epochs, then the run's own `Evaluation`
callback scores it: once cold (the run's first evaluation traces the generator's
predict function) and `--repeats` times warm, the sizes in alternation so every size
sees the same machine load. Each stage's seconds are timed inside the real call:

    generate   the study's latent batch through the generator (predict, or the scorer's own calls)
    pixels     quantise to uint8 and resize to the evaluation size
    features   the frozen network (its own resize to its input size included)
    fd, kid, density_coverage, swd   the metrics (swd: slicing the generated set + distance)
    other      the rest of the evaluation: sample spread, grid PNG, evaluations.json

It prints the median of the warm evaluations per stage, the cold one's total, the
epoch time (10th percentile of the epochs after the first, and the median), and the
share of a lab-mini run spent scoring: 5 evaluations (one cold) against 100 epochs.

With ``--noise K`` it measures instead how noisy the scores are between training
seeds: K runs of lab-mini's baseline (32x32, lr 2e-4) train ``--noise-epochs``
epochs each (or ``--generators`` gives saved generators), and every final generator
is scored under each scoring variant (the defaults, the reference code's KID over
100 subsets of 1000, and fewer samples), printing per variant the mean and the
standard deviation over seeds of kid, kid_heldout, fd and swd, and the sd over
``--latent-seeds`` latent batches of the first generator (the estimator's own noise).

Run it on an otherwise idle machine; the load average is printed. It runs against
whatever `tuner` package is first on sys.path, so an older checkout can be measured
by putting it first on PYTHONPATH. This script is not installed with the tool.
"""

import argparse
import collections
import functools
import os
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

STAGES = ("generate", "pixels", "features", "fd", "kid", "density_coverage", "swd", "other")
# Functions timed as a stage, by module; a name a version of the tool lacks is skipped.
TIMED = {
    "tuner.metrics.distances": {"frechet_distance": "fd", "kernel_distance": "kid",
                                "kernel_row_sums": "kid", "all_pairs_kid": "kid",
                                "density_coverage": "density_coverage"},
    "tuner.metrics.swd": {"set_slices": "swd", "distance": "swd"},
    "tuner.metrics.scoring": {"resize_uint8": "pixels", "to_uint8": "pixels"},
}
RUN_EPOCHS, RUN_EVALUATIONS = 100, 5   # lab-mini: 100 epochs, scored every 20


class StageClock:
    """Seconds per stage, summed over the timed calls since the last `reset` (outermost only)."""

    def __init__(self):
        self.seconds = collections.defaultdict(float)
        self._depth = 0

    def reset(self):
        self.seconds.clear()

    def wrap(self, function, stage):
        @functools.wraps(function)
        def timed(*args, **kwargs):
            self._depth += 1
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self.seconds[stage] += time.perf_counter() - start
        return timed


def install(clock):
    import importlib

    for module_name, functions in TIMED.items():
        module = importlib.import_module(module_name)
        for name, stage in functions.items():
            if hasattr(module, name):
                setattr(module, name, clock.wrap(getattr(module, name), stage))


class TimedExtractor:
    """The scorer's feature network, its calls timed as the `features` stage."""

    def __init__(self, extractor, clock):
        self._extractor, self._timed = extractor, clock.wrap(extractor.__call__, "features")

    def __getattr__(self, name):
        return getattr(self._extractor, name)

    def __call__(self, images):
        return self._timed(images)


class EpochClock:
    def __init__(self):
        import keras

        class Clock(keras.callbacks.Callback):
            def on_epoch_begin(inner, epoch, logs=None):
                inner.start = time.perf_counter()

            def on_epoch_end(inner, epoch, logs=None):
                self.seconds.append(time.perf_counter() - inner.start)

        self.seconds, self.callback = [], Clock()


def percentile_10(values):
    """The 10th percentile of the epochs after the first (numpy's linear interpolation)."""
    later = values[1:] or values
    return float(np.percentile(later, 10))


def prepare(size, args, faces, pool, settings, scorer, train_indices, scratch, clock):
    """A DCGAN of `size` trained `--epochs` epochs, its epoch times, and its Evaluation."""
    import keras

    from tuner.gan.dcgan import build_dcgan
    from tuner.study.evaluation import Evaluation

    keras.utils.set_random_seed(args.seed)
    gan = build_dcgan(size, 2e-4, 0.5, settings.latent_dim, settings.precision, args.seed)
    images = faces.training_images(size, 1.0, args.seed, settings.flip, pool=pool)
    epochs = EpochClock()
    gan.fit(dataset(images, settings.batch_size, args.seed), epochs=args.epochs, verbose=0,
            callbacks=[epochs.callback])
    evaluation = Evaluation(scorer, replace(settings, epochs=RUN_EPOCHS), scratch / f"s{size}"
                            / "samples", RUN_EPOCHS, train_indices, None)
    evaluation.set_model(gan)
    gan.generator.predict = clock.wrap(gan.generator.predict, "generate")  # this instance only
    return evaluation, epochs.seconds


def dataset(images, batch_size, seed):
    import tensorflow as tf

    return (tf.data.Dataset.from_tensor_slices(images).cache()
            .shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
            .batch(batch_size).prefetch(tf.data.AUTOTUNE))


def evaluate(evaluation, clock, epoch):
    """One evaluation through the run's callback: {stage: seconds, "total": seconds}."""
    clock.reset()
    start, cpu = time.perf_counter(), time.process_time()
    evaluation._evaluate(epoch, {"g_loss": 1.0, "d_loss": 1.0})
    total = time.perf_counter() - start
    stages = {stage: clock.seconds.get(stage, 0.0) for stage in STAGES[:-1]}
    stages["other"] = total - sum(stages.values())
    return {**stages, "total": total, "cpu": time.process_time() - cpu}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[16, 32, 64])
    parser.add_argument("--epochs", type=int, default=12, help="epochs trained per size (12)")
    parser.add_argument("--repeats", type=int, default=5, help="warm evaluations per size (5)")
    parser.add_argument("--subset", action="store_true",
                        help="score as a half-data trial does (one more KID, against its images)")
    parser.add_argument("--eval-size", type=int, default=64,
                        help="the evaluation size (lab-mini's: 64, its largest image size)")
    parser.add_argument("--samples", type=int, default=None,
                        help="generated images per evaluation (default: the tool's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--features", nargs="+", default=[None],
                        help="the frozen network scored with (default: the tool's default); "
                             "--noise scores the same generators with each network given")
    parser.add_argument("--variants", nargs="+", default=None,
                        help="--noise: the scoring variants to measure (default: all)")
    parser.add_argument("--noise", type=int, default=0, metavar="K",
                        help="measure the between-seed sd of K baseline runs instead")
    parser.add_argument("--noise-epochs", type=int, default=100)
    parser.add_argument("--latent-seeds", type=int, default=10,
                        help="latent batches the first generator is scored on (10)")
    parser.add_argument("--generators", nargs="+", default=(),
                        help="saved .keras generators to score instead of training --noise runs")
    args = parser.parse_args(argv)
    if args.noise or args.generators:
        return noise(args)
    if len(args.features) > 1:
        parser.error("one --features network at a time, but with --noise")

    import tuner
    from tuner.common.config import ScoringConfig, SearchConfig
    from tuner.data.face_sets import load_faces
    from tuner.metrics.scoring import Scorer
    from tuner.spaces.space import load_space
    from tuner.study.inputs import train_settings

    space = load_space("lab-mini")
    settings = train_settings(space, SearchConfig())
    faces = load_faces("lfw-subset")
    pool, heldout = faces.split(0.2, 0)
    clock = StageClock()
    install(clock)
    scratch = Path(tempfile.mkdtemp(prefix="evaluation-cost-"))
    config = ScoringConfig(features=args.features[0], cache_dir=str(scratch / "cache"))
    config = replace(config, samples=args.samples) if args.samples else config
    scorer = Scorer(faces, config, args.eval_size,
                    flip=settings.flip, holdout=heldout, holdout_fraction=0.2, holdout_seed=0,
                    rank_by=settings.rank_by)
    scorer.extractor = TimedExtractor(scorer.extractor, clock)
    if hasattr(scorer, "generate"):  # versions that call the generator themselves
        scorer.generate = clock.wrap(scorer.generate, "generate")
    train_indices = faces.subset_indices(0.5, 0, pool=pool) if args.subset else None
    print(f"tuner from {Path(tuner.__file__).parent}; load average before "
          f"{os.getloadavg() if hasattr(os, 'getloadavg') else 'unknown'}", flush=True)
    runs = {size: prepare(size, args, faces, pool, settings, scorer, train_indices, scratch, clock)
            for size in args.sizes}
    cold = {size: evaluate(runs[size][0], clock, 20) for size in args.sizes}
    warm = {size: [] for size in args.sizes}
    for repeat in range(args.repeats):
        for size in args.sizes:
            warm[size].append(evaluate(runs[size][0], clock, 40 + 20 * repeat))
    report(args, settings, scorer, runs, cold, warm)


def report(args, settings, scorer, runs, cold, warm):
    print(f"\nprotocol: samples {scorer.protocol.n_fake}, eval size {scorer.protocol.eval_size}, "
          f"{scorer.protocol.features}, KID subsets {scorer.protocol.kid_subsets} of "
          f"{scorer.protocol.kid_subset_size}; precision {settings.precision}; "
          f"subset trial: {args.subset}")
    for name, reduce in (("median", statistics.median), ("fastest (min)", min)):
        print(f"seconds per warm evaluation, {name} of {args.repeats}, by stage "
              "(cpu: the process's CPU seconds; cold: the run's first evaluation):")
        print(f"{'size':>4} " + " ".join(f"{s:>9.9}" for s in STAGES)
              + f" {'total':>7} {'cpu':>7} {'cold':>7}")
        for size in args.sizes:
            value = {k: reduce([row[k] for row in warm[size]]) for k in (*STAGES, "total", "cpu")}
            print(f"{size:>4} " + " ".join(f"{value[s]:>9.3f}" for s in STAGES)
                  + f" {value['total']:>7.3f} {value['cpu']:>7.3f} {cold[size]['total']:>7.3f}")
    print(f"\nshare of a lab-mini run spent scoring ({RUN_EVALUATIONS} evaluations, one cold, "
          f"against {RUN_EPOCHS} epochs):")
    print(f"{'size':>4} {'p10 s/ep':>9} {'med s/ep':>9} {'scoring s':>10} {'share p10':>10} "
          f"{'share med':>10}")
    for size in args.sizes:
        epochs = runs[size][1]
        scoring = cold[size]["total"] + (RUN_EVALUATIONS - 1) * statistics.median(
            row["total"] for row in warm[size])
        p10, median = percentile_10(epochs), statistics.median(epochs[1:] or epochs)
        shares = [scoring / (scoring + RUN_EPOCHS * s) for s in (p10, median)]
        print(f"{size:>4} {p10:>9.3f} {median:>9.3f} {scoring:>10.2f} {shares[0]:>10.1%} "
              f"{shares[1]:>10.1%}")
    print(f"load average after {os.getloadavg() if hasattr(os, 'getloadavg') else 'unknown'}")


NOISE_SCORES = ("kid", "kid_heldout", "fd", "swd")


def scoring_variants():
    from tuner.common.config import ScoringConfig

    return {"default": ScoringConfig(),
            "kid 100x1000": ScoringConfig(kid_subsets=100, kid_subset_size=1000),
            "1000 samples": ScoringConfig(samples=1000),
            "500 samples": ScoringConfig(samples=500)}


def noise(args):
    """Between-seed sd of the final scores of the baseline, per scoring variant."""
    import keras

    from tuner.common.config import SearchConfig
    from tuner.data.face_sets import load_faces
    from tuner.metrics.scoring import Scorer
    from tuner.spaces.space import load_space
    from tuner.study.inputs import train_settings

    settings = train_settings(load_space("lab-mini"), SearchConfig())
    faces = load_faces("lfw-subset")
    pool, heldout = faces.split(0.2, 0)
    generators = [keras.models.load_model(path, compile=False) for path in args.generators]
    for seed in range(len(generators), args.noise):
        from tuner.gan.dcgan import build_dcgan

        keras.utils.set_random_seed(seed)
        gan = build_dcgan(32, 2e-4, 0.5, settings.latent_dim, settings.precision, seed)
        images = faces.training_images(32, 1.0, 0, settings.flip, pool=pool)
        gan.fit(dataset(images, settings.batch_size, seed), epochs=args.noise_epochs, verbose=0)
        generators.append(gan.generator)
    cache = tempfile.mkdtemp(prefix="evaluation-noise-")
    print(f"{len(generators)} generators; scores: mean, sd over seeds, sd over "
          f"{args.latent_seeds} latent seeds of the first")
    variants = [(features, name, config) for features in args.features
                for name, config in scoring_variants().items()
                if args.variants is None or name in args.variants]
    for features, name, config in variants:
        config = replace(config, cache_dir=cache, features=features)
        scorer = Scorer(faces, config, args.eval_size, flip=settings.flip, holdout=heldout,
                        holdout_fraction=0.2, holdout_seed=0, rank_by=settings.rank_by)
        start = time.perf_counter()
        rows = [scorer.score_generator(g)[0] for g in generators]
        seconds = (time.perf_counter() - start) / len(generators)
        latent = []
        for latent_seed in range(args.latent_seeds):
            other = Scorer(faces, replace(config, latent_seed=latent_seed), args.eval_size,
                           flip=settings.flip, holdout=heldout, holdout_fraction=0.2,
                           holdout_seed=0, extractor=scorer.extractor)
            latent.append(other.score_generator(generators[0])[0])
        cells = [f"{k} {statistics.fmean(r[k] for r in rows):.4g} "
                 f"sd {statistics.stdev(r[k] for r in rows):.3g} "
                 f"latent sd {statistics.stdev(r[k] for r in latent):.3g}"
                 for k in NOISE_SCORES]
        print(f"{scorer.protocol.features} {name:<13} ({seconds:.2f} s each): " + "; ".join(cells),
              flush=True)
        for index, row in enumerate(rows):
            print(f"    seed {index}: " + "  ".join(f"{k} {row[k]:.5g}" for k in NOISE_SCORES))


if __name__ == "__main__":
    main()
