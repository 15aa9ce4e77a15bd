"""What the eye is asked: pairs of configurations' sample grids and single faces, planned from
a study's finished trials. No TF.

Pairs: every configuration's final sample grids (one per training run: run 0's is
trial_<id>/samples/epoch_NNNNN.png, run k's samples/repeat_<k>/epoch_NNNNN.png), two
configurations side by side, left and right drawn at random. The pairs closest in the
study's objective come first (those the scores hardly separate are where the eye tells most),
after a first round that brings in every configuration once. A session never shows the same
two grids twice; asked for more pairs than the study holds, it plans those it has and says so.

Faces: real training faces (the study's data source, resized as training resizes them) and
generated ones cut out of the final sample grids, half and half, in random order.
"""

import itertools
import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from tuner.common.errors import UsageError
from tuner.common.names import objective_metric
from tuner.data.images import resize_uint8
from tuner.results.snapshot import GRID_NAME, objective_of

logger = logging.getLogger(__name__)
REPEAT_DIR = re.compile(r"^repeat_(\d+)$")
GUTTER = 2  # tuner.common.files.grid_image's gap between faces
SCORES = ("kid", "fd", "swd")


@dataclass(frozen=True)
class Configuration:
    """A finished trial as the eye sees it: its final grid per run and its scores."""

    trial_id: str
    image_size: int
    grids: tuple      # (run, path) of each run's final evaluation grid
    scores: dict      # kid, fd, swd and the objective (mean over runs)


def final_grids(trial_dir):
    """(run, path) of each run's last sample grid: samples/epoch_*.png is run 0's,
    samples/repeat_<k>/epoch_*.png run k's."""
    samples = Path(trial_dir) / "samples"
    folders = [(0, samples)] + sorted(
        (int(m.group(1)), p) for p in samples.glob("repeat_*")
        if p.is_dir() and (m := REPEAT_DIR.match(p.name)))
    out = []
    for run, folder in folders:
        grids = sorted((int(m.group(1)), p) for p in folder.glob("epoch_*.png")
                       if (m := GRID_NAME.match(p.name)))
        if grids:
            out.append((run, grids[-1][1]))
    return tuple(out)


def configurations(study):
    """The study's completed trials that left sample grids, as `Configuration`s.

    Raises:
        UsageError: the study has no such trial.
    """
    objective = objective_of(study.meta)
    found = []
    for row in study.rows:
        grids = final_grids(row["folder"]) if row["status"] == "COMPLETED" else ()
        size = (row.get("hyperparameters") or {}).get("image_size")
        if grids and isinstance(size, int):
            scores = {name: row.get(name) for name in SCORES}
            scores[objective] = row.get(objective)
            found.append(Configuration(row["trial_id"], size, grids, scores))
    if not found:
        raise UsageError(f"{study.path}: no finished trial with sample grids to judge; let "
                         f"`python -m tuner.search` finish a trial first")
    return found


def grid_pairs(configs):
    """How many distinct pairs of grids the study holds: two runs of two configurations,
    in either order (a configuration is never set against itself)."""
    runs = [len(c.grids) for c in configs]
    return (sum(runs) ** 2 - sum(n * n for n in runs)) // 2


def plan_pairs(configs, count, rng, objective="kid"):
    """Up to `count` pair items ({"task": "pair", "left", "right", "left_run", "right_run"}):
    first a round in which every configuration appears, then the pairs closest in
    `objective`, cycling through all pairs of configurations again if `count` asks for more.
    A pair of configurations meets again with runs not yet set against each other, the
    runs shown least so far first; no two grids are planned twice, so a study of M
    distinct pairs of grids (`grid_pairs`) gives at most M items, and says so."""
    if len(configs) < 2 or count <= 0:
        return []
    total = grid_pairs(configs)
    if count > total:
        logger.warning("--pairs %d: the study holds %d distinct pairs of grids (%d "
                       "configurations' final grids), each shown once a session; planning %d",
                       count, total, len(configs), total)
        count = total
    objective = objective_metric(objective)
    by_id = {c.trial_id: c for c in configs}
    order = _pair_order(by_id, objective)
    unused = {}  # a pair of configurations' run pairs not yet planned, made when first needed
    shown = {(t, run): 0 for t, c in by_id.items() for run, _ in c.grids}
    items = []
    while len(items) < count:
        for pair in order:
            if pair not in unused:
                unused[pair] = [(i, j) for i, _ in by_id[pair[0]].grids
                                for j, _ in by_id[pair[1]].grids]
            if unused[pair] and len(items) < count:
                items.append(_pair_item(pair, unused[pair], shown, rng))
    return items


def replan_pairs(items, rng):
    """The same pairs of grids as `items` (pair items), in a new random order, each with its
    sides drawn again: another judge's view of exactly the pairs a first judge saw, so the
    two can be compared pair by pair."""
    out = []
    for k in rng.permutation(len(items)):
        item = items[k]
        if rng.random() < 0.5:
            item = {"task": "pair", "left": item["right"], "right": item["left"],
                    "left_run": item["right_run"], "right_run": item["left_run"]}
        out.append(dict(item))
    return out


