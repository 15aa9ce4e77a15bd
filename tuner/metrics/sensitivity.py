"""Disturbance study: do FD, KID and SWD grow as real faces are disturbed, and do they
rank what a failed GAN makes below faces?

Following the TTUR paper (Heusel et al. 2017), each family of
``tuner.metrics.disturbances`` is applied to the real images at increasing levels and
the disturbed set is scored against the undisturbed one. A feature space is
fit for scoring generators only if its order is right: real faces below mild
below severe damage in every family (``monotone``), and every failure mode's
top level (noise of every kind, flat gray, collapse to one or a few faces,
non-face pictures) above every face-like sample, the mild levels of damage
that leaves the faces recognisable (``failure_order``). The network-free SWD
(``tuner.metrics.swd``) of the same pixels is checked the same way.

The comparison is paired: the disturbed set is made of the very images of the
reference set. At level 0 the two sets are identical, so FD is 0 and KID is
the unbiased MMD^2 estimate on two copies of one sample, which equals
``-2 (mean k(x, x) - mean k(x, x')) / m``: slightly negative, not 0. SWD
draws the same patches from both sets (same size, same seed), so it is
exactly 0 at level 0.
"""

from __future__ import annotations

import logging
from typing import Callable, Iterable

import numpy as np

from tuner.common.config import ScoringConfig
from tuner.data.face_sets import load_faces
from tuner.data.images import from_uint8, to_uint8
from tuner.metrics import swd
from tuner.metrics.distances import frechet_distance, kernel_distance
from tuner.metrics.disturbances import FACE_LIKE, FAILURES, FAMILIES, LEVELS, MILD_LEVELS
from tuner.metrics.features import get_extractor

log = logging.getLogger(__name__)

__all__ = ["disturbance_study", "failure_order", "format_study", "format_table", "monotone",
           "order_right", "validate_metric"]

METRICS = ("fd", "kid", "swd")

# Slack for the step out of level 0 only: level 0 compares a set with itself,
# so its value is estimator noise around the true 0 (rounding for FD, the
# negative paired-sample term for KID), and the first disturbed level only has
# to reach it, give or take rounding. Every later step must increase strictly.
LEVEL0_TOLERANCE = 1e-9
# validate_metric's resolution when neither --size nor the scoring config set one.
DEFAULT_VALIDATION_SIZE = 64


def disturbance_study(images: np.ndarray, extractor: Callable[[np.ndarray], np.ndarray],
                      levels: Iterable[float] = LEVELS, families: Iterable[str] | None = None,
                      seed: int = 0, on_row: Callable[[dict], None] | None = None,
                      kid_subsets: int | None = None, kid_subset_size: int | None = None,
                      swd_options: dict | None = None) -> list[dict]:
    """FD, KID and SWD between disturbed and undisturbed real images, per family and level.

    Each image set is quantised (``to_uint8``), disturbed, and mapped back
    (``from_uint8``) before feature extraction; the reference features of the
    undisturbed images are computed once. Every level of a family uses the
    same ``seed``, so levels differ in strength only.

    Args:
        images: Real images, float (N, S, S, 1) in [-1, 1].
        extractor: Callable (N, S, S, 1) floats -> (N, D) features, e.g.
            ``tuner.metrics.features.get_extractor("onet")``.
        levels: Strengths in [0, 1].
        families: Names from ``tuner.metrics.disturbances.FAMILIES``; all if None.
        seed: Seed of the disturbances and of the KID subsets.
        on_row: Called with each row as soon as it is computed (progress).
        kid_subsets: Number of KID subsets (as the scoring protocol); None: KID
            over all samples at once (`tuner.metrics.distances.all_pairs_kid`).
        kid_subset_size: Largest KID subset size (cut to N); with subsets only.
        swd_options: ``tuner.metrics.swd.set_slices`` settings (count, projections,
            seed); its defaults if None.

    Returns:
        Rows ``{"family", "level", "fd", "kid", "kid_std", "swd", "swd_levels"}``,
        family by family in the given order, levels in the given order.

    Raises:
        ValueError: Unknown family name or images of the wrong shape.
    """
    names = list(FAMILIES) if families is None else list(families)
    unknown = [name for name in names if name not in FAMILIES]
    if unknown:
        raise ValueError(f"unknown disturbance families {unknown}; choose from {list(FAMILIES)}")
    pixels = _pixels(images)
    swd_options = swd_options or {}
    reference = (extractor(from_uint8(pixels)[..., np.newaxis]),
                 swd.set_slices(from_uint8(pixels), **swd_options))
    rows = []
    for family in names:
        for level in levels:
            disturbed = FAMILIES[family](pixels, float(level), seed=seed)
            row = _row(family, float(level), reference, _measured(disturbed, extractor, swd_options),
                       dict(subsets=kid_subsets, subset_size=kid_subset_size, seed=seed))
            log.debug("disturbance %s level %.2f: FD %.4g, KID %.4g, SWD %.4g", family, level,
                      row["fd"], row["kid"], row["swd"])
            rows.append(row)
            if on_row is not None:
                on_row(row)
    return rows


