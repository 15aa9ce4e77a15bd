"""Fixtures of the metrics tests."""

import pytest

from tuner.data.images import to_uint8


@pytest.fixture(scope="module")
def faces32(embedded_faces):
    """40 embedded LFW faces, 32x32, float (N, 32, 32, 1) in [-1, 1]."""
    return embedded_faces.at_size(32)[:40]


@pytest.fixture(scope="module")
def pixels(faces32):
    return to_uint8(faces32[..., 0])
