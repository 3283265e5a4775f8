"""Errors a user can act on.

Library code raises these; only ``nnzoo.cli`` turns them into exit codes (2) and one line of
text. Each message names where the mistake is (file, dotted key, line) and how to fix it.
"""

from __future__ import annotations


class NnzooError(Exception):
    """Base class of every error caused by user input (config, data, arguments)."""

    exit_code = 2

    def one_line(self) -> str:
        return " ".join(str(self).split())


class ConfigError(NnzooError):
    """A config file or override is wrong.

    Args:
        message: what is wrong, ending with the value received.
        file: the config file (or ``--set``) the mistake is in.
        key: the dotted key, e.g. ``train.optimizer.learning_rate``.
        line: the 1-based line in ``file`` where YAML gives one.
        fix: what to do about it.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        key: str | None = None,
        line: int | None = None,
        fix: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.key = key
        self.line = line
        self.fix = fix
        super().__init__(self._format())

    def _format(self) -> str:
        where = ""
        if self.file:
            where = str(self.file) + (f":{self.line}" if self.line else "")
        if self.key:
            where = f"{where}: {self.key}" if where else self.key
        text = f"{where}: {self.message}" if where else self.message
        if self.fix:
            text = text.rstrip(".") + f". Fix: {self.fix}"
        return text


class UnknownModelError(ConfigError):
    """A model name that is not in the catalog."""


class DataNotAvailableError(NnzooError):
    """A data set that needs a download is not available offline."""


class RunDirError(NnzooError):
    """A run directory is missing, incomplete or already finished."""
