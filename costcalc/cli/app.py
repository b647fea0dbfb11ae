"""The costcalc command line: options, wiring, exit codes; the only module that prints or exits."""

from __future__ import annotations

import contextlib
import enum
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

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
    rich_markup_mode=None,  # help texts hold brackets such as HOST[:PORT][/NAMESPACE]
)
pricing_app = typer.Typer(help="List, show and validate price books.", no_args_is_help=True, rich_markup_mode=None)
usage_app = typer.Typer(help="Usage (pull-frequency) files.", no_args_is_help=True, rich_markup_mode=None)
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
    """Write a finished result to stdout, or atomically to OUTPUT (temp file + rename).

    A file that cannot be written is an InputError naming it: one sentence, exit 1.
    """
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    from costcalc.cli.output import write_atomic

    try:
        write_atomic(output, text if text.endswith("\n") else text + "\n")
    except OSError as exc:
        raise InputError(f"{output}: cannot write the file ({exc.strerror or type(exc).__name__}).") from None


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


if TYPE_CHECKING:
    from collections.abc import Iterator

    from costcalc.registry.options import ScanOptions
    from costcalc.registry.scan import ScanEvent


# Scan options, shared by `scan` and by `report TARGET` (which scans on the fly).
RepoOption = Annotated[
    list[str] | None, typer.Option("--repo", metavar="NAME", help="Scan this repository (repeatable).")
]
ReposFileOption = Annotated[
    Path | None, typer.Option("--repos-file", metavar="FILE", help="Repositories to scan, one per line.")
]
IncludeOption = Annotated[
    list[str] | None, typer.Option("--include", metavar="GLOB", help="Only repositories matching GLOB.")
]
ExcludeOption = Annotated[
    list[str] | None, typer.Option("--exclude", metavar="GLOB", help="Skip repositories matching GLOB.")
]
ConcurrencyOption = Annotated[
    int, typer.Option("--concurrency", metavar="N", min=1, max=256, help="Concurrent requests.")
]
PlainHttpOption = Annotated[bool, typer.Option("--plain-http", help="Use HTTP, not HTTPS.")]
UsernameOption = Annotated[str | None, typer.Option("--username", metavar="USER", help="Registry user.")]
PasswordStdinOption = Annotated[bool, typer.Option("--password-stdin", help="Read the password or token from stdin.")]
NoCacheOption = Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the cache.")]
CacheDirOption = Annotated[
    Path | None, typer.Option("--cache-dir", metavar="DIR", help="Cache directory (default: XDG).")
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress or warnings on stderr.")]


def scan_options(
    *,
    repo: list[str] | None,
    repos_file: Path | None,
    include: list[str] | None,
    exclude: list[str] | None,
    concurrency: int,
    plain_http: bool,
    username: str | None,
    password_stdin: bool,
    no_cache: bool,
    cache_dir: Path | None,
) -> ScanOptions:
    """The typer-free ScanOptions; the password is read from stdin here, never from argv."""
    from costcalc.registry.options import ScanOptions

    if password_stdin != (username is not None):
        raise typer.BadParameter("--username and --password-stdin go together.")
    password = sys.stdin.read().rstrip("\r\n") if password_stdin else None
    return ScanOptions(
        repos=tuple(repo or ()),
        repos_file=repos_file,
        include=tuple(include or ()),
        exclude=tuple(exclude or ()),
        concurrency=concurrency,
        plain_http=plain_http,
        username=username,
        password=password,
        use_cache=not no_cache,
        cache_dir=cache_dir,
    )


def warner(quiet: bool) -> Callable[[str], None]:
    """A warning printer for stderr, silent under --quiet."""

    def warn(message: str) -> None:
        if not quiet:
            stderr.print(f"costcalc: warning: {message}", markup=False)

    return warn


class ScanFormat(enum.StrEnum):
    TABLE = "table"
    JSON = "json"


@app.command("scan")
def scan_command(
    target: Annotated[str, typer.Argument(metavar="TARGET", help="HOST[:PORT][/NAMESPACE], e.g. ghcr.io/acme.")],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", metavar="FILE", help="Write the inventory JSON file here.")
    ] = None,
    output_format: Annotated[
        ScanFormat, typer.Option("--format", metavar="FORMAT", help="Summary format on stdout.")
    ] = ScanFormat.TABLE,
    repo: RepoOption = None,
    repos_file: ReposFileOption = None,
    include: IncludeOption = None,
    exclude: ExcludeOption = None,
    concurrency: ConcurrencyOption = 16,
    plain_http: PlainHttpOption = False,
    username: UsernameOption = None,
    password_stdin: PasswordStdinOption = False,
    no_cache: NoCacheOption = False,
    cache_dir: CacheDirOption = None,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 if anything was skipped.")] = False,
    quiet: QuietOption = False,
) -> None:
    """List a namespace's repositories and tags and record every manifest's sizes (no layers)."""
    import json

    from costcalc.inventory.file import dumps
    from costcalc.registry.scan import run_scan

    options = scan_options(
        repo=repo,
        repos_file=repos_file,
        include=include,
        exclude=exclude,
        concurrency=concurrency,
        plain_http=plain_http,
        username=username,
        password_stdin=password_stdin,
        no_cache=no_cache,
        cache_dir=cache_dir,
    )
    warn = warner(quiet)

    try:
        with _scan_progress(enabled=not quiet and stderr.is_terminal) as progress:
            inventory = run_scan(target, options, progress=progress, warn=warn)
        if output is not None:
            write_output(dumps(inventory), output)
    except CostcalcError as exc:
        fail(exc)
    for error in inventory.errors:
        where = ":".join(p for p in (error.repository, error.tag) if p) or inventory.registry
        warn(f"skipped {where}: {error.reason}")
    summary = inventory.figures.summary()
    if output_format is ScanFormat.JSON:
        document = {
            "summary": summary.model_dump(mode="json"),
            "images": inventory.figures.images(),
            "errors": [e.model_dump(mode="json") for e in inventory.errors],
        }
        sys.stdout.write(json.dumps(document, indent=1) + "\n")
    else:
        _print_scan_summary(summary.model_dump(mode="json"), len(inventory.errors))
    if strict and inventory.errors:
        stderr.print(
            f"costcalc: error: {len(inventory.errors)} repositories or tags were skipped (--strict).", markup=False
        )
        raise typer.Exit(ExitCode.ERROR)


