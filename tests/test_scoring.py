import json
import logging
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from tuner.config import DataConfig, ScoringConfig
from tuner.scoring import Protocol, Scorer, reference_features, score_folders


@pytest.fixture
def scorer(faces, projection_extractor, tmp_path):
    config = ScoringConfig(samples=40, cache_dir=str(tmp_path / "cache"), kid_subsets=20)
    return Scorer(faces, config, eval_size=32, extractor=projection_extractor)


def test_protocol_records_every_setting_and_keys_differ_when_one_changes(scorer):
    protocol = scorer.protocol
    assert protocol.as_dict() == {
        "features": "projection", "features_preprocessing": "uint8>16x16>projection",
        "features_weights": "seed0", "eval_size": 32, "n_real": 12, "n_fake": 40,
        "resize": "pil-bicubic", "latent_seed": 1234, "kid_subsets": 20,
        "kid_subset_size": 1000, "data_fingerprint": scorer.faces.fingerprint}
    assert protocol.key() == Protocol(**protocol.as_dict()).key()
    for field, value in [("eval_size", 64), ("n_fake", 41), ("features", "onet"),
                         ("latent_seed", 1), ("data_fingerprint", "0" * 16)]:
        assert replace(protocol, **{field: value}).key() != protocol.key()


def test_reference_features_are_computed_once_then_read_from_the_cache(
        faces, projection_extractor, tmp_path, caplog):
    calls = []

    def counting(images):
        calls.append(len(images))
        return projection_extractor(images)

    for attr in ("name", "preprocessing", "weights"):
        setattr(counting, attr, getattr(projection_extractor, attr))
    with caplog.at_level(logging.INFO, logger="tuner.scoring"):
        first = reference_features(faces, 32, counting, tmp_path)
        second = reference_features(faces, 32, counting, tmp_path)
        other_size = reference_features(faces, 16, counting, tmp_path)
    assert calls == [12, 12]  # 32 once, 16 once: the second 32 came from disk
    np.testing.assert_array_equal(first, second)
    assert first.shape == (12, 24) and other_size.shape == (12, 24)
    assert "cache hit" in caplog.text
    assert len(list(tmp_path.glob("reference-*.npy"))) == 2


def test_the_real_images_themselves_score_zero(scorer, faces):
    scores = scorer.score_images(faces.at_size(32))
    assert scores["fd"] == pytest.approx(0.0, abs=1e-9)
    assert scores["coverage"] == 1.0


def test_noise_scores_worse_than_the_real_images(scorer, faces, rng):
    real = scorer.score_images(faces.at_size(32))
    noise = scorer.score_images(rng.uniform(-1, 1, (40, 32, 32, 1)))
    assert noise["fd"] > real["fd"] + 1.0
    assert noise["kid"] > real["kid"]
    assert set(noise) == {"fd", "kid", "kid_std", "density", "coverage"}


def test_smaller_generated_images_are_resized_to_the_evaluation_size(scorer, faces):
    # A 16x16 generator is judged at 32x32: identical to pre-resizing its images ourselves.
    from tuner.data import from_uint8, resize_uint8, to_uint8

    small = faces.at_size(16)
    upsized = from_uint8(resize_uint8(to_uint8(small), 32))[..., None]
    assert scorer.score_images(small) == scorer.score_images(upsized)


def test_a_subset_trial_also_gets_train_and_heldout_kid(scorer, faces):
    train = faces.subset_indices(0.5, seed=0)
    scores = scorer.score_images(faces.at_size(32)[train], train_indices=train)
    assert {"kid_train", "kid_heldout", "kid_train_std", "kid_heldout_std"} <= set(scores)
    # Memorising the training half shows as a gap: closer to train than to held-out.
    assert scores["kid_train"] < scores["kid_heldout"]


def test_fixed_latents_are_the_same_for_every_trial(scorer):
    np.testing.assert_array_equal(scorer.latents(100), scorer.latents(100))
    assert scorer.latents(100).shape == (40, 100)


def test_score_folders_ranks_folders_on_one_scale(lfw_tree, tmp_path, face_factory):
    for name, size in (("a", 32), ("b", 16)):
        folder = tmp_path / name
        folder.mkdir()
        for i in range(10):
            Image.fromarray(face_factory(size)).save(folder / f"{i}.png")
    lines = list(score_folders(DataConfig(str(lfw_tree.root), lfw_tree.person),
                               [tmp_path / "a", tmp_path / "b"],
                               ScoringConfig(cache_dir=str(tmp_path / "c"))))
    assert [line["eval_size"] for line in lines] == [32, 32]
    assert lines[0]["n_fake"] == 10 and lines[0]["n_real"] == 12
    assert lines[0]["features"] == "onet"
    json.dumps(lines)  # plain JSON types
