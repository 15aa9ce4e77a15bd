"""The HTML report, its plots and the text table, on a hand-made study folder.

The folder is written the way keras-tuner and the search write it, with what a
real tiny search rarely produces: a failed trial, a running one, text that
needs escaping.
"""

import base64
import html
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.helpers.claims_study import CLAIMS, GRID, make_study
from tests.helpers.repeated_study import row_of
from tests.helpers.study_folder import StudyWriter
from tuner.common import files
from tuner.report import plots
from tuner.report.html import render_report, write_report
from tuner.report.page import thumbnail
from tuner.report.tables import ONE_RUN, format_text, records
from tuner.results.rankings import rank_studies
from tuner.results.runs import load_evaluations
from tuner.results.snapshot import read_study, trial_row

PROTOCOL = {"features": "onet", "features_preprocessing": "uint8>pil-bicubic-48>gray3",
            "features_weights": "mtcnn/onet.lz4", "eval_size": 32, "n_real": 12, "n_fake": 64,
            "resize": "pil-bicubic", "latent_seed": 1234, "kid_subsets": 100,
            "kid_subset_size": 1000, "data_fingerprint": "abcdef0123456789"}
FAILURE = ("Traceback (most recent call last):\n  File \"x.py\", line 1\n"
           "keras_tuner.src.errors.FailedTrialError: diverged at epoch 2: <g_loss> nan & "
           "d_loss 0.0 after the discriminator won for five epochs in a row, so no later "
           "epoch could recover\n")


def write_trial(study_dir, trial_id, status, hp, evaluations=(), message=None, seconds=None):
    """trial_<id>/ as keras-tuner and the hypermodel leave it: trial.json, evaluations, grids."""
    metrics = {}
    if status == "COMPLETED":
        best = min(evaluations, key=lambda e: e["kid"])
        metrics = {**{k: best[k] for k in ("kid", "kid_std", "fd", "density", "coverage")},
                   "best_epoch": best["epoch"], "epochs": evaluations[-1]["epoch"],
                   "seconds_per_epoch": seconds}
    faces = np.random.default_rng(int(trial_id)).integers(
        0, 255, (64, hp["image_size"], hp["image_size"]), dtype=np.uint8)
    StudyWriter(study_dir, PROTOCOL).trial(trial_id, hp, status=status, metrics=metrics,
                                           message=message, evaluations=evaluations, faces=faces)


def evaluation(epoch, kid):
    return {"epoch": epoch, "kid": kid, "kid_std": kid / 10, "fd": kid * 100, "density": 0.5,
            "coverage": 0.4, "g_loss": 1.5, "d_loss": 0.7, "seconds": 0.3}


@pytest.fixture(scope="module")
def hand_made_study(tmp_path_factory):
    """handmade/: four trials from before repeats (one run each): two completed, one failed
    (a message that needs escaping), one running."""
    folder = tmp_path_factory.mktemp("results") / "handmade"
    StudyWriter(folder, PROTOCOL).legacy_study(
        created="2025-01-01T00:00:00", objective="kid",
        command="python -m tuner.search --study handmade --data '<faces & more>'",
        space={"name": "handmade", "path": "handmade.toml",
               "text": "[search]\ntuner = \"grid\"\n",
               "description": "four trials, one failed, one running"},
        tuner="grid", max_trials=4,
        train={"epochs": 20, "batch_size": 16, "eval_every": 10, "precision": "float32"},
        data={"source": "lfw-mini.tgz", "name": "Ada_Lovelace", "person": "Ada_Lovelace",
              "images": 12, "fingerprint": "abcdef0123456789", "crop": 1.0, "flip": True},
        protocol=PROTOCOL, protocol_key="0123456789abcdef",
        versions={"python": "3.11", "tensorflow": "2.21.0", "keras-tuner": "1.4.8"})
    lab = {"beta_1": 0.5, "subset_fraction": 1.0}
    write_trial(folder, "00", "COMPLETED", {**lab, "learning_rate": 2e-4, "image_size": 16},
                [evaluation(10, 0.09), evaluation(20, 0.07)], seconds=0.1)
    write_trial(folder, "01", "COMPLETED", {**lab, "learning_rate": 2e-3, "image_size": 32},
                [evaluation(10, 0.05), evaluation(20, 0.06)], seconds=0.25)
    write_trial(folder, "02", "FAILED", {**lab, "learning_rate": 2e-2, "image_size": 32},
                [evaluation(10, 0.3)], message=FAILURE)
    write_trial(folder, "03", "RUNNING", {**lab, "learning_rate": 5e-4, "image_size": 16},
                [evaluation(10, 0.08)])
    return read_study(folder)


