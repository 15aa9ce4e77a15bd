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

First, the selection the leaderboard and the race answer with (`decisions.selection`, racing
with `race.selection_rule`, the margin DEFAULT_MARGIN, alpha spent by seeds), at k = 2, 4, 8
and 24 with independent noise, a per-seed effect shared by all configurations (half the
variance) and heavy tails (t, 3 degrees of freedom): the error rates (all equal: a row
settled worse; every other configuration worse than the best by exactly the margin: one
called equivalent or best, or the best eliminated), also for looks at 3, 5 and 10 seeds by
hand; the power (a settled selection with the right #1 within 10 seeds, and the seeds it
took) for a best leading by 1 and 2 sds and a lab-like grid; and how often the advice after
a plain 3-seed study settles the comparison when followed. `--selection-only` stops there.

This script is not installed with the tool; run it from a checkout.
"""

import argparse
import math
import time

import numpy as np

from tuner.common.config import DEFAULT_MARGIN, MAX_REPEATS
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
        result = race.race(simulate(rng, studies, means, MAX_REPEATS), FIRST,
                           race.leaderboard_rule, looks=MAX_REPEATS - FIRST + 1)
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


# ---------------------------------------------------------------- selection (the race)

NOISES = ("independent", "shared", "heavy")
CHUNK = 200  # studies raced at once: the selection compares every pair (studies, k, k, seeds)


def noise(rng, studies, k, n, kind):
    """(studies, k, n) noise of sd SD: independent; half its variance a per-seed effect shared
    by every configuration ("shared"); or t with 3 degrees of freedom ("heavy" tails)."""
    if kind == "shared":
        return SD * math.sqrt(0.5) * (rng.standard_normal((studies, 1, n))
                                      + rng.standard_normal((studies, k, n)))
    if kind == "heavy":
        return SD * rng.standard_t(3, (studies, k, n)) / math.sqrt(3)
    return SD * rng.standard_normal((studies, k, n))


def raced(values, margin):
    """Race `values` in chunks with the tool's rule: (outcomes per chunk, seeds (studies, k))."""
    outcomes, seeds = [], []
    for i in range(0, len(values), CHUNK):
        result = race.race(values[i:i + CHUNK], FIRST, race.selection_rule(margin))
        outcomes.append(result.outcomes)
        seeds.append(result.seeds)
    return outcomes, np.concatenate(seeds)


def any_look(outcomes, check):
    return np.concatenate([np.any([check(c) for c, _ in chunk], axis=0) for chunk in outcomes])


def last_look(outcomes, check):
    return np.concatenate([check(chunk[-1][0]) for chunk in outcomes])


def edge_means(k, margin):
    """The best (0) and k - 1 others worse by exactly the margin of its true score."""
    means = np.full(k, LEVEL * (1 + margin))
    means[0] = LEVEL
    return means


def wrongly_chosen(c):
    """Against edge_means: a worse one called equivalent or best, or the best eliminated."""
    others = np.arange(c.equivalent.shape[-1]) != 0
    return (c.equivalent & others).any(-1) | (c.settled_selection & (c.best != 0)) \
        | ~c.may_be_best[..., 0]


