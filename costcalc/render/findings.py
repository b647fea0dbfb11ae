"""The report's ECR and measured-usage sections as titled lines, for the table, Markdown and HTML."""

from __future__ import annotations

from decimal import Decimal

from costcalc.render.display import TOP_VERSIONS, count, money, percent, size
from costcalc.report import Report

Section = tuple[str, list[str]]  # a title and its lines, plain text (each renderer escapes them)


def sections(report: Report) -> list[Section]:
    """The sections REPORT has data for, in the order the renderers print them."""
    found = [_untagged(report), _measured(report), _recency(report)]
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


def _measured(report: Report) -> Section:
    unit, totals = report.pricing.unit, report.totals
    lines = [
        _comparison(
            row.name, row.measured_egress_bytes, row.modelled_egress_bytes, row.egress_model_difference_pct, unit
        )
        for row in report.rows
        if row.measured_egress_bytes is not None and row.modelled_egress_bytes is not None
    ]
    if len(lines) > 1 and totals.measured_egress_bytes is not None and totals.modelled_egress_bytes is not None:
        lines.append(
            _comparison(
                "Total",
                totals.measured_egress_bytes,
                totals.modelled_egress_bytes,
                totals.egress_model_difference_pct,
                unit,
            )
        )
    return "Measured vs modelled egress", lines


def _comparison(name: str, measured: Decimal, modelled: Decimal, pct: Decimal | None, unit: str) -> str:
    return (
        f"{name}: measured {size(measured, unit)}/month; the model predicts {size(modelled, unit)} "
        f"for the same pulls ({_difference(pct)})"
    )


def _difference(pct: Decimal | None) -> str:
    if pct is None:
        return "the model predicts none"
    return f"{'+' if pct > 0 else ''}{percent(pct)} measured vs model"


def _recency(report: Report) -> Section:
    unit = report.pricing.unit
    lines = []
    for recency in report.pull_recency:
        windows = "; ".join(
            f"{days} days: {_versions(stale.versions)}, {size(stale.size_bytes, unit)}"
            for days, stale in recency.not_pulled.items()
        )
        unknown = recency.unknown
        lines.append(
            f"{recency.repository} ({_versions(recency.versions)}): not pulled in {windows}; never pulled or "
            f"unknown: {_versions(unknown.versions)}, {size(unknown.size_bytes, unit)}"
        )
    return "Pull recency (bytes only those versions reach)", lines


def _versions(number: int) -> str:
    return f"{count(number)} version{'' if number == 1 else 's'}"


def expired_sections(report: Report) -> list[Section]:
    """Per lifecycle scenario (not `combined` repeating one), the first images it expires."""
    found: list[Section] = []
    shown: list[tuple[object, ...]] = []
    for scenario in report.scenarios:
        if not scenario.expired or scenario.expired in shown:
            continue
        shown.append(scenario.expired)
        lines = [
            f"{image.repository}@{image.digest[:19]}: {', '.join(image.tags) or 'untagged'} "
            f"(rule {image.rule_priority})"
            for image in scenario.expired[:TOP_VERSIONS]
        ]
        if len(scenario.expired) > TOP_VERSIONS:
            lines.append(f"{len(scenario.expired) - TOP_VERSIONS} more in JSON output.")
        found.append((f"Images expired by {scenario.id} ({len(scenario.expired)})", lines))
    return found


def _images(number: int) -> str:
    return f"{count(number)} image{'' if number == 1 else 's'}"
