"""`costcalc usage from-logs`: pull counts and bytes served, read from registry logs, written as a usage file."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer

from costcalc.cli.console import say
from costcalc.cli.options import QuietOption, choose_format, format_option, output_option
from costcalc.cli.output import destination
from costcalc.errors import InputError
from costcalc.usage.logs.lookup import InventoryLookup
from costcalc.usage.logs.measured import Measurement, bytes_per_month, measurement_data, usage_csv
from costcalc.usage.logs.networks import Networks, read_network_file
from costcalc.usage.logs.pulls import PullCounter
from costcalc.usage.logs.reader import BadLines, FileSummary, LogFormat, read_requests

_PERIOD = re.compile(r"(\d+(?:\.\d+)?)\s*([hd])")

# csv: a usage file for report --usage; json: every figure.
MEASURED_FORMATS = ("csv", "json")


def from_logs_command(
    files: Annotated[
        list[Path],
        typer.Argument(metavar="FILE", help="Access logs, logrus logs or CloudTrail files (plain, .gz, .zst)."),
    ],
    output: Annotated[Path | None, output_option("the result")] = None,
    output_format: Annotated[
        str | None, format_option(MEASURED_FORMATS, "csv: a usage file for report --usage; json: every figure")
    ] = None,
    log_format: Annotated[
        LogFormat,
        typer.Option(
            "--log-format",
            metavar="FORMAT",
            help="auto, distribution (registry logrus lines), combined (Apache/nginx, registry access log), "
            "cloudtrail (ECR events).",
        ),
    ] = LogFormat.AUTO,
    network: Annotated[
        list[str] | None,
        typer.Option(
            "--network",
            metavar="CLASS=CIDR",
            help="Clients in CIDR are billed as egress CLASS (repeatable); private and loopback "
            "ranges are same-region, others internet.",
        ),
    ] = None,
    network_file: Annotated[
        Path | None, typer.Option("--network-file", metavar="FILE", help="CLASS=CIDR lines, # comments.")
    ] = None,
    inventory: Annotated[
        Path | None,
        typer.Option(
            "--inventory",
            metavar="FILE",
            help="Sizes, platforms and tags of what the logs name (CloudTrail records no sizes).",
        ),
    ] = None,
    period: Annotated[
        str | None,
        typer.Option("--period", metavar="DURATION", help="Time the logs cover: 24h, 7d (default: their span)."),
    ] = None,
    quiet: QuietOption = False,
) -> None:
    """Count pulls and bytes served per repository from registry logs; write a usage CSV for report --usage."""
    chosen = choose_format(output_format, output, MEASURED_FORMATS)
    inputs = [("FILE", path) for path in files]
    inputs += [
        (option, path) for option, path in (("--network-file", network_file), ("--inventory", inventory)) if path
    ]
    with destination(output, inputs=inputs) as result:
        text, notes = _measure(files, chosen, log_format, network or [], network_file, inventory, period)
        if not quiet:
            for note in notes:
                say(note)
        result.write(text)


def _measure(
    files: list[Path],
    output_format: str,
    log_format: LogFormat,
    network: list[str],
    network_file: Path | None,
    inventory: Path | None,
    period: str | None,
) -> tuple[str, list[str]]:
    """The output text, and the summary and warnings for stderr."""
    _check_paths(files)
    specs = [(f"--network {spec}", spec) for spec in network]
    if network_file is not None:
        specs += read_network_file(_read_text(network_file, "networks"), str(network_file))
    networks = Networks.parse(specs)
    period_hours = _period_hours(period) if period is not None else None
    lookup = None
    if inventory is not None:
        from costcalc.inventory.file import load

        lookup = InventoryLookup.of(load(inventory))
    counter = PullCounter(networks, lookup)
    bad = BadLines()
    summaries = []
    for path in files:
        summary = FileSummary(str(path))
        summaries.append(summary)
        for request in read_requests(path, log_format, bad, summary):
            counter.add(request)
    measurement = counter.measurement()
    lines = sum(summary.lines for summary in summaries)
    if not measurement.repositories:
        found = "no manifest or blob downloads" if counter.start is not None else "nothing readable"
        problems = [f"{found} in {lines} lines of {len(files)} file(s) ({bad.count} unreadable); nothing written."]
        raise InputError(problems[0], problems + [f"unreadable: {example}" for example in bad.examples])
    if period_hours is None:
        period_hours = measurement.span_hours
        if period_hours <= 0:
            raise InputError("the logs' requests all have the same time: give the time they cover with --period.")
    notes = _notes(measurement, period_hours, bad, lines, len(files), lookup is not None, period is None)
    if output_format == "json":
        data = measurement_data(measurement, period_hours)
        data["files"] = [
            {
                "path": s.path,
                "log_format": s.log_format,
                "lines": s.lines,
                "requests": s.requests,
                "bad_lines": s.bad_lines,
            }
            for s in summaries
        ]
        data["bad_lines"] = {"count": bad.count, "examples": bad.examples}
        data["warnings"] = [note.removeprefix("warning: ") for note in notes if note.startswith("warning: ")]
        return json.dumps(data, indent=2) + "\n", notes
    return usage_csv(measurement, period_hours), notes


def _notes(
    measurement: Measurement,
    period_hours: Decimal,
    bad: BadLines,
    lines: int,
    files: int,
    have_sizes: bool,
    from_span: bool,
) -> list[str]:
    repositories = measurement.repositories
    pulls = sum(usage.total("pulls") for usage in repositories)
    served = sum(usage.total("served_bytes") for usage in repositories)
    notes = [
        f"{pulls} pulls of {len(repositories)} repositories in {lines} lines of {files} file(s), "
        f"over {period_hours:.2f} hours (scaled to a 730-hour month); {served} bytes served, "
        f"{bytes_per_month(served, period_hours)} per month (the usage file's measured_bytes_per_month; "
        "--format json lists them per class)."
    ]
    if from_span and period_hours < 24:
        notes.append(
            f"warning: the logs span {period_hours:.2f} hours, under a day: per-month figures scale "
            "that span up; give --period if the logs cover more time than their requests show."
        )
    if bad.count:
        notes.append(f"warning: {bad.count} unreadable lines skipped; the first:")
        notes += [f"  {example}" for example in bad.examples]
    unknown = sum(usage.total("unknown_size_requests") for usage in repositories)
    if unknown:
        hint = "they are not in the inventory" if have_sizes else "give --inventory for their sizes"
        notes.append(f"warning: {unknown} downloads have no size in the logs; {hint}; served bytes leave them out.")
    return notes


def _check_paths(files: list[Path]) -> None:
    seen: set[Path] = set()
    for path in files:
        key = path.resolve()
        if key in seen:
            raise InputError(f"{path}: given twice (its pulls would be counted twice).")
        seen.add(key)


def _period_hours(text: str) -> Decimal:
    match = _PERIOD.fullmatch(text.strip())
    if match is None or Decimal(match[1]) == 0:
        raise InputError(f"--period: {text!r} is not a duration such as 36h or 7d.")
    return Decimal(match[1]) * (24 if match[2] == "d" else 1)


def _read_text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such {what} file.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the {what} file ({type(exc).__name__}).") from None
