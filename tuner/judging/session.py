"""One judge's session: its planned tasks, where it stands, answers and undo, all kept in
eye.json so a reload, a closed page or a stopped server resumes at the same place. Several
sessions (several judges, pages or servers) share one eye.json: every change is a
read-modify-write of the file under its lock, so none loses or mixes another's answers.
No TF."""

import io
import logging
import secrets

import numpy as np
from PIL import Image

from tuner.common.errors import UsageError
from tuner.judging import tasks
from tuner.results import eye_file as store
from tuner.results.snapshot import objective_of

logger = logging.getLogger(__name__)
PAIR_ANSWERS = ("left", "right", "tie")
FACE_ANSWERS = ("real", "generated")


class SessionOver(ValueError):
    """An answer to a session with nothing left to answer."""


class Session:
    """The session of `judge` in `room` (a tuner.judging.room.Room): the judge's last
    unfinished one, else a new plan of `config.pairs` pairs and `config.faces` faces (an
    EyeConfig). Sessions made for exported pairs (`export=True`) are resumed only by
    `import_answers`, never by the page."""

    def __init__(self, room, judge, config, export=False, entry=None):
        self.room, self.folder = room, room.folder
        self.exposure_ms = config.exposure_ms
        self.export = export
        judge = judge_name(judge)
        if entry is not None:  # a session of eye.json as it stands (see Room.exported)
            self._keep(entry, judge)
            return
        created = []

        def open_session(doc):
            found = _unfinished(doc, judge, export)
            if found is None:
                found = self._new(doc, config, judge)
                created.append(found)
            elif found.get("judge") is None:
                found["judge"] = judge
            return found

        session = store.update(self.folder, open_session)
        self._keep(session, judge)
        if not created:
            logger.info("resuming session %s of %s (%d of %d answered)", self.id, judge,
                        self.answered(), len(self.items))

    def _keep(self, session, judge):
        self.id, self.items, self.judge = session["id"], session["items"], judge
        # opaque names for the images: nothing in a URL tells which trial or file it is
        self.names = [{side: secrets.token_hex(8) for side in _sides(item)}
                      for item in self.items]
        self.images = {name: (index, side) for index, named in enumerate(self.names)
                       for side, name in named.items()}

    def _new(self, doc, config, judge):
        rng = np.random.default_rng(secrets.randbits(64))
        room = self.room
        if config.same_pairs_as:
            items = tasks.replan_pairs(_pairs_of(doc, config.same_pairs_as, self.folder), rng)
        else:
            items = tasks.plan_pairs(room.configs, config.pairs, rng,
                                     objective_of(room.study.meta))
        if config.faces:
            items += tasks.plan_faces(room.configs, config.faces, rng, len(room.real_faces()))
        if not items:
            raise UsageError(f"{self.folder}: nothing to judge (one configuration, so no pairs, "
                             f"and --faces 0); give --faces N or let the study finish more trials")
        settings = {"pairs": config.pairs, "faces": config.faces,
                    "exposure_ms": config.exposure_ms}
        if config.same_pairs_as:
            settings["same_pairs_as"] = config.same_pairs_as
        if self.export:
            settings["export"] = True
        session = {"id": secrets.token_hex(4), "judge": judge, "started": store.now(),
                   "settings": settings, "items": items}
        doc["sessions"].append(session)
        return session

    def answered(self, doc=None):
        """Answers kept (not undone) in this session, from eye.json as it is now."""
        return _answered(store.read_eye(self.folder) if doc is None else doc, self.id)

    def state(self):
        """What the page shows: the judge, progress, and the next item (opaque image names)."""
        answered = self.answered()
        item = None
        if answered < len(self.items):
            task = self.items[answered]["task"]
            item = {"index": answered, "task": task, "images": self.names[answered]}
        pairs = sum(1 for i in self.items if i["task"] == "pair")
        return {"session": self.id, "judge": self.judge, "answered": answered,
                "total": len(self.items), "pairs": pairs, "faces": len(self.items) - pairs,
                "item": item, "exposure_ms": self.exposure_ms}

    def answer(self, index, answer):
        """Record `answer` to item `index` (which must be the next one); False if it is not.

        Raises:
            SessionOver: every item is answered.
            ValueError: `answer` is not one of the item's answers.
        """
        def change(doc):
            answered = _answered(doc, self.id)
            if answered >= len(self.items):
                raise SessionOver(f"the session is finished ({answered} of {len(self.items)} "
                                  f"answered)")
            if answered != index:
                return False
            doc["judgements"].append(self._entry(index, answer))
            return True
        return store.update(self.folder, change)

    def _entry(self, index, answer):
        item = self.items[index]
        allowed = PAIR_ANSWERS if item["task"] == "pair" else FACE_ANSWERS
        if answer not in allowed:
            raise ValueError(f"answer must be one of {', '.join(allowed)}")
        entry = {"session": self.id, "item": index, "task": item["task"], "answer": answer,
                 "judge": self.judge, "time": store.now()}
        if item["task"] == "pair":
            entry.update(left=item["left"], right=item["right"],
                         runs=[item["left_run"], item["right_run"]])
        else:
            entry.update(trial=item["trial"],
                         truth="real" if item["trial"] is None else "generated")
        return entry

    def record(self, answers, source):
        """Record `answers` to items 0, 1, ... at once (from an answers file `source`): those
        already recorded must be the same; returns how many were new.

        Raises:
            UsageError: an answer differs from the one recorded, or is not the item's kind;
                nothing is recorded then.
        """
        def change(doc):
            kept = [j for j in doc["judgements"] if j.get("session") == self.id
                    and not j.get("undone")]
            for index, (old, new) in enumerate(zip(kept, answers)):
                if old["answer"] != new:
                    raise UsageError(f"{source}: pair {index + 1} was answered {old['answer']} "
                                     f"before, now {new}; keep the first answer")
            try:
                entries = [self._entry(i, answers[i]) for i in range(len(kept), len(answers))]
            except ValueError as err:
                raise UsageError(f"{source}: {err}") from None
            for entry in entries:
                entry["source"] = "files"
            doc["judgements"].extend(entries)
            return len(entries)
        return store.update(self.folder, change)

    def undo(self):
        """Mark this session's last answer undone; False if there is none."""
        def change(doc):
            for entry in reversed(doc["judgements"]):
                if entry.get("session") == self.id and not entry.get("undone"):
                    entry["undone"] = store.now()
                    return True
            return False
        return store.update(self.folder, change)

    def image_png(self, name):
        """PNG bytes of the image named `name`, or None."""
        if name not in self.images:
            return None
        index, side = self.images[name]
        return self.item_png(index, side)

    def item_png(self, index, side):
        """PNG bytes of side `side` (left, right or face) of item `index`."""
        item, room = self.items[index], self.room
        if item["task"] == "pair":
            return tasks.grid_of(room.configs, item[side], item[f"{side}_run"]).read_bytes()
        face = tasks.real_face(room.real_faces(), item) if item["trial"] is None \
            else tasks.generated_face(room.configs, item)
        buffer = io.BytesIO()
        Image.fromarray(np.asarray(face, np.uint8), mode="L").save(buffer, format="PNG")
        return buffer.getvalue()


