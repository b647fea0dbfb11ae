"""Inventory + Usage + PriceBook -> Report: quantities per repository, priced and allocated (pure)."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Annotated, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, SkipValidation

from costcalc import __version__
from costcalc.inventory.model import DEFAULT_PLATFORM, Inventory, Repository, Summary
from costcalc.pricing.book import BYTES_PER_UNIT, PriceBook
from costcalc.usage.file import Usage, UsageRow

REPORT_SCHEMA_VERSION = 1
GroupBy = Literal["repository", "team", "namespace"]
GROUP_BY: tuple[GroupBy, ...] = ("repository", "team", "namespace")
DEFAULT_SOURCE = "internet"
NO_TEAM = "(no team)"
# Money is carried as an exact multiple of 10^-4 of a currency unit, the precision of the JSON
# and CSV reports (SPEC §3.3): each priced component (storage, each egress class) is rounded
# once, half-up, and split among the rows in whole quanta, so every figure the reports print is
# exact and the printed rows add up to the printed totals (a finer quantum would be rounded
# again by the renderers, one row at a time, and stop adding up).
MONEY_QUANTUM = Decimal("0.0001")
_QUANTUM_EXPONENT = -4
_PRECISION = 50


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RowQuantities(_Frozen):
    """What one repository stores and serves in a month, before prices."""

    repository: str
    team: str | None
    tags: int
    unique_bytes: int  # distinct blobs the repository's tags reach
    storage_bytes: Decimal  # attributed bytes under the book's dedup scope (SPEC §2)
    image_bytes: Decimal  # image bytes of the pulled tag/platform (0 for artifact-only repositories)
    pull_bytes: Decimal  # bytes of one cold pull: manifest(s) + config + image bytes
    delta_bytes: Decimal  # bytes of one warm pull: the version delta
    pulls_per_month: Decimal | None  # cold + warm pulls; None = no pull data
    egress_bytes_by_class: dict[str, Decimal] | None  # per month; None = unknown (no pull data)
    pulled_tag: str | None = None
    platform: str | None = None


class Quantities(_Frozen):
    """Every repository's quantities plus what was assumed and what is missing."""

    registry: str
    namespace: str
    rows: tuple[RowQuantities, ...]  # one per repository, sorted by name
    assumptions: tuple[str, ...]
    warnings: tuple[str, ...]
    scanned_at: datetime | None = None
    summary: Summary | None = None
    usage_source: str | None = None


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


class Totals(_Frozen):
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


class ReportRow(_Frozen):
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


class ScenarioRow(_Frozen):
    repository: str
    baseline_monthly_cost: Decimal
    monthly_cost: Decimal
    monthly_savings: Decimal


class VersionBytes(NamedTuple):
    """One image version a retention scenario looked at: the bytes only it holds, and its fate.

    A named tuple, not a model: a retention scenario over 100,000 tags makes ~100,000 of them,
    and a tuple is built, compared and kept in a fraction of a validated model's time and memory
    (ScenarioResult.versions takes them as they are, unvalidated).
    """

    repository: str
    digest: str
    tags: tuple[str, ...]  # every tag aliasing the digest
    created: datetime | None  # the config's `created`; None when the image does not say
    exclusive_bytes: int  # blobs no other tag reaches: what deleting this version alone frees
    dropped: bool  # False: the scenario keeps it


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

    def dropped_by_size(self) -> tuple[VersionBytes, ...]:
        """The dropped versions, most exclusive bytes first; ties keep `versions` order."""
        return tuple(sorted((v for v in self.versions if v.dropped), key=lambda v: -v.exclusive_bytes))


class Report(_Frozen):
    """A finished report (SPEC §3.3): everything a renderer shows, nothing it has to compute."""

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


@dataclass(frozen=True)
class Measurements:
    """What measure() finds that no price book changes: one measure_usage() serves every book.

    ROWS are the repositories' quantities (sorted by name) with storage_bytes left at 0 and
    egress under the usage row's own class; measure() attributes storage under a book's dedup
    scope and substitutes the classes a compared book does not price.
    """

    registry: str
    namespace: str
    rows: tuple[RowQuantities, ...]
    single_version: tuple[str, ...]  # repositories with warm pulls and a single version
    default_source: tuple[str, ...]  # repositories whose usage row names no source
    unknown_egress: int  # repositories without pull data
    warnings: tuple[str, ...]
    scanned_at: datetime | None
    summary: Summary | None
    usage_source: str | None


