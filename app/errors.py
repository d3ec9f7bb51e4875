"""The one exception type for mistakes a user can fix; the CLI prints it as one line, exit code 2."""

from __future__ import annotations


class LearnsyncError(Exception):
    """A user-fixable problem; the message says what to do and never holds a secret."""


class Unreachable(LearnsyncError):
    """The source or the destination could not be reached: the CLI reports it like any user-fixable problem (a
    wrong host looks the same), but a scheduled flow retries it, since a network blip or a server restart passes."""


class SourceUnreachable(Unreachable):
    """The Snowflake share could not be reached."""


class DestinationUnreachable(Unreachable):
    """The destination could not be reached (connection refused, timed out, login refused)."""


class ReadStalled(SourceUnreachable):
    """A result chunk did not arrive within the chunk timeout (a stalled or trickling network): the run stops and
    releases its table; a flow retries it, and the next run resumes from the last committed window."""
