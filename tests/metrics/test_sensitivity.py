"""Tests of tuner.metrics.sensitivity: do FD, KID and SWD grow with disturbance? (no TF)"""

import json

import numpy as np
import pytest

from tuner.metrics.disturbances import FACE_LIKE, FAILURES, FAMILIES, LEVELS, MILD_LEVELS
from tuner.metrics.sensitivity import (
    disturbance_study,
    failure_order,
    format_failures,
    format_study,
    format_table,
    monotone,
    order_right,
)


class ProjectionExtractor:
    """A fast stand-in for a network: a fixed random projection of the pixels."""

    def __init__(self, size, dim=16):
        self.weights = np.random.default_rng(42).normal(size=(size * size, dim))

    def __call__(self, images):
        flat = np.asarray(images, dtype=np.float64).reshape(len(images), -1)
        return np.tanh(flat @ self.weights / 8)


def test_study_rows(faces32):
    seen = []
    extractor = ProjectionExtractor(32)
    rows = disturbance_study(faces32, extractor, on_row=seen.append, swd_options=dict(count=2048))
    assert len(rows) == len(FAMILIES) * len(LEVELS) and seen == rows
    assert [(row["family"], row["level"]) for row in rows] == \
        [(family, level) for family in FAMILIES for level in LEVELS]
    for row in rows:
        assert set(row) == {"family", "level", "fd", "kid", "kid_std", "swd", "swd_levels"}
        assert list(row["swd_levels"]) == ["32", "16"]
        if row["level"] == 0:
            assert row["swd"] == 0.0  # the same patches of the same images
            # A set against itself: FD is 0; KID's unbiased estimate on two
            # copies of one sample is -2 (mean k(x, x) - mean k(x, x')) / m.
            assert row["fd"] == pytest.approx(0, abs=1e-9)
            assert row["kid"] == pytest.approx(_kid_of_sample_with_itself(extractor(faces32)))
        else:
            assert row["fd"] > 0 and row["swd"] > 0
    flags = monotone(rows)
    assert set(flags) == set(FAMILIES)
    # SWD compares local patch statistics: on these 40 faces at 32x32 the swirl's bilinear
    # resampling blurs the finest level at every strength (with 4096 patches SWD_32 is 114,
    # 85, 52, 44 over the levels) while only the coarse level grows. At 64x64 on 100 faces
    # it is monotone too.
    assert {family for family in FAMILIES if not flags[family]["swd"]} == {"swirl"}, flags


def _kid_of_sample_with_itself(features):
    m, dim = features.shape
    kernel = (features @ features.T / dim + 1) ** 3
    mean_self = np.trace(kernel) / m
    mean_other = (kernel.sum() - np.trace(kernel)) / (m * (m - 1))
    return -2 * (mean_self - mean_other) / m


def test_study_subset_of_families_and_unknown_family(faces32):
    rows = disturbance_study(faces32, ProjectionExtractor(32), levels=(0.0, 1.0), families=["blur"])
    assert [(row["family"], row["level"]) for row in rows] == [("blur", 0.0), ("blur", 1.0)]
    with pytest.raises(ValueError, match="jpeg"):
        disturbance_study(faces32, ProjectionExtractor(32), families=["jpeg"])


def _rows(family, fds, kids):
    return [{"family": family, "level": level, "fd": fd, "kid": kid, "kid_std": 0.0}
            for level, fd, kid in zip(LEVELS, fds, kids)]


def test_monotone_rule():
    rows = (_rows("up", [0, 1, 2, 3, 4], [-0.001, 0.01, 0.02, 0.03, 0.04])
            + _rows("fd_dip", [0, 1, 3, 2, 4], [0, 1, 2, 3, 4])
            + _rows("kid_flat", [0, 1, 2, 3, 4], [0, 1, 2, 2, 4])
            + _rows("level0_tie", [0, 0, 1, 2, 3], [-0.001, -0.001, 1, 2, 3])
            + _rows("below_level0", [0, 1, 2, 3, 4], [0.0, -0.01, 1, 2, 3]))
    flags = monotone(list(reversed(rows)))  # row order does not matter
    assert flags["up"] == {"fd": True, "kid": True}
    assert flags["fd_dip"] == {"fd": False, "kid": True}
    assert flags["kid_flat"] == {"fd": True, "kid": False}
    assert flags["level0_tie"] == {"fd": True, "kid": True}
    assert flags["below_level0"] == {"fd": True, "kid": False}


def test_format_table():
    rows = _rows("noise", [0, 1, 2, 3, 4], [0, 1, 2, 3, 4]) + \
        _rows("blur", [0, 1, 3, 2, 4], [0, 1, 2, 3, 4])
    table = format_table(rows, monotone(rows))
    assert "noise" in table and "blur" in table and "±" in table
    monotone_lines = [line for line in table.splitlines() if "MONOTONE" in line]
    assert monotone_lines[0].split() == ["MONOTONE", "FD", "yes", "KID", "yes"]
    assert monotone_lines[1].split() == ["MONOTONE", "FD", "NO", "KID", "yes"]
    assert "SWD" not in table


def test_format_table_with_swd():
    rows = [{**row, "swd": swd} for row, swd in zip(_rows("blur", [0, 1, 2, 3, 4], [0, 1, 2, 3, 4]),
                                                    [0.0, 5.0, 4.0, 6.0, 7.0])]
    flags = monotone(rows)
    assert flags == {"blur": {"fd": True, "kid": True, "swd": False}}
    table = format_table(rows, flags).splitlines()
    assert table[0].split()[-1] == "SWD" and table[3].split()[-1] == "5.00"
    assert table[-1].split() == ["MONOTONE", "FD", "yes", "KID", "yes", "SWD", "NO"]


