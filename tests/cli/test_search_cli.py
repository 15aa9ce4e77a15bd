"""End to end: `python -m tuner.search` in a real subprocess on a tiny LFW-like tree."""

import json
import os
import shutil

import numpy as np
import pytest


@pytest.fixture(scope="module")
def searched_twice(tiny_study, search_cli, tmp_path_factory):
    """The shared tiny study, and the same command run again on a copy of its folder."""
    cwd = shutil.copytree(tiny_study.cwd, tmp_path_factory.mktemp("again") / "cwd")
    again = search_cli(cwd, *tiny_study.result.args[3:])
    return tiny_study.cwd, tiny_study.result, again


def test_two_trial_search_prints_a_ranked_table_and_the_study_path(searched_twice):
    _, first, _ = searched_twice
    assert first.returncode == 0, first.stderr[-2000:]
    lines = first.stdout.strip().splitlines()
    header = next(i for i, line in enumerate(lines)
                  if line.split()[:3] == ["rank", "trial", "status"])
    assert "lr" in lines[header].split() and "KID±std" in lines[header].split()
    assert [line.split()[0] for line in lines[header + 1:header + 3]] == ["1", "2"]
    assert all(" done " in line for line in lines[header + 1:header + 3])
    assert any("size 16" in line and "frac 0.5" in line for line in lines[:header])  # the constants
    study_line = lines.index(f"study: {os.path.join('out', 'tiny')}")
    # One run each decides nothing: the end names the open comparison and the command that adds
    # the seeds to settle it, the study's own command with --settle.
    assert lines[study_line + 1] == "open decisions (1):"
    assert lines[-1].startswith("to settle them: python -m tuner.search --data ")
    assert " --settle" in lines[-1] and "runs" in lines[-1]
    assert "trial 1 of 2" in first.stderr and "trial 2 of 2" in first.stderr


def test_the_study_folder_holds_everything_the_leaderboard_needs(searched_twice, tiny_study):
    cwd, _, _ = searched_twice
    folder = cwd / "out" / "tiny"
    meta = json.loads((folder / "study.json").read_text())
    assert meta["protocol"]["features"] == "onet"
    assert meta["protocol"]["n_real"] == 12 and meta["protocol"]["n_fake"] == 64
    assert meta["protocol"]["eval_size"] == 16
    assert meta["data"]["images"] == 12 and len(meta["data"]["fingerprint"]) == 16
    assert meta["versions"]["keras-tuner"].startswith("1.4")
    assert (folder / "space.toml").read_text() == tiny_study.space
    assert (folder / "oracle.json").is_file()
    for trial in ("trial_0", "trial_1"):
        record = json.loads((folder / trial / "trial.json").read_text())
        assert record["status"] == "COMPLETED"
        assert set(record["metrics"]["metrics"]) >= {"kid", "fd", "kid_std", "kid_train",
                                                     "kid_heldout", "seconds_per_epoch"}
        assert sorted(p.name for p in (folder / trial / "samples").iterdir()) == [
            "epoch_00001.png", "epoch_00002.png", "final_samples.npz"]
        with np.load(folder / trial / "samples" / "final_samples.npz") as kept:
            size = record["hyperparameters"]["values"]["image_size"]
            assert kept["samples"].dtype == np.uint8
            n_fake = evaluations_protocol(folder / trial)["n_fake"]
            assert kept["samples"].shape == (n_fake, size, size)
        assert (folder / trial / "checkpoint.weights.h5").is_file()
        evaluations = json.loads((folder / trial / "evaluations.json").read_text())
        assert [e["epoch"] for e in evaluations["evaluations"]] == [1, 2]
        assert list((folder / "tensorboard" / trial).glob("events.out.tfevents.*"))
    assert list((folder / "tensorboard").glob("events.out.tfevents.*"))  # the HParams config


def test_running_the_same_command_again_resumes_without_rerunning(searched_twice):
    _, first, again = searched_twice
    assert again.returncode == 0, again.stderr[-2000:]
    assert "resuming study" in again.stderr
    assert "trial 1 of 2" not in again.stderr  # nothing left to run
    assert again.stdout == first.stdout


def test_bad_input_is_one_line_and_exit_status_2(tmp_path, search_cli):
    result = search_cli(tmp_path, "--space", "no-such-space", "--results-dir", "out")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        result.stderr.strip()] and result.stderr.startswith("error: --space no-such-space")
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_sizes_the_data_or_the_network_cannot_resolve_are_warned_about(tmp_path, caplog):
    """The embedded faces are 25x25, ONet sees 48x48: each limit is said once, before training."""
    import logging
    from types import SimpleNamespace

    import numpy as np

    from tuner.study.hypermodel import _warn_network
    from tuner.study.inputs import _warn_resolution

    faces = SimpleNamespace(images=(np.zeros((25, 25)), np.zeros((30, 40))))
    space = SimpleNamespace(image_sizes=lambda: [16, 32, 64])
    with caplog.at_level(logging.WARNING, logger="tuner.study"):
        _warn_resolution(faces, space)
        _warn_network(SimpleNamespace(extractor=SimpleNamespace(input_size=48),
                                            protocol=SimpleNamespace(features="onet")), 64)
        _warn_network(SimpleNamespace(extractor=SimpleNamespace(input_size=48),
                                            protocol=SimpleNamespace(features="onet")), 32)
    assert [r.getMessage() for r in caplog.records] == [
        "the source images are 25x25: trials at 32/64 train on upsampled images, so they cannot "
        "learn finer detail than 25 px",
        "evaluating at 64x64, but onet sees 48x48: KID and FD cannot see detail finer than that; "
        "only the network-free SWD (--objective swd) can"]


def evaluations_protocol(trial_dir):
    """The scoring protocol a trial's evaluations.json records."""
    return json.loads((trial_dir / "evaluations.json").read_text())["protocol"]


def test_one_tiny_image_among_faces_is_named_as_one_not_taken_for_all(caplog):
    import logging
    from types import SimpleNamespace

    import numpy as np

    from tuner.study.inputs import _warn_resolution

    faces = SimpleNamespace(images=(*[np.zeros((25, 25))] * 12, np.zeros((1, 1))))
    with caplog.at_level(logging.WARNING, logger="tuner.study"):
        _warn_resolution(faces, SimpleNamespace(image_sizes=lambda: [16]))
    assert [r.getMessage() for r in caplog.records] == [
        "1 of the 13 source images are smaller than most (25 px), the smallest 1x1: trials at 16 "
        "train on them upsampled; leave images that are not faces out of the data"]
