"""The xlsx workbook read back with openpyxl: values, number formats, SUM formulas and their values, charts."""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import openpyxl
from openpyxl.worksheet.worksheet import Worksheet
from typer.testing import CliRunner

from costcalc import report as costs
from costcalc.cli.app import app
from costcalc.inventory.file import load
from costcalc.pricing.book_file import load_book
from costcalc.render import json as render_json
from costcalc.render import xlsx as render_xlsx
from costcalc.report import Report
from tests.test_render import EXAMPLES, HOSTILE, example_report, example_report_with_scenarios, example_usage

MONTHLY = "Monthly cost"


def workbooks(data: bytes) -> tuple[openpyxl.Workbook, openpyxl.Workbook]:
    """The workbook as written (formulas) and as a reader sees it without recalculating (cached values)."""
    return openpyxl.load_workbook(io.BytesIO(data)), openpyxl.load_workbook(io.BytesIO(data), data_only=True)


def exact(value: object) -> Decimal:
    """A cell's number as the decimal it was written from (floats round-trip through repr)."""
    assert isinstance(value, int | float), value
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def column(sheet: Worksheet, header: str) -> int:
    headers = [cell.value for cell in sheet[1]]
    return headers.index(header) + 1


def total_row(sheet: Worksheet) -> int:
    rows = [cell.row for cell in sheet["A"] if cell.value == "Total"]
    assert len(rows) == 1
    return rows[0]


