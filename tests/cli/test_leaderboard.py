"""`python -m tuner.leaderboard` on a real tiny study made by `python -m tuner.search`."""

import csv
import io
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageStat

from tuner import leaderboard
from tuner.common.config import DEFAULT_MARGIN
from tuner.report.tables import FIELDS, VS_BEST

COLUMNS = ["rank", "trial", "status", "lr", "beta1", "size", "frac", "KID±std", "FD", "SWD",
           "best/ep", "s/ep", "features"]
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def searched_study(tiny_study):
    """out/tiny/ made by a real search: two completed 16x16 trials, two evaluations each."""
    return tiny_study.folder


def run(argv, monkeypatch, capsys, columns=80):
    """main(argv) in this process with a terminal `columns` wide: (exit status, stdout, stderr)."""
    monkeypatch.setenv("COLUMNS", str(columns))
    status = leaderboard.main(argv)
    out, err = capsys.readouterr()
    return status, out, err


def copy_study(study, destination):
    return shutil.copytree(study, destination, ignore=shutil.ignore_patterns("*.h5", "report.html"))


def trial_metric(study, trial, name):
    record = json.loads((study / f"trial_{trial}" / "trial.json").read_text())
    return record["metrics"]["metrics"][name]["observations"][-1]["value"][0]


def rank_by(study):
    """The study's rank-by rule, one of the training settings study.json keeps in `train`."""
    return json.loads((study / "study.json").read_text())["train"]["rank_by"]


def picked(study, trial, rule=None):
    """The evaluation a one-run trial's scores come from: its last one, or its best KID."""
    evaluations = json.loads((study / f"trial_{trial}" / "evaluations.json").read_text())
    evaluations = evaluations["evaluations"]
    rule = rule or rank_by(study)
    assert rule in ("best", "final")  # what the tiny space may use
    return min(evaluations, key=lambda e: e["kid"]) if rule == "best" else evaluations[-1]


def best_column(study):
    return "best/ep" if rank_by(study) == "best" else "best(opt)"


def expected_columns(study):
    """The wide table's columns for this study: SWD where the search recorded it, the best
    evaluation's column as the study's rank-by rule shows it."""
    swd = picked(study, "0").get("swd") is not None
    return [best_column(study) if c == "best/ep" else c for c in COLUMNS if c != "SWD" or swd]


def test_the_table_has_every_column_when_the_terminal_is_wide(searched_study, monkeypatch, capsys):
    status, out, _ = run([str(searched_study)], monkeypatch, capsys, columns=200)
    assert status == 0
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("rank"))
    columns = expected_columns(searched_study)
    assert lines[header].split() == columns
    rows = [line.split() for line in lines[header + 1:header + 3]]
    assert [row[0] for row in rows] == ["1", "2"] and [row[2] for row in rows] == ["done", "done"]
    assert sorted(row[1] for row in rows) == ["0", "1"]
    assert sorted(row[3:7] for row in rows) == [["0.0002", "0.5", "16", "0.5"],
                                                ["0.001", "0.5", "16", "0.5"]]
    best, first = picked(searched_study, rows[0][1]), dict(zip(columns, rows[0]))
    assert first["KID±std"] == f"{best['kid']:.4f}±{best['kid_std']:.4f}"
    assert first["FD"] == f"{best['fd']:.2f}" and first["features"] == "onet"
    optimistic = picked(searched_study, rows[0][1], "best")
    assert first[best_column(searched_study)] == (
        f"{optimistic['epoch']}/2" if rank_by(searched_study) == "best"
        else f"{optimistic['kid']:.4f}@{optimistic['epoch']}")
    flat = " ".join(out.split())
    assert "one training run per configuration: the ranking ignores training noise (use " \
           "--repeats)" in flat
    assert flat.endswith("s/ep: seconds per training epoch, scoring excluded: each run's "
                         "10th-percentile epoch after the first (robust to a busy machine), mean "
                         "over runs")


