"""A search's settings from the space file and the flags (study/inputs.py): the race's."""

import pytest

from tuner.common.config import MAX_REPEATS, search_config
from tuner.common.errors import UsageError
from tuner.study.inputs import resolve


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