@pytest.fixture(scope="module")
def page(hand_made_study):
    return render_report(hand_made_study)


def test_trials_rank_completed_first_then_running_then_failed(hand_made_study):
    assert [(r["trial_id"], r["status"], r["rank"]) for r in hand_made_study.rows] == [
        ("01", "COMPLETED", 1), ("00", "COMPLETED", 2), ("03", "RUNNING", None),
        ("02", "FAILED", None)]
    running = hand_made_study.rows[2]
    assert running["kid"] == 0.08 and running["epochs"] == 10  # its best evaluation so far
    assert hand_made_study.rows[3]["message"].startswith("diverged at epoch 2: <g_loss> nan")


def test_the_report_has_its_sections_in_reading_order(page):
    assert re.findall(r"<h2>(.*?)</h2>", page) == [
        "Leaderboard", "Score against each hyperparameter", "Seconds per epoch by image size",
        "Trials", "Provenance"]
    assert re.findall(r'<section class="trial" id="trial-(\d+)">', page) == ["01", "00", "03", "02"]
    assert "Best: <a href=\"#trial-01\">trial 01</a>" in page
    assert ("ahead of #2 (trial 00, 0.0700 ± 0.0070) by 0.0200: not settled, one training run "
            "each, so the order ignores training noise.") in page


def test_every_image_is_an_embedded_png(page):
    sources = re.findall(r'<img [^>]*src="([^"]*)"', page)
    # 4 comparisons; the two winners: curve, 2 grids, whole grid; the others: curve, 1 grid
    assert len(sources) == 4 + 2 * 4 + 2 * 2
    for src in sources:
        assert src.startswith("data:image/png;base64,")
        with Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))) as image:
            assert image.format == "PNG" and image.width > 0


def test_all_text_from_the_study_folder_is_escaped(page):
    assert "<g_loss>" not in page and "&lt;g_loss&gt; nan &amp; d_loss" in page
    assert html.escape("--data '<faces & more>'") in page
    assert '<p class="reason">diverged at epoch 2' in page


def test_epoch_times_stand_beside_the_labs(page):
    rows = re.findall(r"<tr><td>(\d+x\d+)</td><td>([^<]*)</td><td>([^<]*)</td>", page)
    assert rows == [("16x16", "–", "0.100"), ("32x32", "0.129", "0.250"),
                    ("64x64", "0.200", "–"), ("128x128", "1.046", "–")]


def test_provenance_names_data_protocol_versions_and_command(page):
    provenance = page[page.index("<h2>Provenance</h2>"):]
    for text in ("abcdef0123456789", "0123456789abcdef", "mtcnn/onet.lz4", "keras-tuner",
                 "1.4.8", "lfw-mini.tgz", "python -m tuner.search --study handmade"):
        assert text in provenance


def test_write_report_writes_report_html_in_the_study_folder(hand_made_study):
    path = write_report(hand_made_study)
    assert path == hand_made_study.path / "report.html"
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    path.unlink()


