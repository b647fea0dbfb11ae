"""Plan-priced books (Docker Hub, DigitalOcean): worked examples, proration, limits, pull limits, notes."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costcalc.cli.app import app
from costcalc.errors import InputError
from costcalc.pricing.book_file import bundled_book_ids, load_book, validate_book_file
from costcalc.pricing.quote import build_quote, prorated_share

D = Decimal
PRICING_DIR = Path(__file__).resolve().parent.parent / "pricing"
runner = CliRunner()

DOCKER_HUB = {  # plan: included GB-month, pulls per hour, pulls included per month
    "docker-hub-personal": (D(2), D(100), None),
    "docker-hub-pro": (D(5), None, D(25000)),
    "docker-hub-team": (D(50), None, D(100000)),
    "docker-hub-business": (D(500), None, D(1000000)),
}
DIGITALOCEAN = {  # plan: monthly fee, included GiB
    "digitalocean-starter": (D(0), D(500) / 1024),
    "digitalocean-basic": (D(5), D(5)),
    "digitalocean-professional": (D(20), D(100)),
}


def quote_total(*args: str) -> str:
    result = runner.invoke(app, ["quote", *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return str(json.loads(result.stdout, parse_float=str)["total"])


@pytest.mark.parametrize("book_id", sorted({*DOCKER_HUB, *DIGITALOCEAN}))
def test_each_plan_book_is_valid_listed_and_sourced(book_id: str) -> None:
    assert book_id in bundled_book_ids()
    assert validate_book_file(PRICING_DIR / f"{book_id}.toml") == []
    book = load_book(book_id)
    assert book.sources and all(source.startswith("https://") for source in book.sources)
    assert book.effective_date <= datetime.date(2026, 11, 1)
    assert book.egress["internet"].cost(D(10**6)) == 0  # neither bills transfer
    assert book.plan is not None


@pytest.mark.parametrize(("book_id", "limits"), sorted(DOCKER_HUB.items()))
def test_docker_hub_plans_include_storage_and_limit_pulls(
    book_id: str, limits: tuple[Decimal, Decimal | None, Decimal | None]
) -> None:
    included, per_hour, per_month = limits
    book = load_book(book_id)
    assert book.plan is not None and book.plan.included_storage == included and book.plan.monthly_fee == 0
    assert (book.unit, book.dedup_scope) == ("GB", "repository")  # a layer counted once per repository
    assert book.pull_limits is not None
    assert book.pull_limits.pulls_per_hour == per_hour
    assert book.pull_limits.included_pulls_per_month == per_month
    assert book.pull_limits.anonymous_pulls_per_hour == 10
    notes = " ".join(book.notes)
    for said in ("$130.00", "$45.00", "$0.07", "does not bill transfer", "GB-hours", "once per repository"):
        assert said in notes


@pytest.mark.parametrize(
    ("used", "invoice"),
    [
        ("100", "0.0000"),  # January: under the 500 GB-month included
        ("650", "10.5000"),  # February: 150 GB-month over
        ("1800", "91.0000"),  # March: 1,300 over (the text's figure; the table says $130.00)
        ("950", "31.5000"),  # April: 450 over (the text's figure; the table says $45.00)
    ],
)
def test_quote_reproduces_docker_hubs_business_post_pay_example(used: str, invoice: str) -> None:
    assert quote_total("--pricing", "docker-hub-business", "--storage-gb", used) == invoice


def test_a_custom_book_can_take_the_tables_rate_instead(tmp_path: Path) -> None:
    book = tmp_path / "hub-table-rate.toml"
    book.write_text(
        'id = "hub-table-rate"\nextends = "docker-hub-business"\n[storage]\ntiers = [{ price = 0.10 }]\n',
        encoding="utf-8",
    )
    assert quote_total("--pricing", str(book), "--storage-gb", "1800") == "130.0000"
    assert quote_total("--pricing", str(book), "--storage-gb", "950") == "45.0000"


def test_pricing_show_prints_the_rate_conflict_and_the_transfer_note() -> None:
    result = runner.invoke(app, ["pricing", "show", "docker-hub-pro"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "Notes:" in text
    assert "$10.50, $91.00 and $31.50" in text
    assert "Docker Hub does not bill transfer" in text


def test_pricing_list_shows_the_new_books() -> None:
    result = runner.invoke(app, ["pricing", "list", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert {*DOCKER_HUB, *DIGITALOCEAN} <= {book["id"] for book in json.loads(result.stdout)}


def test_personal_and_starter_hold_no_more_than_their_plan() -> None:
    assert build_quote(load_book("docker-hub-personal"), storage=D(2)).total == 0
    with pytest.raises(InputError, match=r"^--storage-gb 2\.5: docker-hub-personal holds at most 2 GB"):
        build_quote(load_book("docker-hub-personal"), storage=D("2.5"))
    with pytest.raises(InputError, match=r"digitalocean-starter holds at most 0\.48828125 GiB"):
        build_quote(load_book("digitalocean-starter"), storage=D("0.5"))


@pytest.mark.parametrize(("book_id", "plan"), sorted(DIGITALOCEAN.items()))
def test_digitalocean_plans(book_id: str, plan: tuple[Decimal, Decimal]) -> None:
    fee, included = plan
    book = load_book(book_id)
    assert book.plan is not None
    assert (book.plan.monthly_fee, book.plan.included_storage, book.plan.proration_days) == (fee, included, 28)
    assert book.unit == "GiB"
    assert "28 days" in " ".join(book.notes)


def test_digitalocean_prorates_the_allowance_over_28_days() -> None:
    # DigitalOcean's example: a Starter registry active 16 days gets (16/28) x 500 MiB = ~285 MiB.
    starter = load_book("digitalocean-starter")
    share = prorated_share(starter, D(16))
    assert share is not None and starter.plan is not None
    assert abs(share * starter.plan.included_storage * 1024 - D("285.714285714")) < D("1E-9")
    quote = build_quote(starter, storage=D("0.25"), days=D(16))
    assert any("16 days the included storage is 0.5714 x 0.48828125 = 0.2790 GiB" in s for s in quote.assumptions)
    assert quote.total == 0  # 0.25 GiB is within the prorated 0.279


@pytest.mark.parametrize(
    ("storage", "days", "total"),
    [
        # 6 GiB on Basic for 14 days: fee 5 x 14/28 = 2.50; allowance 5 x 14/28 = 2.5 GiB;
        # 3.5 GiB over x 0.02 x 14/28 = 0.035
        ("6", "14", "2.5350"),
        ("6", "28", "5.0200"),  # 28 days are the standard month: fee 5, 1 GiB over x 0.02
        ("6", "30", "5.0200"),  # from 28 days to a month: still one month
        ("10", None, "5.1000"),  # a 730-hour month: 5 GiB over x 0.02
        ("10", "365", "61.2000"),  # a year: twelve months of 5.10
    ],
)
def test_quote_on_digitalocean_basic(storage: str, days: str | None, total: str) -> None:
    args = ["--pricing", "digitalocean-basic", "--storage-gb", storage, *(["--days", days] if days else [])]
    assert quote_total(*args) == total


@pytest.mark.parametrize(
    ("plan", "problem"),
    [
        ("proration_days = 0", "plan.proration_days: must be between 1 and 31 days, got 0"),
        ("proration_days = 32", "plan.proration_days: must be at most 31, got 32"),
        ("storage_limit = -1", "plan.storage_limit: must be >= 0, got -1"),
    ],
)
def test_plan_fields_are_checked(tmp_path: Path, plan: str, problem: str) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(f'id = "mine"\nextends = "digitalocean-basic"\n[plan]\nmonthly_fee = 5\n{plan}\n', encoding="utf-8")
    assert validate_book_file(path) == [f"{path}:5: {problem}"]


def test_pull_limits_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(
        'id = "mine"\nextends = "docker-hub-pro"\n[pull_limits]\npulls_per_hour = "many"\nper_day = 1\n',
        encoding="utf-8",
    )
    assert validate_book_file(path) == [
        f'{path}:4: pull_limits.pulls_per_hour: must be a number, not a string ("many")',
        f"{path}:5: pull_limits.per_day: unknown field (expected one of: pulls_per_hour, "
        "anonymous_pulls_per_hour, included_pulls_per_month)",
    ]


@pytest.mark.parametrize(
    ("book_id", "pulls", "warnings"),
    [
        ("docker-hub-personal", "73000", ()),  # 100 an hour on average: at the limit
        (
            "docker-hub-personal",
            "73001",
            ("73001 pulls a month average 100.0 an hour, more than the 100 an hour docker-hub-personal allows",),
        ),
        ("docker-hub-pro", "25000", ()),
        ("docker-hub-pro", "25001", ("25001 pulls a month are more than the 25000 docker-hub-pro includes",)),
        ("docker-hub-business", "1000000", ()),
        ("aws-ecr", "99999999", ()),  # no pull limits
    ],
)
def test_pull_limits_give_warnings_not_prices(book_id: str, pulls: str, warnings: tuple[str, ...]) -> None:
    said = load_book(book_id).limit_warnings(pulls_per_month=D(pulls))
    assert len(said) == len(warnings)
    for sentence, start in zip(said, warnings, strict=True):
        assert sentence.startswith(start)


def test_egress_limits_give_warnings() -> None:
    book = load_book("aws-ecr-public")
    assert book.limit_warnings(egress_units={"internet": D(500), "internet-authenticated": D(10**6)}) == ()
    (warning,) = book.limit_warnings(egress_units={"internet": D("500.5")})
    assert warning.startswith("egress internet is 500.5 GiB a month, more than the 500 GiB aws-ecr-public serves")


def test_storage_limits_give_warnings() -> None:
    personal = load_book("docker-hub-personal")  # holds at most 2 GB
    assert personal.limit_warnings(storage_units=D(2)) == ()
    (warning,) = personal.limit_warnings(storage_units=D("2.5"))
    assert warning.startswith("storage is 2.5 GB, 0.5 GB more than the 2 GB docker-hub-personal holds at most")
    assert load_book("aws-ecr").limit_warnings(storage_units=D(10**6)) == ()  # no plan, no limit
