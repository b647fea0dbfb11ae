"""The diff of two scans as a text table, JSON, CSV, Markdown (a pull-request comment) or HTML."""

from __future__ import annotations

import io
from decimal import Decimal
from html import escape
from typing import Any

from rich import box
from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from costcalc.render import csv_cells, diff_fleet
from costcalc.render import json as report_json
from costcalc.render.display import money, safe, size, when
from costcalc.render.html import CONTENT_SECURITY_POLICY
from costcalc.render.html import table as html_table
from costcalc.render.json_values import number as json_number
from costcalc.render.json_values import time
from costcalc.render.json_writer import dump
from costcalc.render.markdown import cell
from costcalc.report.diff import Change, Diff

DIFF_SCHEMA_VERSION = 1
REPOSITORIES_CSV = "repositories.csv"
REGISTRIES_CSV = "registries.csv"  # the registries of two fleets (a header alone for one namespace)
CSV_FILES = (REPOSITORIES_CSV, REGISTRIES_CSV)  # what `diff --format csv -o DIRECTORY/` writes


def signed(value: Decimal) -> str:
    """A money change for people: `+1.50`, `-0.25`, `0.00`."""
    text = money(value)
    return text if text.startswith("-") or text == money(Decimal(0)) else f"+{text}"


def _plus_minus(added: int | None, removed: int | None) -> str:
    if added is None or removed is None:
        return "unknown"  # two report JSONs list no tags or blobs
    return f"+{added:,} -{removed:,}"


def _target(diff: Diff) -> str:
    return f"{diff.registry}/{diff.namespace}" if diff.namespace else diff.registry


def headline(diff: Diff) -> str:
    """One sentence: the monthly change, before and after, in the book's currency."""
    cur = diff.pricing.currency
    if diff.monthly_change > 0:
        verb = f"goes up by {money(diff.monthly_change)} {cur}"
    elif diff.monthly_change < 0:
        verb = f"goes down by {money(-diff.monthly_change)} {cur}"
    else:
        verb = "does not change"
    return (
        f"Monthly cost {verb}, from {money(diff.monthly_cost_before)} to {money(diff.monthly_cost_after)} {cur} "
        f"({signed(diff.horizon_change)} {cur} over {diff.months} months at this rate)."
    )


def _context(diff: Diff) -> list[str]:
    p = diff.pricing
    lines = [
        f"Old: {diff.old_source or 'inventory'}, scanned {when(diff.old_scanned_at)}; "
        f"new: {diff.new_source or 'inventory'}, scanned {when(diff.new_scanned_at)}.",
        diff_fleet.priced_line(diff)
        if diff.registries
        else f"Both priced on {p.id} ({p.name}, effective {p.effective_date}) with usage from "
        f"{diff.usage_source or 'no usage file (egress unknown)'}.",
    ]
    if not diff.egress_complete:
        lines.append("Egress is a lower bound: some repositories have no pull data (marked +).")
    if diff.added_repositories:
        lines.append(f"New repositories: {', '.join(diff.added_repositories)}.")
    if diff.removed_repositories:
        lines.append(f"Removed repositories: {', '.join(diff.removed_repositories)}.")
    return lines


def _columns(diff: Diff, first: str, with_team: bool) -> list[tuple[str, bool]]:
    """(header, numeric) per column: the money first, so that a narrow terminal keeps it."""
    cur = diff.pricing.currency
    return [
        (first, False),
        (f"Change {cur}/mo", True),
        ("Before", True),
        ("After", True),
        ("Status", False),
        *([("Team", False)] if with_team else []),
        ("Tags +/-", True),
        ("Versions +/-", True),
        ("Bytes +/-", True),
    ]


def _cells(diff: Diff, change: Change, with_team: bool) -> list[str]:
    unit = diff.pricing.unit
    mark = " +" if change.egress_partial else ""
    return [
        change.name,
        signed(change.monthly_change) + mark,
        money(change.monthly_cost_before),
        money(change.monthly_cost_after),
        change.status,
        *([change.team or ""] if with_team else []),
        _plus_minus(change.tags_added_count, change.tags_removed_count),
        _plus_minus(change.versions_added, change.versions_removed),
        "unknown"
        if change.bytes_added is None or change.bytes_removed is None
        else f"+{size(change.bytes_added, unit)} -{size(change.bytes_removed, unit)}",
    ]


def _sections(diff: Diff) -> list[tuple[str, str, list[Change], int, bool]]:
    """(title, first column, rows shown, rows left unchanged, with team) per table."""
    repos = list(diff.changed(diff.repositories))
    sections = [("Repositories", "Repository", repos, len(diff.repositories) - len(repos), True)]
    if diff.teams:
        teams = list(diff.changed(diff.teams))
        sections.append(("Teams", "Team", teams, len(diff.teams) - len(teams), False))
    return sections