def measure_usage(inventory: Inventory, usage: Usage | None) -> Measurements:
    """The book-independent half of measure(): pulled image, pull and delta bytes, pulls, egress."""
    figures = inventory.figures
    names = [repo.name for repo in inventory.repositories]
    warnings: list[str] = []
    if usage is None:
        warnings.append(
            "No usage file: egress is unknown for every repository (pass --usage FILE; "
            "`costcalc usage init` writes a template)."
        )
    else:
        warnings += [
            f"{usage.source}:{row.line}: repository: pattern {row.pattern!r} matches no repository in the inventory."
            for row in usage.unmatched(names)
        ]
    single_version: list[str] = []
    default_source: list[str] = []
    rows: list[RowQuantities] = []
    repository_bytes = figures.repository_bytes
    zero = Decimal(0)
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        for repo in inventory.repositories:
            name = repo.name
            match = usage.match(name) if usage is not None else None
            digest, tag, tag_warning = _pulled(inventory, repo, match)
            if tag_warning:
                warnings.append(tag_warning)
            platform: str | None = None
            image = pull = delta = zero
            if digest is not None:
                wanted = match.platform if match else None
                platform = figures.default_platform(digest, wanted) or figures.default_platform(digest)
                available = sorted(figures.platforms(digest))
                if match is not None and wanted and platform != wanted:
                    warnings.append(
                        f"{usage.source if usage else ''}:{match.line}: platform: {name}:{tag} has no "
                        f"{wanted} image (it has {', '.join(available) or 'none'}); pulls are priced "
                        f"on {platform or 'all it reaches'}."
                    )
                elif (
                    not wanted
                    and len(available) > 1
                    and platform not in (None, DEFAULT_PLATFORM)
                    and match is not None
                    and match.has_pull_data
                ):
                    warnings.append(
                        f"{name}:{tag} has no {DEFAULT_PLATFORM} image and several platforms "
                        f"({', '.join(available)}); pulls are priced on {platform}: set `platform` in "
                        f"the usage row ({usage.source if usage else ''}:{match.line}) to choose."
                    )
                if platform is not None:
                    image = Decimal(figures.platforms(digest).get(platform, 0))
                    pull = Decimal(figures.pull_bytes(digest, platform))
                else:  # an artifact (Helm chart, signature): a pull fetches all it reaches
                    pull = Decimal(sum(figures.reachable(digest).values()))
            deltas, transitions = figures.version_delta_bytes(name, platform)
            delta = Decimal(deltas) if deltas or transitions else pull
            pulls: Decimal | None = None
            egress: dict[str, Decimal] | None = None
            if match is not None and match.has_pull_data:
                cold = match.pulls_per_month or zero
                warm = (match.deploys_per_month or zero) * (match.nodes or zero)
                pulls = cold + warm
                if match.source is None:
                    default_source.append(name)
                egress = {match.source or DEFAULT_SOURCE: cold * pull + warm * delta}
                if warm and transitions == 0:
                    single_version.append(name)
            else:
                reason = (
                    "no usage row matches it"
                    if match is None
                    else f"its usage row ({usage.source if usage else ''}:{match.line}) has no pulls or deploys"
                )
                if usage is not None:
                    warnings.append(f"{name}: no pull data ({reason}): egress unknown, not counted in totals.")
            rows.append(
                RowQuantities(
                    repository=name,
                    team=match.team if match else None,
                    tags=len(repo.tags),
                    unique_bytes=repository_bytes.get(name, 0),
                    storage_bytes=zero,
                    image_bytes=image,
                    pull_bytes=pull,
                    delta_bytes=delta,
                    pulls_per_month=pulls,
                    egress_bytes_by_class=egress,
                    pulled_tag=tag,
                    platform=platform,
                )
            )
    if inventory.errors:
        warnings.append(
            f"The inventory records {len(inventory.errors)} scan error(s): what could not be read is not counted."
        )
    return Measurements(
        registry=inventory.registry,
        namespace=inventory.namespace,
        rows=tuple(sorted(rows, key=lambda r: r.repository)),
        single_version=tuple(single_version),
        default_source=tuple(default_source),
        unknown_egress=sum(1 for row in rows if row.egress_bytes_by_class is None),
        warnings=tuple(warnings),
        scanned_at=inventory.scanned_at,
        summary=figures.summary(),
        usage_source=usage.source if usage is not None else None,
    )


