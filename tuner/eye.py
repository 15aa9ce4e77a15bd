"""`python -m tuner.eye`: the lab's eye as one more measurement - blind judgements in the browser.

    python -m tuner.eye                      # the most recent study in results/
    python -m tuner.eye quick --judge ann    # a study by name, the judge named up front
    python -m tuner.eye quick --exposure-ms 500 --pairs 30 --faces 40

Starts a page on this machine only (127.0.0.1, a secret token in its address) that asks two
blind questions about the study's finished trials: which of two configurations' sample grids
looks better, and whether single faces are real or generated. Answers go to <study>/eye.json
at once; stop with Ctrl-C and run the same command to go on where you left. The leaderboard
and its HTML report then show the eye's preference beside KID, FD and SWD.
"""

import argparse
import signal
import sys

from tuner import console
from tuner.common.config import DEFAULT_RESULTS_DIR, EYE_EXPOSURE_MS, EYE_FACES, EYE_PAIRS, EyeConfig
from tuner.common.errors import UsageError


def parser():
    p = argparse.ArgumentParser(prog="python -m tuner.eye", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("study", nargs="?", metavar="STUDY",
                   help="a study name under --results-dir or a study folder (default: the most "
                        "recent study)")
    p.add_argument("--results-dir", default=DEFAULT_RESULTS_DIR)
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default 0: a free one)")
    p.add_argument("--judge", metavar="NAME", help="who judges (default: the page asks once)")
    p.add_argument("--no-browser", action="store_true",
                   help="print the page's address but do not open a browser")
    p.add_argument("--exposure-ms", type=int, default=EYE_EXPOSURE_MS, metavar="MS",
                   help="show each face of the real-or-generated task this long, then hide it "
                        f"(default {EYE_EXPOSURE_MS}: until answered)")
    p.add_argument("--pairs", type=int, default=EYE_PAIRS, metavar="N",
                   help=f"pair judgements in a new session (default {EYE_PAIRS})")
    p.add_argument("--faces", type=int, default=EYE_FACES, metavar="N",
                   help=f"face judgements in a new session, half real (default {EYE_FACES})")
    console.add_common_flags(p)
    return p


def config_from(args):
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be 0-65535 (0: a free port), got {args.port}")
    for flag, value in (("--exposure-ms", args.exposure_ms), ("--pairs", args.pairs),
                        ("--faces", args.faces)):
        if value < 0:
            raise UsageError(f"{flag} must be 0 or more, got {value}")
    if args.pairs == 0 and args.faces == 0:
        raise UsageError("--pairs 0 and --faces 0 leave nothing to judge; give either a count")
    judge = " ".join((args.judge or "").split()) or None
    return EyeConfig(study=args.study, results_dir=args.results_dir, port=args.port, judge=judge,
                     browser=not args.no_browser, exposure_ms=args.exposure_ms,
                     pairs=args.pairs, faces=args.faces)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parser().parse_args(argv)
    console.setup_logging(verbose=not args.quiet)

    def job():
        from tuner.judging.run import open_page

        config = config_from(args)
        signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops the page as Ctrl-C does
        server = open_page(config)
        print(f"the eye: {server.url}  (Ctrl-C to stop; answers are saved as you go)",
              flush=True)
        if config.browser:
            import webbrowser

            webbrowser.open(server.url)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            print("stopped; run the same command to go on", file=sys.stderr)
        finally:
            server.httpd.server_close()
        return 0

    return console.run_cli(job, args)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
