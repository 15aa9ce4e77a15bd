"""The eye's numbers: preference scores from blind pairwise choices, fooled rates, and how often
each metric orders two configurations as the eye does. Pure numpy/scipy, float64. No TF.

A pairwise judgement shows grids of two configurations side by side and records which looks
better, or "can't tell"; a face judgement shows one face, real or generated, and records which
the judge takes it for. Both come from eye.json (tuner.results.eye_file).
"""

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

Z95 = float(stats.norm.ppf(0.975))  # 1.959964
# Each configuration plays this many virtual ties with a reference of strength 1 (theta 0):
# a weak prior that keeps the estimate finite for one that won (or lost) every choice.
PRIOR_TIES = 1.0
MM_TOLERANCE = 1e-10
MM_ITERATIONS = 10_000
EYE_METRICS = ("kid", "fd", "swd")


@dataclass(frozen=True)
class Preference:
    """Bradley-Terry log-strengths, centred to mean 0 (higher: preferred by the eye), their
    covariance, and each configuration's 95% interval (observed information)."""

    ids: tuple
    theta: np.ndarray       # (k,)
    cov: np.ndarray         # (k, k), of the centred theta
    low: np.ndarray
    high: np.ndarray
    games: np.ndarray       # (k,) choices each configuration took part in (ties included)

    def of(self, trial_id):
        """{"score", "low", "high", "choices"} of one configuration, or None if not compared."""
        if trial_id not in self.ids:
            return None
        i = self.ids.index(trial_id)
        return {"score": float(self.theta[i]), "low": float(self.low[i]),
                "high": float(self.high[i]), "choices": int(self.games[i])}

    def difference(self, weights):
        """(d, se) of the linear combination d = w . theta, se = sqrt(w' C w)."""
        w = np.asarray(weights, np.float64)
        return float(w @ self.theta), float(math.sqrt(max(0.0, w @ self.cov @ w)))


def win_matrix(ids, choices):
    """(W, N): W[i, j] the wins of i over j with each tie counted as half a win to both, and
    N[i, j] = N[j, i] the choices between i and j. `choices`: (a, b, outcome) with outcome 1
    (a preferred), 0 (b preferred) or 0.5 (can't tell)."""
    index = {trial: i for i, trial in enumerate(ids)}
    k = len(ids)
    wins, games = np.zeros((k, k)), np.zeros((k, k))
    for a, b, outcome in choices:
        i, j = index[a], index[b]
        wins[i, j] += outcome
        wins[j, i] += 1.0 - outcome
        games[i, j] += 1.0
        games[j, i] += 1.0
    return wins, games


def bradley_terry(ids, choices, prior_ties=PRIOR_TIES):
    """Bradley-Terry strengths by Hunter's (2004) MM algorithm, ties as half a win each.

    Model: P(i preferred to j) = p_i / (p_i + p_j) = 1 / (1 + exp(theta_j - theta_i)).
    With W_i = sum_j W_ij the wins of i and N_ij the choices between i and j, and
    `prior_ties` virtual ties against a reference of strength p_0 = 1 (c = prior_ties),
    the MM update is

        p_i <- (W_i + c/2) / (sum_j N_ij / (p_i + p_j) + c / (p_i + 1)),

    which increases the (penalised) log-likelihood
    L = sum_ij W_ij log(p_i / (p_i + p_j)) + c/2 sum_i log(p_i p_0 / (p_i + p_0)^2)
    at every step. With c = 0 it is plain maximum likelihood (finite only if the choices
    connect every configuration both ways); p is then scaled to geometric mean 1.

    Intervals: the observed information in theta = log p is
    I_ii = sum_j N_ij pi_ij (1 - pi_ij) + c pi_i0 (1 - pi_i0), I_ij = -N_ij pi_ij (1 - pi_ij);
    theta is reported centred (mean 0), its covariance C = P I^+ P with P = 1 - 11'/k, and
    theta_i +- 1.96 sqrt(C_ii) is its 95% Wald interval.
    """
    ids = tuple(ids)
    wins, games = win_matrix(ids, choices)
    k = len(ids)
    if k == 0:
        return Preference(ids, *(np.zeros(0) for _ in range(2)), np.zeros(0), np.zeros(0),
                          np.zeros(0))
    total = wins.sum(axis=1) + prior_ties / 2
    p = np.ones(k)
    for _ in range(MM_ITERATIONS):
        denominator = (games / (p[:, None] + p[None, :])).sum(axis=1) + prior_ties / (p + 1.0)
        new = np.where(denominator > 0, total / np.where(denominator > 0, denominator, 1), p)
        if prior_ties == 0:
            new = new / math.exp(np.mean(np.log(new)))
        done = np.max(np.abs(np.log(new) - np.log(p))) < MM_TOLERANCE
        p = new
        if done:
            break
    theta = np.log(p)
    pair = 1.0 / (1.0 + np.exp(theta[None, :] - theta[:, None]))  # pi_ij
    info = -games * pair * (1.0 - pair)
    np.fill_diagonal(info, 0.0)
    reference = 1.0 / (1.0 + np.exp(-theta))
    np.fill_diagonal(info, -info.sum(axis=1) + prior_ties * reference * (1.0 - reference))
    centre = np.eye(k) - 1.0 / k
    cov = centre @ np.linalg.pinv(info) @ centre
    theta = theta - theta.mean()
    half = Z95 * np.sqrt(np.clip(np.diag(cov), 0.0, None))
    return Preference(ids, theta, cov, theta - half, theta + half, games.sum(axis=1))