def render_table(diff: Diff, *, width: int = 120) -> str:
    """DIFF as text tables WIDTH columns wide (no colour)."""
    out = io.StringIO()
    console = Console(file=out, width=width, no_color=True, highlight=False, emoji=False, markup=False)
    parts: list[RenderableType] = [Text(f"costcalc diff: {safe(_target(diff))}", style="bold"), Text(headline(diff))]
    if diff.registries:
        table = Table(title=diff_fleet.title(diff), title_justify="left", box=box.SIMPLE_HEAD)
        widest = min(24, max(len(r.registry) for r in diff.registries))
        for index, (name, numeric) in enumerate(diff_fleet.columns(diff)):
            if index == 0:
                table.add_column(name, overflow="fold", min_width=widest)
            elif index < 4:  # money: never cut
                table.add_column(name, justify="right", no_wrap=True)
            else:
                table.add_column(name, justify="right" if numeric else "left", overflow="fold")
        for r in diff.registries:
            table.add_row(*(safe(c) for c in diff_fleet.cells(diff, r, signed(r.monthly_change))))
        parts.append(table)
    for title, first, rows, unchanged, with_team in _sections(diff):
        table = Table(
            title=f"{title} ({len(rows)} changed, {unchanged} unchanged)", title_justify="left", box=box.SIMPLE_HEAD
        )
        for index, (name, numeric) in enumerate(_columns(diff, first, with_team)):
            if index == 0:
                table.add_column(name, overflow="fold", min_width=16)
            elif index < 4:  # money: never cut
                table.add_column(name, justify="right", no_wrap=True)
            else:
                table.add_column(name, justify="right" if numeric else "left", overflow="fold")
        for change in rows:
            table.add_row(*(safe(c) for c in _cells(diff, change, with_team)))
        parts.append(table)
    parts += [Text(safe(line)) for line in _context(diff)]
    for part in parts:
        console.print(part)
    return "\n".join(line.rstrip() for line in out.getvalue().splitlines()) + "\n"


def _change_data(change: Change) -> dict[str, Any]:
    return {
        "name": change.name,
        "team": change.team,
        "status": change.status,
        "repositories": change.repositories,
        "tags_before": change.tags_before,
        "tags_after": change.tags_after,
        "tags_added": list(change.tags_added),
        "tags_removed": list(change.tags_removed),
        "tags_added_count": change.tags_added_count,
        "tags_removed_count": change.tags_removed_count,
        "versions_added": change.versions_added,
        "versions_removed": change.versions_removed,
        "stored_bytes_before": change.stored_bytes_before,
        "stored_bytes_after": change.stored_bytes_after,
        "bytes_added": change.bytes_added,
        "bytes_removed": change.bytes_removed,
        "monthly_cost_before": json_number(change.monthly_cost_before),
        "monthly_cost_after": json_number(change.monthly_cost_after),
        "monthly_change": json_number(change.monthly_change),
        "egress_partial": change.egress_partial,
    }


def render_json(diff: Diff) -> str:
    """DIFF as JSON: money as exact decimal numbers (4 places), bytes as integers."""
    data = {
        "schema_version": DIFF_SCHEMA_VERSION,
        "generated_at": time(diff.generated_at),
        "registry": diff.registry,
        "namespace": diff.namespace,
        "old": {"source": diff.old_source, "scanned_at": time(diff.old_scanned_at)},
        "new": {"source": diff.new_source, "scanned_at": time(diff.new_scanned_at)},
        "usage_source": diff.usage_source,
        "pricing": report_json.pricing_data(diff.pricing),
        "totals": {
            "monthly_cost_before": json_number(diff.monthly_cost_before),
            "monthly_cost_after": json_number(diff.monthly_cost_after),
            "monthly_change": json_number(diff.monthly_change),
            "months": diff.months,
            "horizon_change": json_number(diff.horizon_change),
            "egress_complete": diff.egress_complete,
        },
        **diff_fleet.json_data(diff),
        "added_repositories": list(diff.added_repositories),
        "removed_repositories": list(diff.removed_repositories),
        "repositories": [_change_data(c) for c in diff.repositories],
        "teams": [_change_data(c) for c in diff.teams],
        "warnings": list(diff.warnings),
    }
    return dump(data) + "\n"