def test_in_80_columns_the_shared_settings_move_above_the_table(searched_study, monkeypatch, capsys):
    _, out, _ = run([str(searched_study)], monkeypatch, capsys, columns=80)
    lines = out.splitlines()
    assert max(map(len, lines)) <= 80
    assert re.match(r"tiny: 2 trials \(2 done\); ranked by (best KID \(optimistic\)|final KID)"
                    r", lower is better$", lines[0])
    assert "same for every trial: beta1 0.5, size 16, frac 0.5, features onet" in lines
    header = next(line for line in lines if line.startswith("rank"))
    assert [c for c in header.split() if c != "SWD"] == [
        "rank", "trial", "status", "lr", "KID±std", "FD", best_column(searched_study), "s/ep"]


def test_json_rows_follow_the_documented_schema(searched_study, monkeypatch, capsys):
    _, out, _ = run([str(searched_study), "--format", "json"], monkeypatch, capsys)
    rows = json.loads(out)
    assert [list(row) for row in rows] == [list(FIELDS)] * 2
    assert FIELDS[:6] == ("rank", "group", "study", "trial_id", "status", "hyperparameters")
    for row in rows:
        assert list(row["hyperparameters"])[:4] == ["learning_rate", "beta_1", "image_size",
                                                    "subset_fraction"]
        assert row["status"] == "COMPLETED" and row["study"] == "tiny" and row["group"] == 1
        assert row["kid"] == picked(searched_study, row["trial_id"])["kid"]
        assert row["rank_by"] == rank_by(searched_study) and row["repeats"] == 1
        assert row["score_se"] is None and len(row["repeat_scores"]) == 1
        assert row["repeat_scores"][0]["score"] == row["kid"] and row["diverged"] == 0
        assert isinstance(row["kid_std"], float) and isinstance(row["fd"], float)
        assert row["kid_train"] is not None and row["kid_heldout"] is not None  # a 0.5 subset
        assert row["epochs"] == 2 and row["best_epoch"] in (1, 2)
        assert row["seconds_per_epoch"] > 0 and row["features"] == "onet" and row["message"] == ""
        assert row["eval_size"] == 16 and len(row["protocol_key"]) == 16
        assert os.path.isdir(row["folder"])
    assert [row["rank"] for row in rows] == [1, 2] and rows[0]["kid"] <= rows[1]["kid"]
    assert rows[0]["vs_best"] is None
    margin = rows[0]["kid"] * DEFAULT_MARGIN  # a new study spends its 5% by seeds: at 3, 1%
    assert rows[1]["vs_best"] == {"diff": rows[1]["kid"] - rows[0]["kid"], "low": None,
                                  "high": None, "n": 1, "settled": False,
                                  "method": "paired t, Bonferroni", "level": 0.99, "pairs": 1,
                                  "looks": 1, "spending": "seeds", "status": "open",
                                  "equivalent": False, "upper": None,
                                  "margin": pytest.approx(margin, rel=1e-12),
                                  "margin_share": DEFAULT_MARGIN, "mcb_level": 0.99,
                                  "seeds_needed": 3,
                                  "advice": "needs 3 seeds (now 1): --repeats 3"}
    assert [row["may_be_best"] for row in rows] == [True, True]
    assert all(row["out"] is None and row["unscored"] == 0 for row in rows)


def test_csv_has_the_json_columns_with_hyperparameters_spread_out(searched_study, monkeypatch, capsys):
    _, out, _ = run([str(searched_study), "--format", "csv"], monkeypatch, capsys)
    _, js, _ = run([str(searched_study), "--format", "json"], monkeypatch, capsys)
    table = list(csv.DictReader(io.StringIO(out)))
    expected = [f for f in FIELDS if f not in ("hyperparameters", "retrain")]
    expected[5:5] = ["learning_rate", "beta_1", "image_size", "subset_fraction"]
    at = expected.index("vs_best")
    expected[at:at + 3] = [f"vs_best_{k}" for k in VS_BEST] + [
        "may_be_best", "repeat_seeds", "repeat_scores"]
    expected += ["retrain_kid", "retrain_kid_seed_std", "retrain_fd", "retrain_seeds",
                 "retrain_epochs"]
    assert list(table[0]) == expected
    for line, row in zip(table, json.loads(js)):
        assert float(line["kid"]) == row["kid"] and line["trial_id"] == row["trial_id"]
        assert float(line["learning_rate"]) == row["hyperparameters"]["learning_rate"]


