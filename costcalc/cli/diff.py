"""The `costcalc diff OLD NEW` command: two inventories priced alike, what changed, exit 3 above a limit."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from costcalc.cli.console import ExitCode, say
from costcalc.cli.options import QuietOption, WidthOption, choose_format, format_option, output_option
from costcalc.cli.output import OutputDirectory, file_or_directory, table_width
from costcalc.cli.report import parse_amount
from costcalc.errors import InputError

if TYPE_CHECKING:
    from costcalc.inventory.model import Inventory
    from costcalc.report.diff_reports import ReportFile

DIFF_FORMATS = ("table", "json", "csv", "markdown", "html")


def _source(path: Path) -> Inventory | ReportFile:
    """PATH as an inventory, or as a report JSON (which lists no tags or blobs, only their totals)."""
    from costcalc.inventory.file import load
    from costcalc.report.diff_reports import load_report

    try:
        return load(path)
    except InputError:
        if not _looks_like_report(path):
            raise
    return load_report(path)


def _looks_like_report(path: Path) -> bool:
    """True when PATH begins as `costcalc report --format json` writes (a bounded peek, any file)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
    except OSError:
        return False
    return head.lstrip().startswith(b"{") and b'"tool_version"' in head and b'"group_by"' in head


def diff_command(
    old: Annotated[
        Path,
        typer.Argument(
            metavar="OLD", help="The earlier inventory (costcalc scan -o), or report JSON (report --format json)."
        ),
    ],
    new: Annotated[
        Path, typer.Argument(metavar="NEW", help="The later inventory, or report JSON, of the same namespace.")
    ],
    usage: Annotated[
        Path | None,
        typer.Option("--usage", metavar="FILE", help="Usage file (CSV or TOML) pricing both scans."),
    ] = None,
    pricing: Annotated[
        str,
        typer.Option(
            "--pricing",
            metavar="ID|FILE",
            help="Price book id (see `costcalc pricing list`) or .toml file pricing both scans.",
        ),
    ] = "aws-ecr",
    months: Annotated[
        int, typer.Option("--months", metavar="N", min=1, max=1200, help="Horizon of the change, in months.")
    ] = 12,
    output_format: Annotated[str | None, format_option(DIFF_FORMATS)] = None,
    fail_above_increase: Annotated[
        str | None,
        typer.Option(
            "--fail-above-increase",
            metavar="AMOUNT",
            help="Exit 3 if the monthly cost rises by more than AMOUNT, in the book's currency (output still written).",
        ),
    ] = None,
    output: Annotated[
        str | None,
        output_option("the diff; with --format csv, -o DIRECTORY/ writes repositories.csv and registries.csv"),
    ] = None,
    width: WidthOption = None,
    quiet: QuietOption = False,
) -> None:
    """What changed between two scans of a namespace, or two fleet reports: tags, versions, bytes and monthly cost
    per repository and team (and per registry for fleets)."""
    from datetime import UTC, datetime

    from costcalc import report as costs
    from costcalc.pricing.book_file import load_book
    from costcalc.render import diff as render_diff
    from costcalc.render.diff import CSV_FILES
    from costcalc.report.diff import compare
    from costcalc.report.diff_reports import ReportFile, compare_reports
    from costcalc.usage.file import check_sources, load_usage

    threshold = parse_amount(fail_above_increase)
    output_path = Path(output) if output is not None else None
    chosen = choose_format(output_format, output_path, DIFF_FORMATS)
    inputs: list[tuple[str, Path | str]] = [("OLD", old), ("NEW", new), ("--pricing", pricing)]
    if usage is not None:
        inputs.append(("--usage", usage))
    with file_or_directory(output, chosen, CSV_FILES, inputs=inputs) as result:
        usage_file = load_usage(usage) if usage is not None else None
        book = load_book(pricing)
        if usage_file is not None:
            check_sources(usage_file, book)
        before, after = _source(old), _source(new)
        if isinstance(before, ReportFile) and isinstance(after, ReportFile):
            if usage is not None:
                raise InputError("OLD and NEW are report JSONs, priced already: --usage does not apply to them.")
            diff = compare_reports(before, after)
        elif isinstance(before, ReportFile) or isinstance(after, ReportFile):
            raise InputError("OLD and NEW must both be inventories, or both report JSONs.")
        else:
            now = datetime.now(UTC).replace(microsecond=0)
            reports = [
                costs.price(
                    costs.measure(inventory, usage_file, book), book, months=months, source=str(path), generated_at=now
                )
                for inventory, path in ((before, old), (after, new))
            ]
            diff = compare(before, after, reports[0], reports[1])
        if isinstance(result, OutputDirectory):
            result.commit(render_diff.render_csv_files(diff))
        elif chosen == "table":
            result.write(render_diff.render_table(diff, width=table_width(output, width)))
        else:
            renderers = {
                "json": render_diff.render_json,
                "csv": render_diff.render_csv,
                "markdown": render_diff.render_markdown,
                "html": render_diff.render_html,
            }
            result.write(renderers[chosen](diff))
    if not quiet:
        for warning in diff.warnings:
            say(f"warning: {warning}")
        if chosen == "csv" and diff.registries and not isinstance(result, OutputDirectory):
            say(
                "note: this CSV holds the repositories; -o DIRECTORY/ writes registries.csv (the registries "
                "compared) beside them."
            )
    if threshold is not None and diff.monthly_change > threshold:
        currency = diff.pricing.currency
        say(
            f"monthly cost rises by {diff.monthly_change:.2f} {currency}, above "
            f"--fail-above-increase {threshold} {currency}."
        )
        raise typer.Exit(ExitCode.THRESHOLD)
