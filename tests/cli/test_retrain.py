"""`python -m tuner.retrain` on a tiny study made by `python -m tuner.search`."""

import contextlib
import io
import json
import logging
import os
import shutil
import signal
import statistics
import subprocess
import sys

import numpy as np
import pytest

from tuner import retrain
from tuner.study.checkpoint import read_checkpoint_state


def _cache(study):
    """The reference cache the search filled (beside the results folder, not in the study)."""
    return study.parent.parent / "cache"


def _trial_kid(study, trial_id):
    trial = json.loads((study / f"trial_{trial_id}" / "trial.json").read_text())
    return trial["metrics"]["metrics"]["kid"]["observations"][-1]["value"][0]


def _best_id(study):
    return min(("0", "1"), key=lambda trial_id: _trial_kid(study, trial_id))


@pytest.fixture(scope="module")
def mixed_study(tiny_search, tmp_path_factory):
    """A finished two-trial study folder (one epoch, precision "mixed"), made by the search CLI
    in a subprocess."""
    search = tiny_search(tmp_path_factory.mktemp("study"), epochs=1, precision="mixed")
    assert search.result.returncode == 0, search.result.stderr[-2000:]
    return search.folder


def run_retrain(*argv):
    """`main(argv)` in this process: (exit status, stdout)."""
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        status = retrain.main([str(arg) for arg in argv])
    return status, stdout.getvalue()