def _pair_order(by_id, objective):
    """Pairs of configurations: the closest in `objective` that brings in a configuration not
    yet shown, until all are in; then the others, closest first."""
    def gap(pair):
        a, b = (by_id[t].scores.get(objective) for t in pair)
        return math.inf if a is None or b is None else abs(a - b)

    ordered = sorted(itertools.combinations(by_id, 2), key=lambda p: (gap(p), p))
    first, seen = [], set()
    for pair in ordered:
        if not set(pair) <= seen:
            first.append(pair)
            seen |= set(pair)
    return first + [pair for pair in ordered if pair not in first]


def _pair_item(pair, unused, shown, rng):
    """Take from `unused` the runs of `pair` shown least so far (ties at random), sides at
    random."""
    a, b = pair
    rng.shuffle(unused)
    k = min(range(len(unused)), key=lambda n: shown[a, unused[n][0]] + shown[b, unused[n][1]])
    i, j = unused.pop(k)
    shown[a, i] += 1
    shown[b, j] += 1
    if rng.random() < 0.5:
        return {"task": "pair", "left": a, "right": b, "left_run": i, "right_run": j}
    return {"task": "pair", "left": b, "right": a, "left_run": j, "right_run": i}


def cells(grid, size):
    """The faces of a sample grid image (2-D uint8) of `size`-pixel faces, row by row; blank
    cells (the grid's white padding) left out."""
    columns = (grid.shape[1] + GUTTER) // (size + GUTTER)
    rows = (grid.shape[0] + GUTTER) // (size + GUTTER)
    out = []
    for r in range(rows):
        for c in range(columns):
            y, x = r * (size + GUTTER), c * (size + GUTTER)
            face = grid[y:y + size, x:x + size]
            if face.shape == (size, size) and not np.all(face == 255):
                out.append(face)
    return out


def read_grid(path):
    with Image.open(path) as image:
        return np.asarray(image.convert("L"))


def plan_faces(configs, count, rng, real_count):
    """`count` face items in random order, half real ({"task": "face", "trial": None,
    "real_index", "size"}) and half generated ({"trial", "run", "cell", "size"}), the
    generated ones spread over the configurations in turn, each face shown once."""
    if count <= 0:
        return []
    pools = {}
    for c in configs:
        pool = [(run, k) for run, path in c.grids for k in range(len(cells(read_grid(path),
                                                                               c.image_size)))]
        pools[c.trial_id] = [pool[i] for i in rng.permutation(len(pool))]
    generated = sum(len(pool) for pool in pools.values())
    if count > generated + min(real_count, count // 2):
        held = generated + min(real_count, generated)
        logger.warning("--faces %d: the study holds %d generated faces and %d real ones, each "
                       "shown once a session; planning %d", count, generated, real_count, held)
        count = held
    n_real = min(count // 2, real_count) if real_count else 0
    n_fake = min(count - n_real, generated)
    fakes = []
    order = [c for c in configs if pools[c.trial_id]]
    while len(fakes) < n_fake and any(pools[c.trial_id] for c in order):
        for c in order:
            if pools[c.trial_id] and len(fakes) < n_fake:
                run, k = pools[c.trial_id].pop()
                fakes.append({"task": "face", "trial": c.trial_id, "run": run, "cell": k,
                              "size": c.image_size})
    sizes = [f["size"] for f in fakes] or [configs[0].image_size]
    reals = [{"task": "face", "trial": None, "real_index": int(i), "size": sizes[n % len(sizes)]}
             for n, i in enumerate(rng.choice(real_count, size=n_real, replace=False))] \
        if n_real else []
    items = fakes + reals
    return [items[i] for i in rng.permutation(len(items))]


def grid_of(configs, trial_id, run):
    config = next(c for c in configs if c.trial_id == trial_id)
    return dict(config.grids)[run]


def generated_face(configs, item):
    """The generated face a face item shows (uint8, its trial's image size)."""
    grid = read_grid(grid_of(configs, item["trial"], item["run"]))
    return cells(grid, item["size"])[item["cell"]]


def real_faces(meta, study_dir):
    """The study's training faces (a tuner.data FaceSet) from study.json's data source.

    Raises:
        UsageError: study.json names no data source, or it cannot be read any more.
    """
    from tuner.data.face_sets import load_faces  # only when faces are asked for: decodes images

    data = meta.get("data") or {}
    source = data.get("source")
    if not source:
        raise UsageError(f"{Path(study_dir) / 'study.json'}: names no data source, so there "
                         f"are no real faces to show; use --faces 0 to judge pairs only")
    try:
        return load_faces(source, person=data.get("person"), crop=data.get("crop") or 1.0)
    except UsageError as err:
        raise UsageError(f"the study's data source {source} (study.json) cannot be read: {err}; "
                         f"put it back where it was, or use --faces 0") from None


def real_face(faces, item):
    """A real face at the item's size, resized as training resizes them."""
    return resize_uint8(np.asarray(faces.images[item["real_index"]])[None], item["size"])[0]
