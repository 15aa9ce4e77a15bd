"""`python -m tuner.bench`: what a trial costs on this machine, as a table to paste into a report.

    python -m tuner.bench                 # the full run (about 15 minutes on 2 cores)
    python -m tuner.bench --quick         # a smoke test: one size, tiny data (under a minute)
    python -m tuner.bench --quality       # also train the quick space's best setting in both
                                          # precisions and seeds, to compare their KID

Run it on an otherwise idle machine: the load average is printed with the table.
"""

import argparse
import sys
from dataclasses import replace

from tuner import console
from tuner.bench import run_benchmark
from tuner.bench.table import format_report
from tuner.common.config import QUICK_BENCH, BenchConfig, check_image_size
from tuner.common.errors import UsageError
from tuner.gan.devices import quiet_tensorflow


def parser():
    p = argparse.ArgumentParser(prog="python -m tuner.bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="tiny settings: size 32, 64 images, 1 timed epoch, 200 samples")
    p.add_argument("--sizes", type=int, nargs="+", help="image sizes (default 32 64 128)")
    p.add_argument("--epochs", type=int, help="timed epochs per measurement after a warm-up (3)")
    p.add_argument("--samples", type=int, help="generated images per scoring (the tool's default, 1000)")
    p.add_argument("--memory-trials", type=int, help="trials in the memory sequence (5)")
    p.add_argument("--quality", action="store_true", default=None,
                   help="train the quick space's best setting, float32 and mixed, "
                        "--quality-seeds seeds each, and compare KID (slow)")
    p.add_argument("--quality-seeds", type=int, help="seeds per precision for --quality (2)")
    console.add_common_flags(p)
    return p


def config_from(args):
    """The defaults (or QUICK_BENCH's), overridden by every flag given."""
    base = QUICK_BENCH if args.quick else BenchConfig()
    flags = {"sizes": tuple(args.sizes) if args.sizes else None, "epochs": args.epochs,
             "samples": args.samples, "memory_trials": args.memory_trials,
             "quality": args.quality, "quality_seeds": args.quality_seeds}
    return replace(base, **{k: v for k, v in flags.items() if v is not None})


def check(config):
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
        check(config)
        quiet_tensorflow()
        print(format_report(run_benchmark(config)))
        return 0

    return console.run_cli(job, args)
