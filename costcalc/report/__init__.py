"""The report: one function, build(), from inventory, usage and price books to a finished Report."""

from costcalc.report.fleet import MixedCurrencies, build_fleet
from costcalc.report.fleet_members import Member, ScopedScenario
from costcalc.report.model import (
    GROUP_BY,
    Comparison,
    GroupBy,
    MonthCost,
    Pricing,
    Report,
    ReportRow,
    RepositoryGrowth,
    ScenarioResult,
    ScenarioRow,
    Totals,
)
from costcalc.report.pipeline import build
from costcalc.report.priced import NO_TEAM, compare, price
from costcalc.report.quantities import measure, measure_usage
from costcalc.scenarios.quantities import Quantities, RowQuantities
from costcalc.scenarios.retention import VersionBytes

__all__ = [
    "GROUP_BY",
    "NO_TEAM",
    "Comparison",
    "GroupBy",
    "Member",
    "MixedCurrencies",
    "MonthCost",
    "Pricing",
    "Quantities",
    "Report",
    "ReportRow",
    "RepositoryGrowth",
    "RowQuantities",
    "ScenarioResult",
    "ScenarioRow",
    "ScopedScenario",
    "Totals",
    "VersionBytes",
    "build",
    "build_fleet",
    "compare",
    "measure",
    "measure_usage",
    "price",
]
