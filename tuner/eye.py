"""`python -m tuner.eye`: the lab's eye as one more measurement - blind judgements in the browser.

    python -m tuner.eye                      # the most recent study in results/
    python -m tuner.eye quick --judge ann    # a study by name, the judge named up front
    python -m tuner.eye quick --exposure-ms 500 --pairs 30 --faces 40
    python -m tuner.eye quick --agreement    # each feature network against the judgements
    python -m tuner.eye quick --judge ann --pairs 50 --export-pairs pairs/    # image files
    python -m tuner.eye quick --judge ann --import-answers answers.txt       # ... answered

Starts a page on this machine only (127.0.0.1, a secret token in its address) that asks two
blind questions about the study's finished trials: which of two configurations' sample grids
looks better, and whether single faces are real or generated. Answers go to <study>/eye.json
at once; stop with Ctrl-C and run the same command to go on where you left. The leaderboard
and its HTML report then show the eye's preference beside KID, FD and SWD. Several judges can
judge at once, each on their own page (one server or several); each has their own session.
"""

import argparse
import json
import signal
import sys
import threading

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
    p.add_argument("--agreement", action="store_true",
                   help="print each feature network's agreement with the judgements so far "
                        "(the judged runs rescored from their final samples; needs the "
                        "study's data) instead of serving the page")
    p.add_argument("--networks", metavar="A,B",
                   help="with --agreement: these feature networks (default: every one whose "
                        "weights are here offline)")
    p.add_argument("--format", choices=("table", "json"), default="table",
                   help="with --agreement: a table (default) or JSON")
    p.add_argument("--same-pairs-as", metavar="JUDGE",
                   help="a new session shows the same pairs of grids as JUDGE's latest one, "
                        "in a new order with sides drawn again (so judges can be compared "
                        "pair by pair)")
    p.add_argument("--export-pairs", metavar="DIR",
                   help="instead of serving the page, write --judge's --pairs pairs as "
                        "numbered PNGs (left grid | right grid) into DIR, a new folder")
    p.add_argument("--import-answers", metavar="FILE",
                   help="record FILE (lines `<number> left|right|tie`) as --judge's answers "
                        "to the pairs exported to them")
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
    _check_modes(args, judge)
    networks = tuple(n.strip().lower() for n in args.networks.split(",") if n.strip()) \
        if args.networks else None
    return EyeConfig(study=args.study, results_dir=args.results_dir, port=args.port, judge=judge,
                     browser=not args.no_browser, exposure_ms=args.exposure_ms,
                     pairs=args.pairs, faces=args.faces, export_pairs=args.export_pairs,
                     import_answers=args.import_answers, agreement=args.agreement,
                     same_pairs_as=" ".join((args.same_pairs_as or "").split()) or None,
                     networks=networks, format=args.format)


def _check_modes(args, judge):
    modes = [flag for flag, on in (("--agreement", args.agreement),
                                   ("--export-pairs", args.export_pairs),
                                   ("--import-answers", args.import_answers)) if on]
    if len(modes) > 1:
        raise UsageError(f"{' and '.join(modes)} are separate steps; give one of them")
    if modes and modes[0] != "--agreement" and judge is None:
        raise UsageError(f"{modes[0]} needs --judge NAME (whose pairs they are)")
    if args.export_pairs and args.pairs == 0:
        raise UsageError("--export-pairs with --pairs 0 writes nothing; give --pairs N")
    if (args.networks or args.format != "table") and not args.agreement:
        raise UsageError("--networks and --format go with --agreement")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parser().parse_args(argv)
    console.setup_logging(verbose=not args.quiet)

    def job():
        config = config_from(args)
        if config.agreement:
            return _agreement(config)
        if config.export_pairs or config.import_answers:
            return _files(config)
        from tuner.judging.run import open_page

        server = open_page(config)
        # `kill` stops the page as Ctrl-C does: the server's loop is asked to end (from
        # another thread, as socketserver requires), rather than an exception raised wherever
        # the signal lands (one landing in a __del__ is dropped, and the page would go on)
        signal.signal(signal.SIGTERM, lambda signum, frame: threading.Thread(
            target=server.httpd.shutdown, daemon=True).start())
        print(f"the eye: {server.url}  (Ctrl-C to stop; answers are saved as you go)",
              flush=True)
        if config.browser:
            import webbrowser

            webbrowser.open(server.url)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.httpd.server_close()
        print("stopped; run the same command to go on", file=sys.stderr)
        return 0

    return console.run_cli(job, args)


def _agreement(config):
    from tuner.gan.devices import quiet_tensorflow

    quiet_tensorflow()  # before TensorFlow loads
    from tuner.judging.agreement import measure
    from tuner.judging.run import study_folder
    from tuner.report.eye_section import agreement_text

    result = measure(study_folder(config), config.networks)
    print(json.dumps(result) if config.format == "json" else "\n".join(agreement_text(result)))
    return 0


def _files(config):
    from tuner.judging.run import export_pairs, import_answers

    if config.export_pairs:
        done = export_pairs(config)
        print(f"wrote {done['pairs']} pairs for {config.judge} to {done['folder']} "
              f"(0001.png, ...: left grid | right grid); answers file: one line "
              f"`<number> left|right|tie` each, then --import-answers FILE --judge "
              f"{config.judge!r}; which is which: {done['mapping']}")
    else:
        done = import_answers(config)
        print(f"recorded {done['recorded']} answers of {config.judge}: {done['answered']} of "
              f"{done['pairs']} pairs answered (session {done['session']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
