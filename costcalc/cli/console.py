"""What the command line says on stderr and how a command ends: exit codes, errors, warnings, Ctrl-C."""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable
from typing import NoReturn, ParamSpec, TypeVar

import typer
from rich.console import Console

from costcalc.errors import CostcalcError, InputError

stderr = Console(stderr=True, highlight=False, soft_wrap=True)

P = ParamSpec("P")
R = TypeVar("R")


class ExitCode(enum.IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2
    THRESHOLD = 3
    # 128 + SIGINT, what a shell reports for a program ended by Ctrl-C
    INTERRUPTED = 130


class ScanInterrupted(KeyboardInterrupt):
    """Ctrl-C during a scan; CACHED says whether a cache kept what had been fetched."""

    def __init__(self, cached: bool) -> None:
        super().__init__()
        self.cached = cached


def say(message: str) -> None:
    """One line on stderr, prefixed with the program's name; never read as rich markup."""
    stderr.print(f"costcalc: {message}", markup=False)


def fail(exc: CostcalcError) -> NoReturn:
    """Print one clear sentence per problem on stderr and exit 1."""
    problems = exc.problems if isinstance(exc, InputError) else [str(exc)]
    for problem in problems:
        say(f"error: {problem}")
    raise typer.Exit(ExitCode.ERROR)


def usage_error(message: str) -> NoReturn:
    """A command line that cannot be run as given: one sentence, exit 2 (as click's own errors)."""
    say(f"error: {message}")
    raise typer.Exit(ExitCode.USAGE)


def interrupted(exc: KeyboardInterrupt) -> NoReturn:
    """Ctrl-C: one sentence saying what was kept, exit 130."""
    if isinstance(exc, ScanInterrupted) and exc.cached:
        say("interrupted; the cache keeps what was fetched.")
    else:
        say("interrupted; nothing was written.")
    raise typer.Exit(ExitCode.INTERRUPTED)


def warner(quiet: bool) -> Callable[[str], None]:
    """A warning printer for stderr, silent under --quiet."""

    def warn(message: str) -> None:
        if not quiet:
            say(f"warning: {message}")

    return warn


def guarded(command: Callable[P, R]) -> Callable[P, R]:
    """COMMAND with its errors as one sentence and exit 1, and Ctrl-C as one sentence and exit 130."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except CostcalcError as exc:
            fail(exc)
        except KeyboardInterrupt as exc:
            interrupted(exc)

    return run
