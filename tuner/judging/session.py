"""One judge's session: its planned tasks, where it stands, answers and undo, all kept in
eye.json so a reload, a closed page or a stopped server resumes at the same place. No TF."""

import io
import logging
import secrets
import threading

import numpy as np
from PIL import Image

from tuner.common.errors import UsageError
from tuner.judging import tasks
from tuner.results import eye_file as store
from tuner.results.snapshot import objective_of

logger = logging.getLogger(__name__)
PAIR_ANSWERS = ("left", "right", "tie")
FACE_ANSWERS = ("real", "generated")


class Session:
    """The session of `config` (an EyeConfig) on `study` (a StudySnapshot): the judge's last
    unfinished one, else a new plan of `config.pairs` pairs and `config.faces` faces."""

    def __init__(self, study, config):
        self.study, self.folder = study, study.path
        self.configs = tasks.configurations(study)
        self.exposure_ms = config.exposure_ms
        self._faces = None
        self._lock = threading.Lock()
        doc = store.read_eye(self.folder)
        resumed = self._unfinished(doc, config.judge)
        if resumed is None:
            resumed = store.update(self.folder, lambda d: self._new(d, config))
        else:
            logger.info("resuming session %s (%d of %d answered)", resumed["id"],
                        self._answered(doc, resumed["id"]), len(resumed["items"]))
        self.id, self.items = resumed["id"], resumed["items"]
        self.judge = config.judge or resumed.get("judge")
        # opaque names for the images: nothing in a URL tells which trial or file it is
        self.images = {}
        self.names = []
        for index, item in enumerate(self.items):
            sides = ("left", "right") if item["task"] == "pair" else ("face",)
            named = {side: secrets.token_hex(8) for side in sides}
            self.images.update({name: (index, side) for side, name in named.items()})
            self.names.append(named)

    def _unfinished(self, doc, judge):
        for session in reversed(doc["sessions"]):
            if (judge is None or session.get("judge") in (None, judge)) and \
                    self._answered(doc, session["id"]) < len(session["items"]):
                return session
        return None

    def _new(self, doc, config):
        rng = np.random.default_rng(secrets.randbits(64))
        items = tasks.plan_pairs(self.configs, config.pairs, rng, objective_of(self.study.meta))
        if config.faces:
            items += tasks.plan_faces(self.configs, config.faces, rng, len(self.real_faces()))
        if not items:
            raise UsageError(f"{self.folder}: nothing to judge (one configuration, so no pairs, "
                             f"and --faces 0); give --faces N or let the study finish more trials")
        session = {"id": secrets.token_hex(4), "judge": config.judge, "started": store.now(),
                   "settings": {"pairs": config.pairs, "faces": config.faces,
                                "exposure_ms": config.exposure_ms},
                   "items": items}
        doc["sessions"].append(session)
        return session

    def real_faces(self):
        if self._faces is None:
            self._faces = tasks.real_faces(self.study.meta, self.folder)
        return self._faces

    @staticmethod
    def _answered(doc, session_id):
        return sum(1 for j in doc["judgements"] if j.get("session") == session_id
                   and not j.get("undone"))

    def state(self):
        """What the page shows: the judge, progress, and the next item (opaque image names)."""
        answered = self._answered(store.read_eye(self.folder), self.id)
        item = None
        if answered < len(self.items):
            task = self.items[answered]["task"]
            item = {"index": answered, "task": task, "images": self.names[answered]}
        pairs = sum(1 for i in self.items if i["task"] == "pair")
        return {"judge": self.judge, "answered": answered, "total": len(self.items),
                "pairs": pairs, "faces": len(self.items) - pairs, "item": item,
                "exposure_ms": self.exposure_ms}

    def set_judge(self, name):
        name = " ".join(str(name or "").split())[:80]
        if not name:
            raise ValueError("a judge's name is needed")

        def change(doc):
            for session in doc["sessions"]:
                if session["id"] == self.id:
                    session["judge"] = name
        with self._lock:
            store.update(self.folder, change)
            self.judge = name

    def answer(self, index, answer):
        """Record `answer` to item `index` (which must be the next one); False if it is not."""
        def change(doc):
            if self._answered(doc, self.id) != index:
                return False
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
            doc["judgements"].append(entry)
            return True
        with self._lock:
            return store.update(self.folder, change)

    def undo(self):
        """Mark this session's last answer undone; False if there is none."""
        def change(doc):
            for entry in reversed(doc["judgements"]):
                if entry.get("session") == self.id and not entry.get("undone"):
                    entry["undone"] = store.now()
                    return True
            return False
        with self._lock:
            return store.update(self.folder, change)

    def image_png(self, name):
        """PNG bytes of the image named `name`, or None."""
        if name not in self.images:
            return None
        index, side = self.images[name]
        item = self.items[index]
        if item["task"] == "pair":
            path = tasks.grid_of(self.configs, item[side], item[f"{side}_run"])
            return path.read_bytes()
        face = tasks.real_face(self.real_faces(), item) if item["trial"] is None \
            else tasks.generated_face(self.configs, item)
        buffer = io.BytesIO()
        Image.fromarray(np.asarray(face, np.uint8), mode="L").save(buffer, format="PNG")
        return buffer.getvalue()
