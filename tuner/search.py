"""`python -m tuner.search`: run or resume a hyperparameter search of the lab's DCGAN.

    python -m tuner.search                         # embedded faces, quick space
    python -m tuner.search --data ~/lfw-deepfunneled --person George_W_Bush --space lab
    python -m tuner.search --data lfw-deepfunneled --person George_W_Bush  # downloaded once
"""

import argparse
import shlex
import sys

from tuner import console
from tuner.config import (
    LFW_ARCHIVES,
    OBJECTIVES,
    PRECISIONS,
    SEARCH_OPTIONS,
    TUNERS,
    DataConfig,
    ScoringConfig,
    SearchConfig,
    search_config,
)

EXIT_STOPPED = 1


def parser():
    p = argparse.ArgumentParser(prog="python -m tuner.search", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    d, s, c = DataConfig(), ScoringConfig(), SearchConfig()
    p.add_argument("--data", default=d.data,
                   help="'lfw-subset' (embedded, default), an LFW-style folder, a flat folder "
                        f"of images, the LFW .tgz, or {', '.join(sorted(LFW_ARCHIVES))} "
                        "(downloaded once into the user cache)")
    p.add_argument("--data-url", metavar="URL",
                   help="a mirror to download the --data archive from (default: "
                        "$DCGAN_TUNER_<NAME>_URL, else the built-in URL)")
    p.add_argument("--data-sha256", metavar="HEX",
                   help="the SHA-256 of the file the mirror serves, when it is not the built-in "
                        "archive (default: $DCGAN_TUNER_<NAME>_SHA256, else the built-in checksum)")
    p.add_argument("--person", default=d.person, help="the LFW person folder to train on")
    p.add_argument("--crop", type=float, default=d.crop,
                   help="centre crop, fraction of the side kept (default 1.0: whole image)")
    p.add_argument("--no-flip", action="store_true",
                   help="do not add horizontally flipped copies (to training nor reference)")
    p.add_argument("--holdout", type=float,
                   help="share of the images no trial trains on, scored against as "
                        "kid_heldout (default: the space file's, else 0)")
    p.add_argument("--space", default=c.space,
                   help="a space in search_spaces/ (quick, lab, lab-mini, wide) or a .toml path")
    p.add_argument("--tuner", choices=TUNERS, help="default: the space file's tuner")
    p.add_argument("--max-trials", type=int, help="default: the space file's value")
    p.add_argument("--epochs", type=int, help="epochs per trial (default: the space file's)")
    p.add_argument("--eval-every", type=int, help="score every N epochs (and at the end)")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--latent-dim", type=int)
    p.add_argument("--precision", choices=PRECISIONS,
                   help="mixed: mixed_float16 on a GPU, mixed_bfloat16 on a CPU with bfloat16 "
                        "hardware, else float32; the explicit names force one (default: the "
                        "space file's)")
    p.add_argument("--repeats", type=int,
                   help="training runs per configuration, seeds seed..seed+K-1 for every "
                        "configuration (default: the space file's, else 1)")
    p.add_argument("--rank-by", metavar="final|best|last-N",
                   help="a run's score: its final evaluation, its best (optimistic) or the "
                        "mean of its last N (default: the space file's, else final)")
    p.add_argument("--objective", choices=OBJECTIVES, default=c.objective,
                   help="what trials are ranked by (kid-heldout needs --holdout)")
    p.add_argument("--features", default=s.features, help="frozen network: onet or inception")
    p.add_argument("--features-weights", help="local weights file for --features inception")
    p.add_argument("--samples", type=int, default=s.samples,
                   help="generated images per evaluation")
    p.add_argument("--eval-size", type=int,
                   help="evaluation resolution (default: the space's largest image size)")
    p.add_argument("--results-dir", default=c.results_dir)
    p.add_argument("--study", help="study folder name (default: the space's name)")
    p.add_argument("--seed", type=int, default=c.seed)
    p.add_argument("--overwrite", action="store_true", help="start the study afresh")
    p.add_argument("--max-consecutive-failures", type=int, default=c.max_consecutive_failures,
                   help="stop the search after this many failed trials in a row")
    console.add_common_flags(p)
    return p


def config_from(args, argv):
    """The flags' SearchConfig, through the one mapping the Python API uses too."""
    options = {name: value for name, value in vars(args).items() if name in SEARCH_OPTIONS}
    return search_config(command=shlex.join(["python", "-m", "tuner.search", *argv]), **options)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parser().parse_args(argv)
    console.setup_logging(verbose=not args.quiet)
    config = config_from(args, argv)

    def job():
        from tuner.results import open_study, rank_studies
        from tuner.study import SearchStopped, run_search, study_folder
        from tuner.tables import render

        try:
            study_dir, stopped = run_search(config, on_validated=console.quiet_tensorflow), None
        except SearchStopped as err:
            study_dir, stopped = study_folder(config), err
        print(render(rank_studies([open_study(study_dir)]), width=console.terminal_width()))
        print(f"study: {study_dir}")
        if stopped:
            print(f"error: {stopped}", file=sys.stderr)
            return EXIT_STOPPED
        return 0

    return console.run_cli(job, args, interrupted_hint="Run the same command again to resume.")


if __name__ == "__main__":
    sys.exit(main())
