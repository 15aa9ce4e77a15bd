"""What every CLI shares: logging set-up and turning errors into one line and an exit status.

Library code raises; only `run_cli` decides what the user sees and the exit code.
"""

import logging
import sys
import traceback

from tuner.common import interruption
from tuner.common.errors import DiskFull, UsageError

EXIT_DISK_FULL = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = interruption.EXIT_INTERRUPTED


def setup_logging(verbose=True, prefix=""):
    """Log lines on stderr; a `prefix` (a worker's name) starts each, to tell processes apart."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format=f"%(asctime)s {'[' + prefix + '] ' if prefix else ''}%(message)s",
                        datefmt="%H:%M:%S", stream=sys.stderr)
    for noisy in ("absl", "tensorflow", "h5py", "PIL", "matplotlib"):
        logging.getLogger(noisy).setLevel(logging.ERROR)


def terminal_width():
    import shutil

    return shutil.get_terminal_size((80, 24)).columns


def add_common_flags(parser):
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    parser.add_argument("--quiet", action="store_true", help="only warnings and the result")


def run_cli(job, args, interrupted_hint=""):
    """Run `job()`; a UsageError becomes one line on stderr and exit status 2, a full disk one
    line and status 1, Ctrl-C status 130 and SIGTERM 143, each with the line "interrupted.".

    A job that can be resumed (it has an `interrupted_hint`) stops at its safe
    points (`interruption.check()`: after a training batch, between trials)
    rather than wherever Ctrl-C or SIGTERM lands (status 143 after SIGTERM); a
    second signal stops it at once.
    """
    farewell = f"interrupted.{' ' + interrupted_hint if interrupted_hint else ''}"
    try:
        with (interruption.stop_requests(farewell) if interrupted_hint
              else interruption.sigterm_ends(farewell)):
            status = job()
            interruption.check()  # a Ctrl-C after the last safe point still ends as one
            return status
    except UsageError as err:
        if args.debug:
            traceback.print_exc()
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except DiskFull as err:
        if args.debug:
            traceback.print_exc()
        print(f"error: {err}", file=sys.stderr)
        return EXIT_DISK_FULL
    except KeyboardInterrupt:
        print(f"\n{farewell}", file=sys.stderr)
        return interruption.exit_status() if interrupted_hint else EXIT_INTERRUPTED
