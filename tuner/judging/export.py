"""Pairs judged from image files: a judge who can only see files gets each pair of a session
as one numbered PNG (the two grids side by side, as the page shows them, nothing else), and
writes back a file of answers, one line `<number> left|right|tie` each, which is recorded into
eye.json as that judge's session, as the page would record it. No TF.

Which trials and runs a number shows is kept in eye.json (the session's items) and in
<study>/eye_exports/<session>.json, never beside the images.
"""

import io
import logging
import re
from pathlib import Path

from PIL import Image

from tuner.common import files
from tuner.common.errors import UsageError

logger = logging.getLogger(__name__)
WIDTH = 560       # the page's width of each grid (min(44vw, 560px))
GAP = 32          # the page's gap between them (2em)
BACKGROUND = 34   # the page's background, #222
EXPORTS_DIR = "eye_exports"
ANSWER_LINE = re.compile(r"^\s*(\d+)\s+(left|right|tie)\s*$", re.IGNORECASE)


def pair_png(session, index):
    """PNG bytes of item `index` of `session`: left grid | right grid, each WIDTH wide."""
    sides = [_scaled(session.item_png(index, side)) for side in ("left", "right")]
    height = max(image.height for image in sides)
    canvas = Image.new("L", (2 * WIDTH + GAP, height), BACKGROUND)
    canvas.paste(sides[0], (0, 0))
    canvas.paste(sides[1], (WIDTH + GAP, 0))
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG")
    return buffer.getvalue()


def _scaled(png):
    with Image.open(io.BytesIO(png)) as image:
        gray = image.convert("L")
    return gray.resize((WIDTH, round(gray.height * WIDTH / gray.width)), Image.Resampling.BICUBIC)


def export_pairs(room, judge, folder):
    """Open `judge`'s session of exported pairs in `room` (resumed if unanswered, else planned
    with the room's --pairs) and write its pairs as `folder`/0001.png, ...; returns
    {"session", "pairs", "folder", "mapping"}.

    Raises:
        UsageError: `folder` holds files already.
    """
    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise UsageError(f"--export-pairs {folder}: not an empty folder; give a new or empty "
                         f"folder (the numbered images go there, nothing else)")
    session = room.open(judge, export=True)
    width = max(4, len(str(len(session.items))))
    try:
        for index in range(len(session.items)):
            files.write_bytes(folder / f"{index + 1:0{width}d}.png", pair_png(session, index))
    except (NotADirectoryError, PermissionError, FileExistsError) as err:
        raise UsageError(f"--export-pairs {folder}: cannot write there ({err.strerror}); give "
                         f"a folder you can write to") from None
    mapping = Path(room.folder) / EXPORTS_DIR / f"{session.id}.json"
    files.write_json(mapping, {"session": session.id, "judge": session.judge,
                               "folder": str(folder.resolve()),
                               "pairs": {str(n + 1): item for n, item in
                                         enumerate(session.items)}})
    logger.debug("%d pairs for %s in %s (session %s; which is which: %s)", len(session.items),
                session.judge, folder, session.id, mapping)
    return {"session": session.id, "pairs": len(session.items), "folder": str(folder),
            "mapping": str(mapping)}


def read_answers(path):
    """{number: answer} from an answers file: lines `<number> left|right|tie`; blank lines and
    lines starting with # are skipped.

    Raises:
        UsageError: the file cannot be read, a line is not of that form, a number repeats.
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise UsageError(f"--import-answers {path}: cannot be read ({err}); give the answers "
                         f"file") from None
    answers = {}
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = ANSWER_LINE.match(line)
        if match is None:
            raise UsageError(f"{path}:{number}: {line.strip()[:60]!r} is not `<number> left`, "
                             f"`<number> right` or `<number> tie`; fix the line")
        key = int(match.group(1))
        if key in answers:
            raise UsageError(f"{path}:{number}: pair {key} is answered twice; keep one line")
        answers[key] = match.group(2).lower()
    return answers


def import_answers(room, judge, path):
    """Record the answers of `path` (`read_answers`) into `judge`'s latest session of exported
    pairs, in number order, as the page records them. Numbers run 1, 2, ... without a gap;
    those already recorded must carry the same answer (importing a file twice records it
    once). Returns {"session", "recorded", "answered", "pairs"}.

    Raises:
        UsageError: no pairs were exported to `judge`, a number outside the session or after
            a gap, an answer that differs from the one recorded; nothing is recorded then.
    """
    answers = read_answers(path)
    session = room.exported(judge)
    if session is None:
        raise UsageError(f"--judge {judge}: no pairs were exported to this judge in "
                         f"{room.folder}; export them first with --export-pairs DIR")
    total = len(session.items)
    outside = sorted(n for n in answers if not 1 <= n <= total)
    if outside:
        raise UsageError(f"{path}: pair {outside[0]} is not among the {total} exported to "
                         f"{session.judge} (1-{total}); fix the number")
    missing = next((n for n in range(1, max(answers, default=0) + 1) if n not in answers), None)
    if missing is not None:
        raise UsageError(f"{path}: pair {missing} has no answer, yet later ones do; answers "
                         f"are recorded in order: add it")
    recorded = session.record([answers[n] for n in sorted(answers)], str(path))
    answered = session.answered()
    logger.debug("recorded %d answers of %s (%d of %d answered, session %s)", recorded,
                session.judge, answered, total, session.id)
    return {"session": session.id, "recorded": recorded, "answered": answered, "pairs": total}
