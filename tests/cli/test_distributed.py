"""Several workers: a chief serving the oracle, workers running trials, dead workers, budgets."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tuner.common.config import ClusterConfig, DataConfig, ScoringConfig, SearchConfig
from tuner.common.errors import UsageError
from tuner.distributed.cluster import ENV_ID, ENV_IP, ENV_PORT, Watch, role_from
from tuner.distributed.launcher import worker_plan

SPACE = """
[search]
tuner = "grid"
max_trials = 3
[train]
epochs = {epochs}
batch_size = 8
eval_every = {eval_every}
precision = "float32"
[hyperparameters.learning_rate]
values = [1e-4, 5e-4, 1e-3]
[hyperparameters.image_size]
values = [16]
"""
DEADLINE = 400  # seconds: generous, the machine may be loaded


def _options(lfw_tree):
    return ["--data", str(lfw_tree.root), "--person", lfw_tree.person, "--space", "s.toml",
            "--samples", "32", "--results-dir", "out"]


def _env(cwd):
    return {**os.environ, "XDG_CACHE_HOME": str(Path(cwd) / "cache"),
            "PYTHONPATH": str(Path(__file__).resolve().parents[2])}


def _start(cwd, *args):
    return subprocess.Popen([sys.executable, "-m", "tuner.search", *args], cwd=cwd, env=_env(cwd),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(condition, processes, what):
    deadline = time.time() + DEADLINE
    while not condition():
        for process in processes:
            assert process.poll() is None, f"a process ended before {what}: " \
                                           f"{process.stderr.read()[-2000:]}"
        assert time.time() < deadline, f"no {what} within {DEADLINE} s"
        time.sleep(0.2)


def _chief(cwd, lfw_tree):
    """A chief on a free port of 127.0.0.1; (process, the address workers reach it at)."""
    chief = _start(cwd, *_options(lfw_tree), "--chief", "127.0.0.1:0")
    record = Path(cwd) / "out" / "s" / "chief.json"

    def listening():
        try:
            return json.loads(record.read_text())["pid"] == chief.pid
        except (OSError, ValueError, KeyError):
            return False

    _wait_for(listening, [chief], "chief listening")
    return chief, json.loads(record.read_text())["address"]


def _finish(process):
    out, err = process.communicate(timeout=DEADLINE)
    return process.returncode, out, err


def _stop_all(processes):
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.communicate()


def _trial(folder, trial_id):
    trial = json.loads((folder / f"trial_{trial_id}" / "trial.json").read_text())
    evaluations = json.loads((folder / f"trial_{trial_id}" / "evaluations.json").read_text())
    return trial["status"], evaluations.get("worker"), evaluations["evaluations"]


def _leaderboard(folder):
    from tuner.report.tables import render
    from tuner.results.rankings import rank_studies
    from tuner.results.snapshot import read_study

    return json.loads(render(rank_studies([read_study(folder)]), fmt="json"))


def test_a_chief_and_two_workers_run_each_trial_once_and_the_leaderboard_names_the_workers(
        lfw_tree, tmp_path):
    (tmp_path / "s.toml").write_text(SPACE.format(epochs=2, eval_every=1))
    chief, address = _chief(tmp_path, lfw_tree)
    workers = [_start(tmp_path, *_options(lfw_tree), "--worker", address, "--worker-id", name)
               for name in ("w1", "w2")]
    try:
        status, out, chief_err = _finish(chief)
        ends = [_finish(worker) for worker in workers]
    finally:
        _stop_all([chief, *workers])
    assert status == 0, chief_err[-2000:]
    assert [code for code, _, _ in ends] == [0, 0], [err[-2000:] for _, _, err in ends]
    folder = tmp_path / "out" / "s"
    assert "rank" in out and "study: out/s" in out  # the chief ends with the leaderboard
    assert sorted(p.name for p in folder.glob("trial_*")) == ["trial_0", "trial_1", "trial_2"]
    for trial_id in "012":
        assert chief_err.count(f"trial {trial_id} -> ") == 1  # handed out once
        status_, worker, evaluations = _trial(folder, trial_id)
        assert status_ == "COMPLETED" and worker in ("w1", "w2")
        assert [e["epoch"] for e in evaluations] == [1, 2]
    oracle = json.loads((folder / "oracle.json").read_text())
    assert sorted(oracle["end_order"]) == ["0", "1", "2"]
    for _, _, err in ends:  # the chief computed the reference features, the workers read them
        assert "reference features: cache hit" in err
    assert "reference features: 24 images" in chief_err  # 12 and their mirror images, once
    rows = _leaderboard(folder)
    assert sorted(row["trial_id"] for row in rows) == ["0", "1", "2"]
    assert all(row["rank"] for row in rows)
    assert {row["worker"] for row in rows} <= {"w1", "w2"}
    assert all(row["worker"] == _trial(folder, row["trial_id"])[1] for row in rows)


def test_a_worker_killed_mid_trial_has_its_trial_run_by_another_and_the_study_completes(
        lfw_tree, tmp_path):
    (tmp_path / "s.toml").write_text(SPACE.format(epochs=8, eval_every=2))
    chief, address = _chief(tmp_path, lfw_tree)
    victim = _start(tmp_path, *_options(lfw_tree), "--worker", address, "--worker-id", "victim")
    folder = tmp_path / "out" / "s"

    def victim_evaluated():
        for path in folder.glob("trial_*/evaluations.json"):
            try:
                doc = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            if doc.get("worker") == "victim" and doc.get("evaluations"):
                return path.parent.name.removeprefix("trial_")
        return None

    survivor = None
    try:
        _wait_for(victim_evaluated, [chief, victim], "an evaluation by the victim")
        killed = victim_evaluated()
        os.kill(victim.pid, signal.SIGKILL)
        victim.communicate()
        survivor = _start(tmp_path, *_options(lfw_tree), "--worker", address, "--worker-id",
                          "survivor")
        status, _, chief_err = _finish(chief)
        survivor_status, _, survivor_err = _finish(survivor)
    finally:
        _stop_all([p for p in (chief, victim, survivor) if p is not None])
    assert status == 0, chief_err[-2000:]
    assert survivor_status == 0, survivor_err[-2000:]
    assert f"worker victim is dead (its process {victim.pid} has exited): trial {killed}" \
        in chief_err
    for trial_id in "012":
        trial_status, worker, evaluations = _trial(folder, trial_id)
        assert trial_status == "COMPLETED" and worker == "survivor"
        assert [e["epoch"] for e in evaluations] == [2, 4, 6, 8]  # the dead attempt's are gone
    assert sorted(json.loads((folder / "oracle.json").read_text())["end_order"]) == ["0", "1", "2"]


def _snapshot(folder):
    """Every file of a study folder with its bytes, to tell whether anything changed (but the
    chief's chief.json, rewritten every 2 s as its sign of life)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != "chief.json"}


def test_the_chief_refuses_a_worker_without_the_studys_secret_and_serves_one_with_it(
        lfw_tree, tmp_path):
    (tmp_path / "s.toml").write_text(SPACE.format(epochs=1, eval_every=1)
                                     .replace("max_trials = 3", "max_trials = 1"))
    chief, address = _chief(tmp_path, lfw_tree)
    folder = tmp_path / "out" / "s"
    key = folder / "chief.secret"
    assert key.stat().st_mode & 0o777 == 0o600 and len(key.read_text().strip()) == 64
    before = _snapshot(folder)
    intruder = subprocess.Popen(
        [sys.executable, "-m", "tuner.search", *_options(lfw_tree), "--worker", address,
         "--worker-id", "intruder"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env={**_env(tmp_path), "DCGAN_TUNER_CHIEF_SECRET": "0" * 64})
    worker = None
    try:
        intruder_status, _, intruder_err = _finish(intruder)
        assert intruder_status == 2
        assert intruder_err.strip().splitlines() == [
            f"error: --worker {address}: the chief refused this worker's secret (from "
            f"DCGAN_TUNER_CHIEF_SECRET); set DCGAN_TUNER_CHIEF_SECRET to the content of the "
            f"chief's chief.secret, or leave it unset in the chief's study folder"]
        assert _snapshot(folder) == before  # nothing of the study changed
        worker = _start(tmp_path, *_options(lfw_tree), "--worker", address, "--worker-id", "w1")
        worker_status, _, worker_err = _finish(worker)
        status, _, chief_err = _finish(chief)
    finally:
        _stop_all([p for p in (chief, intruder, worker) if p is not None])
    assert worker_status == 0, worker_err[-2000:]
    assert status == 0, chief_err[-2000:]
    refused = [line for line in chief_err.splitlines() if "refused" in line]
    assert len(refused) == 1 and "chief: refused GetSpace from ipv4:127.0.0.1:" in refused[0]
    assert refused[0].endswith(": a wrong secret; a worker needs the study's secret "
                               "(chief.secret, or DCGAN_TUNER_CHIEF_SECRET)")
    assert _trial(folder, "0")[:2] == ("COMPLETED", "w1")


def test_a_chief_whose_disk_fills_up_stops_in_one_line_before_failing_a_workers_call(
        lfw_tree, tmp_path, monkeypatch):
    from tuner.common import files
    from tuner.common.errors import DiskFull
    from tuner.study.runner import run_search

    (tmp_path / "s.toml").write_text(SPACE.format(epochs=1, eval_every=1))
    folder = tmp_path / "out" / "s"
    monkeypatch.setattr(files, "free_bytes",  # full once the chief listens
                        lambda where: 1000 if (folder / "chief.json").exists() else 10**12)
    with pytest.raises(DiskFull) as full:
        run_search(SearchConfig(data=DataConfig(str(lfw_tree.root), lfw_tree.person),
                                scoring=ScoringConfig(samples=32, cache_dir=str(tmp_path / "c")),
                                space=str(tmp_path / "s.toml"), results_dir=str(tmp_path / "out")),
                   role=ClusterConfig("chief", "127.0.0.1", 0))
    assert str(full.value) == (
        f"disk full: {folder} has 1.0 kB free and the chief needs 2.0 MB; free some space there "
        f"(or choose another folder), then run the same command again to resume")


def _free_port():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_worker_without_a_chief_waits_saying_so_then_stops_in_one_line(lfw_tree, tmp_path):
    (tmp_path / "s.toml").write_text(SPACE.format(epochs=1, eval_every=1))
    port = _free_port()
    worker = _start(tmp_path, *_options(lfw_tree), "--worker", f"127.0.0.1:{port}",
                    "--chief-timeout", "3")
    status, _, err = _finish(worker)
    assert status == 2
    lines = err.strip().splitlines()
    assert lines[-1] == (
        f"error: --worker 127.0.0.1:{port}: no chief answered there within 3 s (--chief-timeout); "
        f"start it with the same options and --chief 127.0.0.1:{port}, or check the address")
    assert len(lines) == 2 and re.search(  # its seconds so far depend on the machine's load
        rf"waiting for the chief at 127\.0\.0\.1:{port} \(\d+ s so far, up to 3 s: "
        rf"--chief-timeout\)$", lines[0])


def test_a_worker_started_before_its_chief_waits_for_it_and_runs_its_trials(lfw_tree, tmp_path):
    """Cluster launchers start every process at once: the chief listens only once it has
    loaded the data and the reference features, seconds after its workers started."""
    (tmp_path / "s.toml").write_text(SPACE.format(epochs=1, eval_every=1)
                                     .replace("max_trials = 3", "max_trials = 2"))
    address = f"127.0.0.1:{_free_port()}"
    worker = _start(tmp_path, *_options(lfw_tree), "--worker", address, "--worker-id", "early")
    chief = _start(tmp_path, *_options(lfw_tree), "--chief", address)
    try:
        worker_status, worker_out, worker_err = _finish(worker)
        chief_status, _, chief_err = _finish(chief)
    finally:
        _stop_all([worker, chief])
    assert worker_status == 0, worker_err[-2000:]
    assert chief_status == 0, chief_err[-2000:]
    assert f"[early] waiting for the chief at {address}" in worker_err
    assert worker_out.strip() == "worker early: no trial left; study: out/s"
    folder = tmp_path / "out" / "s"
    assert [_trial(folder, t)[:2] for t in "01"] == [("COMPLETED", "early")] * 2


def test_sigterm_stops_a_worker_and_its_chief_after_their_current_step_with_status_143(
        lfw_tree, tmp_path):
    (tmp_path / "s.toml").write_text(SPACE.format(epochs=500, eval_every=1))
    chief, address = _chief(tmp_path, lfw_tree)
    worker = _start(tmp_path, *_options(lfw_tree), "--worker", address, "--worker-id", "w1")
    folder = tmp_path / "out" / "s"
    try:
        _wait_for(lambda: _evaluated_by(folder, "w1"), [chief, worker], "an evaluation by w1")
        worker.send_signal(signal.SIGTERM)
        worker_status, _, worker_err = _finish(worker)
        _wait_for(lambda: not (folder / "workers" / "w1.json").exists(), [chief], "w1 gone")
        chief.send_signal(signal.SIGTERM)
        chief_status, _, chief_err = _finish(chief)
    finally:
        _stop_all([chief, worker])
    for status, err in ((worker_status, worker_err), (chief_status, chief_err)):
        assert status == 143, err[-2000:]
        assert err.strip().splitlines()[-1] == "interrupted. Run the same command again to resume."
        assert "Traceback" not in err
    assert _trial_status_on_disk(folder, "0") == "RUNNING"  # to be handed out again on resume


def _evaluated_by(folder, worker):
    for path in folder.glob("trial_*/evaluations.json"):
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if doc.get("worker") == worker and doc.get("evaluations"):
            return True
    return False


def _trial_status_on_disk(folder, trial_id):
    return json.loads((folder / f"trial_{trial_id}" / "trial.json").read_text())["status"]


@pytest.mark.parametrize("flag", ["--chief-timeout", "--worker-timeout"])
def test_timeouts_must_be_positive(flag):
    with pytest.raises(UsageError, match=f"^{flag} must be a positive number of seconds, got 0$"):
        role_from(worker="127.0.0.1:1", **{flag[2:].replace("-", "_"): 0}, environ={})
    assert role_from(worker="127.0.0.1:1", chief_timeout=2.5, environ={}).chief_timeout == 2.5
    assert role_from(worker="127.0.0.1:1", environ={}).chief_timeout == 600


def test_workers_2_starts_a_chief_and_two_local_workers_and_ends_with_the_leaderboard(
        lfw_tree, tmp_path):
    (tmp_path / "s.toml").write_text(SPACE.format(epochs=1, eval_every=1)
                                     .replace("max_trials = 3", "max_trials = 2"))
    status, out, err = _finish(_start(tmp_path, *_options(lfw_tree), "--workers", "2"))
    assert status == 0, err[-2000:]
    assert any(line.startswith("rank ") for line in out.splitlines())
    lines = out.strip().splitlines()
    assert "study: out/s" in lines and lines[-1].startswith("to settle them: ")  # one run each
    rows = _leaderboard(tmp_path / "out" / "s")
    assert len(rows) == 2 and all(row["status"] == "COMPLETED" for row in rows)
    assert {row["worker"] for row in rows} <= {"local-1", "local-2"}
    assert "[local-1]" in err or "[local-2]" in err
    study = json.loads((tmp_path / "out" / "s" / "study.json").read_text())
    assert "--workers" not in study["command"] and "--chief" not in study["command"]


def test_an_epoch_budget_starts_no_trial_past_it_and_ends_with_the_finished_ones(
        lfw_tree, tmp_path):
    from tuner.results.snapshot import load_trials
    from tuner.study.runner import run_search

    (tmp_path / "s.toml").write_text(SPACE.format(epochs=2, eval_every=2))
    folder = run_search(SearchConfig(
        data=DataConfig(str(lfw_tree.root), lfw_tree.person),
        scoring=ScoringConfig(samples=32), space=str(tmp_path / "s.toml"),
        results_dir=str(tmp_path / "out"), max_epochs_total=5))
    rows = load_trials(folder)
    assert [row["status"] for row in rows] == ["COMPLETED", "COMPLETED"]  # 2 + 2, a third: 6 > 5


def test_a_time_budget_stops_when_the_next_trial_would_end_past_it():
    from tuner.study.tuners import Budget

    class Oracle:
        trials = {}

    budget = Budget(seconds=100, epochs_per_trial=lambda values: 2, started=time.monotonic())
    assert budget.refusal(Oracle(), []) == ""  # nothing finished yet: nothing to go by
    assert budget.refusal(Oracle(), [10.0, 20.0]) == ""
    assert budget.refusal(Oracle(), [150.0]).startswith("time budget reached")


@pytest.mark.parametrize("text, seconds", [("90s", 90), ("45m", 2700), ("2h", 7200),
                                           ("1.5h", 5400), ("600", 600)])
def test_time_budgets_read_seconds_minutes_and_hours(text, seconds):
    from tuner.common.config import parse_duration

    assert parse_duration(text) == seconds


def test_bad_budgets_and_addresses_are_one_line_usage_errors(tmp_path, search_cli):
    for flags, message in [
            (["--time-budget", "2 days"], "--time-budget must be a positive duration"),
            (["--max-epochs-total", "0"], "--max-epochs-total must be a positive integer"),
            (["--chief", "nowhere"], "--chief must be HOST:PORT"),
            (["--chief", "127.0.0.1:1", "--worker", "127.0.0.1:1"], "exclude each other"),
            (["--workers", "0"], "--workers must be a positive integer")]:
        result = search_cli(tmp_path, *flags)
        assert result.returncode == 2, (flags, result.stderr)
        assert result.stderr.strip().splitlines()[-1].startswith("error: ")
        assert message in result.stderr


def test_gpus_give_each_worker_one_device_and_a_share_of_the_cores():
    plan = worker_plan(gpus="0,1", n_cores=8, environ={})
    assert [w.name for w in plan] == ["gpu-0", "gpu-1"]
    assert [w.env["CUDA_VISIBLE_DEVICES"] for w in plan] == ["0", "1"]
    assert all(w.env["TF_NUM_INTRAOP_THREADS"] == "4" == w.env["OMP_NUM_THREADS"] for w in plan)
    # Within CUDA_VISIBLE_DEVICES, GPU k is its k-th entry, and "all" is every one of them.
    visible = {"CUDA_VISIBLE_DEVICES": "2,3"}
    assert [w.env["CUDA_VISIBLE_DEVICES"] for w in worker_plan(gpus="1", environ=visible)] == ["3"]
    plan = worker_plan(gpus="all", n_cores=2, environ=visible, visible_gpus=2)
    assert [w.env["CUDA_VISIBLE_DEVICES"] for w in plan] == ["2", "3"]
    with pytest.raises(UsageError, match="TensorFlow sees no GPU"):
        worker_plan(gpus="all", environ={}, visible_gpus=0)
    with pytest.raises(UsageError, match="--gpus must be all or distinct GPU numbers"):
        worker_plan(gpus="0,0", environ={})
    with pytest.raises(UsageError, match="one worker per GPU"):
        worker_plan(workers=3, gpus="0,1", environ={})


def test_workers_split_the_cores():
    assert [w.env["TF_NUM_INTEROP_THREADS"] for w in worker_plan(2, n_cores=8)] == ["4", "4"]
    assert [w.env["OMP_NUM_THREADS"] for w in worker_plan(3, n_cores=2)] == ["1"] * 3
    assert "CUDA_VISIBLE_DEVICES" not in worker_plan(2, n_cores=2)[0].env


def test_keras_tuners_environment_variables_make_a_chief_or_a_worker():
    chief = role_from(environ={ENV_ID: "chief", ENV_IP: "0.0.0.0", ENV_PORT: "8000"})
    assert chief == ClusterConfig("chief", "0.0.0.0", 8000)
    worker = role_from(environ={ENV_ID: "w7", ENV_IP: "10.0.0.5", ENV_PORT: "8000"})
    assert (worker.role, worker.host, worker.port, worker.worker_id) == ("worker", "10.0.0.5",
                                                                         8000, "w7")
    assert role_from(environ={}) == ClusterConfig()  # one process, the default
    assert role_from(chief="127.0.0.1:0", environ={}).host == "127.0.0.1"
    with pytest.raises(UsageError, match="KERASTUNER_ORACLE_PORT"):
        role_from(environ={ENV_ID: "w1", ENV_IP: "127.0.0.1"})


def test_a_silent_worker_is_dead_after_the_timeout_and_an_exited_one_at_once(tmp_path):
    folder = tmp_path / "workers"
    folder.mkdir()
    beat = {"worker": "w", "host": "elsewhere", "pid": 1, "beat": 1}
    (folder / "w.json").write_text(json.dumps(beat))
    watch = Watch(tmp_path, timeout=0.0)
    assert watch.dead("w") == ""  # first seen now
    assert watch.dead("w").startswith("no heartbeat for")
    assert Watch(tmp_path, timeout=3600).dead("nobody") == ""  # no heartbeat file: never dead
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True).stdout.strip()
    (folder / "x.json").write_text(json.dumps({**beat, "host": socket.gethostname(),
                                               "pid": int(ended)}))
    assert Watch(tmp_path, timeout=3600).dead("x") == f"its process {ended} has exited"


@pytest.mark.parametrize("signum, exit_status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_or_sigterm_stops_the_chief_and_every_local_worker(
        signum, exit_status, lfw_tree, tmp_path):
    """Ctrl-C in a terminal reaches the launcher alone (its children have sessions of their
    own), as does SIGTERM from docker stop, SLURM or systemd; it passes the signal on, and the
    command ends with its status and every child process ended too."""
    (tmp_path / "s.toml").write_text(SPACE.format(epochs=500, eval_every=250))
    launcher = _start(tmp_path, *_options(lfw_tree), "--workers", "2")
    folder = tmp_path / "out" / "s"
    try:
        _wait_for(lambda: len(list(folder.glob("trial_*/evaluations.json"))) == 2, [launcher],
                  "two trials training")
        pids = [json.loads((folder / "chief.json").read_text())["pid"]]
        pids += [json.loads(p.read_text())["pid"] for p in (folder / "workers").glob("*.json")]
        assert len(pids) == 3
        launcher.send_signal(signum)
        status, _, err = _finish(launcher)
    finally:
        _stop_all([launcher])
    assert status == exit_status, err[-2000:]
    assert err.strip().splitlines()[-1] == "interrupted. Run the same command again to resume."
    assert "Traceback" not in err
    for pid in pids:  # every child has exited (and been reaped by the launcher)
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    statuses = [json.loads(p.read_text())["status"] for p in folder.glob("trial_*/trial.json")]
    assert statuses and "COMPLETED" not in statuses  # interrupted, to be resumed


def _pids_of_children(folder):
    """The chief's and the workers' pids, from chief.json and the heartbeats."""
    pids = [json.loads((folder / "chief.json").read_text())["pid"]]
    return pids + [json.loads(p.read_text())["pid"] for p in (folder / "workers").glob("*.json")]


def _ended(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _finished_copy(tiny_study, tmp_path):
    import shutil

    cwd = shutil.copytree(tiny_study.cwd, tmp_path / "cwd")
    return cwd, cwd / "out" / "tiny", list(tiny_study.result.args[3:])


def _repeats(folder, trial):
    return json.loads((folder / trial / "evaluations.json").read_text())["repeats"]


def test_settle_with_two_workers_on_a_finished_study_races_its_seeds_and_ends(
        tiny_study, tmp_path):
    """The chief has no trial left and ends at once; the workers join after it and train
    the runs the study still wants, then end, and so does the command."""
    cwd, folder, args = _finished_copy(tiny_study, tmp_path)
    status, out, err = _finish(_start(cwd, *args, "--settle", "--max-repeats", "2",
                                      "--workers", "2"))
    assert status == 0, err[-3000:]
    for trial in ("trial_0", "trial_1"):
        assert [(r["seed"], r["status"]) for r in _repeats(folder, trial)] == [
            (0, "completed"), (1, "completed")]
    assert "study: out/tiny" in out and "Traceback" not in err


def test_a_worker_killed_in_the_race_is_reaped_and_its_run_trained_by_the_other(
        tiny_study, tmp_path):
    cwd, folder, args = _finished_copy(tiny_study, tmp_path)
    launcher = _start(cwd, *args, "--repeats", "3", "--epochs", "2", "--workers", "2")

    def training_added_run():
        for trial in ("trial_0", "trial_1"):
            for run in _repeats(folder, trial):
                if run["status"] == "running" and run.get("worker"):
                    beat = folder / "workers" / f"{run['worker']}.json"
                    if beat.exists():
                        return run["worker"], json.loads(beat.read_text())["pid"]
        return None

    try:
        _wait_for(training_added_run, [launcher], "an added run under way")
        name, pid = training_added_run()
        os.kill(pid, signal.SIGKILL)
        status, out, err = _finish(launcher)
    finally:
        _stop_all([launcher])
    assert status == 0, err[-3000:]
    assert f"launcher: worker {name} (process {pid}) ended with status -9 (signal 9)" in err
    for trial in ("trial_0", "trial_1"):
        assert [(r["seed"], r["status"]) for r in _repeats(folder, trial)] == [
            (0, "completed"), (1, "completed"), (2, "completed")]
    assert not list(folder.glob("trial_*/*.claim"))


def test_a_killed_chief_is_named_by_its_workers_which_end_and_so_does_the_launcher(
        lfw_tree, tmp_path):
    (tmp_path / "s.toml").write_text(SPACE.format(epochs=500, eval_every=250))
    launcher = _start(tmp_path, *_options(lfw_tree), "--workers", "2")
    folder = tmp_path / "out" / "s"
    try:
        _wait_for(lambda: len(list(folder.glob("trial_*/evaluations.json"))) == 2, [launcher],
                  "two trials training")
        pids = _pids_of_children(folder)
        os.kill(pids[0], signal.SIGKILL)
        status, _, err = _finish(launcher)
    finally:
        _stop_all([launcher])
    assert status == 1, err[-3000:]
    for name in ("local-1", "local-2"):
        assert re.search(rf"\[{name}\] .*the chief at 127\.0\.0\.1:\d+ is dead \(its process "
                         rf"{pids[0]} has exited\)", err), err[-3000:]
    assert f"launcher: the chief (process {pids[0]}) was killed (signal 9)" in err
    assert "Traceback" not in err
    assert all(_ended(pid) for pid in pids)


def test_killing_the_launcher_takes_its_chief_and_workers_with_it(lfw_tree, tmp_path):
    (tmp_path / "s.toml").write_text(SPACE.format(epochs=500, eval_every=250))
    launcher = _start(tmp_path, *_options(lfw_tree), "--workers", "2")
    folder = tmp_path / "out" / "s"
    try:
        _wait_for(lambda: len(list(folder.glob("trial_*/evaluations.json"))) == 2, [launcher],
                  "two trials training")
        pids = _pids_of_children(folder)
        os.killpg(os.getpgid(launcher.pid), signal.SIGKILL) if os.getpgid(launcher.pid) != \
            os.getpgid(0) else launcher.kill()
        launcher.communicate()
        deadline = time.time() + DEADLINE
        while not all(_ended(pid) for pid in pids):
            assert time.time() < deadline, "children outlived their launcher"
            time.sleep(0.5)
    finally:
        _stop_all([launcher])
    assert len(pids) == 3
