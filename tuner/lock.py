"""One search process per study: an advisory lock that dies with its process.

`fcntl.flock` is released by the kernel when the holder exits, even on `kill -9`,
so a crashed search never leaves the study locked; the file only names the holder.
Readers (the leaderboard) never take the lock.
"""

import fcntl
import os
import socket
import time
from pathlib import Path

from tuner.errors import UsageError

LOCK_FILE = ".search.lock"


class StudyLock:
    """Hold with `with StudyLock(study_dir):`; raises UsageError if another process holds it."""

    def __init__(self, study_dir):
        self.path = Path(study_dir) / LOCK_FILE
        self._file = None

    def __enter__(self):
        self._file = open(self.path, "a+")
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = self.path.read_text().strip() or "another process"
            self._file.close()
            raise UsageError(f"{self.path.parent} is being searched by {holder}; wait for it "
                             f"to finish or stop it, then run this command again") from None
        self._file.seek(0)
        self._file.truncate()
        self._file.write(f"process {os.getpid()} on {socket.gethostname()} "
                         f"(started {time.strftime('%Y-%m-%d %H:%M:%S')})\n")
        self._file.flush()
        return self

    def __exit__(self, *exc):
        fcntl.flock(self._file, fcntl.LOCK_UN)
        self._file.close()
        return False
