"""Verdicts on the claims about study folders whose truth is known by construction
(tests/helpers/claims_study.py)."""

import json
import math

import numpy as np
import pytest
from scipy import stats

from tests.helpers.claims_study import (
    CLAIMS,
    EPOCHS,
    GRID,
    SEEDS,
    config,
    final_kid,
    make_study,
    study_of_scores,
)
from tuner.common import files
from tuner.common.config import DEFAULT_MARGIN
from tuner.results import decisions
from tuner.results.verdicts import weigh


@pytest.fixture(scope="module")
def verdicts(claims_study):
    return {v.id: v for v in weigh(claims_study)}


def paired_interval(differences):
    d = np.asarray(differences)
    half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d))
    return d.mean() - half, d.mean() + half


@pytest.mark.parametrize("claim, verdict", [
    ("full", "supported"), ("half", "contradicted"), ("size", "not settled"),
    ("unmeasured", "not measured"), ("best-lr", "supported"), ("wrong-best", "contradicted"),
    ("similar", "contradicted"), ("time", "supported"), ("plateau", "supported"),
    ("too-late", "not measured")])
def test_claims_true_and_false_by_construction_get_their_verdicts(verdicts, claim, verdict):
    assert verdicts[claim].verdict == verdict, verdicts[claim].checks


def test_a_free_hyperparameter_is_paired_and_averaged_not_pooled(verdicts):
    """`full` leaves lr and size free: 6 contexts, each a pair differing only in the fraction.
    Per seed the difference is exactly 0.010 in every context, so the interval is a point."""
    check = verdicts["full"].checks[0]
    assert [s.label for s in check.sides] == ["subset_fraction=1", "subset_fraction=0.5"]
    comp = check.comparisons[0]
    assert comp["n"] == 3
    assert comp["diff"] == pytest.approx(0.010, abs=1e-12)
    assert comp["low"] == pytest.approx(0.010, abs=1e-9)
    # the full-data side per seed: the mean over the 6 contexts of the constructed KID
    full = [config(lr=lr, size=size) for lr in (1e-4, 2e-4, 4e-4) for size in (16, 32)]
    for seed in SEEDS:
        expected = np.mean([final_kid(hp, seed) for hp in full])
        assert check.sides[0].by_seed[seed] == pytest.approx(expected, abs=1e-12)


def test_an_unpaired_configuration_does_not_enter_a_comparison(tmp_path):
    """A trial with no partner (full data at lr 8e-3, no half-data run there) is left out."""
    trials = GRID + [(config(lr=8e-3, size=32, frac=1.0), {})]
    folder = make_study(tmp_path, CLAIMS, trials)
    check = {v.id: v for v in weigh(folder)}["full"].checks[0]
    assert check.comparisons[0]["diff"] == pytest.approx(0.010, abs=1e-12)
    assert check.sides[0].n == 3


def test_the_interval_is_the_paired_t_interval_and_the_advice_asks_for_repeats(verdicts):
    """One comparison, one planned look: the 95% interval; the advice is the smallest n >= 4
    with |d| sqrt(n)/s >= t_{0.975, n-1} + t_{0.8, n-1} (80% power if d and s held)."""
    check = verdicts["size"].checks[0]
    differences = [{0: 0.030, 1: 0.002, 2: 0.019}[s] for s in SEEDS]
    low, high = paired_interval(differences)
    comp = check.comparisons[0]
    assert (comp["low"], comp["high"], comp["level"]) == (pytest.approx(low), pytest.approx(high),
                                                          0.95)
    assert low < 0 < high
    assert "includes 0" in check.why and "95% interval" in check.why
    mean, sd = np.mean(differences), np.std(differences, ddof=1)
    needed = next(n for n in range(4, 101) if mean * math.sqrt(n) / sd
                  >= stats.t.ppf(0.975, n - 1) + stats.t.ppf(0.8, n - 1))
    assert check.seeds_needed == needed == 8
    assert check.settle == "about 8 seeds (now 3) for 80% power if the difference held"
    # the ONet input (48) is above the largest size (32): no resolution advice
    assert "swd" not in check.settle