@contextlib.contextmanager
def _scan_progress(*, enabled: bool) -> Iterator[Callable[[ScanEvent], None] | None]:
    """A rich progress bar on stderr fed by scan events, or None when stderr is not a terminal."""
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        console=stderr,
        transient=True,
    ) as bar:
        task = bar.add_task("tags", total=None, detail="listing repositories")

        def update(event: ScanEvent) -> None:
            detail = (
                f"{event.repositories_done}/{event.repositories_listed} repositories, "
                f"{event.bytes_seen:,} bytes seen, {event.errors} errors"
            )
            total = event.tags_total or None
            bar.update(task, total=total, completed=event.tags_done, detail=detail)

        yield update


def _print_scan_summary(summary: dict[str, object], errors: int) -> None:
    from rich.table import Table

    table = Table(title=f"costcalc scan: {summary['registry']}/{summary['namespace']}".rstrip("/"), show_header=False)
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in summary.items():
        if key not in ("registry", "namespace"):
            table.add_row(key, f"{value:,}" if isinstance(value, int) else str(value))
    table.add_row("errors", f"{errors:,}")
    Console(highlight=False).print(table)


if TYPE_CHECKING:
    from decimal import Decimal

    from costcalc.inventory.model import Inventory
    from costcalc.registry.options import ScanOptions


