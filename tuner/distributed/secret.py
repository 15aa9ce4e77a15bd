"""The study's secret: what a worker presents to the chief to be served, on every call.

keras-tuner's oracle service has no authentication: anyone who reaches the
chief's port could take trials and hand in results. The chief therefore makes
a secret when the study starts (kept for the study's life, so a resumed chief
admits the workers still waiting for it), writes it owner-readable (0600)
beside the study as `chief.secret`, and refuses every gRPC call that does not
carry it. A worker reads it from that file (chief and workers share the study
folder) or from DCGAN_TUNER_CHIEF_SECRET (when it runs as another user, or the
cluster hands secrets out itself), and presents it on each call. The secret
keeps out whoever reaches the port without reading the study folder; the
traffic itself is not encrypted.

No TensorFlow here, and gRPC only once a chief serves or a worker calls it.
"""

import hmac
import logging
import os
import secrets
from pathlib import Path

from tuner.common import files
from tuner.common.config import ENV_PREFIX
from tuner.common.errors import UsageError

log = logging.getLogger(__name__)

SECRET_FILE = "chief.secret"
ENV_SECRET = f"{ENV_PREFIX}CHIEF_SECRET"
METADATA_KEY = "dcgan-tuner-secret"  # gRPC metadata keys are lower case
SECRET_MODE = 0o600
GET_SPACE = "/keras_tuner.Oracle/GetSpace"  # keras-tuner's service: the one call of the probe
PROBE_TIMEOUT = 60.0  # seconds a worker's first call may take (the chief may be busy saving)


def chief_secret(study_dir, environ=None):
    """The chief's secret for `study_dir`, written to `<study>/chief.secret` (0600).

    DCGAN_TUNER_CHIEF_SECRET if set, else the study's existing secret, else a
    new one (secrets.token_hex).
    """
    environ = os.environ if environ is None else environ
    path = Path(study_dir) / SECRET_FILE
    secret = environ.get(ENV_SECRET, "").strip() or _read(path) or secrets.token_hex(32)
    _check_text(secret, ENV_SECRET if environ.get(ENV_SECRET, "").strip() else str(path))
    if _read(path) != secret or path.stat().st_mode & 0o777 != SECRET_MODE:
        files.write_bytes(path, f"{secret}\n".encode(), mode=SECRET_MODE)
    return secret


def worker_secret(study_dir, address, environ=None):
    """(the secret a worker presents, where it came from): DCGAN_TUNER_CHIEF_SECRET, else the
    study's `chief.secret`; UsageError naming both when neither gives one."""
    environ = os.environ if environ is None else environ
    if environ.get(ENV_SECRET, "").strip():
        return _check_text(environ[ENV_SECRET].strip(), ENV_SECRET), ENV_SECRET
    path = Path(study_dir) / SECRET_FILE
    try:
        secret = _read(path, missing_ok=False)
    except OSError as err:
        why = "is missing" if isinstance(err, FileNotFoundError) else \
            f"cannot be read ({err.strerror or err})"
        raise UsageError(
            f"--worker {address}: {path} {why}: the chief admits only workers that present the "
            f"study's secret; run the worker in the chief's study folder (its --results-dir and "
            f"--study) or set {ENV_SECRET} to the content of that file") from None
    if not secret:
        raise UsageError(f"--worker {address}: {path} is empty; start the chief again to make "
                         f"the study's secret, or set {ENV_SECRET}")
    return _check_text(secret, str(path)), str(path)


def check_env_secret(environ=None):
    """Refuse at once (UsageError) a DCGAN_TUNER_CHIEF_SECRET gRPC cannot carry: before a
    worker waits for its chief, not after."""
    environ = os.environ if environ is None else environ
    if environ.get(ENV_SECRET, "").strip():
        _check_text(environ[ENV_SECRET].strip(), ENV_SECRET)


