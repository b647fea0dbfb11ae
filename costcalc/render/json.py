"""The JSON report: money as exact decimal numbers, written without floats."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from costcalc.render.display import lower_bound
from costcalc.render.json_fleet import fleet_data
from costcalc.render.json_values import number
from costcalc.render.json_values import pricing_data as pricing_data
from costcalc.render.json_values import time as _time
from costcalc.render.json_values import whole as whole
from costcalc.render.json_writer import Number as Number
from costcalc.render.json_writer import Prewritten, dump, pad
from costcalc.render.json_writer import string as _string
from costcalc.report import MonthCost, Report, ReportRow, ScenarioResult, Totals, VersionBytes
from costcalc.report.recency import PullRecency
from costcalc.units import utc_timestamp, whole_parts


def untagged_data(images: int, untagged_bytes: Decimal, cost: Decimal) -> dict[str, Any]:
    """The untagged images of a row or of the totals (written only where there are any)."""
    return {"images": images, "bytes": whole(untagged_bytes), "monthly_cost": number(cost)}


def measured_data(measured: Decimal, modelled: Decimal, difference_pct: Decimal | None) -> dict[str, Any]:
    """Egress measured from logs beside the model's prediction (written only where measured)."""
    return {
        "measured_bytes": whole(measured),
        "modelled_bytes": whole(modelled),
        "difference_pct": number(difference_pct),
    }


def totals_data(totals: Totals, unit: str) -> dict[str, Any]:
    """TOTALS as JSON: bytes in `_bytes` keys, billed quantities in `_units` keys, in UNIT (the book's)."""
    data = {
        "storage_bytes": whole(totals.storage_bytes),
        "unit": unit,
        "billable_storage_units": number(totals.billable_storage_gb),
        "storage_cost": number(totals.storage_cost),
        "egress_bytes": whole(totals.egress_bytes),
        "egress_units_by_class": {k: number(v) for k, v in totals.egress_gb_by_class.items()},
        "egress_cost_by_class": {k: number(v) for k, v in totals.egress_cost_by_class.items()},
        "egress_cost": number(totals.egress_cost),
        "egress_complete": totals.egress_complete,
        "monthly_cost": number(totals.monthly_cost),
        "months": totals.months,
        "horizon_cost": number(totals.horizon_cost),
    }
    return data | _untagged_and_measured(totals)


def _untagged_and_measured(figures: Totals | ReportRow) -> dict[str, Any]:
    """What totals and rows both may carry: egress measured from logs, and untagged images."""
    data: dict[str, Any] = {}
    if figures.measured_egress_bytes is not None and figures.modelled_egress_bytes is not None:
        data["egress_measured"] = measured_data(
            figures.measured_egress_bytes, figures.modelled_egress_bytes, figures.egress_model_difference_pct
        )
    if figures.untagged_images:
        data["untagged"] = untagged_data(figures.untagged_images, figures.untagged_bytes, figures.untagged_cost)
    return data


def row_data(row: ReportRow, attributed_bytes: int | None, egress_bytes: int | None) -> dict[str, Any]:
    """ROW as JSON; ATTRIBUTED_BYTES and EGRESS_BYTES are its whole-byte shares (see rows_data)."""
    data = {
        "name": row.name,
        "tags": row.tags,
        "unique_bytes": row.unique_bytes,
        "attributed_bytes": attributed_bytes,
        "image_bytes": whole(row.image_bytes),
        "pulls_per_month": number(row.pulls_per_month),
        "egress_bytes": egress_bytes,
        "storage_cost": number(row.storage_cost),
        "egress_cost": number(row.egress_cost),
        "egress_known": row.egress_cost is not None,
        "egress_partial": lower_bound(row.egress_cost, row.egress_partial),
        "monthly_cost": number(row.monthly_cost),
        "team": row.team,
        "repositories": list(row.repositories),
    }
    return data | _untagged_and_measured(row)


def rows_data(rows: Sequence[ReportRow]) -> list[dict[str, Any]]:
    """ROWS as JSON, their fractional bytes made whole so that they add up to the totals' bytes."""
    attributed = whole_parts([row.attributed_bytes for row in rows])
    egress = whole_parts([row.egress_bytes for row in rows])
    return [row_data(row, a, e) for row, a, e in zip(rows, attributed, egress, strict=True)]


