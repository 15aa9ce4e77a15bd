"""Each --tuner runs a real (tiny) search and records its trials in the study folder."""

import json
import math
import os

import keras
import keras_tuner as kt
import pytest

from tuner.common.config import DataConfig, ScoringConfig, SearchConfig, TrainOverrides, TrainSettings
from tuner.common.errors import UsageError
from tuner.study.tuners import TUNER_CLASSES, make_tuner

SPACE = """
[search]
max_trials = 2
hyperband_factor = 2
[train]
epochs = 2
batch_size = 8
eval_every = 1
precision = "float32"
[hyperparameters.learning_rate]
min = 1e-4
max = 1e-3
sampling = "log"
step = 3
[hyperparameters.image_size]
values = [16]
"""


@pytest.mark.parametrize("tuner", ["random", "bayesian", "hyperband", "grid"])
def test_every_tuner_completes_trials(tuner, lfw_tree, tmp_path):
    from tuner.results.snapshot import load_trials
    from tuner.study.runner import run_search

    (tmp_path / "s.toml").write_text(SPACE)
    rows = load_trials(run_search(SearchConfig(
        data=DataConfig(str(lfw_tree.root), lfw_tree.person),
        scoring=ScoringConfig(samples=16, cache_dir=str(tmp_path / "cache")),
        space=str(tmp_path / "s.toml"), tuner=tuner, results_dir=str(tmp_path / "out"))))
    assert rows and all(row["status"] == "COMPLETED" for row in rows)
    assert all(1e-4 <= row["hyperparameters"]["learning_rate"] <= 1e-3 for row in rows)
    if tuner != "hyperband":
        assert len(rows) == 2
    study = json.loads((tmp_path / "out" / "s" / "study.json").read_text())
    assert study["tuner"] == tuner


def test_hyperband_continues_every_run_of_a_configuration(lfw_tree, tmp_path):
    """A later Hyperband round trains each of a configuration's runs on from where it stopped."""
    from tuner.results.runs import load_evaluations
    from tuner.study.runner import run_search

    # A continuous range: every first-round slot of every bracket draws a fresh configuration.
    (tmp_path / "s.toml").write_text(SPACE
                                     .replace("step = 3\n", ""))
    study = run_search(SearchConfig(
        data=DataConfig(str(lfw_tree.root), lfw_tree.person),
        scoring=ScoringConfig(samples=16, cache_dir=str(tmp_path / "cache")),
        train=TrainOverrides(repeats=2), space=str(tmp_path / "s.toml"), tuner="hyperband",
        results_dir=str(tmp_path / "out")))
    continued = [json.loads((t / "trial.json").read_text()) for t in study.glob("trial_*")]
    continued = [t for t in continued if t["hyperparameters"]["values"].get("tuner/initial_epoch")]
    assert continued, "hyperband made no second round"
    for trial in continued:
        values = trial["hyperparameters"]["values"]
        previous = study / f"trial_{values['tuner/trial_id']}"
        assert (previous / "repeat_1.weights.h5").is_file()
        epochs = [(e["repeat"], e["epoch"]) for e in load_evaluations(study / f"trial_{trial['trial_id']}")]
        start = values["tuner/initial_epoch"] + 1
        assert {r for r, _ in epochs} == {0, 1} and min(e for _, e in epochs) == start


SETTINGS = TrainSettings(epochs=2, batch_size=8, eval_every=1)


def test_an_unknown_tuner_is_refused():
    message = "--tuner must be one of grid, one-at-a-time, random, bayesian, hyperband"
    with pytest.raises(UsageError, match=message):
        make_tuner("annealing", None, SETTINGS, max_trials=1, hyperband_factor=3,
                   directory="out", project_name="s", max_consecutive_failures=3)
    assert list(TUNER_CLASSES) == ["grid", "random", "bayesian", "hyperband"]


