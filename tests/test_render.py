"""Renderers over one finished Report: goldens of the example report, exact numbers, safe text."""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import html as html_lib
import io
import json
import re
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from costcalc import report as costs
from costcalc.inventory.file import load
from costcalc.pricing.book_file import load_book
from costcalc.render import csv as render_csv
from costcalc.render import display
from costcalc.render import html as render_html
from costcalc.render import json as render_json
from costcalc.render import markdown as render_markdown
from costcalc.render import table as render_table
from costcalc.report import Report, ScenarioResult, ScenarioRow, VersionBytes
from costcalc.scenarios.spec import Scenario
from costcalc.usage.file import Usage, load_usage
from tests.test_costs import fleet_inventory, usage, write_book

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PINNED = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
HOSTILE = '=HYPERLINK("http://x")\x1b[31m<script>|*_</script>\r\nrow'


def example_usage() -> Usage:
    """examples/usage.csv read by its repository-relative name, as the README's command does.

    Warnings quote the usage file's name; an absolute path would tie the goldens to one checkout.
    """
    with contextlib.chdir(EXAMPLES.parent):
        return load_usage(Path("examples/usage.csv"))


def example_report() -> Report:
    """The README's report: examples/fleet.json + examples/usage.csv on aws-ecr, time pinned."""
    return _example(())


def _example(wanted: Sequence[Scenario], keep: Sequence[str] = ()) -> Report:
    book = load_book("aws-ecr")
    inventory = load(EXAMPLES / "fleet.json")
    report = costs.build(
        inventory,
        example_usage(),
        [book],
        scenarios=wanted,
        keep=keep,
        source="examples/fleet.json",
        generated_at=PINNED,
    )
    # pinned so that a release does not change the goldens; the base images have goldens of their own
    return report.model_copy(update={"usage_source": "examples/usage.csv", "tool_version": "0.0.0+golden", "bases": ()})


def scenario(savings: str = "1.5") -> ScenarioResult:
    return ScenarioResult(
        id="alpine",
        description="Images shrink to 186 MB",
        pricing_id="test-book",
        baseline_monthly_cost=Decimal(10),
        monthly_cost=Decimal(10) - Decimal(savings),
        monthly_savings=Decimal(savings),
        horizon_savings=Decimal(savings) * 12,
        savings_pct=Decimal(savings) * 10,
        bytes_freed=Decimal(3 * 2**30),
        assumptions=("186 MB is a typical size.",),
        rows=(
            ScenarioRow(
                repository="acme/api",
                baseline_monthly_cost=Decimal(10),
                monthly_cost=Decimal(10) - Decimal(savings),
                monthly_savings=Decimal(savings),
            ),
        ),
    )


def small_report(tmp_path: Path, **update: object) -> Report:
    book = write_book(tmp_path)
    q = costs.measure(fleet_inventory(), usage("acme/api,red,internet,7,,,\n"), book)
    report = costs.price(q, book, source="inv.json", generated_at=PINNED)
    return report.model_copy(update=update)


def test_example_table_golden(golden: Callable[[str, str], None]) -> None:
    golden("example-report.txt", render_table.render(example_report(), width=120, color=False))


def test_example_json_golden(golden: Callable[[str, str], None]) -> None:
    golden("example-report.json", render_json.render(example_report()))


def test_example_csv_golden(golden: Callable[[str, str], None]) -> None:
    golden("example-report.csv", render_csv.render(example_report()))


def example_report_with_scenarios() -> Report:
    """The example report with two savings scenarios and their combination."""
    from costcalc.scenarios import spec as scenarios

    return _example([scenarios.parse_spec("alpine"), scenarios.parse_spec("retention:5")], keep=("v*",))


def test_example_with_scenarios_table_golden(golden: Callable[[str, str], None]) -> None:
    text = render_table.render(example_report_with_scenarios(), width=120, color=False, top=10)
    golden("example-report-scenarios.txt", text)


def test_example_with_scenarios_json_golden(golden: Callable[[str, str], None]) -> None:
    golden("example-report-scenarios.json", render_json.render(example_report_with_scenarios()))


@pytest.mark.parametrize("name", ["scenarios.csv", "monthly.csv", "price_books.csv", "notes.csv"])
def test_example_with_scenarios_csv_files_golden(golden: Callable[[str, str], None], name: str) -> None:
    """The CSV files of `-o DIRECTORY` beside the group rows (versions.csv is checked in its own test)."""
    golden(f"example-report-scenarios-{name}", render_csv.render_files(example_report_with_scenarios())[name])