def test_markdown_is_a_table_with_one_line_per_trial(searched_study, monkeypatch, capsys):
    _, out, _ = run([str(searched_study), "--format", "markdown", "--top", "1"], monkeypatch, capsys)
    table = [line for line in out.splitlines() if line.startswith("|")]
    assert [cell.strip() for cell in table[0].strip("|").split("|")] == expected_columns(searched_study)
    assert len(table) == 3 and table[2].startswith("| 1 |")
    assert "top 1 shown; not shown: 1 done" in out


def test_with_no_study_named_the_most_recent_one_is_shown(searched_study, monkeypatch, capsys):
    older = copy_study(searched_study, searched_study.parent.parent / "results-two" / "older")
    newer = copy_study(searched_study, searched_study.parent.parent / "results-two" / "newer")
    os.utime(older / "study.json", (1, 1))
    os.utime(older / "oracle.json", (1, 1))
    os.utime(older, (1, 1))
    _, out, _ = run(["--results-dir", str(older.parent)], monkeypatch, capsys)
    assert out.startswith(f"{newer.name}: 2 trials")


def test_studies_with_one_protocol_rank_together_and_others_apart(searched_study, monkeypatch, capsys):
    copy_study(searched_study, searched_study.parent / "twin")
    other = copy_study(searched_study, searched_study.parent / "other")
    meta = json.loads((other / "study.json").read_text())
    meta["protocol"]["n_fake"] = 2000
    (other / "study.json").write_text(json.dumps(meta))
    _, out, _ = run(["tiny", "twin", "other", "--results-dir", str(searched_study.parent)],
                    monkeypatch, capsys, columns=120)
    first, second = out.split("\n\n")
    assert first.startswith("tiny, twin: 4 trials (4 done)")
    labels = re.findall(r"^ +\d+ +(\w+)/\d+ ", first, re.M)
    assert sorted(labels) == ["tiny", "tiny", "twin", "twin"]
    assert second.startswith("other is ranked separately from tiny: scores are not comparable "
                             "(n_fake 64 vs 2000)")
    _, js, _ = run(["tiny", "other", "--results-dir", str(searched_study.parent), "--format", "json"],
                   monkeypatch, capsys)
    assert [(r["study"], r["group"], r["rank"]) for r in json.loads(js)][2:] == [
        ("other", 2, 1), ("other", 2, 2)]


def test_a_study_being_written_shows_its_trials_in_progress(searched_study, tmp_path, monkeypatch, capsys):
    live = copy_study(searched_study, tmp_path / "live")
    record = json.loads((live / "trial_1" / "trial.json").read_text())
    record.update(status="RUNNING", metrics={"metrics": {}})
    (live / "trial_1" / "trial.json").write_text(json.dumps(record))
    shutil.copytree(live / "trial_0", live / "trial_2")  # started, trial.json not yet written
    (live / "trial_2" / "trial.json").unlink()
    (live / "trial_3").mkdir()  # just created: nothing to show yet
    (live / ".search.lock").write_text(f"process {os.getpid()} on {os.uname().nodename}\n")
    _, out, _ = run([str(live), "--format", "json"], monkeypatch, capsys)
    rows = {row["trial_id"]: row for row in json.loads(out)}
    assert sorted(rows) == ["0", "1", "2"]
    assert rows["0"]["rank"] == 1 and rows["0"]["status"] == "COMPLETED"
    assert rows["1"]["status"] == rows["2"]["status"] == "RUNNING"
    assert rows["1"]["rank"] is None and rows["1"]["epochs"] == 2  # best evaluation so far
    assert rows["1"]["kid"] == picked(live, "1")["kid"]


def test_a_running_trial_of_a_dead_search_shows_as_interrupted(searched_study, tmp_path, monkeypatch,
                                                                capsys):
    dead = copy_study(searched_study, tmp_path / "dead")
    record = json.loads((dead / "trial_1" / "trial.json").read_text())
    (dead / "trial_1" / "trial.json").write_text(json.dumps({**record, "status": "RUNNING"}))
    (dead / ".search.lock").write_text(f"process 999999999 on {os.uname().nodename}\n")
    _, out, _ = run([str(dead)], monkeypatch, capsys, columns=200)
    assert re.search(r"^ +- +1 +interrupted ", out, re.M)


