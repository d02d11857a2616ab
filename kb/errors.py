"""`KbError`: the base of the project's own errors. Each carries a message a user can act on (a file, a field, the
command that fixes it), so the CLI prints it as `kb: error: …` and the web app answers it without a traceback;
anything else that escapes is a bug."""

from __future__ import annotations


class KbError(Exception):
    """An error of ours with a readable message; never a traceback for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
