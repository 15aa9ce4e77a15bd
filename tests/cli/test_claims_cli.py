"""`python -m tuner.claims` on a study whose truth is known by construction: table, markdown,
JSON; one-line errors (tests/helpers/claims_study.py)."""

import json
import re

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
                         "claims", "looks", "damaged"]
    assert doc["looks"] == 1 and doc["damaged"] == []
    claim = doc["claims"][0]
    assert list(claim) == ["id", "text", "verdict", "checks"]
    check = claim["checks"][0]
    assert list(check) == ["kind", "statement", "quantity", "verdict", "why", "settle", "sides",
                           "comparisons", "curves", "seeds_needed"]
    assert list(check["sides"][0]) == ["label", "by_seed", "mean", "se", "n", "scores", "grids",
                                       "trials"]
    assert list(check["comparisons"][0]) == ["label", "diff", "low", "high", "n", "level"]
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


def test_a_claims_file_that_is_a_folder_or_unreadable_is_named_by_its_flag(claims_study,
                                                                           tmp_path, capsys):
    assert claims_cli.main([str(claims_study), "--claims", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == (f"error: --claims {tmp_path}: a folder, not a "
                                               f"file; give a space file (.toml)")
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00bad")
    assert claims_cli.main([str(claims_study), "--claims", str(binary)]) == 2
    assert capsys.readouterr().err.startswith(f"error: --claims {binary}: cannot read it (")
