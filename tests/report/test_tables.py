"""How the leaderboard's tables (text, markdown, JSON, CSV) show studies whose trials train
several runs: mean ± se, runs, the comparison with #1, diverged runs. Hand-made folders
(tests/helpers/repeated_study.py)."""

import csv
import io
import json
import re

from tests.helpers.repeated_study import FINAL_KIDS, LAB, row_of, write_study, write_trial
from tuner.report.tables import FIELDS, ONE_RUN, format_markdown, format_text, render
from tuner.results.rankings import rank_studies
from tuner.results.snapshot import read_study

# ---------------------------------------------------------------- the leaderboard


def test_the_table_shows_mean_se_runs_and_the_comparison_with_the_best(repeated_study):
    ranking = rank_studies([repeated_study])[0]
    text = format_text(ranking, width=80)
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
    assert ONE_RUN not in text


def test_every_column_shows_when_the_terminal_is_wide(repeated_study):
    text = format_text(rank_studies([repeated_study])[0], width=200)
    header = next(line for line in text.splitlines() if line.startswith("rank"))
    assert header.split() == ["rank", "trial", "status", "lr", "beta1", "size", "frac", "KID±se",
                              "(K)", "vs", "#1", "FD", "SWD", "best(opt)", "s/ep", "features"]


def test_a_single_run_study_says_its_ranking_ignores_training_noise(tmp_path):
    folder = tmp_path / "single"
    write_study(folder, rank_by="last-2", repeats=1)
    for trial_id, (lr, kids) in list(FINAL_KIDS.items())[:3]:
        write_trial(folder, trial_id, {**LAB, "learning_rate": lr}, [[(25, 0.1), (50, kids[0])]])
    ranking = rank_studies([read_study(folder)])[0]
    text = format_text(ranking, width=80)
    flat = " ".join(text.split())
    assert flat.count(ONE_RUN) == 1 and "vs #1" not in text
    assert "ranked by KID, mean of the last 2 evaluations, lower is better" in flat
    header = next(line for line in text.splitlines() if line.startswith("rank"))
    assert header.split()[4:6] == ["KID±std", "FD"]
    assert ONE_RUN in format_markdown(ranking)


def test_json_and_csv_carry_the_runs_and_the_comparison(repeated_study):
    ranking = rank_studies([repeated_study])[0]
    recs = json.loads(render([ranking], "json"))
    assert [list(rec) for rec in recs] == [list(FIELDS)] * 5
    third = next(rec for rec in recs if rec["trial_id"] == "2")
    assert third["vs_best"] == row_of(repeated_study, "2")["vs_best"]
    assert set(third["vs_best"]) == {"diff", "low", "high", "n", "settled", "method"}
    assert third["repeat_scores"][1] == {"repeat": 1, "seed": 1, "score": 0.039,
                                         "diverged_at_epoch": None}
    assert (third["repeats"], third["rank_by"], third["objective"]) == (3, "final", "kid")
    lines = list(csv.DictReader(io.StringIO(render([ranking], "csv"))))
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
    markdown = render([ranking], "markdown")
    assert "| SWD |" in markdown and "+0.0092 ?" in markdown
