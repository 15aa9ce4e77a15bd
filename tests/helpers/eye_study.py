"""A hand-made study for the eye: three finished configurations with sample grids (trial 0 has
two runs, so a second grid under samples/repeat_1/), a failed one, and a folder of real faces
as its data source."""

import numpy as np

from tests.conftest import make_face
from tests.helpers.images import save_faces
from tests.helpers.study_folder import StudyWriter, run_entry

PROTOCOL = {"features": "onet", "eval_size": 32, "n_real": 100, "n_fake": 500,
            "reference_flips": True, "holdout": 0.0, "rank_by": "final"}
SIZE = 16
FACES_PER_GRID = 12
# trial: (learning rate, final KID, FD, SWD, brightness of its faces)
TRIALS = {"0": (2e-4, 0.010, 30.0, 3.0, 0), "1": (5e-4, 0.020, 20.0, 6.0, 40),
          "2": (2e-3, 0.040, 40.0, 9.0, 80)}


def faces(seed, shift, count=FACES_PER_GRID, size=SIZE):
    rng = np.random.default_rng(seed)
    return np.stack([np.clip(make_face(rng, size).astype(int) - shift, 0, 254).astype(np.uint8)
                     for _ in range(count)])


def write_eye_study(folder, real_faces=14):
    """The study folder `folder`; its real faces in `folder`/../faces."""
    source = save_faces(folder.parent / "faces", lambda size: make_face(
        np.random.default_rng(size * 1000 + len(list((folder.parent / "faces").glob("*")))),
        64), real_faces, size=64)
    writer = StudyWriter(folder, PROTOCOL)
    writer.study(objective="kid", rank_by="final", repeats=2, protocol=PROTOCOL,
                 train={"epochs": 10}, data={"source": str(source), "person": None, "crop": 1.0})
    for trial_id, (lr, kid, fd, swd, shift) in TRIALS.items():
        hp = {"learning_rate": lr, "beta_1": 0.5, "image_size": SIZE, "subset_fraction": 1.0}
        runs = [run_entry(r, 10) for r in range(2)]
        evaluations = [{"repeat": r, "seed": r, "epoch": 10, "kid": kid, "kid_std": kid / 10,
                        "fd": fd, "swd": swd} for r in range(2)]
        writer.trial(trial_id, hp, evaluations=evaluations, runs=runs,
                     faces=faces(int(trial_id), shift))
        if trial_id == "0":
            from tuner.common import files

            files.write_png(writer.trial_dir(trial_id) / "samples" / "repeat_1" / "epoch_00010.png",
                            files.grid_image(faces(99, shift)))
    writer.trial("3", {"learning_rate": 1e-1, "image_size": SIZE}, status="FAILED",
                 message="boom")
    return folder


def write_scored_eye_study(folder, cache_dir, samples=40, without=()):
    """`write_eye_study` with what rescoring needs: study.json's data, scoring and protocol as
    a search at 16 pixels with ONet writes them, each judged run's final_samples.npz (written
    here; left out for the (trial, run) pairs in `without`, as an older study lacks them) and
    each run's recorded final KID, FD and SWD computed from those samples. Needs TF."""
    import json
    from dataclasses import asdict

    from tuner.common import files
    from tuner.common.config import DataConfig, ScoringConfig
    from tuner.data.face_sets import load_faces
    from tuner.data.images import from_uint8
    from tuner.metrics.scoring import Scorer

    write_eye_study(folder)
    source = str(folder.parent / "faces")
    scoring = ScoringConfig(samples=samples, cache_dir=str(cache_dir))
    scorer = Scorer(load_faces(source), scoring, eval_size=SIZE, flip=True, rank_by="final")
    meta = json.loads((folder / "study.json").read_text())
    meta.update(config={"data": asdict(DataConfig(data=source)), "scoring": asdict(scoring)},
                protocol=scorer.protocol.as_dict())
    files.write_json(folder / "study.json", meta)
    for trial_id, (*_, shift) in TRIALS.items():
        trial_dir = folder / f"trial_{trial_id}"
        doc = json.loads((trial_dir / "evaluations.json").read_text())
        for row in doc["evaluations"]:
            run = row["repeat"]
            pixels = faces(100 * int(trial_id) + run, shift, count=samples)
            row.update({k: v for k, v in scorer.score_images(from_uint8(pixels)[..., None]).items()
                        if k in ("kid", "fd", "swd")})
            if (trial_id, run) not in without:
                npz = trial_dir / "samples" / (f"repeat_{run}" if run else "") / \
                    "final_samples.npz"
                npz.parent.mkdir(parents=True, exist_ok=True)
                np.savez_compressed(npz, samples=pixels)
        files.write_json(trial_dir / "evaluations.json", doc)
    return folder
