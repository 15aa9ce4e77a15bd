"""`python -m tuner.leaderboard`: which settings won, by how much, and what their faces look like.

    python -m tuner.leaderboard                      # the most recent study in results/
    python -m tuner.leaderboard quick lab --top 5    # several studies, one table if comparable
    python -m tuner.leaderboard quick --format json  # or markdown, csv
    python -m tuner.leaderboard quick --html         # also write results/quick/report.html

Reads only the study folders (no TensorFlow), so it is safe while a search is running.
"""


import argparse
import sys

from tuner import console
from tuner.common.config import DEFAULT_RESULTS_DIR, LeaderboardConfig
from tuner.common.errors import UsageError
from tuner.report.tables import FORMATS, render
from tuner.results.rankings import load_rankings


def parser():
    p = argparse.ArgumentParser(prog="python -m tuner.leaderboard", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("studies", nargs="*", metavar="STUDY",
                   help="a study name under --results-dir or a study folder (default: the most "
                        "recent study)")
    p.add_argument("--results-dir", default=DEFAULT_RESULTS_DIR)
    p.add_argument("--top", type=int, help="show only the best N completed trials")
    p.add_argument("--format", choices=FORMATS, default="table")
    p.add_argument("--html", nargs="?", const="", metavar="PATH",
                   help="also write the HTML report (default PATH: <study folder>/report.html)")
    console.add_common_flags(p)
    return p


def config_from(args):
    if args.top is not None and args.top <= 0:
        raise UsageError(f"--top must be a positive integer, got {args.top}")
    if args.html and not args.html.lower().endswith((".html", ".htm")):
        raise UsageError(f"--html PATH must end in .html, got {args.html!r}; to name studies, "
                         f"put them before --html")
    if args.html and len(args.studies) > 1:
        raise UsageError(f"--html {args.html} names one file but {len(args.studies)} studies "
                         f"were given; use --html without PATH to write each study's "
                         f"report.html in its folder")
    return LeaderboardConfig(studies=tuple(args.studies), results_dir=args.results_dir,
                             top=args.top, format=args.format, html=args.html,
                             width=console.terminal_width())


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parser().parse_args(argv)
    console.setup_logging(verbose=not args.quiet)

    def job():
        config = config_from(args)
        rankings = load_rankings(config.studies, config.results_dir)
        print(render(rankings, config.format, config.top, config.width))
        if config.html is not None:
            from tuner.report.html import write_report  # matplotlib: only when a report is wanted

            for study in (s for ranking in rankings for s in ranking.studies):
                print(f"report: {write_report(study, config.html or None)}", file=sys.stderr)
        return 0

    return console.run_cli(job, args)


if __name__ == "__main__":
    sys.exit(main())
