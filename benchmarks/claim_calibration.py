"""Error rates of the claims' verdicts where the answer can be a tie, a claim has several
checks, or a configuration sometimes diverges, on simulated studies (no training):

    python benchmarks/claim_calibration.py [--studies 4000] [--seed 0]

Runs score 0.02 + noise of sd 0.004 (lab-mini's KID varies by about 15-20% of its mean from
one seed to the next), the noise independent, half of its variance a seed effect shared by
every configuration ("shared"), or Student t with 3 degrees of freedom scaled to that sd
("heavy"). The margin is DEFAULT_MARGIN (10%). It prints

1. `best` (and `better`, k = 2) when the claimed value is worse than another by exactly the
   margin: how often it is called tied or supported (each must be <= 5%);
2. `similar` (margin 20%) with two values exactly the margin apart and a seed effect shared
   by both (50%, 90%, 98% of the variance): "supported" when the margin is a number computed
   from the data (f x the mean of the sample means, as before) and with the per-seed
   contrast the decision now reads;
3. a claim of 4 `better` checks each at its boundary (equal configurations): the claim
   contradicted, with and without the checks sharing the 5%;
4. a configuration that beats another by 2 sds on its runs that do not diverge, but diverges
   in 30% of its runs (at 4x the score), so its mean is worse by 14%: how often it is called
   better or tied, without and with the divergence rule, beside the share of studies where
   none of its runs diverged (which nothing in the study tells from a reliable one);
5. the power of the tie: two equal configurations, and lab-mini's 2e-4 and 5e-4 after its
   race (a paired difference of sd 0.0006 at a KID of 0.024): how often "tied".

Monte Carlo standard error of a rate p: sqrt(p (1 - p) / studies), 0.0034 at p = 0.05 with
4000 studies. This script is not installed with the tool; run it from a checkout.
"""

import argparse
import math
import time

import numpy as np

from tuner.common.config import CLAIM_MARGIN, DEFAULT_MARGIN
from tuner.results import decisions

LEVEL, SD, F = 0.02, 0.004, DEFAULT_MARGIN
KS = (2, 4, 8, 24)
NS = (3, 5, 10)
NOISES = ("independent", "shared", "heavy")


def simulate(rng, studies, means, n, noise="independent"):
    """(studies, k, n) scores: `means` + noise of sd SD of the given kind."""
    means = np.asarray(means, dtype=np.float64)
    k = len(means)
    if noise == "heavy":
        e = rng.standard_t(3, (studies, k, n)) / math.sqrt(3)
    else:
        share = 0.5 if noise == "shared" else 0.0
        e = (rng.standard_normal((studies, 1, n)) * math.sqrt(share)
             + rng.standard_normal((studies, k, n)) * math.sqrt(1 - share))
    return means[None, :, None] + SD * e


def called(verdict):
    return np.isin(verdict, (decisions.TIED, decisions.SUPPORTED)).mean()


def edge_means(k):
    """The claimed value (0) worse than value 1 by exactly the margin; the rest equal to it."""
    means = np.full(k, (1 + F) * LEVEL)
    means[1] = LEVEL
    return means


def tie_errors(rng, studies):
    print(f"1. claimed value worse than another by exactly the margin ({F:.0%}): "
          f"called tied or supported (<= 5%)")
    print(f"{'check':<8}{'k':>4}{'noise':>13}" + "".join(f"{f'n={n}':>9}" for n in NS))
    for k in KS:
        for noise in NOISES:
            rates = [called(decisions.decide_best(simulate(rng, studies, edge_means(k), n, noise),
                                                  0, margin=F)[0]) for n in NS]
            print(f"{'best':<8}{k:>4}{noise:>13}" + "".join(f"{r:>9.3f}" for r in rates))
    for noise in NOISES:
        rates = []
        for n in NS:
            values = simulate(rng, studies, edge_means(2), n, noise)
            rates.append(called(decisions.decide_better(values[:, 0], values[:, 1], margin=F)[0]))
        print(f"{'better':<8}{2:>4}{noise:>13}" + "".join(f"{r:>9.3f}" for r in rates))


def plug_in_similar(values, fraction):
    """The rule before: TOST of d against +-f x the mean of the sample means, a number
    computed from the same data and then treated as fixed."""
    p = decisions.paired(values[..., 0, :], values[..., 1, :])
    margin = decisions.similar_margin(values, fraction)
    iv = decisions.interval(p, 2 * decisions.ALPHA)
    return (iv.low > -margin) & (iv.high < margin)


