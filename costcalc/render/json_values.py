"""Values as the JSON report writes them: money and quantities as exact numbers, bytes whole, UTC times."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from costcalc.render.display import exact, integer
from costcalc.render.json_writer import Number
from costcalc.report.model import Pricing
from costcalc.units import utc_timestamp


def number(value: Decimal | None) -> Number | None:
    """Money or a fractional quantity (units, pulls, percentages): exact, 4 places, half-up."""
    return None if value is None else Number(exact(value, 4))


def whole(value: Decimal | int | None) -> int | None:
    return None if value is None else integer(value)


def time(value: datetime | None) -> str | None:
    return None if value is None else utc_timestamp(value)


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
        "notes": list(pricing.notes),
    }
