"""Hand-made study folders in the documented on-disk format (results/README.md).

Every test that needs a study folder without running a search writes it here, so the format
lives in one place:

    <study>/study.json                          `StudyWriter.study(**fields)` (older: `legacy_study`)
    <study>/space.toml                          `StudyWriter.space(text)`
    <study>/trial_<id>/trial.json               `StudyWriter.trial(...)` (keras-tuner's record)
    <study>/trial_<id>/evaluations.json         `StudyWriter.evaluations(...)`
    <study>/trial_<id>/samples/epoch_NNNNN.png  `StudyWriter.samples(...)`

What a test's trials score (their evaluations and runs) stays in the test; this module only
knows where each piece goes and how it is spelled.
"""

from pathlib import Path

from tuner.common import files

# The settings study.json holds in `train` alone (older studies also held them at the top level).
TRAIN_SETTINGS = ("objective", "rank_by", "repeats")


def observations(metrics):
    """keras-tuner's `metrics` of a trial.json: each value as the one observation of a metric."""
    return {"metrics": {name: {"direction": "min", "observations": [{"value": [value], "step": 0}]}
                        for name, value in metrics.items()}}


def run_entry(repeat, epochs, seed=None, diverged_at_epoch=None, reason="", **more):
    """One entry of evaluations.json's `repeats`: a training run, diverged when
    `diverged_at_epoch` is given (seed defaults to the repeat's number)."""
    diverged = diverged_at_epoch is not None
    return {"repeat": repeat, "seed": repeat if seed is None else seed, "epochs": epochs,
            "status": "diverged" if diverged else "completed",
            "diverged_at_epoch": diverged_at_epoch, "reason": reason, **more}


class StudyWriter:
    """Writes the files of one study folder, `folder`, scored under `protocol` (needed only
    for evaluations.json)."""

    def __init__(self, folder, protocol=None):
        self.folder = Path(folder)
        self.protocol = protocol

    def trial_dir(self, trial_id):
        return self.folder / f"trial_{trial_id}"

    def study(self, train=None, **fields):
        """study.json as a search writes it: the study's name (the folder's) and `fields`, each
        training setting (TRAIN_SETTINGS) once, inside `train`."""
        train = {**(train or {}), **{k: fields.pop(k) for k in TRAIN_SETTINGS if k in fields}}
        return self.legacy_study(**fields, **({"train": train} if train else {}))

    def legacy_study(self, **fields):
        """study.json as versions before each setting was kept once wrote it: `fields` as given
        (`objective`, `rank_by` and `repeats` at the top level, beside `train`)."""
        files.write_json(self.folder / "study.json", {"study": self.folder.name, **fields})
        return self.folder

    def space(self, text):
        """space.toml: the space file as it was when the study started."""
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "space.toml").write_text(text)

    def trial(self, trial_id, hp, status="COMPLETED", metrics=None, message=None,
              evaluations=(), runs=None, faces=None):
        """trial_<id>/ as keras-tuner and the hypermodel leave it: trial.json (its `metrics`
        as keras-tuner's observations); evaluations.json when there are `evaluations` (with
        `repeats` entries when `runs` is given, else in the format of studies from before
        repeats); the sample grid of `faces` at each evaluation's epoch when `faces` is given.
        Returns the trial's folder."""
        folder = self.trial_dir(trial_id)
        files.write_json(folder / "trial.json", {
            "trial_id": trial_id, "hyperparameters": {"space": [], "values": hp},
            "metrics": observations(metrics or {}), "score": None, "best_step": 0,
            "status": status, "message": message})
        if evaluations:
            self.evaluations(trial_id, evaluations, runs)
        if faces is not None:
            for evaluation in evaluations:
                self.samples(trial_id, evaluation["epoch"], faces)
        return folder

    def evaluations(self, trial_id, evaluations, runs=None):
        """trial_<id>/evaluations.json: the protocol, the runs (if given), every evaluation."""
        doc = {"protocol": self.protocol}
        if runs is not None:
            doc["repeats"] = list(runs)
        doc["evaluations"] = list(evaluations)
        files.write_json(self.trial_dir(trial_id) / "evaluations.json", doc)

    def samples(self, trial_id, epoch, faces):
        """trial_<id>/samples/epoch_NNNNN.png: the grid of `faces` (uint8, (n, size, size))."""
        files.write_png(self.trial_dir(trial_id) / "samples" / f"epoch_{epoch:05d}.png",
                        files.grid_image(faces))
