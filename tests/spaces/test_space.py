"""Tests of tuner.spaces.space: the shipped TOML spaces, validation messages, keras-tuner declarations."""

from __future__ import annotations

import re
import shutil
import textwrap

import keras_tuner as kt
import pytest
from keras_tuner.engine import hyperparameters as hpt

from tuner.common.config import DEFAULT_SPACE, TRAIN_DEFAULTS
from tuner.common.config import LAB_HYPERPARAMETERS as LAB_VALUES
from tuner.common.errors import UsageError
from tuner.spaces import space as space_module
from tuner.spaces.space import HYPERPARAMETERS, Param, available, load_space


def _write(tmp_path, text, name="space.toml"):
    """Writes a space file under ``tmp_path`` and returns its path."""
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _error(path):
    """The UsageError raised by loading ``path``, after checking it is one line naming the file."""
    with pytest.raises(UsageError) as info:
        load_space(str(path))
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    return message


# ---------------------------------------------------------------- shipped spaces


def test_quick_is_the_default_grid_over_lab_rates_at_32():
    assert DEFAULT_SPACE == "quick"
    space = load_space("quick")
    assert space.name == "quick"
    assert space.tuner == "grid"
    assert space.max_trials == 3
    assert space.image_sizes() == [32]
    assert space.params["learning_rate"].values == (2e-4, 5e-4, 2e-3)
    assert space.params["beta_1"].values == (0.5,)
    assert space.params["subset_fraction"].values == (1.0,)
    assert space.train["precision"] == "mixed"
    space.check_tuner("grid")  # every range is a finite list


def test_lab_is_exactly_the_labs_grid():
    space = load_space("lab")
    assert space.tuner == "grid"
    assert space.params["learning_rate"] == Param("learning_rate", values=(2e-4, 5e-4, 2e-3, 2e-2))
    assert space.params["beta_1"] == Param("beta_1", values=(0.5,))
    assert space.params["image_size"] == Param("image_size", values=(32, 64, 128))
    assert space.params["subset_fraction"] == Param("subset_fraction", values=(0.5, 1.0))
    assert space.image_sizes() == [32, 64, 128]
    assert space.train == {"epochs": 1000, "batch_size": 256, "eval_every": 100, "latent_dim": 100,
                           "precision": "float32", "retrain_epochs": 1000}
    assert (space.repeats, space.holdout, space.rank_by) == (3, 0.1, "final")
    grid = 1
    for param in space.params.values():
        grid *= len(param.values)
    assert grid == 24 == space.max_trials
    space.check_tuner("grid")


def test_wide_is_continuous_beyond_the_lab():
    space = load_space("wide")
    assert space.tuner == "bayesian"
    assert space.max_trials == 30
    assert space.params["learning_rate"] == Param("learning_rate", min=1e-5, max=1e-1,
                                                  sampling="log")
    assert space.params["beta_1"] == Param("beta_1", min=0.0, max=0.9)
    assert space.params["image_size"] == Param("image_size", values=(32, 64, 128))
    assert space.params["subset_fraction"] == Param("subset_fraction", min=0.25, max=1.0)
    assert all(space.params[n].is_continuous for n in ("learning_rate", "beta_1", "subset_fraction"))
    assert not space.params["image_size"].is_continuous
    for tuner in ("random", "bayesian", "hyperband"):
        space.check_tuner(tuner)


def test_available_lists_the_shipped_spaces():
    assert {"quick", "lab", "wide"} <= set(available())
    assert available() == sorted(available())


def test_a_path_works_as_well_as_a_name():
    by_name = load_space("lab")
    by_path = load_space(str(space_module.SPACES_DIR / "lab.toml"))
    assert by_path == by_name
    assert by_path.path == str(space_module.SPACES_DIR / "lab.toml")
    assert by_path.text == (space_module.SPACES_DIR / "lab.toml").read_text(encoding="utf-8")