def wilson(successes, trials, z=Z95):
    """(rate, low, high): the share k/n and its Wilson score interval,
    (k + z^2/2 +- z sqrt(k (n - k) / n + z^2 / 4)) / (n + z^2); (None, None, None) for n = 0."""
    if trials == 0:
        return None, None, None
    k, n = float(successes), float(trials)
    centre = (k + z * z / 2) / (n + z * z)
    half = z * math.sqrt(k * (n - k) / n + z * z / 4) / (n + z * z)
    return k / n, max(0.0, centre - half), min(1.0, centre + half)


def fooled_rates(faces):
    """{trial: {"fooled", "low", "high", "judged_real", "faces"}}: the share of a configuration's
    generated faces the eye took for real, with its Wilson 95% interval (HYPE's score: 50%
    means the eye cannot tell them from real ones); key None: the real faces judged real.
    `faces`: (trial or None for a real face, answered "real"?)."""
    counts = {}
    for trial, real in faces:
        seen = counts.setdefault(trial, [0, 0])
        seen[0] += bool(real)
        seen[1] += 1
    out = {}
    for trial, (k, n) in counts.items():
        rate, low, high = wilson(k, n)
        out[trial] = {"fooled": rate, "low": low, "high": high, "judged_real": k, "faces": n}
    return out


def agreement(choices, scores, metric):
    """How often `metric` (lower is better) orders two configurations as the eye chose:
    {"agree", "decided", "rate", "low", "high"}, Wilson 95% interval. Only decided choices
    count (not "can't tell"), and only pairs where both have a score that differs.
    `choices`: (a, b, outcome) as in `win_matrix`; `scores`: {trial: {metric: value}}."""
    agree = decided = 0
    for a, b, outcome in choices:
        if outcome == 0.5:
            continue
        x, y = (scores.get(a) or {}).get(metric), (scores.get(b) or {}).get(metric)
        if x is None or y is None or x == y or not (math.isfinite(x) and math.isfinite(y)):
            continue
        decided += 1
        agree += (x < y) == (outcome == 1)
    rate, low, high = wilson(agree, decided)
    return {"metric": metric, "agree": agree, "decided": decided, "rate": rate, "low": low,
            "high": high}


def summary(judgements, scores):
    """All the eye's numbers from `judgements` (eye.json's, undone ones left out) and the
    configurations' `scores` ({trial: {"kid": .., "fd": .., "swd": ..}}): the preference
    (`Preference`), the fooled rates, each metric's agreement, and counts."""
    kept = [j for j in judgements if not j.get("undone")]
    choices = [(j["left"], j["right"], {"left": 1.0, "right": 0.0, "tie": 0.5}[j["answer"]])
               for j in kept if j.get("task") == "pair"]
    faces = [(j.get("trial"), j["answer"] == "real") for j in kept if j.get("task") == "face"]
    ids = sorted({t for a, b, _ in choices for t in (a, b)}, key=_trial_key)
    return {"preference": bradley_terry(ids, choices), "fooled": fooled_rates(faces),
            "agreement": [agreement(choices, scores, m) for m in EYE_METRICS],
            "pairs": len(choices), "ties": sum(o == 0.5 for _, _, o in choices),
            "faces": len(faces), "judges": sorted({j.get("judge") or "" for j in kept} - {""})}


def _trial_key(trial):
    return (0, int(trial), "") if str(trial).isdigit() else (1, 0, str(trial))


# --- agreement at the run level: the score of the very run whose grid the judge saw ---------

NETWORK_FREE = "pixels"  # SWD's row: it compares pixel patches, no network
OUTCOME = {"left": 1.0, "right": 0.0, "tie": 0.5}


def run_key(trial, run):
    """A run's key in the rescored numbers: "<trial>/<run>"."""
    return f"{trial}/{run}"


