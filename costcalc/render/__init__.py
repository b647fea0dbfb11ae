"""Report renderers by format: one interface, picked by `--format` or by the extension of `-o`.

Every renderer is a pure function of one finished `Report` and a `Layout` (rows shown, width and
colour of a terminal table) that returns the whole document: text, or bytes for a binary format.
A new format is one entry in RENDERERS, and one in EXTENSIONS for the file names that ask for it.
The renderer modules are imported only when their format is asked for, so a command that
renders a price book does not load them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from costcalc.report import Report

DEFAULT_WIDTH = 120


@dataclass(frozen=True, slots=True)
class Layout:
    """How a report is laid out: TOP groups shown (None = all), table WIDTH in columns, ANSI COLOR."""

    top: int | None = None
    width: int = DEFAULT_WIDTH
    color: bool = False


Renderer = Callable[["Report", Layout], str | bytes]


def _table(report: Report, layout: Layout) -> str:
    from costcalc.render import table

    return table.render(report, width=layout.width, color=layout.color, top=layout.top)


def _json(report: Report, layout: Layout) -> str:
    from costcalc.render import json

    return json.render(report)  # every row, whatever --top says: JSON is for machines


def _csv(report: Report, layout: Layout) -> str:
    from costcalc.render import csv

    return csv.render(report)


def _markdown(report: Report, layout: Layout) -> str:
    from costcalc.render import markdown

    return markdown.render(report, top=layout.top)


def _html(report: Report, layout: Layout) -> str:
    from costcalc.render import html

    return html.render(report, top=layout.top)


def _xlsx(report: Report, layout: Layout) -> bytes:
    from costcalc.render import xlsx

    return xlsx.render(report)  # a workbook holds every row


# The formats of `costcalc report --format`, in the order --help lists them (the first is the default).
RENDERERS: Mapping[str, Renderer] = {
    "table": _table,
    "json": _json,
    "csv": _csv,
    "markdown": _markdown,
    "html": _html,
    "xlsx": _xlsx,
}

# The format a file name asks for by its extension (`-o costs.csv`); other extensions ask for none.
EXTENSIONS: Mapping[str, str] = {
    ".txt": "table",
    ".json": "json",
    ".csv": "csv",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".xlsx": "xlsx",
}


def format_of(path: PurePath) -> str | None:
    """The format PATH's extension names (case-insensitive), or None when it names none."""
    return EXTENSIONS.get(path.suffix.lower())


def render(report: Report, output_format: str, layout: Layout) -> str | bytes:
    """REPORT as a document in OUTPUT_FORMAT (a key of RENDERERS)."""
    return RENDERERS[output_format](report, layout)
