"""How the leaderboard's tables (text, markdown, JSON, CSV) show studies whose trials train
several runs: mean ± se, runs, the comparison with #1, diverged runs. Hand-made folders
(tests/helpers/repeated_study.py)."""

import csv
import io
import json
import re

import pytest

from tests.helpers.repeated_study import FINAL_KIDS, LAB, row_of, write_study, write_trial
from tuner.report.tables import (
    FIELDS,
    ONE_RUN,
    VS_BEST,
    answer_lines,
    format_markdown,
    format_text,
    render,
)
from tuner.results.rankings import rank_studies
from tuner.results.snapshot import read_study

# ---------------------------------------------------------------- the leaderboard


def test_the_table_shows_mean_se_runs_and_the_comparison_with_the_best(repeated_study):
    ranking = rank_studies([repeated_study])[0]
    text = format_text(ranking, width=80)
    lines = text.splitlines()
    assert max(map(len, lines)) <= 80, text
    assert lines[:2] == ["the selection is not settled: best: trial 0; trials 3 and 4 settled "
                         "worse;", "  trials 1 and 2 still open (may be the best)"]
    assert lines[2] == ("quick: 5 trials (4 done, 1 done*); ranked by final KID; mean over 3 "
                        "runs (seeds")
    assert lines[3].strip() == "0-2), lower is better"
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
    assert "vs #1: mean paired difference from #1 over the seeds both ran; settled: its 99.5% " \
           "paired-t interval (95% simultaneous, Bonferroni over the 10 pairs of the 5 compared " \
           "trials and 1 planned look) lies above 0; not best: another trial is at least as " \
           "good (multiple comparisons with the best, 95%); tie: within the margin of the best " \
           "(95%); ?: not settled, within training noise (fewer than 3 shared seeds decide " \
           "nothing)" in " ".join(text.split())
    flat = " ".join(text.split())
    assert "trial 2: +0.0092, 99.5% interval -0.0383 to +0.0566 over 3 seeds; about 7 seeds " \
           "(now 3) for 80% power if the difference held" in flat
    assert "trial 1: +0.0032, 99.5% interval -0.0415 to +0.0478 over 3 seeds; hardly by " \
           "repeats: about 31 seeds (now 3) for 80% power if the difference held, more than 10" \
           in flat
    assert "  trial 4: 2 of 3 runs diverged (epochs 25, 50): g_loss not finite" in lines
    assert "s/ep: seconds per training epoch, scoring excluded: each run's 10th-percentile " \
           "epoch after the first (robust to a busy machine), mean over runs" in flat
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
    assert set(third["vs_best"]) == set(VS_BEST)
    assert (third["may_be_best"], third["vs_best"]["equivalent"]) == (True, False)
    assert [rec["may_be_best"] for rec in recs] == [True, True, True, False, False]
    assert (third["out"], third["unscored"]) == (None, 0)
    assert third["repeat_scores"][1] == {"repeat": 1, "seed": 1, "score": 0.039,
                                         "diverged_at_epoch": None}
    assert (third["repeats"], third["rank_by"], third["objective"]) == (3, "final", "kid")
    lines = list(csv.DictReader(io.StringIO(render([ranking], "csv"))))
    header = list(lines[0])
    at = header.index("vs_best_diff")
    assert header[at - 3:at + 21] == [
        "rank_by", "repeats", "score_se", "vs_best_diff", "vs_best_low", "vs_best_high",
        "vs_best_n", "vs_best_settled", "vs_best_method", "vs_best_level", "vs_best_pairs",
        "vs_best_looks", "vs_best_spending", "vs_best_status", "vs_best_equivalent",
        "vs_best_upper", "vs_best_margin", "vs_best_margin_share", "vs_best_mcb_level",
        "vs_best_seeds_needed", "vs_best_advice", "may_be_best",
        "repeat_seeds", "repeat_scores"]
    assert header[-9:-5] == ["out", "unscored", "damaged", "eye"]  # eye: null, never judged
    assert all(line["eye"] == "" for line in lines)
    line = next(line for line in lines if line["trial_id"] == "2")
    assert line["repeat_seeds"] == "0;1;2" and line["repeat_scores"] == "0.0432;0.039;0.0363"
    assert float(line["vs_best_low"]) == third["vs_best"]["low"]
    assert line["vs_best_settled"] == "False" and line["vs_best_n"] == "3"
    assert {"swd", "fd_heldout", "best", "diverged", "diverged_at_epoch"} <= set(header)
    markdown = render([ranking], "markdown")
    assert "| SWD |" in markdown and "+0.0092 ?" in markdown


def _study_of(tmp_path, kids, diverged=None, repeats=None, looks=None):
    """A study of configurations with final KIDs `kids` ({trial: [per seed]}; None: that
    run has no evaluation), run entries for every seed."""
    folder = tmp_path / "made"
    write_study(folder)
    if looks is not None:
        meta = json.loads((folder / "study.json").read_text())
        meta["train"]["looks"] = looks
        (folder / "study.json").write_text(json.dumps(meta))
    for number, (trial_id, values) in enumerate(kids.items()):
        runs = [[(50, kid)] if kid is not None else [] for kid in values]
        write_trial(folder, trial_id, {**LAB, "learning_rate": 1e-4 * (number + 1)}, runs,
                    diverged=(diverged or {}).get(trial_id))
    return read_study(folder)


