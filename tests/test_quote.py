"""Quotes: explicit quantities priced over a period, and their JSON and table renderings."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from costcalc.errors import InputError
from costcalc.pricing.book import PriceBook
from costcalc.pricing.book_file import load_book
from costcalc.pricing.quote import build_quote, parse_egress, parse_quantity
from costcalc.render.pricing_json import dumps, money, number, quote_json
from costcalc.render.pricing_table import quote_text

D = Decimal


def test_a_month_of_storage_and_egress_on_aws_ecr() -> None:
    quote = build_quote(load_book("aws-ecr"), storage=D(500), egress=[("internet", D(20000))])
    assert quote.period_hours == 730
    assert [(c.name, c.quantity, c.unit, c.cost) for c in quote.components] == [
        ("storage", D(500), "GiB", D("50.00")),  # 500 x 0.10
        ("egress internet", D(20000), "GiB", D("1751.20")),  # 921.60, 829.60: no free share assumed
    ]
    assert [line.label for line in quote.components[1].tiers] == ["first 10240", "next 40960"]
    assert quote.total == D("1801.20")
    assert "The period is one month of 730 hours." in quote.assumptions


def test_days_scale_storage_and_the_plan_fee_but_not_the_egress_allowances() -> None:
    # Azure Basic, 25 GiB held for 30 days: per day 0.167 + 15 x 0.003 = 0.212; x 30 = 6.36.
    quote = build_quote(load_book("azure-acr-basic"), storage=D(25), egress=[("internet", D(200))], days=D(30))
    assert quote.period_hours == 720
    assert quote.period_days == 30
    storage, egress = quote.components
    assert abs(storage.cost - D("6.36")) < D("1E-30")
    fee, included, extra = storage.tiers
    assert (fee.label, included.label, extra.label) == ("plan fee", "included 10", "beyond included")
    assert abs(fee.cost - D("5.01")) < D("1E-30")  # 0.167 x 30 days
    assert abs(fee.quantity - D("0.98630136986301369863")) < D("1E-20")  # 720/730 months
    assert abs(extra.quantity - D("14.794520547945205479452")) < D("1E-20")  # 15 GiB x 720/730
    # Allowances reset per billing month and are not prorated: 30 days are one billing month
    # with the whole 100 GiB free, so (200 - 100) x 0.087 = 8.70.
    assert egress.cost == D("8.70")
    assert [(line.label, line.quantity) for line in egress.tiers] == [("free 100", D(100)), ("first 10140", D(100))]
    assert abs(quote.total - (storage.cost + egress.cost)) < D("1E-20")
    assert any("0.9863 months" in sentence for sentence in quote.assumptions)
    assert any("counts as one billing month" in sentence for sentence in quote.assumptions)


@pytest.mark.parametrize(
    ("days", "billing_months", "cost"),
    [
        ("10", 1, "20.00"),  # GitHub's example: 50 GB out, 10 GB included, 40 x $0.50
        ("31", 1, "20.00"),  # a 31-day month is one billing month, not 1.019 allowances
        ("45", 1, "20.00"),  # 1.479 months round to one
        ("46", 2, "15.00"),  # 1.512 months round to two: 2 x (25 - 10) x 0.50
    ],
)
def test_egress_allowances_are_whole_billing_months(days: str, billing_months: int, cost: str) -> None:
    quote = build_quote(load_book("github-packages"), egress=[("internet", D(50))], days=D(days))
    (egress,) = quote.components
    assert egress.cost == D(cost)
    assert egress.tiers[0].quantity == 10 * billing_months  # the free part of every billing month


def ecr_with_free_share(tmp_path: Path, free: str = "100") -> PriceBook:
    """aws-ecr with the registry given FREE GiB of the account's shared free transfer."""
    path = tmp_path / "my-ecr.toml"
    path.write_text(f'id = "my-ecr"\nextends = "aws-ecr"\n[egress.internet]\nfree = {free}\n', encoding="utf-8")
    return load_book(str(path))


