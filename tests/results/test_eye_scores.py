"""The eye's numbers: Bradley-Terry on hand-computable cases, Wilson intervals, agreement."""

import math

import numpy as np
import pytest

from tuner.results.eye_scores import (
    Z95,
    agreement,
    agreement_table,
    bradley_terry,
    fooled_rates,
    judged_runs,
    judges_agreement,
    run_choices,
    summary,
    wilson,
)


def test_two_configurations_three_wins_of_four_give_log_three():
    # ML: p_a / (p_a + p_b) = 3/4, so theta_a - theta_b = log 3; observed information of the
    # difference N pi (1 - pi) = 4 * 3/16 = 0.75.
    choices = [("a", "b", 1.0)] * 3 + [("a", "b", 0.0)]
    bt = bradley_terry(["a", "b"], choices, prior_ties=0)
    assert bt.theta == pytest.approx([math.log(3) / 2, -math.log(3) / 2], abs=1e-9)
    d, se = bt.difference([1, -1])
    assert d == pytest.approx(math.log(3), abs=1e-9)
    assert se == pytest.approx(math.sqrt(1 / 0.75), abs=1e-9)
    assert bt.high[0] - bt.theta[0] == pytest.approx(Z95 * math.sqrt(1 / 3), abs=1e-9)
    assert list(bt.games) == [4, 4]


def test_ties_count_half_a_win_each():
    # 2 wins, 1 loss, 2 ties = 3 of 5 "wins": theta_a - theta_b = log(3/2)
    choices = [("a", "b", 1.0)] * 2 + [("b", "a", 1.0)] + [("a", "b", 0.5)] * 2
    bt = bradley_terry(["a", "b"], choices, prior_ties=0)
    assert bt.difference([1, -1])[0] == pytest.approx(math.log(1.5), abs=1e-9)


def test_three_configurations_in_a_cycle_are_equal():
    choices = [("a", "b", 1.0), ("b", "c", 1.0), ("c", "a", 1.0)]
    bt = bradley_terry(["a", "b", "c"], choices, prior_ties=0)
    assert bt.theta == pytest.approx([0, 0, 0], abs=1e-9)


def test_prior_keeps_a_clean_sweep_finite_and_ordered():
    choices = [("a", "b", 1.0)] * 5 + [("b", "c", 1.0)] * 5
    bt = bradley_terry(["a", "b", "c"], choices)
    assert np.all(np.isfinite(bt.theta)) and bt.theta[0] > bt.theta[1] > bt.theta[2]
    assert bt.theta.sum() == pytest.approx(0, abs=1e-9)
    assert np.all(bt.low < bt.theta) and np.all(bt.theta < bt.high)


def test_wilson_matches_its_formula():
    rate, low, high = wilson(8, 10)
    z = Z95
    centre = (8 + z * z / 2) / (10 + z * z)
    half = z * math.sqrt(8 * 2 / 10 + z * z / 4) / (10 + z * z)
    assert (rate, low, high) == pytest.approx((0.8, centre - half, centre + half))
    assert wilson(0, 0) == (None, None, None)
    assert wilson(0, 5)[1] == 0.0 and wilson(5, 5)[2] == 1.0


def test_a_judge_who_follows_kid_agrees_every_time():
    scores = {"1": {"kid": 0.01, "fd": 30.0}, "2": {"kid": 0.02, "fd": 20.0},
              "3": {"kid": 0.03, "fd": 10.0}}
    rng = np.random.default_rng(0)
    choices = []
    for _ in range(40):
        a, b = rng.choice(["1", "2", "3"], size=2, replace=False)
        choices.append((a, b, 1.0 if scores[a]["kid"] < scores[b]["kid"] else 0.0))
    kid = agreement(choices + [("1", "2", 0.5)], scores, "kid")
    assert (kid["agree"], kid["decided"], kid["rate"]) == (40, 40, 1.0)
    assert kid["low"] == pytest.approx(wilson(40, 40)[1])
    fd = agreement(choices, scores, "fd")  # FD orders them the other way round
    assert fd["agree"] == 0 and fd["rate"] == 0.0
    assert agreement(choices, scores, "swd")["decided"] == 0  # no SWD recorded


def test_random_answers_agree_about_half_the_time():
    scores = {str(i): {"kid": i / 100} for i in range(6)}
    rng = np.random.default_rng(7)
    choices = [(str(a), str(b), float(rng.integers(2)))
               for a, b in (rng.choice(6, size=2, replace=False) for _ in range(400))]
    kid = agreement(choices, scores, "kid")
    assert kid["decided"] == 400
    assert abs(kid["rate"] - 0.5) < 0.08
    assert kid["low"] < 0.5 < kid["high"]


def test_fooled_rate_per_configuration_and_for_real_faces():
    rates = fooled_rates([("1", True), ("1", False), ("1", True), ("1", True), (None, True)])
    assert rates["1"]["fooled"] == 0.75 and rates["1"]["faces"] == 4
    assert rates["1"]["low"] == pytest.approx(wilson(3, 4)[1])
    assert rates[None]["judged_real"] == 1


