"""`costcalc scan TARGET`, and the scan run with its progress bar that `report` and `usage init` share."""

from __future__ import annotations

import contextlib
import math
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from costcalc.cli.console import ExitCode, ScanInterrupted, say, stderr, warner
from costcalc.cli.options import QuietOption, format_option, output_option, with_scan_options
from costcalc.cli.output import destination, table_width
from costcalc.registry.options import ScanOptions
from costcalc.render.scan_summary import RENDERERS as SUMMARY_RENDERERS

if TYPE_CHECKING:
    from costcalc.inventory.model import Inventory
    from costcalc.registry.scan import ScanEvent

SCAN_FORMATS = tuple(SUMMARY_RENDERERS)


def scan_inputs(options: ScanOptions) -> list[tuple[str, Path | str]]:
    """The files a scan reads, for the check that -o replaces none of them."""
    named = (("--repos-file", options.repos_file), ("--ca-file", options.ca_file))
    return [(name, path) for name, path in named if path is not None]


def run_scan(target: str, options: ScanOptions, *, quiet: bool) -> Inventory:
    """Scan TARGET with a progress bar on a terminal; warns when nothing was found there.

    Ctrl-C ends the scan with ScanInterrupted, which says whether a cache kept what was fetched.
    """
    from costcalc.registry.ecr import api_available, parse_ecr_target

    warn = warner(quiet)
    ecr = parse_ecr_target(target)
    try:
        with _progress(quiet=quiet) as progress:
            # An ECR host goes through ECR's API when boto3 is there (it alone lists every
            # repository and sees untagged images); without it, through the OCI API like any registry.
            if ecr is not None and (api_available() or ecr.account is None):
                from costcalc.registry.ecr_scan import scan_ecr

                inventory = scan_ecr(
                    ecr, options, profile=options.aws_profile, region=options.aws_region, warn=warn, progress=progress
                )
            else:
                from costcalc.registry.scan import run_scan as scan  # only now: the HTTP stack is slow to import

                inventory = scan(target, options, progress=progress, warn=warn)
    except KeyboardInterrupt:
        raise ScanInterrupted(cached=options.use_cache) from None
    if not inventory.repositories:
        warn(f"{target}: no repository found; check the namespace, or name repositories with --repo.")
    return inventory


@with_scan_options
def scan_command(
    target: Annotated[str, typer.Argument(metavar="TARGET", help="HOST[:PORT][/NAMESPACE], e.g. ghcr.io/acme.")],
    scan: ScanOptions,
    output: Annotated[Path | None, output_option("the inventory JSON file", instead_of_stdout=False)] = None,
    output_format: Annotated[
        str | None, format_option(SCAN_FORMATS, "Summary format on stdout", by_extension=False)
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 1 if anything was skipped, or if no repository was found.")
    ] = False,
    quiet: QuietOption = False,
) -> None:
    """List a namespace's repositories and tags and record every manifest's sizes (no layers)."""
    from costcalc.inventory.file import dumps

    with destination(output, inputs=scan_inputs(scan)) as inventory_file:
        inventory = run_scan(target, scan, quiet=quiet)
        if output is not None:
            inventory_file.write(dumps(inventory))
    warn = warner(quiet)
    for error in inventory.errors:
        where = ":".join(p for p in (error.repository, error.tag) if p) or inventory.registry
        warn(f"skipped {where}: {error.reason}")
    width = table_width(None)  # the summary goes to stdout; -o takes the inventory
    sys.stdout.write(SUMMARY_RENDERERS[output_format or SCAN_FORMATS[0]](inventory, width))
    if strict and inventory.errors:
        say(f"error: {len(inventory.errors)} repositories or tags were skipped (--strict).")
        raise typer.Exit(ExitCode.ERROR)
    if strict and not inventory.repositories:
        say(f"error: no repository was found under {target} (--strict).")
        raise typer.Exit(ExitCode.ERROR)


@contextlib.contextmanager
def _progress(*, quiet: bool) -> Iterator[Callable[[ScanEvent], None] | None]:
    """Scan progress on stderr: a bar on a terminal, else a line every PROGRESS_INTERVAL_SECONDS."""
    if quiet:
        yield None
    elif stderr.is_terminal:
        with _progress_bar() as bar:
            yield bar
    else:
        yield _ProgressLines(time.monotonic())


# How often a scan whose stderr is not a terminal (CI logs, a redirect) says how far it got.
PROGRESS_INTERVAL_SECONDS = 5.0


class _ProgressLines:
    """Scan events as a line at most every PROGRESS_INTERVAL_SECONDS: counts, rate and time left."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.last = started

    def __call__(self, event: ScanEvent) -> None:
        now = time.monotonic()
        if now - self.last < PROGRESS_INTERVAL_SECONDS:
            return
        self.last = now
        elapsed = max(now - self.started, 1e-3)
        rate = event.tags_done / elapsed
        line = (
            f"progress: {event.repositories_done}/{event.repositories_listed} repositories, "
            f"{event.tags_done:,}/{event.tags_total:,} tags, {event.bytes_seen:,} bytes seen, "
            f"{rate:,.1f} tags/s"
        )
        if rate > 0 and event.tags_total > event.tags_done:
            line += f", about {math.ceil((event.tags_total - event.tags_done) / rate):,} s left"
        say(line + ".")


@contextlib.contextmanager
def _progress_bar() -> Iterator[Callable[[ScanEvent], None]]:
    """A rich progress bar on stderr fed by scan events."""
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