def test_a_thumbnail_is_the_first_four_by_four_faces(tmp_path):
    faces = np.arange(64, dtype=np.uint8).repeat(16 * 16).reshape(64, 16, 16) * 3
    files.write_png(tmp_path / "grid.png", files.grid_image(faces))
    png, width = thumbnail(tmp_path / "grid.png", 16)
    with Image.open(io.BytesIO(png)) as image:
        assert image.size == (4 * 18 - 2, 4 * 18 - 2)
        assert image.getpixel((0, 0)) == 0 and image.getpixel((18, 18)) == 9 * 3  # face 9
    assert width == 2 * image.width  # small faces are shown enlarged
    _, whole = thumbnail(tmp_path / "grid.png", 20)  # not this grid's geometry
    assert whole == 8 * 18 - 2


def test_plots_mark_failed_trials_and_survive_a_study_without_scores(hand_made_study):
    only_failed = [row for row in hand_made_study.rows if row["status"] == "FAILED"]
    for rows in (hand_made_study.rows, only_failed, []):
        with Image.open(io.BytesIO(plots.comparison(rows, "learning_rate"))) as image:
            assert image.format == "PNG"
    with Image.open(io.BytesIO(plots.score_curve([evaluation(5, 0.1)], best_epoch=5))) as image:
        assert image.format == "PNG"


def test_the_text_table_fits_any_width_and_wraps_failure_reasons(hand_made_study):
    ranking = rank_studies([hand_made_study])[0]
    for width in (100, 80, 60, 40):
        text = format_text(ranking, width=width)
        assert max(map(len, text.splitlines())) <= width, text
        assert "diverged at epoch 2: <g_loss> nan" in " ".join(text.split())
    narrow = format_text(ranking, width=40).splitlines()
    assert sum(line.startswith("rank") for line in narrow) >= 2  # continued below, keyed by rank


def test_top_keeps_the_best_completed_trials(hand_made_study):
    ranking = rank_studies([hand_made_study])[0]
    text = format_text(ranking, top=1, width=200)
    assert "top 1 shown; not shown: 1 done, 1 running, 1 failed" in text
    assert [r["trial_id"] for r in records([ranking], top=1)] == ["01"]


def test_a_half_written_trial_is_named_damaged_not_fatal(tmp_path):
    """Files are written atomically, so half a trial.json is damage, never a trial starting."""
    (tmp_path / "trial_5").mkdir()
    (tmp_path / "trial_5" / "trial.json").write_text('{"trial_id": "5", "sta')
    StudyWriter(tmp_path, PROTOCOL).evaluations("5", [evaluation(10, 0.2)])
    row = trial_row(tmp_path / "trial_5")
    assert (row["trial_id"], row["status"], row["kid"]) == ("5", "DAMAGED", None)
    assert row["damaged"].startswith("trial_5/trial.json: not valid JSON (truncated?): ")
    (tmp_path / "trial_5" / "trial.json").unlink()  # evaluated before keras-tuner's record
    row = trial_row(tmp_path / "trial_5")
    assert (row["trial_id"], row["status"], row["kid"]) == ("5", "RUNNING", 0.2)


def test_a_study_from_before_repeats_reads_and_ranks_as_before(hand_made_study):
    """No "repeats" in evaluations.json, no rank_by in study.json: one run per trial, ranked
    by its best evaluation, every score from that evaluation, as trial.json recorded them."""
    for row in hand_made_study.rows[:2]:
        record = json.loads((Path(row["folder"]) / "trial.json").read_text())
        recorded = {k: v["observations"][-1]["value"][0]
                    for k, v in record["metrics"]["metrics"].items()}
        assert {k: row[k] for k in recorded} == recorded
        assert (row["repeats"], row["score_se"], row["best"], row["diverged"]) == (
            1, None, row["kid"], 0)
        assert row["repeat_scores"] == [{"repeat": 0, "seed": None, "score": row["kid"],
                                         "diverged_at_epoch": None}]
    assert hand_made_study.rank_by == "best" and hand_made_study.rows[0]["rank_by"] == "best"
    ranking = rank_studies([hand_made_study])[0]
    text = format_text(ranking, width=200)
    header = next(line for line in text.splitlines() if line.startswith("rank"))
    assert header.split() == ["rank", "trial", "status", "lr", "beta1", "size", "frac", "KID±std",
                              "FD", "best/ep", "s/ep", "features"]
    assert text.splitlines()[0] == ("handmade: 4 trials (2 done, 1 running, 1 failed); ranked by "
                                    "best KID (optimistic), lower is better")
    assert ONE_RUN in text and "vs #1" not in text