def test_a_relative_path_without_toml_suffix_is_taken_as_a_path(tmp_path, monkeypatch):
    folder = tmp_path / "mine"
    folder.mkdir()
    shutil.copy(space_module.SPACES_DIR / "quick.toml", folder / "quick")
    monkeypatch.chdir(tmp_path)
    space = load_space("mine/quick")
    assert space.path == "mine/quick"
    assert space.params == load_space("quick").params


def test_unknown_name_lists_the_available_spaces():
    with pytest.raises(UsageError, match=r"^--space nosuch: no such space; choose one of .*lab.*quick"
                                         r".*wide.* or give the path of a \.toml file$"):
        load_space("nosuch")


def test_missing_file_path_is_a_usage_error(tmp_path):
    missing = tmp_path / "absent.toml"
    with pytest.raises(UsageError, match=rf"^--space {re.escape(str(missing))}: file not found$"):
        load_space(str(missing))


def test_installed_copy_is_found_when_the_checkout_has_none(tmp_path, monkeypatch):
    checkout, installed = tmp_path / "checkout", tmp_path / "installed"
    checkout.mkdir()
    installed.mkdir()
    shipped = space_module.SPACES_DIR / "quick.toml"
    shutil.copy(shipped, installed / "quick.toml")
    monkeypatch.setattr(space_module, "SPACES_DIR", checkout)
    monkeypatch.setattr(space_module, "INSTALLED_SPACES_DIR", installed)
    space = load_space("quick")
    assert space.path == str(installed / "quick.toml")
    assert space.text == shipped.read_text(encoding="utf-8")
    assert space.image_sizes() == [32]
    assert available() == ["quick"]
    with pytest.raises(UsageError, match=r"^--space lab: no such space; choose one of quick or"):
        load_space("lab")


def test_checkout_copy_wins_over_the_installed_one(tmp_path, monkeypatch):
    checkout, installed = tmp_path / "checkout", tmp_path / "installed"
    checkout.mkdir()
    installed.mkdir()
    shutil.copy(space_module.SPACES_DIR / "quick.toml", checkout / "quick.toml")
    shutil.copy(space_module.SPACES_DIR / "lab.toml", installed / "quick.toml")
    monkeypatch.setattr(space_module, "SPACES_DIR", checkout)
    monkeypatch.setattr(space_module, "INSTALLED_SPACES_DIR", installed)
    assert load_space("quick").path == str(checkout / "quick.toml")


# ---------------------------------------------------------------- defaults


def test_empty_file_takes_every_default_and_the_lab_values(tmp_path):
    space = load_space(str(_write(tmp_path, "")))
    assert space.name == "space"
    assert space.description == ""
    assert (space.tuner, space.max_trials, space.hyperband_factor) == ("random", 10, 3)
    assert space.train == TRAIN_DEFAULTS
    assert set(space.params) == set(HYPERPARAMETERS)
    for name in HYPERPARAMETERS:
        assert space.params[name] == Param(name, values=(LAB_VALUES[name],))
    assert space.image_sizes() == [64]


def test_search_settings_default_to_one_run_ranked_by_the_final_evaluation(tmp_path):
    space = load_space(str(_write(tmp_path, "")))
    assert (space.repeats, space.holdout, space.rank_by) == (1, 0.0, "final")
    space = load_space(str(_write(tmp_path, '[search]\nrepeats = 3\nholdout = 0.2\n'
                                            'rank_by = "last-3"\n')))
    assert (space.repeats, space.holdout, space.rank_by) == (3, 0.2, "last-3")


