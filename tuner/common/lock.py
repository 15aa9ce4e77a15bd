"""One search process per study: an OS-level lock that dies with its process, on any OS.

The `filelock` package takes the operating system's own lock (flock on POSIX,
LockFileEx on Windows), which the OS releases when the holder exits, even on
`kill -9`, so a crashed search never leaves the study locked. The holder is
named in a separate text file (the locked file itself cannot be read on
Windows while held); that file outlives its process and only names the last
search. Readers (the leaderboard) never take the lock.
"""

import os
import socket
import sys
import time
from pathlib import Path

import filelock

from tuner.common.errors import UsageError

LOCK_FILE = ".search.lock"          # names the holder: "process PID on HOST (started ...)"
OS_LOCK_FILE = ".search.lock.os"    # the file the OS locks
LOCK_FILES = (LOCK_FILE, OS_LOCK_FILE)


class StudyLock:
    """Hold with `with StudyLock(study_dir):`; raises UsageError if another process holds it."""

    def __init__(self, study_dir):
        self.path = Path(study_dir) / LOCK_FILE
        self._lock = filelock.FileLock(Path(study_dir) / OS_LOCK_FILE, timeout=0)

    def __enter__(self):
        try:
            self._lock.acquire()
        except filelock.Timeout:
            raise UsageError(f"{self.path.parent} is being searched by {self._holder()}; wait "
                             f"for it to finish or stop it, then run this command again") from None
        self.path.write_text(f"process {os.getpid()} on {socket.gethostname()} "
                             f"(started {time.strftime('%Y-%m-%d %H:%M:%S')})\n")
        return self

    def __exit__(self, *exc):
        self._lock.release()
        return False

    def _holder(self):
        try:
            return self.path.read_text().strip() or "another process"
        except OSError:
            return "another process"


def process_alive(pid):
    """Whether process `pid` of this machine is still running, on any OS.

    Not `os.kill(pid, 0)` everywhere: on Windows signal 0 is CTRL_C_EVENT, so
    asking would interrupt the process (or fail), not probe it.
    """
    if sys.platform == "win32":
        return _windows_process_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return not _zombie(pid)
    return not _zombie(pid)


def _zombie(pid):
    """Whether `pid` has exited but not been reaped by its parent (Linux: state Z in /proc): it
    answers signal 0, yet holds nothing any more."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] == ["Z"]


def _windows_process_alive(pid):
    import ctypes
    from ctypes import wintypes

    query_limited_information, access_denied, still_active = 0x1000, 5, 259
    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    kernel32.OpenProcess.restype = wintypes.HANDLE
    kernel32.OpenProcess.argtypes = (wintypes.DWORD, wintypes.BOOL, wintypes.DWORD)
    handle = kernel32.OpenProcess(query_limited_information, False, pid)
    if not handle:
        return ctypes.get_last_error() == access_denied  # it exists, but is not ours to query
    try:
        code = wintypes.DWORD()
        return bool(kernel32.GetExitCodeProcess(handle, ctypes.byref(code))) \
            and code.value == still_active
    finally:
        kernel32.CloseHandle(handle)
