"""The speed targets of the tool, each with what was measured and whether it is met."""

import math
import statistics
from dataclasses import dataclass

from tuner.bench.epochs import mixed_speedups

FIT_TOLERANCE = 1.05          # fit may be 5% slower than the lab loop: within epoch-to-epoch noise
MIXED_SPEEDUP_GOAL = 1.5
SCORING_SHARE_GOAL = 0.10
MEMORY_GROWTH_MB = 50.0       # RSS growth allowed from the second trial to the last


@dataclass
class Goal:
    name: str
    measured: str
    met: bool | None              # None: not measured in this run


def goals(report):
    """Each goal: what was measured and whether it is met."""
    return [_fit_goal(report), _mixed_goal(report), _scoring_goal(report),
            _reference_goal(report), _tracing_goal(report), _memory_goal(report),
            _quality_goal(report)]


def _fit_goal(report):
    ratios = [t.fit_seconds / t.lab_seconds for t in report.epochs]
    return Goal(f"fit at least as fast as the lab loop (fit/lab <= {FIT_TOLERANCE})",
                "fit/lab " + " ".join(f"{t.size}{t.precision[0]}:{r:.2f}"
                                      for t, r in zip(report.epochs, ratios)),
                all(r <= FIT_TOLERANCE for r in ratios))


def _mixed_goal(report):
    speedups = mixed_speedups(report.epochs)
    if not speedups:
        return Goal(f"mixed >= {MIXED_SPEEDUP_GOAL}x float32", "not measured", None)
    return Goal(f"mixed >= {MIXED_SPEEDUP_GOAL}x float32 per epoch",
                " ".join(f"{size}:x{value:.2f}" for size, value in speedups.items()),
                all(value >= MIXED_SPEEDUP_GOAL for value in speedups.values()))


def _scoring_goal(report):
    trial = report.trial
    return Goal(f"scoring < {SCORING_SHARE_GOAL:.0%} of a quick-space trial",
                f"{trial.share:.1%} ({trial.scoring_seconds:.1f} s of {trial.trial_seconds:.0f} s)",
                trial.share < SCORING_SHARE_GOAL)


def _reference_goal(report):
    memory = report.memory
    return Goal("reference features computed once per study",
                f"{memory.reference_computations} computation(s) over {len(memory.rss_mb)} "
                f"trials", memory.reference_computations == 1)


def _tracing_goal(report):
    counts = sorted({t.fit_traces for t in report.epochs})
    return Goal("train step traced once per model", f"traces per model: {counts}", counts == [1])


def _memory_goal(report):
    memory = report.memory
    name = f"RSS flat over trials (growth < {MEMORY_GROWTH_MB:.0f} MB, trial 2 to the last)"
    if None in memory.rss_mb:
        return Goal(name, "not measurable here", None)
    if memory.growth_mb is None:
        return Goal(name, "not measured (3 trials or more)", None)
    return Goal(name, f"{memory.growth_mb:+.0f} MB over {len(memory.rss_mb)} trials",
                memory.growth_mb < MEMORY_GROWTH_MB)


def _quality_goal(report):
    name = "mixed KID no worse than float32 beyond seed noise (2 standard errors)"
    kid = {p: [r.kid for r in report.quality if r.precision == p] for p in ("float32", "mixed")}
    if min(len(values) for values in kid.values()) < 2:
        return Goal(name, "not measured (run with --quality, 2 seeds or more)", None)
    difference = statistics.mean(kid["mixed"]) - statistics.mean(kid["float32"])
    error = math.sqrt(sum(statistics.variance(v) / len(v) for v in kid.values()))
    return Goal(name, f"best KID mixed {statistics.mean(kid['mixed']):.4f} vs float32 "
                      f"{statistics.mean(kid['float32']):.4f}: {difference:+.4f} = "
                      f"{difference / error:.1f} SE over {len(kid['mixed'])} seeds",
                difference <= 2 * error)
