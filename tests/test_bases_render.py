"""The "Base images" section of the example report, in every format (goldens), and its figures."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from costcalc.inventory.file import load
from costcalc.pricing.book_file import load_book
from costcalc.render import Layout, render
from costcalc.report import Report, measure
from costcalc.report.bases import base_rows
from tests.test_render import EXAMPLES, example_report, example_usage


def example_with_bases() -> Report:
    book = load_book("aws-ecr")
    inventory = load(EXAMPLES / "fleet.json")
    bases = base_rows(inventory, measure(inventory, example_usage(), book), book)
    return example_report().model_copy(update={"bases": bases})


def test_the_example_fleets_bases_are_prefixes_its_repositories_share() -> None:
    report = example_with_bases()
    assert report.bases, "the example fleet's Node.js and Python services share base layers"
    inventory = load(EXAMPLES / "fleet.json")
    stored = inventory.figures.per_repository_unique_bytes  # aws-ecr stores a layer in each repository
    for base in report.bases:
        assert base.origin == "shared" and len(base.repositories) >= 2
        assert base.stored_share_pct == Decimal(base.stored_bytes) / stored * 100
        assert base.egress_share_pct is not None and 0 <= base.egress_share_pct <= 100
    # a repository's pulled image counts under one base at most
    assert sum((b.egress_share_pct or Decimal(0) for b in report.bases), Decimal(0)) <= 100


def test_example_bases_goldens(golden: Callable[[str, str], None]) -> None:
    report = example_with_bases()
    for name, output_format in (("txt", "table"), ("md", "markdown"), ("html", "html"), ("json", "json")):
        document = render(report, output_format, Layout(width=120))
        assert isinstance(document, str)
        golden(f"example-report-bases.{name}", document)


def test_the_workbook_has_a_base_images_sheet_of_numbers() -> None:
    import io

    import openpyxl

    from costcalc.render import xlsx

    report = example_with_bases()
    workbook = openpyxl.load_workbook(io.BytesIO(xlsx.render(report)))
    assert "Base images" in workbook.sheetnames
    sheet = workbook["Base images"]
    header = [cell.value for cell in sheet[1]]
    assert header[:5] == ["Base", "Found as", "Top layer", "Layers", "Size"]
    first = report.bases[0]
    row = [cell.value for cell in sheet[2]]
    assert row[0] == first.name and row[2] == first.top_layer
    assert (row[4], row[5]) == (first.size_bytes, first.stored_bytes)
    assert row[9] == ", ".join(first.repositories) and row[10] == len(first.versions)
    assert sheet.max_row == len(report.bases) + 1


def test_the_csv_directory_has_a_base_images_file(golden: Callable[[str, str], None]) -> None:
    import csv
    import io

    from costcalc.render.csv import BASES, render_files

    report = example_with_bases()
    text = render_files(report)[BASES]
    golden("example-report-bases.csv", text)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [row["base"] for row in rows] == [base.name for base in report.bases]
    assert [int(row["stored_bytes"]) for row in rows] == [base.stored_bytes for base in report.bases]
    assert all(
        row["repositories"].split(";") == list(base.repositories) for row, base in zip(rows, report.bases, strict=True)
    )