def validate_metric(real, scoring=None, size: int | None = None,
                    on_row: Callable[[dict], None] | None = None) -> dict:
    """Run the disturbance study on the real faces (``score --validate``).

    Args:
        real: A ``tuner.common.config.DataConfig`` (data, person, crop) of the real faces.
        scoring: A ``tuner.common.config.ScoringConfig`` (feature network, weights,
            KID subsets); the default config if None.
        size: Evaluation resolution; else ``scoring.eval_size``, else 64.
        on_row: Called with each row as soon as it is computed (progress).

    Returns:
        The study: ``data``, ``images``, ``size``, ``features``, ``preprocessing``,
        ``rows`` (``disturbance_study``), ``monotone``, ``failures``
        (``failure_order``) and ``order_right`` (``order_right``); JSON-ready,
        and ``format_study`` makes it a text table.

    Raises:
        UsageError: Bad data or feature flags (from loading or the extractor).
    """
    scoring = scoring or ScoringConfig()
    size = size or scoring.eval_size or DEFAULT_VALIDATION_SIZE
    faces = load_faces(real.data, person=real.person, crop=real.crop)
    extractor = get_extractor(scoring.features, scoring.features_weights)
    rows = disturbance_study(faces.at_size(size), extractor, on_row=on_row,
                             kid_subsets=scoring.kid_subsets,
                             kid_subset_size=scoring.kid_subset_size,
                             swd_options=dict(count=scoring.swd_descriptors,
                                              projections=scoring.swd_projections,
                                              seed=scoring.swd_seed))
    flags, failures = monotone(rows), failure_order(rows)
    return {"data": faces.name, "images": len(faces), "size": size, "features": extractor.name,
            "preprocessing": extractor.preprocessing, "rows": rows, "monotone": flags,
            "failures": failures, "order_right": order_right(flags, failures)}


def format_study(study: dict) -> str:
    """``validate_metric``'s study as text: a header, the rows, the failure-mode order."""
    header = (f"disturbance study: {study['data']} ({study['images']} images) at "
              f"{study['size']}x{study['size']}, features {study['features']} "
              f"[{study['preprocessing']}]")
    return "\n\n".join([header + "\n" + format_table(study["rows"], study["monotone"]),
                        format_failures(study["failures"], study["order_right"])])


def _pixels(images) -> np.ndarray:
    """(N, S, S, 1) floats in [-1, 1] -> (N, S, S) uint8."""
    array = np.asarray(images)
    if array.ndim != 4 or array.shape[-1] != 1:
        raise ValueError(f"images must have shape (N, S, S, 1), got {array.shape}")
    return to_uint8(array[..., 0])


def _measured(pixels: np.ndarray, extractor, swd_options: dict) -> tuple:
    """(features, SWD slices) of (N, S, S) uint8 images."""
    images = from_uint8(pixels)
    return extractor(images[..., np.newaxis]), swd.set_slices(images, **swd_options)


def _row(family: str, level: float, reference: tuple, measured: tuple, kid_options: dict) -> dict:
    """One result row: FD, KID and SWD of `measured` against `reference` (features, slices)."""
    kid, kid_std = kernel_distance(reference[0], measured[0], **kid_options)
    return {"family": family, "level": level, "fd": frechet_distance(reference[0], measured[0]),
            "kid": kid, "kid_std": kid_std, **swd.distance(reference[1], measured[1])}


def monotone(rows: Iterable[dict]) -> dict[str, dict[str, bool]]:
    """Whether FD, KID and SWD increase with the level, per family.

    Rule: with a family's rows sorted by level, every step between two
    disturbed levels must increase strictly. The step out of level 0 may
    not decrease by more than ``LEVEL0_TOLERANCE``: level 0 compares a set
    with itself, so its value is estimator noise around the true 0 (KID there
    is slightly negative by construction), and a disturbance that really
    changes the features lands far above it anyway.

    Args:
        rows: Rows as returned by ``disturbance_study``.

    Returns:
        ``{family: {"fd": bool, "kid": bool, "swd": bool}}`` in first-seen
        family order (``swd`` only when the rows carry it).
    """
    by_family: dict[str, list[dict]] = {}
    for row in rows:
        by_family.setdefault(row["family"], []).append(row)
    flags = {}
    for family, family_rows in by_family.items():
        ordered = sorted(family_rows, key=lambda row: row["level"])
        flags[family] = {metric: _increasing(ordered, metric) for metric in METRICS
                         if metric in ordered[0]}
    return flags


def _increasing(ordered: list[dict], metric: str) -> bool:
    """Strictly increasing values of `metric`, with the level-0 slack of `monotone`."""
    for before, after in zip(ordered, ordered[1:]):
        if before["level"] == 0:
            rises = after[metric] >= before[metric] - LEVEL0_TOLERANCE
        else:
            rises = after[metric] > before[metric]
        if not rises:
            return False
    return True


