"""Units: sizes parsed and formatted, one rounding rule, the largest-remainder split."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from costcalc.cli.app import app
from costcalc.errors import InputError
from costcalc.pricing.book_file import load_book
from costcalc.render import display
from costcalc.units import (
    BYTES_PER_UNIT,
    MONEY_QUANTUM,
    allocate,
    format_bytes,
    money,
    parse_size,
    plain,
    round_half_up,
    to_units,
    whole_bytes,
    whole_parts,
)

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("150MB", 150 * 10**6),
        ("1.5GiB", 1_610_612_736),
        ("500 MiB", 524_288_000),
        ("123456B", 123_456),
        ("2kb", 2000),
        ("1KiB", 1024),
        ("1000TB", 10**15),
    ],
)
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("150", "'150' has no unit; write one of B, kB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB"),
        ("1.5", "'1.5' has no unit"),
        ("5XB", "'XB' is not a size unit"),
        ("big", "'big' is not a size"),
        ("-5MB", "'-5MB' is not a size"),
        ("1e9MB", "'1e9MB' is not a size"),
        ("0MB", "the size must be at least 1 byte"),
        ("0.1B", "the size must be at least 1 byte"),
        ("1001TB", "1001TB is larger than the largest size costcalc accepts (1 PB)"),
        ("9" * 5000 + "MB", "is not a size"),
    ],
)
def test_bad_size_names_the_units(text: str, problem: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_size(text)
    assert problem in str(caught.value)
    assert len(str(caught.value)) < 300


def test_one_rounding_rule_half_up_without_negative_zero() -> None:
    assert round_half_up(Decimal("0.125"), 2) == Decimal("0.13")
    assert round_half_up(Decimal("-0.125"), 2) == Decimal("-0.13")
    assert str(round_half_up(Decimal("-0.00004"), 4)) == "0.0000"
    assert money(Decimal("1.00005")) == Decimal("1.0001")
    assert money(Decimal("1.00015")) == Decimal("1.0002")  # half-even would give 1.0002 and 1.0000
    assert plain(Decimal("0.00005")) == "0.0001"
    assert plain(Decimal("12.5000")) == "12.5"
    assert whole_bytes(Decimal("2.5")) == 3
    assert whole_bytes(Decimal("3.5")) == 4


def test_renderers_round_as_units_does() -> None:
    # bytes made fractional by per-day pull rates: 2.5 bytes is 3 in every output
    assert display.integer(Decimal("2.5")) == 3
    assert display.size(Decimal("2.5"), "GB") == "3 B"
    assert display.exact(Decimal("0.00005")) == "0.0001"
    assert display.money(Decimal("-0.004")) == "0.00"
    assert display.percent(Decimal("12.25")) == "12.3 %"
    # the same bytes read the same in a table and in a sentence, only the trailing zeros differ
    assert display.size(1_005_000, "GB") == "1.01 MB" == format_bytes(1_005_000, "GB", trim=True)
    assert display.size(186_000_000, "GB") == "186.00 MB"
    assert format_bytes(186_000_000, trim=True) == "186 MB"


@pytest.mark.parametrize(
    ("size", "unit", "text"),
    [
        (999, "GB", "999 B"),
        (1000, "GB", "1.00 kB"),
        (1023, "GiB", "1,023 B"),
        (201_000_000, "GiB", "191.69 MiB"),
        (55 * 10**9, "GiB", "51.22 GiB"),
        (3 * 10**15, "GB", "3.00 PB"),
        (4 * 10**18, "GB", "4,000.00 PB"),
    ],
)
def test_format_bytes_in_the_book_unit_family(size: int, unit: str, text: str) -> None:
    assert format_bytes(size, unit) == text


def test_to_units() -> None:
    assert to_units(2 * 10**9, "GB") == 2
    assert to_units(2**30, "GiB") == 1
    assert to_units(Decimal(10**9), "GiB") == Decimal(10**9) / Decimal(2**30)


def test_to_units_converts_bytes_exactly_in_a_books_unit() -> None:
    gib, gb = load_book("aws-ecr").unit, load_book("cloudflare-r2").unit
    assert (gib, gb) == ("GiB", "GB")
    assert BYTES_PER_UNIT == {"GiB": 2**30, "GB": 10**9}
    assert to_units(10**9, gb) == 1
    assert to_units(10**9, gib) == Decimal("0.931322574615478515625")  # 10^9 / 2^30, exact
    assert to_units(2**30, gib) == 1
    assert to_units(1, gib) == Decimal("9.31322574615478515625E-10")
    big = 123_456_789_012_345_678  # a 110 PiB registry: still exact
    assert to_units(big, gib) * 2**30 == big
    assert to_units(1_500_000_000, gb) == Decimal("1.5")


def test_allocate_is_largest_remainder() -> None:
    # 0.0010 over weights 1, 1, 1: 3 steps each of 0.0003 and one left, to the first on ties
    assert allocate(Decimal("0.0010"), [Decimal(1)] * 3) == [Decimal("0.0004"), Decimal("0.0003"), Decimal("0.0003")]
    # 0.0010 over 1, 2, 7: 1, 2, 7 steps exactly
    assert allocate(Decimal("0.0010"), [Decimal(1), Decimal(2), Decimal(7)]) == [
        Decimal("0.0001"),
        Decimal("0.0002"),
        Decimal("0.0007"),
    ]
    # all weights zero: an even split
    assert sum(allocate(Decimal("1"), [Decimal(0)] * 3)) == 1
    assert allocate(Decimal(5), []) == []


def test_whole_parts_is_the_same_rule_for_bytes() -> None:
    assert whole_parts([Decimal("1.4"), Decimal("1.4"), None]) == [2, 1, None]
    assert whole_parts([Decimal("0.5"), Decimal("0.5"), Decimal("0.5")]) == [1, 1, 0]
    assert whole_parts([None, None]) == [None, None]
    assert whole_parts([]) == []


money_values = st.decimals(min_value=0, max_value=10**9, places=4)
weights = st.lists(st.decimals(min_value=0, max_value=10**12, places=6), min_size=1, max_size=20)


@given(money_values, weights)
def test_allocate_sums_exactly_in_whole_steps(total: Decimal, shares: list[Decimal]) -> None:
    parts = allocate(total, shares)
    assert sum(parts) == total
    assert all(part % MONEY_QUANTUM == 0 and part >= 0 for part in parts)


@given(st.lists(st.one_of(st.none(), st.decimals(min_value=0, max_value=10**15, places=3)), max_size=20))
def test_whole_parts_add_up_to_the_rounded_total(values: list[Decimal | None]) -> None:
    parts = whole_parts(values)
    known = [v for v in values if v is not None]
    assert [p is None for p in parts] == [v is None for v in values]
    assert sum(p for p in parts if p is not None) == whole_bytes(sum(known, Decimal(0)))
    for part, value in zip(parts, values, strict=True):
        if value is not None and part is not None:
            assert abs(part - value) < 1


def test_a_figure_too_large_for_exact_arithmetic_is_one_sentence() -> None:
    assert money(Decimal(10) ** 45) == Decimal(10) ** 45  # 46 digits and 4 decimals: still exact
    with pytest.raises(InputError) as caught:
        money(Decimal(10) ** 47)
    assert str(caught.value) == (
        "a figure of about 10^47 is too large to compute exactly; check the sizes, prices and pull counts "
        "of the inputs."
    )


def test_a_report_over_absurd_sizes_exits_1_without_a_traceback(tmp_path: Path) -> None:
    fleet = json.loads((EXAMPLES / "fleet.json").read_text(encoding="utf-8"))
    kind = fleet["defaults"]["manifest"]["kind"]  # of an entry that does not say
    images = [
        record for record in fleet["manifests"].values() if record.get("kind", kind) == "image" and record.get("layers")
    ]
    fleet["blobs"][images[0]["layers"][0]]["size_bytes"] = 10**60  # refused by the loader or by units
    path = tmp_path / "absurd.json"
    path.write_text(json.dumps(fleet), encoding="utf-8")
    result = CliRunner().invoke(app, ["report", str(path), "--usage", str(EXAMPLES / "usage.csv"), "--format", "json"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.output.startswith("costcalc: error: ")
