"""tuner.distributed.secret: the chief serves only workers presenting the study's secret."""

import logging
import os
import types
from concurrent import futures

import grpc
import pytest
from keras_tuner.src import protos
from keras_tuner.src.distribute.oracle_chief import OracleServicer
from keras_tuner.src.engine.hyperparameters import HyperParameters

from tuner.common.errors import UsageError
from tuner.distributed import secret

SECRET = "a" * 64


def test_the_chief_makes_the_secret_once_owner_readable_and_keeps_it_for_the_study(tmp_path):
    made = secret.chief_secret(tmp_path, environ={})
    path = tmp_path / "chief.secret"
    assert len(made) == 64 and int(made, 16) >= 0  # secrets.token_hex(32)
    assert path.read_text() == f"{made}\n"
    assert path.stat().st_mode & 0o777 == 0o600
    assert secret.chief_secret(tmp_path, environ={}) == made  # a resumed chief: the same
    os.chmod(path, 0o644)
    assert secret.chief_secret(tmp_path, environ={}) == made
    assert path.stat().st_mode & 0o777 == 0o600  # loosened by hand: owner-only again
    given = {"DCGAN_TUNER_CHIEF_SECRET": "from-the-cluster\n"}
    assert secret.chief_secret(tmp_path, environ=given) == "from-the-cluster"
    assert path.read_text() == "from-the-cluster\n"  # the workers of the folder read it


def test_a_worker_takes_the_secret_from_the_environment_else_from_the_study(tmp_path):
    with pytest.raises(UsageError, match=(
            rf"^--worker h:1: {tmp_path / 'chief.secret'} is missing: the chief admits only "
            r"workers that present the study's secret; run the worker in the chief's study "
            r"folder \(its --results-dir and --study\) or set DCGAN_TUNER_CHIEF_SECRET to the "
            r"content of that file$")):
        secret.worker_secret(tmp_path, "h:1", environ={})
    (tmp_path / "chief.secret").write_text(f"{SECRET}\n")
    assert secret.worker_secret(tmp_path, "h:1", environ={}) == (
        SECRET, str(tmp_path / "chief.secret"))
    assert secret.worker_secret(tmp_path, "h:1", environ={
        "DCGAN_TUNER_CHIEF_SECRET": "x"}) == ("x", "DCGAN_TUNER_CHIEF_SECRET")
    (tmp_path / "chief.secret").write_text("")
    with pytest.raises(UsageError, match="chief.secret is empty"):
        secret.worker_secret(tmp_path, "h:1", environ={})


class _Oracle:
    """What the chief's servicer calls: records every call that reached it."""

    def __init__(self):
        self.calls = []

    def get_space(self):
        self.calls.append("get_space")
        return HyperParameters()

    def update_space(self, hyperparameters):
        self.calls.append("update_space")


@pytest.fixture
def chief():
    """An oracle served as the chief serves it; (its address, the oracle)."""
    oracle = _Oracle()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1),
                         interceptors=[secret.server_interceptor(SECRET)])
    protos.get_service_grpc().add_OracleServicer_to_server(OracleServicer(oracle), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"127.0.0.1:{port}", oracle
    finally:
        server.stop(grace=None).wait()


def _update_space(channel):
    request = protos.get_service().UpdateSpaceRequest(hyperparameters=HyperParameters().to_proto())
    return protos.get_service_grpc().OracleStub(channel).UpdateSpace(request, timeout=30)


@pytest.mark.parametrize("presented, why", [(None, "no secret"), ("b" * 64, "a wrong secret"),
                                            (SECRET[:-1], "a wrong secret")])
def test_a_call_without_the_secret_is_refused_logged_and_never_reaches_the_oracle(
        chief, presented, why, caplog):
    address, oracle = chief
    channel = (grpc.insecure_channel(address) if presented is None
               else secret.secret_channel(address, presented))
    with caplog.at_level(logging.WARNING, logger="tuner.distributed.secret"), channel:
        with pytest.raises(grpc.RpcError) as refused:
            _update_space(channel)
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert refused.value.details() == (
        f"{why}: the chief admits only workers presenting the study's secret")
    assert oracle.calls == []  # nothing of the study changed
    [record] = caplog.records
    assert record.getMessage().startswith("chief: refused UpdateSpace from ipv4:127.0.0.1:")
    assert record.getMessage().endswith(
        f": {why}; a worker needs the study's secret (chief.secret, or DCGAN_TUNER_CHIEF_SECRET)")


def test_a_worker_presenting_the_secret_is_served_on_every_call(chief):
    address, oracle = chief
    secret.check_admitted(address, SECRET, "chief.secret")
    client = types.SimpleNamespace(stub=None)  # keras-tuner's OracleClient calls client.stub
    secret.present_secret(client, address, SECRET)
    client.stub.UpdateSpace(protos.get_service().UpdateSpaceRequest(
        hyperparameters=HyperParameters().to_proto()), timeout=30)
    client.stub.GetSpace(protos.get_service().GetSpaceRequest(), timeout=30)
    assert oracle.calls == ["get_space", "update_space", "get_space"]


def test_a_refused_worker_stops_in_one_line_naming_where_its_secret_came_from(chief):
    address, oracle = chief
    with pytest.raises(UsageError, match=(
            rf"^--worker {address}: the chief refused this worker's secret \(from "
            r"DCGAN_TUNER_CHIEF_SECRET\); set DCGAN_TUNER_CHIEF_SECRET to the content of the "
            r"chief's chief.secret, or leave it unset in the chief's study folder$")):
        secret.check_admitted(address, "wrong", "DCGAN_TUNER_CHIEF_SECRET")
    assert oracle.calls == []


@pytest.mark.parametrize("bad", ["sécret", "tab\there"])
def test_a_secret_grpc_cannot_carry_is_refused_in_one_line_naming_where_it_came_from(tmp_path,
                                                                                      bad):
    from tuner.distributed.secret import ENV_SECRET, chief_secret, worker_secret

    env = {ENV_SECRET: bad}
    with pytest.raises(UsageError, match=rf"^{ENV_SECRET}: the study's secret must be "
                                         r"printable ASCII"):
        worker_secret(tmp_path, "127.0.0.1:1", environ=env)
    with pytest.raises(UsageError, match=rf"^{ENV_SECRET}: the study's secret must be"):
        chief_secret(tmp_path, environ=env)
    (tmp_path / "chief.secret").write_text(bad)
    with pytest.raises(UsageError, match=r"chief\.secret: the study's secret must be"):
        worker_secret(tmp_path, "127.0.0.1:1", environ={})
    from tuner.distributed.secret import check_env_secret

    with pytest.raises(UsageError, match=rf"^{ENV_SECRET}: the study's secret must be"):
        check_env_secret(env)  # a worker checks it before it waits for its chief
    check_env_secret({})
