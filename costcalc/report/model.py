"""The finished report: what every renderer shows and none has to compute (rows, totals, scenarios)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, SkipValidation

from costcalc import __version__
from costcalc.inventory.model import Summary
from costcalc.report.recency import PullRecency
from costcalc.scenarios.retention import VersionBytes
from costcalc.scenarios.state import ExpiredImage

# Raised whenever a key of the JSON report is renamed or changes meaning (README: "The JSON report").
REPORT_SCHEMA_VERSION = 2
GroupBy = Literal["repository", "team", "namespace", "registry"]
GROUP_BY: tuple[GroupBy, ...] = ("repository", "team", "namespace", "registry")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Pricing(_Frozen):
    """The price book a report was priced on, as the report prints it."""

    id: str
    name: str
    provider: str
    region: str
    currency: str
    unit: str
    dedup_scope: str
    effective_date: date
    sources: tuple[str, ...]
    notes: tuple[str, ...] = ()


class _UntaggedAndMeasured(_Frozen):
    """What totals and rows both carry: untagged images, and egress measured from logs."""

    untagged_images: int = 0  # manifests stored with no tag (billed: part of storage)
    untagged_bytes: Decimal = Decimal(0)  # the part of the stored bytes only they reach
    untagged_cost: Decimal = Decimal(0)  # the part of the storage cost that is theirs
    # egress measured from logs, and the model's prediction for the same pulls (None: not measured)
    measured_egress_bytes: Decimal | None = None
    modelled_egress_bytes: Decimal | None = None

    @property
    def egress_model_difference_pct(self) -> Decimal | None:
        """How far the model is from the measured bytes, in % of the modelled (+: more was served)."""
        if self.measured_egress_bytes is None or not self.modelled_egress_bytes:
            return None
        return (self.measured_egress_bytes - self.modelled_egress_bytes) / self.modelled_egress_bytes * 100


class Totals(_UntaggedAndMeasured):
    """Report totals: sums of the unrounded row values; egress classes as the book prices them."""

    storage_bytes: Decimal
    billable_storage_gb: Decimal  # storage in the book's unit (GiB or GB, see Pricing.unit)
    storage_cost: Decimal  # one month, plan fee included, after discount
    egress_bytes: Decimal
    egress_gb_by_class: dict[str, Decimal]  # in the book's unit
    egress_cost_by_class: dict[str, Decimal]
    egress_cost: Decimal  # of repositories with pull data: a lower bound when egress_complete is False
    egress_complete: bool
    monthly_cost: Decimal
    horizon_cost: Decimal
    months: int


class ReportRow(_UntaggedAndMeasured):
    """One group (repository, team or namespace) of a report."""

    name: str
    team: str | None
    repositories: tuple[str, ...]
    tags: int
    unique_bytes: int  # Σ of the members' distinct bytes (a blob shared inside a group counts per member)
    attributed_bytes: Decimal
    image_bytes: Decimal
    pulls_per_month: Decimal | None
    egress_bytes: Decimal | None
    storage_cost: Decimal
    egress_cost: Decimal | None  # None = no member has pull data (unknown, never 0)
    egress_partial: bool  # some members have no pull data: egress_cost is a lower bound
    monthly_cost: Decimal


class Comparison(_Frozen):
    """Another price book's totals for the same inventory and usage (`--pricing` given twice)."""

    pricing: Pricing
    totals: Totals
    assumptions: tuple[str, ...] = ()  # those that differ from the primary book's
    warnings: tuple[str, ...] = ()


class BaseImageRow(_Frozen):
    """A base image found in the layers, what is built on it, and its share of bytes and egress."""

    name: str  # its first reference, or "<top layer digest> (N layers)" for a shared prefix
    origin: str  # "bases" (--bases), "inventory" (an image of the inventory), "shared" (a prefix no image names)
    references: tuple[str, ...]
    top_layer: str
    layers: int
    size_bytes: int  # its layers, each once: what one cold pull of it transfers
    repositories: tuple[str, ...]  # built on it
    versions: tuple[str, ...]  # REPOSITORY:TAG (or @DIGEST) of each image built on it
    stored_bytes: int  # of its layers, as stored under the book's dedup scope
    stored_share_pct: Decimal  # of the inventory's stored bytes under that scope
    egress_bytes: Decimal | None  # of its layers in a month's cold pulls; None = no pull data
    egress_share_pct: Decimal | None  # of the month's egress bytes


class RepositoryGrowth(_Frozen):
    """How fast one repository grows: its push rate and the bytes each new version adds."""

    repository: str
    versions: int  # image versions it holds today
    versions_per_month: Decimal  # 0 when the rate cannot be measured (see basis)
    bytes_per_version: Decimal  # the typical version delta: layers new in a version
    basis: str  # "last 90 days", "all history (N days)", "one version", "no dates"


class MonthCost(_Frozen):
    """One month of the projection over --months: month 1 starts from today's inventory."""

    month: int  # 1..months
    storage_bytes: Decimal  # the month's average storage (mean of its start and end): what is priced
    storage_cost: Decimal
    egress_cost: Decimal  # as today's (growth adds versions, not pulls)
    monthly_cost: Decimal


