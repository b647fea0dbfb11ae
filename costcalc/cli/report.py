"""`costcalc report SOURCE`: read and check every input, build the report, render it, apply --fail-above."""

from __future__ import annotations

import contextlib
import enum
import gc
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from costcalc.cli.console import ExitCode, say, usage_error
from costcalc.cli.options import (
    QuietOption,
    WidthOption,
    choose_format,
    format_option,
    output_option,
    with_scan_options,
)
from costcalc.cli.output import OutputDirectory, file_or_directory, table_width
from costcalc.cli.scan import scan_inputs
from costcalc.cli.source import is_file_source, load_source
from costcalc.errors import InputError
from costcalc.registry.options import ScanOptions
from costcalc.render import DEFAULT_WIDTH, RENDERERS, Layout, render

if TYPE_CHECKING:
    from datetime import timedelta
    from decimal import Decimal

    from costcalc.cli.fleet import Mapped
    from costcalc.report import Report

# The scenario forms, for --help; tests/test_cli_help.py checks it names every preset.
SCENARIO_FORMS = (
    "alpine, multistage, distroless, target:SIZE, ratio:R, measured:REPO:BEFORE=AFTER, "
    "retention:N, retention:DAYSd, colocate:P, provider:ID, ecr-lifecycle:FILE|current, rebase:FROM=TO"
)


