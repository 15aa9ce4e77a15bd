"""A hand-made study whose trials train several runs (repeats), written the way the search
writes it (evaluations.json with "repeats"): five configurations, three runs each."""

from tests.helpers.study_folder import StudyWriter, run_entry

PROTOCOL = {"features": "onet", "eval_size": 32, "n_real": 100, "n_fake": 500,
            "reference_flips": True, "holdout": 0.0, "rank_by": "final"}
LAB = {"beta_1": 0.5, "image_size": 32, "subset_fraction": 1.0}
# Final KIDs of the quick space's three learning rates at seeds 0, 1, 2 (measured), and two
# made-up settings: one clearly worse, one whose runs 1 and 2 diverged.
FINAL_KIDS = {"0": (2e-4, [0.0286, 0.0291, 0.0333]), "1": (5e-4, [0.0341, 0.0362, 0.0302]),
              "2": (2e-3, [0.0432, 0.0390, 0.0363]), "3": (1e-2, [0.0600, 0.0610, 0.0605]),
              "4": (2e-2, [0.0900, 0.0950, 0.1000])}
DIVERGED = {"4": {1: 25, 2: 50}}  # trial: {repeat: epoch}


def evaluation(repeat, seed, epoch, kid, **more):
    return {"repeat": repeat, "seed": seed, "epoch": epoch, "kid": kid, "kid_std": kid / 10,
            "fd": kid * 100, "swd": kid * 300, "density": 0.5, "coverage": 0.4, "sample_std": 0.2,
            "g_loss": 1.5, "d_loss": 0.7, "seconds": 0.3, **more}


def write_trial(study_dir, trial_id, hp, runs, status="COMPLETED", diverged=None, repeats=None):
    """trial_<id>/ with evaluations.json holding `runs` ([(epoch, kid), ...] per repeat, seeds
    0, 1, ...; only the first `repeats` have an entry; a run without points finished
    unevaluated) and keras-tuner's trial.json (only
    status, hyperparameters, seconds_per_epoch)."""
    diverged = diverged or {}
    entries = [run_entry(r, points[-1][0] if points else 0, diverged_at_epoch=diverged.get(r),
                         reason="g_loss not finite" if r in diverged else "")
               for r, points in enumerate(runs)]
    evaluations = [evaluation(r, r, epoch, kid) for r, points in enumerate(runs)
                   for epoch, kid in points]
    metrics = {"seconds_per_epoch": 0.12} if status == "COMPLETED" else {}
    return StudyWriter(study_dir, PROTOCOL).trial(trial_id, hp, status=status, metrics=metrics,
                                                  evaluations=evaluations,
                                                  runs=entries[:repeats])


def write_study(folder, rank_by="final", repeats=3, objective="kid"):
    StudyWriter(folder, PROTOCOL).study(
        objective=objective, rank_by=rank_by, repeats=repeats, holdout=0.0, seed=0,
        protocol={**PROTOCOL, "rank_by": rank_by}, protocol_key="0123456789abcdef",
        train={"epochs": 50}, data={})


def write_repeated_study(folder):
    """Five configurations, three runs each (evaluated at epochs 25 and 50), ranked by final
    KID; trial 4's runs 1 and 2 diverged."""
    write_study(folder)
    for trial_id, (lr, kids) in FINAL_KIDS.items():
        runs = [[(25, kid + 0.01), (50, kid)] for kid in kids]
        write_trial(folder, trial_id, {**LAB, "learning_rate": lr}, runs,
                    diverged=DIVERGED.get(trial_id))
    return folder


def row_of(study, trial_id):
    return next(row for row in study.rows if row["trial_id"] == trial_id)
