"""`python -m tuner.eye` in a real browser: Debian's Chromium driven by Playwright answers both
blind tasks by clicks and keys, reloads mid-session and undoes an answer; eye.json and the
leaderboard's eye column show the answers. Screenshots go to $EYE_SHOTS when it is set."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.helpers.eye_study import write_eye_study

playwright = pytest.importorskip("playwright.sync_api", reason="needs playwright (test extra)")
CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium on PATH")
ROOT = Path(__file__).resolve().parents[2]


def start_eye(study, *flags):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "tuner.eye", str(study), "--no-browser",
                                *flags], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=env)
    line = process.stdout.readline()
    if "http://" not in line:
        process.kill()
        raise AssertionError(f"no address printed: {line!r} {process.stderr.read()}")
    return process, line.split()[2]


def stop(process):
    process.terminate()
    process.wait(timeout=30)


def shot(page, name, selector=None):
    folder = os.environ.get("EYE_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        target = page.locator(selector) if selector else page
        target.screenshot(path=str(Path(folder) / name))


def progress(page):
    return page.locator("#progress").inner_text()


@pytest.fixture
def browser():
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"],
                                    headless=True)
        yield browser
        browser.close()


def test_both_tasks_by_clicks_and_keys_survive_a_reload(tmp_path, browser):
    study = write_eye_study(tmp_path / "study")
    process, url = start_eye(study, "--pairs", "4", "--faces", "4")
    try:
        page = browser.new_page(viewport={"width": 1100, "height": 700})
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
        assert page.request.get(origin + "/").status == 403
        assert page.request.get(origin + "/api/state?t=wrong").status == 403
        page.goto(url)
        page.fill("#judge-name", "Ann")  # asked once
        page.click("#judge-ok")
        page.wait_for_selector("#pair:not([hidden])")
        assert progress(page) == "0 / 8 answered"
        sources = [page.get_attribute(f"#{side}-img", "src") for side in ("left", "right")]
        assert all("trial" not in s and "epoch" not in s for s in sources)  # nothing tells which
        shot(page, "eye-pairs.png")
        page.click("#left")
        page.wait_for_function("document.body.dataset.index === '1'")
        page.keyboard.press("ArrowRight")
        page.wait_for_function("document.body.dataset.index === '2'")
        page.keyboard.press("3")
        page.wait_for_function("document.body.dataset.index === '3'")
        page.reload()  # mid-session: the same place, the name not asked again
        page.wait_for_selector("#pair:not([hidden])")
        assert progress(page) == "3 / 8 answered"
        assert page.locator("#judge").is_hidden()
        page.click("#undo")
        page.wait_for_function("document.body.dataset.index === '2'")
        assert progress(page) == "2 / 8 answered"
        page.keyboard.press("1")
        page.wait_for_function("document.body.dataset.index === '3'")
        page.click("#right")
        page.wait_for_selector("#face:not([hidden])")
        assert progress(page) == "4 / 8 answered"
        page.wait_for_function("document.getElementById('face-img').naturalWidth === 16")
        shot(page, "eye-faces.png")
        for key in ("click:#real", "ArrowRight", "1", "click:#generated"):
            before = progress(page)
            if key.startswith("click:"):
                page.click(key[6:])
            else:
                page.keyboard.press(key)
            page.wait_for_function(f"document.getElementById('progress').textContent !== "
                                   f"{json.dumps(before)}")
        page.wait_for_selector("#done:not([hidden])")
        assert progress(page) == "8 / 8 answered"
    finally:
        stop(process)

    doc = json.loads((study / "eye.json").read_text())
    kept = [j for j in doc["judgements"] if not j.get("undone")]
    assert len(doc["judgements"]) == 9 and len(kept) == 8
    assert {j["judge"] for j in doc["judgements"]} == {"Ann"}
    assert [j["answer"] for j in kept] == ["left", "right", "left", "right", "real",
                                           "generated", "real", "generated"]
    undone = next(j for j in doc["judgements"] if j.get("undone"))
    assert undone["answer"] == "tie" and undone["item"] == 2
    faces = [j for j in kept if j["task"] == "face"]
    assert sorted(j["truth"] for j in faces) == ["generated", "generated", "real", "real"]
    assert all((j["trial"] is None) == (j["truth"] == "real") for j in faces)

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    board = subprocess.run([sys.executable, "-m", "tuner.leaderboard", str(study), "--format",
                            "json"], capture_output=True, text=True, env=env, timeout=120)
    assert board.returncode == 0, board.stderr
    records = {r["trial_id"]: r for r in json.loads(board.stdout)}
    compared = {t for j in kept if j["task"] == "pair" for t in (j["left"], j["right"])}
    assert {t for t, r in records.items() if r["eye"] is not None} == compared
    assert records["3"]["eye"] is None  # the failed trial is never shown
    assert abs(sum(records[t]["eye"] for t in compared)) < 1e-6  # centred log-strengths
    text = subprocess.run([sys.executable, "-m", "tuner.leaderboard", str(study)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert " eye" in text.stdout and "Bradley-Terry" in text.stdout

    report = subprocess.run([sys.executable, "-m", "tuner.leaderboard", str(study), "--html"],
                            capture_output=True, text=True, env=env, timeout=300)
    assert report.returncode == 0, report.stderr
    page = browser.new_page(viewport={"width": 1600, "height": 900})
    page.goto((study / "report.html").as_uri())
    section = page.locator("#eye")
    assert "4 blind pairwise choices" in section.inner_text()
    assert "agrees with the eye on" in section.inner_text()
    shot(page, "eye-report.png", "#eye")


def test_short_exposure_hides_the_face(tmp_path, browser):
    study = write_eye_study(tmp_path / "study")
    process, url = start_eye(study, "--pairs", "0", "--faces", "2", "--exposure-ms", "300",
                             "--judge", "Bo")
    try:
        page = browser.new_page()
        page.goto(url)
        page.wait_for_selector("#face:not([hidden])")
        page.wait_for_selector("#mask:not([hidden])", timeout=20_000)
        assert page.locator("#face-img").is_hidden()
        page.keyboard.press("ArrowLeft")  # answered after the face is gone
        page.wait_for_function("document.body.dataset.index === '1'")
    finally:
        stop(process)
    doc = json.loads((study / "eye.json").read_text())
    assert [j["answer"] for j in doc["judgements"]] == ["real"]
    assert doc["sessions"][0]["judge"] == "Bo"
