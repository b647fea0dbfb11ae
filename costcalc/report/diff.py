"""Two scans of one namespace priced alike -> a Diff: what was added, removed, and what it costs (pure)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from costcalc.errors import InputError
from costcalc.inventory.model import Inventory
from costcalc.report.model import Pricing, Report
from costcalc.report.priced import NO_TEAM

Status = Literal["added", "removed", "changed", "repriced", "unchanged"]
# repriced: same tags and blobs, another cost (shared egress tiers or storage split differently)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Change(_Frozen):
    """What changed in one repository, or in one team (the sum of its repositories)."""

    name: str
    team: str | None  # a repository's team (from the usage file); None for a team's own row
    status: Status
    repositories: int  # repositories in the row after (or before, when removed)
    tags_before: int
    tags_after: int
    tags_added: tuple[str, ...]  # repository rows name them; team rows leave them empty
    tags_removed: tuple[str, ...]
    # None: unknown, when the diff compares two report JSONs (they list no tags or blobs)
    tags_added_count: int | None
    tags_removed_count: int | None
    versions_added: int | None  # image or artifact digests no tag pointed to before
    versions_removed: int | None
    stored_bytes_before: int  # distinct blobs the repository's tags reach
    stored_bytes_after: int
    bytes_added: int | None  # blobs reachable now and not before
    bytes_removed: int | None
    monthly_cost_before: Decimal
    monthly_cost_after: Decimal
    monthly_change: Decimal
    egress_partial: bool  # egress of some repository in the row is unknown, before or after


class RegistryChange(_Frozen):
    """What changed in one registry of a fleet (two fleet report JSONs): its size and its month."""

    registry: str
    status: Status
    pricing_id: str  # the book it is priced on (the same before and after)
    repositories_before: int
    repositories_after: int
    tags_before: int
    tags_after: int
    stored_bytes_before: int  # stored under its book's dedup scope, within the registry
    stored_bytes_after: int
    monthly_cost_before: Decimal
    monthly_cost_after: Decimal
    monthly_change: Decimal
    egress_partial: bool  # its egress is a lower bound, before or after


class Diff(_Frozen):
    """OLD and NEW, of the same namespace, priced with the same usage and price book."""

    registry: str
    namespace: str
    old_source: str
    new_source: str
    old_scanned_at: datetime | None
    new_scanned_at: datetime | None
    generated_at: datetime | None
    usage_source: str | None
    pricing: Pricing
    months: int
    repositories: tuple[Change, ...]  # every repository, largest cost change first, then name
    teams: tuple[Change, ...]  # empty when no repository has a team
    added_repositories: tuple[str, ...]
    removed_repositories: tuple[str, ...]
    monthly_cost_before: Decimal
    monthly_cost_after: Decimal
    monthly_change: Decimal  # = after - before, exactly the difference of the two reports' totals
    egress_complete: bool  # both reports know every repository's egress
    warnings: tuple[str, ...]
    # two fleet report JSONs: every registry of either, largest cost change first (else empty)
    registries: tuple[RegistryChange, ...] = ()

    @property
    def horizon_change(self) -> Decimal:
        return self.monthly_change * self.months

    def changed(self, rows: tuple[Change, ...]) -> tuple[Change, ...]:
        """ROWS that are not unchanged."""
        return tuple(r for r in rows if r.status != "unchanged")


def compare(old: Inventory, new: Inventory, old_report: Report, new_report: Report) -> Diff:
    """The Diff of two inventories of one namespace and their reports (grouped by repository, same book)."""
    where_old = f"{old.registry}/{old.namespace}".rstrip("/")
    where_new = f"{new.registry}/{new.namespace}".rstrip("/")
    if where_old != where_new:
        raise InputError(f"OLD is a scan of {where_old} but NEW of {where_new}: a diff compares one namespace.")
    if old_report.group_by != "repository" or new_report.group_by != "repository":
        raise ValueError("diff needs reports grouped by repository")
    if old_report.pricing != new_report.pricing or old_report.totals.months != new_report.totals.months:
        raise ValueError("diff needs both reports priced on the same book and horizon")
    rows = _repository_changes(old, new, old_report, new_report)
    return Diff(
        registry=new.registry,
        namespace=new.namespace,
        old_source=old_report.source,
        new_source=new_report.source,
        old_scanned_at=old.scanned_at,
        new_scanned_at=new.scanned_at,
        generated_at=new_report.generated_at,
        usage_source=new_report.usage_source,
        pricing=new_report.pricing,
        months=new_report.totals.months,
        egress_complete=old_report.totals.egress_complete and new_report.totals.egress_complete,
        warnings=tuple(dict.fromkeys((*old_report.warnings, *new_report.warnings))),
        **summed(
            rows,
            {r.name for r in old.repositories},
            {r.name for r in new.repositories},
            old_report.totals.monthly_cost,
            new_report.totals.monthly_cost,
        ),
    )


def summed(
    rows: tuple[Change, ...], names_old: set[str], names_new: set[str], before: Decimal, after: Decimal
) -> dict[str, Any]:
    """The Diff fields that follow from its repository ROWS, the names on each side and the totals."""
    return {
        "repositories": rows,
        "teams": team_changes(rows) if any(r.team for r in rows) else (),
        "added_repositories": tuple(sorted(names_new - names_old)),
        "removed_repositories": tuple(sorted(names_old - names_new)),
        "monthly_cost_before": before,
        "monthly_cost_after": after,
        "monthly_change": after - before,
    }


def status_of(in_old: bool, in_new: bool, content_changed: bool, cost_before: Decimal, cost_after: Decimal) -> Status:
    """A repository's status: added, removed, changed (its content), repriced (its cost only) or unchanged."""
    if not in_old:
        return "added"
    if not in_new:
        return "removed"
    if content_changed:
        return "changed"
    return "repriced" if cost_before != cost_after else "unchanged"