def test_example_report_figures_reconcile() -> None:
    report = example_report()
    assert sum(r.monthly_cost for r in report.rows) == report.totals.monthly_cost
    assert sum(r.attributed_bytes for r in report.rows) == report.totals.storage_bytes
    data = json.loads(render_json.render(report), parse_float=Decimal)
    assert data["totals"]["egress_complete"] is False
    assert any("acme/data/legacy-batch: no pull data" in w for w in data["warnings"])


def test_json_money_is_exact_with_four_places(tmp_path: Path) -> None:
    report = small_report(tmp_path)
    odd = report.totals.model_copy(
        update={
            "storage_cost": Decimal("0.1") + Decimal("0.2"),
            "monthly_cost": Decimal("1234567.123456789"),
            "egress_cost": Decimal("-0.00001"),
        }
    )
    text = render_json.render(report.model_copy(update={"totals": odd}))
    assert '"storage_cost": 0.3000,' in text
    assert '"monthly_cost": 1234567.1235,' in text
    assert '"egress_cost": 0.0000,' in text  # never "-0.0000"
    assert "e-" not in text.lower().replace("generated", "").replace("scenarios", "")
    # every number parses back to the exact decimal written
    data = json.loads(text, parse_float=Decimal)
    assert data["totals"]["storage_cost"] == Decimal("0.3000")


def test_json_cannot_write_floats() -> None:
    with pytest.raises(TypeError):
        render_json.dump({"x": 0.1 + 0.2})


def test_json_dump_writes_what_json_dumps_writes() -> None:
    # the fast writer is byte for byte json.dumps(indent=2), Number literals aside
    value = {
        "a": [1, -2, True, False, None, 'é\u2028\x00"\\', [], {}, [[]], {"k": {}}],
        "": {"nested": [{"x": "y", "n": 10**30}, ("t", 1)]},
        "\ud83d\ude00 key": [],
    }
    assert render_json.dump(value) == json.dumps(value, indent=2)
    deep: list[object] = []
    for _ in range(40):  # deeper than the precomputed indentation
        deep = [deep, 1]
    assert render_json.dump(deep) == json.dumps(deep, indent=2)
    assert render_json.dump({"m": render_json.Number("1.5000"), "l": [render_json.Number("-0.0001")]}) == (
        '{\n  "m": 1.5000,\n  "l": [\n    -0.0001\n  ]\n}'
    )


def test_unknown_egress_is_null_in_json_and_unknown_for_people(tmp_path: Path) -> None:
    report = small_report(tmp_path)
    rows = {r["name"]: r for r in json.loads(render_json.render(report))["rows"]}
    assert rows["acme/web"]["egress_cost"] is None and rows["acme/web"]["pulls_per_month"] is None
    assert rows["acme/api"]["egress_cost"] is not None
    table = render_table.render(report, width=120)
    web_line = next(line for line in table.splitlines() if line.startswith("acme/web"))
    assert "unknown" in web_line and "0.00" not in web_line.split("unknown")[-2:][0][-6:]
    assert "Egress (lower bound)" in table
    assert "| unknown |" in render_markdown.render(report)
    assert "<td class=n>unknown</td>" in render_html.render(report)
    csv_rows = {r["name"]: r for r in csv.DictReader(io.StringIO(render_csv.render(report)))}
    web = csv_rows["acme/web"]
    assert (web["egress_cost_usd"], web["egress_bytes"], web["pulls_per_month"]) == ("", "", "")
    assert (web["egress_known"], web["egress_partial"]) == ("false", "true")


def test_csv_columns_and_formula_neutralisation(tmp_path: Path) -> None:
    report = small_report(tmp_path)
    hostile = report.rows[0].model_copy(update={"name": HOSTILE, "team": "-2+3", "repositories": ("x",)})
    text = render_csv.render(report.model_copy(update={"rows": (hostile, *report.rows[1:])}))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == list(render_csv.group_columns("USD"))
    assert rows[0]["name"].startswith("'=HYPERLINK")
    assert "\x1b" not in text and "\\x1b" in rows[0]["name"]
    assert "\\x0d\\x0arow" in rows[0]["name"]  # no raw CR/LF inside a cell
    assert rows[0]["team"] == "'-2+3"
    assert {r["currency"] for r in rows} == {"USD"} and {r["pricing_id"] for r in rows} == {"test-book"}
    assert sum(Decimal(r["monthly_cost_usd"]) for r in rows) == report.totals.monthly_cost.quantize(Decimal("0.0001"))
    assert all("$" not in r["monthly_cost_usd"] and "," not in r["monthly_cost_usd"] for r in rows)


