"""`costcalc diff`: the Diff of two inventories priced alike, its renderers (goldens) and the command."""

from __future__ import annotations

import copy
import csv
import io
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from costcalc import report as costs
from costcalc.cli.app import app
from costcalc.errors import InputError
from costcalc.inventory.file import load
from costcalc.inventory.model import Inventory
from costcalc.pricing.book_file import load_book
from costcalc.render import diff as render_diff
from costcalc.report.diff import Diff, compare
from tests.test_render import EXAMPLES, HOSTILE, PINNED, example_usage

FLEET = EXAMPLES / "fleet.json"
USAGE = EXAMPLES / "usage.csv"
DROPPED = "acme/api/orders"
RETAGGED = "acme/api/catalog"


def changed_fleet(tmp_path: Path, rename: dict[str, str] | None = None) -> Path:
    """The example fleet a week later: one repository gone, one tag of another deleted, one new repository."""
    data: dict[str, Any] = json.loads(FLEET.read_text(encoding="utf-8"))
    repositories = data["repositories"]
    catalog = next(r for r in repositories if r["name"] == RETAGGED)
    catalog["tags"] = [t for t in catalog["tags"] if t["tag"] != "latest"]
    data["repositories"] = [r for r in repositories if r["name"] != DROPPED]
    added = copy.deepcopy(next(r for r in repositories if r["name"] == "acme/ml/recommender"))
    added["name"] = "acme/ml/ranker"
    data["repositories"].append(added)
    for old, new in (rename or {}).items():
        for repository in data["repositories"]:
            repository["name"] = repository["name"].replace(old, new)
    data["scanned_at"] = "2026-11-27T06:00:00Z"
    path = tmp_path / "fleet-later.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def priced(inventory: Inventory, source: str) -> costs.Report:
    book = load_book("aws-ecr")
    quantities = costs.measure(inventory, example_usage(), book)
    report = costs.price(quantities, book, source=source, generated_at=PINNED)
    return report.model_copy(update={"tool_version": "0.0.0+golden"})


def example_diff(tmp_path: Path) -> tuple[Diff, costs.Report, costs.Report]:
    old, new = load(FLEET), load(changed_fleet(tmp_path))
    before, after = priced(old, "examples/fleet.json"), priced(new, "fleet-later.json")
    return compare(old, new, before, after), before, after


def test_the_change_is_the_difference_of_the_reports_and_of_the_rows(tmp_path: Path) -> None:
    diff, before, after = example_diff(tmp_path)
    assert diff.monthly_change == after.totals.monthly_cost - before.totals.monthly_cost
    assert diff.monthly_change == sum((r.monthly_change for r in diff.repositories), Decimal(0))
    assert diff.monthly_change == sum((t.monthly_change for t in diff.teams), Decimal(0))
    assert diff.monthly_change != 0
    assert diff.added_repositories == ("acme/ml/ranker",)
    assert diff.removed_repositories == (DROPPED,)


def test_repository_rows_count_tags_versions_and_bytes(tmp_path: Path) -> None:
    diff, _, _ = example_diff(tmp_path)
    old = load(FLEET)
    rows = {r.name: r for r in diff.repositories}
    dropped = rows[DROPPED]
    old_repo = next(r for r in old.repositories if r.name == DROPPED)
    assert dropped.status == "removed" and dropped.tags_removed_count == len(old_repo.tags)
    assert dropped.versions_removed == len({t.digest for t in old_repo.tags})
    assert dropped.bytes_removed == dropped.stored_bytes_before == old.figures.repository_bytes[DROPPED]
    assert dropped.monthly_cost_after == 0 and dropped.monthly_change == -dropped.monthly_cost_before
    retagged = rows[RETAGGED]
    assert retagged.status == "changed" and retagged.tags_removed == ("latest",) and retagged.tags_added == ()
    assert retagged.versions_removed == 0  # `latest` pointed at a digest another tag still holds
    added = rows["acme/ml/ranker"]
    assert added.status == "added" and added.bytes_added == added.stored_bytes_after > 0
    assert added.tags_added_count == added.tags_after and added.monthly_cost_before == 0
    assert {r.status for r in diff.repositories} >= {"unchanged"}
    api = next(t for t in diff.teams if t.name == "api")
    assert api.tags_removed_count == dropped.tags_removed_count + 1


