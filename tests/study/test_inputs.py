"""A search's inputs are checked before anything is written: names that would leave their folder,
seeds no library takes; the race's settings from the space file and the flags."""

import pytest

from tuner.common.config import (
    DEFAULT_MARGIN,
    MAX_REPEATS,
    SearchConfig,
    check_study_name,
    is_folder_name,
    search_config,
)
from tuner.common.errors import UsageError
from tuner.study.inputs import resolve


def _refused(capsys, tmp_path, *argv):
    """Run the search CLI in-process; return its one error line (asserting exit 2, one line,
    nothing written under tmp_path but what the test made)."""
    from tuner.search import main

    before = set(tmp_path.rglob("*"))
    assert main([*argv, "--results-dir", str(tmp_path / "results"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert set(tmp_path.rglob("*")) == before  # no study folder, lock or tensorboard/
    return err


@pytest.mark.parametrize("name", ["../x", "..", ".", "a/b", "/tmp/x", "", "a\\b"])
def test_a_study_name_that_would_leave_the_results_folder_is_refused(name, tmp_path, capsys):
    err = _refused(capsys, tmp_path, "--study", name)
    assert err == (f"error: --study must be a folder name inside --results-dir, without / or .. "
                   f"(e.g. lab-2), got {name!r}")


@pytest.mark.parametrize("name", ["lab-2", "x..y", ".hidden", "Study 3"])
def test_a_plain_study_name_is_taken(name):
    assert check_study_name(name) == name and is_folder_name(name)


def test_the_python_api_checks_the_study_name_too():
    from tuner.study.inputs import resolve

    with pytest.raises(UsageError, match=r"^--study must be a folder name"):
        resolve(SearchConfig(study="../elsewhere"))


@pytest.mark.parametrize("person", ["..", ".", "../Alan_Turing", "Ada_Lovelace/.."])
def test_a_person_that_would_leave_the_lfw_folder_is_refused(person, lfw_tree, tmp_path, capsys):
    err = _refused(capsys, tmp_path, "--data", str(lfw_tree.root), "--person", person)
    assert err == f"error: --person must be a person folder name like Ada_Lovelace, got {person!r}"


@pytest.mark.parametrize("seed", ["-1", str(2**31)])
def test_a_seed_out_of_range_is_refused(seed, tmp_path, capsys):
    err = _refused(capsys, tmp_path, "--seed", seed)
    assert err == f"error: --seed must be a whole number from 0 to 2147483647, got {seed}"


@pytest.mark.parametrize("text, message", [
    ('[[claims]]\ntext = "x"\nkind = ["best"]\n', "[[claims]] #1 check 1 kind must be one of"),
    ('[[claims]]\ntext = "x"\nkind = "best"\nparam = ["learning_rate"]\nvalue = 2e-4\n',
     "[[claims]] #1 check 1 param must be one of"),
    ('[[claims]]\ntext = "x"\nkind = "better"\na = {learning_rate = 2e-4}\n'
     'b = {learning_rate = 2e-4}\n', "[[claims]] #1 check 1 (better) a and b must differ"),
    ('x = ' + '[' * 2000 + ']' * 2000 + '\n', "tables or arrays nested more than 16 deep"),
    ('[hyperparameters.beta_1]\nmin = 0.0\nmax = 0.9\nsampling = "log"\n',
     "[hyperparameters.beta_1] sampling = 'log' needs min > 0"),
    ('[hyperparameters.learning_rate]\nmin = 1e-4\nmax = 1e-2\nsampling = "log"\nstep = 0.5\n',
     "[hyperparameters.learning_rate] with sampling = 'log' the step multiplies"),
])
def test_a_space_keras_tuner_or_python_would_fail_on_is_one_line_before_any_file(
        text, message, tmp_path, capsys):
    space = tmp_path / "bad.toml"
    space.write_text(text)
    assert _refused(capsys, tmp_path, "--space", str(space)).startswith(f"error: {space}: {message}")


def settings(**options):
    return resolve(search_config(space="quick", **options))[1]


def test_a_study_races_only_when_asked_and_caps_at_the_default():
    plain = settings()
    assert (plain.settle, plain.max_repeats, plain.repeats) == (False, MAX_REPEATS, 1)


def test_a_race_starts_from_two_runs_at_least():
    assert (settings(settle=True).repeats, settings(settle=True, repeats=4).repeats) == (2, 4)
    assert settings(settle=True, max_repeats=6).max_repeats == 6


def test_the_space_files_settle_and_cap_are_the_defaults(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('[search]\ntuner = "grid"\nrepeats = 3\nsettle = true\nmax_repeats = 5\n')
    space_settings = resolve(search_config(space=str(path)))[1]
    assert (space_settings.settle, space_settings.max_repeats) == (True, 5)
    assert resolve(search_config(space=str(path), max_repeats=7))[1].max_repeats == 7


def test_the_margin_comes_from_the_flag_the_space_or_the_default(tmp_path):
    assert settings().margin == DEFAULT_MARGIN and settings(margin=0.05).margin == 0.05
    path = tmp_path / "s.toml"
    path.write_text('[search]\ntuner = "grid"\nmargin = 0.25\n')
    assert resolve(search_config(space=str(path)))[1].margin == 0.25
    assert resolve(search_config(space=str(path), margin=0.1))[1].margin == 0.1


def test_a_margin_outside_zero_to_one_is_one_line_naming_the_flag(tmp_path, capsys):
    with pytest.raises(UsageError, match=r"^--margin must be a share of the best score from 0 "
                                         r"to below 1 \(the smallest difference that matters\), "
                                         r"got 15.0; use e.g. 0.15$"):
        settings(margin=15)
    assert _refused(capsys, tmp_path, "--margin", "-0.1").startswith("error: --margin must be")


@pytest.mark.parametrize("options, message", [
    ({"settle": True, "max_repeats": 1}, r"^--max-repeats 1 is below the 2 runs per configuration "
                                         r"a race starts from \(--repeats 1, and at least 2\); "
                                         r"raise --max-repeats$"),
    ({"max_repeats": 0}, r"^--max-repeats must be a positive integer, got 0$"),
    ({"settle": True, "tuner": "hyperband"}, r"^--settle races seeds of finished configurations; "
                                             r"Hyperband's"),
])
def test_a_race_it_cannot_run_is_one_line(options, message):
    with pytest.raises(UsageError, match=message):
        settings(**options)
