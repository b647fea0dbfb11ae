"""Pull limits in the report: a usage beyond a plan's pulls or ECR Public's anonymous allowance warns."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from costcalc.cli.app import app
from costcalc.inventory.file import dumps
from costcalc.pricing.book_file import load_book
from costcalc.report import build
from costcalc.usage.file import loads_csv
from tests.inventory_builders import small_fleet


def pull_warnings(usage_csv: str, book: str) -> list[str]:
    report = build(small_fleet(), loads_csv(usage_csv, "u.csv"), [load_book(book)])
    return [w for w in report.warnings if w.startswith("Pull limits:")]


def test_pulls_beyond_the_personal_plans_hourly_limit_warn() -> None:
    # 50,000 + 30,000 pulls a month average 109.6 an hour, more than Personal's 100
    said = pull_warnings("repository,pulls_per_month\nacme/api,50000\nacme/web,30000\n", "docker-hub-personal")
    assert len(said) == 1
    assert "80000 pulls a month average 109.6 an hour, more than the 100 an hour docker-hub-personal allows" in said[0]


def test_pulls_within_the_limit_do_not_warn() -> None:
    assert pull_warnings("repository,pulls_per_month\nacme/api,70000\n", "docker-hub-personal") == []
    assert pull_warnings("repository,pulls_per_month\nacme/api,80000\n", "aws-ecr") == []  # no limits


def test_anonymous_egress_beyond_ecr_publics_allowance_warns() -> None:
    # acme/api's pull is 1,810 bytes: 400 million pulls are ~674 GiB of anonymous (internet) egress
    said = pull_warnings("repository,source,pulls_per_month\nacme/api,internet,400000000\n", "aws-ecr-public")
    assert len(said) == 1 and "egress internet is" in said[0] and "more than the 500 GiB" in said[0]


def test_the_cli_prints_the_warning(tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.json"
    inventory.write_text(dumps(small_fleet()), encoding="utf-8")
    usage = tmp_path / "usage.csv"
    usage.write_text("repository,pulls_per_month\nacme/api,200000\n", encoding="utf-8")
    result = CliRunner().invoke(
        app, ["report", str(inventory), "--usage", str(usage), "--pricing", "docker-hub-personal", "--format", "json"]
    )
    assert result.exit_code == 0, result.stderr
    assert "warning: Pull limits: 200000 pulls a month average 274.0 an hour" in result.stderr


EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "fleet.json"


def test_storage_beyond_a_plans_limit_warns_in_the_table_and_the_json() -> None:
    # examples/fleet.json holds 16.16 GiB; DigitalOcean's Starter plan holds at most 500 MiB
    starter = ["report", str(EXAMPLE), "--pricing", "digitalocean-starter", "--width", "400"]
    expected = (
        "storage is 16.16 GiB, 15.68 GiB more than the 0.48828125 GiB digitalocean-starter holds at most: "
        "the plan sells no extra storage, so it cannot hold this registry"
    )
    table = CliRunner().invoke(app, starter)
    assert table.exit_code == 0, table.stderr
    assert expected in table.stdout.split("Warnings", 1)[1]
    result = CliRunner().invoke(app, [*starter, "--format", "json"])
    assert result.exit_code == 0, result.stderr
    (said,) = [w for w in json.loads(result.stdout)["warnings"] if "storage is" in w]
    assert said.startswith(f"Storage limit: {expected}")
    # a plan that holds it does not warn
    basic = CliRunner().invoke(app, [*starter[:3], "digitalocean-basic", "--format", "json"])
    assert not [w for w in json.loads(basic.stdout)["warnings"] if "storage is" in w]