def test_summary_leaves_undone_judgements_out():
    judgements = [
        {"task": "pair", "left": "1", "right": "2", "answer": "left", "judge": "ann"},
        {"task": "pair", "left": "2", "right": "1", "answer": "left", "judge": "ann",
         "undone": "2024-01-01T00:00:00"},
        {"task": "pair", "left": "2", "right": "1", "answer": "tie", "judge": "bob"},
        {"task": "face", "trial": "1", "answer": "real", "judge": "ann"},
        {"task": "face", "trial": None, "answer": "generated", "judge": "ann"},
    ]
    out = summary(judgements, {"1": {"kid": 0.1}, "2": {"kid": 0.2}})
    assert (out["pairs"], out["ties"], out["faces"]) == (2, 1, 2)
    assert out["judges"] == ["ann", "bob"]
    assert out["preference"].ids == ("1", "2")
    assert out["preference"].theta[0] > 0
    assert out["agreement"][0]["agree"] == 1 and out["agreement"][0]["decided"] == 1
    assert out["fooled"]["1"]["fooled"] == 1.0 and out["fooled"][None]["fooled"] == 0.0


# --- agreement at the run level ---------------------------------------------------------------

def pair(left, right, answer, judge, runs=(0, 0), **more):
    return {"task": "pair", "left": left, "right": right, "answer": answer, "judge": judge,
            "runs": list(runs), **more}


def test_run_choices_keep_the_runs_shown_and_leave_out_undone_and_older_judgements():
    judgements = [pair("0", "1", "left", "ann", runs=(2, 0)),
                  pair("1", "0", "tie", "bo"),
                  pair("0", "1", "right", "ann", undone="t"),
                  {"task": "pair", "left": "0", "right": "1", "answer": "left"},  # no runs
                  {"task": "face", "trial": "0", "answer": "real"}]
    choices = run_choices(judgements)
    assert [(c.a, c.b, c.outcome, c.judge) for c in choices] == [("0/2", "1/0", 1.0, "ann"),
                                                                 ("1/0", "0/0", 0.5, "bo")]
    assert judged_runs(judgements) == [("0", 0), ("0", 2), ("1", 0)]


def test_judges_agree_on_the_same_two_runs_in_either_order_first_answers_only():
    choices = run_choices([
        pair("a", "b", "left", "ann"), pair("b", "a", "right", "bo"),   # both a: agree
        pair("a", "b", "right", "ann"),                                   # ann's second: ignored
        pair("a", "b", "left", "cy"),                                     # cy a: agrees twice
        pair("a", "c", "left", "ann"), pair("a", "c", "right", "bo"),    # disagree
        pair("a", "c", "tie", "cy"),                                      # not decided
        pair("a", "b", "left", "ann", runs=(1, 0))])                      # other runs: alone
    # pairs of judges per pair of runs: a-b: (ann, bo), (ann, cy), (bo, cy) all agree; a-c: 1
    assert judges_agreement(choices) == {"level": "runs", "agree": 3, "compared": 4,
                                         **dict(zip(("rate", "low", "high"), wilson(3, 4)))}


def test_judges_agreement_falls_back_to_configurations_when_runs_never_coincide():
    choices = run_choices([pair("a", "b", "left", "ann", runs=(0, 0)),
                           pair("b", "a", "left", "bo", runs=(1, 1)),
                           pair("a", "b", "left", "bo", runs=(2, 2))])
    out = judges_agreement(choices)
    assert (out["level"], out["agree"], out["compared"]) == ("configurations", 0, 1)
    assert judges_agreement([])["compared"] == 0 and judges_agreement([])["rate"] is None


def test_agreement_table_pools_and_splits_by_judge_and_counts_runs_without_samples():
    judgements = [pair("a", "b", "left", "ann"), pair("a", "c", "left", "ann"),
                  pair("b", "a", "left", "bo"), pair("b", "c", "tie", "bo"),
                  pair("c", "b", "right", "bo")]
    rescores = {"runs": {"a/0": {"swd": 3.0, "onet": {"kid": 0.1, "fd": 5.0},
                                 "fer": {"kid": 2.0, "fd": 9.0}},
                         "b/0": {"swd": 1.0, "onet": {"kid": 0.2, "fd": 5.0},
                                 "fer": {"kid": 1.0, "fd": "x"}}},
                "missing": ["c/0"]}
    out = agreement_table(judgements, rescores, networks=["onet", "fer"])
    rows = {(r["network"], r["metric"], r["judge"]): (r["agree"], r["decided"])
            for r in out["rows"]}
    # decided choices between a/0 and b/0: ann a (left), bo b (left)
    assert rows["onet", "kid", None] == (1, 2) and rows["onet", "kid", "ann"] == (1, 1)
    assert rows["onet", "kid", "bo"] == (0, 1)
    assert rows["onet", "fd", None] == (0, 0)  # equal scores decide nothing
    assert rows["fer", "kid", None] == (1, 2) and rows["fer", "fd", None] == (0, 0)
    assert rows["pixels", "swd", None] == (1, 2)
    assert [r["network"] for r in out["rows"] if r["judge"] is None] == \
        ["onet", "onet", "fer", "fer", "pixels"]
    assert (out["runs"], out["missing"], out["choices"], out["decided"],
            out["decided_without_samples"]) == (3, 1, 5, 4, 2)
    assert out["judges_agree"]["compared"] == 1 and out["judges_agree"]["agree"] == 0
