"""`python -m tuner.claims`: the claims of a study's space file, checked against its numbers.

    python -m tuner.claims                       # the most recent study in results/
    python -m tuner.claims lab-mini              # a study by name (or a study folder)
    python -m tuner.claims lab-mini --format markdown   # or json
    python -m tuner.claims quick --claims my-claims.toml  # claims from another space file

Each claim gets the numbers that bear on it and a verdict: supported, tied (within the
study's margin of the best, not separable from it), contradicted, not settled (with what
would settle it) or not measured. Reads only the study folder (no TensorFlow), so it is
safe while a search is running.
"""


import argparse
import sys

from tuner import console
from tuner.common.config import DEFAULT_RESULTS_DIR, ClaimsConfig
from tuner.report import verdict_text
from tuner.report.verdict_text import FORMATS
from tuner.results.verdicts import check
from tuner.spaces.space import load_space, space_file


def parser():
    p = argparse.ArgumentParser(prog="python -m tuner.claims", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("study", nargs="?", metavar="STUDY",
                   help="a study name under --results-dir or a study folder (default: the most "
                        "recent study)")
    p.add_argument("--results-dir", default=DEFAULT_RESULTS_DIR)
    p.add_argument("--format", choices=FORMATS, default="table")
    p.add_argument("--claims", metavar="FILE",
                   help="check the [[claims]] of this space file instead of the study's own")
    console.add_common_flags(p)
    return p


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parser().parse_args(argv)
    console.setup_logging(verbose=not args.quiet)

    def job():
        config = ClaimsConfig(study=args.study, results_dir=args.results_dir, format=args.format,
                              claims=args.claims, width=console.terminal_width())
        claims = None if config.claims is None else str(space_file(config.claims, "--claims"))
        if claims:
            load_space(claims, "--claims")  # an unreadable one is named by its flag
        study, results = check(config.study, config.results_dir, claims)
        print(verdict_text.render(study, results, config.format, config.width))
        return 0

    return console.run_cli(job, args)


if __name__ == "__main__":
    sys.exit(main())