def test_an_unknown_study_is_one_line_naming_the_choices(searched_study, monkeypatch, capsys):
    status, out, err = run(["tinny", "--results-dir", str(searched_study.parent)], monkeypatch, capsys)
    assert status == 2 and out == ""
    assert err.strip().splitlines() == [err.strip()]
    assert err.startswith("error: study 'tinny': not a study folder") and "did you mean tiny" in err


def test_html_path_must_be_a_file_name(searched_study, monkeypatch, capsys):
    status, _, err = run(["--html", "tiny"], monkeypatch, capsys)
    assert status == 2 and "--html PATH must end in .html" in err


def test_the_command_imports_no_tensorflow_and_writes_only_the_report(searched_study,
                                                                     run_without_tensorflow):
    before = sorted(p.relative_to(searched_study) for p in searched_study.rglob("*"))
    status, _, err, heavy = run_without_tensorflow("tuner.leaderboard", [str(searched_study), "--html"])
    assert status == 0, err[-2000:]
    assert heavy == "[]"
    assert err.strip() == f"report: {searched_study / 'report.html'}"
    after = sorted(p.relative_to(searched_study) for p in searched_study.rglob("*"))
    assert sorted(set(after) - set(before)) == [Path("report.html")]


@pytest.fixture(scope="module")  # module scope, so it is asked before the module's study
def chromium():
    """The headless browser, or a skip that says why (asked before the study is made)."""
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium), so the "
                    "HTML report cannot be checked in a real browser")
    return executable


def test_the_report_renders_in_chromium_with_every_image(chromium, searched_study, tmp_path):
    page = tmp_path / "report.html"
    assert leaderboard.main([str(searched_study), "--html", str(page), "--quiet"]) == 0
    shot = tmp_path / "report.png"
    result = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
         "--virtual-time-budget=5000", "--dump-dom", f"--screenshot={shot}",
         "--window-size=1200,2000", page.as_uri()],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    body = re.search(r"<body[^>]*>", result.stdout).group(0)
    # 4 comparison plots; per trial a score curve and 2 grids; both trials are winners (whole grid)
    assert re.search(r'data-images="(\d+)"', body).group(1) == str(4 + 2 * (1 + 2 + 1))
    assert re.search(r'data-broken-images="(\d+)"', body).group(1) == "0"
    with Image.open(shot) as image:
        assert image.size == (1200, 2000)
        assert ImageStat.Stat(image.convert("L")).stddev[0] > 20  # text and plots, not a blank page


def test_retrained_results_show_beside_the_search_result(searched_study, tmp_path, monkeypatch, capsys):
    copy = tmp_path / "tiny"
    shutil.copytree(searched_study, copy)
    best = json.loads(run([str(copy), "--format", "json"], monkeypatch, capsys)[1])[0]
    summary = {"n_completed": 2, "complete": True, "epochs": 300,
               "final": {"kid": {"mean": 0.0412, "std": 0.003}, "fd": {"mean": 4.5, "std": 0.2}}}
    folder = copy / "retrain" / f"trial_{best['trial_id']}"
    folder.mkdir(parents=True)
    (folder / "retrain.json").write_text(json.dumps(summary))
    _, out, _ = run([str(copy)], monkeypatch, capsys, columns=200)
    row = next(line for line in out.splitlines() if line.split()[:2] == ["1", best["trial_id"]])
    assert row.endswith("0.0412±0.0030 2x300")
    rows = json.loads(run([str(copy), "--format", "json"], monkeypatch, capsys)[1])
    assert rows[0]["retrain"] == {"epochs": 300, "seeds": 2, "complete": True, "kid": 0.0412,
                                  "kid_seed_std": 0.003, "fd": 4.5, "fd_seed_std": 0.2}
    assert rows[1]["retrain"] is None
    line = next(csv.DictReader(io.StringIO(run([str(copy), "--format", "csv"], monkeypatch,
                                                capsys)[1])))
    assert (line["retrain_kid"], line["retrain_seeds"]) == ("0.0412", "2")
