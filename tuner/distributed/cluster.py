"""A search by several processes: who is the chief, where it listens, which workers are alive.

keras-tuner's own distributed tuning: the chief runs the study's oracle behind
gRPC, each worker asks it for trials and trains them. Every process sees the
study folder (the chief's, on a shared filesystem): the chief writes
study.json, oracle.json, trial.json files and `chief.json` (its address); each
worker writes its trials' evaluations and samples, and a heartbeat file in
`workers/` by which the chief tells a dead worker from a slow one.

No TensorFlow here, and gRPC only when a worker checks the chief is there.
"""

import contextlib
import logging
import os
import re
import signal
import socket
import threading
import time
from pathlib import Path

from tuner.common import files, interruption
from tuner.common.config import (
    CHIEF_TIMEOUT,
    CHIEF_WAIT_LOG_EVERY,
    ORPHAN_GRACE,
    WORKER_HEARTBEAT,
    ClusterConfig,
)
from tuner.common.errors import UsageError
from tuner.common.lock import process_alive
from tuner.distributed import secret
from tuner.results.runs import json_problem

log = logging.getLogger(__name__)

CHIEF_FILE = "chief.json"       # the chief's address, process and host, written once it listens
WORKERS_DIR = "workers"         # <worker id>.json: each worker's heartbeat
CHIEF_ID = "chief"
ENV_ID, ENV_IP, ENV_PORT = "KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT"
ENV_NAMES = (ENV_ID, ENV_IP, ENV_PORT)
# Set by the launcher (`--workers`) for its children: its own pid (a child whose launcher has
# gone stops), and for its workers the chief's pid (a chief that ended before they joined).
ENV_LAUNCHER, ENV_CHIEF_PID = "DCGAN_TUNER_LAUNCHER_PID", "DCGAN_TUNER_CHIEF_PID"
WORKER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
WAIT_POLL = 0.5         # seconds between two looks for a stop request while waiting for the chief
CHIEF_FIRST_LOOK = 1.0  # seconds before a worker says it waits (a running chief answers sooner)
# gRPC waits up to 2 minutes between two attempts to reach a server that was not there; a
# worker waiting for its chief tries every 2 s at most, so it starts as soon as the chief listens.
RECONNECT = [("grpc.initial_reconnect_backoff_ms", 500), ("grpc.min_reconnect_backoff_ms", 500),
             ("grpc.max_reconnect_backoff_ms", 2000)]


def parse_address(text, flag):
    """(host, port) of HOST:PORT; UsageError naming `flag` otherwise."""
    host, sep, port = str(text).rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise UsageError(f"{flag} must be HOST:PORT, e.g. {flag} 127.0.0.1:8000, got {text!r}")
    return host.strip("[]"), int(port)


def role_from(chief=None, worker=None, worker_id=None, worker_timeout=None, environ=None,
              chief_timeout=None):
    """This process' ClusterConfig from the flags, else from keras-tuner's environment variables.

    KERASTUNER_TUNER_ID=chief (with KERASTUNER_ORACLE_IP and _PORT) makes a
    chief, any other id a worker of that name, exactly as `--chief` and
    `--worker ... --worker-id` do.
    """
    environ = os.environ if environ is None else environ
    extra = {name: _positive(value, flag) for name, value, flag in (
        ("worker_timeout", worker_timeout, "--worker-timeout"),
        ("chief_timeout", chief_timeout, "--chief-timeout")) if value is not None}
    if chief and worker:
        raise UsageError("--chief and --worker exclude each other: a process either serves the "
                         "study's oracle or runs its trials")
    if worker_id is not None and not worker:
        raise UsageError("--worker-id names a worker: give it with --worker HOST:PORT")
    if chief:
        host, port = parse_address(chief, "--chief")
        return ClusterConfig("chief", host, port, **extra)
    if worker:
        host, port = parse_address(worker, "--worker")
        if port == 0:
            raise UsageError("--worker needs the chief's port, e.g. --worker 127.0.0.1:8000 "
                             "(a chief started on port 0 writes its port to chief.json)")
        return ClusterConfig("worker", host, port, _worker_id(worker_id), **extra)
    if ENV_IP not in environ:
        return ClusterConfig(**extra)
    missing = [name for name in (ENV_PORT, ENV_ID) if not environ.get(name)]
    if missing:
        raise UsageError(f"{ENV_IP} is set but {' and '.join(missing)} not: set all three of "
                         f"{', '.join(ENV_NAMES)} (or use --chief / --worker)")
    address = f"{environ[ENV_IP]}:{environ[ENV_PORT]}"
    timeouts = {"worker_timeout": worker_timeout, "chief_timeout": chief_timeout}
    if CHIEF_ID in environ[ENV_ID]:  # keras-tuner's own test: any id containing "chief"
        return role_from(chief=address, environ={}, **timeouts)
    return role_from(worker=address, worker_id=environ[ENV_ID], environ={}, **timeouts)


