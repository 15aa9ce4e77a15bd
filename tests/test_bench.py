"""`python -m tuner.bench`: the FLOP rule on closed forms, the flags, and one --quick run.

Nothing here asserts a timing: the numbers depend on the machine and its load.
"""

import os
import subprocess
import sys

import pytest

from tuner import bench, benchmark


def test_forward_macs_of_the_lab_networks_at_64_match_the_hand_count():
    from tuner.dcgan import build_discriminator, build_generator

    generator = (100 * 8 * 8 * 256                # Dense to 8x8x256
                 + 8 * 8 * 25 * 256 * 128         # deconv 128, stride 1 (input pixels x kernel)
                 + 8 * 8 * 25 * 128 * 64          # deconv 64, 8 -> 16
                 + 16 * 16 * 25 * 64 * 32         # deconv 32, 16 -> 32
                 + 32 * 32 * 25 * 32 * 1)         # deconv 1, 32 -> 64
    discriminator = (32 * 32 * 25 * 1 * 64        # conv 64, 64 -> 32 (output pixels x kernel)
                     + 16 * 16 * 25 * 64 * 128    # conv 128, 32 -> 16
                     + 16 * 16 * 128 * 1)         # Dense(1) on the flattened features
    assert benchmark.forward_macs(build_generator(64)) == generator
    assert benchmark.forward_macs(build_discriminator(64)) == discriminator
    assert benchmark.train_flops_per_image(build_generator(64), build_discriminator(64)) == (
        2 * 3 * (generator + 2 * discriminator))


def test_training_seconds_leave_out_the_tracing_epoch_and_the_evaluations():
    epochs = [5.0, 1.0, 3.0, 1.2, 1.1, 2.5]      # epoch 1 traces; 3 and 6 end with a scoring
    evaluations = [{"epoch": 3, "seconds": 2.0}, {"epoch": 6, "seconds": 1.5}]
    assert benchmark._training_seconds(epochs, evaluations) == pytest.approx(1.0)


def test_flags_override_the_defaults_or_the_quick_settings():
    config = bench.config_from(bench.parser().parse_args(["--quick", "--epochs", "2"]))
    assert config.sizes == benchmark.QUICK.sizes and config.epochs == 2
    config = bench.config_from(bench.parser().parse_args(["--sizes", "32", "64",
                                                          "--no-experiments"]))
    assert config.sizes == (32, 64) and not config.experiments and config.images == 530


def test_a_bad_size_is_one_line_and_exit_status_2(capsys):
    assert bench.main(["--sizes", "48"]) == 2
    assert "image_size must be a power of two" in capsys.readouterr().err


def test_quick_run_prints_every_section_of_the_table(tmp_path):
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    run = subprocess.run([sys.executable, "-m", "tuner.bench", "--quick"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-2000:]
    out = run.stdout
    for header in ("machine ", "threads ", "matmul ", "Seconds per epoch", "Scoring one evaluation",
                   "Quick-space trial", "Memory over 2 trials", "Goals (issue 7)"):
        assert header in out, header
    rows = [line.split() for line in out.splitlines()]
    assert ["32", "float32"] in [row[:2] for row in rows]
    assert ["32", "mixed"] in [row[:2] for row in rows]
    assert any(row[:1] == ["onet"] for row in rows)
    assert "inception         skipped" in out
    assert out.count("] ") >= 6  # one line per goal, each marked met / MISSED / n/a
