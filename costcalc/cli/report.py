"""`costcalc report SOURCE`: read and check every input, build the report, render it, apply --fail-above."""

from __future__ import annotations

import contextlib
import enum
import gc
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from costcalc.cli.console import ExitCode, say, usage_error
from costcalc.cli.lifecycle import current_lifecycle_policies
from costcalc.cli.options import QuietOption, choose_format, format_option, output_option, with_scan_options
from costcalc.cli.output import (
    Destination,
    Inputs,
    OutputDirectory,
    destination,
    directory_destination,
    names_directory,
)
from costcalc.cli.scan import scan_inputs
from costcalc.cli.source import is_file_source, load_source
from costcalc.registry.options import ScanOptions
from costcalc.render import DEFAULT_WIDTH, RENDERERS, Layout, render

if TYPE_CHECKING:
    from decimal import Decimal

    from costcalc.inventory.model import Inventory
    from costcalc.pricing.book import PriceBook
    from costcalc.report import Report
    from costcalc.scenarios.ecr_lifecycle import LifecyclePolicy
    from costcalc.scenarios.spec import Scenario
    from costcalc.usage.file import Usage

# The scenario forms, for --help; tests/test_cli_help.py checks it names every preset.
SCENARIO_FORMS = (
    "alpine, multistage, distroless, target:SIZE, ratio:R, measured:REPO:BEFORE=AFTER, "
    "retention:N, retention:DAYSd, colocate:P, provider:ID, ecr-lifecycle:FILE|current, rebase:FROM=TO"
)


class GroupBy(enum.StrEnum):
    REPOSITORY = "repository"
    TEAM = "team"
    NAMESPACE = "namespace"


def parse_amount(value: str | None) -> Decimal | None:
    """--fail-above AMOUNT: a plain decimal number >= 0 in the price book's currency."""
    from decimal import Decimal, InvalidOperation

    if value is None:
        return None
    try:
        amount = Decimal(value.strip().replace("_", ""))
    except InvalidOperation:
        raise typer.BadParameter(f"{value!r} is not a number (e.g. 1500 or 1500.50).") from None
    if not amount.is_finite() or amount < 0:
        raise typer.BadParameter(f"{value!r} must be a number >= 0.")
    return amount


@with_scan_options
def report_command(
    source: Annotated[
        str, typer.Argument(metavar="SOURCE", help="An inventory file, or a scan TARGET (HOST[:PORT][/NAMESPACE]).")
    ],
    scan: ScanOptions,
    usage: Annotated[
        Path | None,
        typer.Option("--usage", metavar="FILE", help="Usage file (CSV or TOML) with pulls per repository."),
    ] = None,
    pricing: Annotated[
        list[str] | None,
        typer.Option(
            "--pricing",
            metavar="ID|FILE",
            help="Price book id (see `costcalc pricing list`) or .toml file; repeat to compare; default aws-ecr.",
        ),
    ] = None,
    scenario: Annotated[
        list[str] | None,
        typer.Option(
            "--scenario",
            metavar="SPEC|FILE",
            help=f"Savings scenario (repeatable): {SCENARIO_FORMS}, or a TOML file of scenarios.",
        ),
    ] = None,
    bases: Annotated[
        str | None,
        typer.Option(
            "--bases",
            metavar="FILE|TARGET",
            help="Base images (an inventory file, or a TARGET scanned now) to find in the layers and name in rebase:.",
        ),
    ] = None,
    keep: Annotated[
        list[str] | None,
        typer.Option("--keep", metavar="GLOB", help="Tags retention scenarios always keep (GLOB, repeatable)."),
    ] = None,
    group_by: Annotated[GroupBy, typer.Option("--group-by", help="Rows per repository, team or namespace.")] = (
        GroupBy.REPOSITORY
    ),
    top: Annotated[
        int | None,
        typer.Option("--top", metavar="N", min=1, help="Rows shown in table/markdown/html (all in JSON/CSV)."),
    ] = None,
    output_format: Annotated[str | None, format_option(tuple(RENDERERS))] = None,
    fail_above: Annotated[
        str | None,
        typer.Option(
            "--fail-above",
            metavar="AMOUNT",
            help="Exit 3 if the monthly total exceeds AMOUNT, in the price book's currency (report still written).",
        ),
    ] = None,
    months: Annotated[
        int, typer.Option("--months", metavar="N", min=1, max=1200, help="Horizon of the projection, in months.")
    ] = 12,
    bandwidth: Annotated[
        str,
        typer.Option(
            "--bandwidth",
            metavar="RATE",
            help="Transfer rate per node for the time scenarios save (e.g. 1Gbit/s, 500Mbit/s).",
        ),
    ] = "1Gbit/s",
    output: Annotated[
        str | None,
        output_option(
            "the report; with --format csv, -o DIRECTORY (existing, or ending in /) writes one CSV file per "
            "kind of row (groups, scenarios, monthly, price_books, versions, notes)"
        ),
    ] = None,
    width: Annotated[
        int | None,
        typer.Option(
            "--width", metavar="COLUMNS", min=40, max=1000, help="Table width (default: the terminal's, else 120)."
        ),
    ] = None,
    quiet: QuietOption = False,
) -> None:
    """Price an inventory (or a scan) with pull data and price books: storage, egress, totals, savings."""
    from costcalc.pricing.book_file import load_book
    from costcalc.scenarios.file import from_option
    from costcalc.usage.file import check_sources, load_usage

    threshold = parse_amount(fail_above)
    bits_per_second = _bandwidth(bandwidth)
    output_path = Path(output) if output is not None else None
    chosen = choose_format(output_format, output_path, tuple(RENDERERS))
    # Only CSV writes a directory; for another format an existing directory is refused as before
    # (it is no regular file), and so is a path ending in / that Path() would make a file name.
    as_directory = chosen == "csv" and output is not None and names_directory(output)
    if chosen != "csv" and output is not None and output.endswith(("/", os.sep)):
        usage_error(f"-o {output}: names a directory; only --format csv writes a directory (of CSV files).")
    inputs: list[tuple[str, Path | str]] = [
        ("SOURCE", source),
        *([("--bases", bases)] if bases is not None else []),
        *([("--usage", usage)] if usage is not None else []),
        *(("--pricing", ref) for ref in pricing or ()),
        *(("--scenario", spec) for spec in scenario or ()),
        *scan_inputs(scan),
    ]
    with _destination(output_path, as_directory, inputs) as result:
        # Every input is read and checked before anything is written.
        usage_file = load_usage(usage) if usage is not None else None
        books = [load_book(ref) for ref in (pricing or ["aws-ecr"])]
        if usage_file is not None:
            check_sources(usage_file, books[0])
        wanted = [s for spec in (scenario or []) for s in from_option(spec)]
        # A scan's asyncio machinery makes cycles worth collecting; a file's records do not.
        with _collector_paused() if is_file_source(source) else contextlib.nullcontext():
            inventory = load_source(source, scan, quiet=quiet)
            policies = current_lifecycle_policies(wanted, source, inventory, scan)
            base_images = load_source(bases, scan, quiet=quiet) if bases is not None else None
            report = build_report(
                inventory,
                usage_file,
                books,
                wanted,
                group_by=group_by,
                months=months,
                keep=tuple(keep or ()),
                source=source,
                lifecycle_policies=policies,
                bases=base_images,
                bandwidth_bits_per_second=bits_per_second,
            )
            if isinstance(result, OutputDirectory):
                from costcalc.render.csv import render_files

                result.commit(render_files(report))
            else:
                result.write(render(report, chosen, _layout(chosen, output=output_path, width=width, top=top)))
    if not quiet and (output is not None or chosen != "table"):
        for warning in report.warnings:
            say(f"warning: {warning}")
    if threshold is not None and report.totals.monthly_cost > threshold:
        currency = report.pricing.currency
        say(f"monthly cost {report.totals.monthly_cost:.2f} {currency} is above --fail-above {threshold} {currency}.")
        raise typer.Exit(ExitCode.THRESHOLD)


