"""Claims: the [[claims]] vocabulary, the verdicts on study folders whose truth is known by
construction, and `python -m tuner.claims` (table, markdown, JSON; one-line errors)."""

import base64
import io
import json
import math
import re

import numpy as np
import pytest
from scipy import stats

from tuner import claims as claims_cli
from tuner import files
from tuner.errors import UsageError
from tuner.spaces import load_space
from tuner.verdicts import weigh

SEEDS = (0, 1, 2)
# What a seed does to every configuration alike (initial weights, batch order): pairing cancels it.
SEED_EFFECT = {0: 0.000, 1: 0.006, 2: -0.004}
PROTOCOL = {"features": "onet", "features_preprocessing": "uint8>pil-bicubic-48>gray3",
            "eval_size": 32, "n_real": 100, "n_fake": 500, "rank_by": "final"}
EPOCHS = (10, 20, 30, 40)

HEADER = """
[search]
tuner = "grid"
repeats = 3
[hyperparameters.learning_rate]
values = [1e-4, 2e-4, 4e-4, 8e-3]
[hyperparameters.image_size]
values = [16, 32]
[hyperparameters.subset_fraction]
values = [0.5, 1.0]
"""


def config(lr=2e-4, size=32, frac=1.0):
    return {"learning_rate": lr, "beta_1": 0.5, "image_size": size, "subset_fraction": frac}


def final_kid(hp, seed):
    """The constructed truth: full data beats half by 0.010; lr 2e-4 is best, 1e-4 is within
    0.0004 of it, 4e-4 is worse by 0.015; size 16 is worse by 0.017 on average, but by a
    seed-dependent amount (+0.030, +0.002, +0.019: not settled over 3 seeds)."""
    kid = 0.030 + SEED_EFFECT[seed]
    kid += 0.010 * (hp["subset_fraction"] == 0.5)
    kid += {1e-4: 0.0004, 2e-4: 0.0, 4e-4: 0.015, 8e-3: 0.05}[hp["learning_rate"]]
    if hp["image_size"] == 16:
        kid += {0: 0.030, 1: 0.002, 2: 0.019}[seed]
    return kid


def curve(final, plateau=True):
    """KID at EPOCHS: flat after epoch 20 (within 1%), or still falling by 30% after it."""
    if plateau:
        return [final * 2, final * 1.005, final * 0.998, final]
    return [final * 3, final * 2, final * 1.5, final]


def write_trial(folder, trial_id, hp, seconds=1.0, diverged=(), plateau=True):
    runs, evaluations = [], []
    for seed in SEEDS:
        kid = final_kid(hp, seed)
        status = "diverged" if seed in diverged else "completed"
        runs.append({"repeat": seed, "seed": seed, "status": status,
                     "diverged_at_epoch": 30 if seed in diverged else None,
                     "reason": "diverged at epoch 30: g_loss nan" if seed in diverged else "",
                     "epochs": EPOCHS[-1], "seconds_per_epoch": seconds * (1 + 0.01 * seed)})
        for epoch, value in zip(EPOCHS, curve(kid, plateau), strict=True):
            evaluations.append({"repeat": seed, "seed": seed, "epoch": epoch, "kid": value,
                                "kid_std": 0.001, "fd": value * 100, "swd": value * 1000,
                                "kid_heldout": value + 0.001})
    trial_dir = folder / f"trial_{trial_id}"
    files.write_json(trial_dir / "evaluations.json",
                     {"protocol": PROTOCOL, "repeats": runs, "evaluations": evaluations})
    files.write_json(trial_dir / "trial.json", {
        "trial_id": trial_id, "status": "COMPLETED", "message": None,
        "hyperparameters": {"space": [], "values": hp}, "metrics": {"metrics": {}}})


def make_study(tmp_path, claims_text, trials):
    """A study folder as the search writes it, its space file carrying `claims_text`."""
    folder = tmp_path / "made"
    folder.mkdir()
    files.write_json(folder / "study.json", {
        "study": "made", "objective": "kid", "rank_by": "final", "repeats": 3, "seed": 0,
        "protocol": PROTOCOL, "protocol_key": "0123456789abcdef"})
    (folder / "space.toml").write_text(HEADER + claims_text)
    for number, (hp, options) in enumerate(trials):
        write_trial(folder, str(number), hp, **options)
    return folder


