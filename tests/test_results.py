"""Reading studies whose trials train several runs (repeats): scores, rank-by rules, paired
comparisons with #1, diverged runs, and how the leaderboard shows them. Hand-made folders
written the way the search writes them (evaluations.json with "repeats")."""

import csv
import io
import json
import math
import re

import numpy as np
import pytest
from PIL import Image
from scipy import stats

from tuner import comparison, files, plots, report, results, tables

PROTOCOL = {"features": "onet", "eval_size": 32, "n_real": 100, "n_fake": 500,
            "reference_flips": True, "holdout": 0.0, "rank_by": "final"}
LAB = {"beta_1": 0.5, "image_size": 32, "subset_fraction": 1.0}
# Final KIDs of the quick space's three learning rates at seeds 0, 1, 2 (measured), and two
# made-up settings: one clearly worse, one whose runs 1 and 2 diverged.
FINAL_KIDS = {"0": (2e-4, [0.0286, 0.0291, 0.0333]), "1": (5e-4, [0.0341, 0.0362, 0.0302]),
              "2": (2e-3, [0.0432, 0.0390, 0.0363]), "3": (1e-2, [0.0600, 0.0610, 0.0605]),
              "4": (2e-2, [0.0900, 0.0950, 0.1000])}
DIVERGED = {"4": {1: 25, 2: 50}}  # trial: {repeat: epoch}


def evaluation(repeat, seed, epoch, kid, **more):
    return {"repeat": repeat, "seed": seed, "epoch": epoch, "kid": kid, "kid_std": kid / 10,
            "fd": kid * 100, "swd": kid * 300, "density": 0.5, "coverage": 0.4, "sample_std": 0.2,
            "g_loss": 1.5, "d_loss": 0.7, "seconds": 0.3, **more}


def write_trial(study_dir, trial_id, hp, runs, status="COMPLETED", diverged=None, repeats=None):
    """trial_<id>/ with evaluations.json holding `runs` ([(epoch, kid), ...] per repeat, seeds
    0, 1, ...) and keras-tuner's trial.json (only status, hyperparameters, seconds_per_epoch)."""
    diverged = diverged or {}
    folder = study_dir / f"trial_{trial_id}"
    entries = [{"repeat": r, "seed": r, "epochs": points[-1][0],
                "status": "diverged" if r in diverged else "completed",
                "diverged_at_epoch": diverged.get(r),
                "reason": "g_loss not finite" if r in diverged else ""}
               for r, points in enumerate(runs)]
    evaluations = [evaluation(r, r, epoch, kid) for r, points in enumerate(runs)
                   for epoch, kid in points]
    files.write_json(folder / "evaluations.json", {"protocol": PROTOCOL,
                                                   "repeats": entries[:repeats],
                                                   "evaluations": evaluations})
    metrics = {"seconds_per_epoch": {"direction": "min",
                                     "observations": [{"value": [0.12], "step": 0}]}}
    files.write_json(folder / "trial.json", {
        "trial_id": trial_id, "hyperparameters": {"space": [], "values": hp},
        "metrics": {"metrics": metrics if status == "COMPLETED" else {}}, "status": status,
        "message": None})
    return folder


def write_study(folder, rank_by="final", repeats=3, objective="kid"):
    files.write_json(folder / "study.json", {
        "study": folder.name, "objective": objective, "rank_by": rank_by, "repeats": repeats,
        "holdout": 0.0, "seed": 0, "protocol": {**PROTOCOL, "rank_by": rank_by},
        "protocol_key": "0123456789abcdef", "train": {"epochs": 50}, "data": {}})


@pytest.fixture()
def repeated(tmp_path):
    """Five configurations, three runs each (evaluated at epochs 25 and 50), ranked by final KID."""
    folder = tmp_path / "quick"
    write_study(folder)
    for trial_id, (lr, kids) in FINAL_KIDS.items():
        runs = [[(25, kid + 0.01), (50, kid)] for kid in kids]
        write_trial(folder, trial_id, {**LAB, "learning_rate": lr}, runs,
                    diverged=DIVERGED.get(trial_id))
    return results.open_study(folder)


def row_of(study, trial_id):
    return next(row for row in study.rows if row["trial_id"] == trial_id)


