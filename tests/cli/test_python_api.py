"""The public Python API: the README's example under keras-tuner's own tuners, and the study API
against the CLIs, on the mini LFW tree (16x16, 2 epochs, 64 samples per evaluation)."""

import contextlib
import io
import json
import logging
import re
import subprocess
import sys
from pathlib import Path

import keras
import keras_tuner as kt
import numpy as np
import pytest

import tuner
from tuner.common.config import SEARCH_OPTIONS, SearchConfig, search_config
from tuner.common.errors import UsageError

# The README example's settings, and what the test runs instead (each must be in the README).
README_TINY = {
    'tuner.DCGANHyperModel.from_space("quick", epochs=20)':
        "tuner.DCGANHyperModel.from_space(SPACE, data=DATA, person=PERSON, samples=64)",
    "max_trials=3": "max_trials=2",
    'directory="results"': "directory=RESULTS",
    'tuner.open_study("results/quick-py")': 'tuner.open_study(RESULTS + "/quick-py")',
}
README_HYPERBAND = {"kt.RandomSearch(hm, objective=hm.objective, max_trials=2,":
                    "kt.Hyperband(hm, objective=hm.objective, max_epochs=2, factor=2,"}
HYPERPARAMETERS = ("learning_rate", "beta_1", "image_size", "subset_fraction")


def readme_example():
    """The first Python block of the README's "From Python" section."""
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = text.split("\n## From Python\n", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def replaced(code, replacements):
    for old, new in replacements.items():
        assert code.count(old) == 1, f"the README example no longer says {old!r}"
        code = code.replace(old, new)
    return code


@pytest.fixture
def space_file(tmp_path, tiny_space):
    path = tmp_path / "tiny.toml"
    path.write_text(tiny_space)
    return path


def leaderboard_json(folder, cwd, cli_env):
    result = subprocess.run([sys.executable, "-m", "tuner.leaderboard", str(folder), "--format",
                             "json"], cwd=cwd, env=cli_env(cwd), capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


# ---------------------------------------------------------------- the README's HyperModel example


@pytest.mark.parametrize("tuner_class", ["RandomSearch", "Hyperband"])
def test_the_readme_example_runs_under_keras_tuners_own_tuners(tuner_class, space_file, lfw_tree,
                                                               tmp_path, cli_env):
    code = replaced(readme_example(), README_TINY)
    if tuner_class == "Hyperband":
        code = replaced(code, README_HYPERBAND)
    results_dir = tmp_path / "results"
    namespace = {"SPACE": str(space_file), "DATA": str(lfw_tree.root), "PERSON": lfw_tree.person,
                 "RESULTS": str(results_dir)}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, "README.md", "exec"), namespace)
    search, rows, faces = namespace["search"], namespace["rows"], namespace["faces"]
    assert type(search).__name__ == tuner_class

    # keras-tuner's own views of the search
    trials = search.oracle.get_best_trials(len(search.oracle.trials))
    summary = printed.getvalue().split("Results summary", 1)[1]
    assert 'Objective(name="kid", direction="min")' in summary
    shown = [float(score) for score in re.findall(r"^Score: (\S+)$", summary, re.MULTILINE)]
    assert shown == pytest.approx([trial.score for trial in trials][:10])
    best_hp = namespace["best_hp"]
    assert best_hp.values["learning_rate"] in (2e-4, 1e-3) and best_hp.values["image_size"] == 16
    assert faces.shape == (16, 16, 16, 1) and faces.dtype == np.float32
    assert -1.0 <= faces.min() < faces.max() <= 1.0

    # the folder is a study: every trial ranked as keras-tuner ranked it, on the same numbers
    assert len(rows) == len(trials) >= 2
    assert [row["trial_id"] for row in rows] == [trial.trial_id for trial in trials]
    assert [row["kid"] for row in rows] == pytest.approx([trial.score for trial in trials])
    assert all(row["status"] == "COMPLETED" and row["rank_by"] == "final" for row in rows)
    assert {k: rows[0]["hyperparameters"][k] for k in HYPERPARAMETERS} == {
        k: best_hp.values[k] for k in HYPERPARAMETERS}
    folder = results_dir / "quick-py"
    assert rows == leaderboard_json(folder, tmp_path, cli_env)
    meta = json.loads((folder / "study.json").read_text())
    assert meta["command"] == "unknown (made by a keras-tuner tuner in Python)"
    assert meta["tuner"] == f"{tuner_class} (keras-tuner)"
    assert meta["protocol"]["n_fake"] == 64 and meta["protocol"]["eval_size"] == 16

    # what a search writes for each trial, a search writes here too
    for row in rows:
        trial_dir = Path(row["folder"])
        evaluations = json.loads((trial_dir / "evaluations.json").read_text())
        epochs = [e["epoch"] for e in evaluations["evaluations"]]
        assert epochs and epochs == list(range(epochs[0], epochs[-1] + 1))
        assert sorted(p.name for p in (trial_dir / "samples").glob("*.png")) == [
            f"epoch_{epoch:05d}.png" for epoch in epochs]
        assert (trial_dir / "checkpoint.weights.h5").is_file()
        assert list((folder / "tensorboard" / trial_dir.name).glob("events.out.tfevents.*"))
    assert list((folder / "tensorboard").glob("events.out.tfevents.*"))  # the HParams config

    # the report and retraining read it as a study
    from tuner.common.config import RetrainConfig
    from tuner.study.retraining import make_plan

    page = tuner.open_study(folder).write_report().read_text()
    assert "unknown (made by a keras-tuner tuner in Python)" in page
    plan = make_plan(RetrainConfig(), folder)
    assert plan.trial["trial_id"] == rows[0]["trial_id"] and plan.epochs == 4


