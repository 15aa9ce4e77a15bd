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
                                "within 10%: ")


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
    """y is 4.6% above x at every seed: inside the study's default margin (10% of their
    mean), beyond a margin of 2% written in study.json's train.margin."""
    x = {0: 0.0200, 1: 0.0190, 2: 0.0210}
    y = {s: v * 1.046 for s, v in x.items()}
    folder = study_of_scores(tmp_path, SIMILAR, [(config(lr=1e-4), x), (config(lr=2e-4), y)])
    check = weigh(folder)[0].checks[0]
    assert "do not differ by more than 10% of their mean kid" in check.statement
    assert check.verdict == "supported"
    study = folder / "study.json"
    doc = json.loads(study.read_text())
    doc.setdefault("train", {})["margin"] = 0.02
    study.write_text(json.dumps(doc))
    check = weigh(folder)[0].checks[0]
    assert "by more than 2% of" in check.statement and check.verdict == "contradicted"
