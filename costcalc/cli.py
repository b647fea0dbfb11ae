"""The costcalc command line: options, wiring, exit codes; the only module that prints or exits."""

from __future__ import annotations

import enum
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from costcalc import __version__
from costcalc.errors import CostcalcError, InputError

app = typer.Typer(
    name="costcalc",
    help="What a container registry costs to store and serve, and what optimization would save.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
pricing_app = typer.Typer(help="List, show and validate price books.", no_args_is_help=True)
usage_app = typer.Typer(help="Usage (pull-frequency) files.", no_args_is_help=True)
app.add_typer(pricing_app, name="pricing")
app.add_typer(usage_app, name="usage")

stderr = Console(stderr=True, highlight=False, soft_wrap=True)


class ExitCode(enum.IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2
    THRESHOLD = 3


def fail(exc: CostcalcError) -> NoReturn:
    """Print one clear sentence per problem on stderr and exit 1."""
    problems = exc.problems if isinstance(exc, InputError) else [str(exc)]
    for problem in problems:
        stderr.print(f"costcalc: error: {problem}", markup=False)
    raise typer.Exit(ExitCode.ERROR)


def write_output(text: str, output: Path | None) -> None:
    """Write a finished result to stdout, or atomically to OUTPUT (temp file + rename)."""
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    from costcalc.files import write_atomic

    write_atomic(output, text if text.endswith("\n") else text + "\n")


def version_callback(value: bool) -> None:
    if value:
        print(f"costcalc {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=version_callback, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """costcalc: registry cost reports from manifests, pull data and price books."""


# Commands follow, one block each; each block is owned by the module it wires.


def main() -> None:
    """Console-script entry point: never lets a traceback reach the user for known errors."""
    try:
        app()
    except CostcalcError as exc:  # errors raised outside a command's own handling
        stderr.print(f"costcalc: error: {exc}", markup=False)
        sys.exit(ExitCode.ERROR)
    except KeyboardInterrupt:
        stderr.print("costcalc: interrupted", markup=False)
        sys.exit(130)
