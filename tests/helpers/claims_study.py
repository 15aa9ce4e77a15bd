"""A hand-made study whose truth is known by construction, and a space file of claims about it:
ten claims on a grid of 3 learning rates x 2 sizes x 2 fractions, three runs (seeds) each."""

from tests.helpers.study_folder import StudyWriter, run_entry

SEEDS = (0, 1, 2)
# What a seed does to every configuration alike (initial weights, batch order): pairing cancels it.
SEED_EFFECT = {0: 0.000, 1: 0.006, 2: -0.004}
PROTOCOL = {"features": "onet", "features_preprocessing": "uint8>pil-bicubic-48>gray3",
            "eval_size": 32, "n_real": 100, "n_fake": 500, "rank_by": "final"}
EPOCHS = (10, 20, 30, 40)

HEADER = """
[search]
tuner = "grid"
repeats = 3
[hyperparameters.learning_rate]
values = [1e-4, 2e-4, 4e-4, 8e-3]
[hyperparameters.image_size]
values = [16, 32]
[hyperparameters.subset_fraction]
values = [0.5, 1.0]
"""


def config(lr=2e-4, size=32, frac=1.0):
    return {"learning_rate": lr, "beta_1": 0.5, "image_size": size, "subset_fraction": frac}


def final_kid(hp, seed):
    """The constructed truth: full data beats half by 0.010; lr 2e-4 is best, 1e-4 is within
    0.0004 of it, 4e-4 is worse by 0.015; size 16 is worse by 0.017 on average, but by a
    seed-dependent amount (+0.030, +0.002, +0.019: not settled over 3 seeds)."""
    kid = 0.030 + SEED_EFFECT[seed]
    kid += 0.010 * (hp["subset_fraction"] == 0.5)
    kid += {1e-4: 0.0004, 2e-4: 0.0, 4e-4: 0.015, 8e-3: 0.05}[hp["learning_rate"]]
    if hp["image_size"] == 16:
        kid += {0: 0.030, 1: 0.002, 2: 0.019}[seed]
    return kid


def curve(final, plateau=True):
    """KID at EPOCHS: flat after epoch 20 (within 1%), or still falling by 30% after it."""
    if plateau:
        return [final * 2, final * 1.005, final * 0.998, final]
    return [final * 3, final * 2, final * 1.5, final]


def write_trial(folder, trial_id, hp, seconds=1.0, diverged=(), plateau=True):
    runs, evaluations = [], []
    for seed in SEEDS:
        kid = final_kid(hp, seed)
        runs.append(run_entry(seed, EPOCHS[-1], diverged_at_epoch=30 if seed in diverged else None,
                              reason="diverged at epoch 30: g_loss nan" if seed in diverged else "",
                              seconds_per_epoch=seconds * (1 + 0.01 * seed)))
        for epoch, value in zip(EPOCHS, curve(kid, plateau), strict=True):
            evaluations.append({"repeat": seed, "seed": seed, "epoch": epoch, "kid": value,
                                "kid_std": 0.001, "fd": value * 100, "swd": value * 1000,
                                "kid_heldout": value + 0.001})
    StudyWriter(folder, PROTOCOL).trial(trial_id, hp, evaluations=evaluations, runs=runs)


def make_study(tmp_path, claims_text, trials):
    """A study folder as the search writes it, its space file carrying `claims_text`."""
    folder = tmp_path / "made"
    folder.mkdir()
    writer = StudyWriter(folder, PROTOCOL)
    writer.study(objective="kid", rank_by="final", repeats=3, seed=0, protocol=PROTOCOL,
                 protocol_key="0123456789abcdef")
    writer.space(HEADER + claims_text)
    for number, (hp, options) in enumerate(trials):
        write_trial(folder, str(number), hp, **options)
    return folder


GRID = [(config(lr=lr, size=size, frac=frac), {"seconds": size / 16})
        for lr in (1e-4, 2e-4, 4e-4) for size in (16, 32) for frac in (0.5, 1.0)]

CLAIMS = """
[[claims]]
id = "full"
text = "The full set beats half of it."
kind = "better"
a = { subset_fraction = 1.0 }
b = { subset_fraction = 0.5 }

[[claims]]
id = "half"
text = "Half the set beats the full set."
kind = "better"
a = { subset_fraction = 0.5 }
b = { subset_fraction = 1.0 }
where = { learning_rate = 2e-4 }

[[claims]]
id = "size"
text = "32 beats 16."
kind = "better"
a = { image_size = 32 }
b = { image_size = 16 }
where = { learning_rate = 2e-4, subset_fraction = 1.0 }

[[claims]]
id = "unmeasured"
text = "5e-4 beats 2e-4."
kind = "better"
a = { learning_rate = 5e-4 }
b = { learning_rate = 2e-4 }

[[claims]]
id = "best-lr"
text = "2e-4 is best."
kind = "best"
param = "learning_rate"
value = 2e-4
where = { image_size = 32, subset_fraction = 1.0 }

[[claims]]
id = "wrong-best"
text = "4e-4 is best."
kind = "best"
param = "learning_rate"
value = 4e-4

[[claims]]
id = "similar"
text = "1e-4 and 2e-4 do not differ; 4e-4 does."
where = { image_size = 32 }
[[claims.checks]]
kind = "similar"
param = "learning_rate"
values = [1e-4, 2e-4]
[[claims.checks]]
kind = "similar"
param = "learning_rate"
values = [2e-4, 4e-4]

[[claims]]
id = "time"
text = "Epochs take longer at larger sizes."
kind = "increases"
quantity = "seconds_per_epoch"
param = "image_size"

[[claims]]
id = "plateau"
text = "Nothing improves after epoch 20."
kind = "plateau"
after_epoch = 20
where = { learning_rate = 2e-4, image_size = 32, subset_fraction = 1.0 }

[[claims]]
id = "too-late"
text = "Nothing improves after epoch 40."
kind = "plateau"
after_epoch = 40
"""


def space_with(tmp_path, claims_text):
    path = tmp_path / "space.toml"
    path.write_text(HEADER + claims_text)
    return path


def write_scores(folder, trial_id, hp, kids, diverged=()):
    """A trial whose runs (one per seed of `kids`, {seed: final KID}) are each evaluated once,
    at the last of EPOCHS: for studies whose seeds or scores a test picks by hand. Runs of the
    seeds in `diverged` diverged (at the last epoch; a KID of None: before any evaluation)."""
    runs = [run_entry(number, EPOCHS[-1], seed=seed,
                      diverged_at_epoch=EPOCHS[-1] if seed in diverged else None,
                      reason="g_loss nan" if seed in diverged else "")
            for number, seed in enumerate(kids)]
    evaluations = [{"repeat": number, "seed": seed, "epoch": EPOCHS[-1], "kid": kid,
                    "kid_std": 0.001, "fd": kid * 100, "swd": kid * 1000}
                   for number, (seed, kid) in enumerate(kids.items()) if kid is not None]
    writer = StudyWriter(folder, PROTOCOL)
    writer.trial(trial_id, hp, evaluations=evaluations, runs=runs)
    if not evaluations:  # every run diverged before its first evaluation
        writer.evaluations(trial_id, [], runs)


def study_of_scores(tmp_path, claims_text, trials):
    """make_study's folder with hand-picked scores: `trials` = [(hp, {seed: kid}), ...] or
    [(hp, {seed: kid}, diverged seeds), ...]."""
    folder = make_study(tmp_path, claims_text, [])
    for number, (hp, kids, *diverged) in enumerate(trials):
        write_scores(folder, str(number), hp, kids, *diverged)
    return folder