@pytest.mark.parametrize("name", ["grid", "random", "bayesian", "hyperband"])
def test_keras_tuner_state_files_are_written_atomically(name, tmp_path, monkeypatch):
    from tuner.study import tuners

    written = []
    real_write = tuners.files.write_bytes
    monkeypatch.setattr(tuners.files, "write_bytes",
                        lambda path, data: (written.append(str(path)), real_write(path, data)))
    tuner = make_tuner(name, lambda hp: hp.Choice("x", [1, 2]), SETTINGS, max_trials=2,
                       hyperband_factor=2, directory=tmp_path, project_name="p",
                       max_consecutive_failures=3)
    assert isinstance(tuner.oracle, tuners.AtomicSavesMixin)
    trial_id = tuner.oracle.create_trial("tuner0").trial_id
    tuner.save()
    names = {os.path.relpath(path, tmp_path / "p") for path in written}
    trial_json = os.path.join(f"trial_{trial_id}", "trial.json")
    assert names == {"oracle.json", "tuner0.json", trial_json}
    assert not list(tmp_path.rglob("*.tmp"))
    assert json.loads((tmp_path / "p" / trial_json).read_text())["trial_id"] == trial_id


class _SpaceModel(kt.HyperModel):
    """Declares a space's hyperparameters and builds nothing: enough for an oracle."""

    def __init__(self, space):
        super().__init__()
        self.space = space

    def declare_hyperparameters(self, hp):
        self.space.declare(hp)

    def build(self, hp):
        self.space.declare(hp)
        return keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])


def _finish(tuner, trial):
    tuner.oracle.update_trial(trial.trial_id, {"kid": 0.1})
    trial.status = "COMPLETED"
    tuner.oracle.end_trial(trial)
    tuner.save()  # as on_trial_end does: what a resumed search reloads


def test_one_at_a_time_hands_out_the_design_in_order_and_resumes(tmp_path):
    from tuner.spaces.space import load_space

    space = load_space("lab-mini")
    design = space.configurations()

    def tuner():
        return make_tuner("one-at-a-time", _SpaceModel(space), SETTINGS, max_trials=50,
                          hyperband_factor=3, directory=tmp_path, project_name="p",
                          max_consecutive_failures=3)

    first = tuner()
    handed = []
    for _ in range(3):
        trial = first.oracle.create_trial("tuner0")
        handed.append(trial.hyperparameters.values)
        _finish(first, trial)
    resumed = tuner()  # a new process on the same folder goes on with the fourth
    while (trial := resumed.oracle.create_trial("tuner0")).status == "RUNNING":
        handed.append(trial.hyperparameters.values)
        _finish(resumed, trial)
    assert handed == design
    assert trial.status == "STOPPED"
    assert resumed.oracle.max_trials == len(design) == 7


def test_hyperband_halves_a_space_of_few_configurations_up_to_max_epochs(lfw_tree, tmp_path):
    """Three learning rates, max_epochs 4, factor 2: keras-tuner's own first round wants 4
    configurations and, never drawing one twice, would stop after 3 trials of 1 epoch. Here
    its rounds are 3 (1 epoch), 2 (2 epochs), 1 (4 epochs): successive halving to the end."""
    from tuner.results.snapshot import load_trials
    from tuner.study.runner import run_search

    (tmp_path / "s.toml").write_text(SPACE.replace("[train]\nepochs = 2\n", "[train]\nepochs = 4\n"))
    study = run_search(SearchConfig(
        data=DataConfig(str(lfw_tree.root), lfw_tree.person),
        scoring=ScoringConfig(samples=16, cache_dir=str(tmp_path / "cache")),
        space=str(tmp_path / "s.toml"), tuner="hyperband", results_dir=str(tmp_path / "out")))
    trials = [json.loads((t / "trial.json").read_text())["hyperparameters"]["values"]
              for t in sorted(study.glob("trial_*"))]
    first = [t for t in trials if t["tuner/bracket"] == 2]
    assert [(t["tuner/round"], t["tuner/epochs"]) for t in first] == [
        (0, 1), (0, 1), (0, 1), (1, 2), (1, 2), (2, 4)]
    assert sorted(t["learning_rate"] for t in first if t["tuner/round"] == 0) == pytest.approx(
        [1e-4, 3e-4, 9e-4])
    assert all(row["status"] == "COMPLETED" for row in load_trials(study))


def _drive(oracle, trials=None, score=None):
    """Run `oracle` as a search would, without training: each trial scores `score(values)`
    (default: a hash of its values and round, so successive halving has scores to rank)."""
    handed = []
    while trials is None or len(handed) < trials:
        trial = oracle.create_trial("tuner0")
        if trial.status != "RUNNING":
            break
        values = dict(trial.hyperparameters.values)
        handed.append(values)
        kid = score(values) if score else (hash(repr(sorted(values.items()))) % 1000) / 1000
        oracle.update_trial(trial.trial_id, {"kid": kid})
        trial.status = "COMPLETED"
        oracle.end_trial(trial)
    return handed


