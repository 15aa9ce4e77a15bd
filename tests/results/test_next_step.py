"""The end of a search (results/next_step.py): what is still open and the exact command, with the
runs it would train and their time, that would settle it."""

import pytest

from tests.helpers.study_folder import StudyWriter, run_entry
from tuner.results import next_step as module
from tuner.results.next_step import next_step, next_step_lines
from tuner.results.race import OpenDecision

HP = {"learning_rate": 2e-4, "beta_1": 0.5, "image_size": 32, "subset_fraction": 1.0}
COMMAND = "python -m tuner.search --space quick --epochs 20"


def study(tmp_path, runs=3, seconds=60.0, **train):
    writer = StudyWriter(tmp_path / "s", protocol={"features": "onet"})
    writer.study(command=COMMAND, objective="kid", rank_by="final", repeats=runs,
                 train={"epochs": 20, **train})
    for trial_id, lr in (("0", 2e-4), ("1", 5e-4), ("2", 2e-3)):
        entries = [run_entry(k, 20, seconds=seconds) for k in range(runs)]
        rows = [{"repeat": k, "seed": k, "epoch": 20, "kid": 0.02} for k in range(runs)]
        writer.trial(trial_id, {**HP, "learning_rate": lr}, evaluations=rows, runs=entries)
    return writer.folder


@pytest.fixture()
def decided(monkeypatch):
    """`decided(*decisions)`: the study's open decisions are these."""
    def set_open(*decisions):
        monkeypatch.setattr(module, "open_decisions", lambda study_dir: list(decisions))
    return set_open


def open_(label, trials, seeds_needed):
    return OpenDecision(label, trials, "+0.0050, 95% interval -0.0010 to +0.0110 over 3 seeds",
                        f"about {seeds_needed} seeds (now 3) for 80% power", seeds_needed)


def test_nothing_open_says_nothing(tmp_path, decided):
    decided()
    assert next_step(study(tmp_path)) is None and next_step_lines(study(tmp_path)) == []


def test_a_fixed_study_is_told_to_race_with_its_own_command(tmp_path, decided):
    decided(open_("trial 1 vs #1 (trial 0)", ("1", "0"), 7))
    step = next_step(study(tmp_path))
    assert step.command == COMMAND + " --settle"
    assert step.runs == 2 * (7 - 3)                 # both configurations, from 3 runs to 7
    assert step.seconds == pytest.approx(8 * 60.0)  # at the runs' mean wall time
    lines = next_step_lines(study(tmp_path))
    assert lines[0] == "open decisions (1):"
    assert lines[1] == ("  trial 1 vs #1 (trial 0): +0.0050, 95% interval -0.0010 to +0.0110 "
                        "over 3 seeds; about 7 seeds (now 3) for 80% power")
    assert lines[2] == module.ADVICE_CAVEAT  # how often such advice settles, measured
    assert lines[-1] == (f"to settle them: {COMMAND} --settle   (up to 8 runs, about 8m00s in "
                         f"one process)")


def test_seeds_beyond_the_cap_or_unknown_are_counted_to_the_cap(tmp_path, decided):
    decided(open_("a", ("1", "0"), 40), OpenDecision("b", ("2", "0"), "", "hardly", None))
    step = next_step(study(tmp_path, max_repeats=10))
    assert step.runs == 3 * (10 - 3)


def test_a_race_at_its_cap_asks_for_a_higher_cap_when_that_would_settle_it(tmp_path, decided):
    decided(open_("trial 1 vs #1 (trial 0)", ("1", "0"), 14))
    folder = study(tmp_path, runs=10, settle=True, max_repeats=10)
    step = next_step(folder)
    assert step.capped and step.command == COMMAND + " --settle --max-repeats 14"
    assert step.runs == 2 * 4


def test_a_race_at_its_cap_with_nothing_repeats_could_settle_says_so(tmp_path, decided):
    decided(OpenDecision("trial 1 vs #1 (trial 0)", ("1", "0"), "+0.0001", "hardly", None))
    lines = next_step_lines(study(tmp_path, runs=10, settle=True, max_repeats=10))
    assert lines[-1].startswith("every configuration they name has --max-repeats runs "
                                "already; more seeds would hardly")


def test_a_plain_study_at_the_cap_is_never_told_up_to_0_runs(tmp_path, decided):
    """--repeats 10 without --settle: the seeds are there; only a higher cap could help."""
    decided(open_("trial 1 vs #1 (trial 0)", ("1", "0"), 7))
    lines = next_step_lines(study(tmp_path, runs=10, max_repeats=10))
    assert lines[-1].startswith("every configuration they name has --max-repeats runs")
    decided(open_("trial 1 vs #1 (trial 0)", ("1", "0"), 12))
    step = next_step(study(tmp_path / "b", runs=10))
    assert step.command == COMMAND + " --settle --max-repeats 12" and step.runs == 2 * 2


def test_seeds_already_there_still_cost_the_next_seed_each(tmp_path, decided):
    """A decision that needs 3 seeds of configurations holding 3 runs (one unscored): the
    race adds the next seed of each, never "up to 0 runs"."""
    decided(open_("trial 1 vs #1 (trial 0)", ("1", "0"), 3))
    step = next_step(study(tmp_path))
    assert step.runs == 2 and step.command == COMMAND + " --settle"


def test_the_command_keeps_the_study_flags_and_replaces_an_old_cap(tmp_path, decided):
    assert module._command(COMMAND + " --settle --max-repeats 5", 9) == \
        COMMAND + " --settle --max-repeats 9"
    assert module._command(COMMAND + " --max-repeats=5") == COMMAND + " --settle"
    assert module._command("") == "python -m tuner.search --settle"


def test_a_race_killed_in_its_last_run_below_the_cap_is_not_at_its_cap(tmp_path, decided):
    decided(open_("trial 1 vs #1 (trial 0)", ("1", "0"), 14))
    folder = study(tmp_path, runs=4, settle=True, max_repeats=4)
    path = folder / "trial_1" / "evaluations.json"
    import json

    doc = json.loads(path.read_text())
    doc["repeats"][3]["status"] = "running"  # its fourth run killed midway
    path.write_text(json.dumps(doc))
    step = next_step(folder)
    assert not step.capped and step.command == COMMAND + " --settle"
    assert step.runs == 1  # that run, trained again
