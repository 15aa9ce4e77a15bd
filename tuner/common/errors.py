"""Errors the user can fix: the CLIs print them as one line and exit with status 2 (1 for a full
disk, which stops a run that was right to start)."""


class UsageError(ValueError):
    """Bad input from the user: a flag, a file, a data folder.

    The message says what was expected, what was received and how to fix it,
    in one line, naming the flag or file.
    """


class DiskFull(OSError):
    """No room to write in a folder: the run stops there, to be resumed once space is freed.

    The message names the folder, the space free and the space needed, in one
    line. An OSError, so code that tolerates a failed write (a heartbeat) still does.
    """


class Unwritable(UsageError, OSError):
    """A file cannot be written where the user asked (a read-only folder, a folder in the
    file's place, a file in its folder's place): one line naming the path and what to do.
    An OSError too, so code that tolerates a failed write (a heartbeat) still does."""