def test_hostile_names_are_safe_in_every_human_format(tmp_path: Path) -> None:
    report = small_report(tmp_path)
    hostile = report.rows[0].model_copy(update={"name": HOSTILE, "team": "<b>t</b>"})
    report = report.model_copy(update={"rows": (hostile, *report.rows[1:]), "warnings": (HOSTILE,)})
    table = render_table.render(report, width=120)
    assert "\x1b" not in table and "\r" not in table
    markdown = render_markdown.render(report)
    assert "\x1b" not in markdown and "\\|" in markdown and "\\<script\\>" in markdown
    html = render_html.render(report)
    assert "<script>" not in html and "&lt;script&gt;" in html and "<b>t</b>" not in html
    assert "\x1b" not in html


def test_control_characters_never_reach_a_colour_terminal(tmp_path: Path) -> None:
    report = small_report(tmp_path)
    hostile = report.rows[0].model_copy(update={"name": "a\x1b]0;owned\x07b"})
    text = render_table.render(report.model_copy(update={"rows": (hostile,)}), width=120, color=True)
    assert "\x07" not in text and "]0;owned" in text.replace("\\x1b", "")


def test_every_format_shows_scenarios(tmp_path: Path) -> None:
    report = small_report(tmp_path, scenarios=(scenario(),))
    table = render_table.render(report, width=120)
    assert "Savings projections" in table and "alpine" in table and "15.0 %" in table and "3.22 GB" in table
    assert "186 MB is a typical size." in table
    data = json.loads(render_json.render(report), parse_float=Decimal)
    assert data["scenarios"][0]["monthly_savings"] == Decimal("1.5000")
    assert data["scenarios"][0]["horizon_savings"] == Decimal("18.0000")
    assert all("alpine" not in r["name"] for r in csv.DictReader(io.StringIO(render_csv.render(report))))
    scenario_rows = list(csv.DictReader(io.StringIO(render_csv.render_scenarios(report))))
    assert [(r["scenario"], r["monthly_savings_usd"], r["months"], r["bytes_freed"]) for r in scenario_rows] == [
        ("alpine", "1.5000", "12", str(3 * 2**30))
    ]
    assert "## Savings projections" in render_markdown.render(report)
    assert "Savings projections" in render_html.render(report)


def retention_result() -> ScenarioResult:
    """retention:1 dropping 12 versions of 1..12 MB (one with a hostile repository name), keeping one."""
    versions = [
        VersionBytes(
            repository=HOSTILE if n == 7 else "acme/api",
            digest=f"sha256:{n:064x}",
            tags=(f"v{n}", f"sha-{n:07x}"),
            created=datetime(2026, 1, n, tzinfo=UTC) if n != 12 else None,
            exclusive_bytes=n * 10**6,
            dropped=True,
        )
        for n in range(1, 13)
    ]
    kept = VersionBytes(
        repository="acme/api",
        digest="sha256:" + "f" * 64,
        tags=("latest",),
        created=None,
        exclusive_bytes=99 * 10**6,
        dropped=False,
    )
    return scenario().model_copy(update={"id": "retention:1", "versions": (*versions, kept)})