def test_aws_free_transfer_is_none_of_the_registrys_unless_a_book_gives_it(tmp_path: Path) -> None:
    # AWS's pricing calculator: 50 GB of ECR storage and 1 TB out = 5.00 + 1,024 x 0.09 = 97.16;
    # the account's 100 GB free transfer is shared by all its services and not counted.
    quote = build_quote(load_book("aws-ecr"), storage=D(50), egress=[("internet", D(1024))])
    assert quote.total == D("97.16")
    assert any("none of it" in note for note in load_book("aws-ecr").notes)
    # a custom book that gives the registry the whole allowance: (1,024 - 100) x 0.09 + 5.00
    assert build_quote(ecr_with_free_share(tmp_path), storage=D(50), egress=[("internet", D(1024))]).total == D("88.16")
    half = build_quote(ecr_with_free_share(tmp_path, "50"), storage=D(50), egress=[("internet", D(1024))])
    assert half.total == D("92.66")  # 974 x 0.09 + 5.00


def test_a_year_gets_twelve_months_of_allowances_and_tiers(tmp_path: Path) -> None:
    # 365 days = 8,760 hours = 12 months of 730 hours: 1,200,000 GiB is 100,000 a month.
    # A month: 100 free, 10,240 x 0.09 = 921.60, 40,960 x 0.085 = 3,481.60, 48,700 x 0.07 = 3,409.00
    # = 7,812.20; x 12 = 93,746.40 (tiering the year's volume as one month would give 63,886.20).
    book = ecr_with_free_share(tmp_path)
    quote = build_quote(book, storage=D(1000), egress=[("internet", D(1200000))], days=D(365))
    storage, egress = quote.components
    assert storage.cost == D("1200")  # 1,000 GiB x 0.10 x 12
    assert egress.cost == D("93746.40")
    assert [(line.label, line.quantity) for line in egress.tiers] == [
        ("free 100", D(1200)),
        ("first 10240", D(122880)),
        ("next 40960", D(491520)),
        ("next 102400", D(584400)),
    ]
    assert quote.total == D("94946.40")


def test_ten_days_on_azure_premium() -> None:
    # Worked by hand from the daily rates: fee 1.667 x 10 = 16.67; 100 GiB beyond the 500
    # included x 0.003 x 10 = 3.00. Internet: 300 GiB in 10 days, one billing month, gets the
    # whole 100 GiB free, the rest at 0.087: 200 x 0.087 = 17.40.
    quote = build_quote(
        load_book("azure-acr-premium"),
        storage=D(600),
        egress=[("internet", D(300)), ("same-region", D(50))],
        days=D(10),
    )
    storage, internet, same_region = quote.components
    assert abs(storage.cost - D("19.67")) < D("1E-30")
    assert [line.label for line in storage.tiers] == ["plan fee", "included 500", "beyond included"]
    assert internet.cost == D("17.40")
    assert same_region.cost == 0
    assert abs(quote.total - D("37.07")) < D("1E-28")


def test_a_class_given_twice_is_tiered_on_its_total() -> None:
    quote = build_quote(load_book("aws-ecr"), egress=[("internet", D(60)), ("internet", D(60))])
    (component,) = quote.components
    assert component.quantity == 120
    assert component.cost == D("10.80")  # 120 x 0.09: no share of AWS's free transfer assumed


def test_a_plan_book_without_storage_says_where_the_fee_went() -> None:
    quote = build_quote(load_book("azure-acr-basic"), egress=[("same-region", D(1))])
    assert quote.total == 0
    assert any("add --storage-gb 0" in sentence for sentence in quote.assumptions)


