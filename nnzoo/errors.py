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


class EnvironmentSettingError(NnzooError):
    """The machine's setting is wrong (an environment variable), not the user's input: exit 1."""

    exit_code = 1


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


class ParameterError(NnzooError, ValueError):
    """A library function's argument out of its range: a ``ValueError``, as Keras raises.

    The message names the parameter, e.g. ``"temperature must be a finite number >= 0 (0 is
    greedy). Received: temperature=-1"``; a caller that took the value from elsewhere (the CLI:
    a flag) names that instead with :meth:`named`.

    Args:
        parameter: the argument's name, e.g. ``temperature``.
        requirement: what its value must be, e.g. ``must be >= 0``.
        value: the value received.
    """

    def __init__(self, parameter: str, requirement: str, value: object) -> None:
        self.parameter = parameter
        self.requirement = requirement
        self.value = value
        super().__init__(self.named(parameter))

    def named(self, name: str) -> str:
        """The message with ``name`` (e.g. ``--temperature``) for what must be corrected."""
        return f"{name} {self.requirement}. Received: {self.parameter}={self.value!r}"


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, ``timeout``, Docker, Kubernetes, SLURM), raised where Ctrl-C raises
    ``KeyboardInterrupt``, so that it is handled as Ctrl-C is: a run is left ``interrupted``
    and resumable, a tuning trial is recorded failed. Only the CLI turns SIGTERM into it (see
    :func:`nnzoo.cli._errors.sigterm_as_interrupt`); the CLI exits with 143 (128 + 15)."""