def scenario_data(scenario: ScenarioResult, versions: Sequence[VersionBytes] | None = None) -> dict[str, Any]:
    """SCENARIO as JSON; VERSIONS, when given, are the version entries to list in place of all of
    its own (see scenarios_data: `combined` lists only those that differ)."""
    data: dict[str, Any] = {
        "id": scenario.id,
        "description": scenario.description,
        "pricing_id": scenario.pricing_id,
        "baseline_monthly_cost": number(scenario.baseline_monthly_cost),
        "monthly_cost": number(scenario.monthly_cost),
        "monthly_savings": number(scenario.monthly_savings),
        "horizon_savings": number(scenario.horizon_savings),
        "savings_pct": number(scenario.savings_pct),
        "bytes_freed": whole(scenario.bytes_freed),
        "transfer_hours_saved": number(scenario.transfer_hours_saved),
        "assumptions": list(scenario.assumptions),
        "rows": [
            {
                "repository": r.repository,
                "baseline_monthly_cost": number(r.baseline_monthly_cost),
                "monthly_cost": number(r.monthly_cost),
                "monthly_savings": number(r.monthly_savings),
            }
            for r in scenario.rows
        ],
        # written row by row from a template as dump() reaches them (no dict per version):
        # a retention scenario lists every version of 100,000 tags
        "monthly": monthly_data(scenario.monthly),
        "versions": VersionRows(scenario.versions if versions is None else versions),
        # rebase only: the one-time transfer when nodes fetch the new base, apart from the month
        **(
            {"migration_bytes": whole(scenario.migration_bytes), "migration_cost": number(scenario.migration_cost)}
            if scenario.migration_bytes is not None
            else {}
        ),
    }
    if scenario.expired:  # ecr-lifecycle: the images it expires and the rule that expires each
        data["expired"] = [
            {"repository": e.repository, "digest": e.digest, "tags": list(e.tags), "rule_priority": e.rule_priority}
            for e in scenario.expired
        ]
    return data


COMBINED = "combined"


def scenarios_data(scenarios: Sequence[ScenarioResult]) -> list[dict[str, Any]]:
    """The scenarios as JSON. Each lists every version it looked at (`versions`), except
    `combined`: it lists only the versions whose entry differs from the entry of the same
    version (repository, digest) in the last earlier scenario that lists it, and the versions
    no earlier scenario lists. A version it leaves out has that earlier entry in `combined`
    too. After a single retention scenario applied to an unchanged inventory and book (the
    usual case), `combined` lists none: the versions are not written twice.
    """
    data: list[dict[str, Any]] = []
    earlier: dict[tuple[str, str], VersionBytes] = {}
    for index, scenario in enumerate(scenarios):
        if scenario.id == COMBINED and index > 0:
            listed = [v for v in scenario.versions if earlier.get((v.repository, v.digest)) != v]
            data.append(scenario_data(scenario, listed))
            continue
        earlier.update(((v.repository, v.digest), v) for v in scenario.versions)
        data.append(scenario_data(scenario))
    return data


class VersionRows(Prewritten):
    """Version entries for dump(): each written from one template string, no dict per version.

    What `[version_data(v) for v in VERSIONS]` dumps to, byte for byte.
    """

    __slots__ = ("versions",)

    def __init__(self, versions: Sequence[VersionBytes]) -> None:
        self.versions = versions

    def write(self, depth: int, blocks: list[str]) -> None:
        """The list as dump() writes it at DEPTH, in blocks of joined rows appended to BLOCKS."""
        if not self.versions:
            blocks.append("[]")
            return
        item, key, tag = pad(depth + 1), pad(depth + 2), pad(depth + 3)
        template = (
            "{"
            + key
            + '"repository": %s,'
            + key
            + '"digest": %s,'
            + key
            + '"tags": %s,'
            + key
            + '"created": %s,'
            + key
            + '"exclusive_bytes": %d,'
            + key
            + '"dropped": %s'
            + item
            + "}"
        )
        tag_separator, tags_end = "," + tag, key + "]"
        names: dict[str, str] = {}  # a repository's name is written for each of its versions
        string = _string
        rows: list[str] = []
        add = rows.append
        blocks.append("[" + item)
        separator = "," + item
        for version in self.versions:
            repository, tags = version.repository, version.tags
            name = names.get(repository)
            if name is None:
                name = names[repository] = string(repository)
            add(
                template
                % (
                    name,
                    string(version.digest),
                    "[" + tag + tag_separator.join(map(string, tags)) + tags_end if tags else "[]",
                    _created(version.created),
                    version.exclusive_bytes,
                    "true" if version.dropped else "false",
                )
            )
            if len(rows) >= _ROWS:
                blocks.append(separator.join(rows) + separator)
                rows.clear()
        blocks.append(separator.join(rows) + pad(depth) + "]")