def test_unknown_class_and_bad_period_are_one_sentence() -> None:
    with pytest.raises(InputError) as caught:
        build_quote(load_book("azure-acr-basic"), egress=[("cross-region", D(1))])
    assert str(caught.value) == (
        'price book azure-acr-basic has no egress class "cross-region"; its classes are: internet, same-region.'
    )
    with pytest.raises(InputError, match=r"^--days 0: the period must be more than 0 days\.$"):
        build_quote(load_book("aws-ecr"), storage=D(1), days=D(0))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("abc", '--storage-gb "abc": not a number.'),
        ("", '--storage-gb "": not a number.'),
        ("-1", "--storage-gb -1: must be a number >= 0."),
        ("nan", '--storage-gb "nan": must be a finite number.'),
        ("Infinity", '--storage-gb "Infinity": must be a finite number.'),
    ],
)
def test_bad_quantities(text: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_quantity(text, "--storage-gb")
    assert str(caught.value) == message


def test_quantities_parse_exactly() -> None:
    assert parse_quantity("0.1", "--storage-gb") == D("0.1")
    assert parse_quantity(" 1e3 ", "--storage-gb") == 1000
    assert parse_egress("internet=100") == ("internet", D(100))
    assert parse_egress(" same-region = 2.5") == ("same-region", D("2.5"))
    for spec in ("internet", "=5"):
        with pytest.raises(InputError, match="expected CLASS=N"):
            parse_egress(spec)
    with pytest.raises(InputError, match=r'^--egress-gb internet "x": not a number\.$'):
        parse_egress("internet=x")


def test_quote_json_has_exact_numbers_and_money_to_four_places() -> None:
    quote = build_quote(load_book("azure-acr-basic"), storage=D(25), egress=[("internet", D(20000))], days=D(30))
    text = quote_json(quote)
    data = json.loads(text, parse_float=str, parse_int=str)
    assert data["pricing"] == {
        "id": "azure-acr-basic",
        "name": "Azure Container Registry, Basic",
        "effective_date": "2026-11-01",
        "sources": list(quote.book.sources),
        "currency": "USD",
        "unit": "GiB",
    }
    assert (data["period_hours"], data["period_days"]) == ("720", "30")
    storage, egress = data["components"]
    assert (storage["name"], storage["quantity"], storage["unit"]) == ("storage", "25", "GiB")
    assert storage["cost"] == "6.3600"
    assert storage["tiers"][0] == {
        "label": "plan fee",
        "quantity": "0.986301369863",  # 720/730 months, rounded to 12 places
        "price": "5.079583333333",
        "cost": "5.0100",
    }
    # 20,000 GiB over 30 days, one billing month: 100 free, 10,140 x 0.087 = 882.18, 9,760 x 0.083 = 810.08
    assert egress["cost"] == "1692.2600"
    assert data["total"] == "1698.6200"  # 6.36 + 1692.26
    assert data["assumptions"] == list(quote.assumptions)
    assert '"total": 1698.6200' in text  # a JSON number, not a string


def test_json_numbers() -> None:
    assert money(D("1.00005")) == D("1.0001")  # half up
    assert money(D("-0.00001")) == D("0.0000")  # no negative zero
    assert number(D("10240")) == D(10240) and str(dumps(number(D("10240")))) == "10240\n"
    assert dumps(number(D("0.931322574615478515625"))) == "0.931322574615\n"
    assert dumps({"a": [D("0.1"), None, True, "x"]}) == (
        '{\n  "a": [\n    0.1,\n    null,\n    true,\n    "x"\n  ]\n}\n'
    )


def test_quote_table_lists_tiers_total_assumptions_and_sources() -> None:
    quote = build_quote(load_book("aws-ecr"), storage=D(500), egress=[("internet", D(20000))])
    text = quote_text(quote, width=120)
    for expected in (
        "Quote on Amazon ECR (private repositories), us-east-1 (aws-ecr, prices as of 2026-11-01, USD)",
        "Period: 730 hours (30.4167 days)",
        "first 10240",
        "921.6000",
        "1,801.2000",
        "Assumptions:",
        "- Quantities are in GiB (2^30 bytes), the unit aws-ecr bills in.",
        "- https://aws.amazon.com/ecr/pricing/",
    ):
        assert expected in text
    assert "\x1b[" not in text  # no colour codes


def test_ecr_publics_anonymous_limit_is_a_limit_with_a_warning_not_a_price() -> None:
    book = load_book("aws-ecr-public")
    within = build_quote(book, egress=[("internet", D(500))])
    assert within.total == 0
    assert not any(sentence.startswith("Warning:") for sentence in within.assumptions)
    over = build_quote(book, egress=[("internet", D(600)), ("internet-authenticated", D(6000))])
    assert over.total == D("79.20")  # only the authenticated pulls beyond 5,120 GiB: 880 x 0.09
    (warning,) = [sentence for sentence in over.assumptions if sentence.startswith("Warning:")]
    assert "egress internet is 600 GiB a month, more than the 500 GiB aws-ecr-public serves" in warning