def test_planned_looks_widen_every_interval(tmp_path):
    """study.json's train.looks = 4: each look spends 0.05/4, so the same numbers give the
    interval at 1 - 0.0125."""
    folder = make_study(tmp_path, CLAIMS, GRID)
    meta = json.loads((folder / "study.json").read_text())
    meta["train"]["looks"] = 4
    files.write_json(folder / "study.json", meta)
    comp = {v.id: v for v in weigh(folder)}["size"].checks[0].comparisons[0]
    d = np.array([0.030, 0.002, 0.019])
    half = stats.t.ppf(1 - 0.0125 / 2, 2) * d.std(ddof=1) / math.sqrt(3)
    assert comp["level"] == 1 - 0.0125
    assert (comp["low"], comp["high"]) == pytest.approx((d.mean() - half, d.mean() + half))


def test_not_measured_says_what_to_run(verdicts):
    check = verdicts["unmeasured"].checks[0]
    assert check.why == ("no completed trials with learning_rate=0.0005 and learning_rate=0.0002 "
                         "that agree on every other hyperparameter")
    assert "learning_rate=0.0005" in check.settle
    plateau = verdicts["too-late"].checks[0]
    assert "the last evaluation is at epoch 40" in plateau.why
    assert "--epochs" in plateau.settle


def test_similar_is_checked_within_the_margin(verdicts):
    close, far = verdicts["similar"].checks
    assert close.verdict == "supported"  # 0.0004 apart, margin 20% of 0.030
    assert far.verdict == "contradicted"  # 0.015 apart, beyond 0.006
    assert "beyond" in far.why


def test_best_names_the_better_value_when_contradicted(verdicts):
    check = verdicts["wrong-best"].checks[0]
    assert "learning_rate=0.0001 is better" in check.why
    assert "learning_rate=0.0002 is better" in check.why


def test_seconds_per_epoch_come_from_each_run(verdicts):
    check = verdicts["time"].checks[0]
    assert [s.label for s in check.sides] == ["image_size=16", "image_size=32"]
    assert check.sides[0].by_seed == {0: pytest.approx(1.0), 1: pytest.approx(1.01),
                                      2: pytest.approx(1.02)}
    assert "2.00x" in check.why


@pytest.mark.parametrize("diverged, verdict", [
    ((0, 1, 2), "supported"), ((), "contradicted"), ((1,), "contradicted"),
    ((0, 2), "contradicted")])
def test_divergence_claims(tmp_path, diverged, verdict):
    """One completed run contradicts "every run diverges"; all of 3 diverged supports it."""
    claim = """
[[claims]]
text = "8e-3 never learns."
kind = "diverges"
where = { learning_rate = 8e-3 }
"""
    folder = make_study(tmp_path, claim, [(config(lr=8e-3), {"diverged": diverged})])
    result = weigh(folder)[0]
    assert result.verdict == verdict
    assert result.checks[0].why.startswith(f"{len(diverged)} of 3 runs diverged")


def test_a_score_still_falling_contradicts_a_plateau(tmp_path):
    claim = """
[[claims]]
text = "Nothing improves after epoch 20."
kind = "plateau"
after_epoch = 20
"""
    folder = make_study(tmp_path, claim, [(config(), {"plateau": False})])
    result = weigh(folder)[0]
    assert result.verdict == "contradicted"
    assert result.checks[0].why.startswith("still improving")
    curves = result.checks[0].curves
    assert [c["seed"] for c in curves] == [0, 1, 2] and curves[0]["epochs"] == list(EPOCHS)


def test_one_run_per_configuration_is_never_settled(tmp_path):
    folder = make_study(tmp_path, CLAIMS, GRID)
    for path in folder.glob("trial_*/evaluations.json"):
        doc = json.loads(path.read_text())
        doc["repeats"] = doc["repeats"][:1]
        doc["evaluations"] = [e for e in doc["evaluations"] if e["repeat"] == 0]
        files.write_json(path, doc)
    result = {v.id: v for v in weigh(folder)}
    assert result["full"].verdict == "not settled"
    assert result["full"].checks[0].settle == "needs 3 seeds (now 1): --repeats 3"
    assert result["full"].checks[0].seeds_needed == 3


def test_a_check_waits_for_the_trials_still_running(tmp_path):
    folder = make_study(tmp_path, CLAIMS, GRID)
    path = folder / "trial_3" / "trial.json"  # lr 1e-4 at size 32, full data: still training
    path.write_text(path.read_text().replace('"COMPLETED"', '"RUNNING"'))
    result = {v.id: v for v in weigh(folder)}["best-lr"].checks[0]
    assert result.verdict == "not measured"
    assert result.settle.startswith("let the search finish (trial 3 not done yet; ")
    assert result.settle.endswith("else run learning_rate = 0.0001, 0.0002, 0.0004 at "
                                  "image_size=32, subset_fraction=1")