@pytest.mark.parametrize("name", ["random", "bayesian", "hyperband"])
def test_a_study_seeded_0_draws_the_same_configurations_in_the_same_order(name, tmp_path):
    """keras-tuner takes an oracle seed of 0 for none and picks one at random: seed 0 must not
    reach it as 0. Two searches seeded 0 draw the same eight configurations."""
    from tuner.spaces.space import load_space

    space, settings = load_space("wide"), TrainSettings(epochs=9, batch_size=8, eval_every=1, seed=0)

    def draws(folder):
        tuner = make_tuner(name, _SpaceModel(space), settings, max_trials=8, hyperband_factor=3,
                           directory=tmp_path / folder, project_name="p", max_consecutive_failures=3)
        assert tuner.oracle.seed == 1
        return _drive(tuner.oracle, trials=8,
                      score=lambda v: v["learning_rate"] * 10 + v["beta_1"])  # deterministic

    first, second = draws("a"), draws("b")
    assert len(first) == 8 and first == second
    assert len({v["learning_rate"] for v in first}) > 1  # drawn, not one configuration repeated
    assert json.loads((tmp_path / "a" / "p" / "oracle.json").read_text())["seed"] == 1


def test_study_seeds_map_to_distinct_nonzero_oracle_seeds():
    from tuner.study.tuners import oracle_seed

    seeds = [oracle_seed(seed) for seed in range(1000)]
    assert 0 not in seeds and len(set(seeds)) == 1000 and seeds[:3] == [1, 2, 3]


def _hyperband_oracle(declare, seed, max_epochs, factor=3):
    from tuner.study.tuners import HyperbandOracle

    oracle = HyperbandOracle(objective=kt.Objective("kid", "min"), max_epochs=max_epochs,
                             factor=factor, seed=seed)
    hp = kt.HyperParameters()
    declare(hp)
    oracle.hyperparameters = hp
    oracle.verbose = 0
    # No files: the oracle's saving is tested above; here only what it hands out.
    oracle.save, oracle._save_trial = (lambda: None), (lambda trial: None)
    return oracle


def _rounds(handed):
    """{(bracket, round): (trials, epochs)} of a Hyperband search's trials."""
    rounds = {}
    for values in handed:
        key = (values["tuner/bracket"], values["tuner/round"])
        count, epochs = rounds.get(key, (0, values["tuner/epochs"]))
        assert values["tuner/epochs"] == epochs
        rounds[key] = (count + 1, epochs)
    return rounds


def _expected_rounds(distinct, max_epochs, factor):
    """Hyperband's rounds on a space of `distinct` configurations: keras-tuner's sizes, each at
    most the space's size divided by factor per round, every bracket to max_epochs."""
    brackets = math.floor(math.log(max_epochs, factor) + 1e-9) + 1
    end = math.ceil(1 + math.log(max_epochs, factor))
    return {(b, r): (min(math.ceil(end / (b + 1) * factor ** (b - r)),
                         math.ceil(distinct / factor ** r)),
                     math.ceil(max_epochs / factor ** (b - r)))
            for b in range(brackets) for r in range(b + 1)}


def test_hyperband_runs_every_bracket_to_max_epochs_on_the_lab_space_for_any_seed():
    """The lab space: 24 configurations, 1000 epochs, factor 3. keras-tuner drew the first
    round at random and gave up after 20 repeated draws, ending a quarter of the seeds after
    one round of 2-epoch trials, and never started a second bracket (all 24 tried)."""
    from tuner.spaces.space import load_space

    space = load_space("lab")
    expected = _expected_rounds(24, 1000, 3)
    assert expected[(6, 0)] == (24, 2) and expected[(6, 6)] == (1, 1000)
    assert expected[(0, 0)] == (8, 1000)
    for seed in range(1, 31):
        handed = _drive(_hyperband_oracle(space.declare, seed, max_epochs=1000))
        assert _rounds(handed) == expected, f"seed {seed}"
        first = [v for v in handed if v["tuner/bracket"] == 6 and v["tuner/round"] == 0]
        assert len({(v["learning_rate"], v["image_size"], v["subset_fraction"])
                    for v in first}) == 24  # the whole space, each configuration once