def chart_ranges(data: bytes) -> list[list[str]]:
    """The cell ranges each native chart part plots, in part order."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = sorted(n for n in archive.namelist() if re.fullmatch(r"xl/charts/chart\d+\.xml", n))
        return [re.findall(r"<c:f>([^<]+)</c:f>", archive.read(n).decode("utf-8")) for n in names]


def test_repository_sheet_holds_numbers_with_formats_and_sum_totals() -> None:
    report = example_report_with_scenarios()
    data = render_xlsx.render(report)
    formulas, cached = workbooks(data)
    assert formulas.sheetnames == [
        "Summary",
        "Repositories",
        "Teams",
        "Scenarios",
        "Monthly",
        "Price books compared",
        "Assumptions & sources",
    ]
    sheet, values = formulas["Repositories"], cached["Repositories"]
    money_col, tags_col = column(sheet, MONTHLY), column(sheet, "Tags")
    bytes_col = column(sheet, "Attributed bytes")
    for index, row in enumerate(report.rows, start=2):
        assert sheet.cell(index, 1).value == row.name
        cell = sheet.cell(index, money_col)
        assert exact(cell.value) == row.monthly_cost
        assert cell.number_format == '#,##0.00 "USD"'
        assert sheet.cell(index, tags_col).value == row.tags
        assert isinstance(sheet.cell(index, bytes_col).value, int)
        assert sheet.cell(index, bytes_col).number_format == '#,##0 "B"'
    last = total_row(sheet)
    assert last == len(report.rows) + 2
    totals = report.totals
    for header, expected in (
        (MONTHLY, totals.monthly_cost),
        ("Storage cost per month", totals.storage_cost),
        ("Egress cost per month", totals.egress_cost),
        ("Attributed bytes", Decimal(round(totals.storage_bytes))),
    ):
        col = column(sheet, header)
        letter = sheet.cell(1, col).column_letter
        assert sheet.cell(last, col).value == f"=SUM({letter}2:{letter}{last - 1})"
        assert exact(values.cell(last, col).value) == expected
        # a spreadsheet that recalculates shows the same figure
        written = [values.cell(r, col).value for r in range(2, last)]
        assert round(sum(v for v in written if v is not None), 4) == float(expected)
    gib = sheet.cell(2, column(sheet, "Attributed GiB"))
    assert gib.value == f"=F2/{2**30}" and gib.number_format == '#,##0.00 "GiB"'


def test_summary_refers_to_the_totals_and_holds_their_values() -> None:
    report = example_report_with_scenarios()
    formulas, cached = workbooks(render_xlsx.render(report))
    labels = {row[0].value: row[0].row for row in formulas["Summary"].iter_rows(min_col=1, max_col=1)}
    sheet, values = formulas["Summary"], cached["Summary"]
    monthly = labels["Monthly cost"]
    total = len(report.rows) + 2
    assert sheet.cell(monthly, 2).value == f"='Repositories'!$L${total}"
    assert exact(values.cell(monthly, 2).value) == report.totals.monthly_cost
    horizon = labels["Cost over 12 months"]
    # the horizon is the Monthly sheet's total: the sum of the months, each grown and priced
    assert sheet.cell(horizon, 2).value == f"='Monthly'!$E${len(report.monthly) + 2}"
    assert exact(values.cell(horizon, 2).value) == report.totals.horizon_cost
    months = formulas["Monthly"]
    assert months.cell(len(report.monthly) + 2, 5).value == f"=SUM(E2:E{len(report.monthly) + 1})"
    column = [exact(cached["Monthly"].cell(row, 5).value) for row in range(2, len(report.monthly) + 2)]
    assert column == [m.monthly_cost for m in report.monthly] and sum(column) == report.totals.horizon_cost
    assert values.cell(labels["Price book"], 2).value.startswith("aws-ecr (")
    assert values.cell(labels["Scanned at (UTC)"], 2).value == report.scanned_at.replace(tzinfo=None)  # type: ignore[union-attr]
    assert values.cell(labels["Generated at (UTC)"], 2).value == report.generated_at.replace(tzinfo=None)  # type: ignore[union-attr]
    for scenario in report.scenarios:
        assert exact(values.cell(labels[scenario.id], 2).value) == scenario.monthly_savings
    assert "Egress is a lower bound: some repositories have no pull data." in labels


def test_teams_that_differ_only_in_case_are_two_rows_each_with_its_own_figures() -> None:
    report = example_report_with_scenarios()
    teams = Counter(r.team for r in report.rows if r.team)
    team = next(name for name, count in teams.items() if count >= 2)
    first = next(r for r in report.rows if r.team == team)
    renamed = {first.name: team.upper()}  # one repository of the team moves to its upper-case twin
    rows = tuple(r.model_copy(update={"team": renamed.get(r.name, r.team)}) for r in report.rows)
    report = report.model_copy(update={"rows": rows})
    formulas, cached = workbooks(render_xlsx.render(report))
    sheet, values = formulas["Teams"], cached["Teams"]
    col = column(sheet, MONTHLY)
    shown = {sheet.cell(r, 1).value: r for r in range(2, total_row(sheet))}
    for name in (team, team.upper()):
        expected = sum((row.monthly_cost for row in rows if row.team == name), Decimal(0))
        assert expected and exact(values.cell(shown[name], col).value) == expected
        assert f"EXACT('Repositories'!$B$2:$B${len(rows) + 1},$A{shown[name]})" in sheet.cell(shown[name], col).value


def test_teams_sheet_sums_each_team_and_the_total() -> None:
    report = example_report_with_scenarios()
    formulas, cached = workbooks(render_xlsx.render(report))
    sheet, values = formulas["Teams"], cached["Teams"]
    last = total_row(sheet)
    teams = {r.team or "(no team)" for r in report.rows}
    assert {sheet.cell(r, 1).value for r in range(2, last)} == teams
    col = column(sheet, MONTHLY)
    for r in range(2, last):
        team = sheet.cell(r, 1).value
        # EXACT, not `=`: Excel's `=` ignores case, and "Web" and "web" are two teams
        assert str(sheet.cell(r, col).value).startswith("=SUMPRODUCT(--EXACT('Repositories'!$B$2:")
        expected = sum((row.monthly_cost for row in report.rows if (row.team or "(no team)") == team), Decimal(0))
        assert exact(values.cell(r, col).value) == expected
    assert exact(values.cell(last, col).value) == report.totals.monthly_cost


def test_scenarios_price_books_and_every_note() -> None:
    report = example_report_with_scenarios()
    assert report.pricing.notes
    formulas, cached = workbooks(render_xlsx.render(report))
    scenarios = cached["Scenarios"]
    for index, s in enumerate(report.scenarios, start=2):
        assert scenarios.cell(index, 1).value == s.id
        assert exact(scenarios.cell(index, column(scenarios, "Monthly savings")).value) == s.monthly_savings
        assert scenarios.cell(index, column(scenarios, "Bytes freed")).number_format == '#,##0 "B"'
    books = formulas["Price books compared"]
    assert books.cell(2, 1).value == "aws-ecr"
    # the months grow: the horizon is their sum, a number (monthly x months would be wrong)
    assert exact(books.cell(2, column(books, "Horizon cost")).value) == report.totals.horizon_cost
    texts = [row[2] for row in cached["Assumptions & sources"].iter_rows(min_row=2, values_only=True)]
    for expected in (*report.pricing.notes, *report.pricing.sources, *report.assumptions, *report.warnings):
        assert expected in texts


def test_charts_plot_cost_by_team_and_savings_by_scenario() -> None:
    report = example_report_with_scenarios()
    teams = len({r.team for r in report.rows})
    assert chart_ranges(render_xlsx.render(report)) == [
        [f"Teams!$A$2:$A${teams + 1}", f"Teams!$E$2:$E${teams + 1}"],
        [f"Scenarios!$A$2:$A${len(report.scenarios) + 1}", f"Scenarios!$F$2:$F${len(report.scenarios) + 1}"],
        # the monthly costs over the horizon: the baseline (E), then each scenario (F, G, H)
        [
            ref
            for col in "EFGH"[: 1 + len(report.scenarios)]
            for ref in (
                f"Monthly!${col}$1",
                f"Monthly!$A$2:$A${len(report.monthly) + 1}",
                f"Monthly!${col}$2:${col}${len(report.monthly) + 1}",
            )
        ],
    ]


def test_grouped_by_team_the_chart_plots_the_group_sheet() -> None:
    book = load_book("aws-ecr")
    quantities = costs.measure(load(EXAMPLES / "fleet.json"), example_usage(), book)
    report = costs.price(quantities, book, group_by="team")
    data = render_xlsx.render(report)
    formulas, cached = workbooks(data)
    assert "Scenarios" not in formulas.sheetnames and formulas.sheetnames.count("Teams") == 1
    last = total_row(formulas["Teams"])
    assert exact(cached["Teams"].cell(last, column(formulas["Teams"], MONTHLY)).value) == report.totals.monthly_cost
    rows = min(len(report.rows), render_xlsx.CHART_ROWS) + 1
    assert chart_ranges(data) == [[f"Teams!$A$2:$A${rows}", f"Teams!$K$2:$K${rows}"]]


def test_compared_books_each_get_a_row_and_their_notes(tmp_path: Path) -> None:
    inventory = load(EXAMPLES / "fleet.json")
    books = [load_book("aws-ecr"), load_book("gcp-artifact-registry")]
    priced = [
        costs.price(costs.measure(inventory, example_usage(), b, substitute_classes=i > 0), b)
        for i, b in enumerate(books)
    ]
    report = costs.compare(priced[0], priced[1:])
    _, cached = workbooks(render_xlsx.render(report))
    books_sheet = cached["Price books compared"]
    assert [books_sheet.cell(r, 1).value for r in (2, 3)] == ["aws-ecr", "gcp-artifact-registry"]
    assert exact(books_sheet.cell(3, column(books_sheet, MONTHLY)).value) == report.comparison[0].totals.monthly_cost
    notes = cached["Assumptions & sources"]
    texts = [(row[1], row[2]) for row in notes.iter_rows(min_row=2, values_only=True)]
    assert all(("gcp-artifact-registry", n) in texts for n in report.comparison[0].pricing.notes)


def test_hostile_names_are_text_never_formulas(tmp_path: Path) -> None:
    report: Report = example_report()
    rows = (report.rows[0].model_copy(update={"name": HOSTILE, "team": "=1+1"}), *report.rows[1:])
    formulas, _ = workbooks(render_xlsx.render(report.model_copy(update={"rows": rows})))
    name, team = formulas["Repositories"]["A2"], formulas["Repositories"]["B2"]
    assert name.data_type == "s" and name.value.startswith('=HYPERLINK("http://x")\\x1b[31m<script>')
    assert team.data_type == "s" and team.value == "=1+1"


def test_cli_writes_the_workbook_atomically_and_refuses_nothing_else(tmp_path: Path) -> None:
    target = tmp_path / "report.xlsx"
    args = ["report", str(EXAMPLES / "fleet.json"), "--usage", str(EXAMPLES / "usage.csv"), "--format", "xlsx"]
    result = CliRunner().invoke(app, [*args, "-o", str(target), "-q"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.xlsx"]  # no temporary file left
    _, cached = workbooks(target.read_bytes())
    assert cached["Summary"]["A1"].value == "Registry cost: registry.example.com/acme"
    piped = CliRunner().invoke(app, [*args, "-q"])
    assert piped.exit_code == 0 and piped.stdout_bytes.startswith(b"PK\x03\x04")
    missing = tmp_path / "no-such-dir" / "r.xlsx"
    failed = CliRunner().invoke(app, [*args, "-o", str(missing)])
    assert failed.exit_code == 1
    assert failed.stderr.strip().endswith(
        f"costcalc: error: {missing}: cannot write the file (No such file or directory)."
    )


def test_grouped_by_namespace_the_sheet_is_named_for_it() -> None:
    book = load_book("aws-ecr")
    report = costs.price(
        costs.measure(load(EXAMPLES / "fleet.json"), example_usage(), book), book, group_by="namespace"
    )
    data = render_xlsx.render(report)
    formulas, cached = workbooks(data)
    assert formulas.sheetnames[:2] == ["Summary", "Namespaces"] and "Teams" not in formulas.sheetnames
    sheet = formulas["Namespaces"]
    names = [sheet.cell(r, 1).value for r in range(2, total_row(sheet))]
    assert names == [r.name for r in report.rows]
    teams = [sheet.cell(r, 2).value for r in range(2, total_row(sheet))]
    assert teams == [r.team for r in report.rows]  # a namespace of several teams shows none, not "(no team)"
    last = total_row(sheet)
    assert exact(cached["Namespaces"].cell(last, column(sheet, MONTHLY)).value) == report.totals.monthly_cost
    assert chart_ranges(data)[0][0] == f"Namespaces!$A$2:$A${len(report.rows) + 1}"


def test_the_same_report_gives_the_same_file() -> None:
    report = example_report_with_scenarios()
    assert render_xlsx.render(report) == render_xlsx.render(report)
    later = report.model_copy(update={"generated_at": report.generated_at.replace(year=2027)})  # type: ignore[union-attr]
    assert render_xlsx.render(later) != render_xlsx.render(report)


def test_an_empty_namespace_gives_a_workbook_without_charts() -> None:
    report = example_report().model_copy(update={"rows": ()})
    report = report.model_copy(update={"totals": report.totals.model_copy(update={"monthly_cost": Decimal(0)})})
    data = render_xlsx.render(report)
    formulas, cached = workbooks(data)
    assert chart_ranges(data) == [] and "Teams" not in formulas.sheetnames
    assert total_row(formulas["Repositories"]) == 2
    assert cached["Repositories"].cell(2, column(formulas["Repositories"], MONTHLY)).value == 0


def test_the_example_workbook_golden(golden: Callable[[str, str], None]) -> None:
    """Every sheet's cells (values, formulas and number formats) and every chart's ranges, as text."""
    data = render_xlsx.render(example_report_with_scenarios())
    formulas, _ = workbooks(data)
    lines = []
    for sheet in formulas.worksheets:
        lines.append(f"== {sheet.title}")
        for row in sheet.iter_rows():
            for cell in row:
                if cell.value is not None:
                    lines.append(f"{cell.coordinate}: {cell.value!r} [{cell.number_format}]")
    lines += [f"chart: {', '.join(ranges)}" for ranges in chart_ranges(data)]
    golden("example-report-scenarios.xlsx.txt", "\n".join(lines) + "\n")


def test_a_months_half_byte_of_storage_rounds_half_up_as_in_json() -> None:
    """A month's storage is the mean of its start and end, so half a byte is ordinary."""
    report = example_report_with_scenarios()
    half = report.monthly[0].model_copy(update={"storage_bytes": Decimal("1000000000.5")})
    report = report.model_copy(update={"monthly": (half, *report.monthly[1:])})
    _, cached = workbooks(render_xlsx.render(report))
    assert cached["Monthly"].cell(2, 2).value == 1000000001
    assert json.loads(render_json.render(report))["monthly"][0]["storage_bytes"] == 1000000001