# ---------------------------------------------------------------- edge cases

INCREASES = """
[[claims]]
text = "KID grows with the learning rate."
kind = "increases"
quantity = "kid"
param = "learning_rate"
"""
SIMILAR = """
[[claims]]
text = "1e-4 and 2e-4 do not differ."
kind = "similar"
param = "learning_rate"
values = [1e-4, 2e-4]
"""
BETTER = """
[[claims]]
text = "2e-4 beats 1e-4."
kind = "better"
a = { learning_rate = 2e-4 }
b = { learning_rate = 1e-4 }
"""


def test_a_step_without_shared_seeds_beside_a_falling_one_is_contradicted(tmp_path):
    """Step 1e-4 -> 2e-4 shares one seed (no interval); 2e-4 -> 4e-4 falls over 4 seeds."""
    folder = study_of_scores(tmp_path, INCREASES, [
        (config(lr=1e-4), {0: 0.020}),
        (config(lr=2e-4), {0: 0.050, 1: 0.051, 2: 0.052, 3: 0.054}),
        (config(lr=4e-4), {0: 0.030, 1: 0.031, 2: 0.031, 3: 0.033})])
    check = weigh(folder)[0].checks[0]
    assert check.verdict == "contradicted"
    assert [c["n"] for c in check.comparisons] == [1, 4]
    assert check.comparisons[0]["low"] is None
    assert check.comparisons[1]["level"] == 1 - 0.025  # Bonferroni over the 2 steps
    assert check.why.startswith("learning_rate=0.0004 - learning_rate=0.0002: -0.0205, 97.5% ")


def test_similar_without_a_finite_score_is_not_settled_and_says_why(tmp_path):
    nan = float("nan")
    folder = study_of_scores(tmp_path, SIMILAR, [(config(lr=1e-4), {0: nan, 1: nan, 2: nan}),
                                                 (config(lr=2e-4), {0: nan, 1: nan, 2: nan})])
    check = weigh(folder)[0].checks[0]
    assert check.verdict == "not settled"
    assert check.why == ("no run of learning_rate=0.0001 and learning_rate=0.0002 has a finite "
                         "kid on every paired configuration")


def test_a_rounding_difference_does_not_settle_a_claim(tmp_path):
    folder = study_of_scores(tmp_path, BETTER, [
        (config(lr=1e-4), {s: 0.1 + 0.2 for s in range(3)}),
        (config(lr=2e-4), {s: 0.3 for s in range(3)})])
    check = weigh(folder)[0].checks[0]
    assert check.verdict == "tied"  # within the margin, and never separable
    assert check.why.startswith("learning_rate=0.0002 is tied with learning_rate=0.0001 "
                                f"within {DEFAULT_MARGIN:.0%}: ")


def test_disjoint_seeds_are_named_as_the_problem(tmp_path):
    folder = study_of_scores(tmp_path, BETTER, [
        (config(lr=1e-4), {0: 0.03, 1: 0.031, 2: 0.032}),
        (config(lr=2e-4), {3: 0.02, 4: 0.021, 5: 0.022})])
    check = weigh(folder)[0].checks[0]
    assert check.verdict == "not settled" and check.comparisons[0]["n"] == 0
    assert check.settle == ("no seed in common: run the same seeds (--repeats K trains seeds "
                            "seed..seed+K-1 for every configuration)")


def test_similar_margin_is_relative_to_the_mean_of_the_configurations(tmp_path):
    """Seed by seed y - x = 0.2 x (x + y)/2 - 0.00001: inside the margin against the pair's
    mean at every seed (the contrast is constant), though 0.2 x the smaller, x, is beyond."""
    x = {0: 0.0200, 1: 0.0190, 2: 0.0210}
    y = {s: (1.1 * v - 0.00001) / 0.9 for s, v in x.items()}
    folder = study_of_scores(tmp_path, SIMILAR + "margin = 0.2\n",
                             [(config(lr=1e-4), x), (config(lr=2e-4), y)])
    check = weigh(folder)[0].checks[0]
    assert all(y[s] - x[s] > 0.2 * x[s] for s in x)
    assert check.verdict == "supported"
    margin = 0.2 * (sum(x.values()) + sum(y.values())) / 6
    assert check.why == f"every pairwise interval lies within ±{margin:.4g}"


