"""Pairs as image files for judges who see only files, and their answers recorded as the page
records them: python -m tuner.eye STUDY --export-pairs DIR / --import-answers FILE."""

import json

import numpy as np
import pytest
from PIL import Image

from tests.helpers.eye_study import SIZE, write_eye_study
from tuner.common.errors import UsageError
from tuner.eye import main
from tuner.judging import export
from tuner.judging.tasks import read_grid
from tuner.results.eye_file import read_eye


@pytest.fixture
def study(tmp_path):
    return write_eye_study(tmp_path / "study")


def cli(*argv):
    return main([*map(str, argv), "--quiet"])


def test_export_writes_only_numbered_pair_images_and_import_records_the_session(
        study, tmp_path, capsys):
    folder = tmp_path / "pairs"
    assert cli(study, "--judge", "Ann", "--pairs", "4", "--export-pairs", folder) == 0
    assert "wrote 4 pairs for Ann" in capsys.readouterr().out
    assert sorted(p.name for p in folder.iterdir()) == ["0001.png", "0002.png", "0003.png",
                                                        "0004.png"]
    (session,) = read_eye(study)["sessions"]
    assert session["judge"] == "Ann" and session["settings"]["export"] is True
    mapping = json.loads((study / "eye_exports" / f"{session['id']}.json").read_text())
    assert mapping["pairs"]["1"] == session["items"][0]
    # the image: the left grid, the page's gap, the right grid, each 560 wide; nothing else
    item = session["items"][0]
    image = np.asarray(Image.open(folder / "0001.png"))
    left = read_grid(study / f"trial_{item['left']}" / "samples" /
                     (f"repeat_{item['left_run']}" if item["left_run"] else "") /
                     "epoch_00010.png")
    height = round(left.shape[0] * export.WIDTH / left.shape[1])
    assert image.shape == (height, 2 * export.WIDTH + export.GAP)
    assert (image[:, export.WIDTH:export.WIDTH + export.GAP] == export.BACKGROUND).all()
    scaled = np.asarray(Image.fromarray(left).resize((export.WIDTH, height),
                                                     Image.Resampling.BICUBIC))
    assert np.array_equal(image[:, :export.WIDTH], scaled)
    assert left.shape[0] > SIZE  # a grid of faces, not one

    answers = tmp_path / "answers.txt"
    answers.write_text("# Ann's answers\n1 left\n2 RIGHT\n\n")
    assert cli(study, "--judge", "Ann", "--import-answers", answers) == 0
    answers.write_text("1 left\n2 right\n3 tie\n4 left\n")
    assert cli(study, "--judge", "Ann", "--import-answers", answers) == 0  # again: once each
    assert cli(study, "--judge", "Ann", "--import-answers", answers) == 0
    assert "recorded 0 answers of Ann: 4 of 4" in capsys.readouterr().out.splitlines()[-1]
    judgements = read_eye(study)["judgements"]
    assert [j["answer"] for j in judgements] == ["left", "right", "tie", "left"]
    assert [j["item"] for j in judgements] == [0, 1, 2, 3]
    for j, item in zip(judgements, session["items"]):
        assert (j["left"], j["right"], j["runs"]) == (item["left"], item["right"],
                                                      [item["left_run"], item["right_run"]])
        assert j["judge"] == "Ann" and j["session"] == session["id"] and j["source"] == "files"


def test_bad_answers_files_are_one_line_and_record_nothing(study, tmp_path, capsys):
    cli(study, "--judge", "Ann", "--pairs", "3", "--export-pairs", tmp_path / "pairs")
    answers = tmp_path / "answers.txt"
    for text, message in (("1 left\n1 right\n", "pair 1 is answered twice"),
                          ("1 up\n", "answers.txt:1: '1 up' is not"),
                          ("1 left\n3 left\n", "pair 2 has no answer, yet later ones do"),
                          ("4 left\n", "pair 4 is not among the 3 exported to Ann")):
        answers.write_text(text)
        assert cli(study, "--judge", "Ann", "--import-answers", answers) == 2
        assert message in capsys.readouterr().err
    answers.write_text("1 left\n")
    cli(study, "--judge", "Ann", "--import-answers", answers)
    answers.write_text("1 right\n2 left\n")
    assert cli(study, "--judge", "Ann", "--import-answers", answers) == 2
    assert "pair 1 was answered left before, now right" in capsys.readouterr().err
    assert [j["answer"] for j in read_eye(study)["judgements"]] == ["left"]
    assert cli(study, "--judge", "Bo", "--import-answers", answers) == 2
    assert "--judge Bo: no pairs were exported to this judge" in capsys.readouterr().err
    assert cli(study, "--import-answers", answers) == 2
    assert "--import-answers needs --judge NAME" in capsys.readouterr().err
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(UsageError, match="not an empty folder"):
        export.export_pairs(None, "Ann", tmp_path / "full")


