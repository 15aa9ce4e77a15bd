"""`python -m tuner.generate` on a small saved generator."""

import contextlib
import io
import json

import numpy as np
import pytest
from PIL import Image

from tuner import generate, score
from tuner.gan.dcgan import latent_batch
from tuner.gan.generation import line_latents


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    """A freshly initialised mixed-precision 16x16 generator, saved as retrain saves it."""
    import keras

    from tuner.gan.dcgan import build_discriminator, build_generator
    from tuner.study.checkpoint import save_generator

    keras.utils.set_random_seed(0)
    folder = tmp_path_factory.mktemp("model")
    save_generator(build_generator(16, 100, "mixed_bfloat16"), folder / "generator.keras")
    save_generator(build_discriminator(16), folder / "discriminator.keras")
    return folder / "generator.keras"


def run_generate(*argv):
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        status = generate.main([str(arg) for arg in argv])
    return status, stdout.getvalue()


def _pixels(path):
    with Image.open(path) as image:
        return image.mode, np.asarray(image)


def test_writes_n_gray_images_a_grid_and_an_interpolation_strip(model_file, tmp_path):
    out, grid = tmp_path / "out", tmp_path / "grid.png"
    status, stdout = run_generate(model_file, "--n", 10, "--out", out, "--grid", grid,
                                  "--interpolate", 5)
    assert status == 0
    assert stdout.splitlines() == [f"10 images of 16x16 in {out}", str(grid),
                                   str(out / "interpolation" / "strip.png")]
    assert sorted(p.name for p in out.iterdir()) == [f"{i:04d}.png" for i in range(10)] + [
        "interpolation"]
    images = [_pixels(out / f"{i:04d}.png") for i in range(10)]
    assert {(mode, pixels.shape) for mode, pixels in images} == {("L", (16, 16))}
    assert _pixels(grid)[1].shape == (2 * 18 - 2, 8 * 18 - 2)  # 8 per row, 2-pixel gutters
    mode, strip = _pixels(out / "interpolation" / "strip.png")
    assert mode == "L" and strip.shape == (16, 5 * 18 - 2)
    assert sorted(p.name for p in (out / "interpolation").iterdir()) == [
        "frame_00.png", "frame_01.png", "frame_02.png", "frame_03.png", "frame_04.png",
        "strip.png"]
    # The line runs from sample 0's latent point to sample 1's (1 level: batch-size rounding).
    for frame, sample in (("frame_00.png", 0), ("frame_04.png", 1)):
        difference = _pixels(out / "interpolation" / frame)[1].astype(int) - images[sample][1]
        assert np.abs(difference).max() <= 1


def test_the_line_between_two_latent_points_is_exact_at_its_ends():
    start, end = latent_batch(2, 100, seed=3)
    points = line_latents(100, 5, seed=3)
    assert points.shape == (5, 100) and points.dtype == np.float32
    assert np.array_equal(points[0], start) and np.array_equal(points[-1], end)
    np.testing.assert_allclose(points[2], (start + end) / 2, rtol=1e-6, atol=1e-6)


def test_the_seed_fixes_the_images_and_fewer_images_replace_more(model_file, tmp_path):
    assert run_generate(model_file, "--n", 6, "--out", tmp_path / "a")[0] == 0
    assert run_generate(model_file, "--n", 6, "--out", tmp_path / "b")[0] == 0
    assert run_generate(model_file, "--n", 6, "--seed", 1, "--out", tmp_path / "c")[0] == 0
    same = [(tmp_path / "a" / n).read_bytes() == (tmp_path / "b" / n).read_bytes()
            for n in ("0000.png", "0005.png")]
    other = (tmp_path / "a" / "0000.png").read_bytes() != (tmp_path / "c" / "0000.png").read_bytes()
    assert same == [True, True] and other
    assert run_generate(model_file, "--n", 3, "--out", tmp_path / "a")[0] == 0
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["0000.png", "0001.png",
                                                                   "0002.png"]


def test_the_output_folder_is_a_fake_input_of_tuner_score(model_file, tmp_path, lfw_tree):
    out = tmp_path / "out"
    assert run_generate(model_file, "--n", 20, "--out", out, "--interpolate", 4)[0] == 0
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        status = score.main([str(lfw_tree.root), "--person", lfw_tree.person, str(out)])
    assert status == 0
    line = json.loads(stdout.getvalue())
    assert (line["fake"], line["n_fake"], line["n_real"], line["eval_size"]) == (
        str(out), 20, 12, 16)
    assert np.isfinite(line["kid"]) and np.isfinite(line["fd"])


@pytest.mark.parametrize("name, message", [
    ("missing.keras", "error: MODEL {path} does not exist; give a generator .keras file"),
    ("discriminator.keras",
     "error: MODEL {path}: expected a generator mapping (N, latent_dim) to (N, S, S, 1), "
     "got (None, 16, 16, 1) -> (None, 1)"),
])
def test_a_bad_model_is_one_line_and_exit_status_2(model_file, tmp_path, capsys, name, message):
    path = model_file.parent / name
    assert run_generate(path, "--out", tmp_path / "out")[0] == 2
    err = capsys.readouterr().err
    assert err.startswith(message.format(path=path)) and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_a_grid_inside_the_output_folder_is_refused(model_file, tmp_path, capsys):
    out = tmp_path / "out"
    assert run_generate(model_file, "--out", out, "--grid", out / "grid.png")[0] == 2
    assert capsys.readouterr().err.startswith(f"error: --grid {out / 'grid.png'} is inside --out")


def test_out_onto_an_existing_file_and_a_folder_as_model_are_one_line(model_file, tmp_path,
                                                                       capsys):
    taken = tmp_path / "taken.png"
    taken.write_bytes(b"mine")
    assert run_generate(model_file, "--out", taken)[0] == 2
    assert capsys.readouterr().err == (f"error: --out {taken}: {taken} is a file, and --out is a "
                                       f"folder of images; give a folder (new or existing)\n")
    assert taken.read_bytes() == b"mine"
    assert run_generate(tmp_path, "--out", tmp_path / "out")[0] == 2
    assert capsys.readouterr().err.startswith(f"error: MODEL {tmp_path} is a folder; give a "
                                              f"generator .keras file")


def test_a_grid_that_cannot_be_written_is_one_line(model_file, tmp_path, capsys):
    folder = tmp_path / "grid.png"
    folder.mkdir()
    assert run_generate(model_file, "--out", tmp_path / "out", "--grid", folder)[0] == 2
    assert capsys.readouterr().err == (f"error: cannot write {folder}: it is a folder; give a "
                                       f"file name (or a path that does not exist yet)\n")
