"""`python -m tuner.score`: FD, KID and SWD of folders of generated faces against real faces.

    python -m tuner.score lfw-subset samples/ other_samples/   # one JSON line per folder
    python -m tuner.score lfw-subset --validate                 # does the metric track damage?
    python -m tuner.score lfw-subset --validate --features fer --format json

REAL is a data source as in `tuner.search` (`lfw-subset`, a folder, the LFW
.tgz, with --person); each FAKE is a flat folder of images. As in the search,
the reference holds the real images and their mirror images (the training
distribution) unless --no-flip.
"""


import argparse
import json
import sys

from tuner import console
from tuner.common.config import (
    DEFAULT_FEATURES,
    FEATURE_NETWORKS,
    DataConfig,
    ScoreConfig,
    ScoringConfig,
)
from tuner.common.errors import UsageError
from tuner.data.sources import image_folder_size
from tuner.gan.devices import quiet_tensorflow
from tuner.metrics.scoring import score_folders
from tuner.metrics.sensitivity import format_study, validate_metric
from tuner.metrics.swd import PATCH


def parser():
    p = argparse.ArgumentParser(prog="python -m tuner.score", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("real", metavar="REAL", help="lfw-subset, an LFW-style or flat folder, or the LFW .tgz")
    p.add_argument("fakes", metavar="FAKE", nargs="*", help="folders of generated images")
    p.add_argument("--person", help="the LFW person folder of REAL")
    p.add_argument("--crop", type=float, default=DataConfig().crop)
    p.add_argument("--no-flip", dest="flip", action="store_false",
                   help="reference without the mirror images (for a generator trained with --no-flip)")
    p.add_argument("--features", default=DEFAULT_FEATURES,
                   help=f"frozen network: {', '.join(FEATURE_NETWORKS)} (default {DEFAULT_FEATURES})")
    p.add_argument("--features-weights", help="local weights file for --features inception")
    p.add_argument("--size", type=int, help="evaluation resolution (default: the FAKE images' size)")
    p.add_argument("--validate", action="store_true",
                   help="disturb the real images at increasing strength (image damage and the ways "
                        "a GAN fails) and print FD/KID/SWD per level, and whether their order is "
                        "right: faces < mild < severe, every failure worse than every face")
    p.add_argument("--format", choices=("table", "json"), default="table",
                   help="--validate's study as a table or as one JSON document")
    console.add_common_flags(p)
    return p


def config_from(args):
    return ScoreConfig(
        real=DataConfig(data=args.real, person=args.person, crop=args.crop, flip=args.flip),
        fakes=tuple(args.fakes),
        scoring=ScoringConfig(features=args.features, features_weights=args.features_weights),
        size=args.size, validate=args.validate, format=args.format)


def main(argv=None):
    args = parser().parse_intermixed_args(sys.argv[1:] if argv is None else argv)
    console.setup_logging(verbose=not args.quiet)
    config = config_from(args)

    def job():
        if not config.validate and not config.fakes:
            raise UsageError("give at least one FAKE folder to score, or --validate")
        check_sizes(config)
        quiet_tensorflow()
        if config.validate:
            study = validate_metric(config.real, config.scoring, config.size, on_row=_print_row)
            print(json.dumps(study) if config.format == "json" else format_study(study))
        if config.fakes:
            for line in score_folders(config.real, config.fakes, config.scoring, config.size,
                                      flip=config.real.flip):
                print(json.dumps(line))
        return 0

    return console.run_cli(job, args)


def check_sizes(config):
    """The evaluation size (--size, else the FAKE images' largest height) fits SWD's patches."""
    if config.size is not None:
        if config.size < PATCH:
            raise UsageError(f"--size {config.size} is too small to score: SWD compares "
                             f"{PATCH}x{PATCH} patches; give --size {PATCH} or more (e.g. 64)")
        return
    sizes = {fake: image_folder_size(fake) for fake in config.fakes}
    if sizes and max(height for height, _ in sizes.values()) < PATCH:  # as score_folders sizes
        fake, (height, width) = next(iter(sizes.items()))
        raise UsageError(f"{fake}: its {width}x{height} images are too small to score: SWD compares "
                         f"{PATCH}x{PATCH} patches, so images must be at least {PATCH}x{PATCH}; "
                         f"give --size (e.g. 64) to score them upsampled, or larger images")


def _print_row(row):
    print(f"{row['family']:>14} level {row['level']:.2f}  FD {row['fd']:9.3f}  "
          f"KID {row['kid']:.4f} ± {row['kid_std']:.4f}  SWD {row['swd']:8.2f}",
          file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