def measure(
    inventory: Inventory,
    usage: Usage | None,
    book: PriceBook,
    *,
    substitute_classes: bool = False,
    measurements: Measurements | None = None,
) -> Quantities:
    """Bytes stored and served per month of every repository of INVENTORY under BOOK's dedup scope.

    With SUBSTITUTE_CLASSES (a book compared side by side), a usage source the book does not
    price is billed as internet egress and said so; otherwise check_sources() has vetted them.
    MEASUREMENTS, if given, is measure_usage(INVENTORY, USAGE), shared by several books.
    """
    if measurements is None:
        measurements = measure_usage(inventory, usage)
    attributed = inventory.figures.attributed_bytes(book.dedup_scope)
    assumptions = [
        (
            "Storage is billed on registry-wide deduplicated bytes: a blob shared by several "
            "repositories is stored once and its bytes are split evenly among them."
            if book.dedup_scope == "registry"
            else "Storage is billed on per-repository deduplicated bytes: a blob shared by several "
            "repositories is stored (and billed) once in each."
        ),
        "A month is 730 hours; pulls_per_day are converted to pulls_per_month as × 730/24.",
        "A cold pull transfers the manifest(s), config and layers of the pulled platform; a warm "
        "pull (each deploy on each node) transfers only the layers new in that version.",
    ]
    substituted: set[str] = set()
    classes = book.egress_classes
    rows: list[RowQuantities] = []
    for row in measurements.rows:
        update: dict[str, object] = {"storage_bytes": Decimal(attributed.get(row.repository, 0))}
        egress = row.egress_bytes_by_class
        if substitute_classes and egress is not None:
            (source, amount), *_ = egress.items()
            if source not in classes:
                substituted.add(source)
                update["egress_bytes_by_class"] = {DEFAULT_SOURCE: amount}
        rows.append(row.model_copy(update=update))
    single_version, default_source = measurements.single_version, measurements.default_source
    if single_version:
        assumptions.append(
            f"{_names(single_version)} {'has' if len(single_version) == 1 else 'have'} a single version: "
            "a warm pull is assumed to fetch the full image."
        )
    if default_source:
        assumptions.append(f"Pulls with no source are billed as {DEFAULT_SOURCE} egress ({_names(default_source)}).")
    assumptions += [
        f"{book.id} has no {name} egress class: those pulls are billed as {DEFAULT_SOURCE} egress."
        for name in sorted(substituted)
    ]
    unknown = measurements.unknown_egress
    if unknown and rows:
        assumptions.append(
            f"Egress is a lower bound: {unknown} of {len(rows)} repositories "
            f"{'has' if unknown == 1 else 'have'} no pull data."
        )
    return Quantities(
        registry=measurements.registry,
        namespace=measurements.namespace,
        rows=tuple(rows),
        assumptions=tuple(assumptions),
        warnings=measurements.warnings,
        scanned_at=measurements.scanned_at,
        summary=measurements.summary,
        usage_source=measurements.usage_source,
    )


def _pulled(
    inventory: Inventory, repo: Repository, match: UsageRow | None
) -> tuple[str | None, str | None, str | None]:
    """(digest, tag, warning) of the image a pull of REPO fetches (SPEC §4 `tag`)."""
    figures = inventory.figures
    name = repo.name
    tags = {t.tag: t.digest for t in repo.tags}
    warning = None
    if match is not None and match.tag:
        if match.tag in tags:
            return tags[match.tag], match.tag, None
        warning = f"{name}: tag {match.tag!r} (usage line {match.line}) not found; the default tag is priced."
    if "latest" in tags:
        return tags["latest"], "latest", warning
    versions = figures.image_versions(name) or figures.versions(name)
    if not versions:
        return None, None, warning
    newest = versions[-1]
    return newest.digest, newest.tags[0] if newest.tags else None, warning


