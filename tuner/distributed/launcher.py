"""The launcher: a chief and its workers as child processes of one command (`--workers`, `--gpus`).

Each child is `python -m tuner.search` with the user's options plus `--chief`
or `--worker`: the launcher runs no search itself. Workers share this
machine's cores (threads per worker: cores / N, set through the environment
before TensorFlow starts) or get one GPU each (CUDA_VISIBLE_DEVICES). The first
Ctrl-C or SIGTERM is passed on once to every child, which stops after its
current step; the command then exits 130 (143 after SIGTERM) like a search of
one process.
"""

import logging
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field

from tuner.common import interruption
from tuner.common.config import CHIEF_HOST, THREAD_VARIABLES
from tuner.common.errors import UsageError
from tuner.distributed import cluster

log = logging.getLogger(__name__)

CHIEF_START = 600.0    # seconds the chief may take to load data and reference features
POLL = 0.5             # seconds between two looks at the children


@dataclass(frozen=True)
class Worker:
    """One local worker: its name and what it adds to the environment."""

    name: str
    env: dict = field(default_factory=dict)


def cores():
    """The cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def thread_env(threads):
    """Environment variables capping TensorFlow's and OpenMP's threads at `threads`."""
    return {name: str(threads) for name in THREAD_VARIABLES}


def worker_plan(workers=None, gpus=None, n_cores=None, environ=None, visible_gpus=None):
    """The workers `--workers N` or `--gpus all|0,1,...` ask for, each with its environment.

    `visible_gpus` counts the GPUs TensorFlow sees (asked only for `--gpus all`).
    Within CUDA_VISIBLE_DEVICES, GPU k is its k-th entry.
    """
    environ = os.environ if environ is None else environ
    n_cores = n_cores or cores()
    if gpus is None:
        if workers is None or workers < 1:
            raise UsageError(f"--workers must be a positive integer, got {workers}")
        threads = max(1, n_cores // workers)
        return [Worker(f"local-{k + 1}", thread_env(threads)) for k in range(workers)]
    ids = _gpu_ids(gpus, environ, visible_gpus)
    if workers is not None and workers != len(ids):
        raise UsageError(f"--gpus {gpus} starts one worker per GPU ({len(ids)}); leave out "
                         f"--workers or make it {len(ids)}")
    threads = max(1, n_cores // len(ids))
    return [Worker(f"gpu-{gpu}", {"CUDA_VISIBLE_DEVICES": gpu, **thread_env(threads)})
            for gpu in ids]


def _gpu_ids(gpus, environ, visible_gpus):
    visible = [g.strip() for g in environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if g.strip()]
    if gpus.strip() == "all":
        count = visible_gpus() if callable(visible_gpus) else visible_gpus
        count = _count_gpus() if count is None else count
        if not count:
            raise UsageError("--gpus all: TensorFlow sees no GPU here; use --workers N for CPU "
                             "workers, or check the GPU driver")
        return visible[:count] if visible else [str(k) for k in range(count)]
    ids = [g.strip() for g in gpus.split(",")]
    if not ids or not all(g.isdigit() for g in ids) or len(set(ids)) != len(ids):
        raise UsageError(f"--gpus must be all or distinct GPU numbers such as 0,1, got {gpus!r}")
    if visible:
        if any(int(g) >= len(visible) for g in ids):
            raise UsageError(f"--gpus {gpus}: CUDA_VISIBLE_DEVICES shows only {len(visible)} "
                             f"GPU(s), numbered 0 to {len(visible) - 1}")
        return [visible[int(g)] for g in ids]
    return ids


def _count_gpus():
    from tuner.gan.devices import quiet_tensorflow  # TF: only when GPUs are to be counted

    quiet_tensorflow()
    import tensorflow as tf

    return len(tf.config.list_physical_devices("GPU"))


def child_command(argv, *flags):
    return [sys.executable, "-m", "tuner.search", *argv, *flags]


def run_local(argv, plan, chief_address, study_dir, environ=None):
    """Run a chief and the workers of `plan` with the search options `argv`; return the chief's
    exit status (Ctrl-C or SIGTERM: raised as KeyboardInterrupt, as in a search of one process).

    The chief listens on `chief_address` (HOST:PORT), else on any free port of
    127.0.0.1, and names it in chief.json, which the workers are then given.
    """
    environ = {**(os.environ if environ is None else environ),
               cluster.ENV_LAUNCHER: str(os.getpid())}  # children stop if the launcher goes
    host, port = cluster.parse_address(chief_address, "--chief") if chief_address \
        else (CHIEF_HOST, 0)
    children = []
    stop = _Forwarder(children)
    chief = _start(child_command(argv, "--chief", f"{host}:{port}"),
                   {**environ, **thread_env(max(1, cores() // len(plan)))})
    children.append(chief)
    try:
        address = _wait_for_chief(chief, study_dir, stop)
        if address is None:
            return _end(chief, children, stop)
        log.info("launcher: %d worker(s) for the chief at %s: %s", len(plan), address,
                 ", ".join(w.name for w in plan))
        names = {chief.pid: "the chief"}
        for worker in plan:
            child = _start(child_command(argv, "--worker", address, "--worker-id", worker.name),
                           {**environ, **worker.env, cluster.ENV_CHIEF_PID: str(chief.pid)})
            children.append(child)
            names[child.pid] = f"worker {worker.name}"
        reaped = _Reaper(children, names)
        while chief.poll() is None:
            stop.check()
            reaped.look()
            time.sleep(POLL)  # polling children; nothing to wait on in common
        return _end(chief, children, stop, reaped)
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()


def _start(command, env):
    # A session of its own: the terminal's Ctrl-C reaches the launcher only, which passes it on once.
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, start_new_session=True)


def _wait_for_chief(chief, study_dir, stop):
    """The address workers reach the chief at, once it listens; None if it ended first."""
    deadline = time.monotonic() + CHIEF_START
    while time.monotonic() < deadline:
        stop.check()
        record = cluster.read_chief_file(study_dir)  # first: a chief may listen and end at once
        if record and record.get("pid") == chief.pid:
            host, port = cluster.parse_address(record["address"], "chief.json")
            return f"{cluster.connect_host(host)}:{port}"
        if chief.poll() is not None:
            return None
        time.sleep(POLL)
    raise UsageError(f"the chief did not start listening within {CHIEF_START:.0f} s; see its "
                     f"messages above")


class _Reaper:
    """Reaps children as they end (a zombie would look alive: its claims and its trial held
    for ever) and names each that ended before the chief, with its status, in one line."""

    def __init__(self, children, names):
        self.children, self.names, self.seen = children, names, set()

    def look(self):
        for child in self.children:
            if child.pid in self.seen or child.poll() is None:
                continue
            self.seen.add(child.pid)
            if child.returncode != 0:
                log.warning("launcher: %s (process %d) ended with status %s",
                            self.names.get(child.pid, "a child"), child.pid,
                            _status(child.returncode))


def _status(code):
    return f"{code} (signal {-code})" if code < 0 else str(code)


def _end(chief, children, stop, reaped=None):
    """Wait for every child once the chief has ended; the chief's status (Ctrl-C: raised).

    Workers outlive the chief: once its trials are done they train the runs the study
    still wants (`study.racing`), sharing them through claim files, and leave when none is.
    """
    chief.wait()
    while any(c.poll() is None for c in children):
        stop.check()
        if reaped:
            reaped.look()
        time.sleep(POLL)
    if stop.sent:
        raise KeyboardInterrupt
    if chief.returncode < 0:  # killed: its workers have said so and ended
        log.warning("launcher: the chief (process %d) was killed (signal %d); run the same "
                    "command again to resume", chief.pid, -chief.returncode)
        return 1
    return chief.returncode


class _Forwarder:
    """Passes the first Ctrl-C or SIGTERM to every child, once: each stops after its current step."""

    def __init__(self, children):
        self.children, self.sent = children, False

    def check(self):
        if interruption.requested() and not self.sent:
            self.sent = True
            for child in self.children:
                if child.poll() is None:
                    child.send_signal(interruption.received())