class ReportFormat(enum.StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    MARKDOWN = "markdown"
    HTML = "html"


class GroupByOption(enum.StrEnum):
    REPOSITORY = "repository"
    TEAM = "team"
    NAMESPACE = "namespace"


def _amount(value: str | None) -> Decimal | None:
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


def _load_source(source: str, options: ScanOptions | None, quiet: bool) -> Inventory:
    """SOURCE as an inventory file if one exists there, else as a registry target scanned now."""
    from costcalc.errors import InvalidReference
    from costcalc.inventory import file as inventory_file
    from costcalc.reference import parse_target

    path = Path(source)
    if path.is_file() or path.suffix.lower() == ".json" or path.exists():
        return inventory_file.load(path)
    from costcalc.registry.options import ScanOptions
    from costcalc.registry.scan import run_scan  # only now: the HTTP stack takes ~0.1 s to import

    try:
        parse_target(source)
    except InvalidReference:
        raise InputError(
            f"{source}: no such inventory file, and not a registry target (HOST[:PORT][/NAMESPACE])."
        ) from None

    with _scan_progress(enabled=not quiet and stderr.is_terminal) as progress:
        return run_scan(source, options or ScanOptions(), progress=progress, warn=warner(quiet))


@app.command("report")
def report_command(
    source: Annotated[
        str, typer.Argument(metavar="SOURCE", help="An inventory file, or a scan TARGET (HOST[:PORT][/NAMESPACE]).")
    ],
    usage: Annotated[
        Path | None,
        typer.Option("--usage", metavar="FILE", help="Usage file (CSV or TOML) with pulls per repository."),
    ] = None,
    pricing: Annotated[
        list[str] | None,
        typer.Option(
            "--pricing", metavar="ID|FILE", help="Price book id or file (repeatable to compare; default aws-ecr)."
        ),
    ] = None,
    scenario: Annotated[
        list[str] | None,
        typer.Option(
            "--scenario", metavar="SPEC|FILE", help="Savings scenario: a preset/spec or a TOML file (repeatable)."
        ),
    ] = None,
    keep: Annotated[
        list[str] | None,
        typer.Option("--keep", metavar="GLOB", help="Tags retention scenarios always keep (GLOB, repeatable)."),
    ] = None,
    group_by: Annotated[
        GroupByOption,
        typer.Option("--group-by", metavar="repository|team|namespace", help="Rows per repository, team or namespace."),
    ] = GroupByOption.REPOSITORY,
    top: Annotated[
        int | None,
        typer.Option("--top", metavar="N", min=1, help="Rows shown in table/markdown/html (all in JSON/CSV)."),
    ] = None,
    output_format: Annotated[
        ReportFormat, typer.Option("--format", metavar="FORMAT", help="Output format.")
    ] = ReportFormat.TABLE,
    fail_above: Annotated[
        str | None,
        typer.Option(
            "--fail-above",
            metavar="AMOUNT",
            help="Exit 3 if the monthly total exceeds AMOUNT (report still written).",
        ),
    ] = None,
    months: Annotated[
        int, typer.Option("--months", metavar="N", min=1, max=1200, help="Horizon of the projection, in months.")
    ] = 12,
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", metavar="FILE", help="Write the report here (atomically) instead of stdout."),
    ] = None,
    width: Annotated[
        int | None,
        typer.Option(
            "--width", metavar="COLUMNS", min=40, max=1000, help="Table width (default: the terminal's, else 120)."
        ),
    ] = None,
    repo: RepoOption = None,
    repos_file: ReposFileOption = None,
    include: IncludeOption = None,
    exclude: ExcludeOption = None,
    concurrency: ConcurrencyOption = 16,
    plain_http: PlainHttpOption = False,
    username: UsernameOption = None,
    password_stdin: PasswordStdinOption = False,
    no_cache: NoCacheOption = False,
    cache_dir: CacheDirOption = None,
    quiet: QuietOption = False,
) -> None:
    """Price an inventory (or a scan) with pull data and price books: storage, egress, totals, savings."""
    import gc
    import os
    from datetime import UTC, datetime

    from costcalc.pricing.book_file import load_book
    from costcalc.render import csv as render_csv
    from costcalc.render import html as render_html
    from costcalc.render import json as render_json
    from costcalc.render import markdown as render_markdown
    from costcalc.render import table as render_table
    from costcalc.report import build as build_report
    from costcalc.scenarios.file import from_option
    from costcalc.usage.file import check_sources, load_usage

    threshold = _amount(fail_above)
    options = scan_options(
        repo=repo,
        repos_file=repos_file,
        include=include,
        exclude=exclude,
        concurrency=concurrency,
        plain_http=plain_http,
        username=username,
        password_stdin=password_stdin,
        no_cache=no_cache,
        cache_dir=cache_dir,
    )
    collecting = gc.isenabled()
    try:
        # Every input is read and checked before anything is written (SPEC §7).
        usage_file = load_usage(usage) if usage is not None else None
        books = [load_book(ref) for ref in (pricing or ["aws-ecr"])]
        if usage_file is not None:
            check_sources(usage_file, books[0])
        wanted = [s for spec in (scenario or []) for s in from_option(spec)]
        inventory = _load_source(source, options, quiet)
        # The one place the report path handles the cyclic garbage collector: off from here to
        # the end of the command (restored in `finally`). Pricing, projecting and rendering
        # allocate millions of objects and free almost none of them before the command ends,
        # so collections would walk them again and again to find no garbage; reference
        # counting still frees what is dropped. (The inventory loader pauses collection while
        # it builds and freezes what it built: that is its own business.)
        gc.disable()
        report = build_report(
            inventory,
            usage_file,
            books,
            scenarios=wanted,
            keep=tuple(keep or ()),
            group_by=group_by.value,
            months=months,
            source=source,
            generated_at=datetime.now(UTC).replace(microsecond=0),
        )
        match output_format:
            case ReportFormat.TABLE:
                terminal = output is None and sys.stdout.isatty()
                color = terminal and "NO_COLOR" not in os.environ
                table_width = width or (Console().width if terminal else render_table.DEFAULT_WIDTH)
                text = render_table.render(report, width=table_width, color=color, top=top)
            case ReportFormat.JSON:
                text = render_json.render(report)
            case ReportFormat.CSV:
                text = render_csv.render(report)
            case ReportFormat.MARKDOWN:
                text = render_markdown.render(report, top=top)
            case ReportFormat.HTML:
                text = render_html.render(report, top=top)
        write_output(text, output)
    except CostcalcError as exc:
        fail(exc)
    finally:
        if collecting:
            # Frozen first: re-enabled as they are, the next allocation would start a collection
            # over the millions of objects made since (~0.2 s) only to find no garbage.
            gc.freeze()
            gc.enable()
    if not quiet and (output is not None or output_format is not ReportFormat.TABLE):
        for warning in report.warnings:
            stderr.print(f"costcalc: warning: {warning}", markup=False)
    if threshold is not None and report.totals.monthly_cost > threshold:
        stderr.print(
            f"costcalc: monthly cost {report.totals.monthly_cost:.2f} {report.pricing.currency} is above "
            f"--fail-above {threshold} {report.pricing.currency}.",
            markup=False,
        )
        raise typer.Exit(ExitCode.THRESHOLD)


