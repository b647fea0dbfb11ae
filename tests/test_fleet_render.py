"""Every report format shows a fleet's registries, price books and inputs, with the report's figures."""

from __future__ import annotations

import csv
import html as html_lib
import io
import json
import re
from datetime import timedelta
from decimal import Decimal

import openpyxl
import pytest

from costcalc.render import csv as render_csv
from costcalc.render import html as render_html
from costcalc.render import json as render_json
from costcalc.render import markdown as render_markdown
from costcalc.render import table as render_table
from costcalc.render import xlsx as render_xlsx
from costcalc.render.display import money
from costcalc.report import Report
from tests.fleet_example import fleet_report
from tests.test_render import example_report


@pytest.fixture(scope="module")
def fleet() -> Report:
    return fleet_report()


def section(text: str, title: str) -> str:
    """The lines of the table section TITLE: from its heading to the next blank-line-led heading."""
    start = text.index(f"\n{title}\n")
    end = text.find("\n\n", text.index("Total", start))
    return text[start:end]


def test_the_report_holds_what_the_sections_show(fleet: Report) -> None:
    # the sections are only worth printing if the registries do add up to the report
    assert len(fleet.registries) == 2 and len(fleet.price_books) == 2 and len(fleet.inputs) == 2
    assert sum(r.monthly_cost for r in fleet.registries) == fleet.totals.monthly_cost
    assert sum(r.storage_bytes for r in fleet.registries) == fleet.totals.storage_bytes
    assert sum(b.horizon_cost for b in fleet.price_books) == fleet.totals.horizon_cost


def test_table_shows_registries_books_and_inputs_after_the_costs_before_the_rows(fleet: Report, golden) -> None:
    text = render_table.render(fleet, width=120, top=5)
    golden("fleet-report.txt", text)
    order = [
        text.index(f"\n{t}") for t in ("Costs", "Registries, USD", "Price books, USD", "Inputs", "Repository costs")
    ]
    assert order == sorted(order)
    registries = section(text, "Registries, USD")
    for r in fleet.registries:
        line = next(line for line in registries.splitlines() if line.startswith(r.registry))
        assert money(r.monthly_cost) in line and money(r.storage_cost) in line
    total = next(line for line in registries.splitlines() if line.startswith("Total"))
    assert money(fleet.totals.monthly_cost) in total and money(fleet.totals.horizon_cost) in total
    books = section(text, "Price books, USD")
    assert "github-packages   2026-11-01   ghcr.io" in books and "aws-ecr" in books
    # several books: the header names each with its registries, never the summary as one book
    header = text[: text.index("\nInventory")]
    assert "ghcr.io: github-packages (" in header and "registry.example.com: aws-ecr (" in header
    assert "github-packages+aws-ecr" not in header and "USD (every book)" in header
    # each book's caveats under its own id, and each book's sources with its effective date
    assert "aws-ecr: AWS bills in 'GB'" in text and "github-packages+aws-ecr:" not in text
    words = " ".join(text.split())
    assert "Prices of github-packages (effective 2026-11-01) from https://docs.github.com" in words
    assert "Prices of aws-ecr (effective 2026-11-01) from https://aws.amazon.com/ecr/pricing/" in words


def test_a_narrow_table_keeps_the_money_of_every_registry(fleet: Report) -> None:
    text = render_table.render(fleet, width=80)
    registries = section(text, "Registries, USD")
    assert all(len(line) <= 80 for line in registries.splitlines())
    for r in fleet.registries:
        assert money(r.monthly_cost) in registries
    assert "Not shown at 80 columns: Tags, Repos" in registries


def test_a_stale_input_is_marked_in_every_human_format() -> None:
    report = fleet_report(max_age=timedelta(days=8), ghcr_scanned_days_ago=30)
    stale = [given.source for given in report.inputs if given.stale]
    assert stale == ["ghcr.json"]
    inputs = section(render_table.render(report, width=120) + "\nTotal\n\n", "Inputs")
    ghcr_line = next(line for line in inputs.splitlines() if line.startswith("ghcr.json"))
    fresh_line = next(line for line in inputs.splitlines() if line.startswith("examples/fleet.json"))
    assert ghcr_line.rstrip().endswith("STALE") and "STALE" not in fresh_line
    markdown = render_markdown.render(report)
    assert re.search(r"^\| ghcr\.json \|.*\| STALE \|$", markdown, re.MULTILINE)
    assert "<td class=n>STALE</td>" in render_html.render(report)
    inputs = {given["source"]: given for given in json.loads(render_json.render(report))["inputs"]}
    assert inputs["ghcr.json"]["stale"] is True and inputs["examples/fleet.json"]["stale"] is False