def test_two_namespaces_are_not_compared(tmp_path: Path) -> None:
    old = load(FLEET)
    data = json.loads(FLEET.read_text(encoding="utf-8"))
    data["namespace"] = "other"
    path = tmp_path / "other.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    new = load(path)
    with pytest.raises(InputError) as raised:
        compare(old, new, priced(old, "a"), priced(new, "b"))
    assert str(raised.value) == (
        "OLD is a scan of registry.example.com/acme but NEW of registry.example.com/other: "
        "a diff compares one namespace."
    )


@pytest.mark.parametrize(
    ("name", "renderer"),
    [
        ("example-diff.txt", lambda d: render_diff.render_table(d, width=120)),
        ("example-diff.json", render_diff.render_json),
        ("example-diff.csv", render_diff.render_csv),
        ("example-diff.md", render_diff.render_markdown),
        ("example-diff.html", render_diff.render_html),
    ],
)
def test_example_diff_goldens(
    name: str, renderer: Callable[[Diff], str], tmp_path: Path, golden: Callable[[str, str], None]
) -> None:
    diff, _, _ = example_diff(tmp_path)
    golden(name, renderer(diff))


def test_json_and_csv_hold_exact_numbers(tmp_path: Path) -> None:
    diff, before, after = example_diff(tmp_path)
    data = json.loads(render_diff.render_json(diff), parse_float=Decimal)
    assert data["totals"]["monthly_change"] == after.totals.monthly_cost - before.totals.monthly_cost
    assert data["totals"]["horizon_change"] == diff.monthly_change * 12
    assert data["removed_repositories"] == [DROPPED]
    row = next(r for r in data["repositories"] if r["name"] == RETAGGED)
    assert row["tags_removed"] == ["latest"] and isinstance(row["stored_bytes_after"], int)
    rows = list(csv.DictReader(io.StringIO(render_diff.render_csv(diff))))
    assert len(rows) == len(diff.repositories)
    assert sum(Decimal(r["monthly_change_usd"]) for r in rows) == diff.monthly_change
    assert all(r["bytes_added"].isdigit() and r["tags_after"].isdigit() for r in rows)


def test_markdown_reads_as_a_pull_request_comment(tmp_path: Path) -> None:
    diff, _, _ = example_diff(tmp_path)
    text = render_diff.render_markdown(diff)
    first, _, headline, *_ = text.splitlines()
    assert first == "### Registry cost change: registry.example.com/acme"
    assert headline.startswith("**Monthly cost goes ") and "over 12 months" in headline
    assert f"| {DROPPED} | " in text and "| acme/ml/ranker | " in text
    assert "<details><summary>By team</summary>" in text


def test_hostile_names_stay_inert_in_every_format(tmp_path: Path) -> None:
    old = load(FLEET)
    new = load(changed_fleet(tmp_path, rename={"acme/ml/ranker": f"acme/{HOSTILE}"}))
    diff = compare(old, new, priced(old, "a"), priced(new, "b"))
    html = render_diff.render_html(diff)
    assert "<script>" not in html and "&lt;script&gt;" in html and "\x1b" not in html
    markdown = render_diff.render_markdown(diff)
    assert "<script>" not in markdown and "\\|" in markdown and "\r" not in markdown
    assert "\x1b" not in render_diff.render_table(diff)
    rows = list(csv.DictReader(io.StringIO(render_diff.render_csv(diff))))
    assert any(r["repository"].startswith("acme/=HYPERLINK") for r in rows)
    assert not any(r["repository"].startswith(("=", "+", "-", "@")) for r in rows)


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, ["diff", str(FLEET), *args])


def test_command_writes_every_format_and_exits_3_above_the_increase(tmp_path: Path) -> None:
    later = str(changed_fleet(tmp_path))
    out = tmp_path / "diff.json"
    ok = invoke(later, "--usage", str(USAGE), "--format", "json", "-o", str(out), "-q")
    assert ok.exit_code == 0, ok.output
    change = json.loads(out.read_text(encoding="utf-8"), parse_float=Decimal)["totals"]["monthly_change"]
    assert change > 0
    above = tmp_path / "above.md"
    limit = str(change - Decimal("0.01"))
    failed = invoke(
        later, "--usage", str(USAGE), "--format", "markdown", "-o", str(above), "-q", "--fail-above-increase", limit
    )
    assert failed.exit_code == 3
    assert above.read_text(encoding="utf-8").startswith("### Registry cost change")
    assert failed.stderr.strip().endswith(f"above --fail-above-increase {limit} USD.")
    within = invoke(later, "--usage", str(USAGE), "--format", "csv", "-q", "--fail-above-increase", str(change))
    assert within.exit_code == 0 and within.stdout.startswith("repository,team,status,")
    for output_format, start in (("table", "costcalc diff: "), ("html", "<!DOCTYPE html>")):
        shown = invoke(later, "--usage", str(USAGE), "--format", output_format, "-q")
        assert shown.exit_code == 0 and shown.stdout.startswith(start)