def test_own_tuner_subclasses_and_what_the_hypermodel_refuses(space_file, lfw_tree, tmp_path):
    hm = tuner.DCGANHyperModel.from_space(space_file, data=lfw_tree.root, person=lfw_tree.person,
                                          samples=64, epochs=1)
    epochs_seen = []

    class Counting(kt.RandomSearch):  # a user's subclass, adding a callback of its own
        def run_trial(self, trial, *args, **kwargs):
            counter = keras.callbacks.LambdaCallback(
                on_epoch_end=lambda epoch, logs: epochs_seen.append(epoch))
            kwargs["callbacks"] = [*kwargs.get("callbacks", []), counter]
            return super().run_trial(trial, *args, **kwargs)

    def make(cls=kt.RandomSearch, project="own", **arguments):
        return cls(hm, objective=hm.objective, max_trials=1, directory=str(tmp_path),
                   project_name=project, **arguments)

    make(Counting).search(verbose=0)
    assert epochs_seen == [0]
    rows = tuner.open_study(tmp_path / "own").rows()
    assert [row["status"] for row in rows] == ["COMPLETED"] and rows[0]["epochs"] == 1
    make(overwrite=True).search(verbose=0)  # keras-tuner empties the folder: study.json again
    assert tuner.open_study(tmp_path / "own").rows()[0]["kid"] is not None

    class Bare(kt.RandomSearch):  # calls fit without keras-tuner's callbacks or the folder
        def run_trial(self, trial, *args, **kwargs):
            return self.hypermodel.fit(trial.hyperparameters,
                                       self.hypermodel.build(trial.hyperparameters))

    with pytest.raises(UsageError, match=r"^DCGANHyperModel.fit cannot tell the trial's folder: "
                                         r".*trial_dir=self.get_trial_dir\(trial.trial_id\)"):
        make(Bare, "bare").search(verbose=0)
    with pytest.raises(UsageError, match=r"^executions_per_trial=2: .* repeats=2 "):
        make(project="twice", executions_per_trial=2).search(verbose=0)

    other = tuner.DCGANHyperModel.from_space(space_file, data=lfw_tree.root,
                                             person=lfw_tree.person, samples=32, epochs=1)
    resumed = kt.RandomSearch(other, objective=other.objective, max_trials=2,
                              directory=str(tmp_path), project_name="own")
    with pytest.raises(UsageError, match=r"own holds a study scored with n_fake 64, not 32 \(a "
                                         r"different scoring protocol\); use the same options, or "
                                         r"give the tuner another project_name"):
        resumed.search(verbose=0)
    rows = tuner.open_study(tmp_path / "own").rows()
    assert [row["trial_id"] for row in rows if row["status"] == "COMPLETED"] == ["0"]
    assert not list((tmp_path / "own").glob("trial_1/evaluations.json"))  # refused before training


# ---------------------------------------------------------------- the study API


@pytest.fixture(scope="module")
def searched(lfw_tree, tmp_path_factory, tiny_space):
    """A two-trial study run by `tuner.search_study`, and the call that ran it."""
    cwd = tmp_path_factory.mktemp("python-study")
    (cwd / "tiny.toml").write_text(tiny_space)
    options = {"data": str(lfw_tree.root), "person": lfw_tree.person, "samples": 64,
               "results_dir": str(cwd / "out")}
    with pytest.MonkeyPatch.context() as patch:  # the reference cache stays in the test's folder
        patch.setenv("XDG_CACHE_HOME", str(cwd / "cache"))
        study = tuner.search_study(str(cwd / "tiny.toml"), **options)
    return study, options, cwd