def test_retention_versions_in_every_format(tmp_path: Path) -> None:
    report = small_report(tmp_path, scenarios=(retention_result(),))
    table = render_table.render(report, width=120)
    section = table.split("Largest versions dropped by retention:1")[1].split("\n\n")[0]
    lines = [line for line in section.splitlines()[3:] if line.strip()]
    # the ten largest, largest first; the kept 99 MB version is not a dropped one
    assert lines[0].split()[:4] == ["acme/api", "v12,", "sha-000000c", "unknown"]
    assert "12.00 MB" in lines[0] and "2026-01-11" in lines[1]
    assert lines[-1] == "2 more in JSON output."
    assert len(lines) == 11 and "latest" not in section and "v1," not in section and "v2," not in section
    assert "\x1b" not in table and "\\x1b[31m" in section
    data = json.loads(render_json.render(report))
    versions = data["scenarios"][0]["versions"]
    assert len(versions) == 13 and versions[-1]["dropped"] is False
    assert versions[0] == {
        "repository": "acme/api",
        "digest": f"sha256:{1:064x}",
        "tags": ["v1", "sha-0000001"],
        "created": "2026-01-01T00:00:00Z",
        "exclusive_bytes": 1000000,
        "dropped": True,
    }
    assert versions[6]["repository"] == HOSTILE and versions[11]["created"] is None
    markdown = render_markdown.render(report)
    assert "### Largest versions dropped by retention:1" in markdown
    assert "| acme/api | v12, sha-000000c | unknown | 12.00 MB |" in markdown
    assert "2 more in JSON output." in markdown and "\\<script\\>" in markdown and "\x1b" not in markdown
    html = render_html.render(report)
    assert "<caption>Largest versions dropped by retention:1</caption>" in html
    # the page lists every dropped version: all 12, none left to the JSON output
    dropped_table = html.split("<caption>Largest versions dropped by retention:1</caption>")[1].split("</table>")[0]
    assert dropped_table.count("<tr>") == 1 + 12 and "more in JSON" not in html
    assert "<script>" not in html and "\x1b" not in html
    # CSV: one row per scenario in its file, and every version in the versions file
    rows = list(csv.DictReader(io.StringIO(render_csv.render_scenarios(report))))
    assert [r["scenario"] for r in rows] == ["retention:1"]
    versions = list(csv.DictReader(io.StringIO(render_csv.render_versions(report))))
    assert len(versions) == 13 and sum(v["dropped"] == "true" for v in versions) == 12
    assert {v["scenario"] for v in versions} == {"retention:1"} and "\\x1b" in versions[6]["repository"]


def test_version_rows_are_written_as_the_generic_dump_writes_their_dicts() -> None:
    east = timezone(timedelta(hours=5, minutes=30))
    versions = [
        *retention_result().versions,
        VersionBytes("r", "sha256:" + "a" * 64, (), datetime(2026, 3, 1, 12, 30, 5), 0, False),  # naive
        VersionBytes("r", "sha256:" + "b" * 64, ("x",), datetime(2026, 3, 1, 1, 0, tzinfo=east), 1, True),
        VersionBytes("\u00e9", "sha256:" + "c" * 64, ("t",), datetime(999, 1, 1, tzinfo=UTC), 2, True),
        # times the UTC shortcut must leave alone or read right: a fraction, other zero offsets
        VersionBytes("r", "sha256:" + "d" * 64, ("f",), datetime(2026, 3, 1, 0, 0, 1, 500, tzinfo=UTC), 3, True),
        VersionBytes("r", "sha256:" + "e" * 64, ("z",), datetime(2026, 3, 1, tzinfo=timezone(timedelta(0))), 4, True),
        VersionBytes(
            "r", "sha256:" + "f" * 64, ("s",), datetime(2026, 3, 1, tzinfo=timezone(timedelta(seconds=30))), 5, True
        ),
    ]
    for depth in (0, 3, 40):
        expected = render_json.dump([render_json.version_data(v) for v in versions], depth)
        assert render_json.dump(render_json.VersionRows(versions), depth) == expected
    assert render_json.dump(render_json.VersionRows([])) == "[]"


def test_gos_zero_time_is_written_with_a_four_digit_year_in_every_format(tmp_path: Path) -> None:
    """Go writes 0001-01-01T00:00:00Z for a creation time it never set (reproducible builds)."""
    zero = datetime(1, 1, 1, tzinfo=UTC)
    result = retention_result()
    largest = 11  # the 12 MB version, which the table and Markdown list first
    versions = tuple(dataclasses.replace(v, created=zero) if i == largest else v for i, v in enumerate(result.versions))
    report = small_report(tmp_path, scenarios=(result.model_copy(update={"versions": versions}),))
    assert (
        json.loads(render_json.render(report))["scenarios"][0]["versions"][largest]["created"] == "0001-01-01T00:00:00Z"
    )
    rows = list(csv.DictReader(io.StringIO(render_csv.render_versions(report))))
    assert rows[largest]["created"] == "0001-01-01T00:00:00Z"
    assert "| 0001-01-01 |" in render_markdown.render(report)


