"""tuner.results.race on study folders: what the racing loop would give another seed."""

import pytest

from tests.helpers.claims_study import CLAIMS, GRID, config, make_study, study_of_scores
from tuner.results import race
from tuner.results.next_step import next_step_lines


@pytest.fixture(scope="module")
def decisions(claims_study):
    return race.open_decisions(claims_study)


def test_every_row_that_may_be_best_and_is_not_within_the_margin_is_open(decisions,
                                                                        claims_study):
    """Size 16 adds a seed-dependent amount (+0.030, +0.002, +0.019): its six trials may
    still be the best (lr 2e-4, size 32, full data: trial 7), and are not within the margin
    of it; the size-32 ones are settled worse (their differences do not vary with the
    seed)."""
    rows = [d for d in decisions if " vs #1 " in d.label]
    assert sorted(d.trial_ids[0] for d in rows) == ["0", "1", "4", "5", "8", "9"]
    assert {d.trial_ids[1] for d in rows} == {"7"}
    first = rows[0]
    assert first.label == "trial 5 vs #1 (trial 7)"
    assert first.measured == "+0.0170, 99.924% interval -0.2787 to +0.3127 over 3 seeds"
    assert first.seeds_needed is None and first.advice.startswith("hardly by repeats: about 12")
    # the nearer decision is "worse": multiple comparisons with the best, at 0.05/11 one-sided
    assert [d.seeds_needed for d in rows[2:]] == [7, 7, 6, 5]
    assert rows[2].advice == "about 7 seeds (now 3) for 80% power if the difference held"


def test_an_unsettled_claim_check_names_its_configurations(decisions):
    """"size" (32 beats 16 at lr 2e-4, full data) is not settled; "unmeasured" is not
    measured, so no seed would help it and it is not open."""
    claims = [d for d in decisions if d.label.startswith("claim ")]
    assert [d.label for d in claims] == [
        "claim size, check 1 (better): image_size=16 - image_size=32"]
    (size,) = claims
    assert size.trial_ids == ("7", "5")
    assert size.seeds_needed == 8 and size.advice.startswith("about 8 seeds (now 3)")
    assert size.measured.endswith("95% interval -0.0180 to +0.0520 over 3 seeds, which "
                                  "includes 0")


def test_claims_can_be_given_and_a_study_without_open_decisions_has_none(tmp_path):
    folder = study_of_scores(tmp_path, "", [
        (config(lr=1e-4), {0: 0.020, 1: 0.021, 2: 0.019}),
        (config(lr=2e-4), {0: 0.060, 1: 0.061, 2: 0.062})])
    assert race.open_decisions(folder) == []
    assert race.open_decisions(folder, claims=()) == []


def test_a_configuration_whose_every_run_diverged_is_out_of_the_race(tmp_path):
    folder = make_study(tmp_path, CLAIMS, [GRID[0], (config(lr=8e-3), {"diverged": (0, 1, 2)})])
    assert race.out_of_race(folder) == {"1": "every run diverged (3 of 3)"}
    # no decision names it, not even a claim's check that compares it (it gets no seed)
    assert all("1" not in d.trial_ids for d in race.open_decisions(folder))


def test_a_row_out_of_reach_draws_no_seed_and_is_reported_with_its_numbers(tmp_path):
    """Trial 1 is 0.001 above trial 0 with a per-seed spread of about 0.012 over 5 seeds: by
    10 seeds it would be neither settled worse nor within the 15% margin (0.00303)."""
    folder = study_of_scores(tmp_path, "", [
        (config(lr=1e-4), dict(enumerate([0.020, 0.021, 0.019, 0.020, 0.021]))),
        (config(lr=2e-4), dict(enumerate([0.035, 0.009, 0.034, 0.007, 0.027])))])
    assert race.open_decisions(folder, claims=()) == []
    ((label, why),) = race.unreachable(folder, claims=())
    assert label == "trial 1 vs #1 (trial 0)"
    assert why == "out of reach within 10 seeds: difference +0.0022, margin 0.00303"
    lines = next_step_lines(folder)
    assert lines == ["out of reach (1; no more seeds go there):",
                     "  trial 1 vs #1 (trial 0): " + why]