def _repository_changes(old: Inventory, new: Inventory, old_report: Report, new_report: Report) -> tuple[Change, ...]:
    tags_old = {r.name: {t.tag: t.digest for t in r.tags} for r in old.repositories}
    tags_new = {r.name: {t.tag: t.digest for t in r.tags} for r in new.repositories}
    blobs_old, blobs_new = old.figures.repository_blobs, new.figures.repository_blobs
    rows_old = {r.name: r for r in old_report.rows}
    rows_new = {r.name: r for r in new_report.rows}
    changes = []
    for name in sorted(tags_old.keys() | tags_new.keys()):
        before_tags, after_tags = tags_old.get(name, {}), tags_new.get(name, {})
        before_blobs, after_blobs = blobs_old.get(name, {}), blobs_new.get(name, {})
        row_old, row_new = rows_old.get(name), rows_new.get(name)
        cost_before = row_old.monthly_cost if row_old else Decimal(0)
        cost_after = row_new.monthly_cost if row_new else Decimal(0)
        added = tuple(sorted(after_tags.keys() - before_tags.keys()))
        removed = tuple(sorted(before_tags.keys() - after_tags.keys()))
        versions_before, versions_after = set(before_tags.values()), set(after_tags.values())
        bytes_added = sum(size for digest, size in after_blobs.items() if digest not in before_blobs)
        bytes_removed = sum(size for digest, size in before_blobs.items() if digest not in after_blobs)
        moved = any(before_tags[t] != after_tags[t] for t in before_tags.keys() & after_tags.keys())
        content_changed = bool(added or removed or moved or bytes_added or bytes_removed)
        status = status_of(name in tags_old, name in tags_new, content_changed, cost_before, cost_after)
        team = (row_new.team if row_new else None) or (row_old.team if row_old else None)
        partial = any(r is not None and (r.egress_cost is None or r.egress_partial) for r in (row_old, row_new))
        changes.append(
            Change(
                name=name,
                team=team,
                status=status,
                repositories=1,
                tags_before=len(before_tags),
                tags_after=len(after_tags),
                tags_added=added,
                tags_removed=removed,
                tags_added_count=len(added),
                tags_removed_count=len(removed),
                versions_added=len(versions_after - versions_before),
                versions_removed=len(versions_before - versions_after),
                stored_bytes_before=sum(before_blobs.values()),
                stored_bytes_after=sum(after_blobs.values()),
                bytes_added=bytes_added,
                bytes_removed=bytes_removed,
                monthly_cost_before=cost_before,
                monthly_cost_after=cost_after,
                monthly_change=cost_after - cost_before,
                egress_partial=partial,
            )
        )
    changes.sort(key=lambda c: (-abs(c.monthly_change), c.name))
    return tuple(changes)


def _known_sum(values: Iterable[int | None]) -> int | None:
    """The sum of VALUES, or None (unknown) when any of them is."""
    total = 0
    for value in values:
        if value is None:
            return None
        total += value
    return total


def team_changes(rows: tuple[Change, ...]) -> tuple[Change, ...]:
    """Repository changes summed per team (repositories without one under `(no team)`)."""
    members: dict[str, list[Change]] = defaultdict(list)
    for row in rows:
        members[row.team or NO_TEAM].append(row)
    teams = []
    for team, group in members.items():
        statuses = {r.status for r in group}
        status: Status
        if len(statuses) == 1:
            status = statuses.pop()
        elif statuses <= {"repriced", "unchanged"}:
            status = "repriced"
        else:
            status = "changed"
        before = sum((r.monthly_cost_before for r in group), Decimal(0))
        after = sum((r.monthly_cost_after for r in group), Decimal(0))
        teams.append(
            Change(
                name=team,
                team=None,
                status=status,
                repositories=sum(1 for r in group if r.status != "removed"),
                tags_before=sum(r.tags_before for r in group),
                tags_after=sum(r.tags_after for r in group),
                tags_added=(),
                tags_removed=(),
                tags_added_count=_known_sum(r.tags_added_count for r in group),
                tags_removed_count=_known_sum(r.tags_removed_count for r in group),
                versions_added=_known_sum(r.versions_added for r in group),
                versions_removed=_known_sum(r.versions_removed for r in group),
                stored_bytes_before=sum(r.stored_bytes_before for r in group),
                stored_bytes_after=sum(r.stored_bytes_after for r in group),
                bytes_added=_known_sum(r.bytes_added for r in group),
                bytes_removed=_known_sum(r.bytes_removed for r in group),
                monthly_cost_before=before,
                monthly_cost_after=after,
                monthly_change=after - before,
                egress_partial=any(r.egress_partial for r in group),
            )
        )
    teams.sort(key=lambda c: (-abs(c.monthly_change), c.name))
    return tuple(teams)
