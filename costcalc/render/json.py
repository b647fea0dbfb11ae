"""The JSON report (SPEC §3.3): money as exact decimal numbers, written without floats."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from costcalc.costs import Pricing, Report, ReportRow, ScenarioResult, Totals, VersionBytes
from costcalc.render.display import exact, integer, whole_parts


class Number:
    """A JSON number literal, written as-is (json.dumps would go through float)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def money(value: Decimal | None) -> Number | None:
    return None if value is None else Number(exact(value, 4))


def quantity(value: Decimal | None) -> Number | None:
    return None if value is None else Number(exact(value, 4))


def whole(value: Decimal | int | None) -> int | None:
    return None if value is None else integer(value)


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def pricing_data(pricing: Pricing) -> dict[str, Any]:
    return {
        "id": pricing.id,
        "name": pricing.name,
        "provider": pricing.provider,
        "region": pricing.region,
        "effective_date": pricing.effective_date.isoformat(),
        "sources": list(pricing.sources),
        "currency": pricing.currency,
        "unit": pricing.unit,
        "dedup_scope": pricing.dedup_scope,
    }


def totals_data(totals: Totals) -> dict[str, Any]:
    return {
        "storage_bytes": whole(totals.storage_bytes),
        "billable_storage_gb": quantity(totals.billable_storage_gb),
        "storage_cost": money(totals.storage_cost),
        "egress_bytes": whole(totals.egress_bytes),
        "egress_gb_by_class": {k: quantity(v) for k, v in totals.egress_gb_by_class.items()},
        "egress_cost_by_class": {k: money(v) for k, v in totals.egress_cost_by_class.items()},
        "egress_cost": money(totals.egress_cost),
        "egress_complete": totals.egress_complete,
        "monthly_cost": money(totals.monthly_cost),
        "months": totals.months,
        "horizon_cost": money(totals.horizon_cost),
    }


def row_data(
    row: ReportRow, attributed_bytes: int | None = None, egress_bytes: int | None = None
) -> dict[str, Any]:
    """ROW as JSON; ATTRIBUTED_BYTES and EGRESS_BYTES are its whole-byte shares (see rows_data)."""
    return {
        "name": row.name,
        "tags": row.tags,
        "unique_bytes": row.unique_bytes,
        "attributed_bytes": whole(row.attributed_bytes) if attributed_bytes is None else attributed_bytes,
        "image_bytes": whole(row.image_bytes),
        "pulls_per_month": quantity(row.pulls_per_month),
        "egress_bytes": whole(row.egress_bytes) if egress_bytes is None else egress_bytes,
        "storage_cost": money(row.storage_cost),
        "egress_cost": money(row.egress_cost),
        "egress_partial": row.egress_partial,
        "monthly_cost": money(row.monthly_cost),
        "team": row.team,
        "repositories": list(row.repositories),
    }


def rows_data(rows: Sequence[ReportRow]) -> list[dict[str, Any]]:
    """ROWS as JSON, their fractional bytes made whole so that they add up to the totals' bytes."""
    attributed = whole_parts([row.attributed_bytes for row in rows])
    egress = whole_parts([row.egress_bytes for row in rows])
    return [row_data(row, a, e) for row, a, e in zip(rows, attributed, egress, strict=True)]


def scenario_data(scenario: ScenarioResult) -> dict[str, Any]:
    return {
        "id": scenario.id,
        "description": scenario.description,
        "pricing_id": scenario.pricing_id,
        "baseline_monthly_cost": money(scenario.baseline_monthly_cost),
        "monthly_cost": money(scenario.monthly_cost),
        "monthly_savings": money(scenario.monthly_savings),
        "horizon_savings": money(scenario.horizon_savings),
        "savings_pct": quantity(scenario.savings_pct),
        "bytes_freed": whole(scenario.bytes_freed),
        "assumptions": list(scenario.assumptions),
        "rows": [
            {
                "repository": r.repository,
                "baseline_monthly_cost": money(r.baseline_monthly_cost),
                "monthly_cost": money(r.monthly_cost),
                "monthly_savings": money(r.monthly_savings),
            }
            for r in scenario.rows
        ],
        "versions": [version_data(v) for v in scenario.versions],
    }


def version_data(version: VersionBytes) -> dict[str, Any]:
    created = version.created
    if created is not None and created.tzinfo is None:  # a config time without offset is UTC
        created = created.replace(tzinfo=UTC)
    return {
        "repository": version.repository,
        "digest": version.digest,
        "tags": list(version.tags),
        "created": _time(created),
        "exclusive_bytes": version.exclusive_bytes,
        "dropped": version.dropped,
    }


def report_data(report: Report) -> dict[str, Any]:
    """The report as JSON-ready data (money as Number literals), in SPEC §3.3 order."""
    return {
        "schema_version": report.schema_version,
        "generated_at": _time(report.generated_at),
        "tool_version": report.tool_version,
        "source": report.source,
        "registry": report.registry,
        "namespace": report.namespace,
        "scanned_at": _time(report.scanned_at),
        "usage_source": report.usage_source,
        "group_by": report.group_by,
        "pricing": pricing_data(report.pricing),
        "assumptions": list(report.assumptions),
        "inventory": report.inventory.model_dump() if report.inventory else None,
        "totals": totals_data(report.totals),
        "rows": rows_data(report.rows),
        "comparison": [
            {
                "pricing": pricing_data(c.pricing),
                "totals": totals_data(c.totals),
                "assumptions": list(c.assumptions),
                "warnings": list(c.warnings),
            }
            for c in report.comparison
        ],
        "scenarios": [scenario_data(s) for s in report.scenarios],
        "warnings": list(report.warnings),
    }


def render(report: Report) -> str:
    """REPORT as an indented JSON document (UTF-8 text, non-ASCII escaped, control characters escaped)."""
    return dump(report_data(report)) + "\n"


def dump(value: Any, indent: int = 0) -> str:
    """VALUE as JSON with 2-space indentation; Number objects are written verbatim."""
    pad, inner = "  " * indent, "  " * (indent + 1)
    if isinstance(value, Number):
        return value.text
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        items = [f"{inner}{json.dumps(str(k))}: {dump(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(value, Sequence) and not isinstance(value, str):
        if not value:
            return "[]"
        return "[\n" + ",\n".join(f"{inner}{dump(v, indent + 1)}" for v in value) + f"\n{pad}]"
    if isinstance(value, Decimal | float):
        raise TypeError("money and quantities must be wrapped in Number before dumping")
    return json.dumps(value)
