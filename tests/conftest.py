"""Shared fixtures: synthetic face images and LFW-like data on disk, tiny searches, hand-made
study folders (written by tests/helpers/study_folder.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
from PIL import Image, ImageDraw

from tests.helpers import claims_study as claims_data
from tests.helpers.repeated_study import write_repeated_study

# People of the mini LFW tree and their image counts: one above MIN_IMAGES,
# one just above, one below (to exercise the "too few images" error).
LFW_PEOPLE = {"Ada_Lovelace": 12, "Alan_Turing": 10, "Grace_Hopper": 3}


def make_face(rng: np.random.Generator, size: int = 64) -> np.ndarray:
    """Draws a face-like gray image: light head, dark eyes and mouth, jittered.

    Args:
        rng: source of the small random jitter in position and brightness.
        size: side of the square image in pixels.

    Returns:
        uint8 array (size, size).
    """
    s = size / 64  # all coordinates below are for a 64-pixel image
    dx, dy = rng.uniform(-3, 3, size=2) * s
    skin, dark = int(rng.integers(170, 230)), int(rng.integers(10, 50))
    image = Image.new("L", (size, size), dark)
    draw = ImageDraw.Draw(image)
    draw.ellipse([14 * s + dx, 8 * s + dy, 50 * s + dx, 58 * s + dy], fill=skin)
    for eye_x in (24, 40):
        draw.ellipse([(eye_x - 3) * s + dx, 24 * s + dy, (eye_x + 3) * s + dx, 30 * s + dy],
                     fill=dark)
    mouth = [24 * s + dx, 44 * s + dy, 40 * s + dx, 44 * s + dy]
    draw.line(mouth, fill=dark, width=max(1, round(2 * s)))
    return np.asarray(image)


class LfwTree(NamedTuple):
    """A mini LFW on disk: the folder, the same tree as a .tgz, a person with enough images."""

    root: Path
    tgz: Path
    person: str


@pytest.fixture
def rng() -> np.random.Generator:
    """A fresh seeded generator per test."""
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def draw_face():
    """`make_face(rng, size)` itself, for tests that draw faces from their own generator."""
    return make_face


@pytest.fixture
def face_factory(rng):
    """A callable ``(size=64) -> uint8 face`` drawing from the test's ``rng``."""
    return lambda size=64: make_face(rng, size)


@pytest.fixture(scope="session")
def lfw_tree(tmp_path_factory) -> LfwTree:
    """<tmp>/lfw-mini/<Person>/<Person>_0001.jpg (64x64 RGB JPEGs) and lfw-mini.tgz."""
    base = tmp_path_factory.mktemp("lfw")
    root = base / "lfw-mini"
    generator = np.random.default_rng(1)
    for person, count in LFW_PEOPLE.items():
        (root / person).mkdir(parents=True)
        for i in range(1, count + 1):
            gray = make_face(generator)
            # colour, so decoding must convert
            rgb = np.stack([gray, gray // 2 + 64, gray], axis=-1)
            Image.fromarray(rgb).save(root / person / f"{person}_{i:04d}.jpg", quality=90)
    tgz = base / "lfw-mini.tgz"
    with tarfile.open(tgz, "w:gz") as archive:
        archive.add(root, arcname="lfw-mini")
    return LfwTree(root=root, tgz=tgz, person="Ada_Lovelace")


@pytest.fixture
def faces(lfw_tree):
    """The mini LFW's person with enough images, loaded as the tool loads data (a `Faces`)."""
    from tuner.data.face_sets import load_faces

    return load_faces(str(lfw_tree.root), person=lfw_tree.person)


@pytest.fixture(scope="session")
def embedded_faces():
    """The 100 LFW faces that scikit-image ships (`--data lfw-subset`), as a `Faces`."""
    from tuner.data.face_sets import load_faces

    return load_faces("lfw-subset")


@pytest.fixture
def face_folder(tmp_path, rng) -> Path:
    """A flat folder of 10 PNG faces, 32x32 gray."""
    folder = tmp_path / "faces"
    folder.mkdir()
    for i in range(10):
        Image.fromarray(make_face(rng, size=32)).save(folder / f"face_{i:02d}.png")
    return folder


class ProjectionExtractor:
    """A fast stand-in for a frozen network: a fixed random projection of 16x16 pixels."""

    name = "projection"
    preprocessing = "uint8>16x16>projection"
    weights = "seed0"
    input_size = 16
    dim = 24

    def __init__(self):
        self.matrix = np.random.default_rng(0).standard_normal((16 * 16, self.dim))

    def __call__(self, images):
        from tuner.data.images import resize_uint8, to_uint8

        pixels = resize_uint8(to_uint8(np.asarray(images)), 16).reshape(len(images), -1)
        return (pixels / 255.0) @ self.matrix


@pytest.fixture
def projection_extractor():
    return ProjectionExtractor()


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory, monkeypatch):
    """Reference features are cached under the test's own folder, never in ~/.cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))


def tiny_space_text(epochs=2, precision="float32", retrain_epochs=4):
    """A space file's text: two 16x16 trials (lr 2e-4 and 1e-3) on half the faces."""
    return f"""description = "two 16x16 trials on half the faces"
[search]
tuner = "grid"
max_trials = 2
[train]
epochs = {epochs}
batch_size = 8
eval_every = 1
precision = "{precision}"
retrain_epochs = {retrain_epochs}
[hyperparameters.learning_rate]
values = [2e-4, 1e-3]
[hyperparameters.image_size]
values = [16]
[hyperparameters.subset_fraction]
values = [0.5]
"""


@pytest.fixture(scope="session")
def tiny_space():
    """The text of a tiny space file (tiny_space_text's defaults)."""
    return tiny_space_text()


@pytest.fixture(scope="session")
def run_without_tensorflow():
    """Run `main(argv)` of CLI module `module` in a fresh interpreter; return its exit status,
    stdout, stderr and the heavy modules (TensorFlow, Keras, keras-tuner) it imported."""
    def run(module, argv):
        code = (f"import sys; from {module} import main; status = main({list(argv)!r}); "
                "heavy = [m for m in ('tensorflow', 'keras', 'keras_tuner') if m in sys.modules]; "
                "print('heavy modules:', heavy); sys.exit(status)")
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                timeout=120)
        out, _, heavy = result.stdout.rstrip().rpartition("heavy modules: ")
        return result.returncode, out, result.stderr, heavy

    return run