def test_validate_metric_uses_the_configs(monkeypatch):
    from tuner.common.config import DataConfig, ScoringConfig
    from tuner.metrics import sensitivity
    from tuner.metrics.sensitivity import validate_metric

    asked = []

    def fake_get_extractor(name, weights=None):
        asked.append((name, weights))
        extractor = ProjectionExtractor(16)
        extractor.name, extractor.preprocessing = "fake", "none"
        return extractor

    monkeypatch.setattr(sensitivity, "get_extractor", fake_get_extractor)
    rows = []
    scoring = ScoringConfig(features="fer", kid_subsets=3, swd_descriptors=1024)
    study = validate_metric(DataConfig(), scoring, size=16, on_row=rows.append)
    assert asked == [("fer", None)] and study["rows"] == rows
    assert len(rows) == len(FAMILIES) * len(LEVELS)
    assert (study["data"], study["images"], study["size"], study["features"]) == (
        "lfw-subset", 100, 16, "fake")
    assert study["monotone"] == monotone(rows) and study["failures"] == failure_order(rows)
    assert study["order_right"] == order_right(study["monotone"], study["failures"])
    json.dumps(study)  # --format json prints it as it is
    table = format_study(study)
    assert table.splitlines()[0] == "disturbance study: lfw-subset (100 images) at 16x16, " \
                                    "features fake [none]"
    assert all(family in table for family in FAMILIES)
    assert table.splitlines()[-1].startswith("ORDER RIGHT (monotone, and every failure worse")


# --- the failure modes against the face-like samples ---


def _row(family, level, fd, kid, swd=None):
    row = {"family": family, "level": level, "fd": fd, "kid": kid, "kid_std": 0.0}
    return row if swd is None else {**row, "swd": swd}


def _order_rows():
    """Face-like rows whose worst is blur 0.5 by FD (4.0) and downsample 0.25 by KID (0.04)."""
    return [_row("blur", 0.0, 0.0, 0.0), _row("blur", 0.25, 1.0, 0.01), _row("blur", 0.5, 4.0, 0.03),
            _row("blur", 1.0, 99.0, 9.0),  # a severe level: not face-like
            _row("downsample", 0.25, 2.0, 0.04), _row("downsample", 0.5, 3.0, 0.02),
            _row("swirl", 0.5, 50.0, 5.0),  # not a face-like family
            _row("collapse", 0.5, 0.1, 0.001), _row("collapse", 1.0, 5.0, 0.03),
            _row("checkerboard", 1.0, 4.0, 0.5)]


def test_failure_order_compares_each_failures_top_level_with_the_worst_face():
    order = failure_order(_order_rows())
    assert order["face_like"] == {"fd": {"family": "blur", "level": 0.5, "value": 4.0},
                                  "kid": {"family": "downsample", "level": 0.25, "value": 0.04}}
    assert order["modes"] == {
        "collapse": {"level": 1.0, "fd": 5.0, "fd_right": True, "kid": 0.03, "kid_right": False},
        # a tie with the worst face is not worse than it
        "checkerboard": {"level": 1.0, "fd": 4.0, "fd_right": False, "kid": 0.5, "kid_right": True}}


def test_the_order_is_right_only_when_monotone_and_every_failure_worse():
    rows = _order_rows()
    right = order_right(monotone(rows), failure_order(rows))
    assert right == {"fd": False, "kid": False}
    good = [row for row in rows if row["family"] not in ("checkerboard", "collapse")
            and (row["family"], row["level"]) != ("downsample", 0.5)]  # KID falls there
    good += [_row("collapse", 1.0, 5.0, 0.05)]
    assert order_right(monotone(good), failure_order(good)) == {"fd": True, "kid": True}
    dipping = good + [_row("gray", 0.5, 9.0, 0.9), _row("gray", 1.0, 8.0, 0.8)]
    assert order_right(monotone(dipping), failure_order(dipping)) == {"fd": False, "kid": False}


def test_without_face_like_rows_no_failure_is_judged():
    order = failure_order([_row("gray", 1.0, 1.0, 0.1)])
    assert order == {"face_like": {}, "modes": {"gray": {"level": 1.0, "fd": 1.0, "fd_right": None,
                                                         "kid": 0.1, "kid_right": None}}}


def test_format_failures_names_the_worst_face_and_each_verdict():
    rows = [{**row, "swd": 10.0 * row["fd"]} for row in _order_rows()]
    order = failure_order(rows)
    lines = format_failures(order, order_right(monotone(rows), order)).splitlines()
    assert lines[1].split() == ["family", "level", "FD", "x", "faces", "worse", "KID", "x",
                                "faces", "worse", "SWD", "x", "faces", "worse"]
    assert lines[3].split() == ["worst", "face-like", "4", "0.04", "40"]
    assert lines[4].split() == ["which", "blur", "0.5", "downsample", "0.25", "blur", "0.5"]
    assert lines[5].split() == ["collapse", "1.00", "5", "1.2x", "yes", "0.03", "0.8x", "NO",
                                "50", "1.2x", "yes"]
    assert lines[6].split() == ["checkerboard", "1.00", "4", "1.0x", "NO", "0.5", "12.5x", "yes",
                                "40", "1.0x", "NO"]
    assert lines[-1].split()[-6:] == ["FD", "NO", "KID", "NO", "SWD", "NO"]


def test_the_face_like_and_failure_families_are_disjoint():
    assert set(FACE_LIKE) & set(FAILURES) == set() and MILD_LEVELS == (0.25, 0.5)
