"""The eye's library: planning, the session in eye.json, the server's token, bad input; and
claims on `metric = "eye"`."""

import json
import socket
import urllib.error
import urllib.request

import numpy as np
import pytest

from tests.helpers.eye_study import FACES_PER_GRID, SIZE, TRIALS, write_eye_study
from tuner.common.config import EyeConfig
from tuner.common.errors import UsageError
from tuner.judging import tasks
from tuner.judging.run import open_page
from tuner.results.eye_file import read_eye
from tuner.results.snapshot import read_study
from tuner.results.verdicts import weigh
from tuner.spaces.claims import parse_claims


@pytest.fixture
def study(tmp_path):
    return write_eye_study(tmp_path / "study")


def config(study, **more):
    return EyeConfig(study=str(study), **{"judge": "ann", "pairs": 6, "faces": 6, **more})


def test_plan_brings_in_every_configuration_then_the_closest_pairs(study):
    configs = tasks.configurations(read_study(study))
    assert [c.trial_id for c in configs] == ["0", "1", "2"]  # the failed trial is left out
    assert [run for run, _ in configs[0].grids] == [0, 1]
    items = tasks.plan_pairs(configs, 4, np.random.default_rng(0))
    pairs = [tuple(sorted((i["left"], i["right"]))) for i in items]
    # KIDs 0.01, 0.02, 0.04: 0-1 is closest, then 1-2 brings in 2, then 0-2, then again
    assert pairs == [("0", "1"), ("1", "2"), ("0", "2"), ("0", "1")]
    # each configuration shows every one of its runs before any again
    shown = {}
    for item in items:
        for side in ("left", "right"):
            shown.setdefault(item[side], []).append(item[f"{side}_run"])
    for c in configs:
        runs = {run for run, _ in c.grids}
        first = shown[c.trial_id][:len(runs)]
        assert len(set(first)) == len(first) and set(first) <= runs


def test_faces_are_cut_from_the_grid_and_half_are_real(study):
    configs = tasks.configurations(read_study(study))
    grid = tasks.read_grid(configs[1].grids[0][1])
    assert len(tasks.cells(grid, SIZE)) == FACES_PER_GRID  # blank padding left out
    items = tasks.plan_faces(configs, 7, np.random.default_rng(0), real_count=14)
    assert sum(i["trial"] is None for i in items) == 3
    assert {i["trial"] for i in items if i["trial"]} == {"0", "1", "2"}


def test_answers_undo_and_resume_live_in_eye_json(study):
    first = open_page(config(study))
    first.httpd.server_close()
    session = first.session
    assert session.answer(0, "left") and session.answer(1, "tie")
    assert not session.answer(5, "left")  # not the current item
    with pytest.raises(ValueError):
        session.answer(2, "real")  # a pair's answers are left, right, tie
    assert session.undo()
    again = open_page(config(study))  # the same judge resumes the unfinished session
    again.httpd.server_close()
    assert again.session.id == session.id and again.session.state()["answered"] == 1
    doc = read_eye(study)
    assert [j.get("undone") is not None for j in doc["judgements"]] == [False, True]
    assert doc["judgements"][0]["judge"] == "ann"


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_only_requests_with_the_token_are_served(study):
    server = open_page(config(study)).start()
    try:
        base = f"http://127.0.0.1:{server.port}"
        token = server.url.split("?t=")[1]
        assert get(base + "/")[0] == 403
        assert get(base + "/api/state?t=nope")[0] == 403
        status, body = get(f"{base}/api/state?t={token}")
        state = json.loads(body)
        assert status == 200 and state["total"] == 11 and state["item"]["index"] == 0  # 5 pairs held
        name = state["item"]["images"]["left"]
        status, png = get(f"{base}/img/{name}?t={token}")
        assert status == 200 and png.startswith(b"\x89PNG")
        assert get(f"{base}/img/{name}")[0] == 403
        assert get(f"{base}/study.json?t={token}")[0] == 404
        assert get(f"{base}/img/../../study.json?t={token}")[0] == 404
    finally:
        server.stop()


def test_a_port_in_use_is_one_line(study):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(UsageError, match=r"--port \d+: already in use"):
            open_page(config(study, port=taken.getsockname()[1]))


def test_damaged_eye_json_and_a_study_without_finished_trials(study, tmp_path):
    (study / "eye.json").write_text('{"judgements": [')
    with pytest.raises(UsageError, match=r"eye\.json: not valid JSON.*move it aside"):
        open_page(config(study))
    assert read_study(study).eye is None  # the leaderboard goes on without it (and says so)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "study.json").write_text('{"study": "empty"}')
    with pytest.raises(UsageError, match="no finished trial with sample grids"):
        open_page(config(empty))


def test_cli_bad_input_exits_2_without_tensorflow(study, run_without_tensorflow):
    (study / "eye.json").write_text("[]")
    status, _, err, heavy = run_without_tensorflow("tuner.eye", [str(study), "--no-browser"])
    assert status == 2 and err.strip().splitlines()[-1].startswith("error: ")
    assert "eye.json: not a JSON object" in err and heavy == "[]"
    status, _, err, _ = run_without_tensorflow("tuner.eye", [str(study), "--pairs", "-1"])
    assert status == 2 and "--pairs must be 0 or more" in err


def claims(*checks):
    return parse_claims([{"id": f"c{i}", "text": "t", **c} for i, c in enumerate(checks)],
                        "space.toml", lambda table, path, where: dict(table))


def judge(study, winner_of, judges=6):
    """Each of `judges` judges answers every pair of a fresh session (the study's 5 pairs of
    grids) by `winner_of(left, right)`."""
    for k in range(judges):
        server = open_page(config(study, judge=f"judge {k}", pairs=30, faces=0))
        server.httpd.server_close()
        for index, item in enumerate(server.session.items):
            server.session.answer(index, winner_of(item["left"], item["right"]))


def test_eye_claims_are_decided_by_the_bradley_terry_intervals(study):
    lr = {t: v[0] for t, v in TRIALS.items()}
    check = [{"kind": "better", "a": {"learning_rate": lr["0"]}, "b": {"learning_rate": lr["2"]},
              "metric": "eye"},
             {"kind": "best", "param": "learning_rate", "value": lr["2"], "metric": "eye",
              "where": {"beta_1": 0.5}}]  # the failed trial (no beta_1) is not a value
    before = weigh(study, claims(*check))
    assert before[0].checks[0].verdict == "not measured"
    judge(study, lambda a, b: "left" if int(a) < int(b) else "right")  # the lower trial wins
    better, best = (v.checks[0] for v in weigh(study, claims(*check)))
    assert better.verdict == "supported" and better.quantity == "eye"
    assert better.comparisons[0]["low"] > 0
    assert best.verdict == "contradicted"
    with pytest.raises(UsageError, match='metric "eye".*better or best only'):
        claims({"kind": "similar", "param": "learning_rate", "values": [lr["0"], lr["1"]],
                "metric": "eye"})


def test_ties_leave_an_eye_claim_not_settled(study):
    judge(study, lambda a, b: "tie")
    lr = {t: v[0] for t, v in TRIALS.items()}
    (verdict,) = weigh(study, claims({"kind": "better", "a": {"learning_rate": lr["0"]},
                                      "b": {"learning_rate": lr["1"]}, "metric": "eye"}))
    check = verdict.checks[0]
    assert check.verdict == "not settled" and "includes 0" in check.why
    assert "tuner.eye" in check.settle
