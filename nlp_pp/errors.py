"""Exceptions a user can act on.

Every error that comes from bad input or bad options is an :class:`NlpPpError`. Its message is one
line that says what is wrong and what to do; ``pipeline.py`` prints it and exits with code 2, so a
user never sees a traceback for a mistake in their own data.
"""
from __future__ import annotations


class NlpPpError(Exception):
    """Base class of every user-facing error (the CLI maps it to exit code 2)."""

    exit_code = 2


class DataError(NlpPpError, ValueError):
    """The input data cannot be used: missing file, bad encoding, missing column, too few rows..."""


class ConfigError(NlpPpError, ValueError):
    """An option or configuration value is invalid."""


class RunError(NlpPpError):
    """A saved run directory is missing, incomplete, corrupt or from an incompatible version."""