class ScenarioRow(_Frozen):
    repository: str
    baseline_monthly_cost: Decimal
    monthly_cost: Decimal
    monthly_savings: Decimal


class ScenarioResult(_Frozen):
    id: str  # e.g. "alpine", "retention:5", "combined"
    description: str
    pricing_id: str  # book the projection is priced on (differs for provider:ID)
    baseline_monthly_cost: Decimal
    monthly_cost: Decimal
    monthly_savings: Decimal
    horizon_savings: Decimal
    savings_pct: Decimal  # 0..100 (negative when a scenario costs more)
    bytes_freed: Decimal  # storage bytes freed (baseline storage_bytes - projected)
    assumptions: tuple[str, ...]
    rows: tuple[ScenarioRow, ...]
    # retention: every version it looked at, per repository, oldest first; `combined` holds
    # its full merged list too (the same tuples), and the JSON renderer writes only the entries
    # that differ from an individual scenario's (see render.json.scenario_data)
    versions: Annotated[tuple[VersionBytes, ...], SkipValidation] = ()
    # ecr-lifecycle: every image the policy expires, by repository, oldest push first
    expired: Annotated[tuple[ExpiredImage, ...], SkipValidation] = ()
    # rebase: what every node fetches once when it deploys the rebased images, apart from the
    # monthly figures (None for scenarios that change no base)
    migration_bytes: Decimal | None = None
    migration_cost: Decimal | None = None
    monthly: tuple[MonthCost, ...] = ()  # its month-by-month series over --months
    transfer_hours_saved: Decimal | None = None  # a month of pulls and pushes, at --bandwidth per node

    def dropped_by_size(self) -> tuple[VersionBytes, ...]:
        """The dropped versions, most exclusive bytes first; ties keep `versions` order."""
        return tuple(sorted((v for v in self.versions if v.dropped), key=lambda v: -v.exclusive_bytes))


class FleetInput(_Frozen):
    """One inventory a fleet report merged: where it came from, what it covers, how fresh it is."""

    source: str  # the file (or scan target) given on the command line
    registry: str
    namespace: str
    scanned_at: datetime
    repositories: int
    tags: int
    errors: int  # repositories or tags its scan skipped
    stale: bool = False  # scanned longer ago than --max-age


class RegistryTotals(_Frozen):
    """One registry of a fleet: its inputs' namespaces, the book it is priced on, its month."""

    registry: str
    namespaces: tuple[str, ...]
    pricing_id: str
    dedup_scope: str
    repositories: int
    tags: int
    storage_bytes: Decimal  # stored once per the book's dedup scope, within this registry only
    storage_cost: Decimal
    egress_cost: Decimal
    egress_complete: bool
    monthly_cost: Decimal
    horizon_cost: Decimal


class BookTotals(_Frozen):
    """The registries of a fleet priced on one book, and their sum."""

    pricing: Pricing
    registries: tuple[str, ...]
    storage_bytes: Decimal
    billable_storage_gb: Decimal  # the storage in the book's unit (GiB or GB)
    egress_bytes: Decimal
    egress_gb: Decimal  # the egress in the book's unit, every class together
    egress_complete: bool  # every registry on the book has pull data: no cost below is a lower bound
    storage_cost: Decimal
    egress_cost: Decimal
    monthly_cost: Decimal
    horizon_cost: Decimal


class Report(_Frozen):
    """A finished report : everything a renderer shows, nothing it has to compute."""

    schema_version: int = REPORT_SCHEMA_VERSION
    generated_at: datetime | None = None
    tool_version: str = __version__
    source: str = ""
    registry: str
    namespace: str
    scanned_at: datetime | None
    usage_source: str | None
    group_by: GroupBy
    pricing: Pricing
    assumptions: tuple[str, ...]
    inventory: Summary | None
    totals: Totals
    rows: tuple[ReportRow, ...]  # by monthly cost, largest first, then name
    comparison: tuple[Comparison, ...] = ()
    scenarios: tuple[ScenarioResult, ...] = ()
    pull_recency: tuple[PullRecency, ...] = ()  # per repository, when the inventory records pull times
    bases: tuple[BaseImageRow, ...] = ()  # largest first
    growth: tuple[RepositoryGrowth, ...] = ()  # per repository, by name
    monthly: tuple[MonthCost, ...] = ()  # the baseline month by month; totals.horizon_cost is their sum
    # a fleet (several inventories): each input, each registry's totals and each book's; empty
    # for the report of one inventory
    inputs: tuple[FleetInput, ...] = ()
    registries: tuple[RegistryTotals, ...] = ()
    price_books: tuple[BookTotals, ...] = ()

    def dropped_version_sections(self) -> tuple[tuple[str, tuple[VersionBytes, ...]], ...]:
        """Per scenario that drops versions: its id and dropped versions, largest first.

        A scenario dropping exactly what an earlier one drops (typically `combined` after a
        single retention scenario) is left out, so people do not read one list twice.
        """
        sections: list[tuple[str, tuple[VersionBytes, ...]]] = []
        for scenario in self.scenarios:
            dropped = scenario.dropped_by_size()
            if dropped and all(dropped != shown for _, shown in sections):
                sections.append((scenario.id, dropped))
        return tuple(sections)

    warnings: tuple[str, ...]
