"""The `costcalc diff OLD NEW` command: two inventories priced alike, what changed, exit 3 above a limit."""

from __future__ import annotations

import enum
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console

from costcalc.errors import CostcalcError, InputError

if TYPE_CHECKING:
    from costcalc.inventory.model import Inventory

THRESHOLD_EXIT = 3  # the same exit code as `report --fail-above`
_stderr = Console(stderr=True, highlight=False, soft_wrap=True)


class DiffFormat(enum.StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    MARKDOWN = "markdown"
    HTML = "html"


def _fail(exc: CostcalcError) -> NoReturn:
    problems = exc.problems if isinstance(exc, InputError) else [str(exc)]
    for problem in problems:
        _stderr.print(f"costcalc: error: {problem}", markup=False)
    raise typer.Exit(1)


def _increase(value: str | None) -> Decimal | None:
    """--fail-above-increase AMOUNT: a plain decimal number >= 0 in the price book's currency."""
    if value is None:
        return None
    try:
        amount = Decimal(value.strip().replace("_", ""))
    except InvalidOperation:
        raise typer.BadParameter(f"{value!r} is not a number (e.g. 100 or 99.50).") from None
    if not amount.is_finite() or amount < 0:
        raise typer.BadParameter(f"{value!r} must be a number >= 0.")
    return amount


def _write(text: str, output: Path | None) -> None:
    from costcalc.cli.output import write_atomic

    if output is None:
        sys.stdout.write(text)
        return
    try:
        write_atomic(output, text)
    except OSError as exc:
        raise InputError(f"{output}: cannot write the file ({exc.strerror or type(exc).__name__}).") from None


def _inventory(path: Path) -> Inventory:
    """PATH as an inventory; a report JSON given instead is named as such (it lacks the tags and blobs)."""
    from costcalc.inventory.file import load

    try:
        return load(path)
    except InputError:
        if _is_report(path):
            raise InputError(
                f"{path}: this is a report, not an inventory: diff compares the tags and blobs of two "
                "inventories (costcalc scan TARGET -o FILE)."
            ) from None
        raise


def _is_report(path: Path) -> bool:
    import json

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return isinstance(data, dict) and "totals" in data and "rows" in data


def diff_command(
    old: Annotated[Path, typer.Argument(metavar="OLD", help="The earlier inventory file (costcalc scan -o).")],
    new: Annotated[Path, typer.Argument(metavar="NEW", help="The later inventory file of the same namespace.")],
    usage: Annotated[
        Path | None,
        typer.Option("--usage", metavar="FILE", help="Usage file (CSV or TOML) pricing both scans."),
    ] = None,
    pricing: Annotated[
        str, typer.Option("--pricing", metavar="ID|FILE", help="Price book id or file pricing both scans.")
    ] = "aws-ecr",
    months: Annotated[
        int, typer.Option("--months", metavar="N", min=1, max=1200, help="Horizon of the change, in months.")
    ] = 12,
    output_format: Annotated[
        DiffFormat,
        typer.Option("--format", metavar="table|json|csv|markdown|html", help="Output format."),
    ] = DiffFormat.TABLE,
    fail_above_increase: Annotated[
        str | None,
        typer.Option(
            "--fail-above-increase",
            metavar="AMOUNT",
            help="Exit 3 if the monthly cost rises by more than AMOUNT, in the book's currency (output still written).",
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", metavar="FILE", help="Write the diff here (atomically) instead of stdout."),
    ] = None,
    width: Annotated[
        int | None,
        typer.Option(
            "--width", metavar="COLUMNS", min=40, max=1000, help="Table width (default: the terminal's, else 120)."
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No warnings on stderr.")] = False,
) -> None:
    """What changed between two scans of a namespace: tags, versions, bytes and monthly cost per repository and team."""
    from datetime import UTC, datetime

    from costcalc.pricing.book_file import load_book
    from costcalc.render import diff as render_diff
    from costcalc.report import build as costs
    from costcalc.report.diff import compare
    from costcalc.usage.file import check_sources, load_usage

    threshold = _increase(fail_above_increase)
    try:
        usage_file = load_usage(usage) if usage is not None else None
        book = load_book(pricing)
        if usage_file is not None:
            check_sources(usage_file, book)
        before, after = _inventory(old), _inventory(new)
        now = datetime.now(UTC).replace(microsecond=0)
        reports = [
            costs.price(
                costs.measure(inventory, usage_file, book), book, months=months, source=str(path), generated_at=now
            )
            for inventory, path in ((before, old), (after, new))
        ]
        diff = compare(before, after, reports[0], reports[1])
        match output_format:
            case DiffFormat.TABLE:
                terminal = output is None and sys.stdout.isatty()
                text = render_diff.render_table(diff, width=width or (Console().width if terminal else 120))
            case DiffFormat.JSON:
                text = render_diff.render_json(diff)
            case DiffFormat.CSV:
                text = render_diff.render_csv(diff)
            case DiffFormat.MARKDOWN:
                text = render_diff.render_markdown(diff)
            case DiffFormat.HTML:
                text = render_diff.render_html(diff)
        _write(text, output)
    except CostcalcError as exc:
        _fail(exc)
    if not quiet:
        for warning in diff.warnings:
            _stderr.print(f"costcalc: warning: {warning}", markup=False)
    if threshold is not None and diff.monthly_change > threshold:
        _stderr.print(
            f"costcalc: monthly cost rises by {diff.monthly_change:.2f} {diff.pricing.currency}, above "
            f"--fail-above-increase {threshold} {diff.pricing.currency}.",
            markup=False,
        )
        raise typer.Exit(THRESHOLD_EXIT)