def test_combined_lists_only_the_versions_that_differ(tmp_path: Path) -> None:
    """`combined` leaves out each version whose entry is that of the last earlier scenario listing it."""
    alone = retention_result()
    first, *rest = alone.versions
    changed = dataclasses.replace(first, exclusive_bytes=first.exclusive_bytes + 1)
    extra = VersionBytes("acme/web", "sha256:" + "e" * 64, ("v9",), None, 5, True)
    combined = alone.model_copy(update={"id": "combined", "versions": (changed, *rest, extra)})
    report = small_report(tmp_path, scenarios=(scenario(), alone, combined))
    data = json.loads(render_json.render(report))["scenarios"]
    assert [len(s["versions"]) for s in data] == [0, 13, 2]
    assert [(v["digest"], v["exclusive_bytes"]) for v in data[2]["versions"]] == [
        (first.digest, first.exclusive_bytes + 1),
        (extra.digest, 5),
    ]
    # the model keeps combined's whole list: the table's sections are unchanged
    same = alone.model_copy(update={"id": "combined"})
    report = small_report(tmp_path, scenarios=(alone, same))
    assert json.loads(render_json.render(report))["scenarios"][1]["versions"] == []
    assert [sid for sid, _ in report.dropped_version_sections()] == ["retention:1"]


def test_no_dropped_versions_no_section(tmp_path: Path) -> None:
    report = small_report(tmp_path, scenarios=(scenario(),))
    for text in (render_table.render(report), render_markdown.render(report), render_html.render(report)):
        assert "Largest versions dropped" not in text
    assert json.loads(render_json.render(report))["scenarios"][0]["versions"] == []


def test_no_scenarios_no_section(tmp_path: Path) -> None:
    report = small_report(tmp_path)
    assert "Savings projections" not in render_table.render(report)
    assert "Savings projections" not in render_markdown.render(report)
    assert render_csv.render_scenarios(report) == ",".join(render_csv.scenario_columns("USD")) + "\r\n"


def test_table_top_and_width(tmp_path: Path) -> None:
    report = small_report(tmp_path)
    text = render_table.render(report, width=80, top=1)
    assert "Top 1 of 3 by monthly cost" in text
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "\x1b[" not in text  # no colour unless asked


def test_table_rounds_to_two_places(tmp_path: Path) -> None:
    report = small_report(tmp_path)
    totals = report.totals.model_copy(update={"monthly_cost": Decimal("1234.565")})
    text = render_table.render(report.model_copy(update={"totals": totals}), width=120)
    assert "1,234.57" in text


def test_comparison_in_every_format(tmp_path: Path) -> None:
    base = small_report(tmp_path)
    other = write_book(tmp_path, "other-book", scope="repository")
    q = costs.measure(fleet_inventory(), usage("acme/api,red,internet,7,,,\n"), other)
    report = costs.compare(base, [costs.price(q, other)])
    assert "other-book" in render_table.render(report)
    assert json.loads(render_json.render(report))["comparison"][0]["pricing"]["id"] == "other-book"
    assert "other-book" in render_markdown.render(report)
    assert "other-book" in render_html.render(report)