def render_csv(diff: Diff) -> str:
    """DIFF's repository rows as CSV (one kind of row): counts and bytes as integers, money exact."""
    currency = diff.pricing.currency
    header = [
        "repository",
        "team",
        "status",
        "tags_before",
        "tags_after",
        "tags_added",
        "tags_removed",
        "versions_added",
        "versions_removed",
        "stored_bytes_before",
        "stored_bytes_after",
        "bytes_added",
        "bytes_removed",
        csv_cells.money_column("monthly_cost_before", currency),
        csv_cells.money_column("monthly_cost_after", currency),
        csv_cells.money_column("monthly_change", currency),
        "egress_partial",
    ]
    rows = (
        [
            csv_cells.text(c.name),
            csv_cells.text(c.team),
            c.status,
            csv_cells.integer(c.tags_before),
            csv_cells.integer(c.tags_after),
            csv_cells.integer(c.tags_added_count),
            csv_cells.integer(c.tags_removed_count),
            csv_cells.integer(c.versions_added),
            csv_cells.integer(c.versions_removed),
            csv_cells.integer(c.stored_bytes_before),
            csv_cells.integer(c.stored_bytes_after),
            csv_cells.integer(c.bytes_added),
            csv_cells.integer(c.bytes_removed),
            csv_cells.number(c.monthly_cost_before),
            csv_cells.number(c.monthly_cost_after),
            csv_cells.number(c.monthly_change),
            csv_cells.flag(c.egress_partial),
        ]
        for c in diff.repositories
    )
    return csv_cells.document(header, rows)


def render_csv_files(diff: Diff) -> dict[str, str]:
    """Every file of CSV_FILES by name, for `diff --format csv -o DIRECTORY/`."""
    return {REPOSITORIES_CSV: render_csv(diff), REGISTRIES_CSV: diff_fleet.render_csv(diff)}


def _markdown_table(header: list[tuple[str, bool]], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(cell(h) for h, _ in header) + " |"]
    lines.append("|" + "|".join("---:" if numeric else "---" for _, numeric in header) + "|")
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return lines


def render_markdown(diff: Diff) -> str:
    """DIFF as GitHub-flavoured Markdown, ready to post as a pull-request comment."""
    lines = [f"### Registry cost change: {cell(_target(diff))}", "", f"**{cell(headline(diff))}**", ""]
    if diff.registries:
        registry_rows = [diff_fleet.cells(diff, r, signed(r.monthly_change)) for r in diff.registries]
        lines += [f"{diff_fleet.title(diff)}:", "", *_markdown_table(diff_fleet.columns(diff), registry_rows), ""]
    for title, first, rows, unchanged, with_team in _sections(diff):
        if not rows:
            lines += [f"{title}: no change ({unchanged} unchanged).", ""]
            continue
        table = _markdown_table(_columns(diff, first, with_team), [_cells(diff, c, with_team) for c in rows])
        body = [f"{title}: {len(rows)} changed, {unchanged} unchanged.", "", *table, ""]
        lines += (
            body if title == "Repositories" else ["<details><summary>By team</summary>", "", *body, "</details>", ""]
        )
    lines += [f"<sub>{cell(line)}</sub>  " for line in _context(diff)]
    return "\n".join(lines).rstrip() + "\n"


_STYLE = (
    "body{font:14px/1.4 system-ui,sans-serif;margin:1em auto;max-width:1200px;padding:0 1em;color:#222;"
    "overflow-wrap:anywhere}"
    ".scroll{overflow-x:auto}table{border-collapse:collapse;margin:1em 0}"
    "th,td{padding:.25em .6em;border-bottom:1px solid #ddd;text-align:left}"
    "td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}caption{text-align:left;font-weight:bold}"
    ".up{color:#a00}.down{color:#060}"
)


def _e(text: str) -> str:
    return escape(safe(text), quote=True)


def render_html(diff: Diff) -> str:
    """DIFF as one self-contained HTML page (inline CSS, no scripts), every value escaped."""
    trend = "up" if diff.monthly_change > 0 else "down" if diff.monthly_change < 0 else ""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width,initial-scale=1">',
        f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">',
        f"<title>Registry cost change: {_e(_target(diff))}</title><style>{_STYLE}</style></head><body>",
        f"<h1>Registry cost change: {_e(_target(diff))}</h1>",
        f'<p class="{trend}"><strong>{_e(headline(diff))}</strong></p>',
    ]
    if diff.registries:
        cells = [diff_fleet.cells(diff, r, signed(r.monthly_change)) for r in diff.registries]
        parts.append(html_table(diff_fleet.title(diff), diff_fleet.columns(diff), cells))
    for title, first, rows, unchanged, with_team in _sections(diff):
        caption = f"{title} ({len(rows)} changed, {unchanged} unchanged)"
        cells = [_cells(diff, c, with_team) for c in rows]
        parts.append(html_table(caption, _columns(diff, first, with_team), cells))
    parts.append("<ul>" + "".join(f"<li>{_e(line)}</li>" for line in _context(diff)) + "</ul>")
    if diff.warnings:
        parts.append("<h2>Warnings</h2><ul>" + "".join(f"<li>{_e(w)}</li>" for w in diff.warnings) + "</ul>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