def failure_order(rows: Iterable[dict]) -> dict:
    """Whether each failure mode scores worse than every face-like sample, per metric.

    Face-like samples: the ``MILD_LEVELS`` of the ``FACE_LIKE`` families; failure
    modes: the top level of each ``FAILURES`` family (only those the rows hold).

    Args:
        rows: Rows as returned by ``disturbance_study``.

    Returns:
        ``{"face_like": {metric: worst row}, "modes": {family: {"level", metric:
        value, metric + "_right": bool}}}``; ``face_like`` is empty (and every
        mode's verdict None) when the rows hold no face-like sample. A worst row
        is ``{"family", "level", "value"}``.
    """
    rows = list(rows)
    metrics = [metric for metric in METRICS if rows and metric in rows[0]]
    face_like = [row for row in rows if row["family"] in FACE_LIKE and row["level"] in MILD_LEVELS]
    worst = {metric: _worst(face_like, metric) for metric in metrics} if face_like else {}
    modes = {}
    for family in dict.fromkeys(row["family"] for row in rows if row["family"] in FAILURES):
        top = max((row for row in rows if row["family"] == family), key=lambda row: row["level"])
        modes[family] = {"level": top["level"]}
        for metric in metrics:
            modes[family][metric] = top[metric]
            modes[family][metric + "_right"] = (top[metric] > worst[metric]["value"]
                                                if worst else None)
    return {"face_like": worst, "modes": modes}


def _worst(rows: list[dict], metric: str) -> dict:
    row = max(rows, key=lambda row: row[metric])
    return {"family": row["family"], "level": row["level"], "value": row[metric]}


def order_right(flags: dict, failures: dict) -> dict[str, bool]:
    """Per metric: every family monotone and every failure mode worse than every face."""
    metrics = {metric for family in flags.values() for metric in family}
    return {metric: all(family[metric] for family in flags.values())
            and all(mode.get(metric + "_right") is not False for mode in failures["modes"].values())
            for metric in METRICS if metric in metrics}


def format_failures(failures: dict, right: dict[str, bool]) -> str:
    """The failure modes' top levels against the worst face-like sample, and the verdict."""
    worst = failures["face_like"]
    metrics = [metric for metric in METRICS if metric in worst]
    lines = [f"failure modes (top level) against the worst face-like sample (levels "
             f"{' and '.join(f'{level:g}' for level in MILD_LEVELS)} of {', '.join(FACE_LIKE)}); "
             f"x faces: the failure's score over the worst face's; worse: above it, as it should",
             f"{'family':<16}{'level':>6}" + "".join(f"{m.upper():>11}{'x faces':>8}{'worse':>6}"
                                                     for m in metrics)]
    lines.append("-" * len(lines[1]))
    lines.append(f"{'worst face-like':<22}" + "".join(f"{worst[m]['value']:>11.4g}{'':>14}"
                                                     for m in metrics))
    lines.append(f"{'  which':<22}" + "".join(
        f"{worst[m]['family'] + ' ' + format(worst[m]['level'], 'g'):>17}{'':>8}" for m in metrics))
    for family, mode in failures["modes"].items():
        lines.append(f"{family:<16}{mode['level']:>6.2f}" + "".join(
            f"{mode[m]:>11.4g}{_ratio(mode[m], worst[m]['value']):>8}"
            f"{_yes(mode[m + '_right']):>6}" for m in metrics))
    lines.append("ORDER RIGHT (monotone, and every failure worse than every face): " + "   ".join(
        f"{metric.upper()} {_yes(flag)}" for metric, flag in right.items()))
    return "\n".join(lines)


def _ratio(value: float, worst: float) -> str:
    return f"{value / worst:.1f}x" if worst > 0 else "-"


def format_table(rows: Iterable[dict], flags: dict[str, dict[str, bool]]) -> str:
    """A text table of the study, with a MONOTONE line after each family.

    Args:
        rows: Rows as returned by ``disturbance_study`` (the SWD column only
            when they carry ``swd``).
        flags: ``monotone(rows)``.

    Returns:
        The table, lines joined by newlines (no trailing newline).
    """
    rows = list(rows)
    with_swd = bool(rows) and "swd" in rows[0]
    lines = [f"{'family':<14}{'level':>6}{'FD':>12}   {'KID ± std':<22}"
             + (f"{'SWD':>10}" if with_swd else "")]
    family = None
    for index, row in enumerate(rows):
        if row["family"] != family:
            family = row["family"]
            lines.append("-" * len(lines[0]))
        lines.append(f"{row['family']:<14}{row['level']:>6.2f}{row['fd']:>12.4f}   "
                     f"{row['kid']:>9.5f} ± {row['kid_std']:.5f}"
                     + (f"{row['swd']:>13.2f}" if with_swd else ""))
        last_of_family = index + 1 == len(rows) or rows[index + 1]["family"] != family
        if last_of_family and family in flags:
            lines.append(f"{'':<14}MONOTONE  " + "   ".join(
                f"{metric.upper()} {_yes(flag)}" for metric, flag in flags[family].items()))
    return "\n".join(lines)


def _yes(flag: bool) -> str:
    return "yes" if flag else "NO"