def test_missing_hyperparameter_falls_back_to_the_lab_value(tmp_path):
    path = _write(tmp_path, """
        [train]
        epochs = 5
        [hyperparameters.learning_rate]
        values = [1e-3, 1e-2]
    """)
    space = load_space(str(path))
    assert space.train == {**TRAIN_DEFAULTS, "epochs": 5}
    assert space.params["learning_rate"].values == (1e-3, 1e-2)
    assert space.params["beta_1"] == Param("beta_1", values=(0.5,))
    assert space.params["image_size"] == Param("image_size", values=(64,))
    assert space.params["subset_fraction"] == Param("subset_fraction", values=(1.0,))


def test_integer_values_of_float_hyperparameters_become_floats(tmp_path):
    path = _write(tmp_path, """
        [hyperparameters.subset_fraction]
        values = [1]
        [hyperparameters.beta_1]
        min = 0
        max = 0.9
    """)
    space = load_space(str(path))
    assert space.params["subset_fraction"].values == (1.0,)
    assert isinstance(space.params["subset_fraction"].values[0], float)
    assert isinstance(space.params["beta_1"].min, float)


# ---------------------------------------------------------------- validation


BAD_SPACES = {
    "baseline not a value": ('[search]\nbaseline = { image_size = 64 }\n'
                             '[hyperparameters.image_size]\nvalues = [16, 32]\n',
                             r"\[search\] baseline image_size = 64 is not one of "
                             r"\[hyperparameters.image_size\] values \[16, 32\]$"),
    "baseline unknown name": ('[search]\nbaseline = { lr = 1e-4 }\n',
                              r"\[search\] baseline unknown hyperparameter 'lr'; expected one of "
                              r"learning_rate, beta_1, image_size, subset_fraction$"),
    "unknown top-level key": ("seed = 3\n", r"unknown key 'seed'; expected one of claims, "
                              r"description, hyperparameters, search, train$"),
    "unknown [train] key": ("[train]\nepoch = 10\n", r"\[train\] unknown key 'epoch'; expected one "
                            r"of batch_size, epochs, eval_every, latent_dim, precision, "
                            r"retrain_epochs$"),
    "unknown [search] key": ("[search]\ntrials = 3\n", r"\[search\] unknown key 'trials'; expected "
                             r"one of baseline, holdout, hyperband_factor, margin, max_repeats, "
                             r"max_trials, "
                             r"rank_by, repeats, settle, tuner$"),
    "settle not a bool": ("[search]\nsettle = 1\n", r"\[search\] settle must be bool, got 1$"),
    "margin beyond 1": ("[search]\nmargin = 1.5\n", r"\[search\] margin must be a share of the "
                        r"best score from 0 to below 1 \(the smallest difference that matters\), "
                        r"got 1.5; use e.g. 0.15"),
    "margin not a number": ("[search]\nmargin = \"10%\"\n",
                            r"\[search\] margin must be number, got '10%'$"),
    "max_repeats below repeats": ("[search]\nrepeats = 3\nmax_repeats = 2\n",
                                  r"\[search\] max_repeats must be at least repeats \(3\) and 2, "
                                  r"got 2$"),
    "repeats zero": ("[search]\nrepeats = 0\n", r"\[search\] repeats must be at least 1, got 0$"),
    "repeats float": ("[search]\nrepeats = 2.5\n", r"\[search\] repeats must be int, got 2\.5$"),
    "holdout one": ("[search]\nholdout = 1.0\n", r"\[search\] holdout must be a fraction from 0 "
                    r"to 0\.9 of the images held out from training, got 1\.0; use e\.g\. 0\.2$"),
    "holdout string": ('[search]\nholdout = "10%"\n',
                       r"\[search\] holdout must be number, got '10%'$"),
    "rank_by last": ('[search]\nrank_by = "last"\n', r"\[search\] rank_by must be final, best or "
                     r"last-N \(N evaluations averaged, e\.g\. last-3\), got 'last'$"),
    "rank_by last-0": ('[search]\nrank_by = "last-0"\n', r"\[search\] rank_by must be final, "
                       r"best or last-N"),
    "unknown hyperparameter key": ("[hyperparameters.beta_1]\nvalue = 0.5\ndefault = 0.5\n",
                                   r"\[hyperparameters\.beta_1\] unknown key 'default'; expected "
                                   r"one of max, min, sampling, step, value, values$"),
    "unknown hyperparameter": ("[hyperparameters.momentum]\nvalue = 0.9\n",
                               r"\[hyperparameters\] unknown key 'momentum'; expected one of "
                               r"beta_1, image_size, learning_rate, subset_fraction$"),
    "epochs string": ('[train]\nepochs = "ten"\n', r"\[train\] epochs must be int, got 'ten'$"),
    "epochs float": ("[train]\nepochs = 1.5\n", r"\[train\] epochs must be int, got 1\.5$"),
    "epochs bool": ("[train]\nepochs = true\n", r"\[train\] epochs must be int, got True$"),
    "precision bool": ("[train]\nprecision = true\n", r"\[train\] precision must be str, got True$"),
    "max_trials string": ('[search]\nmax_trials = "3"\n',
                          r"\[search\] max_trials must be int, got '3'$"),
    "epochs zero": ("[train]\nepochs = 0\n", r"\[train\] epochs must be a positive integer, got 0$"),
    "batch_size negative": ("[train]\nbatch_size = -4\n",
                            r"\[train\] batch_size must be a positive integer, got -4$"),
    "precision half": ('[train]\nprecision = "half"\n',
                       r"\[train\] precision must be one of float32, mixed, mixed_bfloat16, "
                       r"mixed_float16, got 'half'$"),
    "tuner annealing": ('[search]\ntuner = "annealing"\n', r"\[search\] tuner must be one of grid, "
                        r"one-at-a-time, random, bayesian, hyperband, got 'annealing'$"),
    "max_trials zero": ("[search]\nmax_trials = 0\n",
                        r"\[search\] max_trials must be at least 1, got 0$"),
    "hyperband_factor one": ("[search]\nhyperband_factor = 1\n",
                             r"\[search\] hyperband_factor must be at least 2, got 1$"),
    "train not a table": ("train = 5\n", r"\[train\] must be a table, got int$"),
    "learning rate zero": ("[hyperparameters.learning_rate]\nvalue = 0.0\n",
                           r"\[hyperparameters\.learning_rate\] learning_rate must be > 0, "
                           r"got 0\.0$"),
    "learning rate negative in list": ("[hyperparameters.learning_rate]\nvalues = [1e-3, -1e-3]\n",
                                       r"\[hyperparameters\.learning_rate\] learning_rate must be "
                                       r"> 0, got -0\.001$"),
    "learning rate min zero": ("[hyperparameters.learning_rate]\nmin = 0.0\nmax = 0.1\n",
                               r"\[hyperparameters\.learning_rate\] min learning_rate must be > 0, "
                               r"got 0\.0$"),
    "learning rate string": ('[hyperparameters.learning_rate]\nvalue = "fast"\n',
                             r"\[hyperparameters\.learning_rate\] learning_rate must be a number, "
                             r"got 'fast'$"),
    "beta_1 one": ("[hyperparameters.beta_1]\nvalue = 1.0\n",
                   r"\[hyperparameters\.beta_1\] beta_1 must be in \[0, 1\), got 1\.0$"),
    "beta_1 negative": ("[hyperparameters.beta_1]\nvalue = -0.1\n",
                        r"\[hyperparameters\.beta_1\] beta_1 must be in \[0, 1\), got -0\.1$"),
    "beta_1 bool": ("[hyperparameters.beta_1]\nvalue = false\n",
                    r"\[hyperparameters\.beta_1\] beta_1 must be a number, got False$"),
    "subset_fraction zero": ("[hyperparameters.subset_fraction]\nvalue = 0\n",
                             r"\[hyperparameters\.subset_fraction\] subset_fraction must be in "
                             r"\(0, 1\], got 0$"),
    "subset_fraction above one": ("[hyperparameters.subset_fraction]\nvalues = [0.5, 1.5]\n",
                                  r"\[hyperparameters\.subset_fraction\] subset_fraction must be "
                                  r"in \(0, 1\], got 1\.5$"),
    "image size 48": ("[hyperparameters.image_size]\nvalues = [32, 48]\n",
                      r"\[hyperparameters\.image_size\] image_size must be a power of two from 16 "
                      r"to 256 \(16, 32, 64, 128, 256\); got 48$"),
    "image size 8": ("[hyperparameters.image_size]\nvalue = 8\n",
                     r"\[hyperparameters\.image_size\] image_size must be a power of two .*; got 8$"),
    "image size 512": ("[hyperparameters.image_size]\nvalue = 512\n",
                       r"\[hyperparameters\.image_size\] image_size must be a power of two .*; "
                       r"got 512$"),
    "image size float": ("[hyperparameters.image_size]\nvalue = 64.0\n",
                         r"\[hyperparameters\.image_size\] image_size must be a power of two .*; "
                         r"got 64\.0$"),
    "image size range": ("[hyperparameters.image_size]\nmin = 32\nmax = 128\n",
                         r"\[hyperparameters\.image_size\] image_size takes a list of sizes "
                         r"\(`values = \[32, 64\]`\), not a range$"),
    "min above max": ("[hyperparameters.beta_1]\nmin = 0.9\nmax = 0.1\n",
                      r"\[hyperparameters\.beta_1\] min \(0\.9\) is greater than max \(0\.1\)$"),
    "value and values": ("[hyperparameters.beta_1]\nvalue = 0.5\nvalues = [0.5, 0.9]\n",
                         r"\[hyperparameters\.beta_1\] give exactly one of `value = X`, "
                         r"`values = \[\.\.\.\]` or `min` and `max`$"),
    "value and range": ("[hyperparameters.beta_1]\nvalue = 0.5\nmin = 0.1\nmax = 0.9\n",
                        r"\[hyperparameters\.beta_1\] give exactly one of"),
    "min without max": ("[hyperparameters.beta_1]\nmin = 0.1\n",
                        r"\[hyperparameters\.beta_1\] give exactly one of"),
    "nothing given": ("[hyperparameters.beta_1]\nsampling = \"log\"\n",
                      r"\[hyperparameters\.beta_1\] give exactly one of"),
    "empty values": ("[hyperparameters.learning_rate]\nvalues = []\n",
                     r"\[hyperparameters\.learning_rate\] values must be a non-empty list, got \[\]$"),
    "values not a list": ("[hyperparameters.learning_rate]\nvalues = 0.001\n",
                          r"\[hyperparameters\.learning_rate\] values must be a non-empty list, "
                          r"got 0\.001$"),
    "bad sampling": ('[hyperparameters.learning_rate]\nmin = 1e-4\nmax = 1e-2\nsampling = "exp"\n',
                     r"\[hyperparameters\.learning_rate\] sampling must be 'linear' or 'log', "
                     r"got 'exp'$"),
    "negative step": ("[hyperparameters.beta_1]\nmin = 0.1\nmax = 0.9\nstep = -0.1\n",
                      r"\[hyperparameters\.beta_1\] step must be a positive number, got -0\.1$"),
    "hyperparameter not a table": ("[hyperparameters]\nbeta_1 = 0.5\n",
                                   r"\[hyperparameters\.beta_1\] must be a table, got float$"),
}