@pytest.fixture(scope="module")
def retrained(mixed_study):
    """The best trial retrained for 2 epochs on 2 seeds, into the default folder."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(_cache(mixed_study)))
        status, stdout = run_retrain(mixed_study, "--epochs", 2, "--seeds", 2)
    assert status == 0
    best_id = _best_id(mixed_study)
    return mixed_study / "retrain" / f"trial_{best_id}", best_id, stdout


def _evaluations(seed_dir):
    return json.loads((seed_dir / "evaluations.json").read_text())["evaluations"]


def test_retrain_writes_generators_sample_grids_and_the_curve_per_seed(retrained):
    out, _, _ = retrained
    for seed in (1, 2):  # the study's seed 0, plus 1 and 2
        seed_dir = out / f"seed_{seed}"
        assert {p.name for p in seed_dir.iterdir()} == {
            "generator.keras", "generator_best.keras", "evaluations.json", "curve.png",
            "samples", "checkpoint.npz"}
        assert sorted(p.name for p in (seed_dir / "samples").iterdir()) == [
            "epoch_00001.png", "epoch_00002.png", "final_samples.npz"]
        assert [row["epoch"] for row in _evaluations(seed_dir)] == [1, 2]
        assert (seed_dir / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_retrain_json_holds_each_seed_their_mean_and_std_and_the_search_score(mixed_study, retrained):
    out, best_id, stdout = retrained
    summary = json.loads((out / "retrain.json").read_text())
    assert (summary["trial_id"], summary["epochs"], summary["complete"]) == (best_id, 2, True)
    assert summary["hyperparameters"]["image_size"] == 16
    assert [s["seed"] for s in summary["seeds"]] == [1, 2]
    for record in summary["seeds"]:
        history = _evaluations(out / record["folder"])
        assert record["final"] == {k: history[-1][k] for k in record["final"]}
        assert record["best"]["kid"] == min(row["kid"] for row in history)
    finals = [record["final"]["kid"] for record in summary["seeds"]]
    assert summary["final"]["kid"] == {"mean": statistics.mean(finals),
                                       "std": statistics.stdev(finals)}
    assert summary["search"]["kid"] == _trial_kid(mixed_study, best_id)
    assert stdout.splitlines()[0].startswith(f"trial {best_id} of tiny (learning_rate=")
    assert stdout.splitlines()[-1] == f"retrain: {out}"


def test_retrained_scores_use_exactly_the_study_protocol(mixed_study, retrained):
    out, _, _ = retrained
    protocol = json.loads((mixed_study / "study.json").read_text())["protocol"]
    assert json.loads((out / "retrain.json").read_text())["protocol"] == protocol
    evaluations = json.loads((out / "seed_1" / "evaluations.json").read_text())
    assert evaluations["protocol"] == protocol


def test_the_same_command_again_trains_nothing(mixed_study, retrained, caplog):
    out, _, stdout = retrained
    caplog.set_level(logging.INFO, logger="tuner")
    before = (out / "seed_1" / "checkpoint.npz").stat().st_mtime_ns
    assert run_retrain(mixed_study, "--epochs", 2, "--seeds", 2) == (0, stdout)
    assert "seed 1: finished (2 epochs), not rerun" in caplog.text
    assert "seed 2: finished (2 epochs), not rerun" in caplog.text
    assert (out / "seed_1" / "checkpoint.npz").stat().st_mtime_ns == before


def test_more_epochs_extend_a_seed_exactly_as_an_uninterrupted_run(mixed_study, retrained, tmp_path,
                                                                   caplog):
    import keras

    out, _, _ = retrained
    shutil.copytree(out, tmp_path / "extended")
    caplog.set_level(logging.INFO, logger="tuner")
    assert run_retrain(mixed_study, "--epochs", 3, "--out", tmp_path / "extended")[0] == 0
    assert "seed 1 (1 of 1): resuming from the checkpoint at epoch 2, 1 epochs to go" in caplog.text
    assert run_retrain(mixed_study, "--epochs", 3, "--out", tmp_path / "straight")[0] == 0
    extended, straight = (_evaluations(tmp_path / name / "seed_1")
                          for name in ("extended", "straight"))
    assert [row["epoch"] for row in extended] == [1, 2, 3]
    assert [row["kid"] for row in extended] == [row["kid"] for row in straight]
    weights = [keras.models.load_model(tmp_path / name / "seed_1" / "generator.keras").get_weights()
               for name in ("extended", "straight")]
    assert all(np.array_equal(a, b) for a, b in zip(*weights))


def test_fewer_epochs_than_already_trained_is_refused(mixed_study, retrained, capsys):
    out, _, _ = retrained
    assert run_retrain(mixed_study, "--epochs", 1, "--seeds", 2)[0] == 2
    assert capsys.readouterr().err == (
        f"error: {out / 'seed_1'} has already trained 2 epochs, more than --epochs 1; "
        f"give --epochs 2 or more, or another --out\n")


# The child kills itself with SIGKILL right after its first checkpoint is written: a real
# kill -9 at a known point, whatever the machine's speed.
KILLED_AFTER_FIRST_CHECKPOINT = """
import os, signal, sys
from tuner.common import files
from tuner.retrain import main

write_bytes = files.write_bytes

def write_then_die(path, data):
    write_bytes(path, data)
    if os.path.basename(path) == "checkpoint.npz":
        os.kill(os.getpid(), signal.SIGKILL)

files.write_bytes = write_then_die
main(sys.argv[1:])
"""


def test_a_killed_retrain_resumes_from_its_last_checkpoint(mixed_study, tmp_path, caplog, cli_env):
    # No --epochs: the space's retrain_epochs (4). --trial 0 whatever its rank.
    argv = [str(mixed_study), "--trial", "0", "--out", str(tmp_path / "run")]
    seed_dir = tmp_path / "run" / "seed_1"
    child = subprocess.run([sys.executable, "-c", KILLED_AFTER_FIRST_CHECKPOINT, *argv],
                           cwd=tmp_path, env=cli_env(_cache(mixed_study).parent), capture_output=True,
                           text=True, timeout=600)
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]
    assert read_checkpoint_state(seed_dir / "checkpoint.npz")["epochs"] == 1
    assert [row["epoch"] for row in _evaluations(seed_dir)] == [1]
    assert not (tmp_path / "run" / "retrain.json").exists()
    caplog.set_level(logging.INFO, logger="tuner")
    assert run_retrain(*argv)[0] == 0
    assert "resuming from the checkpoint at epoch 1, 3 epochs to go" in caplog.text
    assert [row["epoch"] for row in _evaluations(seed_dir)] == [1, 2, 3, 4]
    assert sorted(p.name for p in (seed_dir / "samples").glob("*.png")) == [
        f"epoch_{e:05d}.png" for e in range(1, 5)]
    summary = json.loads((tmp_path / "run" / "retrain.json").read_text())
    assert summary["trial_id"] == "0" and summary["complete"] and summary["epochs"] == 4


def test_the_generator_loads_with_plain_keras_in_a_python_without_this_project(retrained,
                                                                               tmp_path):
    out, _, _ = retrained
    child = """
