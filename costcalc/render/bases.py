"""The "Base images" section and rebase's one-time migration lines, as every renderer shows them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from costcalc.render.display import money, percent, safe, size

if TYPE_CHECKING:
    from costcalc.report.model import Report

TITLE = "Base images"
HEADER = ["Base", "Found as", "Layers", "Size", "Repos", "Versions", "Stored %", "Egress %"]
NUMERIC_FROM = 2  # columns from here on are numbers
_ORIGINS = {"bases": "--bases", "inventory": "inventory", "shared": "shared prefix"}


def cells(report: Report) -> list[list[str]]:
    """One row of text cells per base, largest first (names made safe for any layout)."""
    unit = report.pricing.unit
    rows = []
    for base in report.bases:
        rows.append(
            [
                safe(base.name),
                _ORIGINS.get(base.origin, base.origin),
                str(base.layers),
                size(base.size_bytes, unit),
                f"{len(base.repositories):,}",
                f"{len(base.versions):,}",
                percent(base.stored_share_pct),
                "unknown" if base.egress_share_pct is None else percent(base.egress_share_pct),
            ]
        )
    return rows


def explanation(report: Report) -> str:
    """What the section's figures mean (the repositories and versions of each base are in JSON)."""
    return (
        "An image is built on a base when the base's layers are the first layers of its own (what FROM "
        "leaves); each image counts under its longest named base, else under the longest layer prefix it "
        "shares with another repository. Stored share: the base's layers as stored under "
        f"{report.pricing.dedup_scope} dedup, of all stored bytes; egress share: cold pulls of images built "
        "on it x its size, of the month's egress (a deploy on a node that holds the base fetches none of it). "
        "JSON lists the repositories and versions built on each base, the workbook the repositories."
    )


def migration_lines(report: Report) -> list[str]:
    """Per scenario with a one-time migration transfer: a line with its bytes and cost."""
    unit, currency = report.pricing.unit, report.pricing.currency
    return [
        f"{safe(s.id)}: one-time migration transfer (each node deploying a rebased image fetches the new base "
        f"once): {size(s.migration_bytes, unit)}, {money(s.migration_cost)} {currency}; not in the monthly figures."
        for s in report.scenarios
        if s.migration_bytes is not None
    ]