def _names(names: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(names[:limit])
    return shown if len(names) <= limit else f"{shown} and {len(names) - limit} more"


def to_units(book: PriceBook, n_bytes: Decimal) -> Decimal:
    """N_BYTES in BOOK's unit (GiB or GB), at 50 digits: the one place bytes become units."""
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        return n_bytes / BYTES_PER_UNIT[book.unit]


def allocate(total: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """TOTAL split in proportion to WEIGHTS, in multiples of MONEY_QUANTUM, summing exactly to TOTAL.

    Largest remainder: each share is floored to the quantum and the leftover quanta go to the
    largest remainders (earlier rows first on ties). With all weights zero, the split is even.
    """
    if not weights:
        return []
    quanta = int((total / MONEY_QUANTUM).to_integral_value())
    scaled = _common_integers(weights)
    whole = sum(scaled)
    if whole == 0:
        scaled, whole = [1] * len(weights), len(weights)
    elif whole < 0:  # the same ratios over a positive whole, so that remainders are >= 0
        scaled, whole = [-w for w in scaled], -whole
    # share i is quanta * w_i / whole exactly: its floor and its remainder (over whole) in integers
    parts = [divmod(quanta * w, whole) for w in scaled]
    shares = [floor for floor, _ in parts]
    leftover = quanta - sum(shares)
    if leftover > 0:
        remainders = [-remainder for _, remainder in parts]
        # largest remainder first; sorted() is stable, so earlier rows first on ties
        for i in sorted(range(len(parts)), key=remainders.__getitem__)[:leftover]:
            shares[i] += 1
    return [Decimal(s).scaleb(_QUANTUM_EXPONENT) for s in shares]


def _common_integers(values: Sequence[Decimal]) -> list[int]:
    """VALUES times one common denominator: integers in the same ratios, exactly.

    allocate() splits thousands of rows: integer arithmetic in place of Fractions.
    """
    ratios = [value.as_integer_ratio() for value in values]
    common = math.lcm(*(denominator for _, denominator in ratios))
    return [numerator * (common // denominator) for numerator, denominator in ratios]


def _figure(value: Decimal) -> str:
    """VALUE for a sentence: at most 4 decimals, no trailing zeros (the report's figures stay exact)."""
    text = format(value.quantize(Decimal("0.0001")), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _money(value: Decimal) -> Decimal:
    return value.quantize(MONEY_QUANTUM, rounding=ROUND_HALF_UP)


def price(
    quantities: Quantities,
    book: PriceBook,
    *,
    group_by: GroupBy = "repository",
    months: int = 12,
    source: str = "",
    generated_at: datetime | None = None,
) -> Report:
    """Price QUANTITIES on BOOK for one month (and MONTHS), grouped by GROUP_BY (SPEC §3.3, §5)."""
    rows = quantities.rows
    storage_costs, egress_costs, totals = _priced(quantities, book, months)
    groups: dict[str, list[int]] = defaultdict(list)
    key = _group_key(group_by, quantities.namespace)
    for index, row in enumerate(rows):
        groups[key(row)].append(index)
    report_rows = []
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        for name, members in groups.items():
            known = [i for i in members if rows[i].egress_bytes_by_class is not None]
            teams = {rows[i].team for i in members}
            storage_cost = sum((storage_costs[i] for i in members), Decimal(0))
            egress_cost = sum((egress_costs[i] for i in known), Decimal(0)) if known else None
            report_rows.append(
                ReportRow(
                    name=name,
                    team=teams.pop() if len(teams) == 1 else None,
                    repositories=tuple(rows[i].repository for i in members),
                    tags=sum(rows[i].tags for i in members),
                    unique_bytes=sum(rows[i].unique_bytes for i in members),
                    attributed_bytes=sum((rows[i].storage_bytes for i in members), Decimal(0)),
                    image_bytes=sum((rows[i].image_bytes for i in members), Decimal(0)),
                    pulls_per_month=sum((rows[i].pulls_per_month or Decimal(0) for i in known), Decimal(0))
                    if known
                    else None,
                    egress_bytes=sum((_egress_bytes(rows[i]) for i in known), Decimal(0)) if known else None,
                    storage_cost=storage_cost,
                    egress_cost=egress_cost,
                    egress_partial=bool(known) and len(known) < len(members),
                    monthly_cost=storage_cost + (egress_cost or Decimal(0)),
                )
            )
    report_rows.sort(key=lambda r: (-r.monthly_cost, r.name))
    assumptions = list(quantities.assumptions)
    assumptions.append(
        "Egress tiers apply to each class's total across the report; each class's cost is "
        "allocated to repositories in proportion to their bytes of that class."
    )
    assumptions.append(
        f"Costs are exact to 0.0001 {book.currency}: storage and each egress class are rounded once "
        "(half-up) and split among the rows in whole 0.0001 steps, so the rows add up exactly to the totals."
    )
    if book.plan is not None and book.plan.monthly_fee:
        assumptions.append(
            f"The plan's monthly fee ({_figure(book.plan.monthly_fee)} {book.currency}, "
            f"{_figure(book.plan.included_storage)} {book.unit} included) is part of storage cost and "
            "allocated to repositories in proportion to their storage."
        )
    if book.discount_pct:
        assumptions.append(f"A {book.discount_pct} % discount is applied to every price of {book.id}.")
    if group_by == "namespace":
        assumptions.append(
            "A repository's namespace is its first path component under the scanned namespace "
            f"({quantities.namespace or 'the registry root'}); repositories directly in it form their own group."
        )
    return Report(
        generated_at=generated_at,
        source=source,
        registry=quantities.registry,
        namespace=quantities.namespace,
        scanned_at=quantities.scanned_at,
        usage_source=quantities.usage_source,
        group_by=group_by,
        pricing=pricing_of(book),
        assumptions=tuple(assumptions),
        inventory=quantities.summary,
        totals=totals,
        rows=tuple(report_rows),
        warnings=quantities.warnings,
    )


def pricing_of(book: PriceBook) -> Pricing:
    return Pricing(
        id=book.id,
        name=book.name,
        provider=book.provider,
        region=book.region,
        currency=book.currency,
        unit=book.unit,
        dedup_scope=book.dedup_scope,
        effective_date=book.effective_date,
        sources=tuple(book.sources),
        notes=tuple(book.notes),
    )


def _egress_bytes(row: RowQuantities) -> Decimal:
    return sum((row.egress_bytes_by_class or {}).values(), Decimal(0))


def _priced(quantities: Quantities, book: PriceBook, months: int) -> tuple[list[Decimal], list[Decimal], Totals]:
    """Per-row storage and egress costs (allocated exactly) and the totals they sum to."""
    rows = quantities.rows
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        storage_bytes = sum((r.storage_bytes for r in rows), Decimal(0))
        storage_units = to_units(book, storage_bytes)
        storage_total = _money(book.storage_cost(storage_units))
        storage_costs = allocate(storage_total, [r.storage_bytes for r in rows])
        egress_costs = [Decimal(0)] * len(rows)
        classes = sorted({c for r in rows for c in (r.egress_bytes_by_class or {})})
        gb_by_class: dict[str, Decimal] = {}
        cost_by_class: dict[str, Decimal] = {}
        for egress_class in classes:
            weights = [(r.egress_bytes_by_class or {}).get(egress_class, Decimal(0)) for r in rows]
            units = to_units(book, sum(weights, Decimal(0)))
            cost = _money(book.egress_cost(egress_class, units))
            gb_by_class[egress_class] = units
            cost_by_class[egress_class] = cost
            for i, share in enumerate(allocate(cost, weights)):
                egress_costs[i] += share
        egress_total = sum(cost_by_class.values(), Decimal(0))
        monthly = storage_total + egress_total
        totals = Totals(
            storage_bytes=storage_bytes,
            billable_storage_gb=storage_units,
            storage_cost=storage_total,
            egress_bytes=sum((_egress_bytes(r) for r in rows), Decimal(0)),
            egress_gb_by_class=gb_by_class,
            egress_cost_by_class=cost_by_class,
            egress_cost=egress_total,
            egress_complete=all(r.egress_bytes_by_class is not None for r in rows),
            monthly_cost=monthly,
            horizon_cost=monthly * months,
            months=months,
        )
    return storage_costs, egress_costs, totals


def _group_key(group_by: GroupBy, namespace: str) -> Callable[[RowQuantities], str]:
    if group_by == "team":
        return lambda row: row.team or NO_TEAM
    if group_by == "namespace":
        return lambda row: namespace_of(row.repository, namespace)
    return lambda row: row.repository


def namespace_of(repository: str, scanned: str) -> str:
    """The group of REPOSITORY under --group-by namespace: SCANNED plus one more path component.

    `acme/payments/api` scanned under `acme` is in `acme/payments`; `acme/web`, directly under
    `acme`, is in `acme`. A whole-registry scan groups by the first component.
    """
    prefix = f"{scanned}/" if scanned else ""
    rest = repository[len(prefix) :] if prefix and repository.startswith(prefix) else repository
    head, sep, _ = rest.partition("/")
    if not sep:
        return scanned or "(root)"
    return f"{prefix}{head}"


def monthly_cost_by_repository(quantities: Quantities, book: PriceBook) -> dict[str, Decimal]:
    """Monthly cost per repository under the same allocation rules as price()."""
    storage, egress, _ = _priced(quantities, book, 1)
    return {row.repository: s + e for row, s, e in zip(quantities.rows, storage, egress, strict=True)}


def compare(primary: Report, others: Sequence[Report]) -> Report:
    """PRIMARY with each other report's book and totals attached as `comparison` entries."""
    return primary.model_copy(
        update={
            "comparison": tuple(
                Comparison(
                    pricing=other.pricing,
                    totals=other.totals,
                    assumptions=tuple(a for a in other.assumptions if a not in primary.assumptions),
                    warnings=tuple(w for w in other.warnings if w not in primary.warnings),
                )
                for other in others
            )
        }
    )
