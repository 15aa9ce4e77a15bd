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


def test_agreement_cli_on_a_made_study_counts_runs_without_samples_and_reads_its_cache(
        tmp_path, run_without_tensorflow):
    from tests.helpers.eye_study import write_scored_eye_study
    from tuner.eye import main
    from tuner.report.eye_section import eye_section
    from tuner.results.snapshot import read_study

    study = write_scored_eye_study(tmp_path / "study", tmp_path / "cache", without={("2", 0)})
    eye = {"format": 1, "sessions": [], "judgements": [
        judgement("0", "1", "left", "ann"), judgement("0", "2", "left", "ann", runs=(1, 0)),
        judgement("1", "2", "right", "ann"), judgement("1", "0", "tie", "ann"),
        judgement("1", "0", "right", "bo"), judgement("1", "2", "left", "bo"),
        {**judgement("2", "1", "left", "bo"), "undone": "t"}]}
    (study / "eye.json").write_text(json.dumps(eye))
    argv = [str(study), "--agreement", "--networks", "onet", "--format", "json"]
    assert json.loads(run(main, argv))["reproduced"] == {"checked": 3, "equal": 3}
    cache = json.loads((study / RESCORES_FILE).read_text())
    assert sorted(cache["runs"]) == ["0/0", "0/1", "1/0"] and cache["missing"] == ["2/0"]
    kid = {k: v["onet"]["kid"] for k, v in cache["runs"].items()}

    def pooled(out, network, metric, judge=None):
        return next(r for r in out["rows"] if (r["network"], r["metric"], r["judge"])
                    == (network, metric, judge))

    out = json.loads(run(main, argv))
    assert out["reproduced"] == {"checked": 0, "equal": 0}  # nothing rescored: all cached
    # decided choices with both runs' samples: ann's and bo's 0/0 against 1/0, both for 0
    first = 2 if kid["0/0"] < kid["1/0"] else 0
    row = pooled(out, "onet", "kid")
    assert (row["agree"], row["decided"]) == (first, 2)
    assert (pooled(out, "onet", "kid", "ann")["decided"], pooled(out, "onet", "kid", "bo")
            ["decided"]) == (1, 1)
    # judges: 0/0-1/0 both for 0 (agree), 1/0-2/0 ann for 2, bo for 1 (disagree)
    assert out["judges_agree"] == {**out["judges_agree"], "level": "runs", "agree": 1,
                                   "compared": 2}
    assert (out["missing"], out["decided_without_samples"], out["decided"]) == (1, 3, 5)
    # the numbers come from the cache: change one and the count follows
    cache["runs"]["0/0"]["onet"]["kid"] = 1e9
    (study / RESCORES_FILE).write_text(json.dumps(cache))
    assert pooled(json.loads(run(main, argv)), "onet", "kid")["agree"] == 0
    text = run(main, argv[:-2])
    assert "judges   each other" in text and "1/2   50%" in text
    assert "1 judged runs have no final_samples.npz" in text
    assert "Which feature network agrees with the eye?" in eye_section(read_study(study))
    status, _, err, heavy = run_without_tensorflow("tuner.leaderboard", [str(study), "--html"])
    assert status == 0 and heavy == "[]", err
    assert "0/2" in (study / "report.html").read_text()


def run(main, argv):
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(argv) == 0
    return out.getvalue()