def test_similar_reads_the_studys_margin_when_the_claim_gives_none(tmp_path):
    """y is 4.6% above x at every seed: inside the study's default margin (DEFAULT_MARGIN of
    their mean), beyond a margin of 2% written in study.json's train.margin."""
    x = {0: 0.0200, 1: 0.0190, 2: 0.0210}
    y = {s: v * 1.046 for s, v in x.items()}
    folder = study_of_scores(tmp_path, SIMILAR, [(config(lr=1e-4), x), (config(lr=2e-4), y)])
    check = weigh(folder)[0].checks[0]
    assert f"do not differ by more than {DEFAULT_MARGIN:.0%} of their mean kid" in check.statement
    assert check.verdict == "supported"
    study = folder / "study.json"
    doc = json.loads(study.read_text())
    doc.setdefault("train", {})["margin"] = 0.02
    study.write_text(json.dumps(doc))
    check = weigh(folder)[0].checks[0]
    assert "by more than 2% of" in check.statement and check.verdict == "contradicted"


BEST_LR = """
[[claims]]
text = "2e-4 is best."
kind = "best"
param = "learning_rate"
value = 2e-4
"""
TEN = range(10)


def lab_mini_rates(worse=0.0):
    """Ten seeds of 2e-4 and 5e-4 as after lab-mini's race (means 0.0244 and 0.0242: 5e-4
    ahead by 0.0002, sd of the paired difference about 0.0006), and 1e-4 far behind."""
    rng = np.random.default_rng(26)
    seed_effect = 0.003 * rng.standard_normal(10)
    noise = 0.0004 * rng.standard_normal((3, 10))
    base = 0.0243 + seed_effect
    return {1e-4: dict(enumerate(base + 0.010 + noise[0])),
            2e-4: dict(enumerate(base + 0.0001 + worse + noise[1])),
            5e-4: dict(enumerate(base - 0.0001 + noise[2]))}


def test_a_best_that_cannot_be_separated_but_is_within_the_margin_is_tied(tmp_path):
    rates = lab_mini_rates()
    folder = study_of_scores(tmp_path, BEST_LR, [(config(lr=lr), kids)
                                                 for lr, kids in rates.items()])
    verdict = weigh(folder)[0]
    assert verdict.verdict == "tied" and verdict.checks[0].verdict == "tied"
    why = verdict.checks[0].why
    c = verdict.checks[0].comparisons[1]
    assert c["label"] == "learning_rate=0.0005 - learning_rate=0.0002"
    assert -c["margin_low"] < c["tie_low"] < 0 < c["tie_high"] < c["margin_high"]
    assert c["margin_low"] == pytest.approx(DEFAULT_MARGIN * np.mean(list(rates[5e-4].values())))
    assert c["margin_high"] == pytest.approx(DEFAULT_MARGIN * np.mean(list(rates[2e-4].values())))
    assert why == (f"0.0002 is best: tied with 0.0005 within {DEFAULT_MARGIN:.0%}: "
                   f"learning_rate=0.0005 - "
                   f"learning_rate=0.0002 between {c['tie_low']:+.4f} and {c['tie_high']:+.4f}, "
                   f"inside {-c['margin_low']:+.4f} to {c['margin_high']:+.4f}; "
                   f"learning_rate=0.0002 diverged in 0 of 10 runs (a rate up to 26%)")


def test_a_best_worse_than_another_by_more_than_the_margin_is_not_tied(tmp_path):
    rates = lab_mini_rates(worse=0.004)  # 2e-4 worse than 5e-4 by 0.0042, 17%: contradicted
    folder = study_of_scores(tmp_path, BEST_LR, [(config(lr=lr), kids)
                                                 for lr, kids in rates.items()])
    assert weigh(folder)[0].verdict == "contradicted"


def test_a_claim_with_a_tied_check_and_nothing_worse_reads_tied(tmp_path):
    rates = lab_mini_rates()
    claims = BEST_LR.replace('kind = "best"\nparam = "learning_rate"\nvalue = 2e-4\n', "") + \
        '[[claims.checks]]\nkind = "best"\nparam = "learning_rate"\nvalue = 2e-4\n' \
        '[[claims.checks]]\nkind = "better"\na = {learning_rate = 2e-4}\n' \
        'b = {learning_rate = 1e-4}\n'
    folder = study_of_scores(tmp_path, claims, [(config(lr=lr), kids)
                                                for lr, kids in rates.items()])
    (verdict,) = weigh(folder)
    assert [c.verdict for c in verdict.checks] == ["tied", "supported"]
    assert verdict.verdict == "tied"


