"""`costcalc report SOURCE...` on the command line: mappings, directories, currencies, --max-age, --strict."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costcalc.cli.app import app
from costcalc.cli.fleet import is_scenario_spec, parse_max_age, split_mapping
from costcalc.errors import InputError

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
FLEET = EXAMPLES / "fleet.json"
USAGE = str(EXAMPLES / "usage.csv")
PRICING = Path(__file__).resolve().parent.parent / "pricing"
runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def fleet(tmp_path: Path) -> Path:
    """A directory of two inventories: the example's registry, and the same namespace on ghcr.io."""
    directory = tmp_path / "inventories"
    directory.mkdir()
    data = json.loads(FLEET.read_text(encoding="utf-8"))
    (directory / "example.json").write_text(json.dumps(data), encoding="utf-8")
    data["registry"] = "ghcr.io"
    (directory / "ghcr.json").write_text(json.dumps(data), encoding="utf-8")
    return directory


def totals(*args: str) -> dict[str, object]:
    code, stdout, stderr = run("report", *args, "--format", "json")
    assert code == 0, stderr
    report: dict[str, object] = json.loads(stdout)
    return report


def test_mapping_values_are_told_from_plain_ones() -> None:
    mapped = split_mapping(["aws-ecr", "*.example.com=github-packages", " GHCR.io = docker-hub-team "])
    assert mapped.everywhere == ("aws-ecr",)
    assert mapped.scoped == (("*.example.com", "github-packages"), ("ghcr.io", "docker-hub-team"))
    scenarios = split_mapping(["rebase:a=b", "ghcr.io=rebase:a=b", "alpine"], is_plain=is_scenario_spec)
    assert scenarios.everywhere == ("rebase:a=b", "alpine")
    assert scenarios.scoped == (("ghcr.io", "rebase:a=b"),)
    with pytest.raises(InputError, match="GLOB=VALUE, with both parts"):
        split_mapping(["=aws-ecr"])


def test_a_file_whose_name_holds_an_equals_sign_is_a_file(tmp_path: Path) -> None:
    odd = tmp_path / "team=a.toml"
    odd.write_text("", encoding="utf-8")
    assert split_mapping([str(odd)]).everywhere == (str(odd),)


@pytest.mark.parametrize(("text", "hours"), [("36h", 36), ("7d", 168), ("2W", 336)])
def test_max_age_reads_hours_days_and_weeks(text: str, hours: int) -> None:
    age = parse_max_age(text)
    assert age is not None and age.total_seconds() == hours * 3600


@pytest.mark.parametrize("text", ["0d", "7", "1.5d", "-2d", "7 days"])
def test_a_bad_max_age_is_one_sentence(fleet: Path, text: str) -> None:
    code, stdout, stderr = run("report", str(fleet), "--max-age", text)
    assert code == 1 and stdout == ""
    assert (
        stderr == f"costcalc: error: --max-age {text!r}: give a whole number of hours, days or weeks (36h, 7d, 2w).\n"
    )


def test_a_directory_fleet_sums_its_registries_each_on_its_own_book(fleet: Path) -> None:
    both = totals(
        str(fleet),
        "--pricing",
        "ghcr.io=github-packages",
        "--pricing",
        "*.example.com=aws-ecr",
        "--usage",
        f"*.example.com={USAGE}",
    )
    example = totals(str(fleet / "example.json"), "--usage", USAGE, "--pricing", "aws-ecr")
    ghcr = totals(str(fleet / "ghcr.json"), "--pricing", "github-packages")

    def monthly(report: dict[str, object]) -> Decimal:
        return Decimal(str(report["totals"]["monthly_cost"]))  # type: ignore[index]

    assert monthly(both) == monthly(example) + monthly(ghcr)
    assert monthly(example) > 0 and monthly(ghcr) > 0


def test_an_unmapped_registry_is_an_error_naming_the_fleets_registries(fleet: Path) -> None:
    code, stdout, stderr = run("report", str(fleet), "--pricing", "ghcr.io=github-packages")
    assert (code, stdout) == (1, "")
    assert stderr == (
        "costcalc: error: --pricing maps no book to registry.example.com; the fleet's registries are "
        "ghcr.io, registry.example.com: add --pricing GLOB=BOOK for each.\n"
    )


def test_a_fleet_of_two_currencies_is_refused_and_nothing_is_written(fleet: Path, tmp_path: Path) -> None:
    euro = tmp_path / "gh-eu.toml"
    text = (PRICING / "github-packages.toml").read_text(encoding="utf-8")
    euro.write_text(
        text.replace('currency = "USD"', 'currency = "EUR"').replace('id = "github-packages"', 'id = "gh-eu"')
    )
    out = tmp_path / "fleet.json"
    code, _, stderr = run(
        "report", str(fleet), "--pricing", f"ghcr.io={euro}", "--pricing", "*=aws-ecr", "-o", str(out)
    )
    assert code == 1 and not out.exists()
    assert stderr.startswith("costcalc: error: the fleet is priced in 2 currencies (ghcr.io in EUR (gh-eu); ")
    assert stderr.count("\n") == 1


def test_strict_refuses_a_stale_input_before_writing(fleet: Path, tmp_path: Path) -> None:
    out = tmp_path / "fleet.json"
    code, _, stderr = run("report", str(fleet), "--max-age", "2d", "--strict", "-o", str(out))
    assert code == 1 and not out.exists()
    assert stderr.startswith("costcalc: error: --strict: ")
    assert "example.json is older than --max-age (scanned 2026-11-20 06:00 UTC)" in stderr
    code, _, stderr = run("report", str(fleet), "--max-age", "2d", "-o", str(out))
    assert code == 0 and out.exists()
    assert "longer ago than --max-age 2d: its figures may be out of date" in stderr


def test_a_glob_that_matches_no_registry_is_warned_about(fleet: Path) -> None:
    report = totals(str(fleet), "--pricing", "aws-ecr", "--scenario", "quay.io=alpine")
    warnings = report["warnings"]
    assert isinstance(warnings, list)
    assert "--scenario quay.io=alpine matches no registry of the fleet (ghcr.io, registry.example.com)." in warnings
    assert report["scenarios"] == []


def test_an_empty_directory_is_one_sentence(tmp_path: Path) -> None:
    code, _, stderr = run("report", str(tmp_path))
    assert code == 1
    assert stderr == f"costcalc: error: {tmp_path}: a directory of inventories, but it holds no *.json file.\n"


def test_usage_for_every_registry_is_given_once(fleet: Path) -> None:
    code, _, stderr = run("report", str(fleet), "--usage", USAGE, "--usage", USAGE)
    assert code == 1
    assert "give one file, or map each to its registries with --usage GLOB=FILE" in stderr


def test_a_bad_book_is_said_before_any_registry_is_scanned(fleet: Path) -> None:
    # 127.0.0.1:9 would fail to connect: the book's problem must come first, and alone
    code, _, stderr = run("report", "127.0.0.1:9/acme", str(fleet), "--pricing", "ghcr.io=no-such-book")
    assert code == 1
    assert stderr.count("\n") == 1 and "no-such-book" in stderr and "127.0.0.1:9" not in stderr
