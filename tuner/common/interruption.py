"""Ctrl-C and SIGTERM as a request to stop at the next safe point, so they always end a run alike.

Python raises KeyboardInterrupt wherever the main thread happens to be. Inside
TensorFlow, Keras or keras-tuner that can become something else: raised in a
`__del__` it is printed and dropped, raised under code that catches broadly it
turns into another error, and keras-tuner records the trial as failed and goes
on. SIGTERM (`docker stop`, SLURM's end of a job, systemd, `kill`) would end
the process at once, in the middle of whatever it was writing. While
`stop_requests()` is active, the first Ctrl-C or SIGTERM only sets a flag;
`check()`, called where stopping is safe (after a training batch or epoch,
between trials), raises KeyboardInterrupt. A second signal exits at once. The
exit status tells the signals apart as shells do: 128 + its number (130 for
Ctrl-C, 143 for SIGTERM). No TensorFlow here: the CLIs import this module
before TF loads.
"""

import contextlib
import os
import signal
import threading

EXIT_INTERRUPTED = 128 + signal.SIGINT   # 130
EXIT_TERMINATED = 128 + signal.SIGTERM   # 143
SIGNALS = (signal.SIGINT, signal.SIGTERM)
_NOTICE = {signal.SIGINT: "stopping after the current step; press Ctrl-C again to stop at once",
           signal.SIGTERM: "terminated: stopping after the current step; a second SIGTERM or "
                           "Ctrl-C stops at once"}


class _Request:
    pressed = False             # a stop was asked for
    signum = signal.SIGINT      # by which signal
    farewell = "interrupted."


def requested():
    """True once Ctrl-C or SIGTERM came under `stop_requests()`."""
    return _Request.pressed


def received():
    """The signal that asked to stop (signal.SIGINT or signal.SIGTERM), None if none did."""
    return _Request.signum if _Request.pressed else None


def exit_status():
    """128 + the signal that asked to stop, within `stop_requests()` or after it: 143 after
    SIGTERM, 130 after Ctrl-C (and for a KeyboardInterrupt no signal of the block raised)."""
    return 128 + _Request.signum


def request():
    """Ask this process to stop at its next `check()`, as a SIGTERM would, but silently (the
    caller says why); True if this request is the first. Any thread may call it."""
    if _Request.pressed:
        return False
    _Request.pressed, _Request.signum = True, signal.SIGTERM
    return True


def clear():
    """Forget a stop `request()` made: the caller has ended the work it stopped."""
    _Request.pressed = False


def check():
    """Raise KeyboardInterrupt if a stop was asked for: call it where stopping is safe."""
    if _Request.pressed:
        raise KeyboardInterrupt


@contextlib.contextmanager
def stop_requests(farewell="interrupted."):
    """Within: the first Ctrl-C or SIGTERM is honoured at the next `check()`, a second exits at once.

    The signal's exit status stays readable (`exit_status()`) after the block,
    so the caller can end with it; entering the block again clears it.

    Args:
        farewell: the line written on stderr when a second signal ends the process.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers belong to the main thread; elsewhere signals stay as they are
        return
    _Request.pressed, _Request.signum, _Request.farewell = False, signal.SIGINT, farewell
    previous = {signum: signal.signal(signum, _on_signal) for signum in SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _Request.pressed = False


@contextlib.contextmanager
def sigterm_ends(farewell="interrupted."):
    """Within: SIGTERM ends the process at once, `farewell` on stderr, status 143, for jobs with
    nothing to resume (every file is written atomically: nothing is left half-written). At
    once rather than by KeyboardInterrupt, which Python drops when it lands in a `__del__`,
    and the job would run on."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_sigterm(signum, frame):
        os.write(2, f"\n{farewell}\n".encode())
        os._exit(128 + signum)

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


sigint_as_request = stop_requests  # the name it had when Ctrl-C was the only signal honoured


def _on_signal(signum, frame):
    # os.write, not print: a handler may run in the middle of another write to stderr.
    if _Request.pressed:
        os.write(2, f"\n{_Request.farewell}\n".encode())
        os._exit(128 + _Request.signum)  # the user insists: files are written atomically anyway
    _Request.pressed, _Request.signum = True, signum
    os.write(2, f"\n{_NOTICE[signum]}\n".encode())


def stop_on_interrupt():
    """A Keras callback ending `fit` with KeyboardInterrupt after the batch in which a stop came.

    Also checks when training starts and at each epoch's end; placed after the
    evaluation callback, an evaluation in progress is finished and written first.
    """
    import keras  # keras: only once training runs (common/ needs the stdlib alone)

    return keras.callbacks.LambdaCallback(on_train_begin=lambda logs: check(),
                                          on_train_batch_end=lambda batch, logs: check(),
                                          on_epoch_end=lambda epoch, logs: check())
