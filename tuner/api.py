"""The Python API's studies: `search_study` runs one as `python -m tuner.search` does,
`open_study` opens a study folder, and a `Study` answers from its folder:

    study = search_study("quick", epochs=20)      # or open_study("results/quick")
    study.rows()             # the leaderboard's JSON rows, best first
    study.write_report()     # <study>/report.html, its path
    study.claims()           # the verdicts on the space file's claims
    study.best_generator()   # a keras model: noise (N, latent_dim) -> images (N, S, S, 1)

Imports no TensorFlow until a search runs or a generator is loaded.
"""

import json
import os
from pathlib import Path

from tuner.common import interruption
from tuner.common.config import (
    DEFAULT_RESULTS_DIR,
    DEFAULT_SPACE,
    LAB_HYPERPARAMETERS,
    LATENT_DIM,
    search_config,
)
from tuner.common.errors import UsageError
from tuner.report.tables import flat_records, render
from tuner.results.rankings import rank_studies
from tuner.results.snapshot import STUDY_FILE, find_study, is_study, load_study, read_study
from tuner.results.verdicts import weigh_study
from tuner.spaces.space import Space, load_space, not_a_space
from tuner.study.retraining import pick_trial
from tuner.study.runner import run_search

CHECKPOINT_FILE = "checkpoint.weights.h5"  # keras-tuner's weights of a trial (its first run's end)
PANDAS_MISSING = ("Study.to_dataframe() needs pandas, which is not installed: pip install pandas "
                  "(Study.rows() gives the same trials as dicts)")


def search_study(space=DEFAULT_SPACE, **options):
    """Run or resume a study exactly as `python -m tuner.search` does; return it.

    Args:
        space: a shipped space's name ("quick", "lab", "lab-mini", "wide"), the
            path of a space TOML file, or a `Space` (`tuner.load_space`).
        **options: the search CLI's flags in snake_case, with its defaults:
            data, data_url, data_sha256, person, crop, no_flip, holdout, tuner, max_trials, epochs,
            eval_every, batch_size, latent_dim, precision, repeats, rank_by,
            objective, features, features_weights, samples, eval_size,
            results_dir, study, seed, overwrite, repair, max_consecutive_failures,
            time_budget, max_epochs_total, settle, max_repeats, margin.

    Returns:
        The `Study` in `<results_dir>/<study>`.

    Raises:
        UsageError: an unknown option or a bad value, space file, data source
            or results folder (the CLI's one-line messages), before any training.
        SearchStopped: `max_consecutive_failures` trials in a row failed; the
            study so far is `open_study(<results_dir>/<study>)`.
        KeyboardInterrupt: Ctrl-C (or a notebook's interrupt), honoured after
            the current training step; the same call resumes the study.
    """
    path = _space_path(space)
    config = search_config(command=_call_text(space, options), space=path, **options)
    with interruption.sigint_as_request("interrupted. Run the same call again to resume."):
        folder = run_search(config)
        interruption.check()  # a Ctrl-C after the last safe point still ends as one
    return Study(folder)


def open_study(study, results_dir=DEFAULT_RESULTS_DIR):
    """The study in folder `study`, or named `study` under `results_dir`.

    Raises:
        UsageError: no study there (naming the studies that are).
    """
    return Study(find_study(os.fspath(study), os.fspath(results_dir)))


def _space_path(space):
    """The space argument as SearchConfig.space: a name or a path."""
    if isinstance(space, Space):
        if Path(space.path).read_text(encoding="utf-8") != space.text:
            raise UsageError(f"space: {space.path} has changed since this Space was loaded; "
                             f"load it again (tuner.load_space) or pass its name or path")
        return space.path
    if isinstance(space, (str, os.PathLike)):
        return os.fspath(space)
    raise not_a_space(space)


def _call_text(space, options):
    """The call as study.json's command: `tuner.search_study('quick', epochs=20)`."""
    space = space.path if hasattr(space, "path") else os.fspath(space)
    arguments = [repr(space)] + [f"{name}={value!r}" for name, value in options.items()]
    return f"tuner.search_study({', '.join(arguments)})"


