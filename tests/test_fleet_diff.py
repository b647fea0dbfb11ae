"""`costcalc diff` of fleet report JSONs: the registries compared in every format, rows matched by name."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from costcalc.cli.app import app
from costcalc.render import json as render_json
from costcalc.report import Report
from costcalc.report.diff_reports import compare_reports, load_report
from tests.fleet_example import fleet_report
from tests.test_render import example_report


def write(path: Path, report: Report) -> Path:
    path.write_text(render_json.render(report))
    return path


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Report, Report]:
    """OLD: the example's one registry (a one-inventory report); NEW: the fleet that adds ghcr.io."""
    where = tmp_path_factory.mktemp("fleet-diff")
    old, new = example_report(), fleet_report()
    return write(where / "old.json", old), write(where / "new.json", new), old, new


def diff(*args: str) -> Any:
    return CliRunner().invoke(app, ["diff", *args])


def test_a_fleet_report_json_loads_with_its_registries(reports: tuple[Path, Path, Report, Report]) -> None:
    _, new_path, _, new = reports
    loaded = load_report(new_path)
    assert [r.registry for r in loaded.registries] == [r.registry for r in new.registries]
    assert [r.monthly_cost for r in loaded.registries] == [r.monthly_cost for r in new.registries]
    assert [r.storage_bytes for r in loaded.registries] == [int(r.storage_bytes) for r in new.registries]


def test_a_registry_added_to_the_fleet_is_compared_and_its_repositories_matched_by_name(
    reports: tuple[Path, Path, Report, Report],
) -> None:
    old_path, new_path, old, new = reports
    result = compare_reports(load_report(old_path), load_report(new_path))
    ghcr, example = sorted(result.registries, key=lambda r: r.registry)
    assert (ghcr.registry, ghcr.status, ghcr.pricing_id) == ("ghcr.io", "added", "github-packages")
    assert ghcr.monthly_cost_before == 0 and ghcr.monthly_cost_after == new.registries[0].monthly_cost
    assert (ghcr.stored_bytes_before, ghcr.stored_bytes_after) == (0, int(new.registries[0].storage_bytes))
    assert (example.registry, example.status) == ("registry.example.com", "unchanged")
    assert example.monthly_cost_before == old.totals.monthly_cost == example.monthly_cost_after
    # the one-registry report's repositories are named as the fleet names them: none removed
    assert result.removed_repositories == ()
    assert len(result.added_repositories) == 29 and all(n.startswith("ghcr.io/") for n in result.added_repositories)
    assert result.monthly_change == new.totals.monthly_cost - old.totals.monthly_cost
    assert sum(r.monthly_change for r in result.registries) == result.monthly_change


def test_every_diff_format_shows_the_registries(reports: tuple[Path, Path, Report, Report], tmp_path: Path) -> None:
    old_path, new_path, _, new = reports
    added = f"+{new.registries[0].monthly_cost:.2f}"
    table = diff(str(old_path), str(new_path), "-q", "--width", "160")
    assert table.exit_code == 0, table.output
    line = next(line for line in table.output.splitlines() if line.strip().startswith("ghcr.io "))
    assert added in line and "added" in line and "github-packages" in line
    assert "Registries (1 changed, 1 unchanged)" in table.output
    assert "Each registry priced on its own book (ghcr.io on github-packages" in " ".join(table.output.split())
    markdown = diff(str(old_path), str(new_path), "--format", "markdown", "-q").output
    assert f"| ghcr.io | {added} + | 0.00 |" in markdown
    html = diff(str(old_path), str(new_path), "--format", "html", "-q").output
    assert "<caption>Registries (1 changed, 1 unchanged)</caption>" in html and "<td>ghcr.io</td>" in html
    data = json.loads(diff(str(old_path), str(new_path), "--format", "json", "-q").output, parse_float=Decimal)
    statuses = {r["registry"]: r["status"] for r in data["registries"]}
    assert statuses == {"ghcr.io": "added", "registry.example.com": "unchanged"}
    assert sum(r["monthly_change"] for r in data["registries"]) == data["totals"]["monthly_change"]
    out = tmp_path / "diff"
    written = diff(str(old_path), str(new_path), "--format", "csv", "-o", f"{out}/", "-q")
    assert written.exit_code == 0, written.output
    assert sorted(p.name for p in out.iterdir()) == ["registries.csv", "repositories.csv"]
    registries = list(csv.DictReader(io.StringIO((out / "registries.csv").read_text())))
    assert [(r["registry"], r["status"]) for r in registries] == [
        ("ghcr.io", "added"),
        ("registry.example.com", "unchanged"),
    ]
    assert Decimal(registries[0]["monthly_change_usd"]) == new.registries[0].monthly_cost
    repositories = (out / "repositories.csv").read_text()
    assert repositories == diff(str(old_path), str(new_path), "--format", "csv", "-q").output
    noted = diff(str(old_path), str(new_path), "--format", "csv")
    assert "-o DIRECTORY/ writes registries.csv" in noted.output


def test_the_diff_csv_files_end_their_lines_as_the_report_csv_files_do(
    reports: tuple[Path, Path, Report, Report], tmp_path: Path
) -> None:
    old_path, new_path, _, _ = reports
    diffed, reported = tmp_path / "diff", tmp_path / "report"
    assert diff(str(old_path), str(new_path), "--format", "csv", "-o", f"{diffed}/", "-q").exit_code == 0
    made = CliRunner().invoke(app, ["report", "examples/fleet.json", "--format", "csv", "-o", f"{reported}/", "-q"])
    assert made.exit_code == 0, made.output
    written = sorted(diffed.iterdir()) + sorted(reported.iterdir())
    endings = {
        f"{path.parent.name}/{path.name}": path.read_bytes().count(b"\r\n") == path.read_bytes().count(b"\n")
        for path in written
    }
    assert len(endings) == 11 and all(endings.values()), endings  # every line ends in CRLF, as RFC 4180 has it


def test_a_registry_removed_and_a_registry_moved_to_another_book(
    reports: tuple[Path, Path, Report, Report], tmp_path: Path
) -> None:
    old_path, new_path, _, _ = reports
    removed = compare_reports(load_report(new_path), load_report(old_path))
    assert {r.registry: r.status for r in removed.registries} == {
        "ghcr.io": "removed",
        "registry.example.com": "unchanged",
    }
    data = json.loads(new_path.read_text())
    data["registries"][0]["pricing_id"] = "gcp-artifact-registry"
    moved = tmp_path / "moved.json"
    moved.write_text(json.dumps(data))
    refused = diff(str(new_path), str(moved))
    assert refused.exit_code == 1
    assert "ghcr.io is priced on github-packages in OLD and on gcp-artifact-registry in NEW" in refused.output


def test_a_diff_of_one_namespace_has_no_registries_key(tmp_path: Path) -> None:
    path = write(tmp_path / "one.json", example_report())
    data = json.loads(diff(str(path), str(path), "--format", "json", "-q").output)
    assert "registries" not in data and data["totals"]["monthly_change"] == 0
