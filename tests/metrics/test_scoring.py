import json
import logging
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from tuner.common.config import DataConfig, ScoringConfig
from tuner.data.face_sets import load_faces
from tuner.metrics.scoring import Protocol, Scorer, reference_features, score_folders


@pytest.fixture
def scorer(faces, projection_extractor, tmp_path):
    config = ScoringConfig(samples=40, cache_dir=str(tmp_path / "cache"))
    return Scorer(faces, config, eval_size=32, extractor=projection_extractor)


def with_mirrors(images):
    return np.concatenate([images, images[:, :, ::-1]])


@pytest.fixture
def asymmetric_faces(tmp_path, draw_face, count=24, size=32):
    """Faces with a dark parting on their left: a mirror image is a different picture."""
    rng, make_face = np.random.default_rng(5), draw_face
    folder = tmp_path / "asymmetric"
    folder.mkdir()
    for i in range(count):
        face = make_face(rng, size).copy()
        top = int(rng.integers(2, size // 3))
        face[top:top + size // 4, 2:size // 3] = 0
        Image.fromarray(face).save(folder / f"{i:02d}.png")
    return load_faces(str(folder))


def test_protocol_records_every_setting_and_keys_differ_when_one_changes(scorer):
    protocol = scorer.protocol
    assert protocol.as_dict() == {
        "features": "projection", "features_preprocessing": "uint8>16x16>projection",
        "features_weights": "seed0", "eval_size": 32, "n_real": 12, "n_fake": 40,
        "resize": "pil-bicubic", "latent_seed": 1234, "kid_subsets": None,
        "kid_subset_size": None, "data_fingerprint": scorer.faces.fingerprint,
        "reference_flips": True, "holdout": 0.0, "holdout_seed": 0, "swd_descriptors": 4096,
        "swd_projections": 512, "swd_seed": 0, "swd_patch": 7, "swd_min_resolution": 16,
        "rank_by": "final"}
    assert protocol.key() == Protocol(**protocol.as_dict()).key()
    for field, value in [("eval_size", 64), ("n_fake", 41), ("features", "onet"),
                         ("latent_seed", 1), ("data_fingerprint", "0" * 16),
                         ("reference_flips", False), ("holdout", 0.2), ("holdout_seed", 1),
                         ("swd_descriptors", 1024), ("swd_seed", 1), ("rank_by", "best"),
                         ("kid_subsets", 100), ("kid_subset_size", 1000)]:
        assert replace(protocol, **{field: value}).key() != protocol.key()


def test_reference_features_are_computed_once_then_read_from_the_cache(
        faces, projection_extractor, tmp_path, caplog):
    calls = []

    def counting(images):
        calls.append(len(images))
        return projection_extractor(images)

    for attr in ("name", "preprocessing", "weights"):
        setattr(counting, attr, getattr(projection_extractor, attr))
    with caplog.at_level(logging.INFO, logger="tuner.metrics.scoring"):
        first = reference_features(faces, 32, counting, tmp_path)
        second = reference_features(faces, 32, counting, tmp_path)
        other_size = reference_features(faces, 16, counting, tmp_path)
    assert calls == [12, 12]  # 32 once, 16 once: the second 32 came from disk
    np.testing.assert_array_equal(first, second)
    assert first.shape == (12, 24) and other_size.shape == (12, 24)
    assert "cache hit" in caplog.text
    assert len(list(tmp_path.glob("reference-*.npy"))) == 2


def test_mirror_images_join_the_cached_reference_under_their_own_key(
        faces, projection_extractor, tmp_path):
    plain = reference_features(faces, 32, projection_extractor, tmp_path)
    mirrored = reference_features(faces, 32, projection_extractor, tmp_path, flip=True)
    assert plain.shape == (12, 24) and mirrored.shape == (24, 24)
    np.testing.assert_array_equal(mirrored[:12], plain)
    np.testing.assert_allclose(mirrored[12:], projection_extractor(faces.at_size(32)[:, :, ::-1]))
    assert len(list(tmp_path.glob("reference-*.npy"))) == 2


def test_the_training_distribution_itself_scores_zero(scorer, faces, projection_extractor):
    scores = scorer.score_images(with_mirrors(faces.at_size(32)))
    assert scores["fd"] == pytest.approx(0.0, abs=1e-9)
    assert scores["coverage"] == 1.0
    assert scores["swd"] == 0.0 and scores["swd_levels"] == {"32": 0.0, "16": 0.0}
    originals = Scorer(faces, scorer.config, 32, extractor=projection_extractor, flip=False)
    assert originals.score_images(faces.at_size(32))["fd"] == pytest.approx(0.0, abs=1e-9)


def test_noise_scores_worse_than_the_real_images(scorer, faces, rng):
    real = scorer.score_images(faces.at_size(32))
    noise = scorer.score_images(rng.uniform(-1, 1, (40, 32, 32, 1)))
    assert noise["fd"] > real["fd"] + 1.0
    assert noise["kid"] > real["kid"]
    assert noise["swd"] > real["swd"]
    assert set(noise) == {"fd", "kid", "kid_std", "density", "coverage", "swd", "swd_levels"}


def test_smaller_generated_images_are_resized_to_the_evaluation_size(scorer, faces):
    # A 16x16 generator is judged at 32x32: identical to pre-resizing its images ourselves.
    from tuner.data.images import from_uint8, resize_uint8, to_uint8

    small = faces.at_size(16)
    upsized = from_uint8(resize_uint8(to_uint8(small), 32))[..., None]
    assert scorer.score_images(small) == scorer.score_images(upsized)


def test_a_subset_trial_also_gets_train_and_heldout_kid(asymmetric_faces, projection_extractor,
                                                         tmp_path):
    faces = asymmetric_faces
    scorer = Scorer(faces, ScoringConfig(cache_dir=str(tmp_path)), 32,
                    extractor=projection_extractor)
    train = faces.subset_indices(0.5, seed=0)
    scores = scorer.score_images(with_mirrors(faces.at_size(32)[train]), train_indices=train)
    assert {"kid_train", "kid_heldout", "kid_train_std", "kid_heldout_std"} <= set(scores)
    # Memorising the training half (and its mirrors) shows as a gap: closer to train.
    assert scores["kid_train"] < scores["kid_heldout"]


def test_the_training_distribution_beats_originals_only_and_five_faces(
        asymmetric_faces, tmp_path, projection_extractor):
    faces = asymmetric_faces
    config = ScoringConfig(cache_dir=str(tmp_path / "cache"))
    images = faces.at_size(32)
    copies = {"training": with_mirrors(images), "originals": images,
              "five": np.concatenate([images[:5]] * 10)}
    mirrored = Scorer(faces, config, 32, extractor=projection_extractor)
    scores = {name: mirrored.score_images(x) for name, x in copies.items()}
    for other in ("originals", "five"):
        assert scores["training"]["kid"] < scores[other]["kid"]
        assert scores["training"]["fd"] < scores[other]["fd"]
        assert scores["training"]["swd"] < scores[other]["swd"]
    # Without mirrors in the reference the originals-only copy wins: the old bias.
    plain = Scorer(faces, config, 32, extractor=projection_extractor, flip=False)
    assert plain.score_images(images)["kid"] < plain.score_images(copies["training"])["kid"]


def test_with_the_onet_network_on_the_embedded_faces(tmp_path):
    faces = load_faces("lfw-subset")
    scorer = Scorer(faces, ScoringConfig(cache_dir=str(tmp_path)), 32)
    images = faces.at_size(32)
    training = scorer.score_images(with_mirrors(images))
    for other in (images, np.concatenate([images[:5]] * 40)):
        scores = scorer.score_images(other)
        assert training["kid"] < scores["kid"] and training["fd"] < scores["fd"]


def test_a_study_holdout_is_scored_against_its_own_images_and_mirrors(
        faces, projection_extractor, tmp_path):
    config = ScoringConfig(cache_dir=str(tmp_path))
    pool, heldout = faces.split(0.25, seed=4)
    scorer = Scorer(faces, config, 32, extractor=projection_extractor, holdout=heldout,
                    holdout_fraction=0.25, holdout_seed=4)
    assert (scorer.protocol.holdout, scorer.protocol.holdout_seed) == (0.25, 4)
    np.testing.assert_array_equal(scorer.heldout, heldout)
    scores = scorer.score_images(with_mirrors(faces.at_size(32)[heldout]))
    assert scores["fd_heldout"] == pytest.approx(0.0, abs=1e-9)
    assert {"kid_heldout", "kid_heldout_std", "fd_heldout"} <= set(scores)
    assert scores["fd"] > 0.01  # the main reference stays all images


def test_with_a_study_holdout_a_subset_trial_keeps_the_study_heldout_score(
        faces, projection_extractor, tmp_path):
    config = ScoringConfig(cache_dir=str(tmp_path))
    pool, heldout = faces.split(0.25, seed=4)
    scorer = Scorer(faces, config, 32, extractor=projection_extractor, holdout_fraction=0.25,
                    holdout_seed=4)
    np.testing.assert_array_equal(scorer.heldout, heldout)  # None: drawn from fraction and seed
    train = faces.subset_indices(0.5, seed=0, pool=pool)
    images = faces.at_size(32)[train]
    alone, subset = scorer.score_images(images), scorer.score_images(images, train)
    assert subset["kid_heldout"] == alone["kid_heldout"]
    assert subset["kid_train"] < subset["kid_heldout"]
    assert "kid_heldout" not in Scorer(faces, config, 32, extractor=projection_extractor
                                       ).score_images(images)


def test_holdout_indices_must_be_the_split_of_the_recorded_fraction_and_seed(
        faces, projection_extractor, tmp_path):
    config = ScoringConfig(cache_dir=str(tmp_path))
    with pytest.raises(ValueError, match="not the split drawn by holdout_fraction=0.25, "
                                         "holdout_seed=5"):
        Scorer(faces, config, 32, extractor=projection_extractor,
               holdout=faces.split(0.25, seed=4)[1], holdout_fraction=0.25, holdout_seed=5)
    with pytest.raises(ValueError, match="holdout_fraction=0.0"):
        Scorer(faces, config, 32, extractor=projection_extractor, holdout=[0, 1])


def test_kid_is_the_all_pairs_u_statistic_against_each_reference(
        faces, projection_extractor, tmp_path, rng, monkeypatch):
    from tuner.metrics import distances

    sums, all_pairs = [], distances.all_pairs_kid
    counting = distances.kernel_row_sums
    monkeypatch.setattr(distances, "kernel_row_sums", lambda x: sums.append(len(x)) or counting(x))
    scorer = Scorer(faces, ScoringConfig(cache_dir=str(tmp_path)), 32,
                    extractor=projection_extractor, holdout_fraction=0.25, holdout_seed=4)
    train = faces.subset_indices(0.5, seed=0, pool=faces.split(0.25, 4)[0])
    images = rng.uniform(-1, 1, (30, 32, 32, 1))
    scores = scorer.score_images(images, train)
    assert scorer.score_images(images, train) == scores
    # the generated set's kernel sums once per evaluation, each reference's once per scorer
    assert sums == [30, 24, 6, 8, 30]
    fake = scorer.features(images)
    for name, indices in (("kid", np.arange(12)), ("kid_heldout", scorer.heldout),
                          ("kid_train", train)):
        rows = faces.at_size(32)[indices]
        expected = all_pairs(scorer.features(with_mirrors(rows)), fake)
        assert (scores[name], scores[name + "_std"]) == pytest.approx(expected, rel=1e-9)


def test_kid_subsets_in_the_config_give_the_subset_estimator_of_older_studies(
        faces, projection_extractor, tmp_path, rng):
    from tuner.metrics import distances

    config = ScoringConfig(cache_dir=str(tmp_path), kid_subsets=5, kid_subset_size=10)
    scorer = Scorer(faces, config, 32, extractor=projection_extractor)
    assert (scorer.protocol.kid_subsets, scorer.protocol.kid_subset_size) == (5, 10)
    images = rng.uniform(-1, 1, (30, 32, 32, 1))
    scores = scorer.score_images(images)
    expected = distances.kernel_distance(scorer.real_features, scorer.features(images),
                                         subsets=5, subset_size=10, seed=config.latent_seed)
    assert (scores["kid"], scores["kid_std"]) == expected


@pytest.mark.parametrize("dtype", ["float32", "mixed_bfloat16"])
def test_generate_gives_the_images_predict_gives(scorer, dtype):
    import keras

    from tuner.gan.dcgan import build_generator

    keras.utils.set_random_seed(3)
    generator = build_generator(16, dtype=dtype)
    images = scorer.generate(generator, batch_size=16)  # 40 samples: batches of 16, 16, 8
    assert images.shape == (40, 16, 16, 1) and images.dtype == np.float32
    expected = generator.predict(scorer.latents(100), batch_size=16, verbose=0)
    np.testing.assert_array_equal(images, expected)


def test_metrics_run_on_one_blas_thread_and_the_limit_is_lifted_after(scorer, faces,
                                                                       monkeypatch):
    from threadpoolctl import threadpool_info

    from tuner.metrics import distances

    def blas_threads():
        return {info["filepath"]: info["num_threads"] for info in threadpool_info()
                if info["user_api"] == "blas"}

    before, seen = blas_threads(), []
    frechet = distances.frechet_distance
    monkeypatch.setattr(distances, "frechet_distance",
                        lambda a, b: seen.append(blas_threads()) or frechet(a, b))
    scorer.score_images(faces.at_size(32))
    assert seen and all(set(threads.values()) == {1} for threads in seen)
    assert blas_threads() == before


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
    assert lines[0]["reference_flips"] is True and list(lines[0]["swd_levels"]) == ["32", "16"]
    assert lines[0]["swd"] > 0
    json.dumps(lines)  # plain JSON types
    plain = next(score_folders(DataConfig(str(lfw_tree.root), lfw_tree.person), [tmp_path / "a"],
                               ScoringConfig(cache_dir=str(tmp_path / "c")), flip=False))
    assert plain["reference_flips"] is False and plain["kid"] != lines[0]["kid"]