def test_command_errors_are_one_sentence(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    result = invoke(str(missing))
    assert result.exit_code == 1 and result.stderr.startswith("costcalc: error: ")
    assert str(missing) in result.stderr and "Traceback" not in result.stderr
    report = tmp_path / "report.json"
    assert CliRunner().invoke(app, ["report", str(FLEET), "--format", "json", "-q", "-o", str(report)]).exit_code == 0
    given_report = invoke(str(report))  # an inventory against a report
    assert given_report.exit_code == 1
    assert given_report.stderr.strip() == (
        "costcalc: error: OLD and NEW must both be inventories, or both report JSONs."
    )
    bad = invoke(str(FLEET), "--fail-above-increase", "lots")
    assert bad.exit_code == 2 and "'lots' is not a number" in bad.stderr


def report_json(tmp_path: Path, inventory: Path, name: str, *extra: str) -> Path:
    out = tmp_path / name
    done = CliRunner().invoke(app, ["report", str(inventory), "--format", "json", "-q", "-o", str(out), *extra])
    assert done.exit_code == 0, done.output
    return out


def test_two_report_jsons_diff_on_what_they_hold(tmp_path: Path) -> None:
    later = changed_fleet(tmp_path)
    old = report_json(tmp_path, FLEET, "old.json", "--usage", str(USAGE))
    new = report_json(tmp_path, later, "new.json", "--usage", str(USAGE))
    result = CliRunner().invoke(app, ["diff", str(old), str(new), "--format", "json", "-q"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout, parse_float=Decimal)
    totals_old = json.loads(old.read_text(encoding="utf-8"), parse_float=Decimal)["totals"]["monthly_cost"]
    totals_new = json.loads(new.read_text(encoding="utf-8"), parse_float=Decimal)["totals"]["monthly_cost"]
    assert data["totals"]["monthly_change"] == totals_new - totals_old
    # the same figures as the diff of the two inventories, where a report holds them
    inventories = json.loads(
        CliRunner()
        .invoke(app, ["diff", str(FLEET), str(later), "--usage", str(USAGE), "--format", "json", "-q"])
        .stdout,
        parse_float=Decimal,
    )
    assert data["added_repositories"] == inventories["added_repositories"] == ["acme/ml/ranker"]
    assert data["removed_repositories"] == inventories["removed_repositories"] == [DROPPED]
    rows = {r["name"]: r for r in data["repositories"]}
    full = {r["name"]: r for r in inventories["repositories"]}
    for name, row in rows.items():
        expected = full[name]
        assert (row["status"], row["tags_before"], row["tags_after"], row["monthly_change"]) == (
            expected["status"],
            expected["tags_before"],
            expected["tags_after"],
            expected["monthly_change"],
        )
        # what a report does not list is unknown, never 0
        assert row["tags_added_count"] is None and row["versions_added"] is None and row["bytes_added"] is None
    assert any("list no tags or blobs" in w for w in data["warnings"])
    table = CliRunner().invoke(app, ["diff", str(old), str(new), "-q"])
    assert table.exit_code == 0 and "unknown" in table.stdout


def test_report_jsons_of_other_books_or_groupings_are_refused(tmp_path: Path) -> None:
    old = report_json(tmp_path, FLEET, "old.json")
    other_book = report_json(tmp_path, FLEET, "gcp.json", "--pricing", "gcp-artifact-registry")
    by_team = report_json(tmp_path, FLEET, "team.json", "--usage", str(USAGE), "--group-by", "team")
    for new, message in (
        (other_book, "a diff compares reports priced on one book"),
        (by_team, "diff needs reports grouped by repository"),
    ):
        result = CliRunner().invoke(app, ["diff", str(old), str(new)])
        assert result.exit_code == 1 and message in result.stderr and "Traceback" not in result.stderr
    with_usage = CliRunner().invoke(app, ["diff", str(old), str(old), "--usage", str(USAGE)])
    assert with_usage.exit_code == 1 and "--usage does not apply" in with_usage.stderr