def test_the_checks_of_a_claim_share_the_error_of_contradicted(tmp_path):
    """Alone, "contradicted" reads the 95% interval; as one of 2 checks, the 97.5% one."""
    (tmp_path / "1").mkdir()
    one = study_of_scores(tmp_path / "1", BETTER, [
        (config(lr=1e-4), {0: 0.020, 1: 0.021, 2: 0.019}),
        (config(lr=2e-4), {0: 0.030, 1: 0.0305, 2: 0.031})])
    assert weigh(one)[0].checks[0].comparisons[0]["level"] == 0.95
    two = BETTER.replace('kind = "better"\na = { learning_rate = 2e-4 }\n'
                         'b = { learning_rate = 1e-4 }\n', "") + \
        '[[claims.checks]]\nkind = "better"\na = { learning_rate = 2e-4 }\n' \
        'b = { learning_rate = 1e-4 }\n[[claims.checks]]\nkind = "plateau"\nafter_epoch = 10\n'
    (tmp_path / "2").mkdir()
    folder = study_of_scores(tmp_path / "2", two, [
        (config(lr=1e-4), {0: 0.020, 1: 0.021, 2: 0.019}),
        (config(lr=2e-4), {0: 0.030, 1: 0.0305, 2: 0.031})])
    check = weigh(folder)[0].checks[0]
    assert check.comparisons[0]["level"] == 1 - 0.025
    expected = stats.ttest_rel([0.020, 0.021, 0.019], [0.030, 0.0305, 0.031])
    interval = expected.confidence_interval(1 - 0.025)
    assert check.comparisons[0]["high"] == pytest.approx(interval.high)


def test_a_configuration_that_sometimes_diverges_is_not_called_better(tmp_path):
    """2e-4 wins on its two scored runs, but its third diverged: not supported, the rate's
    upper bound is named, and more seeds could only contradict."""
    folder = study_of_scores(tmp_path, BETTER, [
        (config(lr=2e-4), {0: 0.010, 1: 0.011, 2: 0.012, 3: None}, (3,)),
        (config(lr=1e-4), {0: 0.030, 1: 0.031, 2: 0.032, 3: 0.030})])
    check = weigh(folder)[0].checks[0]
    assert check.verdict == "not settled" and check.seeds_needed is None
    assert check.why.endswith("; learning_rate=0.0002 diverged in 1 of 4 runs (a rate up to "
                              "75%): a configuration that diverges is not called better on the "
                              "mean of its other runs")
    assert check.settle.startswith("hardly by repeats: learning_rate=0.0002 diverged in a run")
    assert check.sides[0].diverged_up_to == pytest.approx(stats.beta.ppf(0.95, 2, 3))


def test_a_configuration_diverging_before_any_score_loses_and_is_not_raced(tmp_path):
    from tuner.results.race import open_decisions

    claims = BETTER + BEST_LR.replace("2e-4 is best.", "8e-3 is best.").replace(
        "value = 2e-4", "value = 8e-3")
    folder = study_of_scores(tmp_path, claims, [
        (config(lr=2e-4), {0: 0.010, 1: 0.011, 2: 0.012}),
        (config(lr=1e-4), {0: 0.030, 1: 0.031, 2: 0.032}),
        (config(lr=8e-3), {0: None, 1: None, 2: None}, (0, 1, 2))])
    better, best = weigh(folder)
    assert better.verdict == "supported"
    assert best.verdict == "contradicted"
    assert best.checks[0].why == ("learning_rate=0.008 diverged in every run (3 of 3); the "
                                  "others completed runs")
    assert not any("8e-3" in d.label or "2" in d.trial_ids for d in open_decisions(folder))
    reverse = BETTER.replace("a = { learning_rate = 2e-4 }", "a = { learning_rate = 8e-3 }")
    (tmp_path / "r").mkdir()
    folder = study_of_scores(tmp_path / "r", reverse, [
        (config(lr=1e-4), {0: 0.030, 1: 0.031, 2: 0.032}),
        (config(lr=8e-3), {0: None, 1: None, 2: None}, (0, 1, 2))])
    check = weigh(folder)[0].checks[0]
    assert check.verdict == "contradicted"
    assert check.why.startswith("learning_rate=0.008 diverged in every run (3 of 3)")


