"""The costcalc command line: the typer app, its commands, and the entry point that never shows a traceback."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from costcalc import __version__
from costcalc.cli import diff, pricing, quote, report, scan, usage, usage_logs
from costcalc.cli.console import ExitCode, guarded, say

app = typer.Typer(
    name="costcalc",
    help="What a container registry costs to store and serve, and what optimization would save.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts hold brackets such as HOST[:PORT][/NAMESPACE]
)
pricing_app = typer.Typer(help="List, show and validate price books.", no_args_is_help=True, rich_markup_mode=None)
usage_app = typer.Typer(help="Usage (pull-frequency) files.", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(pricing_app, name="pricing")
app.add_typer(usage_app, name="usage")

app.command("scan")(guarded(scan.scan_command))
app.command("report")(guarded(report.report_command))
app.command("quote")(guarded(quote.quote_command))
app.command("diff")(guarded(diff.diff_command))
pricing_app.command("list")(guarded(pricing.list_command))
pricing_app.command("show")(guarded(pricing.show_command))
pricing_app.command("validate")(guarded(pricing.validate_command))
usage_app.command("init")(guarded(usage.usage_init_command))
usage_app.command("from-logs")(guarded(usage_logs.from_logs_command))

# Set to see the traceback of an unexpected error (a bug) instead of its one-sentence summary.
DEBUG_VARIABLE = "COSTCALC_DEBUG"


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


def main() -> None:
    """Console-script entry point: every ending is an exit code and at most a sentence, never a traceback."""
    # Commands end their own errors and Ctrl-C (console.guarded); typer ends a Ctrl-C that comes
    # while it parses the command line with 130. What is left is a bug.
    try:
        app()
    except Exception as exc:
        if os.environ.get(DEBUG_VARIABLE):
            raise
        say(
            f"error: unexpected {type(exc).__name__}: {exc}. This is a bug in costcalc; "
            f"run again with {DEBUG_VARIABLE}=1 to see where it happened, and report it."
        )
        sys.exit(ExitCode.ERROR)
