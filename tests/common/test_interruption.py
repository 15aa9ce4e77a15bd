"""tuner.common.interruption: Ctrl-C and SIGTERM stop at the next safe point, a second at once."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tuner.common import interruption

PROJECT = Path(__file__).resolve().parents[2]
HINT = "Run the same command again to resume."
NOTICE = {signal.SIGINT: "stopping after the current step; press Ctrl-C again to stop at once",
          signal.SIGTERM: "terminated: stopping after the current step; a second SIGTERM or "
                          "Ctrl-C stops at once"}


def _cli(body):
    """A child process running `job` (its body given) under console.run_cli; its result."""
    child = f"""
import argparse, os, signal, sys, time
from tuner import console
from tuner.common import interruption
def job():
{body}
sys.exit(console.run_cli(job, argparse.Namespace(debug=False), {HINT!r}))
"""
    return subprocess.run([sys.executable, "-c", child], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": str(PROJECT)})


@pytest.mark.parametrize("signum, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_at_the_next_check_with_its_status_and_the_interrupted_line(
        signum, status):
    result = _cli(f"""
    os.kill(os.getpid(), {int(signum)})
    print("still running: the signal only asked to stop", flush=True)
    interruption.check()
    print("never here", flush=True)""")
    assert result.returncode == status
    assert result.stdout == "still running: the signal only asked to stop\n"
    assert result.stderr.splitlines() == ["", NOTICE[signum], "", f"interrupted. {HINT}"]


@pytest.mark.parametrize("first, second, status", [
    (signal.SIGTERM, signal.SIGTERM, 143), (signal.SIGTERM, signal.SIGINT, 143),
    (signal.SIGINT, signal.SIGTERM, 130)])
def test_a_second_signal_exits_at_once_with_the_first_ones_status(first, second, status):
    result = _cli(f"""
    os.kill(os.getpid(), {int(first)})
    os.kill(os.getpid(), {int(second)})
    time.sleep(600)""")
    assert result.returncode == status
    assert result.stderr.splitlines() == ["", NOTICE[first], "", f"interrupted. {HINT}"]


def test_outside_the_block_sigterm_is_the_default_again_and_no_stop_is_pending():
    before = signal.getsignal(signal.SIGTERM)
    with interruption.stop_requests():
        assert signal.getsignal(signal.SIGTERM) is not before
        signal.raise_signal(signal.SIGTERM)
        assert interruption.requested() and interruption.received() == signal.SIGTERM
        with pytest.raises(KeyboardInterrupt):
            interruption.check()
    assert signal.getsignal(signal.SIGTERM) is before
    assert not interruption.requested() and interruption.received() is None
    interruption.check()  # nothing pending: a later run is not stopped by an old signal
    assert interruption.exit_status() == 143  # what the block ended with, for the caller
    with interruption.stop_requests():
        assert interruption.exit_status() == 130  # a new block starts clean