def _positive(value, flag):
    if not value > 0:
        raise UsageError(f"{flag} must be a positive number of seconds, got {value}")
    return float(value)


def _worker_id(name):
    if name is None:
        return f"worker-{socket.gethostname().split('.')[0]}-{os.getpid()}"
    if not WORKER_ID.match(name) or CHIEF_ID in name:
        raise UsageError(f"--worker-id must be letters, digits, '.', '_' or '-' (at most 64, not "
                         f"containing 'chief'), got {name!r}")
    return name


@contextlib.contextmanager
def keras_tuner_environment(role):
    """Within: keras-tuner's variables say what `role` is (a worker's reach the chief).

    A chief serves its oracle itself and a local search needs none, so for them
    the variables are removed: their tuner state is the same file either way.
    """
    saved = {name: os.environ.get(name) for name in ENV_NAMES}
    for name in ENV_NAMES:
        os.environ.pop(name, None)
    if role.role == "worker":
        os.environ.update({ENV_ID: role.worker_id, ENV_IP: connect_host(role.host),
                           ENV_PORT: str(role.port)})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def connect_host(host):
    """Where to reach a chief listening on `host`: a wildcard address is reached locally."""
    return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)


class ChiefEnded(Exception):
    """The chief has ended after every trial ended: a worker has no trial to ask for."""


def wait_for_chief(host, port, timeout=CHIEF_TIMEOUT, watch=None):
    """Return once a gRPC server answers at host:port, waiting up to `timeout` seconds for one.

    A worker may start before its chief listens (cluster launchers start them
    together; a chief loads data and reference features first), so it waits,
    saying so every CHIEF_WAIT_LOG_EVERY seconds. Ctrl-C and SIGTERM stop the wait.

    Raises:
        UsageError: no chief answered within `timeout` seconds.
        ChiefEnded: the chief's file (`watch`, a ChiefWatch) says it ended, its trials done.
        KeyboardInterrupt: a stop was asked for (`interruption`).
    """
    import grpc

    channel = grpc.insecure_channel(f"{connect_host(host)}:{port}", options=RECONNECT)
    ready = grpc.channel_ready_future(channel)
    started = time.monotonic()
    next_log = started + CHIEF_FIRST_LOOK
    try:
        while True:
            try:
                ready.result(timeout=WAIT_POLL)
                return
            except grpc.FutureTimeoutError:
                pass
            interruption.check()
            if watch is not None and watch.ended():
                raise ChiefEnded(f"the chief at {host}:{port} has ended: every trial has ended")
            now = time.monotonic()
            if now - started >= timeout:
                raise UsageError(
                    f"--worker {host}:{port}: no chief answered there within {timeout:g} s "
                    f"(--chief-timeout); start it with the same options and --chief "
                    f"{host}:{port}, or check the address")
            if now >= next_log:
                log.info("waiting for the chief at %s:%d (%.0f s so far, up to %g s: "
                         "--chief-timeout)", host, port, now - started, timeout)
                next_log = now + CHIEF_WAIT_LOG_EVERY
    finally:
        ready.cancel()
        channel.close()