def selection_errors(rng, studies, margin):
    """Rows: k; per noise: (a) all equal, a row settled worse at any look; (b) at the margin's
    edge, a worse one called equivalent or best, or the best eliminated, at any look."""
    lines = [f"  {'k':>3} " + "".join(f"{n + ' (a)':>18}{'(b)':>7}" for n in NOISES)
             + f"{'3->5->10 (a)':>15}{'(b)':>7}"]
    for k in KS:
        n_studies = studies if k < 24 else max(200, studies // 4)
        cells = []
        for kind in NOISES:
            null = LEVEL + noise(rng, n_studies, k, MAX_REPEATS, kind)
            edge = edge_means(k, margin)[None, :, None] + noise(rng, n_studies, k, MAX_REPEATS,
                                                                kind)
            a = any_look(raced(null, margin)[0], lambda c: c.settled.any(-1)).mean()
            b = any_look(raced(edge, margin)[0], wrongly_chosen).mean()
            cells.append(f"{a:>18.3f}{b:>7.3f}")
        null = LEVEL + noise(rng, n_studies, k, MAX_REPEATS, "independent")
        edge = edge_means(k, margin)[None, :, None] + noise(rng, n_studies, k, MAX_REPEATS,
                                                            "independent")
        spend = decisions.Spending(by_seeds=True)
        a = np.any([decisions.selection(null[..., :n], margin, spend).settled.any(-1)
                    for n in (3, 5, 10)], axis=0).mean()
        b = np.any([wrongly_chosen(decisions.selection(edge[..., :n], margin, spend))
                    for n in (3, 5, 10)], axis=0).mean()
        lines.append(f"  {k:>3} " + "".join(cells) + f"{a:>15.3f}{b:>7.3f}   ({n_studies})")
    return lines


def lead_means(k, lead):
    means = np.full(k, LEVEL + lead * SD)
    means[0] = LEVEL
    return means


def lab_grid(rng, studies, k, kind="independent"):
    """A realistic grid: the best, a few near it (0.5 sd worse: within the margin), the rest
    3-6 sds worse, and a few that diverge in 30% of their runs (to 4x the score).
    Returns (values, true means without divergence, near: within the margin of the best)."""
    means = LEVEL + SD * np.linspace(3, 6, k)
    near = max(1, k // 8)
    means[0], means[1:1 + near] = LEVEL, LEVEL + 0.5 * SD
    values = means[None, :, None] + noise(rng, studies, k, MAX_REPEATS, kind)
    diverging = list(range(k - max(0, k // 12), k)) if k >= 8 else []
    for j in diverging:
        blown = rng.random((studies, MAX_REPEATS)) < 0.3
        values[:, j] = np.where(blown, 4 * LEVEL, values[:, j])
    good = np.zeros(k, dtype=bool)
    good[:1 + near] = True
    return values, good


def selection_power(rng, studies, margin):
    """Rows: k; per scenario: the chance the race ends within MAX_REPEATS seeds with a settled
    selection whose #1 is a good choice (the best, or truly within the margin of it), and
    the mean seeds per configuration; for the leads, also the rule before selection (every
    row settled worse than #1, equal shares over 8 looks)."""
    lines = [f"  {'k':>3} {'lead 1 sd':>16}{'lead 2 sd':>16}{'lab grid':>16}"
             f"{'lab, shared':>16}{'before, 1 sd':>15}{'2 sd':>8}"]
    for k in KS:
        n_studies = studies if k < 24 else max(200, studies // 4)
        cells, before = [], []
        for lead in (1, 2):
            values = lead_means(k, lead)[None, :, None] + noise(rng, n_studies, k, MAX_REPEATS,
                                                                "independent")
            outcomes, seeds = raced(values, margin)
            right = last_look(outcomes, lambda c: c.settled_selection & (c.best == 0))
            cells.append(f"{right.mean():>9.3f} {seeds.mean():>5.1f}s")
            old = race.race(values, FIRST, race.leaderboard_rule, looks=MAX_REPEATS - FIRST + 1)
            settled, best = old.outcomes[-1]
            others = np.arange(k) != 0
            before.append(((best == 0) & (settled | ~others).all(-1)).mean())
        for kind in ("independent", "shared"):
            values, good = lab_grid(rng, n_studies, k, kind)
            outcomes, seeds = raced(values, margin)
            right = last_look(outcomes, lambda c, good=good: c.settled_selection & good[c.best])
            cells.append(f"{right.mean():>9.3f} {seeds.mean():>5.1f}s")
        lines.append(f"  {k:>3} " + "".join(f"{c:>16}" for c in cells)
                     + f"{before[0]:>15.3f}{before[1]:>8.3f}")
    return lines


def advice_honesty(rng, studies, margin):
    """k = 2, a plain 3-seed study, the better ahead by 0.5, 1 and 2 sds: the share of studies
    shown advice of N <= MAX_REPEATS seeds, and the share of those that N seeds settle (the
    advice promises 80% "if the difference held")."""
    k, n0 = 2, FIRST
    spend = decisions.Spending(by_seeds=True)
    lines = []
    for lead in (0.5, 1, 2):
        values = lead_means(k, lead)[None, :, None] + noise(rng, studies, k, MAX_REPEATS,
                                                            "independent")
        first = decisions.selection(values[..., :n0], margin, spend)
        p = first.versus.p
        shown = decided = 0
        for s in np.flatnonzero(~first.decided[:, 1]):
            diff, sd, delta = float(p.diff[s, 1]), float(p.sd[s, 1]), float(first.delta[s])
            boundary = 0.0 if diff >= delta / 2 else delta
            tip = decisions.advice(diff, sd, n0, 1 - float(first.g[s, 1]), boundary,
                                   error=lambda n: decisions.look_alpha(spend, decisions.ALPHA,
                                                                        n))
            if tip.seeds is None:
                continue
            shown += 1
            later = decisions.selection(values[s:s + 1, :, :tip.seeds], margin, spend)
            decided += bool(later.decided[0, 1])
        lines.append(f"  lead {lead} sd: advice shown to {shown / studies:.1%} of studies; "
                     f"settled at the advised seeds: {decided / max(1, shown):.1%}")
    return lines


def selection_tables(rng, studies):
    margin = DEFAULT_MARGIN
    print(f"\nselection (the race: {FIRST} seeds, a look after each new seed, up to "
          f"{MAX_REPEATS}; margin {margin:.0%} of #1's score = {margin * LEVEL / SD:.2f} sd; "
          f"alpha spent by seeds)")
    print("error rates, any look: (a) all equal, a row settled worse; (b) the others worse "
          "than the best by exactly the margin, one called equivalent or best, or the best "
          "called \"cannot be the best\"; last columns: looks at 3, 5 and 10 seeds by hand "
          "(a plain search, then more --repeats); studies per cell in brackets")
    print("\n".join(selection_errors(rng, studies, margin)))
    print("power: the race ends with a settled selection whose #1 is the best (or, in the lab "
          "grid, within the margin of it), and mean seeds per configuration; 'before': the "
          "rule this replaces (every row settled worse, Bonferroni over all pairs, equal shares "
          "over 8 looks)")
    print("\n".join(selection_power(rng, studies, margin)))
    print("advice after a plain 3-seed study (k = 2; it promises 80% if the difference held):")
    print("\n".join(advice_honesty(rng, studies, margin)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--selection-only", action="store_true",
                        help="only the selection's tables (the race's error rates and power)")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    se = math.sqrt(0.05 * 0.95 / args.studies)
    print(f"{args.studies} simulated studies per cell; runs 0.02 + N(0, 0.004^2); Monte Carlo "
          f"se {se:.4f} at a rate of 0.05; racing: {FIRST} seeds, then one more per open "
          f"configuration after each look up to {MAX_REPEATS} ({MAX_REPEATS - FIRST + 1} looks)")
    start = time.perf_counter()
    selection_tables(rng, args.studies)
    if args.selection_only:
        print(f"\n{time.perf_counter() - start:.0f} s")
        return
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