def _destination(
    path: Path | None, as_directory: bool, inputs: Inputs
) -> contextlib.AbstractContextManager[Destination | OutputDirectory]:
    """Where the report goes: stdout, a file, or (AS_DIRECTORY) the CSV files in directory PATH."""
    if as_directory and path is not None:
        from costcalc.render.csv import FILES

        return directory_destination(path, FILES, inputs=inputs)
    return destination(path, inputs=inputs)


def build_report(
    inventory: Inventory,
    usage_file: Usage | None,
    books: Sequence[PriceBook],
    wanted: Sequence[Scenario],
    *,
    group_by: GroupBy,
    months: int,
    keep: tuple[str, ...],
    source: str,
    lifecycle_policies: Mapping[str, LifecyclePolicy | None] | None = None,
    bases: Inventory | None = None,
    bandwidth_bits_per_second: int = 10**9,
) -> Report:
    """The one call into the core: usage -> quantities -> prices -> comparison -> scenarios."""
    from datetime import UTC, datetime

    from costcalc.report import build

    return build(
        inventory,
        usage_file,
        books,
        scenarios=wanted,
        keep=keep,
        group_by=group_by.value,
        months=months,
        source=source,
        generated_at=datetime.now(UTC).replace(microsecond=0),
        lifecycle_policies=lifecycle_policies,
        bases=bases,
        bandwidth_bits_per_second=bandwidth_bits_per_second,
    )


def _bandwidth(text: str) -> int:
    """--bandwidth in bits per second; a bad rate is a usage error of one sentence."""
    from costcalc.units import parse_bandwidth

    try:
        return parse_bandwidth(text)
    except ValueError as problem:
        usage_error(f"--bandwidth: {problem}.")


def _layout(chosen: str, *, output: Path | None, width: int | None, top: int | None) -> Layout:
    """Colour and the terminal's width only for a table shown on a terminal."""
    from rich.console import Console

    terminal = chosen == "table" and output is None and sys.stdout.isatty()
    color = terminal and "NO_COLOR" not in os.environ
    return Layout(top=top, width=width or (Console().width if terminal else DEFAULT_WIDTH), color=color)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while an inventory file is read, priced and rendered.

    Loading, pricing and rendering allocate millions of objects and free almost none of them
    before the command ends, so collections would walk them again and again to find no garbage;
    reference counting still frees what is dropped. The command is the process, so this is the
    place that decides it: the library itself never touches the collector.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()
