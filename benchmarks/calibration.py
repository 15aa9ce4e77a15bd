"""Error rates and power of the leaderboard's "settled" and of the claims' verdicts, on
simulated studies (no training):

    python benchmarks/calibration.py [--studies 4000] [--seed 0]

Every run scores 0.02 + noise of sd 0.004 (independent runs, as measured on the quick space:
between-seed sd about 0.003-0.004 around KIDs of 0.02-0.03). For k = 2, 4, 8 and 24
configurations, with n = 3, 5 and 10 seeds each and with the racing loop (3 seeds, then one
more seed to every configuration an open decision names after each look, up to
MAX_REPEATS = 10; looks = 8), it prints

* the false-decision rate with every configuration equal (`similar` and `plateau`: a true
  difference exactly at the margin, 0.2 x 0.02 = 0.004), which the decisions keep <= 5%;
* the power: the chance of the right decision when one configuration is better by 1 and by 2
  between-seed sds (0.004, 0.008), as each row's "right:" says;
* for the racing loop, the mean seeds it spent per configuration.

`better` compares two configurations and `plateau` one configuration at two epochs, so they
are printed once. Monte Carlo standard error of a rate p: sqrt(p (1 - p) / studies), 0.0034
at p = 0.05 with 4000 studies.

This script is not installed with the tool; run it from a checkout.
"""

import argparse
import math
import time

import numpy as np

from tuner.common.config import MAX_REPEATS
from tuner.results import decisions, race

LEVEL, SD, FRACTION = 0.02, 0.004, 0.2
KS = (2, 4, 8, 24)
FIXED = (3, 5, 10)
FIRST = 3  # seeds before the racing loop's first look


def simulate(rng, studies, means, n):
    """(studies, k, n): `means` (k,) + independent noise of sd SD."""
    means = np.asarray(means, dtype=np.float64)
    return means[None, :, None] + SD * rng.standard_normal((studies, len(means), n))


def claim_rule(decide):
    """A racing rule for one claim check: every configuration races while it is open."""
    def rule(values, looks):
        verdict = decide(values, looks)
        return np.broadcast_to((verdict == decisions.OPEN)[..., None], values.shape[:-1]), \
            verdict
    return rule


def leaderboard_outcome(values, looks, better):
    """(false settled, right) of each study: a settled row that is not truly worse than
    #1; the truly better configuration (index `better`, or None) #1 with every other settled."""
    best, _, settled = decisions.leaderboard(values, looks)
    return _leaderboard_score(best, settled, better)


def _leaderboard_score(best, settled, better):
    k = settled.shape[-1]
    if better is None:
        return settled.any(axis=-1), np.zeros(settled.shape[0], dtype=bool)
    others = np.arange(k) != better
    false = settled.any(axis=-1) & (best != better)  # any settled row against a wrong #1
    right = (best == better) & (settled | ~others).all(axis=-1)
    return false, right


# Each kind: how to build its study's true means (k, effect in sds), how to decide at a look,
# and which verdict is right/false. `effect` None: the null case.
def _means(k, effect, kind):
    means = np.full(k, LEVEL)
    if kind == "similar":
        delta = FRACTION * LEVEL if effect is None else effect * SD
        means[0], means[1] = LEVEL - delta / 2, LEVEL + delta / 2
        return means
    if kind == "increases":
        return LEVEL + (0.0 if effect is None else effect * SD) * np.arange(k)
    if effect is not None:
        means[0] -= effect * SD  # configuration 0 is better (lower)
    return means


def _decider(kind):
    if kind == "better":
        return lambda v, looks: decisions.decide_better(v[..., 0, :], v[..., 1, :], looks)[0]
    if kind == "best":
        return lambda v, looks: decisions.decide_best(v, 0, looks)[0]
    if kind == "similar":
        return lambda v, looks: decisions.decide_similar(v, FRACTION, looks)[0]
    if kind == "increases":
        return lambda v, looks: decisions.decide_increases(v, looks)[0]
    raise ValueError(kind)


RIGHT = {"leaderboard": "the better configuration is #1 and every other row is settled",
         "better": "supported (a, better by the effect, scores lower than b)",
         "best": "supported (the claimed value is the better one)",
         "increases": "supported (every step grows by the effect)",
         "similar": "contradicted (two values differ by the effect: 1 sd is the margin itself)",
         "plateau": "contradicted (the score still improves by the effect after the epoch)"}
NULL = {"leaderboard": "all equal; false: any row settled",
        "better": "equal; false: supported or contradicted",
        "best": "all equal; false: supported or contradicted",
        "increases": "all equal; false: supported or contradicted",
        "similar": "two values exactly the margin apart; false: supported (contradicted in "
                   "brackets)",
        "plateau": "improvement exactly the margin; false: supported (contradicted in "
                   "brackets)"}


