"""Ctrl-C as a request to stop at the next safe point, so it always ends the run the same way.

Python raises KeyboardInterrupt wherever the main thread happens to be. Inside
TensorFlow, Keras or keras-tuner that can become something else: raised in a
`__del__` it is printed and dropped, raised under code that catches broadly it
turns into another error, and keras-tuner records the trial as failed and goes
on. While `sigint_as_request()` is active, the first Ctrl-C only sets a flag;
`check()`, called where stopping is safe (after a training batch or epoch,
between trials), raises KeyboardInterrupt. A second Ctrl-C exits at once.
No TensorFlow here: the CLIs import this module before TF loads.
"""

import contextlib
import os
import signal
import threading

EXIT_INTERRUPTED = 130


class _Request:
    pressed = False
    farewell = "interrupted."


def requested():
    """True once the user pressed Ctrl-C under `sigint_as_request()`."""
    return _Request.pressed


def check():
    """Raise KeyboardInterrupt if the user asked to stop: call it where stopping is safe."""
    if _Request.pressed:
        raise KeyboardInterrupt


@contextlib.contextmanager
def sigint_as_request(farewell="interrupted."):
    """Within: the first Ctrl-C is honoured at the next `check()`, a second exits at once.

    Args:
        farewell: the line written on stderr when a second Ctrl-C ends the process.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers belong to the main thread; elsewhere Ctrl-C stays as it is
        return
    _Request.pressed, _Request.farewell = False, farewell
    previous = signal.signal(signal.SIGINT, _on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        _Request.pressed = False


def _on_sigint(signum, frame):
    # os.write, not print: a handler may run in the middle of another write to stderr.
    if _Request.pressed:
        os.write(2, f"\n{_Request.farewell}\n".encode())
        os._exit(EXIT_INTERRUPTED)  # the user insists: files are written atomically anyway
    _Request.pressed = True
    os.write(2, b"\nstopping after the current step; press Ctrl-C again to stop at once\n")


def stop_on_interrupt():
    """A Keras callback ending `fit` with KeyboardInterrupt after the batch in which Ctrl-C came.

    Also checks when training starts and at each epoch's end; placed after the
    evaluation callback, an evaluation in progress is finished and written first.
    """
    import keras  # keras: only once training runs (common/ needs the stdlib alone)

    return keras.callbacks.LambdaCallback(on_train_begin=lambda logs: check(),
                                          on_train_batch_end=lambda batch, logs: check(),
                                          on_epoch_end=lambda epoch, logs: check())
