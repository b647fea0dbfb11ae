"""Transfer time: the hours of pulls and pushes a scenario saves a month at a stated bandwidth (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, localcontext

from costcalc.report.model import RepositoryGrowth
from costcalc.scenarios.quantities import Quantities
from costcalc.units import ARITHMETIC, format_bandwidth

DEFAULT_BANDWIDTH_BITS = 10**9  # 1 Gbit/s per node
SECONDS_PER_HOUR = 3600


def bandwidth_assumption(bits_per_second: int) -> str:
    return (
        f"Transfer time saved is at {format_bandwidth(bits_per_second)} per node (--bandwidth): cold pulls x "
        "the bytes each saves, warm pulls (deploys x nodes) x the version delta each saves, and pushes "
        "(the push rate) x the bytes each new version saves, each transfer at that rate, as hours a month. "
        "Repositories without pull data count their pushes only."
    )


def hours_saved(
    baseline: Quantities,
    projected: Quantities,
    growth: Mapping[str, RepositoryGrowth],
    size_ratio: Mapping[str, Decimal],
    bits_per_second: int,
) -> Decimal:
    """Hours a month of transfer PROJECTED saves against BASELINE at BITS_PER_SECOND per transfer
    (negative when it transfers more)."""
    after = {row.repository: row for row in projected.rows}
    with localcontext(ARITHMETIC):
        saved = Decimal(0)
        for row in baseline.rows:
            new = after.get(row.repository)
            if new is None:
                continue
            if row.pulls_per_month is not None:
                cold = row.cold_pulls_per_month if row.cold_pulls_per_month is not None else row.pulls_per_month
                warm = row.pulls_per_month - cold
                saved += cold * (row.pull_bytes - new.pull_bytes) + warm * (row.delta_bytes - new.delta_bytes)
            pushes = growth.get(row.repository)
            if pushes is not None and pushes.versions_per_month:
                ratio = size_ratio.get(row.repository, Decimal(1))
                saved += pushes.versions_per_month * pushes.bytes_per_version * (1 - ratio)
        return saved * 8 / bits_per_second / SECONDS_PER_HOUR