class Study:
    """A study folder: its trials as the leaderboard ranks them, its report, its best generator.

    Every answer is read from the folder when asked, so a study a search is
    still writing answers with its trials so far.

    Args:
        folder: the study folder (it holds study.json).
    """

    def __init__(self, folder):
        self.folder = Path(folder)
        if not is_study(self.folder):
            raise UsageError(f"{self.folder}: not a study folder (no {STUDY_FILE}); "
                             f"give the folder a search or a tuner with "
                             f"DCGANHyperModel.from_space wrote")

    @property
    def name(self):
        return self.folder.name

    def __repr__(self):
        return f"Study({str(self.folder)!r})"

    def _rankings(self):
        return rank_studies([read_study(self.folder)])

    def rows(self, top=None):
        """The trials, best first, as `python -m tuner.leaderboard FOLDER --format json` lists them.

        Args:
            top: only the best `top` completed trials (None: every trial).
        """
        if top is not None and (isinstance(top, bool) or not isinstance(top, int) or top <= 0):
            raise UsageError(f"--top must be a positive integer, got {top!r}")
        return json.loads(render(self._rankings(), "json", top))

    def to_dataframe(self, top=None):
        """The rows as a pandas DataFrame, one column per `--format csv` column (nested values
        spread out: `learning_rate`, `vs_best_diff`, ...). Needs pandas (ImportError if absent)."""
        try:
            import pandas
        except ImportError:
            raise ImportError(PANDAS_MISSING) from None
        header, rows = flat_records(self.rows(top))
        return pandas.DataFrame(rows, columns=header)

    def write_report(self, path=None):
        """Write the HTML report (`--html`) to `path`, default `<study>/report.html`; return its path."""
        if path is not None and not os.fspath(path).lower().endswith((".html", ".htm")):
            raise UsageError(f"report path must end in .html, got {os.fspath(path)!r}")
        from tuner.report.html import write_report  # matplotlib: only when a report is wanted

        return write_report(read_study(self.folder), path)

    def best_generator(self, trial=None):
        """The generator of the best completed trial (or of trial `trial`) as a float32 keras model.

        It maps a (N, latent_dim) standard-normal batch to (N, S, S, 1) images in
        [-1, 1]: the weights keras-tuner saved at the end of the trial's first
        training run (seed = the study's seed), its last epoch, as retrained
        generators are saved (`tuner.retrain` trains it afresh on other seeds).

        Raises:
            UsageError: no completed trial, no such trial, or its checkpoint is missing.
        """
        row = pick_trial(self.folder, None if trial is None else str(trial))
        checkpoint = Path(row["folder"]) / CHECKPOINT_FILE
        if not checkpoint.is_file():
            raise UsageError(f"trial {row['trial_id']}: no {CHECKPOINT_FILE} in {row['folder']}; "
                             f"retrain it with python -m tuner.retrain {self.folder} --trial "
                             f"{row['trial_id']}")
        return _generator(checkpoint, row["hyperparameters"],
                          load_study(self.folder).get("train", {}))

    def claims(self, claims_file=None):
        """The claims of the study's space file (or of `claims_file`) with their verdicts, in
        `python -m tuner.claims --format json`'s form ("claims" list); [] without claims."""
        claims = None if claims_file is None else load_space(str(claims_file)).claims
        return weigh_study(self.folder, claims)


def _generator(checkpoint, hyperparameters, train):
    """A trial's generator from keras-tuner's checkpoint of its DCGAN, rebuilt in float32."""
    from tuner.gan.dcgan import build_dcgan, build_generator  # keras: only when a generator is wanted

    values = {name: default if hyperparameters.get(name) is None else hyperparameters[name]
              for name, default in LAB_HYPERPARAMETERS.items()}
    latent_dim = train.get("latent_dim", LATENT_DIM)
    gan = build_dcgan(values["image_size"], values["learning_rate"], values["beta_1"],
                      latent_dim=latent_dim, precision=train.get("precision", "float32"))
    gan.load_weights(checkpoint)  # built as the search built it, optimizers included
    generator = build_generator(values["image_size"], latent_dim, "float32")
    generator.set_weights(gan.generator.get_weights())
    return generator