GRID = [(config(lr=lr, size=size, frac=frac), {"seconds": size / 16})
        for lr in (1e-4, 2e-4, 4e-4) for size in (16, 32) for frac in (0.5, 1.0)]

CLAIMS = """
[[claims]]
id = "full"
text = "The full set beats half of it."
kind = "better"
a = { subset_fraction = 1.0 }
b = { subset_fraction = 0.5 }

[[claims]]
id = "half"
text = "Half the set beats the full set."
kind = "better"
a = { subset_fraction = 0.5 }
b = { subset_fraction = 1.0 }
where = { learning_rate = 2e-4 }

[[claims]]
id = "size"
text = "32 beats 16."
kind = "better"
a = { image_size = 32 }
b = { image_size = 16 }
where = { learning_rate = 2e-4, subset_fraction = 1.0 }

[[claims]]
id = "unmeasured"
text = "5e-4 beats 2e-4."
kind = "better"
a = { learning_rate = 5e-4 }
b = { learning_rate = 2e-4 }

[[claims]]
id = "best-lr"
text = "2e-4 is best."
kind = "best"
param = "learning_rate"
value = 2e-4
where = { image_size = 32, subset_fraction = 1.0 }

[[claims]]
id = "wrong-best"
text = "4e-4 is best."
kind = "best"
param = "learning_rate"
value = 4e-4

[[claims]]
id = "similar"
text = "1e-4 and 2e-4 do not differ; 4e-4 does."
where = { image_size = 32 }
[[claims.checks]]
kind = "similar"
param = "learning_rate"
values = [1e-4, 2e-4]
[[claims.checks]]
kind = "similar"
param = "learning_rate"
values = [2e-4, 4e-4]

[[claims]]
id = "time"
text = "Epochs take longer at larger sizes."
kind = "increases"
quantity = "seconds_per_epoch"
param = "image_size"

[[claims]]
id = "plateau"
text = "Nothing improves after epoch 20."
kind = "plateau"
after_epoch = 20
where = { learning_rate = 2e-4, image_size = 32, subset_fraction = 1.0 }

[[claims]]
id = "too-late"
text = "Nothing improves after epoch 40."
kind = "plateau"
after_epoch = 40
"""


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    return make_study(tmp_path_factory.mktemp("claims"), CLAIMS, GRID)


@pytest.fixture(scope="module")
def verdicts(study):
    return {v.id: v for v in weigh(study)}


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
    check = verdicts["size"].checks[0]
    differences = [{0: 0.030, 1: 0.002, 2: 0.019}[s] for s in SEEDS]
    low, high = paired_interval(differences)
    comp = check.comparisons[0]
    assert (comp["low"], comp["high"]) == (pytest.approx(low), pytest.approx(high))
    assert low < 0 < high
    assert "includes 0" in check.why
    # the interval's half-width shrinks as 1/sqrt(n): n (half / mean)^2 seeds
    needed = math.ceil(3 * ((high - low) / 2 / np.mean(differences)) ** 2)
    assert check.settle.startswith(f"more repeats: about {needed} seeds (now 3) if the ")
    # the ONet input (48) is above the largest size (32): no resolution advice
    assert "swd" not in check.settle


def test_a_difference_small_against_the_noise_is_not_worth_more_repeats():
    from tuner.verdicts import _repeats_advice

    comparison = {"diff": 0.001, "low": -0.02, "high": 0.022, "n": 3}
    assert _repeats_advice([comparison], [0.0]) == (
        "hardly by repeats: about 1323 seeds (now 3) if the differences stay as measured; they "
        "are small against the training noise")


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
    ((0, 1, 2), "supported"), ((), "contradicted"), ((1,), "not settled")])
def test_divergence_claims(tmp_path, diverged, verdict):
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
    assert result["full"].checks[0].settle == \
        "needs at least 2 runs per configuration for an interval: --repeats 3"


# ------------------------------------------------------------------ the vocabulary


