"""Errors the user can fix: the CLIs print them as one line and exit with status 2."""


class UsageError(ValueError):
    """Bad input from the user: a flag, a file, a data folder.

    The message says what was expected, what was received and how to fix it,
    in one line, naming the flag or file.
    """
