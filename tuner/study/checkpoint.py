"""Retraining checkpoints: a seed's weights, optimizer state and score curve, saved to resume.
"""


import io
import json
import logging
import os
import zipfile
from pathlib import Path

import numpy as np

from tuner.common import files
from tuner.common.errors import UsageError

CHECKPOINT_FILE = "checkpoint.npz"
GENERATOR_FILE = "generator.keras"
BEST_GENERATOR_FILE = "generator_best.keras"
CURVE_FILE = "curve.png"
DAMAGED_SUFFIX = ".damaged"  # a checkpoint that cannot be read is kept beside, under this name

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------
# Checkpoints


class Checkpointer:
    """After each evaluation: the generators, the curve, then the checkpoint.

    The checkpoint is written last and in one atomic file (weights, optimizer
    and noise state, epochs done, history), so a kill at any moment leaves a
    checkpoint that is consistent with itself and never ahead of the files
    beside it.
    """

    def __init__(self, model, evaluation, seed_dir, identity, objective):
        self.model, self.evaluation, self.seed_dir = model, evaluation, Path(seed_dir)
        self.identity, self.objective = identity, objective

    def epoch_end(self, epoch, logs=None):
        from tuner.report.plots import score_curve  # matplotlib: only once training runs

        history = self.evaluation.history
        if not history or history[-1]["epoch"] != epoch + 1:
            return  # checkpoints go with evaluations only
        save_generator(self.model.generator, self.seed_dir / GENERATOR_FILE)
        if history[-1] is min(history, key=lambda row: row[self.objective]):
            save_generator(self.model.generator, self.seed_dir / BEST_GENERATOR_FILE)
        files.write_bytes(self.seed_dir / CURVE_FILE, score_curve(history))
        save_checkpoint(self.seed_dir / CHECKPOINT_FILE, self.model, {
            "identity": self.identity, "epochs": epoch + 1, "history": history,
            "epoch_seconds": self.evaluation.epoch_seconds})


def _state_variables(model):
    """Every variable a resume needs, in a fixed order: weights, BN statistics,
    the seed generators' states (noise and dropout), both optimizers' slots and step."""
    return [*model.variables, *model.g_optimizer.variables, *model.d_optimizer.variables]


def save_checkpoint(path, model, state):
    """Write the model's full training state and `state` (JSON) to one .npz, atomically."""
    arrays = {f"v{i:04d}": np.asarray(v.numpy()) for i, v in enumerate(_state_variables(model))}
    buffer = io.BytesIO()
    np.savez(buffer, state=np.array(json.dumps(state)), **arrays)
    files.write_bytes(path, buffer.getvalue())


def read_checkpoint_state(path):
    """The JSON state of a checkpoint (epochs, history, identity), without loading weights;
    None for a damaged one, which is set aside (`checkpoint.npz.damaged`, never deleted) so
    its seed trains afresh."""
    try:
        with np.load(path, allow_pickle=False) as saved:
            state = json.loads(str(saved["state"]))
            if not isinstance(state, dict) or not isinstance(state.get("epochs"), int):
                raise ValueError("its state holds no epochs")
            return state
    except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile) as err:
        path = Path(path)
        aside = path.with_name(path.name + DAMAGED_SUFFIX)
        os.replace(path, aside)
        log.warning("%s: damaged, cannot be read (%s); set aside as %s, this seed trains "
                    "afresh", path, err or type(err).__name__, aside.name)
        return None


def restore_checkpoint(path, model):
    """Load a checkpoint into a freshly built `model`; return the epochs it had done."""
    model.g_optimizer.build(model.generator.trainable_variables)  # slots exist before assigning
    model.d_optimizer.build(model.discriminator.trainable_variables)
    variables = _state_variables(model)
    with np.load(path, allow_pickle=False) as saved:
        names = sorted(k for k in saved.files if k != "state")
        if len(names) != len(variables):
            raise UsageError(f"{path} holds {len(names)} variables, the model has "
                             f"{len(variables)}; delete its folder to retrain that seed afresh")
        for variable, name in zip(variables, names):
            variable.assign(saved[name])
        return json.loads(str(saved["state"]))["epochs"]


def save_generator(generator, path):
    """The generator as a `.keras` file that plain `keras.models.load_model` reads."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / Path(path).name
        generator.save(staged)
        files.write_bytes(path, staged.read_bytes())