def space_with(tmp_path, claims_text):
    path = tmp_path / "space.toml"
    path.write_text(HEADER + claims_text)
    return path


@pytest.mark.parametrize("claims_text, message", [
    ('[[claims]]\nkind = "better"\na = {image_size = 32}\nb = {image_size = 16}\n',
     "[[claims]] #1 needs `text = \"...\"`"),
    ('[[claims]]\ntext = "x"\nkind = "faster"\n',
     "[[claims]] #1 check 1 kind must be one of better, best, similar, diverges, plateau, "
     "increases, got 'faster'"),
    ('[[claims]]\nid = "a"\ntext = "x"\nkind = "better"\na = {image_size = 32}\n',
     "[[claims]] id 'a' check 1 (better) needs 'b'"),
    ('[[claims]]\ntext = "x"\nkind = "best"\nparam = "lr"\nvalue = 1\n',
     "[[claims]] #1 check 1 param must be one of learning_rate, beta_1, image_size, "
     "subset_fraction, got 'lr'"),
    ('[[claims]]\ntext = "x"\nkind = "best"\nparam = "image_size"\nvalue = 48\n',
     "[[claims]] #1 check 1 value image_size must be a power of two"),
    ('[[claims]]\ntext = "x"\nkind = "plateau"\nafter_epoch = 40\nmetric = "fid"\n',
     "[[claims]] #1 check 1 metric must be one of kid, fd, swd, kid_heldout, fd_heldout, "
     "got 'fid'"),
    ('[[claims]]\ntext = "x"\nkind = "plateau"\nafter_epoch = 40\nepochs = 3\n',
     "[[claims]] #1 check 1 (plateau) unknown key 'epochs'"),
    ('[[claims]]\ntext = "x"\nkind = "diverges"\n',
     "[[claims]] #1 check 1 (diverges) needs `where = {...}`"),
    ('[[claims]]\ntext = "x"\nkind = "better"\na = {lr = 1}\nb = {image_size = 16}\n',
     "[[claims]] #1 check 1 a unknown hyperparameter 'lr'"),
    ('[[claims]]\ntext = "x"\nkind = "similar"\nparam = "learning_rate"\nvalues = [1e-4]\n',
     "values must list at least two values of learning_rate"),
    ('[[claims]]\nid = "1"\ntext = "x"\nkind = "diverges"\nwhere = {learning_rate = 1}\n'
     '[[claims]]\nid = "1"\ntext = "y"\nkind = "diverges"\nwhere = {learning_rate = 1}\n',
     "two claims have id '1'"),
    ('[[claims]]\ntext = "x"\nkind = "plateau"\nafter_epoch = 4\n[[claims.checks]]\n'
     'kind = "plateau"\nafter_epoch = 3\n', "gives both [[claims.checks]] and an inline check"),
])
def test_a_bad_claim_is_one_line_naming_the_file_and_entry(tmp_path, claims_text, message):
    path = space_with(tmp_path, claims_text)
    with pytest.raises(UsageError) as err:
        load_space(str(path))
    assert str(err.value).startswith(f"{path}: ")
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_the_shipped_spaces_state_the_labs_five_claims():
    for name in ("lab", "lab-mini"):
        space = load_space(name)
        assert [c.id for c in space.claims] == ["1", "2", "3", "4", "5"]
        assert [[check.kind for check in c.checks] for c in space.claims] == [
            ["better"], ["plateau"], ["best"], ["best", "similar", "diverges"], ["increases"]]


def test_one_at_a_time_runs_the_baseline_then_each_value_alone():
    space = load_space("lab-mini")
    designs = space.configurations()
    assert designs[0] == {"learning_rate": 2e-4, "beta_1": 0.5, "image_size": 32,
                          "subset_fraction": 1.0}
    assert len(designs) == 1 + 3 + 2 + 1 == space.max_trials
    for design in designs[1:]:
        assert sum(design[k] != designs[0][k] for k in design) == 1


# ------------------------------------------------------------------ the command


