"""The one exception type for mistakes a user can fix; the CLI prints it as one line, exit code 2."""

from __future__ import annotations


class LearnsyncError(Exception):
    """A user-fixable problem; the message says what to do and never holds a secret."""