# ---------------------------------------------------------------- scores of one trial


@pytest.mark.parametrize("rank_by, expected", [
    ("final", (0.04 + 0.02) / 2), ("best", (0.03 + 0.02) / 2), ("last-2", (0.035 + 0.025) / 2),
    ("last-9", (0.04 + 0.025) / 2)])
def test_rank_by_picks_evaluations_within_each_run_then_averages_runs(tmp_path, rank_by,
                                                                     expected):
    runs = [[(10, 0.05), (20, 0.03), (30, 0.04)], [(10, 0.03), (20, 0.02)]]
    folder = write_trial(tmp_path, "7", {**LAB, "learning_rate": 1e-3}, runs)
    row = results.trial_row(folder, "kid", rank_by=rank_by)
    assert row["kid"] == pytest.approx(expected, abs=1e-15)
    assert row["fd"] == pytest.approx(expected * 100)  # every score follows the same rule
    assert row["best"] == pytest.approx((0.03 + 0.02) / 2)  # optimistic, whatever the rule
    assert row["best_epoch"] == 20 and row["epochs"] == 30 and row["repeats"] == 2


def test_mean_standard_error_and_runs_are_exact(repeated):
    row = row_of(repeated, "0")
    kids = FINAL_KIDS["0"][1]
    assert row["repeats"] == 3 and row["rank_by"] == "final"
    assert row["kid"] == pytest.approx(np.mean(kids), abs=1e-15)
    assert row["score_se"] == pytest.approx(np.std(kids, ddof=1) / math.sqrt(3), abs=1e-15)
    assert row["repeat_scores"] == [{"repeat": r, "seed": r, "score": kids[r],
                                     "diverged_at_epoch": None} for r in range(3)]
    assert row["best"] == pytest.approx(np.mean(kids), abs=1e-15)  # final is the best here
    assert row["swd"] == pytest.approx(300 * np.mean(kids))
    assert (row["diverged"], row["diverged_at_epoch"]) == (0, None)


def test_a_running_trial_shows_its_runs_so_far(tmp_path):
    runs = [[(25, 0.05), (50, 0.04)], [(25, 0.07)]]
    folder = write_trial(tmp_path, "8", {**LAB, "learning_rate": 1e-3}, runs, status="RUNNING",
                         repeats=1)  # the second run has no entry yet
    row = results.trial_row(folder, "kid", rank_by="final")
    assert row["status"] == "RUNNING" and row["repeats"] == 1
    assert row["kid"] == pytest.approx((0.04 + 0.07) / 2)
    assert [s["score"] for s in row["repeat_scores"]] == [0.04, 0.07]
    assert row["seconds_per_epoch"] is None


def test_a_bad_rank_by_in_study_json_is_one_line_naming_the_file(tmp_path):
    write_study(tmp_path / "odd", rank_by="last-0")
    with pytest.raises(results.UsageError, match=r"odd/study\.json: rank_by must be final, best "
                                                 r"or last-N .*got 'last-0'; correct the file"):
        results.open_study(tmp_path / "odd")


# ---------------------------------------------------------------- paired comparisons


def test_the_paired_t_interval_is_scipys(repeated):
    best, third = row_of(repeated, "0"), row_of(repeated, "2")
    expected = stats.ttest_rel(FINAL_KIDS["2"][1], FINAL_KIDS["0"][1]).confidence_interval(0.95)
    vs = third["vs_best"]
    assert vs["n"] == 3 and vs["method"] == "paired t, 95%" and vs["settled"] is False
    assert vs["diff"] == pytest.approx((0.0146 + 0.0099 + 0.0030) / 3, abs=1e-12)
    assert (vs["low"], vs["high"]) == pytest.approx((expected.low, expected.high), abs=1e-12)
    assert best["rank"] == 1 and best["vs_best"] is None


def test_settled_only_when_the_interval_lies_above_zero(repeated):
    ranks = {row["trial_id"]: (row["rank"], row["vs_best"] and row["vs_best"]["settled"])
             for row in repeated.rows}
    assert ranks == {"0": (1, None), "1": (2, False), "2": (3, False), "3": (4, True),
                     "4": (5, True)}
    assert row_of(repeated, "3")["vs_best"]["low"] > 0