def test_the_command_prints_every_claim_with_its_numbers(study, capsys):
    assert claims_cli.main([str(study)]) == 0
    out = capsys.readouterr().out
    assert "claim full: SUPPORTED" in out and "claim size: NOT SETTLED" in out
    assert re.search(r"\n    subset_fraction=1: 0\.\d{4} ± 0\.\d{4} \(3 runs\)  \[kid_heldout ", out)
    assert "to settle: more repeats" in out
    assert out.rstrip().splitlines()[-1].startswith("verdicts: full supported, half contradicted")


def test_the_json_form_is_the_documented_one(study, capsys):
    assert claims_cli.main([str(study), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert list(doc) == ["study", "folder", "objective", "rank_by", "repeats", "protocol",
                         "claims"]
    claim = doc["claims"][0]
    assert list(claim) == ["id", "text", "verdict", "checks"]
    check = claim["checks"][0]
    assert list(check) == ["kind", "statement", "quantity", "verdict", "why", "settle", "sides",
                           "comparisons", "curves"]
    assert list(check["sides"][0]) == ["label", "by_seed", "mean", "se", "n", "scores", "grids"]
    assert list(check["comparisons"][0]) == ["label", "diff", "low", "high", "n"]
    assert {c["verdict"] for c in doc["claims"]} == {"supported", "contradicted",
                                                     "not settled", "not measured"}


def test_markdown_starts_with_the_summary_table(study, capsys):
    assert claims_cli.main([str(study), "--format", "markdown"]) == 0
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


def test_a_bad_claims_file_exits_2_with_one_line(study, tmp_path, capsys):
    bad = space_with(tmp_path, '[[claims]]\ntext = "x"\nkind = "faster"\n')
    assert claims_cli.main([str(study), "--claims", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {bad}: [[claims]] #1") and "\n" not in err


def test_the_command_imports_no_tensorflow(study, run_without_tensorflow):
    status, out, err, heavy = run_without_tensorflow("tuner.claims", [str(study), "--format", "json"])
    assert status == 0, err[-2000:]
    assert heavy == "[]"
    assert json.loads(out)["study"] == "made"


# ------------------------------------------------------------------ the report


def test_the_report_opens_with_the_claims_and_their_figures(tmp_path):
    from PIL import Image

    from tuner import report, results

    folder = make_study(tmp_path, CLAIMS, GRID)
    faces = np.zeros((64, 16, 16), np.uint8)
    for trial in folder.glob("trial_*"):
        files.write_png(trial / "samples" / "epoch_00040.png", files.grid_image(faces))
    page = report.render_report(results.open_study(folder))
    assert page.index("<h2>Claims</h2>") < page.index("<h2>Leaderboard</h2>")
    claims = page[page.index("<h2>Claims</h2>"):page.index("<h2>Leaderboard</h2>")]
    assert claims.count('<div class="claim">') == 10
    assert claims.count('class="verdict supported"') == 4
    assert 'class="verdict not-settled"' in claims and 'class="verdict not-measured"' in claims
    assert "to settle: more repeats" in claims
    # a figure per check with numbers (similar has two; the unmeasured plateau still shows its
    # curves, which end before its epoch), and grids of the compared configurations
    assert claims.count('class="plot"') == 10
    assert "<figcaption>image_size=16</figcaption>" in claims
    for uri in re.findall(r'src="data:image/png;base64,([^"]+)"', claims):
        Image.open(io.BytesIO(base64.b64decode(uri))).verify()


def test_a_study_without_claims_has_no_claims_section(tmp_path):
    from tuner import report, results

    page = report.render_report(results.open_study(make_study(tmp_path, "", GRID)))
    assert "<h2>Claims</h2>" not in page


def test_a_check_waits_for_the_trials_still_running(tmp_path):
    folder = make_study(tmp_path, CLAIMS, GRID)
    path = folder / "trial_3" / "trial.json"  # lr 1e-4 at size 32, full data: still training
    path.write_text(path.read_text().replace('"COMPLETED"', '"RUNNING"'))
    result = {v.id: v for v in weigh(folder)}["best-lr"].checks[0]
    assert result.verdict == "not measured"
    assert result.settle.startswith("let the search finish (trial 3 not done yet; ")
    assert result.settle.endswith("else run learning_rate = 0.0001, 0.0002, 0.0004 at "
                                  "image_size=32, subset_fraction=1")