def judge_name(name):
    """`name` with its spaces squeezed, at most 80 characters.

    Raises:
        ValueError: nothing is left.
    """
    name = " ".join(str(name or "").split())[:80]
    if not name:
        raise ValueError("a judge's name is needed")
    return name


def _pairs_of(doc, judge, folder):
    """The pair items of `judge`'s latest session that has any.

    Raises:
        UsageError: `judge` has no such session.
    """
    for session in reversed(doc["sessions"]):
        pairs = [i for i in session["items"] if i["task"] == "pair"]
        if session.get("judge") == judge and pairs:
            return pairs
    raise UsageError(f"--same-pairs-as {judge}: no session of this judge with pairs in "
                     f"{store.eye_path(folder)}; name a judge who has judged pairs here")


def _sides(item):
    return ("left", "right") if item["task"] == "pair" else ("face",)


def _answered(doc, session_id):
    return sum(1 for j in doc["judgements"] if j.get("session") == session_id
               and not j.get("undone"))


def _unfinished(doc, judge, export):
    """The judge's (or an unnamed) last session with items left, of the kind asked for."""
    for session in reversed(doc["sessions"]):
        if session.get("judge") in (None, judge) and \
                bool((session.get("settings") or {}).get("export")) == export and \
                _answered(doc, session["id"]) < len(session["items"]):
            return session
    return None