def test_paired_t_interval_closed_forms():
    assert comparison.paired_t_interval([]) == (None, None, None)
    assert comparison.paired_t_interval([0.5]) == (0.5, None, None)
    mean, low, high = comparison.paired_t_interval([1.0, 3.0])  # sd sqrt(2), se 1, t(0.975, 1)
    assert (mean, high - mean) == (2.0, pytest.approx(12.706204736174703))
    assert comparison.paired_t_interval([2.0, 2.0, 2.0]) == (2.0, 2.0, 2.0)
    assert comparison.standard_error([1.0]) is None
    assert comparison.standard_error([1.0, 3.0, 5.0]) == pytest.approx(2 / math.sqrt(3))
    one = comparison.compare({0: 0.1}, {0: 0.3, 1: 0.2})
    assert (one["n"], one["diff"], one["low"], one["settled"]) == (1, pytest.approx(0.2), None,
                                                                  False)


# ---------------------------------------------------------------- diverged runs


def test_a_trial_with_diverged_runs_is_ranked_with_its_score_and_marked(repeated):
    row = row_of(repeated, "4")
    assert row["status"] == "COMPLETED" and row["rank"] == 5
    assert row["kid"] == pytest.approx(np.mean(FINAL_KIDS["4"][1]))
    assert (row["diverged"], row["diverged_at_epoch"]) == (2, 25)
    assert row["diverged_reason"] == "g_loss not finite"
    assert [s["diverged_at_epoch"] for s in row["repeat_scores"]] == [None, 25, 50]
    assert tables.status_word(row) == "done*"
    assert tables.status_word({**row, "diverged": 3}) == "diverged"


# ---------------------------------------------------------------- the leaderboard


def test_the_table_shows_mean_se_runs_and_the_comparison_with_the_best(repeated):
    ranking = results.rank_studies([repeated])[0]
    text = tables.format_text(ranking, width=80)
    lines = text.splitlines()
    assert max(map(len, lines)) <= 80, text
    assert lines[0] == ("quick: 5 trials (4 done, 1 done*); ranked by final KID; mean over 3 "
                        "runs (seeds")
    assert lines[1].strip() == "0-2), lower is better"
    header = next(line for line in lines if line.startswith("rank"))
    assert header.split() == ["rank", "trial", "status", "lr", "KID±se", "(K)", "vs", "#1", "FD",
                              "best(opt)", "s/ep"]
    assert "same for every trial: beta1 0.5, size 32, frac 1, features onet" in lines
    assert "not shown at this width: SWD (see --format markdown)" in lines
    body = {line.split()[1]: line for line in lines[lines.index(header) + 1:][:5]}
    assert re.search(r"^ +1 0 +done +0\.0002 0\.0303±0\.0015 \(3\) +- 3\.03 0\.0303@50 0\.120$",
                     body["0"])
    assert re.search(r" 0\.0395±0\.0020 \(3\) +\+0\.0092 \? 3\.95 ", body["2"])
    assert re.search(r"^ +5 4 +done\* .* \+0\.0647 settled ", body["4"])
    assert "vs #1: mean paired difference from #1 over the seeds both ran; settled: its 95% " \
           "paired-t interval excludes 0; ?: not settled, within training noise" \
           in " ".join(text.split())
    assert "  trial 2: +0.0092, 95% interval -0.0053 to +0.0237 over 3 seeds (paired t, 95%)" \
        in lines
    assert "  trial 4: 2 of 3 runs diverged (epochs 25, 50): g_loss not finite" in lines
    assert tables.ONE_RUN not in text


def test_every_column_shows_when_the_terminal_is_wide(repeated):
    text = tables.format_text(results.rank_studies([repeated])[0], width=200)
    header = next(line for line in text.splitlines() if line.startswith("rank"))
    assert header.split() == ["rank", "trial", "status", "lr", "beta1", "size", "frac", "KID±se",
                              "(K)", "vs", "#1", "FD", "SWD", "best(opt)", "s/ep", "features"]


