"""Each --tuner runs a real (tiny) search and records its trials in the study folder."""

import json

import pytest

from tuner.config import DataConfig, ScoringConfig, SearchConfig, TrainOverrides
from tuner.engine import TUNER_CLASSES, make_tuner
from tuner.errors import UsageError

SPACE = """
[search]
max_trials = 2
hyperband_factor = 2
[train]
epochs = 2
batch_size = 8
eval_every = 1
precision = "float32"
[hyperparameters.learning_rate]
min = 1e-4
max = 1e-3
sampling = "log"
step = 3
[hyperparameters.image_size]
values = [16]
"""


@pytest.mark.parametrize("tuner", ["random", "bayesian", "hyperband", "grid"])
def test_every_tuner_completes_trials(tuner, lfw_tree, tmp_path):
    from tuner.results import load_trials
    from tuner.study import run_search

    (tmp_path / "s.toml").write_text(SPACE)
    rows = load_trials(run_search(SearchConfig(
        data=DataConfig(str(lfw_tree.root), lfw_tree.person),
        scoring=ScoringConfig(samples=16, cache_dir=str(tmp_path / "cache")),
        space=str(tmp_path / "s.toml"), tuner=tuner, results_dir=str(tmp_path / "out"))))
    assert rows and all(row["status"] == "COMPLETED" for row in rows)
    assert all(1e-4 <= row["hyperparameters"]["learning_rate"] <= 1e-3 for row in rows)
    if tuner != "hyperband":
        assert len(rows) == 2
    study = json.loads((tmp_path / "out" / "s" / "study.json").read_text())
    assert study["tuner"] == tuner


def test_an_unknown_tuner_is_refused():
    with pytest.raises(UsageError, match="--tuner must be one of grid, random, bayesian, hyperband"):
        make_tuner("annealing", None, "kid", 1, 1, 3, "out", "s", 0, 3)
    assert list(TUNER_CLASSES) == ["grid", "random", "bayesian", "hyperband"]