def test_the_page_does_not_resume_an_exported_session(study, tmp_path):
    from tuner.common.config import EyeConfig
    from tuner.judging.run import open_page

    cli(study, "--judge", "Ann", "--pairs", "3", "--export-pairs", tmp_path / "pairs")
    server = open_page(EyeConfig(study=str(study), judge="Ann", pairs=2, faces=0))
    server.httpd.server_close()
    exported = read_eye(study)["sessions"][0]["id"]
    assert server.session.id != exported and len(server.session.items) == 2


def test_an_older_eye_json_loads_and_its_unnamed_session_is_adopted(study):
    """eye.json as the first version wrote it: a session planned before the judge was named,
    no `settings`, and judgements without `runs`."""
    from tuner.common.config import EyeConfig
    from tuner.judging.run import open_page

    items = [{"task": "pair", "left": "0", "right": "1", "left_run": 0, "right_run": 0},
             {"task": "pair", "left": "1", "right": "2", "left_run": 0, "right_run": 0}]
    old = {"format": 1, "sessions": [{"id": "old1", "judge": None, "started": "t",
                                      "items": items}],
           "judgements": [{"session": "old1", "item": 0, "task": "pair", "answer": "left",
                           "judge": None, "time": "t", "left": "0", "right": "1"}]}
    (study / "eye.json").write_text(json.dumps(old))
    server = open_page(EyeConfig(study=str(study), judge="Cy", pairs=2, faces=0))
    server.httpd.server_close()
    assert server.session.id == "old1" and server.session.state()["answered"] == 1
    assert server.session.answer(1, "right")
    doc = read_eye(study)
    assert doc["sessions"][0]["judge"] == "Cy" and doc["judgements"][1]["judge"] == "Cy"


@pytest.mark.parametrize("doc, problem", [
    ({"sessions": [{"id": "a"}], "judgements": []}, "`sessions\\[0\\]`: 'items' is a required property"),
    ({"sessions": [], "judgements": [{"task": "pair", "answer": "up", "left": "0",
                                      "right": "1"}]}, "`judgements\\[0\\].answer`: 'up' is not one of"),
    ({"sessions": [], "judgements": [{"task": "pair", "answer": "left"}]},
     "`judgements\\[0\\]`: 'left' is a required property"),
])
def test_an_eye_json_of_the_wrong_shape_is_named_in_one_line(study, doc, problem):
    (study / "eye.json").write_text(json.dumps(doc))
    with pytest.raises(UsageError, match=f"eye.json: {problem}.*move it aside"):
        read_eye(study)


def test_a_second_judge_gets_the_same_pairs_in_a_new_order(study, tmp_path, capsys):
    cli(study, "--judge", "Ann", "--pairs", "5", "--export-pairs", tmp_path / "ann")
    assert cli(study, "--judge", "Bo", "--same-pairs-as", "Ann", "--export-pairs",
               tmp_path / "bo") == 0
    ann, bo = read_eye(study)["sessions"]
    assert bo["settings"]["same_pairs_as"] == "Ann"

    def grids(items):
        return sorted(sorted([(i["left"], i["left_run"]), (i["right"], i["right_run"])])
                      for i in items)
    assert len(bo["items"]) == 5 and grids(bo["items"]) == grids(ann["items"])
    assert cli(study, "--judge", "Cy", "--same-pairs-as", "Dee", "--export-pairs",
               tmp_path / "cy") == 2
    assert "--same-pairs-as Dee: no session of this judge with pairs" in capsys.readouterr().err
