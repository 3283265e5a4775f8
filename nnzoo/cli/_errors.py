"""Where an error becomes one line on stderr and an exit code (``--debug``: the traceback).

The one boundary between the library and the user: :class:`~nnzoo.errors.NnzooError` (a
mistake in the user's input) exits with its code (2), an error of the machine (a full disk, a
read-only folder) with 1 and what to do, anything else is reported as a bug in nnzoo (1).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import signal
import sys
import threading
from collections.abc import Iterator
from typing import NoReturn

import click

from nnzoo._cli_options import STATE
from nnzoo.errors import NnzooError, Terminated

#: Errors of the machine rather than of the user's input (exit code 1), with what to do.
_ENVIRONMENT_ERRORS = {
    errno.ENOSPC: "free some space, or write elsewhere with --runs-dir / --output",
    # A file-size limit (ulimit -f, RLIMIT_FSIZE) reached: a full disk, as far as we can do.
    errno.EFBIG: "raise the file-size limit (ulimit -f) or free some space, or write "
    "elsewhere with --runs-dir / --output",
    errno.EDQUOT: "free some space, or write elsewhere with --runs-dir / --output",
    errno.EROFS: "write to a folder you can write to (--runs-dir / --output)",
    errno.EACCES: "write to a folder you can write to (--runs-dir / --output)",
    errno.EPERM: "write to a folder you can write to (--runs-dir / --output)",
    errno.EMFILE: "raise the open-files limit (ulimit -n) and resume",
    errno.ENOMEM: "use a smaller batch size or model",
}


@contextlib.contextmanager
def reported_errors() -> Iterator[None]:
    """Run a command, turning what it raises into one line and an exit code.

    Click's usage errors (a bad flag or argument) become one line with exit code 2; Ctrl-C
    exits with 130 and SIGTERM (handled as Ctrl-C is: :func:`sigterm_as_interrupt`) with 143;
    a reader that closed our output (``nnzoo init mlp | head``) ends the command quietly with 1.
    """
    try:
        with sigterm_as_interrupt():
            yield
    except (click.exceptions.Exit, click.Abort):
        raise
    except click.UsageError as err:  # a flag or argument: one line, not Click's usage block
        if STATE["debug"]:
            raise
        fail(usage_line(err), 2)
    except click.ClickException as err:
        if STATE["debug"]:
            raise
        fail(_one_line(err.format_message()), err.exit_code)
    except NnzooError as err:
        if STATE["debug"]:
            raise
        fail(err.one_line(), err.exit_code)
    except KeyboardInterrupt as err:
        click.echo(
            f"nnzoo: {interrupted(err)} (a run can continue with `nnzoo train --resume`)",
            err=True,
        )
        sys.exit(interrupt_exit_code(err))
    except BrokenPipeError:
        stop_stdout()
        sys.exit(1)
    except OSError as err:
        if STATE["debug"]:
            raise
        if err.errno not in _ENVIRONMENT_ERRORS:
            raise _internal_error(err) from None
        where = f"{err.filename}: " if err.filename else ""
        fail(f"{where}{err.strerror}. Fix: {_ENVIRONMENT_ERRORS[err.errno]}", 1)
    except Exception as err:
        if STATE["debug"]:
            raise
        raise _internal_error(err) from None


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """While the command runs, SIGTERM raises :class:`~nnzoo.errors.Terminated` (a
    ``KeyboardInterrupt``) in the main thread, so it is handled as Ctrl-C is; the handler
    before is restored after. The CLI process only: a library user keeps their own handler.

    A second SIGTERM while the first is being handled ends the process at once (the default
    action), as a second Ctrl-C would not: whoever sent it wants the process gone.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return

    def on_sigterm(signum: int, frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        raise Terminated

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def interrupted(err: BaseException) -> str:
    """``interrupted`` (Ctrl-C) or ``terminated (SIGTERM)``: how the command was stopped."""
    return "terminated (SIGTERM)" if isinstance(err, Terminated) else "interrupted"


def interrupt_exit_code(err: BaseException) -> int:
    """130 after Ctrl-C, 143 after SIGTERM (128 + the signal's number, as a shell reports)."""
    return 128 + signal.SIGTERM if isinstance(err, Terminated) else 130


def usage_line(err: click.UsageError) -> str:
    """Click's usage error as the house's one line: the flag or argument, what is wrong, a fix.

    E.g. ``--top-k: must be >= 1 (received 0). Fix: see `nnzoo generate --help```.
    """
    fix = f"see `{_command_path(err.ctx)} --help`"
    param = getattr(err, "param", None)
    if (
        isinstance(err, click.BadParameter)
        and not isinstance(err, click.MissingParameter)
        and (param is not None)
    ):
        message = err.message
        kind = param.type
        if isinstance(kind, click.Choice):
            fix = "use one of " + ", ".join(str(c) for c in kind.choices)
        if isinstance(kind, click.Path):  # "File 'x' is a directory" -> "'x' is a directory"
            message = message.removeprefix("File ").removeprefix("Directory ")
            message = message.removeprefix("Path ")
        if isinstance(kind, click.Path) and "is a directory" in message:
            fix = "give the path of a file, not of a folder"
        elif isinstance(kind, click.Path) and "is a file" in message:
            made = "" if isinstance(param, click.Argument) else " (a new one is created)"
            fix = f"give the path of a folder{made}, not of a file"
        if ". Fix: " in message:  # a callback's own message says what to do
            return f"{_param_name(param)}: {_one_line(message)}"
        return f"{_param_name(param)}: {_one_line(message)}. Fix: {fix}"
    message = _one_line(err.format_message())
    close = re.search(r"\.? Did you mean (.+)\?$", message)  # an unknown option or command
    if close:
        message, fix = message[: close.start()], f"did you mean {close.group(1)}?"
    return f"{message}. Fix: {fix}"


def _command_path(ctx: click.Context | None) -> str:
    """``nnzoo generate``: the command's path under the name users type, whatever the program
    was called (``python -m nnzoo.cli``, a test's runner)."""
    names = []
    while ctx is not None and ctx.parent is not None:
        names.append(ctx.info_name or "")
        ctx = ctx.parent
    return " ".join(["nnzoo", *reversed(names)])


def _param_name(param: click.Parameter) -> str:
    if isinstance(param, click.Option):
        return max(param.opts, key=len)  # --output rather than -o
    return (param.human_readable_name or str(param.name)).strip("[]").upper()


def _one_line(message: str) -> str:
    return " ".join(message.split()).rstrip(".")


def fail(message: str, exit_code: int) -> NoReturn:
    """End the command with ``nnzoo: error: MESSAGE`` on stderr and ``exit_code``."""
    click.echo(f"nnzoo: error: {message}", err=True)
    sys.exit(exit_code)


def stop_stdout() -> None:
    """Point stdout at /dev/null once its reader went away (a broken pipe).

    Python would otherwise report the broken pipe again, with a traceback, when it flushes
    stdout at exit; its documentation advises this instead.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _internal_error(err: BaseException) -> SystemExit:
    """An exception nnzoo did not expect is a bug: say so in one line, point to --debug."""
    text = " ".join(f"{type(err).__name__}: {err}".split())[:300]
    click.echo(
        f"nnzoo: internal error: {text}. This is a bug in nnzoo: rerun with --debug for the "
        "traceback and report it",
        err=True,
    )
    return SystemExit(1)
