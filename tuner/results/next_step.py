"""What a study's open decisions need next: the command that would settle them, and its cost. No TF.

The last lines of a search: which comparisons (and claims) are still open, what
each measured, and the exact command that adds the seeds to settle them (the
study's own command with --settle, or a higher --max-repeats once the race has
reached its cap), with the runs it would train and their estimated time.
"""


import shlex
from dataclasses import dataclass

from tuner.common.config import MAX_REPEATS
from tuner.common.progress import duration
from tuner.results.race import open_decisions, unreachable
from tuner.results.runs import finished_count, mean_run_seconds
from tuner.results.snapshot import read_study, train_setting

RACE_FLAGS = ("--settle", "--max-repeats")
# The advice picks the seeds that would give 80% power if the measured difference held; a
# difference measured over a few seeds, and shown because it looked large, is often smaller.
# Measured (benchmarks/calibration.py, k = 2, advice after 3 seeds, 2000 studies): followed as
# printed, it settled 24%, 39% and 75% of comparisons whose true lead was 0.5, 1 and 2
# between-seed sds.
ADVICE_CAVEAT = ("the seeds advised give 80% power only if each measured difference holds; "
                 "measured over 3 seeds they settle about 4 in 10 comparisons whose true "
                 "difference is one between-seed sd, 3 in 4 at two")


@dataclass(frozen=True)
class NextStep:
    """The open decisions of a study and the command that would settle them."""

    decisions: tuple
    command: str         # "" when more seeds would hardly settle them
    runs: int            # runs the command would train at most
    seconds: float | None  # their estimated time (one process), None before any run has a time
    capped: bool         # the study raced to its cap already


def next_step(study_dir):
    """The study's open decisions and the command that would settle them (None: none open)."""
    decisions = tuple(open_decisions(study_dir))
    if not decisions:
        return None
    study = read_study(study_dir)
    recorded_cap = cap = train_setting(study.meta, "max_repeats") or MAX_REPEATS
    present = {row["trial_id"]: finished_count(row["folder"]) for row in study.rows}
    wanted = {}  # trial -> the runs its open decisions would need, if the differences held
    for decision in decisions:
        for trial in map(str, decision.trial_ids):
            wanted[trial] = max(wanted.get(trial, 0), decision.seeds_needed or cap)
    at_cap = all(present.get(t, 0) >= cap for t in wanted)  # raced there, or given as --repeats
    if at_cap:
        cap = max((d.seeds_needed or 0 for d in decisions), default=0)
        if cap <= recorded_cap:
            return NextStep(decisions, "", 0, None, True)
    # at least the next seed of each named configuration below the cap: a race adds one at a
    # time, and a configuration may hold runs that do not count (unscored, or diverged)
    runs = sum(max(int(present.get(t, 0) < cap), min(n, cap) - present.get(t, 0))
               for t, n in wanted.items())
    per_run = mean_run_seconds(row["folder"] for row in study.rows)
    seconds = runs * per_run if per_run else None
    command = _command(study.meta.get("command") or "", cap if at_cap else None)
    return NextStep(decisions, command, runs, seconds, at_cap)


def _command(command, cap=None):
    """The study's own command with --settle (and --max-repeats `cap` when it must rise)."""
    words = shlex.split(command) if command else ["python", "-m", "tuner.search"]
    kept, skip = [], False
    for word in words:
        if skip:
            skip = False
        elif word in RACE_FLAGS:
            skip = word == "--max-repeats"
        elif not word.startswith("--max-repeats="):
            kept.append(word)
    return shlex.join(kept + ["--settle"] + (["--max-repeats", str(cap)] if cap else []))


def next_step_lines(study_dir):
    """The open decisions and what would settle them, as lines for the end of a search; then
    the comparisons out of reach within the cap, which are answers too."""
    far = unreachable(study_dir)
    tail = [f"out of reach ({len(far)}; no more seeds go there):"] + \
        [f"  {label}: {why}" for label, why in far] if far else []
    return _open_lines(study_dir) + tail


def _open_lines(study_dir):
    step = next_step(study_dir)
    if step is None:
        return []
    lines = [f"open decisions ({len(step.decisions)}):"]
    lines += [f"  {d.label.split(': ')[0]}: {d.measured}; {d.advice}"  # a claim's measured
              for d in step.decisions]                           # text names its comparisons
    if any(d.seeds_needed for d in step.decisions):
        lines.append(ADVICE_CAVEAT)
    if not step.command:
        lines.append("every configuration they name has --max-repeats runs already; more "
                     "seeds would hardly settle these: the differences are small against the "
                     "training noise")
        return lines
    cost = f"up to {step.runs} runs" + (f", about {duration(step.seconds)} in one process"
                                        if step.seconds else "")
    lines.append(f"to settle them: {step.command}   ({cost})")
    return lines