def _conditional(hp):
    """5 configurations: model a with 3 widths, model b with 2 depths (not 2 x 3 x 2 = 12)."""
    hp.Choice("model", ["a", "b"])
    with hp.conditional_scope("model", ["a"]):
        hp.Choice("width", [8, 16, 32])
    with hp.conditional_scope("model", ["b"]):
        hp.Choice("depth", [1, 2])
    hp.Fixed("latent", 100)


def test_a_conditional_space_counts_its_branches_not_their_product():
    from tuner.study.tuners import space_configurations, space_size

    hp = kt.HyperParameters()
    _conditional(hp)
    assert space_size(hp) == 5
    assert space_configurations(hp) == [
        {"model": "a", "width": 8, "latent": 100}, {"model": "a", "width": 16, "latent": 100},
        {"model": "a", "width": 32, "latent": 100}, {"model": "b", "depth": 1, "latent": 100},
        {"model": "b", "depth": 2, "latent": 100}]
    hp.Float("rate", 0.1, 0.5)  # a continuous range: unbounded
    assert space_size(hp) is None and space_configurations(hp) is None


def test_hyperband_runs_every_bracket_to_max_epochs_on_a_conditional_space_for_any_seed():
    expected = _expected_rounds(5, 27, 3)
    assert expected[(3, 0)] == (5, 1) and expected[(3, 3)] == (1, 27)
    orders = set()
    for seed in range(1, 41):
        handed = _drive(_hyperband_oracle(_conditional, seed, max_epochs=27))
        assert _rounds(handed) == expected, f"seed {seed}"
        first = [tuple(sorted((k, v) for k, v in values.items() if not k.startswith("tuner/")))
                 for values in handed if values["tuner/round"] == 0 and values["tuner/bracket"] == 3]
        assert len(set(first)) == 5
        orders.add(tuple(first))
    assert len(orders) > 10  # the seed decides the order of the draws


def test_hyperband_draws_the_same_trials_for_the_same_seed():
    from tuner.spaces.space import load_space

    space = load_space("lab")
    runs = [_drive(_hyperband_oracle(space.declare, 7, max_epochs=100)) for _ in range(2)]
    assert runs[0] == runs[1]


@pytest.mark.parametrize("name", ["random", "bayesian", "hyperband"])
def test_keras_tuners_own_tuner_options_are_passed_to_the_tuner(name, tmp_path):
    """max_model_size, executions_per_trial=1, tuner_id: keras-tuner's Tuner takes them, not
    its oracle (they raised TypeError from the oracle)."""
    budget = {"max_epochs": 4} if name == "hyperband" else {"max_trials": 2}
    tuner = TUNER_CLASSES[name](
        hypermodel=lambda hp: hp.Choice("x", [1, 2]), objective=kt.Objective("kid", "min"),
        seed=5, directory=tmp_path, project_name="p", max_model_size=10_000,
        executions_per_trial=1, tuner_id="t7", **budget)
    assert (tuner.max_model_size, tuner.executions_per_trial, tuner.tuner_id) == (10_000, 1, "t7")
    assert tuner.oracle.seed == 5 and tuner.seed == 5


@pytest.mark.parametrize("name", ["random", "bayesian", "hyperband"])
def test_several_executions_per_trial_are_refused_with_the_repeats_message(name, tmp_path):
    from tuner.study.hypermodel import StudyFolderError

    with pytest.raises(StudyFolderError, match=r"^executions_per_trial=2: every execution would "
                       r"replace the last one's evaluations; .* repeats=2 "):
        TUNER_CLASSES[name](hypermodel=lambda hp: hp.Choice("x", [1, 2]), objective="kid",
                            directory=tmp_path, project_name="p", executions_per_trial=2)
    assert not (tmp_path / "p").exists()  # refused before anything is written


def test_an_option_neither_the_oracle_nor_the_tuner_takes_is_keras_tuners_own_error(tmp_path):
    with pytest.raises(ValueError, match=r"Unrecognized arguments \['max_trails'\]"):
        TUNER_CLASSES["random"](hypermodel=lambda hp: hp.Choice("x", [1, 2]),
                                objective=kt.Objective("kid", "min"), directory=tmp_path,
                                project_name="p", max_trails=3)
