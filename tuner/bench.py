"""`python -m tuner.bench`: what a trial costs on this machine, as a table to paste into an issue.

    python -m tuner.bench                 # the full run (about 15 minutes on 2 cores)
    python -m tuner.bench --quick         # a smoke test: one size, tiny data (under a minute)
    python -m tuner.bench --quality       # also train the quick space's best setting in both
                                          # precisions and seeds, to compare their KID

Run it on an otherwise idle machine: the load average is printed with the table.
"""

import argparse
import sys
import time
from dataclasses import replace

from tuner import console
from tuner.benchmark import QUICK, BenchConfig


def parser():
    p = argparse.ArgumentParser(prog="python -m tuner.bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="tiny settings: size 32, 64 images, 1 timed epoch, 200 samples")
    p.add_argument("--sizes", type=int, nargs="+", help="image sizes (default 32 64 128)")
    p.add_argument("--epochs", type=int, help="timed epochs per measurement after a warm-up (3)")
    p.add_argument("--samples", type=int, help="generated images per scoring (2000)")
    p.add_argument("--memory-trials", type=int, help="trials in the memory sequence (5)")
    p.add_argument("--no-experiments", dest="experiments", action="store_false", default=None,
                   help="skip the fast paths tried (XLA, array slicing, steps_per_execution)")
    p.add_argument("--quality", action="store_true", default=None,
                   help="train the quick space's best setting, float32 and mixed, "
                        "--quality-seeds seeds each, and compare KID (slow)")
    p.add_argument("--quality-seeds", type=int, help="seeds per precision for --quality (2)")
    console.add_common_flags(p)
    return p


def config_from(args):
    """The defaults (or QUICK's), overridden by every flag given."""
    base = QUICK if args.quick else BenchConfig()
    flags = {"sizes": tuple(args.sizes) if args.sizes else None, "epochs": args.epochs,
             "samples": args.samples, "memory_trials": args.memory_trials,
             "experiments": args.experiments, "quality": args.quality,
             "quality_seeds": args.quality_seeds}
    return replace(base, **{k: v for k, v in flags.items() if v is not None})


def check(config):
    from tuner.config import check_image_size
    from tuner.errors import UsageError

    for size in config.sizes:
        check_image_size(size)
    for flag in ("epochs", "samples", "memory_trials", "quality_seeds"):
        if getattr(config, flag) < 1:
            raise UsageError(f"--{flag.replace('_', '-')} must be a positive integer, "
                             f"got {getattr(config, flag)}")


def main(argv=None):
    args = parser().parse_args(sys.argv[1:] if argv is None else argv)
    console.setup_logging(verbose=not args.quiet)
    config = config_from(args)

    def job():
        from tuner.benchmark import run_benchmark

        check(config)
        console.quiet_tensorflow()
        print(format_report(run_benchmark(config)))
        return 0

    return console.run_cli(job, args)


# ---------------------------------------------------------------------------
# The table


def format_report(report):
    from tuner.benchmark import goals

    sections = [_header(report), _epochs(report), _scoring(report), _trial(report),
                _memory(report), _experiments(report), _quality(report), _goals(goals(report))]
    return "\n\n".join(section for section in sections if section)


def _header(report):
    m, c = report.machine, report.config
    env = ", ".join(f"{k}={v}" for k, v in m.env.items()) or "none set"
    rates = ", ".join(f"{dtype} {rate:.0f}" for dtype, rate in report.matmul.gflops.items())
    return "\n".join([
        f"tuner.bench, {time.strftime('%Y-%m-%d %H:%M')}, took {report.seconds / 60:.1f} min "
        f"(sizes {' '.join(map(str, c.sizes))}, {c.epochs} timed epoch(s), {c.samples} samples)",
        f"machine  {m.cpu}, {m.cores} cores, bfloat16 hardware: {m.bf16}",
        f"software Python {m.python}, TensorFlow {m.tensorflow}, Keras {m.keras}",
        f"threads  intra-op {m.intra_op_threads}, inter-op {m.inter_op_threads} "
        f"(0 = TF's default: all cores); env {env}",
        f"load     1/5/15-min load average {_load(m.load_before)} before, "
        f"{_load(m.load_after)} after",
        f"matmul   {report.matmul.size}x{report.matmul.size}: {rates} GFLOP/s "
        f"(the hardware's practical limit)"])


def _load(load):
    return "/".join(f"{value:.2f}" for value in load) if load else "-"


def _epochs(report):
    c = report.config
    first = report.epochs[0]
    lines = [f"Seconds per epoch: {c.images} images + flips = {first.images}, batch "
             f"{c.batch_size} (median of {c.epochs} epoch(s) after a warm-up; fit and the lab "
             f"loop alternate)",
             f"{'size':>4}  {'precision':<9}  {'fit s':>7}  {'lab loop':>8}  {'fit/lab':>7}  "
             f"{'lab report':>10}  {'traces fit/lab':>14}  {'GFLOP/epoch':>11}  "
             f"{'GFLOP/s':>7}  {'matmul GFLOP/s':>14}  {'share':>5}"]
    for t in report.epochs:
        reported = f"{t.lab_reported:.3f}" if t.lab_reported else "-"
        lines.append(
            f"{t.size:>4}  {t.precision:<9}  {t.fit_seconds:>7.3f}  {t.lab_seconds:>8.3f}  "
            f"{t.fit_seconds / t.lab_seconds:>7.2f}  {reported:>10}  "
            f"{f'{t.fit_traces}/{t.lab_traces}':>14}  {t.train_flops / 1e9:>11.0f}  "
            f"{t.gflops:>7.0f}  {t.matmul_gflops:>14.0f}  {t.peak_fraction:>5.0%}")
    lines.append(_speedups(report))
    overheads = [t.fit_call_overhead for t in report.epochs]
    lines.append(f"fit s: on_epoch_begin to on_epoch_end; a fit() call spent "
                 f"{min(overheads):.2f}..{max(overheads):.2f} s more outside its epoch (median "
                 f"per row), paid once per trial")
    lines.append(f"matmul: {report.matmul.size}x{report.matmul.size}, same precision, timed in "
                 f"the same rounds; share = GFLOP/s / matmul GFLOP/s")
    return "\n".join(lines)


def _speedups(report):
    from tuner.benchmark import mixed_speedups

    speedups = mixed_speedups(report)
    values = "  ".join(f"{size}: x{value:.2f}" for size, value in speedups.items())
    return f"mixed precision speed-up (float32 s / mixed s, fit): {values or '-'}"


def _scoring(report):
    lines = [f"Scoring one evaluation ({report.config.samples} samples at 32x32; median of "
             f"{report.config.score_repeats} after a cold call), seconds",
             f"{'features':<16}  {'total':>6}  {'cold':>6}  {'generate':>8}  {'features':>8}  "
             f"{'FD/KID/D&C':>10}  {'reference':>9}  {'cache hit':>9}"]
    for s in report.scoring:
        if s.skipped:
            lines.append(f"{s.features:<16}  {s.skipped}")
            continue
        lines.append(f"{s.features:<16}  {s.seconds:>6.2f}  {s.cold_seconds:>6.2f}  "
                     f"{s.generation:>8.2f}  {s.feature_seconds:>8.2f}  {s.metrics:>10.2f}  "
                     f"{s.reference_seconds:>9.2f}  {s.reference_cached_seconds:>9.3f}")
    return "\n".join(lines)


def _trial(report):
    t = report.trial
    return "\n".join([
        f"Quick-space trial: lfw-subset {t.images} images, 32x32, batch {t.batch_size}, "
        f"{t.precision}, {t.epochs} epochs, {t.evaluations} evaluations (measured on a "
        f"{t.measured_epochs}-epoch trial)",
        f"{'s/epoch':>7}  {'training s':>10}  {'eval cold':>9}  {'eval warm':>9}  "
        f"{'scoring s':>9}  {'trial s':>7}  {'scoring share':>13}",
        f"{t.seconds_per_epoch:>7.3f}  {t.epochs * t.seconds_per_epoch:>10.1f}  "
        f"{t.eval_cold:>9.2f}  {t.eval_warm:>9.2f}  {t.scoring_seconds:>9.1f}  "
        f"{t.trial_seconds:>7.0f}  {t.share:>13.1%}"])


def _memory(report):
    m = report.memory
    numbers = range(1, len(m.rss_mb) + 1)
    return "\n".join([
        f"Memory over {len(m.rss_mb)} trials in one process (clear_session, build, fit "
        f"{report.config.memory_epochs} epoch(s), score), MB",
        "trial                " + "".join(f"{n:>7}" for n in numbers),
        "RSS                  " + "".join(f"{v:>7.0f}" for v in m.rss_mb),
        "peak RSS             " + "".join(f"{v:>7.0f}" for v in m.peak_mb),
        "traces               " + "".join(f"{v:>7}" for v in m.traces),
        "RSS, proposed fix    " + "".join(f"{v:>7.0f}" for v in m.fixed_rss_mb),
        "traces, proposed fix " + "".join(f"{v:>7}" for v in m.fixed_traces),
        f"reference features computed {m.reference_computations} time(s) for "
        f"{len(m.rss_mb)} trials; proposed fix: DCGAN._apply updates in cross-replica context"])


def _experiments(report):
    if not report.experiments:
        return ""
    lines = [f"Fast paths tried: seconds per epoch (median of {report.config.epochs}, "
             f"alternating with the tool's fit)",
             f"{'setting':<26}  {'variant':<24}  {'s/epoch':>7}  {'speed-up':>8}  {'traces':>6}  "
             f"{'per fit call':>12}"]
    for e in report.experiments:
        lines.append(f"{e.setting:<26}  {e.variant:<24}  {e.seconds:>7.3f}  "
                     f"{f'x{e.speedup:.2f}':>8}  {e.traces:>6}  {e.call_overhead:>10.2f} s")
    return "\n".join(lines)


def _quality(report):
    if not report.quality:
        return ""
    lines = ["Quality: the quick space's best setting (lr 5e-4, 32x32), full trial per run",
             f"{'precision':<9}  {'seed':>4}  {'best KID':>15}  {'epoch':>5}  {'final KID':>9}  "
             f"{'s/epoch':>7}"]
    for q in report.quality:
        lines.append(f"{q.precision:<9}  {q.seed:>4}  {f'{q.kid:.4f}±{q.kid_std:.4f}':>15}  "
                     f"{q.best_epoch:>5}  {q.final_kid:>9.4f}  {q.seconds_per_epoch:>7.3f}")
    return "\n".join(lines)


def _goals(goals):
    marks = {True: "met", False: "MISSED", None: "n/a"}
    width = max(len(goal.name) for goal in goals)
    lines = ["Goals (issue 7)"]
    for goal in goals:
        lines.append(f"[{marks[goal.met]:>6}]  {goal.name:<{width}}  {goal.measured}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
