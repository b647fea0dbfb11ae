"""Two report JSONs of one namespace, or of two fleets -> a Diff of what they hold: per-repository tags,
bytes, cost, and for fleets per registry (pure).

A report JSON (`costcalc report --format json`) carries each repository's tag count, distinct
stored bytes and monthly cost, but not the tags or blobs themselves: the tags, versions and
bytes added and removed are unknown in such a diff (None), and the diff says so.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from costcalc.errors import InputError
from costcalc.inventory.merge import registry_name
from costcalc.pricing.validation import read_limited
from costcalc.report.diff import Change, Diff, RegistryChange, status_of, summed
from costcalc.report.model import Pricing

# A report JSON is small next to its inventory; this bounds the read of anything else.
MAX_REPORT_BYTES = 256 * 2**20

_UNKNOWN_DETAIL = (
    "OLD and NEW are report JSONs, which list no tags or blobs: tag counts, stored bytes and costs "
    "are compared; the tags, versions and bytes added and removed are unknown (diff two inventories for them)."
)


class _Loose(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class _Row(_Loose):
    name: str
    team: str | None = None
    tags: int
    unique_bytes: int
    monthly_cost: Decimal
    egress_known: bool = True
    egress_partial: bool = False


class _Totals(_Loose):
    monthly_cost: Decimal
    months: int
    egress_complete: bool
    storage_bytes: int = 0


class _Registry(_Loose):
    """A fleet report's registry entry (`registries`), as a diff compares it."""

    registry: str
    pricing_id: str
    repositories: int
    tags: int
    storage_bytes: int
    egress_complete: bool
    monthly_cost: Decimal


class ReportFile(_Loose):
    """The parts of a report JSON (schema 2) a diff reads."""

    schema_version: Literal[2]
    source: str
    registry: str
    namespace: str
    scanned_at: datetime | None = None
    generated_at: datetime | None = None
    usage_source: str | None = None
    group_by: str
    pricing: Pricing
    totals: _Totals
    rows: tuple[_Row, ...]
    warnings: tuple[str, ...] = ()
    registries: tuple[_Registry, ...] = ()  # a fleet report's (several inventories), else empty


def load_report(path: Path) -> ReportFile:
    """PATH as a report JSON; InputError of one sentence when it is not one costcalc can diff."""
    try:
        raw = read_limited(path, MAX_REPORT_BYTES, "a report JSON")
    except OSError as exc:
        raise InputError(f"{path}: cannot read the report ({exc.strerror or type(exc).__name__}).") from None
    try:
        data = json.loads(raw, parse_float=Decimal)
    except (ValueError, RecursionError):
        raise InputError(f"{path}: not valid JSON.") from None
    try:
        return ReportFile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "the document"
        raise InputError(
            f"{path}: not a report JSON of schema 2 that costcalc can diff ({where}: {first['msg']})."
        ) from None


def compare_reports(old: ReportFile, new: ReportFile) -> Diff:
    """The Diff of two report JSONs grouped by repository: of one namespace priced on one book, or
    of two fleets (either one a fleet report), each registry in both priced on one book."""
    fleet = bool(old.registries or new.registries)
    if not fleet:
        _check_one_namespace(old, new)
    for report, which in ((old, "OLD"), (new, "NEW")):
        if report.group_by != "repository":
            raise InputError(f"{which} is grouped by {report.group_by}; diff needs reports grouped by repository.")
    if fleet:
        _check_books(old, new)
    if old.totals.months != new.totals.months:
        raise InputError(f"OLD covers {old.totals.months} months and NEW {new.totals.months}: make them alike.")
    rows_old, rows_new = _named_rows(old, new) if fleet else (old.rows, new.rows)
    rows = _changes(rows_old, rows_new)
    return Diff(
        registry=new.registry,
        namespace=new.namespace,
        old_source=old.source,
        new_source=new.source,
        old_scanned_at=old.scanned_at,
        new_scanned_at=new.scanned_at,
        generated_at=new.generated_at,
        usage_source=new.usage_source,
        pricing=new.pricing,
        months=new.totals.months,
        egress_complete=old.totals.egress_complete and new.totals.egress_complete,
        warnings=(_UNKNOWN_DETAIL, *dict.fromkeys((*old.warnings, *new.warnings))),
        registries=_registry_changes(old, new) if fleet else (),
        **summed(
            rows,
            {r.name for r in rows_old},
            {r.name for r in rows_new},
            old.totals.monthly_cost,
            new.totals.monthly_cost,
        ),
    )


def _check_one_namespace(old: ReportFile, new: ReportFile) -> None:
    where_old = f"{old.registry}/{old.namespace}".rstrip("/")
    where_new = f"{new.registry}/{new.namespace}".rstrip("/")
    if where_old != where_new:
        raise InputError(f"OLD reports on {where_old} but NEW on {where_new}: a diff compares one namespace.")
    if (old.pricing.id, old.pricing.currency) != (new.pricing.id, new.pricing.currency):
        raise InputError(
            f"OLD is priced on {old.pricing.id} ({old.pricing.currency}) and NEW on {new.pricing.id} "
            f"({new.pricing.currency}): a diff compares reports priced on one book."
        )