@dataclass(frozen=True)
class RunChoice:
    """One kept pair judgement at the run level: the runs shown (left a, right b), the
    outcome (1 left preferred, 0 right, 0.5 can't tell), the judge."""

    a: str
    b: str
    outcome: float
    judge: str
    trials: tuple  # (left trial, right trial)


def run_choices(judgements):
    """The kept (not undone) pair judgements that name their runs, as `RunChoice`s; older
    judgements without `runs` are left out."""
    out = []
    for j in judgements:
        runs = j.get("runs")
        if j.get("undone") or j.get("task") != "pair" or not (isinstance(runs, list)
                                                               and len(runs) == 2):
            continue
        out.append(RunChoice(run_key(j["left"], runs[0]), run_key(j["right"], runs[1]),
                             OUTCOME[j["answer"]], j.get("judge") or "", (j["left"], j["right"])))
    return out


def judged_runs(judgements):
    """The runs shown in kept pair judgements, sorted: (trial, run number) pairs."""
    keys = {k for c in run_choices(judgements) for k in (c.a, c.b)}
    runs = [(trial, int(run)) for trial, run in (k.rsplit("/", 1) for k in keys)
            if run.lstrip("-").isdigit()]
    return sorted(runs, key=lambda tr: (_trial_key(tr[0]), tr[1]))


def run_agreement(choices, rescored, metric):
    """`agreement` of `metric` at the run level: `rescored` {run key: {metric: value}}."""
    return agreement([(c.a, c.b, c.outcome) for c in choices], rescored, metric)


def judges_agreement(choices):
    """How often two judges chose the same side of the same pair, the ceiling a score can
    reach: {"level", "agree", "compared", "rate", "low", "high"}, Wilson 95% interval.

    Each judge's first decided answer (not "can't tell") to a pair is set against every other
    judge's first decided answer to it; a pair is the same two runs in either order
    ("runs"), or, when no two judges ever saw the same two runs, the same two configurations
    ("configurations"). One comparison per pair and two judges: agree when both preferred
    the same run (configuration)."""
    for level in ("runs", "configurations"):
        first = {}  # pair -> {judge: the preferred one}
        for c in choices:
            if c.outcome == 0.5:
                continue
            a, b = (c.a, c.b) if level == "runs" else c.trials
            if a == b:
                continue
            first.setdefault(frozenset((a, b)), {}).setdefault(
                c.judge, a if c.outcome == 1.0 else b)
        compared = agree = 0
        for picks in first.values():
            chosen = list(picks.values())
            for i in range(len(chosen)):
                for k in range(i + 1, len(chosen)):
                    compared += 1
                    agree += chosen[i] == chosen[k]
        if compared:
            break
    rate, low, high = wilson(agree, compared)
    return {"level": level, "agree": agree, "compared": compared, "rate": rate, "low": low,
            "high": high}


def agreement_table(judgements, rescores, metrics=("kid", "fd"), networks=None):
    """Each network's agreement with the eye at the run level, pooled and per judge, SWD's
    (network-free), the judges' agreement with each other, and what was left out.

    `rescores`: eye_file.read_rescores' {"runs": {run key: {"swd": v, network: {"kid": v,
    "fd": v}}}, "missing": [run keys without final samples]}. Returns {"rows": [{"network",
    "metric", "judge" (None: pooled), "agree", "decided", "rate", "low", "high"}] (networks
    in the order of `networks`, else by name),
    "judges_agree": `judges_agreement`, "runs", "missing", "choices", "decided"}."""
    choices = run_choices(judgements)
    runs = rescores.get("runs") or {}
    held = {n for numbers in runs.values() for n, v in numbers.items() if isinstance(v, dict)}
    networks = [n for n in networks if n in held] if networks else sorted(held)
    judges = sorted({c.judge for c in choices})
    columns = [(n, m, {k: (v.get(n) or {}).get(m) for k, v in runs.items()
                       if isinstance(v.get(n), dict)}) for n in networks for m in metrics]
    columns.append((NETWORK_FREE, "swd", {k: v.get("swd") for k, v in runs.items()}))
    rows = []
    for network, metric, values in columns:
        scores = {k: {metric: float(v)} for k, v in values.items()
                  if isinstance(v, (int, float)) and not isinstance(v, bool)}
        for judge in [None, *judges]:
            mine = [c for c in choices if judge is None or c.judge == judge]
            rows.append({"network": network, "judge": judge,
                         **run_agreement(mine, scores, metric)})
    missing = set(rescores.get("missing") or ())
    return {"rows": rows, "judges_agree": judges_agreement(choices),
            "runs": len({k for c in choices for k in (c.a, c.b)}),
            "missing": len(missing),
            "choices": len(choices), "decided": sum(c.outcome != 0.5 for c in choices),
            "decided_without_samples": sum(c.outcome != 0.5 and bool({c.a, c.b} & missing)
                                           for c in choices)}