def test_a_trial_whose_every_run_diverged_is_out_not_compared(tmp_path):
    study = _study_of(tmp_path, {"0": [0.030, 0.031, 0.032], "1": [0.020, 0.021, 0.022],
                                 "2": [0.040, 0.041, 0.043]},
                      diverged={"1": {0: 10, 1: 12, 2: 14}})
    rows = {row["trial_id"]: row for row in study.rows}
    assert [row["trial_id"] for row in study.rows] == ["0", "2", "1"]  # out comes last
    assert rows["1"]["rank"] == 3 and rows["1"]["vs_best"] is None
    assert rows["1"]["out"] == "every run diverged (3 of 3)"
    assert rows["2"]["vs_best"]["pairs"] == 1  # two compared trials: one pair
    text = format_text(rank_studies([study])[0], width=100)
    assert re.search(r"^ +3 +1 +diverged .* out ", text, re.M)
    flat = " ".join(text.split())
    assert "out: every run diverged, compared with none" in flat
    assert "trial 1: out, every run diverged (3 of 3) (epochs 10, 12, 14): g_loss not finite" \
        in flat


def test_a_trial_with_an_unscored_run_is_flagged_and_never_first(tmp_path):
    """Trial 1's lone scored run is the lowest KID of all, yet trial 0, with every run
    scored, ranks first; trial 1 is compared on its one scored seed (no interval)."""
    study = _study_of(tmp_path, {"0": [0.030, 0.031, 0.032], "1": [0.010, None, None]})
    rows = {row["trial_id"]: row for row in study.rows}
    assert (rows["0"]["rank"], rows["1"]["rank"], rows["1"]["unscored"]) == (1, 2, 2)
    assert rows["1"]["vs_best"]["n"] == 1 and rows["1"]["vs_best"]["low"] is None
    # both hold 3 runs already: --repeats 3 would add nothing
    assert rows["1"]["vs_best"]["advice"] == (
        "needs 3 scored seeds in common with #1 (now 1; runs without a score do not count): "
        "--settle adds seeds")
    text = format_text(rank_studies([study])[0], width=120)
    assert re.search(r"^ +2 +1 .* 0\.0100 \(1 of 3\) ", text, re.M)
    assert "trial 1: 1 of 3 runs scored" in text


def test_planned_looks_are_spent_in_equal_shares(tmp_path):
    study = _study_of(tmp_path, {"0": [0.030, 0.031, 0.032], "1": [0.040, 0.041, 0.047]},
                      looks=8)
    vs = study.rows[1]["vs_best"]
    assert (vs["level"], vs["looks"], vs["pairs"]) == (1 - 0.05 / 8, 8, 1)
    text = format_text(rank_studies([study])[0], width=200)
    assert "(95% simultaneous, Bonferroni over the 1 pair of the 2 compared trials and 8 " \
           "planned looks)" in text


def test_a_huge_score_never_puts_infinity_or_nan_into_json(tmp_path):
    """A run scoring 1e300 overflows its trial's spread (its square is inf): the JSON says
    null there, and stays valid JSON (allow_nan=False would raise otherwise)."""
    study = _study_of(tmp_path, {"0": [0.020, 0.021, 0.019], "1": [0.03, 1e300, 0.031],
                                 "2": [0.025, 0.026, 0.024]})
    text = render(rank_studies([study]), "json")
    assert "Infinity" not in text and "NaN" not in text
    huge = next(rec for rec in json.loads(text) if rec["trial_id"] == "1")
    assert huge["kid"] == pytest.approx(1e300 / 3) and huge["vs_best"]["high"] is None


def test_the_first_line_says_which_is_best_and_which_are_tied(tmp_path):
    """Trial 1 is 0.0001 worse than #1 on every seed, settled worse but within the 15% margin
    (0.003): a tie; trial 2 is 0.02 worse on every seed: settled worse; the selection is
    settled."""
    study = _study_of(tmp_path, {"0": [0.020, 0.021, 0.019, 0.022, 0.020],
                                 "1": [0.0201, 0.0211, 0.0191, 0.0221, 0.0201],
                                 "2": [0.040, 0.041, 0.039, 0.042, 0.040]})
    ranking = rank_studies([study])[0]
    (line,) = answer_lines(ranking)
    assert line == ("the selection is settled: best: trial 0; trial 1 within the 15% margin of "
                    "it (settled); the rest settled worse")
    recs = {rec["trial_id"]: rec for rec in json.loads(render([ranking], "json"))}
    assert [recs[t]["may_be_best"] for t in "012"] == [True, False, False]  # 1: never best
    assert recs["1"]["vs_best"]["equivalent"] and recs["1"]["vs_best"]["status"] == "equivalent"
    assert recs["2"]["vs_best"]["settled"] and recs["2"]["vs_best"]["status"] == "worse"


def test_markdown_escapes_html_in_a_study_name_and_in_claim_texts(tmp_path):
    from tests.helpers.claims_study import CLAIMS, GRID, make_study
    from tuner.report.verdict_text import render as render_verdicts
    from tuner.results.verdicts import weigh

    folder = tmp_path / "<img src=x onerror=alert(1)>"
    write_study(folder)
    write_trial(folder, "0", {**LAB, "learning_rate": 2e-4}, [[(50, 0.03)]])
    markdown = render(rank_studies([read_study(folder)]), "markdown")
    assert "<img" not in markdown and "&lt;img src=x onerror=alert(1)&gt;" in markdown

    made = make_study(tmp_path, CLAIMS.replace("The full set beats half of it.",
                                               "<script>alert(1)</script> & more"), GRID)
    text = render_verdicts(read_study(made), weigh(made), "markdown")
    assert "<script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in text
