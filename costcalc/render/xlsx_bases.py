"""The xlsx report's "Base images" sheet: one row per base, bytes and shares as numbers."""

from __future__ import annotations

from costcalc.render.display import integer
from costcalc.render.workbook import Book, Column, cells, headers
from costcalc.report import Report

COLUMNS = [
    Column("Base", "text", 40),
    Column("Found as", "text", 12),
    Column("Top layer", "text", 24),
    Column("Layers", "count", 8),
    Column("Size", "bytes", 16),
    Column("Stored", "bytes", 16),
    Column("Stored share", "percent", 10),
    Column("Egress a month", "bytes", 18),
    Column("Egress share", "percent", 10),
    Column("Repositories", "text", 48),
    Column("Versions", "count", 10),
]


def bases_sheet(book: Book, report: Report) -> None:
    """A "Base images" sheet (only when the report found a base)."""
    if not report.bases:
        return
    sheet = book.workbook.add_worksheet("Base images")
    headers(book, sheet, COLUMNS)
    for index, base in enumerate(report.bases, start=1):
        values: list[object] = [
            base.name,
            base.origin,
            base.top_layer,
            base.layers,
            base.size_bytes,
            base.stored_bytes,
            base.stored_share_pct,
            None if base.egress_bytes is None else integer(base.egress_bytes),
            base.egress_share_pct,
            ", ".join(base.repositories),
            len(base.versions),
        ]
        cells(book, sheet, index, COLUMNS, values)
