"""Do the shipped offline networks rank the ways a GAN fails below faces? Measured on the
100 embedded faces at 64x64, as `python -m tuner.score lfw-subset --validate --features NAME`
does (Inception needs weights that are not shipped: left out)."""

import pytest

from tuner.common.config import DEFAULT_FEATURES
from tuner.metrics.disturbances import FACE_LIKE, FAILURES, MILD_LEVELS
from tuner.metrics.features import get_extractor
from tuner.metrics.sensitivity import disturbance_study, failure_order

OFFLINE = ("onet", "fer")
# What a diverged or dead generator makes: noise of every kind and flat gray.
NOISE = ("noise", "checkerboard", "binary_noise", "blotches", "gray")
# The failure modes each network scores no worse than the worst face-like sample (the mild
# levels of blur, downsampling, over-smoothing and saturation), by FD and KID: the truth on
# these faces, each ratio failure / worst face in the comment. Neither network ranks a
# collapsed generator below faces: a set of copies of real faces stays close to the real set
# in both feature spaces, while mild blur already moves every face.
MISRANKED = {
    "onet": {"fd": {"partial_collapse"},                  # 0.9x (collapse 1.8x)
             "kid": {"collapse", "partial_collapse"}},    # 0.9x, 0.3x
    "fer": {"fd": {"contamination", "collapse", "partial_collapse"},   # 0.8x, 0.4x, 0.3x
            "kid": {"contamination", "collapse", "partial_collapse"}},  # 0.5x, 0.1x, 0.1x
}


@pytest.fixture(scope="module", params=OFFLINE)
def order(request, embedded_faces):
    """(network, failure_order) of the face-like samples and the failures' top levels."""
    faces, extractor = embedded_faces.at_size(64), get_extractor(request.param)
    cheap_swd = dict(count=256, projections=16)  # SWD is not the network's: not checked here
    rows = disturbance_study(faces, extractor, levels=MILD_LEVELS, families=FACE_LIKE,
                             swd_options=cheap_swd)
    rows += disturbance_study(faces, extractor, levels=(1.0,), families=FAILURES,
                              swd_options=cheap_swd)
    return request.param, failure_order(rows)


def _misranked(order):
    return {metric: {family for family, mode in order["modes"].items()
                     if not mode[metric + "_right"]} for metric in ("fd", "kid")}


def test_every_network_ranks_every_kind_of_noise_below_every_face(order):
    network, found = order
    for family in NOISE:
        mode = found["modes"][family]
        assert mode["fd_right"] and mode["kid_right"], (network, family, mode, found["face_like"])


def test_the_failure_modes_each_network_misranks(order):
    network, found = order
    assert _misranked(found) == MISRANKED[network]


@pytest.mark.xfail(condition=any(MISRANKED[DEFAULT_FEATURES].values()), strict=True,
                   reason=f"the default network, {DEFAULT_FEATURES}, ranks "
                          f"{sorted(set().union(*MISRANKED[DEFAULT_FEATURES].values()))} "
                          f"no worse than faces (see MISRANKED)")
def test_the_default_network_ranks_every_failure_below_every_face(embedded_faces):
    faces, extractor = embedded_faces.at_size(64), get_extractor(DEFAULT_FEATURES)
    rows = disturbance_study(faces, extractor, levels=MILD_LEVELS, families=FACE_LIKE,
                             swd_options=dict(count=256, projections=16))
    rows += disturbance_study(faces, extractor, levels=(1.0,), families=FAILURES,
                              swd_options=dict(count=256, projections=16))
    assert _misranked(failure_order(rows)) == {"fd": set(), "kid": set()}
