"""The judging room: one study's judges, each in their own session, as one page server (or
several, on one study) serves them. No TF."""

import threading

from tuner.judging import tasks
from tuner.judging.session import Session, judge_name
from tuner.results import eye_file as store


class Room:
    """The study (a StudySnapshot) as judged under `config` (an EyeConfig): its configurations,
    its real faces (read once, when a face is first asked for) and the sessions opened here,
    by id. With `config.judge`, that judge's session is opened at once (`default`)."""

    def __init__(self, study, config):
        self.study, self.folder, self.config = study, study.path, config
        self.configs = tasks.configurations(study)
        self._faces = None
        self._lock = threading.Lock()
        self.sessions = {}
        self.default = self.open(config.judge) if config.judge else None

    def real_faces(self):
        with self._lock:
            if self._faces is None:
                self._faces = tasks.real_faces(self.study.meta, self.folder)
            return self._faces

    def open(self, judge, export=False):
        """The judge's session (resumed, else planned anew), kept here by its id.

        Raises:
            ValueError: no name.
            UsageError: nothing to judge, a damaged eye.json.
        """
        session = Session(self, judge, self.config, export=export)
        with self._lock:
            return self.sessions.setdefault(session.id, session)

    def exported(self, judge):
        """`judge`'s latest session of exported pairs, answered or not; None if none.

        Raises:
            ValueError: no name.
        """
        name = judge_name(judge)
        doc = store.read_eye(self.folder)
        for entry in reversed(doc["sessions"]):
            if entry.get("judge") == name and (entry.get("settings") or {}).get("export"):
                return Session(self, name, self.config, export=True, entry=entry)
        return None

    def session(self, session_id):
        """The session `session_id` opened here, else the default one (None if neither)."""
        with self._lock:
            return self.sessions.get(session_id or "") or self.default

    def image_png(self, name):
        """PNG bytes of an image of any session opened here, or None."""
        with self._lock:
            sessions = list(self.sessions.values())
        for session in sessions:
            png = session.image_png(name)
            if png is not None:
                return png
        return None
