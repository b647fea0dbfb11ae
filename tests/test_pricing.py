"""Tier math, unit conversion, plans, extends, discounts and price book validation."""

from __future__ import annotations

import decimal
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from costcalc.errors import InputError
from costcalc.pricing.book import HOURS_PER_MONTH, Tier, TierCharge, TieredRate
from costcalc.pricing.book_file import bundled_book_ids, load_book, validate_book_file
from costcalc.units import to_units

D = Decimal

# The AWS us-east-1 internet schedule: 100 free, then 0.09 / 0.085 / 0.07 / 0.05 with bounds
# counted after the free allowance.
AWS_INTERNET = TieredRate(
    free=D(100),
    tiers=(
        Tier(up_to=D(10240), price=D("0.09")),
        Tier(up_to=D(51200), price=D("0.085")),
        Tier(up_to=D(153600), price=D("0.07")),
        Tier(price=D("0.05")),
    ),
)


@pytest.mark.parametrize(
    ("quantity", "expected"),
    [
        ("0", "0"),
        ("50", "0"),  # inside the free allowance
        ("100", "0"),  # exactly the free allowance
        ("100.5", "0.045"),  # 0.5 x 0.09
        ("101", "0.09"),  # one unit above the free allowance
        ("10339", "921.51"),  # one below the first bound: 10239 x 0.09
        ("10340", "921.60"),  # exactly at the first bound: 10240 x 0.09
        ("10341", "921.685"),  # one above: 921.60 + 1 x 0.085
        ("51299", "4403.115"),  # 921.60 + 40959 x 0.085
        (
            "51300",
            "4403.20",
        ),  # exactly at the second bound: 921.60 + 40960 x 0.085 = 921.60 + 3481.60
        ("51301", "4403.27"),  # 4403.20 + 0.07
        ("153700", "11571.20"),  # 4403.20 + 102400 x 0.07 = 4403.20 + 7168
        ("153701", "11571.25"),  # 11571.20 + 0.05
        # Infracost's AWS golden file: 10,240 GB $921.60 + 40,960 GB $3,481.60
        # + 102,400 GB $7,168.00 + 3,400 GB $170.00 (plus our 100 free).
        ("157100", "11741.20"),
        ("200000", "13886.20"),  # 11571.20 + 46300 x 0.05
    ],
)
def test_tier_cost_at_every_boundary(quantity: str, expected: str) -> None:
    assert AWS_INTERNET.cost(D(quantity)) == D(expected)


def test_breakdown_lists_each_tier_used_with_the_free_part_first() -> None:
    lines = AWS_INTERNET.breakdown(D(51301))
    assert [(line.label, line.quantity, line.price, line.cost) for line in lines] == [
        ("free 100", D(100), D(0), D(0)),
        ("first 10240", D(10240), D("0.09"), D("921.60")),
        ("next 40960", D(40960), D("0.085"), D("3481.60")),
        ("next 102400", D(1), D("0.07"), D("0.07")),
    ]
    assert AWS_INTERNET.breakdown(D(0)) == ()
    assert AWS_INTERNET.breakdown(D(40)) == (TierCharge(label="free 100", quantity=D(40), price=D(0), cost=D(0)),)
    over = AWS_INTERNET.breakdown(D(153800))[-1]
    assert (over.label, over.quantity, over.cost) == ("over 153600", D(100), D("5.00"))


def test_flat_rate_labels() -> None:
    flat = TieredRate(tiers=(Tier(price=D("0.10")),))
    assert [line.label for line in flat.breakdown(D(3))] == ["all"]
    assert flat.cost(D(3)) == D("0.30")
    allowance = TieredRate(free=D("0.5"), tiers=(Tier(price=D("0.10")),))
    assert [line.label for line in allowance.breakdown(D(3))] == ["free 0.5", "beyond free"]
    assert allowance.cost(D(3)) == D("0.25")  # 2.5 x 0.10


def test_negative_quantity_is_refused() -> None:
    with pytest.raises(ValueError, match="must be >= 0"):
        AWS_INTERNET.cost(D(-1))