# ---------------------------------------------------------------- a study of repeated runs


def test_the_report_states_whether_the_winner_is_settled(repeated_study):
    page = render_report(repeated_study)
    assert ("ahead of #2 (trial 1, 0.0335 ± 0.0018 (3 runs)) by 0.0032: not settled, within "
            "training noise (paired over 3 seeds, 99.5% interval -0.0415 to 0.0478: 95% "
            "simultaneous over 10 pairs and 1 planned look, Bonferroni)") in page
    assert '<span class="status diverged">done*</span>' in page
    assert "KID 0.0303 ± 0.0015 over 3 runs (seed 0: 0.0286, seed 1: 0.0291, seed 2: 0.0333)" \
        in page
    assert "best (optimistic) 0.0303 at epoch 50 of 50" in page
    assert ("<p><b>The selection is not settled: best: trial 0; trials 3 and 4 settled worse; "
            "trials 1 and 2 still open (may be the best).</b></p>") in page


def test_plots_show_the_error_over_runs_diverged_trials_and_every_run(repeated_study):
    first, diverged = row_of(repeated_study, "0"), row_of(repeated_study, "4")
    assert plots.error_bar(first, "kid") == first["score_se"]
    assert plots.error_bar({**first, "score_se": None}, "kid") == first["kid_std"]
    assert plots.error_bar({**first, "score_se": None}, "fd") is None
    assert (plots.marker(first), plots.marker(diverged)) == ("o", "D")
    with Image.open(io.BytesIO(plots.comparison(repeated_study.rows, "learning_rate"))) as image:
        assert image.format == "PNG"
    evaluations = load_evaluations(diverged["folder"])
    assert len(evaluations) == 6
    with Image.open(io.BytesIO(plots.score_curve(evaluations, None, [25, 50]))) as image:
        assert image.width == 4 * 320  # KID, FD, SWD and losses panels
    without_swd = [{k: v for k, v in e.items() if k != "swd"} for e in evaluations]
    with Image.open(io.BytesIO(plots.score_curve(without_swd))) as image:
        assert image.width == 3 * 320


# ---------------------------------------------------------------- claims


def test_the_report_opens_with_the_claims_and_their_figures(tmp_path):
    from PIL import Image

    from tuner.report.html import render_report
    from tuner.results.snapshot import read_study

    folder = make_study(tmp_path, CLAIMS, GRID)
    faces = np.zeros((64, 16, 16), np.uint8)
    writer = StudyWriter(folder)
    for trial in folder.glob("trial_*"):
        writer.samples(trial.name.removeprefix("trial_"), 40, faces)
    page = render_report(read_study(folder))
    assert page.index("<h2>Claims</h2>") < page.index("<h2>Leaderboard</h2>")
    claims = page[page.index("<h2>Claims</h2>"):page.index("<h2>Leaderboard</h2>")]
    assert claims.count('<div class="claim">') == 10
    assert claims.count('class="verdict supported"') == 4
    assert 'class="verdict not-settled"' in claims and 'class="verdict not-measured"' in claims
    assert "to settle: about 8 seeds (now 3) for 80% power" in claims
    # a figure per check with numbers (similar has two; the unmeasured plateau still shows its
    # curves, which end before its epoch), and grids of the compared configurations
    assert claims.count('class="plot"') == 10
    assert "<figcaption>image_size=16</figcaption>" in claims
    for uri in re.findall(r'src="data:image/png;base64,([^"]+)"', claims):
        Image.open(io.BytesIO(base64.b64decode(uri))).verify()


def test_a_study_without_claims_has_no_claims_section(tmp_path):
    from tuner.report.html import render_report
    from tuner.results.snapshot import read_study

    page = render_report(read_study(make_study(tmp_path, "", GRID)))
    assert "<h2>Claims</h2>" not in page
