"""The per-registry part of a diff of two fleet reports, as every diff format shows it."""

from __future__ import annotations

from typing import Any

from costcalc.render import csv_cells
from costcalc.render.display import count, money, size
from costcalc.render.json_values import number as json_number
from costcalc.report.diff import Diff, RegistryChange

TITLE = "Registries"


def title(diff: Diff) -> str:
    changed = sum(1 for r in diff.registries if r.status != "unchanged")
    return f"{TITLE} ({changed} changed, {len(diff.registries) - changed} unchanged)"


def columns(diff: Diff) -> list[tuple[str, bool]]:
    """(header, numeric) per column: the money first, as in the repository table."""
    cur = diff.pricing.currency
    return [
        ("Registry", False),
        (f"Change {cur}/mo", True),
        ("Before", True),
        ("After", True),
        ("Status", False),
        ("Price book", False),
        ("Repos", True),
        ("Tags", True),
        ("Stored before", True),
        ("Stored after", True),
    ]


def _arrow(before: int, after: int) -> str:
    return count(before) if before == after else f"{count(before)} -> {count(after)}"


def cells(diff: Diff, change: RegistryChange, signed: str) -> list[str]:
    """One registry's cells; SIGNED is its monthly change as the diff writes changes (`+1.50`)."""
    unit = diff.pricing.unit
    return [
        change.registry,
        signed + (" +" if change.egress_partial else ""),
        money(change.monthly_cost_before),
        money(change.monthly_cost_after),
        change.status,
        change.pricing_id,
        _arrow(change.repositories_before, change.repositories_after),
        _arrow(change.tags_before, change.tags_after),
        size(change.stored_bytes_before, unit),
        size(change.stored_bytes_after, unit),
    ]


def json_data(diff: Diff) -> dict[str, Any]:
    """The `registries` key of a fleet diff's JSON (nothing for a diff of one namespace)."""
    if not diff.registries:
        return {}
    return {
        "registries": [
            {
                "registry": r.registry,
                "status": r.status,
                "pricing_id": r.pricing_id,
                "repositories_before": r.repositories_before,
                "repositories_after": r.repositories_after,
                "tags_before": r.tags_before,
                "tags_after": r.tags_after,
                "stored_bytes_before": r.stored_bytes_before,
                "stored_bytes_after": r.stored_bytes_after,
                "monthly_cost_before": json_number(r.monthly_cost_before),
                "monthly_cost_after": json_number(r.monthly_cost_after),
                "monthly_change": json_number(r.monthly_change),
                "egress_partial": r.egress_partial,
            }
            for r in diff.registries
        ]
    }


def render_csv(diff: Diff) -> str:
    """The registry rows as CSV (the file `registries.csv` of `diff --format csv -o DIRECTORY/`)."""
    currency = diff.pricing.currency
    header = [
        "registry",
        "status",
        "pricing_id",
        "repositories_before",
        "repositories_after",
        "tags_before",
        "tags_after",
        "stored_bytes_before",
        "stored_bytes_after",
        csv_cells.money_column("monthly_cost_before", currency),
        csv_cells.money_column("monthly_cost_after", currency),
        csv_cells.money_column("monthly_change", currency),
        "egress_partial",
    ]
    rows = (
        [
            csv_cells.text(r.registry),
            r.status,
            csv_cells.text(r.pricing_id),
            csv_cells.integer(r.repositories_before),
            csv_cells.integer(r.repositories_after),
            csv_cells.integer(r.tags_before),
            csv_cells.integer(r.tags_after),
            csv_cells.integer(r.stored_bytes_before),
            csv_cells.integer(r.stored_bytes_after),
            csv_cells.number(r.monthly_cost_before),
            csv_cells.number(r.monthly_cost_after),
            csv_cells.number(r.monthly_change),
            csv_cells.flag(r.egress_partial),
        ]
        for r in diff.registries
    )
    return csv_cells.document(header, rows)


def priced_line(diff: Diff) -> str:
    """How a fleet diff is priced: each registry on its own book."""
    books = ", ".join(f"{r.registry} on {r.pricing_id}" for r in sorted(diff.registries, key=lambda r: r.registry))
    return (
        f"Each registry priced on its own book ({books}) with usage from "
        f"{diff.usage_source or 'no usage file (egress unknown)'}."
    )
