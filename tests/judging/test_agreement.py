"""Each network's agreement with the eye, end to end: judged runs rescored from their final
samples (python -m tuner.eye STUDY --agreement), on a real tiny search."""

import json
import shutil
import subprocess
import sys

import numpy as np

from tuner.results.eye_file import RESCORES_FILE


def judgement(left, right, answer, judge, runs=(0, 0), session="s"):
    return {"session": session, "item": 0, "task": "pair", "answer": answer, "judge": judge,
            "time": "t", "left": left, "right": right, "runs": list(runs)}


def last_scores(trial_dir):
    rows = json.loads((trial_dir / "evaluations.json").read_text())["evaluations"]
    last = max(rows, key=lambda e: e["epoch"])
    return last["kid"], last["fd"], last["swd"]


def test_the_studys_own_network_reproduces_the_recorded_scores_exactly(tiny_study, tmp_path,
                                                                        cli_env):
    study = tmp_path / "tiny"
    shutil.copytree(tiny_study.folder, study)
    trials = sorted(p for p in study.glob("trial_*") if (p / "evaluations.json").exists())
    assert len(trials) == 2
    samples = np.load(trials[0] / "samples" / "final_samples.npz")["samples"]
    assert samples.dtype == np.uint8 and samples.shape == (64, 16, 16)
    a, b = (json.loads((t / "trial.json").read_text())["trial_id"] for t in trials)
    eye = {"format": 1, "sessions": [], "judgements": [
        judgement(a, b, "left", "ann"), judgement(b, a, "right", "bo"),
        judgement(a, b, "tie", "cy")]}
    (study / "eye.json").write_text(json.dumps(eye))
    result = subprocess.run([sys.executable, "-m", "tuner.eye", str(study), "--agreement",
                             "--networks", "onet", "--format", "json"], cwd=tiny_study.cwd,
                            env=cli_env(tiny_study.cwd), capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    out = json.loads(result.stdout)
    assert out["reproduced"] == {"checked": 2, "equal": 2} and out["own"] == "onet"
    cache = json.loads((study / RESCORES_FILE).read_text())
    for trial_id, trial_dir in zip((a, b), trials):
        kid, fd, swd = last_scores(trial_dir)
        assert cache["runs"][f"{trial_id}/0"]["onet"] == {"kid": kid, "fd": fd}
        assert cache["runs"][f"{trial_id}/0"]["swd"] == swd
    # both decided choices preferred trial a; the judges agree with each other once (ann, bo)
    kid_a, kid_b = last_scores(trials[0])[0], last_scores(trials[1])[0]
    pooled = {(r["network"], r["metric"]): r for r in out["rows"] if r["judge"] is None}
    assert pooled["onet", "kid"]["decided"] == 2
    assert pooled["onet", "kid"]["agree"] == (2 if kid_a < kid_b else 0)
    assert out["judges_agree"]["level"] == "runs"
    assert (out["judges_agree"]["agree"], out["judges_agree"]["compared"]) == (1, 1)
    assert out["missing"] == 0 and out["decided"] == 2 and out["choices"] == 3
