"""Two report JSONs of one namespace -> a Diff of what they hold: per-repository tags, bytes, cost (pure).

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
from costcalc.report.diff import Change, Diff, status_of, summed
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


def is_report_json(data: object) -> bool:
    """True when DATA (a parsed JSON document) is shaped like a costcalc report, not an inventory."""
    return isinstance(data, dict) and "totals" in data and "rows" in data


def load_report(path: Path) -> ReportFile:
    """PATH as a report JSON; InputError of one sentence when it is not one costcalc can diff."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_REPORT_BYTES + 1)
    except OSError as exc:
        raise InputError(f"{path}: cannot read the report ({exc.strerror or type(exc).__name__}).") from None
    if len(raw) > MAX_REPORT_BYTES:
        raise InputError(f"{path}: larger than {MAX_REPORT_BYTES // 2**20} MiB, too large for a report JSON.")
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
    """The Diff of two report JSONs of one namespace, grouped by repository and priced on one book."""
    where_old = f"{old.registry}/{old.namespace}".rstrip("/")
    where_new = f"{new.registry}/{new.namespace}".rstrip("/")
    if where_old != where_new:
        raise InputError(f"OLD reports on {where_old} but NEW on {where_new}: a diff compares one namespace.")
    for report, which in ((old, "OLD"), (new, "NEW")):
        if report.group_by != "repository":
            raise InputError(f"{which} is grouped by {report.group_by}; diff needs reports grouped by repository.")
    if (old.pricing.id, old.pricing.currency) != (new.pricing.id, new.pricing.currency):
        raise InputError(
            f"OLD is priced on {old.pricing.id} ({old.pricing.currency}) and NEW on {new.pricing.id} "
            f"({new.pricing.currency}): a diff compares reports priced on one book."
        )
    if old.totals.months != new.totals.months:
        raise InputError(f"OLD covers {old.totals.months} months and NEW {new.totals.months}: make them alike.")
    rows = _changes(old, new)
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
        **summed(
            rows,
            {r.name for r in old.rows},
            {r.name for r in new.rows},
            old.totals.monthly_cost,
            new.totals.monthly_cost,
        ),
    )


def _changes(old: ReportFile, new: ReportFile) -> tuple[Change, ...]:
    rows_old = {r.name: r for r in old.rows}
    rows_new = {r.name: r for r in new.rows}
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
