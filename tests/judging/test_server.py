"""The eye's page server under odd and hostile requests, several judges at once, and the
planner's bounds: a real server on a port the OS picks, raw HTTP where the client matters."""

import json
import logging
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.helpers.eye_study import write_eye_study
from tuner.common.config import EyeConfig
from tuner.judging import server as server_module
from tuner.judging import tasks
from tuner.judging.run import open_page
from tuner.results.eye_file import read_eye
from tuner.results.snapshot import read_study

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def study(tmp_path):
    return write_eye_study(tmp_path / "study")


@pytest.fixture
def page(study):
    server = open_page(EyeConfig(study=str(study), pairs=4, faces=0)).start()
    yield server
    server.stop()


def raw(server, request):
    """Send `request` (bytes, the token filled in for TOKEN) and return (status, JSON body)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as conn:
        conn.sendall(request.replace(b"TOKEN", server.token.encode()))
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def post(server, path, body, session=""):
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    return raw(server, f"POST {path}?t=TOKEN&s={session} HTTP/1.1\r\nHost: x\r\n"
                       f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
               + payload)


def state(server, session=""):
    return raw(server, f"GET /api/state?t=TOKEN&s={session} HTTP/1.1\r\nHost: x\r\n"
                       f"Connection: close\r\n\r\n".encode())


def one_line_each(caplog):
    records = [r for r in caplog.records if r.name == "tuner.judging.server"]
    assert all(r.exc_info is None and "\n" not in r.getMessage() for r in records)
    return [r.getMessage() for r in records]


@pytest.mark.parametrize("body, status, reason", [
    (b"[1, 2]", 400, "must be a JSON object, not list"),
    (b"\"name\"", 400, "must be a JSON object, not str"),
    (b"{not json", 400, "not JSON"),
    (b"\xff\xfe", 400, "not JSON"),
    ({}, 400, "needs 'name'"),
    ({"name": 3}, 400, "'name' must be a str, got int"),
    ({"name": "   "}, 400, "a judge's name is needed"),
])
def test_a_malformed_judge_request_is_a_4xx_json_answer_and_one_line(page, caplog, body,
                                                                       status, reason):
    caplog.set_level(logging.WARNING)
    got, answer = post(page, "/api/judge", body)
    assert got == status and reason in answer["error"]
    assert one_line_each(caplog) == [f"eye page: {status} POST /api/judge: {answer['error']}"]


def test_no_answer_before_a_judge_is_named(page, caplog):
    caplog.set_level(logging.WARNING)
    got, answer = post(page, "/api/answer", {"index": 0, "answer": "left"})
    assert got == 409 and "no judge named yet" in answer["error"]
    got, answer = post(page, "/api/undo", {}, session="made-up")
    assert got == 409 and "no judge named yet" in answer["error"]
    assert state(page) == (200, server_module.no_session())
    assert read_eye(page.room.folder)["judgements"] == []
    assert len(one_line_each(caplog)) == 2


def test_answers_of_the_wrong_shape_and_after_the_end(page, caplog):
    caplog.set_level(logging.WARNING)
    _, opened = post(page, "/api/judge", {"name": "Ann"})
    sid = opened["session"]
    for body, reason in (({"answer": "left"}, "needs 'index'"),
                         ({"index": "0", "answer": "left"}, "'index' must be a int, got str"),
                         ({"index": True, "answer": "left"}, "'index' must be a int, got bool"),
                         ({"index": 0, "answer": 1}, "'answer' must be a str, got int"),
                         ({"index": 0, "answer": "real"}, "answer must be one of left")):
        got, answer = post(page, "/api/answer", body, sid)
        assert got == 400 and reason in answer["error"]
    for index in range(4):
        assert post(page, "/api/answer", {"index": index, "answer": "left"}, sid)[0] == 200
    got, answer = post(page, "/api/answer", {"index": 4, "answer": "left"}, sid)
    assert got == 409 and "the session is finished (4 of 4 answered)" in answer["error"]
    assert len(one_line_each(caplog)) == 6
    assert len(read_eye(page.room.folder)["judgements"]) == 4


def test_a_state_request_while_eye_json_is_damaged(page, caplog):
    caplog.set_level(logging.WARNING)
    sid = post(page, "/api/judge", {"name": "Ann"})[1]["session"]
    (page.room.folder / "eye.json").write_text("{\"sessions\": [")
    got, answer = state(page, sid)
    assert got == 409 and "eye.json: not valid JSON" in answer["error"]
    got, answer = post(page, "/api/answer", {"index": 0, "answer": "left"}, sid)
    assert got == 409 and "eye.json" in answer["error"]
    assert len(one_line_each(caplog)) == 2


@pytest.mark.parametrize("length, status, reason", [
    (None, 411, "a Content-Length is needed"),
    ("-1", 400, "Content-Length -1 is negative"),
    ("abc", 400, "'abc' is not a number"),
    (str(10 ** 12), 413, "is above 10000 bytes"),
])
def test_bounded_reads(page, caplog, length, status, reason):
    caplog.set_level(logging.WARNING)
    header = "" if length is None else f"Content-Length: {length}\r\n"
    got, answer = raw(page, f"POST /api/judge?t=TOKEN HTTP/1.1\r\nHost: x\r\n{header}"
                            f"\r\n{{\"name\": \"Ann\"}}".encode())
    assert got == status and reason in answer["error"]
    assert len(one_line_each(caplog)) == 1
    assert state(page)[0] == 200  # the server goes on


def test_a_body_shorter_than_its_length_is_dropped_after_the_timeout(page, caplog, monkeypatch):
    monkeypatch.setattr(server_module._Handler, "timeout", 0.5)
    caplog.set_level(logging.WARNING)
    got, answer = raw(page, b"POST /api/judge?t=TOKEN HTTP/1.1\r\nHost: x\r\n"
                            b"Content-Length: 100\r\n\r\n{\"name\"")
    assert got == 408 and "did not come within" in answer["error"]
    assert len(one_line_each(caplog)) == 1


def test_a_malformed_request_line_and_a_wrong_token_are_json(page, caplog):
    caplog.set_level(logging.WARNING)
    got, answer = raw(page, b"GET /api/state?t=nope HTTP/1.1\r\nHost: x\r\nConnection: close"
                            b"\r\n\r\n")
    assert got == 403 and "forbidden" in answer["error"]
    got, answer = raw(page, b"BREW /?t=TOKEN HTTP/1.1\r\n\r\n")
    assert got == 405 and "method 'BREW' not allowed" in answer["error"]
    got, answer = raw(page, b"GET / HTTP/x\r\n\r\n")
    assert got == 400 and "Bad request version" in answer["error"]
    assert len(one_line_each(caplog)) == 3


def test_two_judges_answer_interleaved_on_one_server_and_a_second_server(study):
    first = open_page(EyeConfig(study=str(study), pairs=5, faces=0)).start()
    second = open_page(EyeConfig(study=str(study), pairs=5, faces=0)).start()
    try:
        sessions = {name: (server, post(server, "/api/judge", {"name": name})[1]["session"])
                    for name, server in (("Ann", first), ("Bo", first), ("Cy", second))}
        assert len({sid for _, sid in sessions.values()}) == 3
        answers = {"Ann": ["left", "right", "tie", "left", "left"],
                   "Bo": ["right", "right", "left", "tie", "right"],
                   "Cy": ["tie", "left", "left", "right", "left"]}
        for index in range(5):
            for name, (server, sid) in sessions.items():
                got, after = post(server, "/api/answer",
                                  {"index": index, "answer": answers[name][index]}, sid)
                assert got == 200 and after["judge"] == name and after["answered"] == index + 1
        # Bo's page reloads: the same session goes on (its id is in the page's address)
        assert state(first, sessions["Bo"][1])[1]["answered"] == 5
    finally:
        first.stop()
        second.stop()
    doc = read_eye(study)
    assert len(doc["judgements"]) == 15 and len(doc["sessions"]) == 3
    for name, (_, sid) in sessions.items():
        mine = [j for j in doc["judgements"] if j["session"] == sid]
        assert [j["answer"] for j in mine] == answers[name]
        assert {j["judge"] for j in mine} == {name} and [j["item"] for j in mine] == [0, 1, 2, 3, 4]


def test_a_judge_who_names_themselves_again_resumes_their_session(page):
    sid = post(page, "/api/judge", {"name": "Ann"})[1]["session"]
    post(page, "/api/answer", {"index": 0, "answer": "left"}, sid)
    again = post(page, "/api/judge", {"name": " Ann "})[1]
    assert again["session"] == sid and again["answered"] == 1
    assert post(page, "/api/judge", {"name": "Bo"})[1]["session"] != sid


def grids_of(items):
    return [frozenset({(i["left"], i["left_run"]), (i["right"], i["right_run"])}) for i in items]


def test_the_planner_never_shows_two_grids_twice_and_says_when_the_study_is_too_small(
        study, caplog):
    configs = tasks.configurations(read_study(study))
    assert tasks.grid_pairs(configs) == 5  # trial 0 has two runs: 2 + 2 + 1
    items = tasks.plan_pairs(configs, 5, np.random.default_rng(0))
    assert len(set(grids_of(items))) == 5 and not caplog.records
    with caplog.at_level(logging.WARNING):
        items = tasks.plan_pairs(configs, 10 ** 9, np.random.default_rng(0))  # memory bounded
    assert len(items) == 5 and len(set(grids_of(items))) == 5
    assert "--pairs 1000000000: the study holds 5 distinct pairs of grids" in caplog.text


def test_planner_on_many_runs_exhausts_every_pair_before_any_repeat():
    rng = np.random.default_rng(7)
    for _ in range(30):
        runs = rng.integers(1, 5, size=int(rng.integers(2, 6)))
        configs = [tasks.Configuration(str(t), 16, tuple((r, Path(f"{t}-{r}")) for r in range(n)),
                                       {"kid": float(rng.random())})
                   for t, n in enumerate(runs)]
        total = tasks.grid_pairs(configs)
        count = int(rng.integers(1, total + 1))
        items = tasks.plan_pairs(configs, count, rng)
        assert len(items) == count and len(set(grids_of(items))) == count
        assert all(i["left"] != i["right"] for i in items)


def test_faces_are_capped_at_what_the_study_holds(study, caplog):
    configs = tasks.configurations(read_study(study))
    with caplog.at_level(logging.WARNING):
        items = tasks.plan_faces(configs, 10 ** 9, np.random.default_rng(0), real_count=14)
    # 4 grids of 12 faces, and as many real ones as there are (14 < 48)
    assert len(items) == 48 + 14 and sum(i["trial"] is None for i in items) == 14
    assert "--faces 1000000000: the study holds 48 generated faces and 14 real ones" in caplog.text


def test_sigterm_stops_the_page_with_one_line(study):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "tuner.eye", str(study), "--no-browser",
                                "--judge", "Ann", "--faces", "0"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert "http://127.0.0.1:" in process.stdout.readline()
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0
    assert err.strip().splitlines()[-1] == "stopped; run the same command to go on"
    assert "Traceback" not in err