_ROWS = 2048  # version rows joined per block


def _created(created: datetime | None) -> str:
    """version_data()'s `created` as JSON text: a config time without offset is UTC."""
    if created is None:
        return "null"
    text = created.isoformat()
    if len(text) == 25 and text.endswith("+00:00"):
        # The usual time, in UTC to the second: what utc_timestamp() writes, read off
        # isoformat(), which converts nothing (there are 99,000 of them in a large report).
        return '"' + text[:19] + 'Z"'
    return '"' + utc_timestamp(created) + '"'


def version_data(version: VersionBytes) -> dict[str, Any]:
    created = version.created
    if created is not None and created.tzinfo is None:  # a config time without offset is UTC
        created = created.replace(tzinfo=UTC)
    return {
        "repository": version.repository,
        "digest": version.digest,
        "tags": list(version.tags),
        "created": _time(created),
        "exclusive_bytes": version.exclusive_bytes,
        "dropped": version.dropped,
    }


def recency_data(recency: PullRecency) -> dict[str, Any]:
    """One repository's pull recency (written only for inventories that record pull times)."""
    return {
        "repository": recency.repository,
        "versions": recency.versions,
        "not_pulled_in_days": {
            str(days): {"versions": stale.versions, "bytes": stale.size_bytes}
            for days, stale in recency.not_pulled.items()
        },
        "never_pulled_or_unknown": {"versions": recency.unknown.versions, "bytes": recency.unknown.size_bytes},
    }


def monthly_data(months: Sequence[MonthCost]) -> list[dict[str, Any]]:
    """A month-by-month series: whole bytes, money as numbers."""
    return [
        {
            "month": m.month,
            "storage_bytes": whole(m.storage_bytes),
            "storage_cost": number(m.storage_cost),
            "egress_cost": number(m.egress_cost),
            "monthly_cost": number(m.monthly_cost),
        }
        for m in months
    ]


def report_data(report: Report) -> dict[str, Any]:
    """The report as JSON-ready data (money as Number literals), in the documented key order."""
    return {
        "schema_version": report.schema_version,
        "generated_at": _time(report.generated_at),
        "tool_version": report.tool_version,
        "source": report.source,
        "registry": report.registry,
        "namespace": report.namespace,
        "scanned_at": _time(report.scanned_at),
        "usage_source": report.usage_source,
        "group_by": report.group_by,
        "pricing": pricing_data(report.pricing),
        "assumptions": list(report.assumptions),
        "inventory": report.inventory.model_dump() if report.inventory else None,
        "totals": totals_data(report.totals, report.pricing.unit),
        # a fleet only: its registries, its books and the inventories it merged
        **fleet_data(report),
        "rows": rows_data(report.rows),
        "comparison": [
            {
                "pricing": pricing_data(c.pricing),
                "totals": totals_data(c.totals, c.pricing.unit),
                "assumptions": list(c.assumptions),
                "warnings": list(c.warnings),
            }
            for c in report.comparison
        ],
        "scenarios": scenarios_data(report.scenarios),
        "bases": bases_data(report),
        "growth": [
            {
                "repository": g.repository,
                "versions": g.versions,
                "versions_per_month": number(g.versions_per_month),
                "bytes_per_version": whole(g.bytes_per_version),
                "basis": g.basis,
            }
            for g in report.growth
        ],
        "monthly": monthly_data(report.monthly),
        "warnings": list(report.warnings),
        **({"pull_recency": [recency_data(r) for r in report.pull_recency]} if report.pull_recency else {}),
    }


def bases_data(report: Report) -> list[dict[str, Any]]:
    """The "Base images" section: bytes as integers, shares as numbers, names as strings."""
    return [
        base.model_dump()
        | {
            "stored_share_pct": number(base.stored_share_pct),
            "egress_bytes": whole(base.egress_bytes),
            "egress_share_pct": number(base.egress_share_pct),
        }
        for base in report.bases
    ]


def render(report: Report) -> str:
    """REPORT as an indented JSON document (UTF-8 text, non-ASCII escaped, control characters escaped)."""
    return dump(report_data(report)) + "\n"
