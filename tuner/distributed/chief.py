"""The chief: serves a study's keras-tuner oracle to its workers over gRPC, and trains nothing.

keras-tuner's own `OracleServicer` answers the workers (`--worker HOST:PORT`);
this replaces keras-tuner's `start_server` loop to listen where the user said
(127.0.0.1 unless told otherwise), to admit only workers presenting the study's
secret (`secret`), to hand a dead worker's trial to another worker, to honour
Ctrl-C and SIGTERM, and to end as soon as the last trial has ended.
"""

import logging
import threading
import time
from concurrent import futures

from tuner.common import files, interruption
from tuner.common.config import WORKER_HEARTBEAT
from tuner.common.errors import UsageError
from tuner.distributed import cluster, secret

log = logging.getLogger(__name__)

POLL = 0.5  # seconds between two looks at the workers and the oracle


def serve(tuner, study_dir, role):
    """Serve `tuner`'s oracle at role.host:role.port until every trial has ended.

    Writes `<study>/chief.json` (the address, with the port actually bound)
    once it listens. A worker found dead (`cluster.Watch`) is released: its
    trial goes back to be handed out again.

    Raises:
        UsageError: the address cannot be listened on.
        DiskFull: the study's disk has less than files.ROOM_MARGIN free.
        KeyboardInterrupt: Ctrl-C or SIGTERM (at the next poll).
    """
    import grpc
    from keras_tuner.src import protos
    from keras_tuner.src.distribute.oracle_chief import OracleServicer

    oracle = tuner.oracle
    oracle.serving = True
    oracle.verbose = 0  # keras-tuner would print a table per trial on the chief's stdout
    tuner.save()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1),
                         interceptors=[secret.server_interceptor(secret.chief_secret(study_dir))])
    servicer = OracleServicer(oracle)
    protos.get_service_grpc().add_OracleServicer_to_server(servicer, server)
    port = _bind(server, role.host, role.port)
    server.start()
    beat = _Beat(study_dir, role.host, port)
    log.info("chief: the study's oracle listens at %s:%d for workers presenting the study's "
             "secret (%s, or %s); start workers with the same options and --worker %s:%d",
             role.host, port, study_dir / secret.SECRET_FILE, secret.ENV_SECRET,
             cluster.connect_host(role.host), port)
    watch = cluster.Watch(study_dir, role.worker_timeout)
    alone = threading.Event()
    try:
        while True:
            interruption.check()
            # The oracle writes trial.json and oracle.json as workers call: with no room left it
            # would fail them mid-call, so the chief stops first, in one line, to be resumed.
            files.ensure_room(study_dir, 0, "the chief")
            _release_dead(oracle, watch)
            if (servicer.stop_triggered or oracle.stopped_reason) and oracle.finished():
                break
            beat.maybe()
            if oracle._retry_queue and not oracle.tuner_ids and not alone.is_set():
                alone.set()
                log.warning("trial %s waits for a worker: start one with --worker %s:%d",
                            ", ".join(oracle._retry_queue), cluster.connect_host(role.host), port)
            threading.Event().wait(POLL)  # a poll interval, not a synchronisation
    finally:
        server.stop(grace=2).wait()
        oracle.save()
    beat.write(ended=time.time())  # workers joining now go straight to the runs still wanted
    log.info("chief: every trial has ended%s",
             f" ({oracle.stopped_reason})" if oracle.stopped_reason else "")


class _Beat:
    """chief.json, rewritten every WORKER_HEARTBEAT seconds with a growing `beat`: how a worker
    on another machine tells a live chief from a dead one (`cluster.ChiefWatch`)."""

    def __init__(self, study_dir, host, port):
        self.args, self.count = (study_dir, host, port), 0
        self.started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        self.next = 0.0
        self.maybe()

    def maybe(self):
        if time.monotonic() >= self.next:
            self.count += 1
            self.write()
            self.next = time.monotonic() + WORKER_HEARTBEAT

    def write(self, **more):
        cluster.write_chief_file(*self.args, started=self.started, beat=self.count, **more)


def _bind(server, host, port):
    try:
        bound = server.add_insecure_port(f"[{host}]:{port}" if ":" in host else f"{host}:{port}")
    except RuntimeError:
        bound = 0
    if not bound:
        raise UsageError(f"--chief {host}:{port}: cannot listen there (the port is taken or the "
                         f"address is not this machine's); pick another port, or 0 for any")
    return bound


def _release_dead(oracle, watch):
    for tuner_id, trial in list(oracle.ongoing_trials.items()):
        why = watch.dead(tuner_id)
        if why and oracle.release(tuner_id) is not None:
            log.warning("worker %s is dead (%s): trial %s will be handed to another worker",
                        tuner_id, why, trial.trial_id)