def test_markdown_has_the_sections_with_the_totals(fleet: Report, golden) -> None:
    text = render_markdown.render(fleet, top=5)
    golden("fleet-report.md", text)
    assert text.index("## Registries, USD") < text.index("## Price books, USD") < text.index("## Inputs")
    assert text.index("## Inputs") < text.index("## By repository")
    totals = fleet.totals
    assert (
        f"| **Total** | **58** | **900** | **39.31 GB** | **{money(totals.storage_cost)}** "
        f"| **{money(totals.egress_cost)} +** | **{money(totals.monthly_cost)} +** |" in text
    )
    assert "ghcr.io on **github-packages**" in text and "registry.example.com on **aws-ecr**" in text


def test_html_has_the_sections_a_registry_chart_and_each_books_sources(fleet: Report) -> None:
    page = render_html.render(fleet)
    for title in ("Registries, USD", "Price books, USD", "Inputs"):
        assert f"<caption>{title}</caption>" in page
    foot = re.search(r"<caption>Registries, USD</caption>.*?<tfoot>(.*?)</tfoot>", page).group(1)
    assert f"<th class=n>{money(fleet.totals.monthly_cost)} +</th>" in foot
    chart = re.search(r'<figure class="chart" id="chart-cost-registries">(.*?)</figure>', page).group(1)
    labels = re.findall(r'<span class="label">([^<]*)</span>', chart)
    assert labels == ["registry.example.com", "ghcr.io"]  # largest first
    assert "<h2>Price book aws-ecr: notes and sources</h2>" in page
    assert "<h2>Price book github-packages: notes and sources</h2>" in page
    assert "github-packages+aws-ecr" not in html_lib.unescape(page.split("</h1>", 1)[1].split("</p>", 1)[0])


def test_json_has_registries_books_and_inputs_that_add_up_to_the_totals(fleet: Report) -> None:
    data = json.loads(render_json.render(fleet), parse_float=Decimal)
    assert data["schema_version"] == 2
    registries, books, inputs = data["registries"], data["price_books"], data["inputs"]
    assert [r["registry"] for r in registries] == ["ghcr.io", "registry.example.com"]
    assert [r["pricing_id"] for r in registries] == ["github-packages", "aws-ecr"]
    for key in ("storage_cost", "egress_cost", "monthly_cost", "horizon_cost"):
        assert sum(r[key] for r in registries) == data["totals"][key]
        assert sum(b[key] for b in books) == data["totals"][key]
    assert sum(r["storage_bytes"] for r in registries) == data["totals"]["storage_bytes"]
    assert all(isinstance(r["storage_bytes"], int) for r in registries)
    assert [b["pricing"]["id"] for b in books] == ["github-packages", "aws-ecr"]
    assert books[1]["pricing"]["sources"][0] == "https://aws.amazon.com/ecr/pricing/"
    assert [b["registries"] for b in books] == [["ghcr.io"], ["registry.example.com"]]
    assert next(given for given in inputs if given["source"] == "examples/fleet.json") == {
        "source": "examples/fleet.json",
        "registry": "registry.example.com",
        "namespace": "acme",
        "scanned_at": "2026-11-20T06:00:00Z",
        "repositories": 29,
        "tags": 450,
        "errors": 0,
        "stale": False,
    }


