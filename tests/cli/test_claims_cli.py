"""`python -m tuner.claims` on a study whose truth is known by construction: table, markdown,
JSON; one-line errors (tests/helpers/claims_study.py)."""

import json
import re

import pytest

from tests.helpers.claims_study import (
    CLAIMS,
    GRID,
    make_study,
    space_with,
)
from tuner import claims as claims_cli


def test_the_command_prints_every_claim_with_its_numbers(claims_study, capsys):
    assert claims_cli.main([str(claims_study)]) == 0
    out = capsys.readouterr().out
    assert "claim full: SUPPORTED" in out and "claim size: NOT SETTLED" in out
    assert re.search(r"\n    subset_fraction=1: 0\.\d{4} ± 0\.\d{4} \(3 runs\)  \[kid_heldout ", out)
    assert "to settle: about 8 seeds (now 3) for 80% power if the difference held" in out
    assert "verdict within 5% error over the 1 planned look" in " ".join(out.split())
    assert out.rstrip().splitlines()[-1].startswith("verdicts: full supported, half contradicted")


def test_the_json_form_is_the_documented_one(claims_study, capsys):
    assert claims_cli.main([str(claims_study), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert list(doc) == ["study", "folder", "objective", "rank_by", "repeats", "protocol",
                         "claims", "looks", "spending", "damaged"]
    assert (doc["looks"], doc["spending"], doc["damaged"]) == (1, "equal", [])
    claim = doc["claims"][0]
    assert list(claim) == ["id", "text", "verdict", "checks"]
    check = claim["checks"][0]
    assert list(check) == ["kind", "statement", "quantity", "verdict", "why", "settle", "sides",
                           "comparisons", "curves", "seeds_needed"]
    assert list(check["sides"][0]) == ["label", "by_seed", "mean", "se", "n", "scores", "grids",
                                       "trials", "runs", "diverged", "diverged_up_to"]
    assert list(check["comparisons"][0]) == ["label", "diff", "low", "high", "n", "level",
                                             "tie_low", "tie_high", "margin_low", "margin_high"]
    side = check["sides"][0]  # 6 configurations at full data, 3 runs each, none diverged
    assert (side["runs"], side["diverged"]) == (18, 0)
    assert side["diverged_up_to"] == pytest.approx(1 - 0.05 ** (1 / 18))  # Clopper-Pearson
    assert check["comparisons"][0]["level"] == 0.95
    assert {c["verdict"] for c in doc["claims"]} == {"supported", "contradicted",
                                                     "not settled", "not measured"}


def test_markdown_starts_with_the_summary_table(claims_study, capsys):
    assert claims_cli.main([str(claims_study), "--format", "markdown"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[2:4] == ["| claim | verdict | numbers |", "|:---|:---|:---|"]
    assert lines[4].startswith("| full. The full set beats half of it. | **supported** |")


def test_claims_from_another_file_and_a_study_without_claims(tmp_path, capsys):
    folder = make_study(tmp_path, "", GRID)
    assert claims_cli.main([str(folder)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "has no [[claims]]" in err and "\n" not in err
    other = space_with(tmp_path, CLAIMS)
    assert claims_cli.main([str(folder), "--claims", str(other)]) == 0
    assert "claim full: SUPPORTED" in capsys.readouterr().out


def test_a_bad_claims_file_exits_2_with_one_line(claims_study, tmp_path, capsys):
    bad = space_with(tmp_path, '[[claims]]\ntext = "x"\nkind = "faster"\n')
    assert claims_cli.main([str(claims_study), "--claims", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {bad}: [[claims]] #1") and "\n" not in err


def test_a_missing_claims_file_is_named_by_its_flag(claims_study, tmp_path, capsys):
    missing = tmp_path / "missing.toml"
    assert claims_cli.main([str(claims_study), "--claims", str(missing)]) == 2
    assert capsys.readouterr().err.strip() == f"error: --claims {missing}: file not found"


def test_the_command_imports_no_tensorflow(claims_study, run_without_tensorflow):
    status, out, err, heavy = run_without_tensorflow("tuner.claims", [str(claims_study), "--format", "json"])
    assert status == 0, err[-2000:]
    assert heavy == "[]"
    assert json.loads(out)["study"] == "made"


def test_a_self_comparison_or_a_deep_nesting_exits_2_with_one_line(claims_study, tmp_path,
                                                                     capsys):
    same = space_with(tmp_path, '[[claims]]\ntext = "x"\nkind = "better"\n'
                                'a = {learning_rate = 2e-4}\nb = {learning_rate = 2e-4}\n')
    assert claims_cli.main([str(claims_study), "--claims", str(same)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"error: {same}: [[claims]] #1 check 1 (better) a and b must differ in a "
                   f"hyperparameter they both name (now one configuration can match both, and it "
                   f"would be compared with itself); e.g. a = {{learning_rate = 2e-4}}, "
                   f"b = {{learning_rate = 5e-4}}")
    deep = tmp_path / "deep.toml"
    deep.write_text("x = " + "[" * 5000 + "]" * 5000 + "\n")
    assert claims_cli.main([str(claims_study), "--claims", str(deep)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {deep}: tables or arrays nested more than 16 deep") \
        and "\n" not in err


def test_the_json_stays_finite_when_a_run_scores_1e300(tmp_path, capsys):
    from tests.helpers.claims_study import config, study_of_scores

    claim = ('[[claims]]\ntext = "x"\nkind = "better"\na = {learning_rate = 2e-4}\n'
             'b = {learning_rate = 1e-4}\n')
    folder = study_of_scores(tmp_path, claim, [
        (config(lr=2e-4), {0: 1e300, 1: -1e300, 2: 0.01}),
        (config(lr=1e-4), {0: 0.02, 1: 0.03, 2: 1e300})])
    assert claims_cli.main([str(folder), "--format", "json"]) == 0
    out = capsys.readouterr().out
    assert "Infinity" not in out and "NaN" not in out
    check = json.loads(out)["claims"][0]["checks"][0]
    assert check["verdict"] == "not settled" and check["comparisons"][0]["low"] is None


def test_a_claims_file_that_is_a_folder_or_unreadable_is_named_by_its_flag(claims_study,
                                                                           tmp_path, capsys):
    assert claims_cli.main([str(claims_study), "--claims", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == (f"error: --claims {tmp_path}: a folder, not a "
                                               f"file; give a space file (.toml)")
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00bad")
    assert claims_cli.main([str(claims_study), "--claims", str(binary)]) == 2
    assert capsys.readouterr().err.startswith(f"error: --claims {binary}: cannot read it (")