@pytest.mark.parametrize(
    "tiers",
    [
        (),
        (Tier(up_to=D(10), price=D(1)),),  # bounded last tier
        (Tier(price=D(1)), Tier(price=D(2))),  # unbounded tier before the last
        (Tier(up_to=D(10), price=D(1)), Tier(up_to=D(10), price=D(1)), Tier(price=D(1))),
        (Tier(price=D(-1)),),
    ],
)
def test_tiered_rate_built_in_code_is_checked(tiers: tuple[Tier, ...]) -> None:
    with pytest.raises(ValidationError):
        TieredRate(tiers=tiers)


def test_a_negative_byte_count_is_refused_not_priced() -> None:
    gib = load_book("aws-ecr")
    with pytest.raises(ValueError):
        gib.storage_cost(to_units(-1, gib.unit))
    with pytest.raises(ValueError):
        gib.egress_cost("internet", to_units(-1, gib.unit))


BOOK = """\
id = "book"
name = "Test book"
provider = "test"
region = "r1"
currency = "USD"
unit = "GiB"
dedup_scope = "registry"
effective_date = 2026-11-01
sources = ["https://example.com/prices"]
notes = ["A test book."]

[storage]
free = 0
tiers = [
  { up_to = 100, price = 0.10 },
  { price = 0.05 },
]

[egress.internet]
free = 10
tiers = [{ price = 0.09 }]
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_valid_book_loads(tmp_path: Path) -> None:
    path = write(tmp_path, "book.toml", BOOK)
    assert validate_book_file(path) == []
    book = load_book(str(path))
    assert book.id == "book"
    assert book.path == str(path)
    assert book.storage.tiers[0] == Tier(up_to=D(100), price=D("0.10"))
    assert all(isinstance(tier.price, Decimal) for tier in book.storage.tiers)
    # 150 held: 100 x 0.10 + 50 x 0.05 = 12.50
    assert book.storage_cost(D(150)) == D("12.50")
    # 30 out: 10 free + 20 x 0.09 = 1.80
    assert book.egress_cost("internet", D(30)) == D("1.80")
    assert book.egress_classes == ("internet",)


def test_unknown_egress_class_names_the_known_ones(tmp_path: Path) -> None:
    book = load_book(str(write(tmp_path, "book.toml", BOOK)))
    with pytest.raises(InputError) as caught:
        book.egress_cost("cross-region", D(1))
    assert str(caught.value) == ('price book book has no egress class "cross-region"; its classes are: internet.')


def test_plan_fee_and_included_storage_come_before_free_and_tiers(tmp_path: Path) -> None:
    text = BOOK.replace("free = 0\n", "free = 2\n").replace(
        "[storage]", "[plan]\nmonthly_fee = 5\nincluded_storage = 10\n\n[storage]"
    )
    book = load_book(str(write(tmp_path, "book.toml", text)))
    assert book.plan is not None and book.plan.monthly_fee == 5
    assert book.storage_cost(D(0)) == D(5)  # the fee is due even for an empty registry
    assert book.storage_cost(D(10)) == D(5)  # all included
    assert book.storage_cost(D(12)) == D(5)  # 10 included + 2 free
    assert book.storage_cost(D(13)) == D("5.10")  # + 1 x 0.10
    assert book.storage_cost(D(113)) == D("15.05")  # 5 + 100 x 0.10 + 1 x 0.05
    assert [(line.label, line.quantity, line.cost) for line in book.storage_breakdown(D(13))] == [
        ("plan fee", D(1), D(5)),
        ("included 10", D(10), D(0)),
        ("free 2", D(2), D(0)),
        ("first 100", D(1), D("0.10")),
    ]


def test_daily_fee_and_daily_price_convert_with_a_730_hour_month(tmp_path: Path) -> None:
    text = BOOK.replace("[storage]", "[plan]\ndaily_fee = 0.167\nincluded_storage = 10\n\n[storage]")
    text = text.replace("{ price = 0.05 }", "{ daily_price = 0.003 }")
    book = load_book(str(write(tmp_path, "book.toml", text)))
    assert book.plan is not None
    assert book.plan.daily_fee == D("0.167")
    # 0.167 x 730 / 24 = 121.91 / 24 = 5.079583..., rounded at 50 significant digits.
    assert book.plan.monthly_fee == D("5.07958" + "3" * 44)
    assert HOURS_PER_MONTH == 730
    # 0.003 x 730 / 24 = 2.19 / 24 = 0.09125, exact.
    assert book.storage.tiers[1] == Tier(price=D("0.09125"), daily_price=D("0.003"))


def test_extends_overrides_one_table_and_inherits_the_rest(tmp_path: Path) -> None:
    child = write(
        tmp_path,
        "negotiated.toml",
        'id = "negotiated"\nextends = "aws-ecr"\n\n'
        "[egress.internet]\ntiers = [{ up_to = 10240, price = 0.08 }, { price = 0.05 }]\n",
    )
    assert validate_book_file(child) == []
    book, parent = load_book(str(child)), load_book("aws-ecr")
    assert (book.id, book.extends, book.name) == ("negotiated", "aws-ecr", parent.name)
    assert book.sources == parent.sources and book.storage == parent.storage
    assert book.egress["internet"].free == parent.egress["internet"].free == 0  # tables merge key by key
    assert book.egress["same-region"] == parent.egress["same-region"]
    assert book.egress["cross-region"] == parent.egress["cross-region"]
    # 10240 out: 10240 x 0.08 = 819.20 (aws-ecr: 921.60)
    assert book.egress_cost("internet", D(10240)) == D("819.20")
    # 10340 out: 819.20 + 100 x 0.05
    assert book.egress_cost("internet", D(10340)) == D("824.20")


def test_extends_a_relative_path_through_two_levels(tmp_path: Path) -> None:
    write(tmp_path, "base.toml", BOOK.replace('id = "book"', 'id = "base"'))
    (tmp_path / "teams").mkdir()
    write(tmp_path / "teams", "mid.toml", 'id = "mid"\nextends = "../base.toml"\nregion = "r2"\n')
    leaf = write(tmp_path / "teams", "leaf.toml", 'id = "leaf"\nextends = "mid.toml"\ndiscount_pct = 10\n')
    book = load_book(str(leaf))
    assert (book.id, book.region, book.extends, book.name) == (
        "leaf",
        "r2",
        "mid.toml",
        "Test book",
    )
    assert book.discount_pct == 10


def test_discount_applies_to_every_charge_as_one_line(tmp_path: Path) -> None:
    child = write(tmp_path, "ten-off.toml", 'id = "ten-off"\nextends = "aws-ecr"\ndiscount_pct = 10\n')
    book = load_book(str(child))
    # 500 GiB x 0.10 = 50.00, less 10 % = 45.00
    assert book.storage_cost(D(500)) == D("45.00")
    assert book.storage_breakdown(D(500))[-1] == TierCharge(
        label="discount 10%", quantity=D("50.00"), price=D("-0.1"), cost=D("-5.000")
    )
    # 20000 out: 921.60 + 9760 x 0.085 = 1751.20, less 10 % = 1576.08
    assert book.egress_cost("internet", D(20000)) == D("1576.08")
    assert book.egress_cost("internet", D(0)) == 0  # nothing to discount: no line
    assert book.egress_breakdown("internet", D(0)) == ()


# Each kind of bad input -> the exact FILE:LINE: field: problem text. Each case replaces OLD
# by NEW in BOOK; the expected problems are given without the "FILE:" prefix.
KNOWN_FIELDS = (
    "id, name, provider, region, currency, unit, dedup_scope, effective_date, sources, notes, "
    "discount_pct, extends, storage, plan, pull_limits, egress"
)
NOTES = 'notes = ["A test book."]'
LAST_TIER = "{ price = 0.05 }"
FIRST_TIER = "{ up_to = 100, price = 0.10 }"
BAD_INPUTS = [
    (NOTES, 'colour = "red"', [f"10: colour: unknown field (expected one of: {KNOWN_FIELDS})"]),
    ('region = "r1"', "", ["1: region: required field is missing"]),
    ('name = "Test book"', "name = 42", ["2: name: must be a non-empty string, not a number (42)"]),
    (
        LAST_TIER,
        '{ price = "0.05" }',
        ['16: storage.tiers[1].price: must be a number, not a string ("0.05"): remove the quotes'],
    ),
    (
        LAST_TIER,
        "{ price = true }",
        ["16: storage.tiers[1].price: must be a number, not a boolean (true)"],
    ),
    (LAST_TIER, "{ price = -0.05 }", ["16: storage.tiers[1].price: must be >= 0, got -0.05"]),
    (
        LAST_TIER,
        "{ price = nan }",
        ["16: storage.tiers[1].price: must be a finite number, got NaN"],
    ),
    ("free = 10", "free = -1", ["20: egress.internet.free: must be >= 0, got -1"]),
    (
        f"  {LAST_TIER},",
        "  { up_to = 100, price = 0.07 }, { price = 0.05 },",
        ["16: storage.tiers[1].up_to: must be greater than the previous tier's up_to (100), got 100"],
    ),
    (
        f"  {LAST_TIER},",
        "  { up_to = 50, price = 0.07 }, { price = 0.05 },",
        ["16: storage.tiers[1].up_to: must be greater than the previous tier's up_to (100), got 50"],
    ),
    (
        FIRST_TIER,
        "{ up_to = 0, price = 0.10 }",
        ["15: storage.tiers[0].up_to: must be greater than 0, got 0"],
    ),
    (
        FIRST_TIER,
        "{ price = 0.10 }",
        ["16: storage.tiers[1]: follows tiers[0], which has no up_to: only the last tier may be unbounded"],
    ),
    (
        LAST_TIER,
        "{ up_to = 200, price = 0.05 }",
        ["16: storage.tiers[1].up_to: the last tier must have no up_to: volume above 200 would have no price"],
    ),
    (
        "tiers = [{ price = 0.09 }]",
        "tiers = []",
        ["21: egress.internet.tiers: must list at least one tier (the last one without up_to)"],
    ),
    (
        LAST_TIER,
        "{ cost = 0.05 }",
        [
            "16: storage.tiers[1].cost: unknown field (expected one of: up_to, price, daily_price)",
            "16: storage.tiers[1].price: required field is missing",
        ],
    ),
    (
        "tiers = [{ price = 0.09 }]",
        "tiers = [{ daily_price = 0.09 }]",
        [
            "21: egress.internet.tiers[0].daily_price: unknown field (expected one of: up_to, price)",
            "21: egress.internet.tiers[0].price: required field is missing",
        ],
    ),
    ('unit = "GiB"', 'unit = "TB"', ['6: unit: must be "GiB" or "GB", not a string ("TB")']),
    (
        'dedup_scope = "registry"',
        'dedup_scope = "global"',
        ['7: dedup_scope: must be "registry" or "repository", not a string ("global")'],
    ),
    (
        'currency = "USD"',
        'currency = "dollars"',
        ['5: currency: must be a three-letter ISO 4217 code such as "USD", got "dollars"'],
    ),
    (
        "effective_date = 2026-11-01",
        'effective_date = "2026-11-01"',
        ['8: effective_date: must be a TOML date such as 2026-11-01, not a string ("2026-11-01")'],
    ),
    (NOTES, "discount_pct = 101", ["10: discount_pct: must be between 0 and 100, got 101"]),
    (NOTES, "discount_pct = -5", ["10: discount_pct: must be >= 0, got -5"]),
    (
        'sources = ["https://example.com/prices"]',
        "sources = []",
        ["9: sources: must list at least one URL where the prices were read"],
    ),
    (
        'sources = ["https://example.com/prices"]',
        'sources = ["the web"]',
        ['9: sources[0]: must be an http(s) URL, not a string ("the web")'],
    ),
    (
        'id = "book"',
        'id = "other"',
        ['1: id: "other" does not match the file name "book.toml": set id = "book" or rename the file'],
    ),
    (
        "[egress.internet]",
        "[egress.same-region]",
        ["19: egress.internet: required egress class is missing: every book prices internet egress"],
    ),
    (
        "tiers = [{ price = 0.09 }]",
        "tiers = [{ price = 0.09 }]\n[egress.Same_Region]\ntiers = [{ price = 0 }]",
        ["22: egress.Same_Region: a class name is lower-case words joined by hyphens, like same-region"],
    ),
    (
        "[storage]",
        "[plan]\nincluded_storage = 1\n[storage]",
        ["12: plan: needs monthly_fee or daily_fee"],
    ),
    (
        "[storage]",
        "[plan]\nmonthly_fee = 1\ndaily_fee = 0.1\n[storage]",
        ["14: plan.daily_fee: give monthly_fee or daily_fee, not both"],
    ),
    ('name = "Test book"', "name = ", ["2: toml: Invalid value (column 8)"]),
    # tomllib names the line where it noticed the array was not closed.
    (NOTES, 'notes = ["A test book."', ["12: toml: Unclosed array (column 1)"]),
]


@pytest.mark.parametrize(("old", "new", "problems"), BAD_INPUTS)
def test_each_bad_input_is_reported_at_its_line(tmp_path: Path, old: str, new: str, problems: list[str]) -> None:
    assert old in BOOK
    path = write(tmp_path, "book.toml", BOOK.replace(old, new, 1))
    expected = [f"{path}:{problem}" for problem in problems]
    assert validate_book_file(path) == expected
    with pytest.raises(InputError) as caught:
        load_book(str(path))
    assert caught.value.problems == expected


def test_float_looking_numbers_are_exact_decimals(tmp_path: Path) -> None:
    path = write(tmp_path, "book.toml", BOOK.replace("{ price = 0.05 }", "{ price = 5e-2 }"))
    book = load_book(str(path))
    assert book.storage.tiers[1].price == D("0.05")
    assert type(book.storage.tiers[1].price) is Decimal


def test_every_problem_is_reported_not_just_the_first(tmp_path: Path) -> None:
    text = (
        BOOK.replace('unit = "GiB"', 'unit = "TB"')
        .replace('sources = ["https://example.com/prices"]', "sources = []")
        .replace("{ price = 0.05 }", '{ price = "0.05" }')
    )
    path = write(tmp_path, "book.toml", text)
    assert [problem.split(": ")[1] for problem in validate_book_file(path)] == [
        "unit",
        "sources",
        "storage.tiers[1].price",
    ]


def test_array_of_tables_dotted_and_quoted_keys_get_their_lines(tmp_path: Path) -> None:
    inline = "[storage]\nfree = 0\ntiers = [\n  { up_to = 100, price = 0.10 },\n  { price = 0.05 },\n]\n"
    tables = '"storage".free = -1\n\n[[storage.tiers]]\nup_to = 100\nprice = "x"\n\n[[storage.tiers]]\nprice = -1\n'
    text = BOOK.replace(inline, tables).replace('name = "Test book"', 'name = """Test\nbook"""')
    path = write(tmp_path, "book.toml", text)
    assert validate_book_file(path) == [
        f"{path}:13: storage.free: must be >= 0, got -1",
        f'{path}:17: storage.tiers[0].price: must be a number, not a string ("x")',
        f"{path}:20: storage.tiers[1].price: must be >= 0, got -1",
    ]


def test_extends_problems_unknown_parent_missing_file_and_cycle(tmp_path: Path) -> None:
    unknown = write(tmp_path, "unknown.toml", 'id = "unknown"\nextends = "aws-ecrr"\n')
    assert validate_book_file(unknown) == [
        f'{unknown}:2: extends: unknown price book "aws-ecrr": bundled ids are '
        f"{', '.join(bundled_book_ids())}; a file path must end in .toml"
    ]
    missing = write(tmp_path, "missing.toml", 'id = "missing"\n\nextends = "gone.toml"\n')
    assert validate_book_file(missing) == [
        f'{missing}:3: extends: unknown parent "gone.toml": {tmp_path / "gone.toml"}: no such file.'
    ]
    first = write(tmp_path, "first.toml", 'id = "first"\nextends = "second.toml"\n')
    second = write(tmp_path, "second.toml", 'id = "second"\nextends = "first.toml"\n')
    assert validate_book_file(first) == [f"{second}:2: extends: cycle: {first} -> {second} -> {first}"]
    selfish = write(tmp_path, "selfish.toml", 'id = "selfish"\nextends = "selfish.toml"\n')
    assert validate_book_file(selfish) == [f"{selfish}:2: extends: cycle: {selfish} -> {selfish}"]


def test_a_problem_in_a_parent_is_reported_in_the_parent_file(tmp_path: Path) -> None:
    parent = write(
        tmp_path,
        "parent.toml",
        BOOK.replace('id = "book"', 'id = "parent"').replace("free = 10", "free = -10"),
    )
    child = write(
        tmp_path,
        "child.toml",
        'id = "child"\nextends = "parent.toml"\n[egress.internet]\ntiers = [{ price = -1 }]\n',
    )
    assert validate_book_file(child) == [
        f"{child}:4: egress.internet.tiers[0].price: must be >= 0, got -1",
        f"{parent}:20: egress.internet.free: must be >= 0, got -10",
    ]


def test_a_child_must_name_itself(tmp_path: Path) -> None:
    child = write(tmp_path, "mine.toml", 'extends = "aws-ecr"\ndiscount_pct = 5\n')
    assert validate_book_file(child) == [f"{child}:1: id: required field is missing"]


def test_unreadable_inputs_are_one_sentence(tmp_path: Path) -> None:
    assert validate_book_file(tmp_path / "absent.toml") == [f"{tmp_path / 'absent.toml'}: no such file."]
    assert validate_book_file(tmp_path) == [f"{tmp_path}: is a directory, not a price book file."]
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    assert validate_book_file(binary) == [f"{binary}: is not UTF-8 text."]
    with pytest.raises(InputError, match="is neither a bundled price book"):
        load_book("no-such-book")


def test_arithmetic_is_not_limited_by_the_default_decimal_context() -> None:
    book = load_book("aws-ecr")
    with decimal.localcontext(decimal.Context(prec=5)):
        # 10^15 bytes: 931322.574615478515625 GiB needs 21 digits.
        assert to_units(10**15, book.unit) == D("931322.574615478515625")
        assert book.storage_cost(to_units(10**15, book.unit)) == D("93132.2574615478515625")


@pytest.mark.parametrize(
    ("override", "monthly", "daily"),
    [
        ("monthly_fee = 4", D(4), None),  # a negotiated flat fee over azure-acr-basic's day price
        ("daily_fee = 0.12", D("0.12") * 730 / 24, D("0.12")),
    ],
)
def test_a_child_plan_fee_replaces_the_parents_in_either_form(
    tmp_path: Path, override: str, monthly: Decimal, daily: Decimal | None
) -> None:
    child = write(tmp_path, "deal.toml", f'id = "deal"\nextends = "azure-acr-basic"\n\n[plan]\n{override}\n')
    assert validate_book_file(child) == []
    book = load_book(str(child))
    assert book.plan is not None
    assert abs(book.plan.monthly_fee - monthly) < D("1E-25")
    assert book.plan.daily_fee == daily
    assert book.plan.included_storage == 10  # the rest of [plan] is still inherited


def test_both_fees_in_one_file_are_still_refused_at_their_line(tmp_path: Path) -> None:
    child = write(
        tmp_path, "deal.toml", 'id = "deal"\nextends = "azure-acr-basic"\n\n[plan]\nmonthly_fee = 4\ndaily_fee = 1\n'
    )
    assert validate_book_file(child) == [f"{child}:6: plan.daily_fee: give monthly_fee or daily_fee, not both"]


def test_storage_beyond_a_plans_included_amount_is_not_labelled_all() -> None:
    lines = load_book("azure-acr-basic").storage_breakdown(D(25))
    assert [(line.label, line.quantity) for line in lines] == [
        ("plan fee", D(1)),
        ("included 10", D(10)),
        ("beyond included", D(15)),
    ]