def test_a_one_inventory_json_report_has_no_fleet_keys() -> None:
    data = json.loads(render_json.render(example_report()))
    assert not {"registries", "price_books", "inputs"} & set(data)


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_files_list_registries_inputs_and_each_book_with_its_registries(fleet: Report) -> None:
    files = render_csv.render_files(fleet)
    assert set(files) == set(render_csv.FILES)
    registries = rows(files["registries.csv"])
    assert [r["registry"] for r in registries] == ["ghcr.io", "registry.example.com"]
    assert sum(Decimal(r["monthly_cost_usd"]) for r in registries) == fleet.totals.monthly_cost
    assert sum(int(r["storage_bytes"]) for r in registries) == fleet.totals.storage_bytes
    books = rows(files["price_books.csv"])
    assert [(b["pricing_id"], b["primary"], b["registries"]) for b in books] == [
        ("github-packages", "true", "ghcr.io"),
        ("aws-ecr", "true", "registry.example.com"),
    ]
    assert sum(Decimal(b["horizon_cost"]) for b in books) == fleet.totals.horizon_cost
    assert books[1]["unit"] == "GiB" and int(books[1]["egress_bytes"]) > 0
    # each book's bytes rounded on their own: within half a byte of its exact share
    assert abs(sum(int(b["egress_bytes"]) for b in books) - fleet.totals.egress_bytes) <= Decimal(len(books)) / 2
    inputs = rows(files["inputs.csv"])
    assert sorted((i["source"], i["registry"], i["errors"], i["stale"]) for i in inputs) == [
        ("examples/fleet.json", "registry.example.com", "0", "false"),
        ("ghcr.json", "ghcr.io", "0", "false"),
    ]


def test_a_one_inventory_report_gets_its_one_registry_and_input_not_empty_files() -> None:
    report = example_report()
    files = render_csv.render_files(report)
    (registry,) = rows(files["registries.csv"])
    assert registry["registry"] == "registry.example.com" and registry["pricing_id"] == "aws-ecr"
    assert Decimal(registry["monthly_cost_usd"]) == report.totals.monthly_cost
    (given,) = rows(files["inputs.csv"])
    assert given["source"] == "examples/fleet.json" and given["tags"] == "450"
    assert given["errors"] == "" and given["stale"] == ""  # not recorded for one inventory: unknown
    assert "registries" not in rows(files["price_books.csv"])[0]


def test_xlsx_fleet_sheet_sums_with_formulas_to_the_reports_totals(fleet: Report, tmp_path) -> None:
    data = render_xlsx.render(fleet)
    formulas = openpyxl.load_workbook(io.BytesIO(data))
    cached = openpyxl.load_workbook(io.BytesIO(data), data_only=True)
    assert formulas.sheetnames[:3] == ["Summary", "Fleet", "Repositories"]
    sheet, values = formulas["Fleet"], cached["Fleet"]
    header = [c.value for c in sheet[1]]
    monthly = header.index("Monthly cost") + 1
    assert [sheet.cell(r, 1).value for r in (2, 3, 4)] == ["ghcr.io", "registry.example.com", "Total"]
    assert sheet.cell(4, monthly).value == "=SUM(J2:J3)"
    assert Decimal(str(values.cell(4, monthly).value)) == fleet.totals.monthly_cost
    stored = header.index("Stored bytes") + 1
    assert values.cell(4, stored).value == fleet.totals.storage_bytes
    # the books: SUMPRODUCT over the registries priced on each, and their total
    labels = [sheet.cell(r, 1).value for r in range(1, sheet.max_row + 1)]
    first_book = labels.index("Price books") + 3
    assert labels[first_book - 1].startswith("github-packages (")
    book_monthly = [c.value for c in sheet[first_book - 1]].index("Monthly cost") + 1
    assert sheet.cell(first_book, book_monthly).value == '=SUMPRODUCT(--EXACT($C$2:$C$3,"github-packages"),$J$2:$J$3)'
    book_values = [Decimal(str(values.cell(first_book + i, book_monthly).value)) for i in range(2)]
    assert book_values == [b.monthly_cost for b in fleet.price_books]
    assert sheet.cell(first_book + 2, 1).value == "Total"
    # the inputs with their scan times
    first_input = labels.index("Inputs") + 3
    sources = sorted(sheet.cell(first_input + i, 1).value for i in range(2))
    assert sources == ["examples/fleet.json", "ghcr.json"]
    summary = [row for row in cached["Summary"].iter_rows(max_col=2, values_only=True) if row[0]]
    assert ("Price book of ghcr.io", next(v for k, v in summary if k == "Price book of ghcr.io")) in summary
    assert not any(k == "Price book" for k, _ in summary)


def test_a_one_inventory_workbook_has_no_fleet_sheet() -> None:
    workbook = openpyxl.load_workbook(io.BytesIO(render_xlsx.render(example_report())))
    assert "Fleet" not in workbook.sheetnames