def similar_errors(rng, studies):
    print(f"\n2. similar (margin {CLAIM_MARGIN:.0%}), two values exactly the margin apart, a seed "
          f"effect shared by both: supported (<= 5%)")
    ns = NS + (20,)
    print(f"{'seed effect':<13}{'rule':<22}" + "".join(f"{f'n={n}':>9}" for n in ns))
    delta = CLAIM_MARGIN * LEVEL
    for share in (0.5, 0.9, 0.98):
        data = []
        for n in ns:
            e = (rng.standard_normal((studies, 1, n)) * math.sqrt(share)
                 + rng.standard_normal((studies, 2, n)) * math.sqrt(1 - share))
            data.append(np.array([LEVEL - delta / 2, LEVEL + delta / 2])[None, :, None] + SD * e)
        old = [plug_in_similar(v, CLAIM_MARGIN).mean() for v in data]
        new = [(decisions.decide_similar(v, CLAIM_MARGIN)[0] == decisions.SUPPORTED).mean()
               for v in data]
        print(f"{f'{share:.0%} of var':<13}{'margin from the data':<22}"
              + "".join(f"{r:>9.4f}" for r in old))
        print(f"{'':<13}{'per-seed contrast':<22}" + "".join(f"{r:>9.4f}" for r in new))


def several_checks(rng, studies):
    print("\n3. a claim of 4 better checks at their boundaries: contradicted (<= 5%)")
    print(f"{'checks share 5%':<18}" + "".join(f"{f'n={n}':>9}" for n in NS))
    for checks, label in ((1, "no"), (4, "yes (Bonferroni)")):
        rates = []
        for n in NS:
            values = simulate(np.random.default_rng(rng.integers(1 << 32)), studies,
                              [LEVEL] * 8, n, "shared")
            contradicted = np.zeros(studies, dtype=bool)
            for c in range(4):
                verdict, _ = decisions.decide_better(values[:, 2 * c], values[:, 2 * c + 1],
                                                     margin=F, checks=checks)
                contradicted |= verdict == decisions.CONTRADICTED
            rates.append(contradicted.mean())
        print(f"{label:<18}" + "".join(f"{r:>9.4f}" for r in rates))


def divergence(rng, studies, p=0.3):
    print(f"\n4. a configuration diverging in {p:.0%} of its runs (at 4x the score; its mean "
          f"worse by 14%), ahead by 2 sds otherwise: called better or tied")
    print(f"{'':<32}" + "".join(f"{f'n={n}':>9}" for n in NS))
    rows = {"without the divergence rule": [], "with it": [], "studies with no divergence": []}
    for n in NS:
        values = simulate(rng, studies, [LEVEL - 2 * SD, LEVEL], n)
        diverged = rng.random((studies, n)) < p
        values[:, 0] = np.where(diverged, 4 * values[:, 0], values[:, 0])
        prone = np.stack([diverged.any(-1), np.zeros(studies, dtype=bool)], axis=-1)
        rows["without the divergence rule"].append(
            called(decisions.decide_better(values[:, 0], values[:, 1], margin=F)[0]))
        rows["with it"].append(called(decisions.decide_better(values[:, 0], values[:, 1],
                                                              margin=F, prone=prone)[0]))
        rows["studies with no divergence"].append((~prone[:, 0]).mean())
    for label, rates in rows.items():
        print(f"{label:<32}" + "".join(f"{r:>9.3f}" for r in rates))


def tie_power(rng, studies):
    print("\n5. the power of the tie: tied")
    print(f"{'case':<44}" + "".join(f"{f'n={n}':>9}" for n in NS + (20, 30)))
    for noise in ("independent", "shared"):
        rates = [(decisions.decide_best(simulate(rng, studies, [LEVEL, LEVEL], n, noise), 0,
                                        margin=F)[0] == decisions.TIED).mean()
                 for n in NS + (20, 30)]
        print(f"{'two equal configurations, ' + noise:<44}" + "".join(f"{r:>9.3f}" for r in rates))
    rates = []
    for n in NS + (20, 30):
        seed = 0.003 * rng.standard_normal((studies, 1, n))
        values = 0.0243 + seed + 0.0004 * rng.standard_normal((studies, 2, n))
        values[:, 0] += 0.0001
        values[:, 1] -= 0.0001
        rates.append((decisions.decide_best(values, 0, margin=F)[0] == decisions.TIED).mean())
    print(f"{'lab-mini 2e-4 vs 5e-4 (d -0.0002, sd 0.0006)':<44}"
          + "".join(f"{r:>9.3f}" for r in rates))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--studies", type=int, default=4000)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()
    for part in (tie_errors, similar_errors, several_checks, divergence, tie_power):
        part(rng, args.studies)
    print(f"\n{args.studies} studies per cell; Monte Carlo se at 5%: "
          f"{math.sqrt(0.05 * 0.95 / args.studies):.4f}; {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