def join_chief(role, study_dir):
    """A worker's admission: wait for its chief, then check it admits the study's secret.

    Returns the secret, for `secret.present_secret` once keras-tuner's client exists.

    Raises:
        UsageError: no chief answered within role.chief_timeout seconds, no secret
            was found, or the chief refused it.
    """
    secret.check_env_secret()
    wait_for_chief(role.host, role.port, role.chief_timeout, ChiefWatch(study_dir, role))
    address = f"{connect_host(role.host)}:{role.port}"
    key, source = secret.worker_secret(study_dir, f"{role.host}:{role.port}")
    secret.check_admitted(address, key, source)
    return key


def present_secret(tuner, role, key):
    """A worker's tuner presents `key` to the chief on every call from now on; returns the
    channel to the chief."""
    return secret.present_secret(tuner.oracle, f"{connect_host(role.host)}:{role.port}", key)


def write_chief_file(study_dir, host, port, started=None, **more):
    """chief.json: where the chief listens, its process and host; `more`: its `beat` (a count
    rewritten every WORKER_HEARTBEAT seconds), and `ended` (the time, once every trial has)."""
    files.write_json(Path(study_dir) / CHIEF_FILE, {
        "address": f"{host}:{port}", "host": socket.gethostname(), "pid": os.getpid(),
        "started": started or time.strftime("%Y-%m-%dT%H:%M:%S%z"), **more})


def read_chief_file(study_dir):
    """chief.json of a study folder as a dict, or None while it is absent, unreadable or of
    the wrong shape (`results.schemas`)."""
    path = Path(study_dir) / CHIEF_FILE
    try:
        return None if json_problem(path) else files.read_json(path)
    except (OSError, ValueError):
        return None


class Heartbeat:
    """A worker's heartbeat: `<study>/workers/<id>.json` rewritten every WORKER_HEARTBEAT seconds.

    Use as `with Heartbeat(study_dir, worker_id):`; the file goes when the worker ends.
    """

    def __init__(self, study_dir, worker_id, every=WORKER_HEARTBEAT):
        self.path = Path(study_dir) / WORKERS_DIR / f"{worker_id}.json"
        self.worker_id, self.every = worker_id, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)
        self._count = 0

    def beat(self):
        self._count += 1
        files.write_json(self.path, {"worker": self.worker_id, "host": socket.gethostname(),
                                     "pid": os.getpid(), "beat": self._count,
                                     "time": time.time()})

    def _run(self):
        while not self._stop.wait(self.every):
            try:
                self.beat()
            except OSError:
                pass  # a full or vanished disk: the chief will see the worker as silent

    def __enter__(self):
        self.beat()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.path.unlink(missing_ok=True)
        return False


class Watch:
    """The chief's view of its workers' heartbeats: which of them have died.

    A worker is dead when its heartbeat names a process of this machine that
    has exited, or when its heartbeat has not changed for `timeout` seconds (as
    measured by the chief's own clock, so clocks of other machines do not matter).
    A worker without a heartbeat file (a bare keras-tuner worker) is never declared dead.
    """

    def __init__(self, study_dir, timeout):
        self.folder = Path(study_dir) / WORKERS_DIR
        self.timeout = timeout
        self._seen = {}  # worker id -> (last beat, monotonic time it changed)

    def dead(self, worker_id):
        """Why `worker_id` is dead ("" while it seems alive)."""
        try:
            beat = files.read_json(self.folder / f"{worker_id}.json")
        except (OSError, ValueError):
            beat = None
        now = time.monotonic()
        if not isinstance(beat, dict):
            return ""
        if beat.get("host") == socket.gethostname() and isinstance(beat.get("pid"), int) \
                and not process_alive(beat["pid"]):
            return f"its process {beat['pid']} has exited"
        last, since = self._seen.get(worker_id, (None, now))
        if beat.get("beat") != last:
            self._seen[worker_id] = (beat.get("beat"), now)
            return ""
        if now - since > self.timeout:
            return f"no heartbeat for {now - since:.0f} s"
        return ""