def _check_books(old: ReportFile, new: ReportFile) -> None:
    """Two fleets: one currency, and each registry in both priced on the same book."""
    if old.pricing.currency != new.pricing.currency:
        raise InputError(
            f"OLD is priced in {old.pricing.currency} and NEW in {new.pricing.currency}: costcalc does not "
            "convert currencies."
        )
    books_new = {r.registry: r.pricing_id for r in registries_of(new)}
    for registry in registries_of(old):
        book = books_new.get(registry.registry)
        if book is not None and book != registry.pricing_id:
            raise InputError(
                f"{registry.registry} is priced on {registry.pricing_id} in OLD and on {book} in NEW: a diff "
                "compares each registry priced on one book."
            )


def registries_of(report: ReportFile) -> tuple[_Registry, ...]:
    """A fleet report's registries, or the one registry of a one-inventory report (its totals)."""
    if report.registries:
        return report.registries
    return (
        _Registry(
            registry=registry_name(report.registry),
            pricing_id=report.pricing.id,
            repositories=len(report.rows),
            tags=sum(r.tags for r in report.rows),
            storage_bytes=report.totals.storage_bytes,
            egress_complete=report.totals.egress_complete,
            monthly_cost=report.totals.monthly_cost,
        ),
    )


def _named_rows(old: ReportFile, new: ReportFile) -> tuple[tuple[_Row, ...], tuple[_Row, ...]]:
    """Both sides' rows named alike: a report of one registry names its repositories without the
    `REGISTRY/` a report of several registries puts before them, so when the other side has
    several, its rows get that prefix too."""
    several = [len(registries_of(report)) > 1 for report in (old, new)]

    def named(report: ReportFile) -> tuple[_Row, ...]:
        if len(registries_of(report)) > 1 or not any(several):
            return report.rows
        prefix = f"{registries_of(report)[0].registry}/"
        return tuple(row.model_copy(update={"name": prefix + row.name}) for row in report.rows)

    return named(old), named(new)


def _size(registry: _Registry | None) -> tuple[int, int, int]:
    """What a registry holds: a change in any of it is a changed registry, not a repriced one."""
    return (registry.repositories, registry.tags, registry.storage_bytes) if registry else (0, 0, 0)


def _registry_changes(old: ReportFile, new: ReportFile) -> tuple[RegistryChange, ...]:
    before = {r.registry: r for r in registries_of(old)}
    after = {r.registry: r for r in registries_of(new)}
    changes = []
    for name in sorted(before.keys() | after.keys()):
        was, now = before.get(name), after.get(name)
        cost_before = was.monthly_cost if was else Decimal(0)
        cost_after = now.monthly_cost if now else Decimal(0)
        status = status_of(was is not None, now is not None, _size(was) != _size(now), cost_before, cost_after)
        either = now or was
        assert either is not None
        changes.append(
            RegistryChange(
                registry=name,
                status=status,
                pricing_id=either.pricing_id,
                repositories_before=was.repositories if was else 0,
                repositories_after=now.repositories if now else 0,
                tags_before=was.tags if was else 0,
                tags_after=now.tags if now else 0,
                stored_bytes_before=was.storage_bytes if was else 0,
                stored_bytes_after=now.storage_bytes if now else 0,
                monthly_cost_before=cost_before,
                monthly_cost_after=cost_after,
                monthly_change=cost_after - cost_before,
                egress_partial=any(r is not None and not r.egress_complete for r in (was, now)),
            )
        )
    changes.sort(key=lambda c: (-abs(c.monthly_change), c.registry))
    return tuple(changes)


def _changes(old: tuple[_Row, ...], new: tuple[_Row, ...]) -> tuple[Change, ...]:
    rows_old = {r.name: r for r in old}
    rows_new = {r.name: r for r in new}
    changes = []
    for name in sorted(rows_old.keys() | rows_new.keys()):
        row_old, row_new = rows_old.get(name), rows_new.get(name)
        cost_before = row_old.monthly_cost if row_old else Decimal(0)
        cost_after = row_new.monthly_cost if row_new else Decimal(0)
        tags_before = row_old.tags if row_old else 0
        tags_after = row_new.tags if row_new else 0
        bytes_before = row_old.unique_bytes if row_old else 0
        bytes_after = row_new.unique_bytes if row_new else 0
        content_changed = tags_before != tags_after or bytes_before != bytes_after
        status = status_of(row_old is not None, row_new is not None, content_changed, cost_before, cost_after)
        team = (row_new.team if row_new else None) or (row_old.team if row_old else None)
        partial = any(r is not None and (not r.egress_known or r.egress_partial) for r in (row_old, row_new))
        changes.append(
            Change(
                name=name,
                team=team,
                status=status,
                repositories=1,
                tags_before=tags_before,
                tags_after=tags_after,
                tags_added=(),
                tags_removed=(),
                tags_added_count=None,
                tags_removed_count=None,
                versions_added=None,
                versions_removed=None,
                stored_bytes_before=bytes_before,
                stored_bytes_after=bytes_after,
                bytes_added=None,
                bytes_removed=None,
                monthly_cost_before=cost_before,
                monthly_cost_after=cost_after,
                monthly_change=cost_after - cost_before,
                egress_partial=partial,
            )
        )
    changes.sort(key=lambda c: (-abs(c.monthly_change), c.name))
    return tuple(changes)
