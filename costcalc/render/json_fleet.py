"""The JSON report's fleet keys (`registries`, `price_books`, `inputs`): written only for a fleet."""

from __future__ import annotations

from typing import Any

from costcalc.render.json_values import number, pricing_data, time
from costcalc.report.model import Report
from costcalc.units import whole_parts


def fleet_data(report: Report) -> dict[str, Any]:
    """A fleet's registries, books and inputs; nothing for the report of one inventory (its keys
    stay as they were). Bytes are whole, made so that each list adds up to `totals.storage_bytes`."""
    if not report.registries:
        return {}
    registry_bytes = whole_parts([r.storage_bytes for r in report.registries])
    book_bytes = whole_parts([b.storage_bytes for b in report.price_books])
    book_egress = whole_parts([b.egress_bytes for b in report.price_books])
    return {
        "registries": [
            {
                "registry": r.registry,
                "namespaces": list(r.namespaces),
                "pricing_id": r.pricing_id,
                "dedup_scope": r.dedup_scope,
                "repositories": r.repositories,
                "tags": r.tags,
                "storage_bytes": stored,
                "storage_cost": number(r.storage_cost),
                "egress_cost": number(r.egress_cost),
                "egress_complete": r.egress_complete,
                "monthly_cost": number(r.monthly_cost),
                "horizon_cost": number(r.horizon_cost),
            }
            for r, stored in zip(report.registries, registry_bytes, strict=True)
        ],
        "price_books": [
            {
                "pricing": pricing_data(b.pricing),
                "registries": list(b.registries),
                "storage_bytes": stored,
                "egress_bytes": egress,
                "egress_gb": number(b.egress_gb),
                "storage_cost": number(b.storage_cost),
                "egress_cost": number(b.egress_cost),
                "monthly_cost": number(b.monthly_cost),
                "horizon_cost": number(b.horizon_cost),
            }
            for b, stored, egress in zip(report.price_books, book_bytes, book_egress, strict=True)
        ],
        "inputs": [
            {
                "source": given.source,
                "registry": given.registry,
                "namespace": given.namespace,
                "scanned_at": time(given.scanned_at),
                "repositories": given.repositories,
                "tags": given.tags,
                "errors": given.errors,
                "stale": given.stale,
            }
            for given in report.inputs
        ],
    }