@pytest.mark.parametrize("text, expected", BAD_SPACES.values(), ids=BAD_SPACES.keys())
def test_invalid_space_is_one_line_naming_file_and_key(tmp_path, text, expected):
    path = _write(tmp_path, text)
    with pytest.raises(UsageError, match=rf"^{re.escape(str(path))}: {expected}"):
        load_space(str(path))
    _error(path)  # and it is a single line starting with the file


def test_malformed_toml_names_file_and_line(tmp_path):
    path = _write(tmp_path, '[train]\nepochs = 10\nbatch_size 16\n')
    message = _error(path)
    assert re.match(rf"^{re.escape(str(path))}: malformed TOML: .*line 3", message)


def test_first_error_is_the_one_reported(tmp_path):
    # an unknown top-level key is checked before the tables' contents
    path = _write(tmp_path, '[train]\nepochs = 0\n[extra]\nx = 1\n')
    assert _error(path).endswith("unknown key 'extra'; expected one of claims, description, "
                                 "hyperparameters, search, train")


# ---------------------------------------------------------------- tuner compatibility


def test_grid_refuses_a_continuous_range_without_step():
    space = load_space("wide")
    with pytest.raises(UsageError, match=r"\[hyperparameters\.learning_rate\] the grid tuner needs "
                                         r"a list of values or a step, got the continuous range "
                                         r"1e-05\.\.0\.1; .*--tuner random\|bayesian\|hyperband$") \
            as info:
        space.check_tuner("grid")
    assert str(info.value).startswith(space.path)
    assert "\n" not in str(info.value)