def test_search_study_gives_the_leaderboards_json_rows(searched, cli_env):
    study, options, cwd = searched
    assert isinstance(study, tuner.Study) and study.folder == cwd / "out" / "tiny"
    rows = study.rows()
    assert [row["status"] for row in rows] == ["COMPLETED", "COMPLETED"]
    assert [row["rank"] for row in rows] == [1, 2]
    assert {row["hyperparameters"]["learning_rate"] for row in rows} == {2e-4, 1e-3}
    assert rows == leaderboard_json(study.folder, cwd, cli_env)
    assert study.rows(top=1) == rows[:1]
    assert tuner.open_study("tiny", results_dir=cwd / "out").rows() == rows
    meta = json.loads((study.folder / "study.json").read_text())
    assert meta["command"] == (f"tuner.search_study({str(cwd / 'tiny.toml')!r}, "
                               f"data={options['data']!r}, person={options['person']!r}, "
                               f"samples=64, results_dir={options['results_dir']!r})")
    assert meta["config"]["scoring"]["samples"] == 64 and meta["tuner"] == "grid"
    with pytest.raises(UsageError, match=r"^--top must be a positive integer, got 0$"):
        study.rows(top=0)


def test_the_same_call_resumes_the_study_without_training_again(searched, monkeypatch, caplog):
    study, options, cwd = searched
    before = {p: p.read_bytes() for p in study.folder.glob("trial_*/evaluations.json")}
    monkeypatch.setenv("XDG_CACHE_HOME", str(cwd / "cache"))
    with caplog.at_level(logging.INFO, logger="tuner.study"):
        again = tuner.search_study(str(cwd / "tiny.toml"), **options)
    assert f"resuming study {study.folder}" in caplog.messages
    assert again.folder == study.folder and again.rows() == study.rows()
    assert {p: p.read_bytes() for p in study.folder.glob("trial_*/evaluations.json")} == before


def test_the_report_and_the_best_generator(searched, tmp_path):
    study, _, _ = searched
    path = study.write_report()
    assert path == study.folder / "report.html" and "<!DOCTYPE html>" in path.read_text()
    assert study.write_report(tmp_path / "r.html") == tmp_path / "r.html"
    with pytest.raises(UsageError, match=r"^report path must end in .html, got '.*r.txt'$"):
        study.write_report(tmp_path / "r.txt")

    generator = study.best_generator()
    assert generator.input_shape == (None, 100) and generator.output_shape == (None, 16, 16, 1)
    z = np.random.default_rng(0).standard_normal((8, 100)).astype("float32")
    images = np.asarray(generator(z))
    assert images.dtype == np.float32 and -1.0 <= images.min() < images.max() <= 1.0
    worst = study.rows()[-1]["trial_id"]
    assert not np.array_equal(np.asarray(study.best_generator(worst)(z)), images)
    with pytest.raises(UsageError, match=r"^--trial 7: no completed trial with that id"):
        study.best_generator(7)


def test_to_dataframe_has_the_csv_columns(searched):
    pandas = pytest.importorskip("pandas")
    from tuner.report.tables import flat_records

    study, _, _ = searched
    frame = study.to_dataframe()
    assert isinstance(frame, pandas.DataFrame)
    assert list(frame.columns) == flat_records(study.rows())[0]
    assert list(frame["trial_id"]) == [row["trial_id"] for row in study.rows()]
    assert list(frame["kid"]) == pytest.approx([row["kid"] for row in study.rows()])


def test_to_dataframe_hands_pandas_the_csv_columns_and_rows(searched, monkeypatch):
    """What reaches pandas.DataFrame, through a stand-in: pandas is optional and may be absent."""
    from types import SimpleNamespace

    from tuner.report.tables import flat_records

    study, _, _ = searched
    monkeypatch.setitem(sys.modules, "pandas", SimpleNamespace(
        DataFrame=lambda rows, columns: {"rows": rows, "columns": columns}))
    frame = study.to_dataframe(top=1)
    header, rows = flat_records(study.rows(top=1))
    assert frame == {"rows": rows, "columns": header}
    assert header[:6] == ["rank", "group", "study", "trial_id", "status", "learning_rate"]
    assert rows[0]["learning_rate"] == study.rows()[0]["hyperparameters"]["learning_rate"]
    assert rows[0]["kid"] == study.rows()[0]["kid"]


def test_to_dataframe_without_pandas_says_what_to_install(searched, monkeypatch):
    study, _, _ = searched
    monkeypatch.setitem(sys.modules, "pandas", None)  # `import pandas` now fails
    with pytest.raises(ImportError, match=r"^Study.to_dataframe\(\) needs pandas, which is not "
                                          r"installed: pip install pandas \(Study.rows\(\)"):
        study.to_dataframe()


# ---------------------------------------------------------------- options, errors, imports