import sys
sys.modules["tuner"] = None  # importing this project would now fail
import keras, numpy as np
model = keras.models.load_model(sys.argv[1])
images = np.asarray(model(np.random.default_rng(0).standard_normal((5, 100)).astype("float32")))
print(images.shape, images.dtype, bool(images.min() >= -1 and images.max() <= 1),
      any(name.startswith("tuner") for name in sys.modules if sys.modules[name] is not None))
"""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run([sys.executable, "-c", child, str(out / "seed_1" / "generator.keras")],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "(5, 16, 16, 1) float32 True False"


def test_a_trial_that_is_absent_or_not_completed_is_one_line_naming_the_valid_ids(mixed_study, capsys):
    assert run_retrain(mixed_study, "--trial", "7")[0] == 2
    assert capsys.readouterr().err == (
        f"error: --trial 7: no completed trial with that id in {mixed_study}; choose one of "
        f"{', '.join(sorted(['0', '1'], key=lambda t: t != _best_id(mixed_study)))}\n")


def test_a_study_whose_data_or_network_changed_is_refused(mixed_study, tmp_path, capsys):
    copy = tmp_path / "tiny"
    shutil.copytree(mixed_study, copy, ignore=shutil.ignore_patterns("retrain"))
    meta = json.loads((copy / "study.json").read_text())
    meta["protocol"]["features_weights"] = "other-weights"
    (copy / "study.json").write_text(json.dumps(meta))
    assert run_retrain(copy)[0] == 2
    assert capsys.readouterr().err.startswith(
        "error: the scoring protocol differs from the study's in features_weights: the data or "
        "the feature network changed since the search")
    assert not (copy / "retrain").exists()


def test_without_a_study_in_the_results_dir_is_one_line(tmp_path, capsys):
    assert run_retrain("--results-dir", tmp_path)[0] == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: --results-dir {tmp_path}: no study there")
    assert err.count("\n") == 1


def test_a_failed_seed_is_reported_and_not_retried(mixed_study, tmp_path, caplog):
    failed = {"seed": 1, "message": "diverged at epoch 3: g_loss nan, d_loss 0.5 (not finite)",
              "history": []}
    (tmp_path / "out" / "seed_1").mkdir(parents=True)
    (tmp_path / "out" / "seed_1" / "failed.json").write_text(json.dumps(failed))
    caplog.set_level(logging.INFO, logger="tuner")
    status, stdout = run_retrain(mixed_study, "--out", tmp_path / "out")
    assert status == 0
    assert f"seed 1 failed earlier ({failed['message']}); delete" in caplog.text
    summary = json.loads((tmp_path / "out" / "retrain.json").read_text())
    statuses = [(s["status"], s["message"]) for s in summary["seeds"]]
    assert statuses == [("FAILED", failed["message"])]
    assert (summary["complete"], summary["final"]["kid"]) == (False, {"mean": None, "std": None})
    assert stdout.splitlines()[2] == "   1  FAILED          0  -"
    assert sorted(p.name for p in (tmp_path / "out" / "seed_1").iterdir()) == ["failed.json"]
