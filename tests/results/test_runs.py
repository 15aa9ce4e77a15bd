"""Reading studies whose trials train several runs (repeats): scores per run and over runs,
rank-by rules, diverged runs. Hand-made folders written the way the search writes them
(evaluations.json with "repeats"; tests/helpers/repeated_study.py)."""

import math

import numpy as np
import pytest

from tests.helpers.repeated_study import FINAL_KIDS, LAB, row_of, write_study, write_trial
from tuner.common.errors import UsageError
from tuner.report.tables import status_word
from tuner.results.snapshot import read_study, trial_row

# ---------------------------------------------------------------- scores of one trial


@pytest.mark.parametrize("rank_by, expected", [
    ("final", (0.04 + 0.02) / 2), ("best", (0.03 + 0.02) / 2), ("last-2", (0.035 + 0.025) / 2),
    ("last-9", (0.04 + 0.025) / 2)])
def test_rank_by_picks_evaluations_within_each_run_then_averages_runs(tmp_path, rank_by,
                                                                     expected):
    runs = [[(10, 0.05), (20, 0.03), (30, 0.04)], [(10, 0.03), (20, 0.02)]]
    folder = write_trial(tmp_path, "7", {**LAB, "learning_rate": 1e-3}, runs)
    row = trial_row(folder, "kid", rank_by=rank_by)
    assert row["kid"] == pytest.approx(expected, abs=1e-15)
    assert row["fd"] == pytest.approx(expected * 100)  # every score follows the same rule
    assert row["best"] == pytest.approx((0.03 + 0.02) / 2)  # optimistic, whatever the rule
    assert row["best_epoch"] == 20 and row["epochs"] == 30 and row["repeats"] == 2


def test_mean_standard_error_and_runs_are_exact(repeated_study):
    row = row_of(repeated_study, "0")
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
    row = trial_row(folder, "kid", rank_by="final")
    assert row["status"] == "RUNNING" and row["repeats"] == 1
    assert row["kid"] == pytest.approx((0.04 + 0.07) / 2)
    assert [s["score"] for s in row["repeat_scores"]] == [0.04, 0.07]
    assert row["seconds_per_epoch"] is None


def test_a_completed_trial_counts_its_finished_runs_only_never_a_half_trained_one(tmp_path):
    # the race's run 3 killed after its first evaluation: its epoch-25 score is no run's score
    runs = [[(25, 0.05), (50, 0.04)], [(25, 0.06), (50, 0.05)], [(25, 0.01)]]
    folder = write_trial(tmp_path, "8", {**LAB, "learning_rate": 1e-3}, runs, repeats=2)
    row = trial_row(folder, "kid", rank_by="final")
    assert row["status"] == "COMPLETED" and row["repeats"] == 2
    assert row["kid"] == pytest.approx((0.04 + 0.05) / 2)
    assert [s["seed"] for s in row["repeat_scores"]] == [0, 1]


def test_a_bad_rank_by_in_study_json_is_one_line_naming_the_file(tmp_path):
    write_study(tmp_path / "odd", rank_by="last-0")
    with pytest.raises(UsageError, match=r"odd/study\.json: rank_by must be final, best "
                                                 r"or last-N .*got 'last-0'; correct the file"):
        read_study(tmp_path / "odd")


# ---------------------------------------------------------------- diverged runs


def test_a_trial_with_diverged_runs_is_ranked_with_its_score_and_marked(repeated_study):
    row = row_of(repeated_study, "4")
    assert row["status"] == "COMPLETED" and row["rank"] == 5
    assert row["kid"] == pytest.approx(np.mean(FINAL_KIDS["4"][1]))
    assert (row["diverged"], row["diverged_at_epoch"]) == (2, 25)
    assert row["diverged_reason"] == "g_loss not finite"
    assert [s["diverged_at_epoch"] for s in row["repeat_scores"]] == [None, 25, 50]
    assert status_word(row) == "done*"
    assert status_word({**row, "diverged": 3}) == "diverged"