@usage_app.command("init")
def usage_init_command(
    source: Annotated[str, typer.Argument(metavar="SOURCE", help="An inventory file, or a scan TARGET.")],
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", metavar="FILE", help="Write the usage CSV here instead of stdout."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing -o file.")] = False,
    quiet: QuietOption = False,
) -> None:
    """Write a usage CSV listing every repository with blank numbers, plus a `*` default row."""
    from costcalc.usage.file import template

    try:
        if output is not None and output.exists() and not force:
            raise InputError(f"{output}: already exists; a filled-in usage file is not overwritten without --force.")
        inventory = _load_source(source, None, quiet)
        write_output(template(inventory), output)
    except CostcalcError as exc:
        fail(exc)


class PricingFormat(enum.StrEnum):
    TABLE = "table"
    JSON = "json"


def _pricing_width(output: Path | None) -> int:
    """The terminal's width when a table goes to a terminal, else a fixed 120 columns."""
    return Console().width if output is None and sys.stdout.isatty() else 120


@pricing_app.command("list")
def pricing_list_command(
    output_format: Annotated[
        PricingFormat, typer.Option("--format", metavar="FORMAT", help="Output format.")
    ] = PricingFormat.TABLE,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", metavar="FILE", help="Write the list here instead of stdout.")
    ] = None,
) -> None:
    """List the bundled price books: id, provider, region, currency, unit, effective date."""
    from costcalc.pricing.book_file import bundled_book_ids, load_book
    from costcalc.render import pricing_json, pricing_table

    try:
        books = [load_book(book_id) for book_id in bundled_book_ids()]
        match output_format:
            case PricingFormat.TABLE:
                text = pricing_table.book_list_text(books, width=_pricing_width(output))
            case PricingFormat.JSON:
                text = pricing_json.book_list_json(books)
        write_output(text, output)
    except CostcalcError as exc:
        fail(exc)