class ChiefWatch:
    """A worker's view of its chief, from chief.json: ended, dead, or alive.

    The chief has ended when its file says so (written by the chief this worker serves:
    the launcher's, or one that ended after this worker started). It is dead when the file
    names a process of this machine that has exited, or when its beat has not changed for
    `role.chief_timeout` seconds (the worker's own clock). Used as a context manager, a
    thread looks every WAIT_POLL seconds and calls `on_gone` once the chief is gone.
    """

    def __init__(self, study_dir, role, on_gone=None, environ=None):
        environ = os.environ if environ is None else environ
        self.study_dir, self.timeout, self.on_gone = Path(study_dir), role.chief_timeout, on_gone
        self.address = f"{role.host}:{role.port}"
        pid = environ.get(ENV_CHIEF_PID, "")
        self.chief_pid = int(pid) if pid.isdigit() else None
        self.started = time.time()
        self.gone = ""      # why the chief is gone, once it is
        self._beat = (None, time.monotonic())
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chief-watch", daemon=True)

    def ended(self):
        """Whether the chief's file says it ended, every trial done."""
        record = read_chief_file(self.study_dir) or {}
        ended = record.get("ended")
        return isinstance(ended, (int, float)) and not isinstance(ended, bool) and (
            record.get("pid") == self.chief_pid or ended >= self.started)

    def dead(self):
        """Why the chief is dead ("" while it seems alive or ended)."""
        record = read_chief_file(self.study_dir)
        if not isinstance(record, dict) or self.ended():
            return ""
        pid = record.get("pid")
        if record.get("host") == socket.gethostname() and isinstance(pid, int) \
                and not process_alive(pid):
            return f"its process {pid} has exited"
        now = time.monotonic()
        if record.get("beat") is None or record.get("beat") != self._beat[0]:
            self._beat = (record.get("beat"), now)
            return ""
        silent = now - self._beat[1]
        return f"no sign of life for {silent:.0f} s (--chief-timeout)" if silent > self.timeout \
            else ""

    def _run(self):
        while not self._stop.wait(WAIT_POLL):
            why = "ended" if self.ended() else self.dead()
            if why:
                self.gone = why
                log.warning("the chief at %s %s", self.address,
                            "has ended: every trial has ended" if why == "ended"
                            else f"is dead ({why})")
                if self.on_gone:
                    self.on_gone()
                return

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        return False


class LauncherWatch:
    """A child of the launcher (`--workers`) stops when its launcher has gone (killed, even by
    SIGKILL): it says so in one line, asks itself to stop after its current step (SIGTERM)
    and exits after ORPHAN_GRACE seconds if it has not. A process without a launcher
    (ENV_LAUNCHER unset) is not watched."""

    def __init__(self, environ=None, grace=ORPHAN_GRACE):
        environ = os.environ if environ is None else environ
        pid = environ.get(ENV_LAUNCHER, "")
        self.launcher = int(pid) if pid.isdigit() else None
        self.grace = grace
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="launcher-watch", daemon=True)

    def _run(self):
        while not self._stop.wait(WAIT_POLL):
            if os.getppid() != self.launcher:
                log.warning("the launcher (process %d) has ended: this process stops too",
                            self.launcher)
                os.kill(os.getpid(), signal.SIGTERM)
                if not self._stop.wait(self.grace):
                    os._exit(128 + signal.SIGTERM)
                return

    def __enter__(self):
        if self.launcher is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        return False
