"""The report's ECR and measured-usage sections as titled lines, for the table, Markdown and HTML."""

from __future__ import annotations

from costcalc.render.display import count, money, size
from costcalc.report import Report

Section = tuple[str, list[str]]  # a title and its lines, plain text (each renderer escapes them)


def sections(report: Report) -> list[Section]:
    """The sections REPORT has data for, in the order the renderers print them."""
    found = [_untagged(report)]
    return [(title, lines) for title, lines in found if lines]


def _untagged(report: Report) -> Section:
    cur, unit, totals = report.pricing.currency, report.pricing.unit, report.totals
    lines = [
        f"{row.name}: untagged: {_images(row.untagged_images)}, {size(row.untagged_bytes, unit)}, "
        f"{money(row.untagged_cost)} {cur}/month"
        for row in report.rows
        if row.untagged_images
    ]
    if lines:
        lines.append(
            f"Total: untagged: {_images(totals.untagged_images)}, {size(totals.untagged_bytes, unit)}, "
            f"{money(totals.untagged_cost)} {cur}/month (billed, and part of storage above)"
        )
    return "Untagged images", lines


def _images(number: int) -> str:
    return f"{count(number)} image{'' if number == 1 else 's'}"
