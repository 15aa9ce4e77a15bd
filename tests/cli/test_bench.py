"""`python -m tuner.bench`: the FLOP rule on closed forms, the flags, platforms without
memory counters, and one --quick run.

Nothing here asserts a timing: the numbers depend on the machine and its load.
"""

import os
import re
import subprocess
import sys
from types import SimpleNamespace

import pytest

from tuner.bench import cli, epochs, goals, machine, table, trials
from tuner.common.config import QUICK_BENCH


def test_forward_macs_of_the_lab_networks_at_64_match_the_hand_count():
    from tuner.gan.dcgan import build_discriminator, build_generator

    generator = (100 * 8 * 8 * 256                # Dense to 8x8x256
                 + 8 * 8 * 25 * 256 * 128         # deconv 128, stride 1 (input pixels x kernel)
                 + 8 * 8 * 25 * 128 * 64          # deconv 64, 8 -> 16
                 + 16 * 16 * 25 * 64 * 32         # deconv 32, 16 -> 32
                 + 32 * 32 * 25 * 32 * 1)         # deconv 1, 32 -> 64
    discriminator = (32 * 32 * 25 * 1 * 64        # conv 64, 64 -> 32 (output pixels x kernel)
                     + 16 * 16 * 25 * 64 * 128    # conv 128, 32 -> 16
                     + 16 * 16 * 128 * 1)         # Dense(1) on the flattened features
    assert epochs.forward_macs(build_generator(64)) == generator
    assert epochs.forward_macs(build_discriminator(64)) == discriminator
    assert epochs.train_flops_per_image(build_generator(64), build_discriminator(64)) == (
        2 * 3 * (generator + 2 * discriminator))


def test_training_seconds_leave_out_the_tracing_epoch_and_the_evaluations():
    epoch_seconds = [5.0, 1.0, 3.0, 1.2, 1.1, 2.5]  # epoch 1 traces; 3 and 6 end with a scoring
    evaluations = [{"epoch": 3, "seconds": 2.0}, {"epoch": 6, "seconds": 1.5}]
    assert trials.training_seconds(epoch_seconds, evaluations) == pytest.approx(1.0)


def test_flags_override_the_defaults_or_the_quick_settings():
    config = cli.config_from(cli.parser().parse_args(["--quick", "--epochs", "2"]))
    assert config.sizes == QUICK_BENCH.sizes and config.epochs == 2
    config = cli.config_from(cli.parser().parse_args(["--sizes", "32", "64",
                                                      "--memory-trials", "3"]))
    assert config.sizes == (32, 64) and config.memory_trials == 3 and config.images == 530


def test_a_bad_size_is_one_line_and_exit_status_2(capsys):
    assert cli.main(["--sizes", "48"]) == 2
    assert "image_size must be a power of two" in capsys.readouterr().err


def test_without_proc_or_resource_memory_is_not_measurable_here(monkeypatch):
    monkeypatch.setattr(machine, "_read", lambda path: "")
    monkeypatch.setitem(sys.modules, "resource", None)  # as on Windows: import fails
    assert machine.rss_mb() is None and machine.peak_rss_mb() is None
    memory = trials.MemoryTrace(rss_mb=[None, None, None], peak_mb=[None, None, None],
                                reference_computations=1)
    report = SimpleNamespace(memory=memory, config=SimpleNamespace(memory_epochs=1))
    assert table._memory(report).splitlines()[2:4] == ["RSS         not measurable here",
                                                       "peak RSS    not measurable here"]
    goal = goals._memory_goal(report)
    assert (goal.measured, goal.met) == ("not measurable here", None)


def test_the_benchmark_imports_without_posix_only_modules():
    code = ("import sys; sys.modules['resource'] = sys.modules['fcntl'] = None\n"
            "import tuner.bench, tuner.bench.cli, tuner.bench.table\n"
            "from tuner.bench import machine\n"
            "print(machine.peak_rss_mb(), 'tensorflow' in sys.modules)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split() == ["None", "False"]


def test_quick_run_prints_every_section_of_the_table(tmp_path):
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    run = subprocess.run([sys.executable, "-m", "tuner.bench", "--quick"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=1800)
    assert run.returncode == 0, run.stderr[-2000:]
    out = run.stdout
    for header in ("machine ", "threads ", "matmul ", "Seconds per epoch", "Scoring one evaluation",
                   "Quick-space trial", "Memory over 2 trials", "\nGoals\n"):
        assert header in out, header
    assert "issue" not in out.lower() and "proposed fix" not in out
    rows = [line.split() for line in out.splitlines()]
    assert ["32", "float32"] in [row[:2] for row in rows]
    assert ["32", "mixed"] in [row[:2] for row in rows]
    assert any(row[:1] == ["onet"] for row in rows)
    assert "inception         skipped" in out
    goal_lines = out.split("\nGoals\n")[1].splitlines()
    assert len(goal_lines) == 7
    assert all(re.match(r"\[ *(met|MISSED|n/a)\]  ", line) for line in goal_lines), goal_lines
