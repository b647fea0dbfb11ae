"""`costcalc usage init SOURCE`: a usage CSV template listing every repository, ready to fill in."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from costcalc.cli.options import QuietOption, output_option, with_scan_options
from costcalc.cli.output import destination
from costcalc.cli.scan import scan_inputs
from costcalc.cli.source import load_source
from costcalc.registry.options import ScanOptions


@with_scan_options
def usage_init_command(
    source: Annotated[str, typer.Argument(metavar="SOURCE", help="An inventory file, or a scan TARGET.")],
    scan: ScanOptions,
    output: Annotated[Path | None, output_option("the usage CSV")] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite an existing -o file (a filled-in usage file is kept without it).")
    ] = False,
    quiet: QuietOption = False,
) -> None:
    """Write a usage CSV listing every repository with blank numbers, plus a `*` default row."""
    from costcalc.usage.file import template

    with destination(output, inputs=[("SOURCE", source), *scan_inputs(scan)], overwrite=force) as result:
        result.write(template(load_source(source, scan, quiet=quiet)))
