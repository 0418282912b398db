"""Errors a user can cause. The CLI prints them as one line, without a traceback."""


class RenovoError(Exception):
    """Base class for errors caused by input or configuration, not by a bug."""