@pricing_app.command("show")
def pricing_show_command(
    book_ref: Annotated[str, typer.Argument(metavar="ID|FILE", help="Bundled book id or a .toml file.")],
    output_format: Annotated[
        PricingFormat, typer.Option("--format", metavar="FORMAT", help="Output format.")
    ] = PricingFormat.TABLE,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", metavar="FILE", help="Write the book here instead of stdout.")
    ] = None,
) -> None:
    """Show one price book: every price and tier, the plan, sources and notes."""
    from costcalc.pricing.book_file import load_book
    from costcalc.render import pricing_json, pricing_table

    try:
        book = load_book(book_ref)
        match output_format:
            case PricingFormat.TABLE:
                text = pricing_table.book_text(book, width=_pricing_width(output))
            case PricingFormat.JSON:
                text = pricing_json.book_json(book)
        write_output(text, output)
    except CostcalcError as exc:
        fail(exc)


@pricing_app.command("validate")
def pricing_validate_command(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="A price book .toml file.")],
) -> None:
    """Check a price book file; print every problem as FILE:LINE: field: problem (exit 1)."""
    from costcalc.pricing.book_file import validate_book_file

    problems = validate_book_file(file)
    if problems:
        fail(InputError(problems[0], problems))
    print(f"{file}: valid (id {file.stem})")  # a valid book's id is its file name


@app.command("quote")
def quote_command(
    pricing: Annotated[
        str, typer.Option("--pricing", metavar="ID|FILE", help="Price book id or .toml file.")
    ] = "aws-ecr",
    storage_gb: Annotated[
        str | None,
        typer.Option("--storage-gb", metavar="N", help="Storage held through the period, in the book's unit."),
    ] = None,
    egress_gb: Annotated[
        list[str] | None,
        typer.Option(
            "--egress-gb",
            metavar="CLASS=N",
            help="Volume of an egress class in the period, in the book's unit (repeatable).",
        ),
    ] = None,
    days: Annotated[
        str | None,
        typer.Option("--days", metavar="N", help="Period in days (default: a 730-hour month)."),
    ] = None,
    output_format: Annotated[
        PricingFormat, typer.Option("--format", metavar="FORMAT", help="Output format.")
    ] = PricingFormat.TABLE,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", metavar="FILE", help="Write the quote here instead of stdout.")
    ] = None,
) -> None:
    """Price explicit storage and egress quantities on one price book (finance what-ifs)."""
    from costcalc.pricing.book_file import load_book
    from costcalc.pricing.quote import build_quote, parse_egress, parse_quantity
    from costcalc.render import pricing_json, pricing_table

    if storage_gb is None and not egress_gb:
        stderr.print(
            "costcalc: error: nothing to quote: give --storage-gb N and/or --egress-gb CLASS=N.",
            markup=False,
        )
        raise typer.Exit(ExitCode.USAGE)
    try:
        storage = None if storage_gb is None else parse_quantity(storage_gb, "--storage-gb")
        egress = [parse_egress(spec) for spec in egress_gb or []]
        period = None if days is None else parse_quantity(days, "--days")
        quote = build_quote(load_book(pricing), storage=storage, egress=egress, days=period)
        match output_format:
            case PricingFormat.TABLE:
                text = pricing_table.quote_text(quote, width=_pricing_width(output))
            case PricingFormat.JSON:
                text = pricing_json.quote_json(quote)
        write_output(text, output)
    except CostcalcError as exc:
        fail(exc)


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