def test_grid_accepts_a_range_with_a_step(tmp_path):
    path = _write(tmp_path, """
        [search]
        tuner = "grid"
        [hyperparameters.beta_1]
        min = 0.1
        max = 0.9
        step = 0.4
    """)
    space = load_space(str(path))
    assert space.params["beta_1"] == Param("beta_1", min=0.1, max=0.9, step=0.4)
    assert space.check_tuner("grid") is None
    without_step = load_space(str(_write(tmp_path, "[hyperparameters.beta_1]\nmin = 0.1\nmax = 0.9\n",
                                         name="nostep.toml")))
    with pytest.raises(UsageError, match=r"\[hyperparameters\.beta_1\] the grid tuner"):
        without_step.check_tuner("grid")
    without_step.check_tuner("random")


# ---------------------------------------------------------------- keras-tuner declarations


def test_values_list_declares_a_choice_and_returns_the_first():
    hp = kt.HyperParameters()
    assert Param("learning_rate", values=(5e-4, 2e-4, 2e-3)).declare(hp) == 5e-4
    (declared,) = hp.space
    assert isinstance(declared, hpt.Choice)
    assert declared.name == "learning_rate"
    assert list(declared.values) == [5e-4, 2e-4, 2e-3]


def test_single_value_declares_fixed():
    hp = kt.HyperParameters()
    assert Param("beta_1", values=(0.5,)).declare(hp) == 0.5
    (declared,) = hp.space
    assert isinstance(declared, hpt.Fixed)
    assert declared.value == 0.5


