"""`python -m tuner.score`, called through main(argv) as a user's shell would."""

import json

import numpy as np
import pytest
from PIL import Image

from tuner.score import main


@pytest.fixture
def fake_folder(tmp_path, face_factory):
    folder = tmp_path / "fakes"
    folder.mkdir()
    for i in range(16):
        Image.fromarray(face_factory(32)).save(folder / f"{i:04d}.png")
    return folder


def test_one_json_line_per_fake_folder(lfw_tree, fake_folder, capsys):
    code = main([str(lfw_tree.root), "--person", lfw_tree.person, str(fake_folder),
                 str(fake_folder), "--quiet"])
    out = capsys.readouterr().out.strip().splitlines()
    assert code == 0 and len(out) == 2
    line = json.loads(out[0])
    assert {"fake", "fd", "kid", "kid_std", "n_real", "n_fake", "features"} <= set(line)
    assert (line["fake"], line["n_real"], line["n_fake"], line["features"]) == (
        str(fake_folder), 12, 16, "onet")
    assert line["eval_size"] == 32 and line["fd"] > 0
    assert line["reference_flips"] is True and line["swd"] > 0
    assert list(line["swd_levels"]) == ["32", "16"]
    assert line["swd"] == pytest.approx(sum(line["swd_levels"].values()) / 2)
    assert json.loads(out[1]) == line  # same folder, same protocol: the same numbers


def test_no_flip_scores_against_the_originals_only(lfw_tree, fake_folder, capsys):
    real = [str(lfw_tree.root), "--person", lfw_tree.person, str(fake_folder), "--quiet"]
    assert main(real) == 0 and main([*real, "--no-flip"]) == 0
    mirrored, plain = map(json.loads, capsys.readouterr().out.strip().splitlines())
    assert (mirrored["reference_flips"], plain["reference_flips"]) == (True, False)
    assert plain["kid"] != mirrored["kid"] and plain["swd"] != mirrored["swd"]


def test_the_embedded_faces_score_a_folder_of_pngs(fake_folder, capsys):
    assert main(["lfw-subset", str(fake_folder), "--size", "64", "--quiet"]) == 0
    line = json.loads(capsys.readouterr().out)
    assert line["n_real"] == 100 and line["eval_size"] == 64


FAMILIES = ("noise", "blur", "rectangles", "swirl", "salt_pepper", "contamination", "downsample",
            "oversmooth", "saturation", "checkerboard", "binary_noise", "blotches", "gray",
            "collapse", "partial_collapse")


def test_validate_prints_every_family_with_a_monotone_verdict_and_the_failure_order(lfw_tree,
                                                                                   capsys):
    code = main([str(lfw_tree.root), "--person", lfw_tree.person, "--validate", "--size", "32",
                 "--quiet"])
    out = capsys.readouterr().out
    assert code == 0
    for family in FAMILIES:
        assert family in out
    assert out.count("MONOTONE") == len(FAMILIES)
    failures = out[out.index("failure modes (top level) against the worst face-like sample"):]
    lines = failures.splitlines()
    assert [line.split()[0] for line in lines[5:-1]] == [
        "noise", "contamination", "checkerboard", "binary_noise", "blotches", "gray", "collapse",
        "partial_collapse"]
    assert lines[-1].startswith("ORDER RIGHT (monotone, and every failure worse than every face):")
    assert [word for word in lines[-1].split()[-6:] if word in ("FD", "KID", "SWD")] == [
        "FD", "KID", "SWD"]


def test_validate_as_json_with_fer(lfw_tree, capsys):
    code = main([str(lfw_tree.root), "--person", lfw_tree.person, "--validate", "--size", "32",
                 "--features", "fer", "--format", "json", "--quiet"])
    study = json.loads(capsys.readouterr().out)
    assert code == 0 and (study["features"], study["size"], study["images"]) == ("fer", 32, 12)
    assert len(study["rows"]) == 5 * len(FAMILIES) and set(study["monotone"]) == set(FAMILIES)
    assert set(study["order_right"]) == {"fd", "kid", "swd"}
    assert set(study["failures"]["modes"]) == {"noise", "contamination", "checkerboard",
                                               "binary_noise", "blotches", "gray", "collapse",
                                               "partial_collapse"}


def test_a_folder_scored_with_fer_names_it(fake_folder, capsys):
    assert main(["lfw-subset", str(fake_folder), "--size", "64", "--features", "fer",
                 "--quiet"]) == 0
    line = json.loads(capsys.readouterr().out)
    assert line["features"] == "fer" and line["eval_size"] == 64 and line["kid"] > 0


@pytest.mark.parametrize("argv, message", [
    (["lfw-subset"], "error: give at least one FAKE folder"),
    (["lfw-subset", "/no/such/folder"], "error: "),
    (["lfw-subset", "FAKES", "--features", "vgg"], "error: --features 'vgg'"),
    (["lfw-subset", "FAKES", "--features", "fer", "--features-weights", "w.h5"],
     "error: --features-weights "),
])
def test_bad_input_is_one_line_and_exit_status_2(argv, message, fake_folder, capsys):
    argv = [str(fake_folder) if arg == "FAKES" else arg for arg in argv]
    assert main([*argv, "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(message) and "\n" not in err


def test_images_too_small_for_swds_patches_are_one_line_naming_the_minimum(tmp_path, capsys):
    folder = tmp_path / "dots"
    folder.mkdir()
    for i in range(4):
        Image.fromarray(np.full((1, 1), 60 * i, np.uint8)).save(folder / f"{i}.png")
    assert main(["lfw-subset", str(folder), "--quiet"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"error: {folder}: its 1x1 images are too small to score: SWD compares 7x7 patches, so "
        f"images must be at least 7x7; give --size (e.g. 64) to score them upsampled, or larger "
        f"images")
    assert main(["lfw-subset", str(folder), "--size", "4", "--quiet"]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: --size 4 is too small to score: SWD compares 7x7 patches; give --size 7 or more "
        "(e.g. 64)")


def test_sigterm_ends_a_job_with_nothing_to_resume_with_the_usual_line(capfd, monkeypatch):
    import os
    import signal
    import time
    from types import SimpleNamespace

    from tuner import console
    from tuner.common import interruption

    def exit_now(status):  # os._exit, but the test goes on to look
        raise SystemExit(status)

    monkeypatch.setattr(interruption.os, "_exit", exit_now)

    def job():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(60)  # the signal ends it long before
        return 0

    with pytest.raises(SystemExit) as ended:
        console.run_cli(job, SimpleNamespace(debug=False))
    assert ended.value.code == 143
    assert capfd.readouterr().err == "\ninterrupted.\n"
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # put back


def test_sigterm_stops_validate_with_status_143_and_the_usual_line(lfw_tree, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import threading
    import time
    from pathlib import Path

    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"),
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    process = subprocess.Popen(
        [sys.executable, "-m", "tuner.score", str(lfw_tree.root), "--person", lfw_tree.person,
         "--validate", "--size", "32"], env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True)
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(process.stderr), daemon=True)
    reader.start()
    try:
        deadline = time.time() + 300
        while not any(line[:2].isdigit() for line in lines):  # its first log line ("12:00:01 ")
            assert process.poll() is None and time.time() < deadline, "".join(lines)[-2000:]
            time.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        status = process.wait(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
    reader.join(60)
    assert status == 143, "".join(lines)[-2000:]
    assert lines[-1].strip() == "interrupted." and "Traceback" not in "".join(lines)
