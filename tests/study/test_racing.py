"""Racing.run end to end on a hand-made study with fake training: seeds go only where the
selection can still change, and the race stops when it is settled (no TensorFlow)."""

import json
from dataclasses import dataclass
from types import SimpleNamespace

from tests.helpers.study_folder import StudyWriter, run_entry
from tuner.common.config import MAX_REPEATS, TrainSettings
from tuner.results.snapshot import read_study
from tuner.study.racing import Racing
from tuner.study.run_queue import Claims

PROTOCOL = {"features": "onet", "eval_size": 32, "n_real": 100, "n_fake": 500,
            "rank_by": "final"}
HP = {"beta_1": 0.5, "image_size": 32, "subset_fraction": 1.0}
LEVEL = 0.020
SHARE = 0.5
NOISE = (0.0, 0.003, -0.002, 0.004, -0.001, 0.002, -0.003, 0.001, -0.004, 0.0025)
# each configuration's true score, and the share of another seed's noise it takes besides
# the seed's own (a seed effect shared by all, which pairing cancels, and noise of its own)
TRUTH = {"0": (LEVEL, 0.0), "1": (LEVEL * 3, 0.3), "2": (LEVEL * 1.02, SHARE),
         "3": (LEVEL * 1.5, 0.3)}


def score(trial_id, seed):
    mean, own = TRUTH[trial_id]
    return mean + NOISE[seed] + own * NOISE[(seed + 3) % len(NOISE)]


@dataclass
class Done:
    history: list

    def as_run(self):
        return {"status": "completed"}


class FakeModel:
    """Trains a run by writing the score the truth gives its seed into evaluations.json."""

    def __init__(self, settings):
        self.settings, self.trained = settings, []

    def train_run(self, folder, values, seed, worker=None):
        path = folder / "evaluations.json"
        doc = json.loads(path.read_text())
        kid = score(folder.name.removeprefix("trial_"), seed)
        doc["repeats"].append(run_entry(seed, 1, seed=seed))
        doc["evaluations"].append({"repeat": seed, "seed": seed, "epoch": 1, "kid": kid})
        path.write_text(json.dumps(doc))
        self.trained.append((folder.name, seed))
        return Done([{"kid": kid}])


def make_study(tmp_path, settings):
    writer = StudyWriter(tmp_path / "raced", PROTOCOL)
    writer.study(objective="kid", rank_by="final", repeats=3, protocol=PROTOCOL,
                 train={"settle": True, "max_repeats": MAX_REPEATS, "spending": "seeds",
                        "margin": settings.margin, "seed": 0, "epochs": 1})
    for number, trial_id in enumerate(TRUTH):
        rows = [{"repeat": s, "seed": s, "epoch": 1, "kid": score(trial_id, s)} for s in range(3)]
        writer.trial(trial_id, {**HP, "learning_rate": 1e-4 * (number + 1)}, evaluations=rows,
                     runs=[run_entry(s, 1, seed=s) for s in range(3)])
    return writer.folder


def test_the_race_seeds_only_what_can_change_and_stops_when_the_selection_is_settled(tmp_path):
    """Trials 1 and 3 are far worse (3x and 1.5x the best's score): out of the running after
    the first round, they get no seed; trial 2 is 2% worse than #1, within the 15% margin:
    the race adds seeds to it and #1 until that tie is shown, then stops, below the cap."""
    settings = TrainSettings(epochs=1, batch_size=8, eval_every=1, repeats=3, settle=True,
                             max_repeats=MAX_REPEATS, spending="seeds", margin=0.15)
    folder = make_study(tmp_path, settings)
    model = FakeModel(settings)
    config = SimpleNamespace(max_consecutive_failures=3, max_epochs_total=None,
                             time_budget=None)
    assert Racing(model, folder, config, Claims(folder, "search")).run() == ""
    trained = {name for name, _ in model.trained}
    assert trained == {"trial_0", "trial_2"}
    runs = {row["trial_id"]: row["repeats"] for row in read_study(folder).rows}
    assert runs["1"] == runs["3"] == 3 and 3 < runs["0"] == runs["2"] < MAX_REPEATS
    rows = {row["trial_id"]: row for row in read_study(folder).rows}
    assert rows["2"]["vs_best"]["status"] == "equivalent" and rows["2"]["may_be_best"]
    assert {rows[t]["vs_best"]["status"] for t in "13"} <= {"worse", "not best"}