def test_range_declares_a_float_with_its_sampling_and_step():
    hp = kt.HyperParameters()
    assert Param("learning_rate", min=1e-5, max=1e-1, sampling="log").declare(hp) == 1e-5
    assert Param("beta_1", min=0.1, max=0.9, step=0.2).declare(hp) == pytest.approx(0.1)
    lr, beta = hp.space
    assert isinstance(lr, hpt.Float) and isinstance(beta, hpt.Float)
    assert (lr.min_value, lr.max_value, lr.sampling, lr.step) == (1e-5, 1e-1, "log", None)
    assert (beta.min_value, beta.max_value, beta.sampling, beta.step) == (0.1, 0.9, "linear", 0.2)


def test_space_declare_registers_all_four_names():
    hp = kt.HyperParameters()
    load_space("lab").declare(hp)
    assert sorted(p.name for p in hp.space) == sorted(HYPERPARAMETERS)
    assert {p.name: type(p) for p in hp.space} == {
        "learning_rate": hpt.Choice, "beta_1": hpt.Fixed, "image_size": hpt.Choice,
        "subset_fraction": hpt.Choice}
    assert hp.values == {"learning_rate": 2e-4, "beta_1": 0.5, "image_size": 32,
                         "subset_fraction": 0.5}


def test_space_value_reads_the_trials_value():
    space = load_space("lab")
    hp = kt.HyperParameters()
    space.declare(hp)
    hp.values["image_size"] = 128
    assert space.value(hp, "image_size") == 128


