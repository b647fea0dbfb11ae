"""The group table at a terminal's width: money columns stay, names shorten in the middle, totals come first."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from costcalc.render import table as render_table
from costcalc.render.fit import shorten, shortened
from tests.test_render import example_report


@pytest.mark.parametrize(
    ("name", "width", "expected"),
    [
        ("acme/api/catalog", 16, "acme/api/catalog"),
        ("acme/payments/ledger", 19, "acme/paymen…/ledger"),
        ("acme/platform/catalog", 14, "acme/…/catalog"),
        ("acme/payments/fraud-scoring", 19, "acme/paym…d-scoring"),  # first and last do not both fit
        ("a-very-long-single-repository-name", 11, "a-ver…-name"),
        ("x/abc", 1, "…"),
    ],
)
def test_shorten_keeps_both_ends(name: str, width: int, expected: str) -> None:
    assert shorten(name, width) == expected
    assert len(shorten(name, width)) <= max(width, 1)


def test_shortened_names_never_read_alike() -> None:
    names = ["acme/web/checkout-ui", "acme/charts/checkout-ui", "acme/webx/checkout-ui"]
    short = shortened(names, 18)
    assert len(set(short)) == 3 and all(len(s) <= 18 or s in names for s in short)


def test_the_example_at_80_columns(golden: Callable[[str, str], None]) -> None:
    text = render_table.render(example_report(), width=80, color=False)
    golden("example-report-80.txt", text)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80
    # the total is on the first screen, before the long tables
    assert any(line.startswith("Total       46.53 USD per month, 576.24 USD for 12 months") for line in lines[:24])
    header = next(line for line in lines if line.startswith("Repository ") and "costs," not in line)
    assert header.split()[-4:] == ["Attributed", "Storage", "Egress", "Monthly"] and " Team " in header
    row = next(line for line in lines if line.startswith("acme/paym…d-scoring"))
    assert row.split()[1:] == ["payments", "15", "1.34", "GiB", "0.13", "0.00", "0.13"]
    assert "Not shown at 80 columns: Pulls/mo, Egress vol/mo" in text


def test_a_narrow_table_leaves_out_counts_before_money() -> None:
    text = render_table.render(example_report(), width=60, color=False)
    header = next(line for line in text.splitlines() if line.startswith("Repository ") and "costs," not in line)
    assert header.split()[-3:] == ["Storage", "Egress", "Monthly"] and "Attributed" not in header
    table_lines = text.split("Repository costs")[1].split("Not shown")[0].splitlines()
    assert max(len(line) for line in table_lines) <= 60