def test_the_example_inventory_is_what_the_generator_writes() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("examples_generate", EXAMPLES / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    assert module.build() == (EXAMPLES / "fleet.json").read_text(encoding="utf-8")


def test_team_grouping_has_one_team_column_and_marks_lower_bounds(tmp_path: Path) -> None:
    book = write_book(tmp_path)
    usage_rows = usage("acme/api,red,internet,7,,,\nacme/web,red,internet,,,,\n")
    q = costs.measure(fleet_inventory(), usage_rows, book)
    report = costs.price(q, book, group_by="team", source="inv.json", generated_at=PINNED)
    # red = api (7 pulls) + web (no pull data): its egress and monthly cost are lower bounds;
    # (no team) = job, with no pull data at all: egress unknown, monthly a lower bound
    markdown = render_markdown.render(report)
    assert "| Team | Tags | Attributed |" in markdown and "| Team | Team |" not in markdown
    red = next(line for line in markdown.splitlines() if line.startswith("| red |"))
    assert red.count(" + |") == 2  # egress and monthly cost
    assert display.LOWER_BOUND_NOTE.split(":")[0] in markdown
    html = render_html.render(report)
    assert "<th>Team</th><th class=n>Tags</th>" in html and "<th>Team</th><th>Team</th>" not in html
    assert "lower bound: some or all of the row" in html
    table = render_table.render(report, width=140)
    job = next(line for line in table.splitlines() if line.startswith("(no team)"))
    assert "unknown" in job and job.rstrip().endswith("+")
    rows = {r["name"]: r for r in csv.DictReader(io.StringIO(render_csv.render(report)))}
    assert (rows["red"]["egress_partial"], rows["red"]["egress_known"]) == ("true", "true")
    assert (rows["(no team)"]["egress_partial"], rows["(no team)"]["egress_known"]) == ("true", "false")
    assert rows["(no team)"]["egress_cost_usd"] == "" and rows["red"]["repositories"] == "2"


def test_egress_total_is_in_the_book_unit_like_its_classes() -> None:
    # examples on aws-ecr (GiB): 1,386.3678 + 188.6238 + 7,772.3099 GiB of egress by class
    report = example_report()
    table = render_table.render(report, width=120)
    # internet egress gets none of AWS's shared free 100 GiB: 100 x 0.09 = 9.00 more than with it
    total_line = next(line for line in table.splitlines() if line.startswith("Egress (lower bound)"))
    assert total_line.split()[-3:] == ["9,347.30", "GiB", "44.70"]
    assert "| Egress (lower bound) | 9,347.30 GiB | 44.70 |" in render_markdown.render(report)


def test_csv_group_file_has_only_group_rows_with_whole_bytes(tmp_path: Path) -> None:
    report = small_report(tmp_path, scenarios=(scenario(),))
    rows = list(csv.DictReader(io.StringIO(render_csv.render(report))))
    assert [r["name"] for r in rows] == [row.name for row in report.rows]
    # SUM over the monthly cost column is the report's monthly total; no scenario row is in the sum
    assert sum(Decimal(r["monthly_cost_usd"]) for r in rows) == report.totals.monthly_cost
    for row in rows:
        for column in ("repositories", "tags", "unique_bytes", "attributed_bytes", "image_bytes", "egress_bytes"):
            assert row[column] == "" or row[column].isdigit(), (column, row[column])


def test_every_format_prints_the_books_caveats_and_the_lower_bound() -> None:
    import openpyxl

    from costcalc.render import xlsx as render_xlsx

    base = example_report()  # acme/data/legacy-batch has no pull data: egress is a lower bound
    r2 = load_book("cloudflare-r2")
    other = costs.price(costs.measure(load(EXAMPLES / "fleet.json"), example_usage(), r2), r2)
    report = costs.compare(base, [other])
    caveats = [("aws-ecr", note) for note in base.pricing.notes] + [("cloudflare-r2", n) for n in r2.notes]
    assert len(caveats) > len(base.pricing.notes) > 0
    workbook = openpyxl.load_workbook(io.BytesIO(render_xlsx.render(report)))
    xlsx_text = "\n".join(
        str(value) for sheet in workbook.worksheets for line in sheet.iter_rows(values_only=True) for value in line
    )
    notes_csv = list(csv.DictReader(io.StringIO(render_csv.render_notes(report))))
    data = json.loads(render_json.render(report))
    texts = {
        "table": render_table.render(report, width=120).replace("\n  ", " "),
        "markdown": re.sub(r"\\(.)", r"\1", render_markdown.render(report)),  # markup escapes undone
        "html": html_lib.unescape(render_html.render(report)),
        "xlsx": xlsx_text,
        "csv": "\n".join(row["text"] for row in notes_csv),
    }
    for name, text in texts.items():
        flat = " ".join(text.split())
        for _, note in caveats:
            assert " ".join(note.split()) in flat, (name, note)
        assert "lower bound" in text, name
    assert data["pricing"]["notes"] == list(base.pricing.notes)
    assert data["comparison"][0]["pricing"]["notes"] == list(r2.notes)
    assert data["totals"]["egress_complete"] is False
    assert {(row["applies_to"], row["text"]) for row in notes_csv if row["kind"] == "Price book note"} == set(caveats)


def test_the_rounding_footnote_appears_only_when_the_rounded_rows_miss_the_total() -> None:
    note = "Rows are rounded one by one"
    report = example_report()
    shown = [display.money(row.monthly_cost) for row in report.rows]
    assert sum(Decimal(cost.replace(",", "")) for cost in shown) != Decimal(
        display.money(report.totals.monthly_cost).replace(",", "")
    )
    assert note in render_table.render(report, width=160)
    cents = [
        row.model_copy(update={"monthly_cost": Decimal(cost.replace(",", ""))})
        for row, cost in zip(report.rows, shown, strict=True)
    ]
    exact = report.totals.model_copy(update={"monthly_cost": sum((r.monthly_cost for r in cents), Decimal(0))})
    assert note not in render_table.render(report.model_copy(update={"rows": cents, "totals": exact}), width=160)
