"""Rebase's one-time migration transfer, priced as one more month's egress on the projection (pure)."""

from __future__ import annotations

from decimal import Decimal

from costcalc.report.priced import monthly_cost_by_repository
from costcalc.scenarios.projection import Projection


def migration(projection: Projection, monthly_cost: Decimal) -> dict[str, Decimal]:
    """`migration_bytes` and `migration_cost` of PROJECTION's result ({} when it rebases nothing).

    The cost is what the projected month costs with the migration bytes added to its egress,
    less what it costs without them (MONTHLY_COST, as the result priced it): the same tiers,
    free allowances and classes apply.
    """
    if projection.migration is None:
        return {}
    quantities = projection.quantities
    moved = projection.migration
    total = sum((sum(by_class.values(), Decimal(0)) for by_class in moved.values()), Decimal(0))
    rows = []
    for row in quantities.rows:
        extra = moved.get(row.repository)
        if not extra or row.egress_bytes_by_class is None:
            rows.append(row)
            continue
        egress = dict(row.egress_bytes_by_class)
        for cls, amount in extra.items():
            egress[cls] = egress.get(cls, Decimal(0)) + amount
        rows.append(row.model_copy(update={"egress_bytes_by_class": egress}))
    with_migration = quantities.model_copy(update={"rows": tuple(rows)})
    cost = sum(monthly_cost_by_repository(with_migration, projection.book).values(), Decimal(0)) - monthly_cost
    return {"migration_bytes": total, "migration_cost": cost}