def test_the_options_are_the_search_flags_with_their_defaults():
    from tuner import search
    from tuner.study.hypermodel import HYPERMODEL_OPTIONS, TUNER_OPTIONS

    args = search.parser().parse_args([])
    assert set(vars(args)) - {"debug", "quiet", *search.CLUSTER_FLAGS} == set(SEARCH_OPTIONS)
    assert search.config_from(args, []) == SearchConfig(command="python -m tuner.search")
    assert search_config() == SearchConfig()
    assert set(HYPERMODEL_OPTIONS) | set(TUNER_OPTIONS) == set(SEARCH_OPTIONS)
    config = search_config(no_flip=True, crop=1, epochs=np.int64(3), data=Path("faces"))
    assert (config.data.flip, config.data.crop, config.train.epochs, config.data.data) == (
        False, 1.0, 3, "faces")
    assert search.config_from(search.parser().parse_args(["--no-flip", "--epochs", "3", "--crop",
                                                          "1", "--data", "faces"]), []).data \
        == config.data


def test_bad_options_are_one_line_usage_errors(space_file):
    with pytest.raises(UsageError, match=r"^unknown option 'epoch' \(did you mean epochs\?\); the "
                                         r"options are data, person, crop, holdout, data_url, "):
        tuner.search_study(space_file, epoch=3)
    with pytest.raises(UsageError, match=r"^DCGANHyperModel.from_space: unknown option 'flip' "
                                         r"\(did you mean no_flip\?\); the options are data, "):
        tuner.DCGANHyperModel.from_space(space_file, flip=False)
    with pytest.raises(UsageError, match=r"^max_trials is not an option of "
                                         r"DCGANHyperModel.from_space but the tuner's: give it to "
                                         r"the tuner: kt.RandomSearch\(hm, objective=hm.objective, "
                                         r"max_trials=...\)$"):
        tuner.DCGANHyperModel.from_space(space_file, max_trials=3)
    with pytest.raises(UsageError, match=r"^repair is not an option of DCGANHyperModel.from_space "
                                         r"but the tuner's: setting damaged files aside belongs to "
                                         r"the study's own search: tuner.search_study\(\.\.\., "
                                         r"repair=True\)$"):
        tuner.DCGANHyperModel.from_space(space_file, repair=True)  # once taken and ignored
    with pytest.raises(UsageError, match=r"^--epochs must be an integer or None, got '3'$"):
        tuner.DCGANHyperModel.from_space(space_file, epochs="3")
    with pytest.raises(UsageError, match=r"^space must be a space's name \(lab, lab-mini, quick, wide\), the "
                                         r"path of a .toml file or a Space, got 3$"):
        tuner.search_study(3)


@pytest.mark.parametrize("flags, options", [
    (["--samples", "0"], {"samples": 0}),
    (["--space", "no-such-space"], {"space": "no-such-space"}),
    (["--objective", "kid-heldout"], {"objective": "kid-heldout"}),
])
def test_bad_values_get_the_search_clis_message(flags, options, space_file, search_cli, tmp_path):
    options = {"space": str(space_file), **options}
    cli = search_cli(tmp_path, "--space", options["space"], *flags, "--results-dir", "out")
    assert cli.returncode == 2
    line = cli.stderr.strip().splitlines()[-1]  # after the data's log line, where data loads
    for call, extra in ((tuner.search_study, {"results_dir": str(tmp_path / "out")}),
                        (tuner.DCGANHyperModel.from_space, {})):
        with pytest.raises(UsageError) as raised:
            call(**options, **extra)
        assert line == f"error: {raised.value}"
    assert not (tmp_path / "out").exists()


def test_import_tuner_loads_no_tensorflow_and_exports_the_public_names(tmp_path):
    code = ("import sys, tuner; from tuner import open_study, search_study, Study, UsageError; "
            "print(sorted(tuner.__all__)); "
            "print([m for m in ('tensorflow', 'keras', 'keras_tuner') if m in sys.modules])")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    names = ["DCGANHyperModel", "SearchStopped", "Space", "Study", "UsageError", "load_space",
             "open_study", "search_study"]
    assert result.stdout.splitlines() == [str(names), "[]"]
    for name in names:
        assert getattr(tuner, name).__name__ == name
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        _ = tuner.nothing
    with pytest.raises(UsageError, match=r"not a study folder"):
        tuner.open_study(tmp_path)


def test_search_studys_docstring_names_every_option():
    from tuner.common.config import SEARCH_OPTIONS

    documented = tuner.search_study.__doc__.split("**options:")[1].split("Returns:")[0]
    names = {word.strip(" ,.\n") for word in documented.split(":", 1)[1].split(",")}
    assert names == set(SEARCH_OPTIONS) - {"space"}