def test_a_single_run_study_says_its_ranking_ignores_training_noise(tmp_path):
    folder = tmp_path / "single"
    write_study(folder, rank_by="last-2", repeats=1)
    for trial_id, (lr, kids) in list(FINAL_KIDS.items())[:3]:
        write_trial(folder, trial_id, {**LAB, "learning_rate": lr}, [[(25, 0.1), (50, kids[0])]])
    ranking = results.rank_studies([results.open_study(folder)])[0]
    text = tables.format_text(ranking, width=80)
    flat = " ".join(text.split())
    assert flat.count(tables.ONE_RUN) == 1 and "vs #1" not in text
    assert "ranked by KID, mean of the last 2 evaluations, lower is better" in flat
    header = next(line for line in text.splitlines() if line.startswith("rank"))
    assert header.split()[4:6] == ["KID±std", "FD"]
    assert tables.ONE_RUN in tables.format_markdown(ranking)


def test_json_and_csv_carry_the_runs_and_the_comparison(repeated):
    ranking = results.rank_studies([repeated])[0]
    recs = json.loads(tables.render([ranking], "json"))
    assert [list(rec) for rec in recs] == [list(tables.FIELDS)] * 5
    third = next(rec for rec in recs if rec["trial_id"] == "2")
    assert third["vs_best"] == row_of(repeated, "2")["vs_best"]
    assert set(third["vs_best"]) == {"diff", "low", "high", "n", "settled", "method"}
    assert third["repeat_scores"][1] == {"repeat": 1, "seed": 1, "score": 0.039,
                                         "diverged_at_epoch": None}
    assert (third["repeats"], third["rank_by"], third["objective"]) == (3, "final", "kid")
    lines = list(csv.DictReader(io.StringIO(tables.render([ranking], "csv"))))
    header = list(lines[0])
    at = header.index("vs_best_diff")
    assert header[at - 3:at + 8] == ["rank_by", "repeats", "score_se", "vs_best_diff",
                                     "vs_best_low", "vs_best_high", "vs_best_n", "vs_best_settled",
                                     "vs_best_method", "repeat_seeds", "repeat_scores"]
    line = next(line for line in lines if line["trial_id"] == "2")
    assert line["repeat_seeds"] == "0;1;2" and line["repeat_scores"] == "0.0432;0.039;0.0363"
    assert float(line["vs_best_low"]) == third["vs_best"]["low"]
    assert line["vs_best_settled"] == "False" and line["vs_best_n"] == "3"
    assert {"swd", "fd_heldout", "best", "diverged", "diverged_at_epoch"} <= set(header)
    markdown = tables.render([ranking], "markdown")
    assert "| SWD |" in markdown and "+0.0092 ?" in markdown


def test_the_report_states_whether_the_winner_is_settled(repeated):
    page = report.render_report(repeated)
    assert ("ahead of #2 (trial 1, 0.0335 ± 0.0018 (3 runs)) by 0.0032: not settled, within "
            "training noise (paired over 3 seeds, 95% interval -0.0105 to 0.0168, paired t, "
            "95%)") in page
    assert '<span class="status diverged">done*</span>' in page
    assert "KID 0.0303 ± 0.0015 over 3 runs (seed 0: 0.0286, seed 1: 0.0291, seed 2: 0.0333)" \
        in page
    assert "best (optimistic) 0.0303 at epoch 50 of 50" in page


def test_plots_show_the_error_over_runs_diverged_trials_and_every_run(repeated):
    first, diverged = row_of(repeated, "0"), row_of(repeated, "4")
    assert plots.error_bar(first, "kid") == first["score_se"]
    assert plots.error_bar({**first, "score_se": None}, "kid") == first["kid_std"]
    assert plots.error_bar({**first, "score_se": None}, "fd") is None
    assert (plots.marker(first), plots.marker(diverged)) == ("o", "D")
    with Image.open(io.BytesIO(plots.comparison(repeated.rows, "learning_rate"))) as image:
        assert image.format == "PNG"
    evaluations = results.load_evaluations(diverged["folder"])
    assert len(evaluations) == 6
    with Image.open(io.BytesIO(plots.score_curve(evaluations, None, [25, 50]))) as image:
        assert image.width == 4 * 320  # KID, FD, SWD and losses panels
    without_swd = [{k: v for k, v in e.items() if k != "swd"} for e in evaluations]
    with Image.open(io.BytesIO(plots.score_curve(without_swd))) as image:
        assert image.width == 3 * 320