def cell(kind, rng, studies, k, effect, n=None):
    """(rate, mean seeds per configuration or None): at fixed `n`, else racing."""
    means = _means(k, effect, kind)
    if kind == "plateau":
        return _plateau(rng, studies, effect, n)
    if kind == "leaderboard":
        better = None if effect is None else 0
        if n is not None:
            false, right = leaderboard_outcome(simulate(rng, studies, means, n), 1, better)
            return (false if effect is None else right).mean(), None
        result = race.race(simulate(rng, studies, means, MAX_REPEATS), FIRST)
        false = np.zeros(studies, dtype=bool)
        for settled, best in result.outcomes:
            false |= _leaderboard_score(best, settled, better)[0]
        right = _leaderboard_score(*result.outcomes[-1][::-1], better)[1]
        return (false if effect is None else right).mean(), result.seeds.mean()
    decide = _decider(kind)
    if n is not None:
        verdict = decide(simulate(rng, studies, means, n), 1)
        return _score(kind, [verdict], effect), None
    result = race.race(simulate(rng, studies, means, MAX_REPEATS), FIRST, claim_rule(decide))
    return _score(kind, result.outcomes, effect), result.seeds.mean()


def _score(kind, verdicts, effect):
    """The false rate over all looks (null), or the right rate at the last (effect)."""
    if effect is None:
        if kind == "similar":
            supported = np.any([v == decisions.SUPPORTED for v in verdicts], axis=0).mean()
            contradicted = np.any([v == decisions.CONTRADICTED for v in verdicts], axis=0).mean()
            return supported, contradicted
        return np.any([v != decisions.OPEN for v in verdicts], axis=0).mean()
    target = decisions.CONTRADICTED if kind == "similar" else decisions.SUPPORTED
    return (verdicts[-1] == target).mean()


def _plateau(rng, studies, effect, n):
    """A plateau claim: improvement exactly the margin (null), or the margin plus `effect`
    sds (right: contradicted)."""
    def decide(values, looks):
        return decisions.decide_plateau(values[..., 0, :], values[..., 1, :], FRACTION, looks)[0]

    def draw(size):
        at = LEVEL + SD * rng.standard_normal((studies, size))
        gain = FRACTION * LEVEL + (0.0 if effect is None else effect * SD)
        end = at - gain + SD * rng.standard_normal((studies, size))
        return np.stack([at, end], axis=1)

    if n is not None:
        verdict = decide(draw(n), 1)
        outcomes, seeds = [verdict], None
    else:
        result = race.race(draw(MAX_REPEATS), FIRST, claim_rule(decide))
        outcomes, seeds = result.outcomes, result.seeds.mean()
    if effect is None:
        return (np.any([v == decisions.SUPPORTED for v in outcomes], axis=0).mean(),
                np.any([v == decisions.CONTRADICTED for v in outcomes], axis=0).mean()), seeds
    return (outcomes[-1] == decisions.CONTRADICTED).mean(), seeds


def rate_text(rate):
    if isinstance(rate, tuple):
        return f"{rate[0]:.3f} ({rate[1]:.3f})"
    return f"{rate:.3f}"


def table(kind, rng, studies, effect):
    ks = (2,) if kind in ("better", "plateau") else KS
    header = f"  {'k':>3} " + "".join(f"{f'n={n}':>16}" for n in FIXED) + \
        f"{f'race {FIRST}-{MAX_REPEATS}':>16}{'seeds/config':>14}"
    lines = [header]
    for k in ks:
        fixed = [rate_text(cell(kind, rng, studies, k, effect, n)[0]) for n in FIXED]
        raced, seeds = cell(kind, rng, studies, k, effect)
        lines.append(f"  {k if kind not in ('better', 'plateau') else '-':>3} "
                     + "".join(f"{r:>16}" for r in fixed)
                     + f"{rate_text(raced):>16}{seeds:>14.2f}")
    return lines


def uncorrected(rng, studies):
    """The rule these decisions replace, for comparison: each row's 95% interval against #1,
    no correction for the pairs nor for #1 being picked from the same numbers."""
    lines = ["  k  n  false settled"]
    for k, n in ((7, 5), (24, 3), (24, 5)):
        values = simulate(rng, studies, np.full(k, LEVEL), n)
        best = values.mean(axis=-1).argmin(axis=-1)
        iv, _ = decisions.versus_best(values, best, looks=1, alpha=0.05 * decisions.pairs(k))
        lines.append(f"{k:>3} {n:>2} {(np.nan_to_num(iv.low, nan=-1) > 0).any(axis=-1).mean():>14.3f}")
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    se = math.sqrt(0.05 * 0.95 / args.studies)
    print(f"{args.studies} simulated studies per cell; runs 0.02 + N(0, 0.004^2); Monte Carlo "
          f"se {se:.4f} at a rate of 0.05; racing: {FIRST} seeds, then one more per open "
          f"configuration after each look up to {MAX_REPEATS} ({MAX_REPEATS - FIRST + 1} looks)")
    start = time.perf_counter()
    print("\nleaderboard, uncorrected 95% intervals against #1 (all equal)")
    print("\n".join(uncorrected(rng, args.studies)))
    for kind in ("leaderboard", "better", "best", "similar", "increases", "plateau"):
        print(f"\n{kind}: false-decision rate ({NULL[kind]})")
        print("\n".join(table(kind, rng, args.studies, None)))
        for effect in (1, 2):
            print(f"{kind}: power, one better by {effect} sd (right: {RIGHT[kind]})")
            print("\n".join(table(kind, rng, args.studies, effect)))
    print(f"\n{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
