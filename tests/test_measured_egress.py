"""Measured vs modelled egress: a usage file from logs carries measured bytes; the report prices
them and shows beside them what its model predicts for the same pulls."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costcalc.cli.app import app
from costcalc.errors import InputError
from costcalc.inventory.file import dumps
from costcalc.usage.file import loads_csv, loads_toml
from tests.inventory_builders import small_fleet

TRAIL = Path(__file__).parent / "fixtures" / "logs" / "cloudtrail-ecr.json"
runner = CliRunner()


def run(*args: str | Path) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(arg) for arg in args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def from_logs(tmp_path: Path) -> tuple[Path, Path]:
    """The inventory, and the usage file `usage from-logs` makes of the CloudTrail fixture with it."""
    inventory = tmp_path / "inventory.json"
    inventory.write_text(dumps(small_fleet()), encoding="utf-8")
    usage = tmp_path / "usage.csv"
    code, _, stderr = run("usage", "from-logs", TRAIL, "--inventory", inventory, "-o", usage)
    assert code == 0, stderr
    return inventory, usage


def test_the_report_prices_measured_bytes_and_shows_the_model_beside_them(from_logs: tuple[Path, Path]) -> None:
    inventory, usage = from_logs
    code, stdout, stderr = run("report", inventory, "--usage", usage, "--format", "json")
    assert code == 0, stderr
    report = json.loads(stdout)
    rows = {row["name"]: row for row in report["rows"]}
    api = rows["acme/api"]
    # measured: (1710 + 2320) bytes in 24 hours, x 730 / 24; priced as the row's egress
    assert api["egress_bytes"] == 122579
    # the model for the same pulls, one usage row per class: (30.42 + 30.42) cold pulls x 1,810
    # bytes (manifest 500, config 10, layers 900 and 400) + 30.42 warm pulls x 400 bytes (the
    # layer new in v2) = 122,288.4
    assert api["egress_measured"]["measured_bytes"] == 122579
    assert api["egress_measured"]["modelled_bytes"] == 122288
    expected = (Decimal(122579) - Decimal("122288.4")) / Decimal("122288.4") * 100
    assert Decimal(str(api["egress_measured"]["difference_pct"])) == expected.quantize(Decimal("0.0001"))
    web = rows["acme/web"]["egress_measured"]
    assert (web["measured_bytes"], web["modelled_bytes"]) == (46233, 46238)  # 30.42 x 1,520 = 46,238.4
    assert report["totals"]["egress_measured"]["measured_bytes"] == 122579 + 46233
    assert "acme/job" not in rows or "egress_measured" not in rows["acme/job"]
    assert any("measured from its logs" in a for a in report["assumptions"])


def test_csv_and_table_carry_both_figures(from_logs: tuple[Path, Path]) -> None:
    inventory, usage = from_logs
    code, stdout, _ = run("report", inventory, "--usage", usage, "--format", "csv")
    assert code == 0
    rows = {row["name"]: row for row in csv.DictReader(io.StringIO(stdout))}
    assert (rows["acme/api"]["measured_egress_bytes"], rows["acme/api"]["modelled_egress_bytes"]) == (
        "122579",
        "122288",
    )
    assert rows["acme/job"]["measured_egress_bytes"] == ""
    code, stdout, _ = run("report", inventory, "--usage", usage, "--width", "200")
    assert code == 0
    assert "Measured vs modelled egress" in stdout
    assert "acme/api: measured 119.71 KiB/month; the model predicts 119.42 KiB for the same pulls (+0.2 %" in stdout


def test_a_usage_file_without_measured_bytes_has_no_comparison(tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.json"
    inventory.write_text(dumps(small_fleet()), encoding="utf-8")
    usage = tmp_path / "usage.csv"
    usage.write_text("repository,pulls_per_month\nacme/api,10\n", encoding="utf-8")
    code, stdout, _ = run("report", inventory, "--usage", usage, "--format", "json")
    assert code == 0
    report = json.loads(stdout)
    assert all("egress_measured" not in row for row in report["rows"])
    assert "egress_measured" not in report["totals"]


def test_measured_bytes_are_read_from_toml_too_and_belong_to_one_repository() -> None:
    usage = loads_toml('[[usage]]\nrepository = "acme/api"\npulls_per_month = 3\nmeasured_bytes_per_month = 9000\n')
    assert usage.rows[0].measured_bytes_per_month == 9000
    with pytest.raises(InputError, match=r"u.csv:2: measured_bytes_per_month: measured bytes belong to one repository"):
        loads_csv("repository,pulls_per_month,measured_bytes_per_month\nacme/*,3,9000\n", "u.csv")
    with pytest.raises(InputError, match=r"u.csv:2: measured_bytes_per_month: measured bytes without the pulls"):
        loads_csv("repository,measured_bytes_per_month\nacme/api,9000\n", "u.csv")
