"""`costcalc report --format csv -o DIRECTORY`: one CSV file per kind of row, each written atomically."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from costcalc.cli.app import app
from costcalc.render.csv import FILES

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
FLEET = str(EXAMPLES / "fleet.json")
USAGE = str(EXAMPLES / "usage.csv")
runner = CliRunner()
REPORT = ("report", FLEET, "--usage", USAGE, "--scenario", "alpine", "--scenario", "retention:5")
BOOKS = ("--pricing", "aws-ecr", "--pricing", "cloudflare-r2")


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def test_a_directory_gets_one_file_per_kind_of_row(tmp_path: Path) -> None:
    out = tmp_path / "costs"
    code, _, stderr = run(*REPORT, *BOOKS, "--format", "csv", "-o", f"{out}/", "--quiet")
    assert code == 0, stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
    _, single, _ = run(*REPORT, *BOOKS, "--format", "csv", "--quiet")
    assert (out / "groups.csv").read_bytes().decode("utf-8").splitlines() == single.splitlines()
    _, text, _ = run(*REPORT, *BOOKS, "--format", "json", "--quiet")
    data = json.loads(text, parse_float=Decimal)

    groups = rows(out / "groups.csv")
    assert len(groups) == 29 and "scenario" not in groups[0] and "alpine" not in {g["name"] for g in groups}
    assert sum(int(g["attributed_bytes"]) for g in groups) == data["totals"]["storage_bytes"]
    assert sum(Decimal(g["monthly_cost_usd"]) for g in groups) == data["totals"]["monthly_cost"]

    primary, other = rows(out / "price_books.csv")
    assert (primary["pricing_id"], primary["primary"], primary["unit"]) == ("aws-ecr", "true", "GiB")
    assert (other["pricing_id"], other["primary"], other["unit"]) == ("cloudflare-r2", "false", "GB")
    assert Decimal(primary["horizon_cost"]) == data["totals"]["horizon_cost"] and primary["months"] == "12"
    assert Decimal(other["monthly_cost"]) == data["comparison"][0]["totals"]["monthly_cost"]
    assert {primary["egress_complete"], other["egress_complete"]} == {"false"}  # legacy-batch has no pull data

    scenarios = rows(out / "scenarios.csv")
    assert [s["scenario"] for s in scenarios] == ["alpine", "retention:5", "combined"]
    assert {s["months"] for s in scenarios} == {"12"}
    for s, expected in zip(scenarios, data["scenarios"], strict=True):
        assert Decimal(s["horizon_savings_usd"]) == expected["horizon_savings"]

    versions = rows(out / "versions.csv")
    assert {v["scenario"] for v in versions} == {"retention:5", "combined"}
    assert all(v["exclusive_bytes"].isdigit() and v["dropped"] in ("true", "false") for v in versions)

    notes = rows(out / "notes.csv")
    book_notes = [n["text"] for n in notes if n["kind"] == "Price book note"]
    assert book_notes and {n["applies_to"] for n in notes if n["kind"] == "Price book note"} <= {
        "aws-ecr",
        "cloudflare-r2",
    }
    assert any("lower bound" in n["text"] for n in notes)


def test_an_existing_directory_keeps_its_other_files(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine\n", encoding="utf-8")
    code, _, stderr = run(*REPORT, "--format", "csv", "-o", str(tmp_path), "--quiet")
    assert code == 0, stderr
    assert (tmp_path / "keep.txt").read_text(encoding="utf-8") == "mine\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*FILES, "keep.txt"])


def test_a_file_in_the_directory_that_is_an_input_is_refused(tmp_path: Path) -> None:
    usage = tmp_path / "groups.csv"
    usage.write_text(Path(USAGE).read_text(encoding="utf-8"), encoding="utf-8")
    code, _, stderr = run("report", FLEET, "--usage", str(usage), "--format", "csv", "-o", f"{tmp_path}/")
    assert code == 1
    expected = f"{usage}: is the --usage file this command reads ({usage}); write the output to another file."
    assert stderr == f"costcalc: error: {expected}\n"
    assert usage.read_text(encoding="utf-8") == Path(USAGE).read_text(encoding="utf-8")
    assert [p.name for p in tmp_path.iterdir()] == ["groups.csv"]  # no other file, no temporary file


def test_a_directory_for_another_format_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "new"
    code, _, stderr = run(*REPORT, "--format", "json", "-o", f"{out}/")
    assert code == 2
    assert (
        stderr
        == f"costcalc: error: -o {out}/: names a directory; only --format csv writes a directory (of CSV files).\n"
    )
    assert not out.exists()


def test_a_failed_report_leaves_no_directory_behind(tmp_path: Path) -> None:
    usage = tmp_path / "usage.csv"
    usage.write_text("repository,pulls_per_month\n*,-1\n", encoding="utf-8")
    out = tmp_path / "reports" / "december"
    code, _, stderr = run("report", FLEET, "--usage", str(usage), "--format", "csv", "-o", f"{out}/")
    assert code == 1 and "pulls_per_month: must be a number >= 0" in stderr
    assert not out.exists()


def test_a_directory_path_that_is_a_file_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "costs"
    out.write_text("not a directory\n", encoding="utf-8")
    code, _, stderr = run(*REPORT, "--format", "csv", "-o", f"{out}/")
    assert code == 1
    assert stderr == f"costcalc: error: {out}: is not a directory; -o names a directory here (it ends with /).\n"
    assert out.read_text(encoding="utf-8") == "not a directory\n"
