"""What `costcalc scan` prints on stdout: the inventory's summary figures, as a table or as JSON."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from costcalc.inventory.model import Inventory


def render_table(inventory: Inventory, width: int = 120) -> str:
    """The summary figures, one per row, with thousands separators, and the count of errors."""
    summary = inventory.figures.summary().model_dump(mode="json")
    title = f"costcalc scan: {summary['registry']}/{summary['namespace']}".rstrip("/")
    table = Table(title=title, show_header=False)
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in summary.items():
        if key not in ("registry", "namespace"):
            table.add_row(key, f"{value:,}" if isinstance(value, int) else str(value))
    table.add_row("errors", f"{len(inventory.errors):,}")
    out = io.StringIO()
    Console(file=out, width=width, highlight=False, color_system=None, markup=False).print(table)
    return out.getvalue()


def render_json(inventory: Inventory) -> str:
    """`{"summary": {...}, "images": [...], "errors": [...]}`, one image per tag."""
    document = {
        "summary": inventory.figures.summary().model_dump(mode="json"),
        "images": inventory.figures.images(),
        "errors": [e.model_dump(mode="json") for e in inventory.errors],
    }
    return json.dumps(document, indent=1) + "\n"


# The formats of `costcalc scan --format`, the first the default.
RENDERERS: Mapping[str, Callable[[Inventory, int], str]] = {
    "table": render_table,
    "json": lambda inventory, width: render_json(inventory),
}
