"""The CLIs start where POSIX-only modules do not exist (Windows): no fcntl, no resource."""

import json
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
CLIS = ("tuner.search", "tuner.score", "tuner.leaderboard", "tuner.retrain", "tuner.generate")

WITHOUT_POSIX_MODULES = """
import importlib, sys, warnings
sys.modules["fcntl"] = sys.modules["resource"] = None  # `import fcntl` now fails, as on Windows
# A POSIX system without fcntl makes filelock fall back to a soft lock, and say so; on Windows
# it takes the OS lock (LockFileEx) and says nothing.
warnings.filterwarnings("ignore", "only soft file lock is available", UserWarning)
for name in {clis!r}:
    importlib.import_module(name)
from tuner import leaderboard, search
print("leaderboard", leaderboard.main([{study!r}, "--format", "json"]), flush=True)
print("search", search.main(["--max-trials", "0", "--results-dir", {out!r}]), flush=True)
"""


def _write_study(folder):
    """A study folder as the search writes it: one trial in progress, its search gone."""
    (folder / "trial_0").mkdir(parents=True)
    (folder / "study.json").write_text(json.dumps({
        "study": folder.name, "objective": "kid", "protocol": {"features": "onet"},
        "protocol_key": "0123456789abcdef"}))
    (folder / "trial_0" / "evaluations.json").write_text(json.dumps({
        "protocol": {"features": "onet"},
        "evaluations": [{"epoch": 1, "kid": 0.25, "kid_std": 0.01, "fd": 3.5, "density": 0.5,
                         "coverage": 0.5, "sample_std": 0.2, "g_loss": 0.7, "d_loss": 1.3,
                         "seconds": 0.1}]}))
    (folder / ".search.lock").write_text("process 999999999 on nowhere (started 2000-01-01)\n")


def test_every_cli_imports_and_runs_without_fcntl_and_resource(tmp_path):
    study = tmp_path / "results" / "s"
    _write_study(study)
    program = WITHOUT_POSIX_MODULES.format(clis=CLIS, study=str(study),
                                           out=str(tmp_path / "out"))
    result = subprocess.run([sys.executable, "-c", program], cwd=tmp_path, capture_output=True,
                            text=True, timeout=300, env={"PYTHONPATH": str(PROJECT),
                                                        "PATH": "", "HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert lines[-2:] == ["leaderboard 0", "search 2"]
    rows = json.loads("\n".join(lines[:-2]))
    assert [(row["trial_id"], row["kid"]) for row in rows] == [("0", 0.25)]
    assert result.stderr == "error: --max-trials must be a positive integer, got 0\n"