class GroupBy(enum.StrEnum):
    REPOSITORY = "repository"
    TEAM = "team"
    NAMESPACE = "namespace"
    REGISTRY = "registry"


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
    sources: Annotated[
        list[str],
        typer.Argument(
            metavar="SOURCE",
            help="Inventory files, directories of them, or scan TARGETs (HOST[:PORT][/NAMESPACE]); inventories "
            "of one registry are merged, each registry is priced on its own.",
        ),
    ],
    scan: ScanOptions,
    usage: Annotated[
        list[str] | None,
        typer.Option(
            "--usage",
            metavar="[GLOB=]FILE",
            help="Usage file (CSV or TOML) with pulls per repository; GLOB=FILE: for the registries GLOB matches.",
        ),
    ] = None,
    pricing: Annotated[
        list[str] | None,
        typer.Option(
            "--pricing",
            metavar="[GLOB=]ID|FILE",
            help="Price book id (see `costcalc pricing list`) or .toml file; repeat to compare; default aws-ecr. "
            "GLOB=BOOK prices the registries GLOB matches (e.g. 'ghcr.io=github-packages').",
        ),
    ] = None,
    scenario: Annotated[
        list[str] | None,
        typer.Option(
            "--scenario",
            metavar="[GLOB=]SPEC|FILE",
            help=f"Savings scenario (repeatable): {SCENARIO_FORMS}, or a TOML file of scenarios; "
            "GLOB=SPEC applies it to the registries GLOB matches only.",
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
    group_by: Annotated[
        GroupBy, typer.Option("--group-by", help="Rows per repository, team, namespace or registry.")
    ] = (GroupBy.REPOSITORY),
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
    width: WidthOption = None,
    max_age: Annotated[
        str | None,
        typer.Option(
            "--max-age",
            metavar="AGE",
            help="Warn about inventories scanned longer ago than AGE (36h, 7d, 2w); with --strict, refuse them.",
        ),
    ] = None,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="Exit 1, writing nothing, if an inventory is older than --max-age or its scan skipped something.",
        ),
    ] = False,
    quiet: QuietOption = False,
) -> None:
    """Price inventories (files, directories of them, or scans) with pull data and price books: storage, egress,
    totals, savings; several registries are each priced on their own book and added up."""
    from costcalc.cli import fleet
    from costcalc.render.csv import FILES

    threshold = parse_amount(fail_above)
    bits_per_second = _bandwidth(bandwidth)
    output_path = Path(output) if output is not None else None
    chosen = choose_format(output_format, output_path, tuple(RENDERERS))
    given = fleet.expand_sources(sources)
    pricing_map = fleet.split_mapping(pricing or [])
    usage_map = fleet.split_mapping(usage or [])
    scenario_map = fleet.split_mapping(scenario or [], is_plain=fleet.is_scenario_spec)
    oldest = fleet.parse_max_age(max_age)
    inputs: list[tuple[str, Path | str]] = [
        *(("SOURCE", source) for source in given),
        *([("--bases", bases)] if bases is not None else []),
        *(("--usage", Path(ref)) for ref in usage_map.values()),
        *(("--pricing", ref) for ref in pricing_map.values()),
        *(("--scenario", spec) for spec in scenario_map.values()),
        *scan_inputs(scan),
    ]
    with file_or_directory(output, chosen, FILES, inputs=inputs) as result:
        # A scan's asyncio machinery makes cycles worth collecting; a file's records do not.
        files_only = all(is_file_source(source) for source in given)
        with _collector_paused() if files_only else contextlib.nullcontext():
            report = build_report(
                given,
                scan,
                pricing_map,
                usage_map,
                scenario_map,
                quiet=quiet,
                bases=bases,
                group_by=group_by,
                months=months,
                keep=tuple(keep or ()),
                bandwidth_bits_per_second=bits_per_second,
                max_age=oldest,
                strict=strict,
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


def build_report(
    sources: Sequence[str],
    scan: ScanOptions,
    pricing: Mapped,
    usage: Mapped,
    scenarios: Mapped,
    *,
    quiet: bool,
    bases: str | None,
    group_by: GroupBy,
    months: int,
    keep: tuple[str, ...],
    bandwidth_bits_per_second: int,
    max_age: timedelta | None,
    strict: bool,
) -> Report:
    """Every input read and checked, merged per registry, priced and added up (nothing written yet)."""
    from datetime import UTC, datetime

    from costcalc.cli import fleet
    from costcalc.inventory.merge import Fleet
    from costcalc.report.fleet import build_fleet

    now = datetime.now(UTC).replace(microsecond=0)
    # Books, usage files and scenarios first: a mistake in one is said before any scan starts.
    inputs = fleet.read_inputs(pricing, usage, scenarios)
    # The base images next, before any SOURCE: a typo in --bases is said before a long scan, not
    # after it (a TARGET given to --bases is scanned here, first).
    base_images = load_source(bases, scan, quiet=quiet) if bases is not None else None
    # One inventory at a time is read and folded in, so a fleet of many files never holds them all.
    loaded = Fleet()
    for source in sources:
        loaded.add(source, load_source(source, scan, quiet=quiet))
    registries = loaded.registries()
    summaries = [given for registry in registries for given in registry.inputs]
    problems = fleet.strict_problems(summaries, now, max_age) if strict else []
    if problems:
        raise InputError(f"--strict: {'; '.join(problems)}.")
    members, warnings = fleet.members(registries, inputs, scan)
    report = build_fleet(
        members,
        group_by=group_by.value,
        months=months,
        keep=keep,
        generated_at=now,
        bases=base_images,
        bandwidth_bits_per_second=bandwidth_bits_per_second,
        max_age=max_age,
    )
    if warnings:
        report = report.model_copy(update={"warnings": (*report.warnings, *warnings)})
    return report


def _bandwidth(text: str) -> int:
    """--bandwidth in bits per second; a bad rate is a usage error of one sentence."""
    from costcalc.units import parse_bandwidth

    try:
        return parse_bandwidth(text)
    except ValueError as problem:
        usage_error(f"--bandwidth: {problem}.")


def _layout(chosen: str, *, output: Path | None, width: int | None, top: int | None) -> Layout:
    """Colour and the terminal's width only for a table shown on a terminal."""
    terminal = chosen == "table" and output is None and sys.stdout.isatty()
    color = terminal and "NO_COLOR" not in os.environ
    shown = table_width(output, width) if chosen == "table" else width or DEFAULT_WIDTH
    return Layout(top=top, width=shown, color=color)


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