def test_one_at_a_time_needs_lists_and_centres_on_the_labs_values(tmp_path):
    path = _write(tmp_path, '[search]\ntuner = "one-at-a-time"\n'
                            '[hyperparameters.learning_rate]\nmin = 1e-4\nmax = 1e-3\n')
    with pytest.raises(UsageError, match=r"\[hyperparameters.learning_rate\] the one-at-a-time "
                                         r"tuner needs a list of values"):
        load_space(str(path)).check_tuner("one-at-a-time")
    path = _write(tmp_path, '[hyperparameters.learning_rate]\nvalues = [1e-3, 2e-4]\n'
                            '[hyperparameters.image_size]\nvalues = [16, 32]\n')
    space = load_space(str(path))
    # lr: the lab's 2e-4 is among the values; size: the lab's 64 is not, so the first value
    assert space.baseline == {"learning_rate": 2e-4, "beta_1": 0.5, "image_size": 16,
                              "subset_fraction": 1.0}
    assert [(d["learning_rate"], d["image_size"]) for d in space.configurations()] == [
        (2e-4, 16), (1e-3, 16), (2e-4, 32)]


# ---------------------------------------------------------------- keras-tuner's own limits, said first


@pytest.mark.parametrize("table, message", [
    ("min = 0.0\nmax = 0.9\nsampling = \"log\"",
     "[hyperparameters.beta_1] sampling = 'log' needs min > 0 (a logarithm of 0.0 has no value); "
     "give a positive min, or sampling = 'linear'"),
    ("min = 0.1\nmax = 0.9\nsampling = \"log\"\nstep = 0.5",
     "[hyperparameters.beta_1] with sampling = 'log' the step multiplies (each value is the last "
     "times step), so it must be greater than 1, got 0.5; e.g. step = 2 for min, 2 x min, 4 x min, ..."),
    ("min = 0.1\nmax = 0.9\nsampling = \"log\"\nstep = 1",
     "[hyperparameters.beta_1] with sampling = 'log' the step multiplies"),
])
def test_a_log_range_keras_tuner_would_refuse_is_one_line(tmp_path, table, message):
    path = _write(tmp_path, f"[hyperparameters.beta_1]\n{table}\n")
    assert _error(path).startswith(f"{path}: {message}")


def test_a_log_range_keras_tuner_takes_declares(tmp_path):
    space = load_space(str(_write(tmp_path, "[hyperparameters.beta_1]\nmin = 0.1\nmax = 0.8\n"
                                            "sampling = \"log\"\nstep = 2\n")))
    hp = kt.HyperParameters()
    space.declare(hp)
    beta_1 = next(p for p in hp.space if p.name == "beta_1")
    assert list(beta_1.values) == pytest.approx([0.1, 0.2, 0.4, 0.8])


def test_a_byte_order_mark_before_the_first_line_is_accepted(tmp_path):
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + b'[search]\ntuner = "random"\nmax_trials = 4\n')
    space = load_space(str(path))
    assert (space.tuner, space.max_trials) == ("random", 4)
    assert space.text == '[search]\ntuner = "random"\nmax_trials = 4\n'


def test_space_file_names_the_flag_that_gave_the_missing_file(tmp_path):
    with pytest.raises(UsageError, match=r"^--claims missing\.toml: file not found$"):
        space_module.space_file("missing.toml", "--claims")
    with pytest.raises(UsageError, match=r"^--claims nothing: no such space; choose one of"):
        space_module.space_file("nothing", "--claims")
    assert space_module.space_file("quick", "--claims") == space_module.SPACES_DIR / "quick.toml"