def test_an_open_best_is_told_the_seeds_that_would_show_the_tie(tmp_path):
    rng = np.random.default_rng(0)
    base = 0.024 + 0.003 * rng.standard_normal(3)
    x, y = (dict(enumerate(base + 0.0008 * rng.standard_normal(3))) for _ in range(2))
    folder = study_of_scores(tmp_path, BEST_LR, [(config(lr=2e-4), x), (config(lr=5e-4), y)])
    study = folder / "study.json"  # a 10% margin: at the default's 15% the tie shows already
    doc = json.loads(study.read_text())
    doc.setdefault("train", {})["margin"] = 0.10
    study.write_text(json.dumps(doc))
    check = weigh(folder)[0].checks[0]
    assert check.verdict == "not settled" and check.seeds_needed == 5
    assert check.settle == ("about 5 seeds (now 3) for 80% power to show the tie, if the "
                            "differences held")
    d = np.array([y[s] - x[s] for s in range(3)])  # the strict decision would need more
    c = check.comparisons[0]
    strict = decisions.advice(c["diff"], float(d.std(ddof=1)), 3, c["level"])
    assert strict.seeds is None or strict.seeds > 5


def test_a_value_that_diverged_in_every_run_after_scoring_is_left_out_of_best(tmp_path):
    """Its runs scored before diverging (0.001, far "better"), but every one diverged: out,
    as on the leaderboard; the claimed value is best of the rest, and no seed goes to it."""
    from tuner.results.race import open_decisions

    folder = study_of_scores(tmp_path, BEST_LR, [
        (config(lr=2e-4), {0: 0.010, 1: 0.011, 2: 0.012}),
        (config(lr=1e-4), {0: 0.030, 1: 0.031, 2: 0.032}),
        (config(lr=8e-3), {0: 0.001, 1: 0.001, 2: 0.002}, (0, 1, 2))])
    check = weigh(folder)[0].checks[0]
    assert check.verdict == "supported"
    assert [c["label"] for c in check.comparisons] == ["learning_rate=0.0001 - learning_rate=0.0002"]
    assert check.why.endswith("; learning_rate=0.008 diverged in every run (3 of 3)")
    assert not any("2" in d.trial_ids for d in open_decisions(folder))


def test_a_check_that_cannot_decide_within_the_cap_is_out_of_reach_and_draws_no_seeds(tmp_path):
    """8 seeds, a difference of 0.0004 against a paired sd near 0.017: under a 5% chance of
    deciding by 10 seeds, so the check is answered "out of reach" and the race leaves it."""
    rng = np.random.default_rng(3)
    a = 0.03 + 0.012 * rng.standard_normal(8)
    b = a + 0.0005 + 0.012 * rng.standard_normal(8)
    folder = study_of_scores(tmp_path, BETTER, [(config(lr=1e-4), dict(enumerate(b))),
                                                (config(lr=2e-4), dict(enumerate(a)))])
    verdict = weigh(folder)[0]
    check = verdict.checks[0]
    assert verdict.verdict == check.verdict == "out of reach"
    assert check.why.startswith("out of reach within 10 seeds: learning_rate=0.0001 - "
                                "learning_rate=0.0002: +0.0004, ")
    assert check.settle == "" and check.seeds_needed is None
    from tuner.results.race import open_decisions, unreachable

    assert not any(d.label.startswith("claim") for d in open_decisions(folder))
    assert [label for label, _ in unreachable(folder)] == [  # the leaderboard's row too
        "trial 0 vs #1 (trial 1)", f"claim {verdict.id}, check 1 (better)"]


def test_a_check_still_open_at_the_cap_is_out_of_reach_whatever_its_kind(tmp_path):
    """`similar` at 10 seeds (the default --max-repeats) with noise far wider than its margin:
    no seed will be added, so it is answered, with what would settle it."""
    rng = np.random.default_rng(5)
    x = 0.02 + 0.006 * rng.standard_normal(10)
    y = x + 0.002 + 0.008 * rng.standard_normal(10)
    folder = study_of_scores(tmp_path, SIMILAR, [(config(lr=1e-4), dict(enumerate(x))),
                                                 (config(lr=2e-4), dict(enumerate(y)))])
    check = weigh(folder)[0].checks[0]
    assert check.verdict == "out of reach"
    assert check.why.startswith("out of reach within 10 seeds: learning_rate=0.0002 - "
                                "learning_rate=0.0001: ")
    assert "for 80% power" in check.why and check.settle == ""