def _check_text(secret, source):
    """`secret` if gRPC can carry it (printable ASCII, as chief.secret's hex is); UsageError
    naming `source` otherwise (gRPC would drop the call, and the worker would read that the
    chief did not answer)."""
    if not (secret.isascii() and secret.isprintable()):
        raise UsageError(f"{source}: the study's secret must be printable ASCII (letters, "
                         f"digits, punctuation), as the chief's {SECRET_FILE} makes it; set it "
                         f"to the content of that file, or leave {ENV_SECRET} unset")
    return secret


def _read(path, missing_ok=True):
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        if missing_ok:
            return ""
        raise


def server_interceptor(secret):
    """A grpc.ServerInterceptor admitting only calls that carry `secret`; each refusal is
    logged and answered UNAUTHENTICATED before the oracle sees the call."""
    import grpc

    expected = secret.encode()

    def refuse(why, method):
        def abort(request, context):
            log.warning("chief: refused %s from %s: %s; a worker needs the study's secret "
                        "(%s, or %s)", method.rsplit("/", 1)[-1], context.peer(), why,
                        SECRET_FILE, ENV_SECRET)
            context.abort(grpc.StatusCode.UNAUTHENTICATED, f"{why}: the chief admits only "
                          f"workers presenting the study's secret")
        return grpc.unary_unary_rpc_method_handler(abort)

    class SecretCheck(grpc.ServerInterceptor):
        def intercept_service(self, continuation, details):
            given = dict(details.invocation_metadata or ()).get(METADATA_KEY)
            if given is None:
                return refuse("no secret", details.method)
            if not hmac.compare_digest(str(given).encode(), expected):
                return refuse("a wrong secret", details.method)
            return continuation(details)

    return SecretCheck()


def secret_channel(address, secret, options=None):
    """A gRPC channel to `address` adding `secret` to the metadata of every call."""
    import collections

    import grpc

    fields = ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression")

    class Details(collections.namedtuple("Details", fields), grpc.ClientCallDetails):
        pass

    class PresentSecret(grpc.UnaryUnaryClientInterceptor):
        def intercept_unary_unary(self, continuation, details, request):
            metadata = [*(details.metadata or ()), (METADATA_KEY, secret)]
            return continuation(Details(details.method, details.timeout, metadata,
                                        details.credentials, details.wait_for_ready,
                                        details.compression), request)

    return grpc.intercept_channel(grpc.insecure_channel(address, options=options or []),
                                  PresentSecret())


def check_admitted(address, secret, source):
    """Return if the chief at `address` serves a worker presenting `secret` (one harmless call:
    reading the search space); UsageError in one line if it refuses or fails."""
    import grpc

    channel = secret_channel(address, secret)
    try:
        # Raw bytes, not keras-tuner's messages: importing keras-tuner starts TensorFlow, which
        # a worker about to be refused need not wait for (GetSpaceRequest is empty: b"").
        channel.unary_unary(GET_SPACE)(b"", wait_for_ready=True, timeout=PROBE_TIMEOUT)
    except grpc.RpcError as err:
        if err.code() == grpc.StatusCode.UNAUTHENTICATED:
            raise UsageError(
                f"--worker {address}: the chief refused this worker's secret (from {source}); "
                f"set {ENV_SECRET} to the content of the chief's {SECRET_FILE}, or leave it "
                f"unset in the chief's study folder") from None
        raise UsageError(f"--worker {address}: the chief did not answer ({err.code().name}: "
                         f"{err.details()}); check that it still runs") from None
    finally:
        channel.close()


def present_secret(client, address, secret):
    """Make keras-tuner's OracleClient `client` present `secret` on every call to the chief;
    returns the channel (closing it ends the calls under way: a worker whose chief is gone)."""
    from keras_tuner.src import protos  # keras-tuner's stub: only on a worker

    channel = secret_channel(address, secret)
    client.stub = protos.get_service_grpc().OracleStub(channel)
    return channel
