"""The names the tool uses everywhere: hyperparameters, metrics, objectives, and how each is shown.

Every module takes these from here, so a new metric or hyperparameter is added
in one place. Stdlib only.
"""

# The four hyperparameters a space may search, in the order tables and plots show them.
HYPERPARAMETERS = ("learning_rate", "beta_1", "image_size", "subset_fraction")

# Scores of one evaluation, as evaluations.json stores them; a trial's row carries each,
# reduced by the study's rank-by rule within a run, then averaged over runs.
SCORES = ("kid", "kid_std", "fd", "swd", "density", "coverage", "kid_train", "kid_heldout",
          "fd_heldout")
# What a study may be ranked by (metric names, as stored); the CLI spells them as OBJECTIVES.
RANKING_METRICS = ("kid", "fd", "swd", "kid_heldout")
OBJECTIVES = tuple(name.replace("_", "-") for name in RANKING_METRICS)  # kid-heldout
# What a claim's check may compare.
CLAIM_METRICS = ("kid", "fd", "swd", "kid_heldout", "fd_heldout")
# Recorded by keras-tuner per trial, beside the scores.
RECORD_METRICS = ("seconds_per_epoch",)

# How each name is shown to a person.
LABELS = {"learning_rate": "learning rate", "beta_1": "beta_1", "image_size": "image size (px)",
          "subset_fraction": "subset fraction", "kid": "KID", "fd": "FD", "swd": "SWD",
          "kid_heldout": "held-out KID", "fd_heldout": "held-out FD"}
# Column headers of the terminal table, where a label is too wide.
HEADERS = {"kid": "KID", "fd": "FD", "swd": "SWD", "kid_heldout": "KIDho", "fd_heldout": "FDho"}
# Decimals a score is shown with: the digits that matter.
DECIMALS = {"kid": 4, "kid_std": 4, "kid_heldout": 4, "kid_train": 4, "fd": 2, "fd_heldout": 2,
            "swd": 2}  # SWD is in units of 10^-3, like the ProGAN paper's


def objective_metric(objective):
    """The metric an objective flag names: "kid-heldout" -> "kid_heldout"."""
    return objective.replace("-", "_")