def _cli_env(cwd):
    return {**os.environ, "XDG_CACHE_HOME": str(Path(cwd) / "cache")}


def _run_search_cli(cwd, *args):
    return subprocess.run([sys.executable, "-m", "tuner.search", *args], cwd=cwd,
                          env=_cli_env(cwd), capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="session")
def cli_env():
    """`cli_env(cwd)`: a CLI subprocess's environment, its reference cache in `cwd`/cache."""
    return _cli_env


@pytest.fixture(scope="session")
def search_cli():
    """`search_cli(cwd, *args)`: `python -m tuner.search ARGS` in a real subprocess in `cwd`."""
    return _run_search_cli


class TinyStudy(NamedTuple):
    """A search of the tiny space, run by the search CLI: where, what it printed, its space."""

    cwd: Path
    folder: Path
    result: subprocess.CompletedProcess
    space: str


@pytest.fixture(scope="session")
def tiny_search(lfw_tree):
    """`tiny_search(cwd, **space)`: search `tiny_space_text(**space)` on the mini LFW's .tgz
    into `cwd`/out/tiny with the search CLI; returns a `TinyStudy`."""
    def search(cwd, **space):
        text = tiny_space_text(**space)
        (Path(cwd) / "tiny.toml").write_text(text)
        result = _run_search_cli(cwd, "--data", str(lfw_tree.tgz), "--person", lfw_tree.person,
                                 "--space", "tiny.toml", "--samples", "64", "--results-dir", "out")
        return TinyStudy(Path(cwd), Path(cwd) / "out" / "tiny", result, text)

    return search


@pytest.fixture(scope="session")
def tiny_study(tiny_search, tmp_path_factory):
    """One finished two-trial float32 study, shared by every test that only reads it."""
    study = tiny_search(tmp_path_factory.mktemp("tiny-study"))
    assert study.result.returncode == 0, study.result.stderr[-2000:]
    return study


@pytest.fixture()
def repeated_study(tmp_path):
    """quick/, hand-made: five configurations, three runs each (evaluated at epochs 25 and 50),
    ranked by final KID (tests/helpers/repeated_study.py), as read for a leaderboard."""
    from tuner.results.snapshot import read_study

    return read_study(write_repeated_study(tmp_path / "quick"))


@pytest.fixture(scope="module")
def claims_study(tmp_path_factory):
    """made/, hand-made: the claims of tests/helpers/claims_study.py in its space file, and the
    trials they are about, their truth known by construction. The folder's path."""
    return claims_data.make_study(tmp_path_factory.mktemp("claims"), claims_data.CLAIMS,
                                  claims_data.GRID)
